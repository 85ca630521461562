// Element-wise engine: ADD (dst = a + b quantized into act), COPY (dst = a), ZERO (dst = 0).
//
// ADD works in chunks of ADD_CHUNK elements: the chunk of a goes into a buffer, the chunk
// of b streams past it, VEC sums per cycle.  COPY and ZERO move whole AXI beats.
module edgemoe_eltwise (
    input  logic        clk,
    input  logic        rst_n,
    input  logic        start,
    output logic        done,
    input  logic [1:0]  mode,          // 0 ADD, 1 COPY, 2 ZERO
    input  logic [31:0] n,             // elements
    input  logic [63:0] a_addr, b_addr, dst_addr,
    output edgemoe_pkg::dma_req_t  dma_req,   // to the shared DMAs (edgemoe_pkg)
    input  edgemoe_pkg::dma_resp_t dma_resp,
    output logic [63:0] overflows      // ADD sums that overflowed act (running count)
);
  localparam int WB = edgemoe_pkg::WORD_MAX * 8;
  localparam int V = edgemoe_pkg::VEC_LANES;
  localparam int AL = edgemoe_pkg::ACT_LG;
  localparam int ABITS = 8 << AL;
  localparam int CH = edgemoe_pkg::ADD_CHUNK;
  localparam int CHW = CH / V;                  // words per chunk
  localparam int LG_B = edgemoe_pkg::AXI_LG;

  typedef enum logic [2:0] {G_IDLE, G_A, G_B, G_DONE} gen_t;
  typedef enum logic [2:0] {C_IDLE, C_A, C_BCMD, C_B, C_STREAM, C_END} con_t;
  gen_t gs;
  con_t cs;
  logic [1:0] m;
  logic [31:0] nn;
  logic [63:0] pa, pb, pd;
  logic [31:0] g_done_el, c_done_el;   // elements whose reads were issued / consumed
  logic [31:0] wcnt, wtot;
  logic [ABITS*V-1:0] abuf[CHW];
  logic [31:0] chunk_len;              // elements in the consumer's current chunk


  // ------------------------------------------------------------------ read command generator
  logic [31:0] g_len;
  assign g_len = (nn - g_done_el > 32'(CH)) ? 32'(CH) : nn - g_done_el;
  always_ff @(posedge clk) begin
    if (!rst_n) begin
      gs <= G_IDLE;
      dma_req.rd_cmd_valid <= 1'b0;
      dma_req.rd_cmd_addr <= '0;
      dma_req.rd_cmd_len <= '0;
      dma_req.rd_cmd_wlg <= '0;
      g_done_el <= '0;
    end else begin
      if (dma_req.rd_cmd_valid && dma_resp.rd_cmd_ready) dma_req.rd_cmd_valid <= 1'b0;
      case (gs)
        G_IDLE: if (start) begin
          g_done_el <= '0;
          if (mode == 2'd1) begin
            dma_req.rd_cmd_valid <= 1'b1;
            dma_req.rd_cmd_addr <= a_addr;
            dma_req.rd_cmd_len <= 32'(64'(n) << AL);
            dma_req.rd_cmd_wlg <= 4'(LG_B);
            gs <= G_DONE;
          end else if (mode == 2'd0) gs <= G_A;
          else gs <= G_DONE;
        end
        G_A: if (!dma_req.rd_cmd_valid || dma_resp.rd_cmd_ready) begin
          dma_req.rd_cmd_valid <= 1'b1;
          dma_req.rd_cmd_addr <= pa + (64'(g_done_el) << AL);
          dma_req.rd_cmd_len <= g_len << AL;
          dma_req.rd_cmd_wlg <= 4'(edgemoe_pkg::VEC_LANES_LG + AL);
          gs <= G_B;
        end
        G_B: if (!dma_req.rd_cmd_valid || dma_resp.rd_cmd_ready) begin
          dma_req.rd_cmd_valid <= 1'b1;
          dma_req.rd_cmd_addr <= pb + (64'(g_done_el) << AL);
          dma_req.rd_cmd_len <= g_len << AL;
          dma_req.rd_cmd_wlg <= 4'(edgemoe_pkg::VEC_LANES_LG + AL);
          g_done_el <= g_done_el + g_len;
          gs <= (g_done_el + g_len == nn) ? G_DONE : G_A;
        end
        G_DONE: if (cs == C_IDLE && !dma_req.rd_cmd_valid) gs <= G_IDLE;
        default: gs <= G_IDLE;
      endcase
    end
  end

  // ------------------------------------------------------------------ consumer
  localparam int CAW = $clog2(CHW > 1 ? CHW : 2);
  logic [WB-1:0] sum_word;
  logic [ABITS*V-1:0] a_word;
  assign a_word = abuf[wcnt[CAW-1:0]];
  logic [V-1:0] lane_ovf;                 // real elements of the beat that overflowed
  for (genvar e = 0; e < V; e++) begin : g_lane
    logic signed [63:0] x, y;
    logic [64:0] q;
    assign x = edgemoe_pkg::sext(64'(a_word[e*ABITS+:ABITS]), 2'(AL), 1'b1);
    assign y = edgemoe_pkg::sext(64'(dma_resp.rd_data[e*ABITS+:ABITS]), 2'(AL), 1'b1);
    assign q = edgemoe_pkg::q_act_c(x + y, 0);
    assign sum_word[e*ABITS+:ABITS] = ABITS'(q[63:0]);
    assign lane_ovf[e] = q[64] && 64'(wcnt) * 64'(V) + 64'(e) < 64'(chunk_len);
  end
  if (WB > ABITS * V) begin : g_pad
    assign sum_word[WB-1:ABITS*V] = '0;
  end

  assign dma_req.rd_ready = (cs == C_A) || (cs == C_B && dma_resp.wr_ready) || (cs == C_STREAM && m == 2'd1 && dma_resp.wr_ready);
  assign dma_req.wr_valid = (cs == C_B && dma_resp.rd_valid) || (cs == C_STREAM && (m == 2'd2 || dma_resp.rd_valid));
  assign dma_req.wr_data = (cs == C_B) ? sum_word : (m == 2'd2) ? '0 : dma_resp.rd_data;

  always_ff @(posedge clk) begin
    if (!rst_n) begin
      cs <= C_IDLE;
      done <= 1'b0;
      m <= '0;
      nn <= '0;
      pa <= '0; pb <= '0; pd <= '0;
      c_done_el <= '0;
      wcnt <= '0;
      wtot <= '0;
      chunk_len <= '0;
      dma_req.wr_cmd_valid <= 1'b0;
      dma_req.wr_cmd_addr <= '0;
      dma_req.wr_cmd_len <= '0;
      dma_req.wr_cmd_wlg <= '0;
      overflows <= '0;
    end else begin
      done <= 1'b0;
      if (dma_req.wr_cmd_valid && dma_resp.wr_cmd_ready) dma_req.wr_cmd_valid <= 1'b0;
      case (cs)
        C_IDLE: if (start) begin
          m <= mode;
          nn <= n;
          pa <= a_addr; pb <= b_addr; pd <= dst_addr;
          c_done_el <= '0;
          wcnt <= '0;
          if (mode == 2'd0) cs <= C_BCMD;
          else begin
            dma_req.wr_cmd_valid <= 1'b1;
            dma_req.wr_cmd_addr <= dst_addr;
            dma_req.wr_cmd_len <= 32'(64'(n) << AL);
            dma_req.wr_cmd_wlg <= 4'(LG_B);
            wtot <= 32'(((64'(n) << AL) + 64'((1 << LG_B) - 1)) >> LG_B);
            cs <= C_STREAM;
          end
        end
        C_BCMD: begin
          chunk_len <= (nn - c_done_el > 32'(CH)) ? 32'(CH) : nn - c_done_el;
          wcnt <= '0;
          cs <= C_A;
        end
        C_A: if (dma_resp.rd_valid) begin
          abuf[wcnt[CAW-1:0]] <= dma_resp.rd_data[ABITS*V-1:0];
          wcnt <= wcnt + 32'd1;
          if (dma_resp.rd_last) begin
            wcnt <= '0;
            dma_req.wr_cmd_valid <= 1'b1;
            dma_req.wr_cmd_addr <= pd + (64'(c_done_el) << AL);
            dma_req.wr_cmd_len <= chunk_len << AL;
            dma_req.wr_cmd_wlg <= 4'(edgemoe_pkg::VEC_LANES_LG + AL);
            cs <= C_B;
          end
        end
        C_B: if (dma_resp.rd_valid && dma_resp.wr_ready) begin
          wcnt <= wcnt + 32'd1;
          overflows <= overflows + 64'($countones(lane_ovf));  // ctrl_prof: per instruction
          if (dma_resp.rd_last) begin
            c_done_el <= c_done_el + chunk_len;
            if (c_done_el + chunk_len == nn) cs <= C_END;
            else cs <= C_BCMD;
          end
        end
        C_STREAM: if (dma_req.wr_valid && dma_resp.wr_ready) begin
          wcnt <= wcnt + 32'd1;
          if (wcnt + 32'd1 == wtot) cs <= C_END;
        end
        C_END: if (!dma_req.wr_cmd_valid) begin
          done <= 1'b1;
          cs <= C_IDLE;
        end
        default: cs <= C_IDLE;
      endcase
    end
  end

  logic unused;
  assign unused = ^dma_resp;
endmodule
