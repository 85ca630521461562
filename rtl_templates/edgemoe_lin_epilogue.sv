// Stage 2 of the linear engine (edgemoe_lin): quantize one output tile's P_OUT raw sums
// into act, apply GELU, the router-score product and the residual or accumulate add
// with the base row, then ReLU on the final value (golden linear_ops: linear_core, op_linear,
// op_moe_experts), and count the values that overflowed at each of these quantization
// points (profile `overflows`, edgemoe/layout.py).  Combinational.
module edgemoe_lin_epilogue (
    input  logic [edgemoe_pkg::P_OUT*64-1:0] acc,  // raw sums of the tile (64 bits each;
                                                   // packed: Yosys reads no array ports)
    input  int                 q_sh,       // fraction bits of acc minus ACT_F
    input  logic               f_gelu, f_relu, f_sacc, f_res,
    input  logic signed [63:0] score,      // the token's router score (an int32 word)
    input  logic [edgemoe_pkg::P_OUT*(8 << edgemoe_pkg::ACT_LG)-1:0] base_word,
    input  logic [31:0]        col0, n,    // first column of the tile, columns of the layer
    output logic [edgemoe_pkg::P_OUT*(8 << edgemoe_pkg::ACT_LG)-1:0] y_word,
    output logic [63:0]        ovf         // values of real columns that overflowed
);
  localparam int PO = edgemoe_pkg::P_OUT;
  localparam int AL = edgemoe_pkg::ACT_LG;
  localparam int ABITS = 8 << AL;

  logic [2:0] lane_ovf[PO];  // up to four quantization points per value
  for (genvar o = 0; o < PO; o++) begin : g_out
    logic [64:0] q0, q1, qs, qa;  // {overflowed, value} of each quantization
    logic signed [63:0] y0, y1, yf, bv;
    logic signed [31:0] s_a;
    logic signed [ABITS-1:0] y_a;
    logic add_on;
    assign q0 = edgemoe_pkg::q_act_c($signed(acc[o*64+:64]), q_sh);
    assign y0 = q0[63:0];
    assign q1 = edgemoe_pkg::gelu_act_c(y0);
    assign y1 = f_gelu ? q1[63:0] : y0;
    assign bv = edgemoe_pkg::sext(64'(base_word[o*ABITS+:ABITS]), 2'(AL), 1'b1);
    assign s_a = score[31:0];
    assign y_a = ABITS'(y1);
    assign qs = edgemoe_pkg::q_act_c(64'(s_a) * 64'(y_a), edgemoe_pkg::ACT_F);
    assign add_on = f_sacc || f_res;
    assign qa = edgemoe_pkg::q_act_c(bv + (f_sacc ? $signed(qs[63:0]) : y1), 0);
    assign yf = add_on ? qa[63:0] : y1;
    // ReLU of the final value: accumulated pieces (OSA) rectify their sum
    assign y_word[o*ABITS+:ABITS] = ABITS'((f_relu && yf < 0) ? 64'sd0 : yf);
    assign lane_ovf[o] = (col0 + 32'(o) < n) ?
        3'(q0[64]) + 3'(f_gelu && q1[64]) + 3'(f_sacc && qs[64]) + 3'(add_on && qa[64]) : 3'd0;
  end
  always_comb begin
    ovf = '0;
    for (int o = 0; o < PO; o++) ovf = ovf + 64'(lane_ovf[o]);
  end

  logic unused;
  assign unused = ^{score[63:32]};
endmodule
