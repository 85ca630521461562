// W8A8 tile pairs of the linear engine (edgemoe_lin, LINEAR with FLAG_WFMT_Q8): output
// tiles 2j and 2j + 1 of a strip share the MAC array's multipliers (edgemoe_lin_dot), so
// a Q8 strip takes half the MAC beats of a W16 one.  The memory layout is unchanged (one
// int8 P_OUT x P_IN tile after the other); this module
//  - places the strip load's tiles (edgemoe_lin_place: tile (to, ti) goes to buffer word
//    (to / 2) * tiles_in + ti, byte to % 2 of every lane of edgemoe_lin_wbuf);
//  - serialises the epilogue (edgemoe_lin_epilogue, EPI_STEPS cycles per tile): a finished
//    pair's low tile starts with p2_v, its high tile (unless it lies past the strip) starts
//    the cycle after the low one is done, so one epilogue serves 2 P_OUT sums.  p2 stays
//    put meanwhile: the epilogue's `hold` (pair = 1) keeps two pair-last MAC beats at
//    least 2 EPI_STEPS cycles apart, which also gives a pair of one beat (tiles_in = 1)
//    its issue gap.
// W16: the load goes word by word and the epilogue takes p2 as it is.
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
    input  logic        p2_v, p2_tok_last,
    input  logic [31:0] p2_to,            // W8A8: the pair index
    input  logic        e_done,           // the epilogue finishes its tile this cycle
    output logic        e_start,          // the epilogue starts a tile this cycle
    output logic        e_hi, e_tok_last,
    output logic [31:0] e_to,             // the strip tile in the epilogue
    input  logic [31:0] p2_to_nx,         // p2_to next cycle
    output logic [31:0] e_to_nx           // e_to next cycle (registered buffer reads)
);
  edgemoe_lin_place u_place (.clk, .rst_n, .q8, .tiles_in, .start(ld_start), .beat(ld_beat),
                             .count(ld_count), .at(ld_at), .half(ld_half));
  logic hi_go, hi_run;  // the high tile starts / runs on (after its first cycle)
  logic hi_ok;
  assign hi_ok = (p2_to << 1) + 32'd1 < srows;
  always_ff @(posedge clk) begin
    if (!rst_n) begin
      hi_go <= 1'b0; hi_run <= 1'b0;
    end else begin
      hi_go <= e_done && !e_hi && q8 && hi_ok;  // e_hi_nx's two terms
      hi_run <= e_hi && !e_done;
    end
  end
  logic e_hi_nx;
  assign e_hi_nx = (e_done && !e_hi && q8 && hi_ok) || (e_hi && !e_done);
  assign e_to_nx = q8 ? (p2_to_nx << 1) + 32'(e_hi_nx) : p2_to_nx;
  assign e_hi = hi_go || hi_run;
  assign e_start = p2_v || hi_go;
  assign e_to = q8 ? (p2_to << 1) + 32'(e_hi) : p2_to;
  assign e_tok_last = p2_tok_last && (e_hi || !(q8 && hi_ok));
endmodule
