// The MAC array of the linear engine (edgemoe_lin): P_OUT x P_IN multiplier slots, exact.
// Combinational: edgemoe_lin registers the weights and inputs in front and the 64-bit
// accumulators behind it, so this module alone decides how the products map onto DSPs.
//  - W16 (q8 = 0): P_OUT dot products of P_IN terms, out in dot lanes [0, P_OUT); the
//    lanes [P_OUT, 2 P_OUT) are zero.  A wide input lane (XBITS > 18) is split at bit 17
//    into two DSP products (low: unsigned, high: signed); each half is summed over the P_IN
//    terms on its own and the two sums are recombined once per output, not per product
//    (a per-product recombination costs a 48-bit adder per slot).
//  - W8A8 (q8 = 1, Flag.WFMT_Q8): each weight lane holds two int8 codes, byte 0 of output
//    tile 2j and byte 1 of tile 2j + 1 (the pair edgemoe_lin loads); dot lanes [0, P_OUT)
//    are tile 2j's sums, [P_OUT, 2 P_OUT) tile 2j + 1's.  Two int8 MACs per slot: with the
//    split, the low DSP takes the input times byte 0 and the high DSP the input times
//    byte 1, so the two sums are the halves' sums as they are; without it (one DSP per
//    slot) the low product multiplies the shared int8 input by both codes at once (Xilinx
//    WP486, edgemoe_mac8x2, edgemoe/numerics/int8.py packed_products).
// The sums are sign-extended to 64 bits on the way out.
module edgemoe_lin_dot #(
    parameter int XBITS = 32  // input lane bits (edgemoe_lin)
) (
    input  logic                                                         q8,
    input  logic [edgemoe_pkg::P_IN*XBITS-1:0]                           x,    // signed lanes
    input  logic [edgemoe_pkg::P_OUT*edgemoe_pkg::P_IN*edgemoe_pkg::WEIGHT_BITS-1:0] w,  // [o][i]
    output logic [2*edgemoe_pkg::P_OUT*64-1:0]                           dot   // signed sums
);
  localparam int PI = edgemoe_pkg::P_IN;
  localparam int PO = edgemoe_pkg::P_OUT;
  localparam int WBITS = edgemoe_pkg::WEIGHT_BITS;
  localparam int S = edgemoe_pkg::PACK_SHIFT;
  localparam bit SPLIT = XBITS > 18;             // one 18-bit DSP port cannot take x
  localparam int LO_BITS = SPLIT ? 17 : XBITS;   // the low product's share of x
  localparam int HI_BITS = SPLIT ? XBITS - 17 : 1;
  localparam int AW = 27;                        // DSP48E2 A:D (pre-adder) port
  localparam int BW = WBITS > 8 ? WBITS : 8;     // B port: a weight, or the int8 input
  localparam int PW = XBITS + WBITS;             // one exact W16 product
  localparam int DW = PW + $clog2(PI + 1);       // a sum of PI products cannot wrap
  localparam int QW = 16 + $clog2(PI + 1);       // a sum of PI int8 products

  if (WBITS < 16) begin : g_wbits_check
    $error("edgemoe_lin_dot: W8A8 pairs need 16-bit weight lanes, WEIGHT_BITS is %0d", WBITS);
  end

  if (SPLIT) begin : g_split
    // the input side of both products, shared by the P_OUT outputs (W8A8: the int8 code)
    localparam int HB = HI_BITS > 8 ? HI_BITS : 8;  // high operand: x's top bits, or a code
    // a low product (17-bit unsigned or int8 times a weight) fits 17 + WBITS signed bits,
    // a high one HB + WBITS (most negative times most negative); a sum of PI (a power of
    // two) of them PI_LG bits more
    localparam int ML = 17 + WBITS;
    localparam int MH = HB + WBITS;
    localparam int LW = ML + edgemoe_pkg::P_IN_LG;
    localparam int HW = MH + edgemoe_pkg::P_IN_LG;
    logic signed [17:0] x_lo[PI];
    logic signed [HB-1:0] x_hi[PI];
    for (genvar i = 0; i < PI; i++) begin : g_xop
      logic signed [XBITS-1:0] xv;
      assign xv = $signed(x[i*XBITS+:XBITS]);
      assign x_lo[i] = q8 ? 18'($signed(xv[7:0])) : $signed({1'b0, xv[LO_BITS-1:0]});
      assign x_hi[i] = q8 ? HB'($signed(xv[7:0])) : HB'($signed(xv[XBITS-1:LO_BITS]));
    end
    for (genvar o = 0; o < PO; o++) begin : g_dot
      logic signed [LW-1:0] sum_lo;
      logic signed [HW-1:0] sum_hi;
      logic signed [ML-1:0] m_lo[PI];
      logic signed [MH-1:0] m_hi[PI];
      for (genvar i = 0; i < PI; i++) begin : g_slot
        logic signed [WBITS-1:0] wv, w_lo, w_hi;
        assign wv = $signed(w[(o*PI+i)*WBITS+:WBITS]);
        assign w_lo = q8 ? WBITS'($signed(wv[7:0])) : wv;   // W8A8: tile 2j's code
        assign w_hi = q8 ? WBITS'($signed(wv[15:8])) : wv;  // W8A8: tile 2j + 1's code
        assign m_lo[i] = x_lo[i] * w_lo;
        assign m_hi[i] = x_hi[i] * w_hi;
      end
      // pairwise trees of two-input adders, nodes in heap order (node k sums 2k+1 and
      // 2k+2; the PI products are the leaves PI-1 .. 2PI-2).  Yosys (0.70) packs no adder
      // into a DSP48E2 post-adder (only DSP48E1's), and alumacc would merge a sum of PI
      // products into one $macc that maccmap builds as a carry-save tree of LUT3 full
      // adders; keeping the nodes makes each add a carry-chain adder of one LUT per bit
      // (16 products: 765 -> 521 LUT).  Kept under Yosys only: a hint to its alumacc, not
      // a constraint on other synthesis tools.
