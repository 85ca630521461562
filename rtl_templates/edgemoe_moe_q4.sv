// MOE_EXPERTS with FLAG_WFMT_Q4 (mixed int8/int4 experts, edgemoe/numerics/int4.py): the
// sizes and places the dispatcher needs besides the checker's.  The experts' fc1 and fc2 run
// as mixed layers on the linear engine's strip loader (edgemoe_lin_q4); this module gives
//   - each layer's q4_split for the engine (high_out | q4_groups << 16, from d4's int8 row
//     counts and group code) and one expert's mixed weight block, the stride between
//     experts: int8 rows, int4 rows (two codes a byte), group parameters (zero points two a
//     byte with one group per row), each 64-byte
//     aligned.  A sum of three blocks has no checker size form, so its six products run on
//     one multiplier, one a cycle, while the checker works;
//   - the W8A8 word at the end of b1 (dq_shift | hidden_x_mul << MOE_DQ_BITS), captured
//     when the dispatcher reads it, and whether its dq_shift is out of range (BAD_SHAPE);
//   - the walk over every expert's fc1, then fc2, channel_index list, which the dispatcher
//     checks (each a permutation of [0, n)) before any expert runs, as golden does.
module edgemoe_moe_q4 (
    input  logic        clk,
    input  logic        rst_n,
    input  logic        new_ins,            // an instruction was decoded: its fields are in
    input  logic        q4,                 // MOE_EXPERTS with FLAG_WFMT_Q4
    input  logic [31:0] d1, d2, d3, d4,     // dim, hidden, experts, q4_split
    input  logic [31:0] a3, a5,             // b1, b2
    input  logic [63:0] c_i1, c_i3,         // one expert's bias block in b1 / b2 (checker)
    input  logic [63:0] s1_step, s2_step,   // one expert's multiplier (and index) block
    input  logic        word_we,            // the dispatcher reads the word at word_off
    input  logic [31:0] word,
    input  logic        list_next,          // the list at list_off has been checked
    output logic [63:0] w1_step, w2_step,   // one expert's fc1 / fc2 weights
    output logic [31:0] split1, split2,     // fc1's / fc2's q4_split for the engine
    output logic [63:0] ci1_base, ci2_base, // expert 0's fc1 / fc2 channel_index (from mem)
    output logic [63:0] word_off,           // the word (from mem)
    output logic [7:0]  dq,
    output logic [31:0] hidden_x_mul,
    output logic        dq_bad,             // the word read had a dq_shift above DQ_SHIFT_MAX
    output logic        dq_over,            // the word on `word` has one (combinational)
    output logic [63:0] list_off,           // the list to check (from mem)
    output logic [31:0] list_n,             // its length (0: none left)
    output logic        list_more           // another list follows it
);
  localparam int PI_LG = edgemoe_pkg::P_IN_LG;
  localparam int PO_LG = edgemoe_pkg::P_OUT_LG;
  localparam int HB = edgemoe_pkg::MOE_HIGH_BITS;
  localparam int MIN_LG = $clog2(edgemoe_pkg::MOE_MIN_GROUP);
  localparam int EXB = $clog2(edgemoe_pkg::MAX_EXPERTS + 1);

  // ------------------------------------------------------------------ q4_split per layer
  logic [31:0] hi1, hi2, g1, g2;
  logic [2:0] code;
  assign hi1 = 32'(d4[HB-1:0]);
  assign hi2 = 32'(d4[2*HB-1:HB]);
  assign code = d4[edgemoe_pkg::MOE_CODE_SHIFT+:3];
  // numerics.int4.moe_groups: ceil(k / (MOE_MIN_GROUP << code)), or one group per row
  function automatic logic [31:0] groups(input logic [31:0] k, input logic [2:0] c);
    groups = c == 3'(edgemoe_pkg::MOE_ROW_CODE) ? 32'd1
           : 32'((64'(k) + (64'd1 << (MIN_LG + 32'(c))) - 64'd1) >> (MIN_LG + 32'(c)));
  endfunction
  assign g1 = groups(d1, code);  // fc1: k = dim
  assign g2 = groups(d2, code);  // fc2: k = hidden
  assign split1 = {g1[15:0], hi1[15:0]};
  assign split2 = {g2[15:0], hi2[15:0]};

  // ------------------------------------------------------------------ expert strides
  // step 0-2: fc1 (n hidden, k dim), 3-5: fc2 (n dim, k hidden); per layer the int8 codes,
  // the int4 codes and the group parameters, with rows padded to P_OUT and K to P_IN
  logic [2:0] step;
  logic [31:0] ma, mb, prod;
  logic [63:0] blk;
  logic fc2;
  assign fc2 = step >= 3'd3;
  function automatic logic [31:0] rup(input logic [31:0] x, input int lg);
    rup = 32'(edgemoe_pkg::round_up_lg(64'(x), lg));
  endfunction
  always_comb begin
    case (fc2 ? step - 3'd3 : step)
      3'd0: ma = rup(fc2 ? hi2 : hi1, PO_LG);
      default: ma = rup(fc2 ? d1 - hi2 : d2 - hi1, PO_LG);
    endcase
    mb = step == 3'd2 ? g1 : step == 3'd5 ? g2 : rup(fc2 ? d2 : d1, PI_LG);
  end
  // operands are bounded by the shape limits (features <= MAX_IN/OUT_FEATURES): narrow
  assign prod = 32'(16'(ma)) * 32'(16'(mb));
  // int4 codes two a byte; group parameters (e, z) byte pairs, or with one group per row
  // (numerics.int4.zero_point_nibbles) only the zero points, two a byte
  logic codes4, params, nibbles;
  assign codes4 = step == 3'd1 || step == 3'd4;
  assign params = step == 3'd2 || step == 3'd5;
  assign nibbles = codes4 || (params && mb == 32'd1);
  assign blk = edgemoe_pkg::align64(nibbles ? (64'(prod) + 64'd1) >> 1
                                    : params ? 64'(prod) << 1 : 64'(prod));

  // ------------------------------------------------------------------ b1 / b2 places
  // b1: every expert's bias block, multiplier block, then channel_index block; then the word
  logic [EXB-1:0] e;
  assign e = d3[EXB-1:0];
  assign ci1_base = 64'(a3) + 64'(e) * 64'(32'(c_i1 + s1_step));
  assign ci2_base = 64'(a5) + 64'(e) * 64'(32'(c_i3 + s2_step));
  assign word_off = ci1_base + 64'(e) * 64'(32'(s1_step));

  assign dq_over = 32'(word[edgemoe_pkg::MOE_DQ_BITS-1:0]) > 32'(edgemoe_pkg::DQ_SHIFT_MAX);

  // ------------------------------------------------------------------ list walk
  logic [31:0] li;                     // lists checked: fc1's of experts 0..E-1, then fc2's
  assign list_n = li < d3 ? d2 : li < d3 << 1 ? d1 : 32'd0;
  assign list_more = li + 32'd1 < d3 << 1;

  always_ff @(posedge clk) begin
    if (!rst_n) begin
      step <= 3'd6; w1_step <= '0; w2_step <= '0;
      dq <= '0; hidden_x_mul <= '0; dq_bad <= 1'b0; li <= '0; list_off <= '0;
    end else begin
      if (new_ins) begin
        step <= 3'd0; w1_step <= '0; w2_step <= '0; dq_bad <= 1'b0;
      end else if (step != 3'd6) begin
        if (fc2) w2_step <= w2_step + blk;
        else w1_step <= w1_step + blk;
        step <= step + 3'd1;
      end
      if (word_we && q4) begin  // the lists are walked next
        dq <= 8'(word[edgemoe_pkg::MOE_DQ_BITS-1:0]);
        hidden_x_mul <= word >> edgemoe_pkg::MOE_DQ_BITS;
        dq_bad <= dq_over;
        li <= '0;
        list_off <= ci1_base;
      end else if (list_next) begin
        li <= li + 32'd1;
        list_off <= li + 32'd1 == d3 ? ci2_base : list_off + (li < d3 ? s1_step : s2_step);
      end
    end
  end

  logic unused;
  assign unused = ^{d4[31:2*HB+3], c_i1[63:32], c_i3[63:32], s1_step[63:32], s2_step[63:32],
                    ma[31:16], mb[31:16]};
endmodule
