// Test harness: edgemoe_rd_stripe with its read port driven by the bench and each master's
// read channels named as an AXI bus of its own (m0_*, m1_*) for cocotbext-axi.
module stripe_harness #(
    parameter int B = 16
) (
    input  logic ap_clk,
    input  logic ap_rst_n,
    input  logic s_arvalid,
    output logic s_arready,
    input  logic [63:0] s_araddr,
    input  logic [7:0] s_arlen,
    output logic s_rvalid,
    input  logic s_rready,
    output logic [B*8-1:0] s_rdata,
    output logic [0:0] m0_arid, m1_arid,
    output logic [63:0] m0_araddr, m1_araddr,
    output logic [7:0] m0_arlen, m1_arlen,
    output logic [2:0] m0_arsize, m1_arsize,
    output logic [1:0] m0_arburst, m1_arburst,
    output logic m0_arvalid, m1_arvalid,
    input  logic m0_arready, m1_arready,
    input  logic [0:0] m0_rid, m1_rid,
    input  logic [B*8-1:0] m0_rdata, m1_rdata,
    input  logic [1:0] m0_rresp, m1_rresp,
    input  logic m0_rlast, m1_rlast,
    input  logic m0_rvalid, m1_rvalid,
    output logic m0_rready, m1_rready
);
  logic [63:0] araddr;
  logic [7:0] arlen;
  assign {m0_arid, m1_arid} = '0;
  assign {m0_arsize, m1_arsize} = {2{3'($clog2(B))}};
  assign {m0_arburst, m1_arburst} = {2{2'b01}};
  assign {m0_araddr, m1_araddr} = {2{araddr}};
  assign {m0_arlen, m1_arlen} = {2{arlen}};
  edgemoe_rd_stripe #(.B(B)) u_stripe (
      .clk(ap_clk), .rst_n(ap_rst_n), .s_arvalid, .s_arready, .s_araddr, .s_arlen,
      .s_rvalid, .s_rready, .s_rdata, .m_arvalid({m1_arvalid, m0_arvalid}),
      .m_arready({m1_arready, m0_arready}), .m_araddr(araddr), .m_arlen(arlen),
      .m_rvalid({m1_rvalid, m0_rvalid}), .m_rready({m1_rready, m0_rready}),
      .m_rdata({m1_rdata, m0_rdata}), .m_rlast({m1_rlast, m0_rlast}));
  logic unused;
  assign unused = ^{m0_rid, m1_rid, m0_rresp, m1_rresp};
endmodule
