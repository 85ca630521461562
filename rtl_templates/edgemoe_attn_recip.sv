// The softmax reciprocals 1/sum of the attention lanes (edgemoe_attn): one recip_act unit
// shared by the lanes instead of one per lane (each is a wide normalize / table / Newton
// step / denormalize datapath, needed once per lane and phase).
//
// A lane's running sum (bank pb) is final once the lane folds the last key of its QK^T
// block (done[j]); the unit takes the lowest such lane a cycle and keeps its 1/sum in the
// lane's bank pb, which the next phase's AV reads as bank !pb.  The dense schedule ends the
// lanes at distinct steps (lane j at step j + t - 1), so no lane ever waits and the phase
// hand-over is never held; the top-k schedule ends them together, and `ready` (at most the
// lane taken this cycle left) holds the hand-over until the unit has taken them all.
module edgemoe_attn_recip (
    input  logic clk,
    input  logic rst_n,
    input  logic [edgemoe_pkg::ATTN_LANES-1:0] done,  // lane j folded its block's last key
    input  logic pb,                                 // bank of the QK^T block
    // lane j's running sum of bank pb at [ABITS j +: ABITS] (flat: no unpacked array ports)
    input  logic [(8 << edgemoe_pkg::ACT_LG)*edgemoe_pkg::ATTN_LANES-1:0] sums,
    output logic [(8 << edgemoe_pkg::ACT_LG)*edgemoe_pkg::ATTN_LANES-1:0] recips,  // bank !pb
    output logic ready                               // the phase may hand over this cycle
);
  localparam int P = edgemoe_pkg::ATTN_LANES;
  localparam int AL = edgemoe_pkg::ACT_LG;
  localparam int ABITS = 8 << AL;
  localparam int PAW = $clog2(P > 1 ? P : 2);

  logic [P-1:0] pend, take;                // lanes whose final sum waits; the one taken now
  logic [PAW-1:0] lane;
  logic [ABITS-1:0] rq[P][2];              // 1/sum by lane and bank (act values)
  logic signed [63:0] r;
  assign take = pend & (~pend + P'(1));    // the lowest pending lane, one-hot
  always_comb begin
    lane = '0;
    for (int j = P - 1; j >= 0; j--)
      if (pend[j]) lane = PAW'(j);
  end
  assign r = edgemoe_pkg::recip_act(
      edgemoe_pkg::sext(64'(sums[32'(lane)*ABITS+:ABITS]), 2'(AL), 1'b1));
  assign ready = (pend & ~take) == '0;
  for (genvar j = 0; j < P; j++) begin : g_out
    assign recips[j*ABITS+:ABITS] = rq[j][!pb];
  end

  always_ff @(posedge clk) begin
    if (!rst_n) pend <= '0;
    else pend <= (pend & ~take) | done;
    if (pend != '0) rq[lane][pb] <= ABITS'(r);
  end

  logic unused;
  assign unused = ^r[63:ABITS];
endmodule
