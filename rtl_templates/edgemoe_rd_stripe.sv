// AXI read striping: one read port (a read DMA) over two read-only masters, each on a PS
// port of its own, so a stream of bursts moves at both ports' rate.
//
// Read burst k goes to master k mod 2; an order FIFO remembers, in order, which master each
// outstanding burst went to.  Each master's R beats land in a FIFO of their own as fast as
// its port delivers them; the DMA takes the beats of the burst at the head of the order,
// in order, until that burst's RLAST, then the next one's.  The FIFOs are what makes the
// two ports count: a beat held in a port's R channel leaves no faster than the port's rate,
// so without them the head's port alone would pace the stream.
module edgemoe_rd_stripe #(
    parameter int B = 16,             // AXI data bytes
    parameter int R_DEPTH = 16,       // R beats buffered per master: a prefetch burst (PF_BURST)
    parameter int ORDER_DEPTH = 32    // bursts in flight over both: 2 ports x 16 they accept
) (
    input  logic           clk,
    input  logic           rst_n,
    // the read port the DMA sees
    input  logic           s_arvalid,
    output logic           s_arready,
    input  logic [63:0]    s_araddr,
    input  logic [7:0]     s_arlen,
    output logic           s_rvalid,
    input  logic           s_rready,
    output logic [B*8-1:0] s_rdata,
    // the two masters' read channels (index: master)
    output logic [1:0]     m_arvalid,
    input  logic [1:0]     m_arready,
    output logic [63:0]    m_araddr,     // both masters' AR address and length
    output logic [7:0]     m_arlen,
    input  logic [1:0]     m_rvalid,
    output logic [1:0]     m_rready,
    input  logic [2*B*8-1:0] m_rdata,    // master m's beat at [m*B*8 +: B*8]
    input  logic [1:0]     m_rlast
);
  // ------------------------------------------------------------------ AR: alternate
  logic next;                         // master of the next burst
  logic order_in_ready, order_valid, head, ar_take;
  assign m_arvalid[0] = s_arvalid && order_in_ready && !next;
  assign m_arvalid[1] = s_arvalid && order_in_ready && next;
  assign m_araddr = s_araddr;
  assign m_arlen = s_arlen;
  assign s_arready = order_in_ready && m_arready[next];
  assign ar_take = s_arvalid && s_arready;
  always_ff @(posedge clk) begin
    if (!rst_n) next <= 1'b0;
    else if (ar_take) next <= !next;
  end

  // ------------------------------------------------------------------ R: in order
  logic [1:0] f_valid, f_ready, f_last;
  logic [2*B*8-1:0] f_data;
  logic pop_burst;
  for (genvar m = 0; m < 2; m++) begin : g_r
    edgemoe_fifo #(.WIDTH(B * 8 + 1), .DEPTH(R_DEPTH)) u_r (
        .clk, .rst_n, .in_valid(m_rvalid[m]), .in_ready(m_rready[m]),
        .in_data({m_rlast[m], m_rdata[m*B*8+:B*8]}), .out_valid(f_valid[m]),
        .out_ready(f_ready[m]), .out_data({f_last[m], f_data[m*B*8+:B*8]}));
    assign f_ready[m] = order_valid && head == 1'(m) && s_rready;
  end
  assign s_rvalid = order_valid && f_valid[head];
  assign s_rdata = head ? f_data[B*8+:B*8] : f_data[0+:B*8];
  assign pop_burst = s_rvalid && s_rready && f_last[head];

  edgemoe_fifo #(.WIDTH(1), .DEPTH(ORDER_DEPTH)) u_order (
      .clk, .rst_n, .in_valid(ar_take), .in_ready(order_in_ready), .in_data(next),
      .out_valid(order_valid), .out_ready(pop_burst), .out_data(head));
endmodule
