// Test harness: a copy engine made of the read and write DMAs (read words feed the writer).
module dma_harness #(
    parameter int B = 16,
    parameter int WORD_MAX = 64
) (
    input  logic ap_clk,
    input  logic ap_rst_n,
    input  logic rd_cmd_valid,
    output logic rd_cmd_ready,
    input  logic [63:0] rd_cmd_addr,
    input  logic [31:0] rd_cmd_len,
    input  logic [3:0] rd_cmd_wlg,
    input  logic wr_cmd_valid,
    output logic wr_cmd_ready,
    input  logic [63:0] wr_cmd_addr,
    input  logic [31:0] wr_cmd_len,
    input  logic [3:0] wr_cmd_wlg,
    output logic wr_idle,
    output logic rd_busy,
    output logic [31:0] words,
    // AXI4 master
    output logic m_axi_mem_awvalid, input logic m_axi_mem_awready,
    output logic [63:0] m_axi_mem_awaddr, output logic [7:0] m_axi_mem_awlen,
    output logic [2:0] m_axi_mem_awsize, output logic [1:0] m_axi_mem_awburst,
    output logic [0:0] m_axi_mem_awid,
    output logic m_axi_mem_wvalid, input logic m_axi_mem_wready,
    output logic [B*8-1:0] m_axi_mem_wdata, output logic [B-1:0] m_axi_mem_wstrb,
    output logic m_axi_mem_wlast,
    input logic m_axi_mem_bvalid, output logic m_axi_mem_bready,
    input logic [1:0] m_axi_mem_bresp, input logic [0:0] m_axi_mem_bid,
    output logic m_axi_mem_arvalid, input logic m_axi_mem_arready,
    output logic [63:0] m_axi_mem_araddr, output logic [7:0] m_axi_mem_arlen,
    output logic [2:0] m_axi_mem_arsize, output logic [1:0] m_axi_mem_arburst,
    output logic [0:0] m_axi_mem_arid,
    input logic m_axi_mem_rvalid, output logic m_axi_mem_rready,
    input logic [B*8-1:0] m_axi_mem_rdata, input logic m_axi_mem_rlast,
    input logic [1:0] m_axi_mem_rresp, input logic [0:0] m_axi_mem_rid
);
  logic v, r, l;
  logic [WORD_MAX*8-1:0] d;
  assign m_axi_mem_awsize = 3'($clog2(B));
  assign m_axi_mem_arsize = 3'($clog2(B));
  assign m_axi_mem_awburst = 2'b01;
  assign m_axi_mem_arburst = 2'b01;
  assign m_axi_mem_awid = '0;
  assign m_axi_mem_arid = '0;
  edgemoe_rd_dma #(.B(B), .WORD_MAX(WORD_MAX)) u_rd (
      .clk(ap_clk), .rst_n(ap_rst_n), .cmd_valid(rd_cmd_valid), .cmd_ready(rd_cmd_ready),
      .cmd_addr(rd_cmd_addr), .cmd_len(rd_cmd_len), .cmd_wlg(rd_cmd_wlg),
      .out_valid(v), .out_ready(r), .out_data(d), .out_last(l),
      .arvalid(m_axi_mem_arvalid), .arready(m_axi_mem_arready), .araddr(m_axi_mem_araddr),
      .arlen(m_axi_mem_arlen), .rvalid(m_axi_mem_rvalid), .rready(m_axi_mem_rready),
      .rdata(m_axi_mem_rdata), .busy(rd_busy));
  edgemoe_wr_dma #(.B(B), .WORD_MAX(WORD_MAX)) u_wr (
      .clk(ap_clk), .rst_n(ap_rst_n), .cmd_valid(wr_cmd_valid), .cmd_ready(wr_cmd_ready),
      .cmd_addr(wr_cmd_addr), .cmd_len(wr_cmd_len), .cmd_wlg(wr_cmd_wlg),
      .in_valid(v), .in_ready(r), .in_data(d),
      .awvalid(m_axi_mem_awvalid), .awready(m_axi_mem_awready), .awaddr(m_axi_mem_awaddr),
      .awlen(m_axi_mem_awlen), .wvalid(m_axi_mem_wvalid), .wready(m_axi_mem_wready),
      .wdata(m_axi_mem_wdata), .wstrb(m_axi_mem_wstrb), .wlast(m_axi_mem_wlast),
      .bvalid(m_axi_mem_bvalid), .bready(m_axi_mem_bready), .idle(wr_idle));
  always_ff @(posedge ap_clk) begin
    if (!ap_rst_n) words <= '0;
    else if (v && r) words <= words + 32'd1;
  end
  logic unused;
  assign unused = ^{l, m_axi_mem_bresp, m_axi_mem_bid, m_axi_mem_rlast, m_axi_mem_rresp,
                    m_axi_mem_rid};
endmodule
