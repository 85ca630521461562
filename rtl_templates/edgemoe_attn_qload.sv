// Q row loader of the attention engine (edgemoe_attn): counts the query blocks' Q rows as
// their beats arrive (the command generator asks for them in order after the head's K and
// V rows) and says where each beat goes: block `blk` (Q bank blk mod 2), row `row` (lane),
// beat `beat`.  The lanes hold two Q banks, so block qb + 1 loads while phase qb walks the
// on-chip K/V with block qb (C_STEP to the hand-over); a block waits only for its own bank,
// and block qb's rows are taken at once when the controller waits for them (C_Q).
module edgemoe_attn_qload (
    input  logic        clk,
    input  logic        rst_n,
    input  logic        restart,           // the head's K/V load: its blocks start again at 0
    input  logic        in_q,              // the controller waits for block qb's rows
    input  logic        in_phase,          // it runs phase qb (block qb + 1's bank is free)
    input  logic [31:0] qb,
    input  logic [31:0] nq,                // rows of block blk (0 past the head's last)
    input  logic [31:0] cpr,               // beats per head row
    input  logic        rd_valid,
    output logic        take,              // a beat of block blk is welcome (rd_ready)
    output logic        beat_in,           // one arrives now ...
    output logic        row_end,           // ... the last of its row
    output logic        blk_end,           // ... the last of its block
    output logic [31:0] blk, row, beat
);
  assign take = nq != 0 && (in_q ? blk == qb : in_phase && blk == qb + 32'd1);
  assign beat_in = take && rd_valid;
  assign row_end = beat + 32'd1 == cpr;
  assign blk_end = beat_in && row_end && row + 32'd1 == nq;

  always_ff @(posedge clk) begin
    if (!rst_n || restart) begin
      blk <= '0; row <= '0; beat <= '0;
    end else if (beat_in) begin
      beat <= row_end ? '0 : beat + 32'd1;
      if (row_end) begin
        row <= row + 32'd1;
        if (row + 32'd1 == nq) begin
          row <= '0;
          blk <= blk + 32'd1;
        end
      end
    end
  end
endmodule
