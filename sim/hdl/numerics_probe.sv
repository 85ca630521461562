// Test harness: the package's numerics kernels as one combinational unit.
//   op 0: q_act(x, y)        1: exp_neg(x)        2: recip_act(x)    3: rsqrt_ln(x)
//   op 4: gelu_act(x)        5: sm_sum(x, y, z)   6: sm_prob(x, y, z)
//   op 7: x * y[31:0] (exact 96-bit product) quantized from ACT_F + z fraction bits
//   ovf: op 0 (y >= 0) and op 7: the value wrapped or saturated (profile `overflows`)
module numerics_probe (
    input  logic [2:0]         op,
    input  logic signed [63:0] x,
    input  logic signed [63:0] y,
    input  logic signed [63:0] z,
    output logic signed [63:0] r,
    output logic               ovf
);
  logic [64:0] red;
  int lsh;
  assign red = edgemoe_pkg::prod_reduce(x, y[31:0], int'(z));
  assign lsh = edgemoe_pkg::prod_shift(int'(z));
  always_comb begin
    case (op)
      3'd0: ovf = edgemoe_pkg::act_overflows(edgemoe_pkg::act_round(x, int'(y)));
      3'd7: ovf = red[64] || edgemoe_pkg::act_overflows(edgemoe_pkg::act_round(red[63:0], lsh));
      default: ovf = 1'b0;
    endcase
  end
  always_comb begin
    case (op)
      3'd0: r = edgemoe_pkg::q_act(x, int'(y));
      3'd1: r = edgemoe_pkg::exp_neg(x);
      3'd2: r = edgemoe_pkg::recip_act(x);
      3'd3: r = edgemoe_pkg::rsqrt_ln(x);
      3'd4: r = edgemoe_pkg::gelu_act(x);
      3'd5: r = edgemoe_pkg::sm_sum(x, y, z);
      3'd6: r = edgemoe_pkg::sm_prob(x, y, z);
      3'd7: r = edgemoe_pkg::q_act(red[63:0], lsh);
      default: r = 64'sd0;
    endcase
  end
  logic unused;
  assign unused = ^{z[0], y[63:32]};
endmodule
