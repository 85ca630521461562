// Index ring of the linear engine's row loader (edgemoe_lin_loader.sv): GATHER and SCATTER
// jobs read their index list ahead in chunks, the loader's consumer pushes each u32 as it
// arrives and the generator pops one per token, so a token's reads (their addresses
// depend on the index) do not wait a read latency for it.  The loader never requests
// more indices than the ring has free entries.
module edgemoe_lin_index #(
    parameter int RING = edgemoe_pkg::INDEX_RING  // entries (a power of two)
) (
    input  logic        clk,
    input  logic        rst_n,
    input  logic        push,          // an index arrived
    input  logic [31:0] push_data,
    input  logic        pop,           // the generator takes the head
    output logic        have,          // the head is valid
    output logic [31:0] head
);
  localparam int RW = $clog2(RING);
  // the loader requests a chunk of INDEX_CHUNK indices once that many entries are free
  if (RING != 1 << RW || edgemoe_pkg::INDEX_CHUNK > RING) begin : g_ring_check
    $error("edgemoe_lin_index: RING (%0d) must be a power of two of at least INDEX_CHUNK (%0d)",
           RING, edgemoe_pkg::INDEX_CHUNK);
  end
  logic [31:0] ring[RING];
  // one bit more than the ring, so a full ring differs from an empty one
  logic [RW:0] wp, rp;
  assign have = wp != rp;
  assign head = ring[RW'(rp)];
  always_ff @(posedge clk) if (push) ring[RW'(wp)] <= push_data;
  always_ff @(posedge clk) begin
    if (!rst_n) begin
      wp <= '0;
      rp <= '0;
    end else begin
      if (push) wp <= wp + 1'b1;
      if (pop) rp <= rp + 1'b1;
    end
  end
endmodule
