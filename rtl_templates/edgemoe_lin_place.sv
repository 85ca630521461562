// Where a strip load's tiles go in the weight buffer (edgemoe_lin_wbuf), for the strip
// load (edgemoe_lin_pair) and the prefetch (edgemoe_lin_prefetch) alike.  W16: tile i of
// the load goes to word i.  W8A8 (q8): tile (to, ti) goes to word (to / 2) * tiles_in + ti,
// byte to % 2 (half) of every lane, so one word holds a pair of output tiles.
module edgemoe_lin_place (
    input  logic        clk,
    input  logic        rst_n,
    input  logic        q8,
    input  logic [31:0] tiles_in,
    input  logic        start,            // a load starts
    input  logic        beat,             // one tile of it arrives
    input  logic [31:0] count,            // tiles arrived so far (the W16 word)
    output logic [31:0] at,
    output logic        half
);
  logic [31:0] ti, base;
  assign at = q8 ? base + ti : count;
  always_ff @(posedge clk) begin
    if (!rst_n || start) begin
      ti <= '0; base <= '0; half <= 1'b0;
    end else if (beat && q8) begin
      if (ti + 32'd1 == tiles_in) begin
        ti <= '0;
        half <= !half;
        if (half) base <= base + tiles_in;
      end else ti <= ti + 32'd1;
    end
  end
endmodule
