// Element formats of a linear-engine job (edgemoe_lin), chosen by its flags: the weight,
// bias and input element sizes (log2 bytes) and the shifts that align the exact sums
// (q_sh: into act) and the bias (b_sh: onto the sums).
module edgemoe_lin_fmt (
    input  logic       f_q8, f_wpatch, f_wconv, f_battn, f_pix,
    input  logic [7:0] dq,            // W8A8: the dequantization shift
    output logic [1:0] wlg, blg, xlg,
    output int         q_sh, b_sh
);
  int w_frac, b_frac, x_frac;
  always_comb begin
    if (f_q8) begin
      wlg = 2'd0; w_frac = 0;  // int8 codes
    end else if (f_wpatch) begin
      wlg = 2'(edgemoe_pkg::PATCH_WEIGHT_LG); w_frac = edgemoe_pkg::PATCH_WEIGHT_F;
    end else if (f_wconv) begin
      wlg = 2'(edgemoe_pkg::CONV_WEIGHT_LG); w_frac = edgemoe_pkg::CONV_WEIGHT_F;
    end else begin
      wlg = 2'(edgemoe_pkg::LINEAR_WEIGHT_LG); w_frac = edgemoe_pkg::LINEAR_WEIGHT_F;
    end
    if (f_battn) begin
      blg = 2'(edgemoe_pkg::ATTN_BIAS_LG); b_frac = edgemoe_pkg::ATTN_BIAS_F;
    end else begin
      blg = 2'(edgemoe_pkg::BIAS_LG); b_frac = edgemoe_pkg::BIAS_F;
    end
    if (f_pix) begin
      xlg = 2'(edgemoe_pkg::PIXEL_LG); x_frac = edgemoe_pkg::PIXEL_F;
    end else begin
      xlg = 2'(edgemoe_pkg::ACT_LG); x_frac = edgemoe_pkg::ACT_F;
    end
    // W8A8: sums times multipliers carry ACT_F + dq fraction bits (edgemoe/numerics/int8.py)
    q_sh = f_q8 ? int'(dq) : x_frac + w_frac - edgemoe_pkg::ACT_F;
    b_sh = f_q8 ? edgemoe_pkg::ACT_F + int'(dq) - b_frac : x_frac + w_frac - b_frac;
  end
endmodule
