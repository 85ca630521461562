// Read commands of the attention engine (edgemoe_attn): int8 mode, first the job's
// parameter block (one command of u32 words, edgemoe_attn_q8_load); per head the codebook rows
// (top-k mode: edgemoe_attn_topk says which), K rows 0..t-1 and V rows 0..t-1 into the K/V
// memories; then per query block of up to ATTN_LANES queries its Q rows.  One head row per
// command; the commands run ahead of the step counters (the DMA queues them).
module edgemoe_attn_gen (
    input  logic        clk,
    input  logic        rst_n,
    input  logic        start, done,       // the engine's start and done pulses
    input  logic        topk_on,           // at start: the job selects keys
    input  logic        q8_on,             // at start: int8 mode (a parameter block first)
    input  logic [63:0] jq8p,              // the parameter block, latched at start
    input  logic [31:0] t,                 // at start: tokens
    // the job, latched by the engine at start
    input  logic [31:0] jt, jnh, jhd,
    input  logic        jtopk,
    input  logic [63:0] jqkv, rstride, hw_bytes,   // qkv base, token row stride, K offset
    input  logic [1:0]  jxlg,              // log2 bytes of a qkv element (int8 codes in: 0)
    // the codebook's read commands (edgemoe_attn_topk)
    input  logic [31:0] tk_cmds, tk_cmd_len,
    input  logic [63:0] tk_cmd_addr,
    input  logic [3:0]  tk_cmd_wlg,
    output logic [31:0] gh, grow,          // head and row of the command being asked for
    output logic        rd_cmd_valid,
    input  logic        rd_cmd_ready,
    output logic [63:0] rd_cmd_addr,
    output logic [31:0] rd_cmd_len,
    output logic [3:0]  rd_cmd_wlg
);
  localparam int P = edgemoe_pkg::ATTN_LANES;
  localparam int LG_B = edgemoe_pkg::AXI_LG;

  typedef enum logic [2:0] {G_IDLE, G_KV, G_Q, G_NEXT, G_DONE, G_BOOK, G_PRM} gen_t;
  gen_t gs;
  logic [31:0] gqb, gnq;
  logic gv;                                // loading V rows (else K rows)
  logic cmd_free;
  assign cmd_free = !rd_cmd_valid || rd_cmd_ready;
  logic [63:0] head_off;
  assign head_off = 64'(gh) * 64'(jhd) << jxlg;

  always_ff @(posedge clk) begin
    if (!rst_n) begin
      gs <= G_IDLE;
      gh <= '0; gqb <= '0; grow <= '0; gnq <= '0; gv <= 1'b0;
      rd_cmd_valid <= 1'b0; rd_cmd_addr <= '0; rd_cmd_len <= '0; rd_cmd_wlg <= '0;
    end else begin
      if (rd_cmd_valid && rd_cmd_ready) rd_cmd_valid <= 1'b0;
      case (gs)
        G_IDLE: if (start) begin
          gh <= '0; gqb <= '0; grow <= '0; gv <= 1'b0;
          gnq <= (t < 32'(P)) ? t : 32'(P);
          gs <= q8_on ? G_PRM : topk_on ? G_BOOK : G_KV;
        end
        G_PRM: if (cmd_free) begin
          rd_cmd_valid <= 1'b1;
          rd_cmd_len <= 32'(edgemoe_pkg::ATTN_Q8_PARAM_BYTES);
          rd_cmd_wlg <= 4'd2;
          rd_cmd_addr <= jq8p;
          gs <= G_KV;
        end
        G_BOOK: if (cmd_free) begin        // the head's codebook rows, then K and V
          rd_cmd_valid <= 1'b1;
          rd_cmd_len <= tk_cmd_len;
          rd_cmd_wlg <= tk_cmd_wlg;
          rd_cmd_addr <= tk_cmd_addr;
          grow <= grow + 32'd1;
          if (grow + 32'd1 == tk_cmds) begin
            grow <= '0;
            gs <= G_KV;
          end
        end
        G_KV: if (cmd_free) begin
          rd_cmd_valid <= 1'b1;
          rd_cmd_len <= jhd << jxlg;
          rd_cmd_wlg <= 4'(LG_B);
          rd_cmd_addr <= jqkv + 64'(grow) * rstride + (gv ? hw_bytes << 1 : hw_bytes) +
                                 head_off;
          grow <= grow + 32'd1;
          if (grow + 32'd1 == jt) begin
            grow <= '0;
            gv <= !gv;
            if (gv) gs <= G_Q;
          end
        end
        G_Q: if (cmd_free) begin
          rd_cmd_valid <= 1'b1;
          rd_cmd_len <= jhd << jxlg;
          rd_cmd_wlg <= 4'(LG_B);
          rd_cmd_addr <= jqkv + 64'(gqb * 32'(P) + grow) * rstride + head_off;
          grow <= grow + 32'd1;
          if (grow + 32'd1 == gnq) begin
            grow <= '0;
            gs <= G_NEXT;
          end
        end
        G_NEXT: begin
          if (gqb * 32'(P) + gnq >= jt) begin
            gqb <= '0;
            gnq <= (jt < 32'(P)) ? jt : 32'(P);
            gh <= gh + 32'd1;
            gs <= (gh + 32'd1 == jnh) ? G_DONE : jtopk ? G_BOOK : G_KV;
          end else begin
            gqb <= gqb + 32'd1;
            gnq <= (jt - (gqb + 32'd1) * 32'(P) < 32'(P)) ? jt - (gqb + 32'd1) * 32'(P)
                                                           : 32'(P);
            gs <= G_Q;
          end
        end
        G_DONE: if (done) gs <= G_IDLE;
        default: gs <= G_IDLE;
      endcase
    end
  end
endmodule