`ifdef YOSYS
      (* keep *)
`endif
      logic signed [LW-1:0] t_lo[2*PI-1];
`ifdef YOSYS
      (* keep *)
`endif
      logic signed [HW-1:0] t_hi[2*PI-1];
      for (genvar k = 0; k < 2 * PI - 1; k++) begin : g_tree
        if (k >= PI - 1) begin : g_leaf
          assign t_lo[k] = LW'(m_lo[k-(PI-1)]);
          assign t_hi[k] = HW'(m_hi[k-(PI-1)]);
        end else begin : g_node  // a node at depth d sums 2**(P_IN_LG - d) products
          localparam int UP = edgemoe_pkg::P_IN_LG - ($clog2(k + 2) - 1);
          assign t_lo[k] = LW'((ML + UP)'(t_lo[2*k+1]) + (ML + UP)'(t_lo[2*k+2]));
          assign t_hi[k] = HW'((MH + UP)'(t_hi[2*k+1]) + (MH + UP)'(t_hi[2*k+2]));
        end
      end
      assign sum_lo = t_lo[0];
      assign sum_hi = t_hi[0];
      logic signed [DW-1:0] sum;  // W16: the two halves recombined
      assign sum = (DW'(sum_hi) <<< LO_BITS) + DW'(sum_lo);
      assign dot[o*64+:64] = q8 ? 64'(sum_lo) : 64'(sum);
      assign dot[(PO+o)*64+:64] = q8 ? 64'(sum_hi) : '0;
    end
  end else begin : g_whole
    for (genvar o = 0; o < PO; o++) begin : g_dot
      logic signed [DW-1:0] sum;
      logic signed [QW-1:0] sum_hi;
      logic signed [PW-1:0] prod[PI];
      logic signed [15:0] lo8[PI], hi8[PI];
      for (genvar i = 0; i < PI; i++) begin : g_slot
        logic signed [XBITS-1:0] xv;
        logic signed [WBITS-1:0] wv;
        logic signed [AW-1:0] a_op;
        logic signed [BW-1:0] b_op;
        logic signed [AW+BW-1:0] m_lo;  // the shared multiplier: both modes
        logic signed [26:0] packed_w;
        assign xv = $signed(x[i*XBITS+:XBITS]);
        assign wv = $signed(w[(o*PI+i)*WBITS+:WBITS]);
        // W8A8: tile 2j + 1's code * 2**S + tile 2j's code (the pre-adder's sum)
        assign packed_w = (27'($signed(wv[15:8])) <<< S) + 27'($signed(wv[7:0]));
        assign a_op = q8 ? AW'(packed_w) : AW'(xv);
        assign b_op = q8 ? BW'($signed(xv[7:0])) : BW'(wv);
        assign m_lo = a_op * b_op;
        // the split undoes the borrow the low product's sign took from the high one
        assign lo8[i] = m_lo[15:0];
        assign hi8[i] = 16'((m_lo >>> S) + (AW+BW)'(m_lo[S-1]));
        assign prod[i] = PW'(m_lo);
      end
      always_comb begin
        sum = '0;
        sum_hi = '0;
        for (int i = 0; i < PI; i++) begin
          sum = sum + (q8 ? DW'(lo8[i]) : DW'(prod[i]));
          sum_hi = sum_hi + (q8 ? QW'(hi8[i]) : '0);
        end
      end
      assign dot[o*64+:64] = 64'(sum);
      assign dot[(PO+o)*64+:64] = 64'(sum_hi);
    end
  end
endmodule
