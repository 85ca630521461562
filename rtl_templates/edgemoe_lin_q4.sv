// Mixed int4/int8 strip loader of the linear engine (LINEAR with FLAG_WFMT_Q4), bit-exact
// with edgemoe/numerics/int4.py.  Since sum_g e_g * sum_{k in g} q * (u - z_g) equals
// sum_k q * ((u - z_g) * e_g), the engine runs a mixed layer as an unpaired W8A8 pass and
// only the strip load differs (as the HLS lin_load_q4): every output channel of the strip
// gets its part row's weights, int8 codes as they are and int4 codes expanded into 13-bit
// (u - z) * e, plus that row's bias and multiplier.  The channel_index scatter is done on
// the weights, so the MAC array, the epilogue and the writer are unchanged.
// Per strip:
//   1. split the weights operand (int8 block, int4 block, group parameters) and divide
//      K by the group count (ceil(K / q4_groups) inputs a group: a 16-step divider);
//   2. read channel_index once (one u32 a cycle) and keep, per channel of the strip, its
//      part row (the controller has checked that the list is a permutation);
//   3. a generator issues each channel's reads (bias, multiplier, its group parameters (one
//      group per row: the byte holding its zero point, e = E_MAX implied), then one read
//      per input tile: P_IN int8 codes or P_IN int4 codes) while a consumer
//      takes the words in the same order: an int8 tile fills its buffer lane in one cycle,
//      an int4 tile one weight a cycle.
module edgemoe_lin_q4 #(
    parameter int TW = 256,  // bits per weight buffer word (P_OUT * P_IN weights)
    parameter int BBITS = 16 // bits per bias lane
) (
    input  logic        clk,
    input  logic        rst_n,
    input  logic        start,             // load this strip (a level: seen from idle only)
    input  logic [63:0] wts, bias, scales, index,
    input  logic [31:0] n, k, split,       // split: q4_split (high_out | q4_groups << 16)
    input  logic [1:0]  blg,               // bias element size
    input  logic [31:0] col0, strip_cols, tiles_in,
    output logic        done,              // the strip's weights, biases and multipliers are in
    // the engine's read DMA while the strip loads (no writes)
    output edgemoe_pkg::dma_req_t  dma_req,
    input  edgemoe_pkg::dma_resp_t dma_resp,
    // weight buffer: weights of one lane (channel) of word w_at, byte enables w_be
    output logic        w_we,
    output logic [31:0] w_at,
    output logic [TW-1:0] w_word,
    output logic [TW/8-1:0] w_be,
    // biases and multipliers of output tile b_at of the strip (after its last channel)
    output logic        b_we,
    output logic [31:0] b_at,
    output logic [edgemoe_pkg::P_OUT*BBITS-1:0] b_word,
    output logic [edgemoe_pkg::P_OUT*32-1:0] s_word
);
  localparam int PI = edgemoe_pkg::P_IN;
  localparam int PO = edgemoe_pkg::P_OUT;
  localparam int PI_LG = edgemoe_pkg::P_IN_LG;
  localparam int PO_LG = edgemoe_pkg::P_OUT_LG;
  localparam int WBITS = edgemoe_pkg::WEIGHT_BITS;
  localparam int CH = edgemoe_pkg::MAX_OUT_FEATURES + PO;       // channels a strip may hold
  localparam int CAW = $clog2(CH);
  localparam int RB = $clog2(edgemoe_pkg::MAX_OUT_FEATURES + 1);  // a part row number
  localparam int GP = edgemoe_pkg::MAX_IN_FEATURES + PI;         // group parameters a row may have
  localparam int GAW = $clog2(GP);
  // the int4 bytes of one input tile of one row: P_IN codes (P_IN = 1: the byte holding it)
  localparam int Q4_LEN = PI > 1 ? PI / 2 : 1;
  localparam int Q4_WLG = PI > 1 ? PI_LG - 1 : 0;
  logic cmd_valid, cmd_ready, rd_valid, rd_ready;
  logic [63:0] cmd_addr;
  logic [31:0] cmd_len;
  logic [3:0] cmd_wlg;
  logic [edgemoe_pkg::WORD_MAX*8-1:0] rd_data;
  assign {cmd_ready, rd_valid, rd_data} = {dma_resp.rd_cmd_ready, dma_resp.rd_valid, dma_resp.rd_data};
  assign {dma_req.rd_cmd_valid, dma_req.rd_cmd_addr, dma_req.rd_cmd_len} = {cmd_valid, cmd_addr, cmd_len};
  assign {dma_req.rd_cmd_wlg, dma_req.rd_ready} = {cmd_wlg, rd_ready};
  assign {dma_req.wr_cmd_valid, dma_req.wr_cmd_addr, dma_req.wr_cmd_len, dma_req.wr_cmd_wlg} = '0;
  assign dma_req.wr_valid = 1'b0;
  assign dma_req.wr_data = '0;

  typedef enum logic [2:0] {S_IDLE, S_SPLIT, S_DIV, S_IDX, S_IDX_W, S_ROWS, S_DONE} st_t;
  st_t st;
  logic [31:0] high, groups, gsize;
  logic [63:0] lo_off, par_off;
  logic [15:0] rem, quo;               // the divider: (k - 1) / groups
  logic [4:0] dbit;
  logic [15:0] km1, rem_sh;            // k - 1, and the remainder with its next bit
  assign km1 = 16'(k - 32'd1);
  assign rem_sh = {rem[14:0], km1[dbit[3:0]]};
  logic [31:0] scan;                   // channel_index entries read
  logic [RB-1:0] part[CH];             // part row of each channel of the strip
  logic [15:0] gpar[GP];               // the consumer's row: {z, e} per group
  logic zero_point_nibbles;            // one group per row: zero points two a byte
  assign zero_point_nibbles = groups == 32'd1;

  assign high = {16'd0, split[15:0]};
  assign groups = {16'd0, split[31:16]};
  // codes of the int8 and the int4 block (rows padded to P_OUT): narrow products, as
  // out_features <= MAX_OUT_FEATURES and in_features <= MAX_IN_FEATURES < 2**16
  logic [31:0] hi_codes, lo_codes;
  assign hi_codes = 32'(16'(edgemoe_pkg::round_up_lg(64'(high), PO_LG))) * 32'(16'(tiles_in << PI_LG));
  assign lo_codes = 32'(16'(edgemoe_pkg::round_up_lg(64'(n - high), PO_LG))) * 32'(16'(tiles_in << PI_LG));
  // element (row, 0) of a tile-packed matrix of tiles_in input tiles: its element index
  // (a narrow product: row < MAX_OUT_FEATURES, kt <= MAX_IN_FEATURES)
  function automatic logic [31:0] row_pos(input logic [31:0] row, input logic [15:0] kt);
    row_pos = ((32'(RB'(row >> PO_LG)) * 32'(kt)) << (PO_LG + PI_LG)) +
              ((row & 32'(PO - 1)) << PI_LG);
  endfunction

  // ------------------------------------------------------------------ generator
  logic [31:0] gj, gti, gpos, g_row;
  logic [1:0] gstep;                   // 0 bias, 1 multiplier, 2 group parameters, 3 tiles
  logic g_low, g_end;
  assign g_row = 32'(part[CAW'(gj)]);
  assign g_low = g_row >= high;
  logic [31:0] g_rr, g_par;            // int4 row number; its parameters' offset
  assign g_rr = 32'(RB'(g_row - high));
  // numerics.int4.group_param_span: one group per row the byte holding its zero point
  assign g_par = zero_point_nibbles ? g_rr >> 1 : g_rr * 32'(groups << 1);
  logic issue;                         // a command can be handed over this cycle
  assign issue = st == S_ROWS && !g_end && (!cmd_valid || cmd_ready);

  // ------------------------------------------------------------------ consumer
  logic [31:0] cj, cti, cel, cg, cgk, cp, cwrow, c_row;
  logic [1:0] cstep;
  logic c_low;
  logic [BBITS-1:0] bias_r;
  assign c_row = 32'(part[CAW'(cj)]);
  assign c_low = c_row >= high;
  logic [31:0] nib;                    // the current int4 code's nibble in the word
  logic [7:0] qbyte;
  logic [3:0] u;
  logic [7:0] e, z;
  logic signed [17:0] wq;              // (u - z) * e: 13 bits for the compiler's z <= 15
  logic [15:0] par_now;
  // P_IN = 1: a code's nibble is the parity of its element index (row_pos + ti * P_OUT)
  logic rr0;                           // bit 0 of the int4 row number
  assign rr0 = c_row[0] ^ (c_low && high[0]);
  logic [15:0] par_word;               // {z, e} of the group parameter read on rd_data
  assign par_word = zero_point_nibbles
      ? {4'd0, rr0 ? rd_data[7:4] : rd_data[3:0], 8'(edgemoe_pkg::E_MAX)} : rd_data[15:0];
  assign nib = (PI > 1) ? cel : (PO > 1) ? {31'd0, rr0} : {31'd0, (rr0 && tiles_in[0]) ^ cti[0]};
  assign qbyte = rd_data[8*(nib>>1)+:8];
  assign u = nib[0] ? qbyte[7:4] : qbyte[3:0];
  assign par_now = gpar[GAW'(cg)];
  assign e = par_now[7:0];
  assign z = par_now[15:8];
  assign wq = ($signed(18'(u)) - $signed(18'(z))) * $signed(18'(e));
  logic el_last, tile_last, ch_last;
  assign el_last = !c_low || cel + 32'd1 == 32'(PI);
  assign tile_last = cti + 32'd1 == tiles_in;
  assign ch_last = cj + 32'd1 == strip_cols;
  logic take;                          // the consumer uses (part of) the word on rd_data
  assign take = st == S_ROWS && rd_valid;
  assign rd_ready = st == S_IDX_W || (st == S_ROWS && (cstep != 2'd3 || el_last));

  // the weight buffer write: lane (cj % P_OUT) of word cwrow + cti
  logic [31:0] lane;
  assign lane = cj & 32'(PO - 1);
  assign w_we = take && cstep == 2'd3;
  assign w_at = cwrow + cti;
  // the word repeats the value(s) in every lane (int4: every position): no lane mux, the
  // byte enables pick the lane (and the position)
  always_comb begin
    w_be = '0;
    for (int o = 0; o < PO; o++) begin
      for (int i = 0; i < PI; i++) begin
        w_word[(o*PI+i)*WBITS+:WBITS] = c_low ? WBITS'(wq) : WBITS'($signed(rd_data[i*8+:8]));
        if (32'(o) == lane && (!c_low || 32'(i) == cel)) w_be[(o*PI+i)*(WBITS/8)+:WBITS/8] = '1;
      end
    end
  end
  assign done = st == S_DONE;

  always_ff @(posedge clk) begin
    if (!rst_n) begin
      st <= S_IDLE;
      lo_off <= '0; par_off <= '0; gsize <= '0; rem <= '0; quo <= '0; dbit <= '0; scan <= '0;
      cmd_valid <= 1'b0; cmd_addr <= '0; cmd_len <= '0; cmd_wlg <= '0;
      gj <= '0; gti <= '0; gpos <= '0; gstep <= '0; g_end <= 1'b0;
      cj <= '0; cti <= '0; cel <= '0; cg <= '0; cgk <= '0; cp <= '0; cwrow <= '0;
      cstep <= '0; bias_r <= '0; b_we <= 1'b0; b_at <= '0; b_word <= '0; s_word <= '0;
    end else begin
      if (cmd_valid && cmd_ready) cmd_valid <= 1'b0;
      b_we <= 1'b0;
      case (st)
        S_IDLE: if (start) st <= S_SPLIT;
        S_SPLIT: begin
          // numerics.int4.weight_bytes: int8 block, int4 block (two codes a byte), parameters
          lo_off <= wts + edgemoe_pkg::align64(64'(hi_codes));
          par_off <= wts + edgemoe_pkg::align64(64'(hi_codes)) +
                     edgemoe_pkg::align64(64'(lo_codes + 32'd1) >> 1);
          rem <= '0; quo <= '0; dbit <= 5'd15;
          st <= S_DIV;
        end
        S_DIV: begin  // restoring division, one quotient bit a cycle (k <= 4096: 16 bits)
          if (rem_sh >= 16'(groups)) begin
            rem <= rem_sh - 16'(groups);
            quo[dbit[3:0]] <= 1'b1;
          end else rem <= rem_sh;
          if (dbit == 5'd0) st <= S_IDX;
          else dbit <= dbit - 5'd1;
        end
        S_IDX: begin
          gsize <= 32'(quo) + 32'd1;
          cmd_valid <= 1'b1;
          cmd_addr <= index;
          cmd_len <= n << 2;
          cmd_wlg <= 4'd2;
          scan <= '0;
          st <= S_IDX_W;
        end
        S_IDX_W: if (rd_valid) begin
          if (rd_data[31:0] >= col0 && rd_data[31:0] - col0 < strip_cols)
            part[CAW'(rd_data[31:0] - col0)] <= RB'(scan);
          scan <= scan + 32'd1;
          if (scan + 32'd1 == n) begin
            gj <= '0; gstep <= '0; g_end <= 1'b0;
            cj <= '0; cstep <= '0; cwrow <= '0;
            st <= S_ROWS;
          end
        end
        S_ROWS: begin
          // generator: the commands of channel gj, in the order the consumer takes them
          if (issue) begin
            cmd_valid <= 1'b1;
            case (gstep)
              2'd0: begin
                cmd_addr <= bias + (64'(g_row) << blg);
                cmd_len <= 32'd1 << blg;
                cmd_wlg <= {2'd0, blg};
                gpos <= row_pos(g_low ? g_row - high : g_row, 16'(tiles_in));
                gti <= '0;
                gstep <= 2'd1;
              end
              2'd1: begin
                cmd_addr <= scales + (64'(g_row) << 2);
                cmd_len <= 32'd4;
                cmd_wlg <= 4'd2;
                gstep <= g_low ? 2'd2 : 2'd3;
              end
              2'd2: begin
                cmd_addr <= par_off + 64'(g_par);
                cmd_len <= zero_point_nibbles ? 32'd1 : groups << 1;
                cmd_wlg <= zero_point_nibbles ? 4'd0 : 4'd1;
                gstep <= 2'd3;
              end
              default: begin
                cmd_addr <= g_low ? lo_off + 64'(gpos >> 1) : wts + 64'(gpos);
                cmd_len <= g_low ? 32'(Q4_LEN) : 32'(PI);
                cmd_wlg <= g_low ? 4'(Q4_WLG) : 4'(PI_LG);
                gpos <= gpos + 32'(PO * PI);
                gti <= gti + 32'd1;
                if (gti + 32'd1 == tiles_in) begin
                  gstep <= 2'd0;
                  gj <= gj + 32'd1;
                  g_end <= gj + 32'd1 == strip_cols;
                end
              end
            endcase
          end
          // consumer
          if (take) begin
            case (cstep)
              2'd0: begin
                bias_r <= BBITS'(edgemoe_pkg::sext(edgemoe_pkg::word_elem(rd_data, 0, blg), blg, 1'b1));
                cstep <= 2'd1;
              end
              2'd1: begin  // the multiplier: this lane of the tile's words is complete
                b_word[lane[PO_LG-1:0]*BBITS+:BBITS] <= bias_r;
                s_word[lane[PO_LG-1:0]*32+:32] <= rd_data[31:0];
                b_we <= lane == 32'(PO - 1) || ch_last;
                b_at <= cj >> PO_LG;
                cti <= '0; cel <= '0; cg <= '0; cgk <= '0; cp <= '0;
                cstep <= c_low ? 2'd2 : 2'd3;
              end
              2'd2: begin
                gpar[GAW'(cp)] <= par_word;
                cp <= cp + 32'd1;
                if (cp + 32'd1 == groups) cstep <= 2'd3;
              end
              default: begin
                // an int4 weight: the next group starts after gsize inputs
                if (c_low) begin
                  if (cgk + 32'd1 == gsize) begin
                    cgk <= '0;
                    cg <= cg + 32'd1;
                  end else cgk <= cgk + 32'd1;
                end
                cel <= el_last ? 32'd0 : cel + 32'd1;
                if (el_last) begin
                  cti <= cti + 32'd1;
                  if (tile_last) begin
                    cstep <= 2'd0;
                    cj <= cj + 32'd1;
                    if ((lane + 32'd1) == 32'(PO)) cwrow <= cwrow + tiles_in;
                    if (ch_last) st <= S_DONE;
                  end
                end
              end
            endcase
          end
        end
        S_DONE: st <= S_IDLE;  // one cycle: the engine leaves J_Q4 (start is a level)
        default: st <= S_IDLE;
      endcase
    end
  end

  logic unused;
  assign unused = ^{rd_data, gsize[31:16], rem[15], wq, dma_resp.rd_last, dma_resp.wr_cmd_ready,
                    dma_resp.wr_ready};
endmodule
