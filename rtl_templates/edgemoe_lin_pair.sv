// W8A8 tile pairs of the linear engine (edgemoe_lin, LINEAR with FLAG_WFMT_Q8): output
// tiles 2j and 2j + 1 of a strip share the MAC array's multipliers (edgemoe_lin_dot), so
// a Q8 strip takes half the MAC beats of a W16 one.  The memory layout is unchanged (one
// int8 P_OUT x P_IN tile after the other); this module
//  - places the strip load's tiles: tile (to, ti) goes to buffer word (to / 2) * tiles_in +
//    ti, byte to % 2 of every lane (edgemoe_lin_wbuf);
//  - serialises the epilogue: a finished pair leaves stage 2 as two tiles on consecutive
//    cycles (low tile from p2, then the high one, unless it lies past the strip), so one
//    epilogue serves 2 P_OUT sums;
//  - asks for an issue gap after every beat when a pair takes one beat (tiles_in = 1): the
//    epilogue needs its two cycles.
// W16: the load goes word by word and stage 2 passes p2 through.
module edgemoe_lin_pair (
    input  logic        clk,
    input  logic        rst_n,
    input  logic        q8,
    input  logic [31:0] tiles_in, srows,
    input  logic        ld_start,         // a strip load starts
    input  logic        ld_beat,          // one tile of it arrives
    input  logic [31:0] ld_count,         // tiles arrived so far (W16 address)
    output logic [31:0] ld_at,
    output logic        ld_half,
    input  logic        issue,            // a MAC beat issued
    output logic        gap,              // hold the next issue
    input  logic        p2_v, p2_tok_last, p2_slot,
    input  logic [31:0] p2_to,            // W8A8: the pair index
    output logic        e_v, e_hi, e_tok_last, e_slot,
    output logic [31:0] e_to              // the strip tile the epilogue finishes now
);
  logic [31:0] ld_ti, ld_base;
  logic p3_v, p3_tok_last, p3_slot;
  logic [31:0] p3_to;
  logic hi_ok;
  assign hi_ok = (p2_to << 1) + 32'd1 < srows;
  assign ld_at = q8 ? ld_base + ld_ti : ld_count;
  always_ff @(posedge clk) begin
    if (!rst_n) begin
      ld_ti <= '0; ld_base <= '0; ld_half <= 1'b0; gap <= 1'b0;
      p3_v <= 1'b0; p3_tok_last <= 1'b0; p3_slot <= 1'b0; p3_to <= '0;
    end else begin
      if (ld_start) begin
        ld_ti <= '0; ld_base <= '0; ld_half <= 1'b0;
      end else if (ld_beat && q8) begin
        if (ld_ti + 32'd1 == tiles_in) begin
          ld_ti <= '0;
          ld_half <= !ld_half;
          if (ld_half) ld_base <= ld_base + tiles_in;
        end else ld_ti <= ld_ti + 32'd1;
      end
      gap <= issue && q8 && tiles_in == 32'd1;
      p3_v <= p2_v && q8 && hi_ok;
      p3_tok_last <= p2_tok_last; p3_slot <= p2_slot; p3_to <= (p2_to << 1) + 32'd1;
    end
  end
  assign e_v = p2_v || p3_v;
  assign e_hi = p3_v;
  assign e_slot = p3_v ? p3_slot : p2_slot;
  assign e_to = p3_v ? p3_to : q8 ? p2_to << 1 : p2_to;
  assign e_tok_last = p3_v ? p3_tok_last : p2_tok_last && !(q8 && hi_ok);
endmodule
