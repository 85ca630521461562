// AXI4-Lite slave s_axi_control: the ap_ctrl_hs register file (edgemoe/rtl/regmap.py).
//
// CTRL: bit 0 ap_start (set by writing 1, cleared when the run ends unless auto_restart),
// bit 1 ap_done (clear on read), bit 2 ap_idle, bit 3 ap_ready (clear on read), bit 7
// auto_restart.  GIER/IP_IER/IP_ISR drive `interrupt` (ISR bits toggle on write).
// Arguments are written before ap_start and read back as written; config_id and status are
// read-only with an ap_vld bit (clear on read) in their _ctrl word.
module edgemoe_axil_regs (
    input  logic        clk,
    input  logic        rst_n,
    input  logic [7:0]  awaddr,
    input  logic        awvalid,
    output logic        awready,
    input  logic [31:0] wdata,
    input  logic [3:0]  wstrb,
    input  logic        wvalid,
    output logic        wready,
    output logic [1:0]  bresp,
    output logic        bvalid,
    input  logic        bready,
    input  logic [7:0]  araddr,
    input  logic        arvalid,
    output logic        arready,
    output logic [31:0] rdata,
    output logic [1:0]  rresp,
    output logic        rvalid,
    input  logic        rready,
    output logic        interrupt,
    // to / from the core
    output logic        ap_start,
    input  logic        ap_done,    // one-cycle pulse at the end of a run
    input  logic        ap_idle,
    output logic [63:0] mem,
    output logic [63:0] mem_bytes,
    output logic [31:0] program_offset,
    output logic [31:0] n_instructions,
    output logic [31:0] task_id,
    output logic [31:0] status_offset,
    input  logic [31:0] status
);
  logic have_aw, have_w;
  logic [7:0] waddr;
  logic [31:0] wval;
  logic [3:0] wst;
  logic int_start, int_done, int_ready, auto_restart, gie;
  logic [1:0] ier, isr;
  logic cfg_vld, st_vld;
  logic [31:0] st_val;
  logic do_write, ar_fire;
  logic [31:0] rd_val;

  assign awready = !have_aw && !bvalid;
  assign wready = !have_w && !bvalid;
  assign do_write = have_aw && have_w && !bvalid;
  assign bresp = 2'b00;
  assign rresp = 2'b00;
  assign arready = !rvalid;
  assign ar_fire = arvalid && arready;
  assign interrupt = gie && (isr != 2'b00);
  assign ap_start = int_start;

  function automatic logic [31:0] merge(input logic [31:0] old, input logic [31:0] val,
                                        input logic [3:0] be);
    for (int i = 0; i < 4; i++) merge[i*8+:8] = be[i] ? val[i*8+:8] : old[i*8+:8];
  endfunction

  always_comb begin
    case (araddr)
      edgemoe_pkg::REG_CTRL: rd_val = {24'd0, auto_restart, 3'd0, int_ready, ap_idle, int_done,
                                       int_start};
      edgemoe_pkg::REG_GIER: rd_val = {31'd0, gie};
      edgemoe_pkg::REG_IP_IER: rd_val = {30'd0, ier};
      edgemoe_pkg::REG_IP_ISR: rd_val = {30'd0, isr};
      edgemoe_pkg::REG_MEM_1: rd_val = mem[31:0];
      edgemoe_pkg::REG_MEM_2: rd_val = mem[63:32];
      edgemoe_pkg::REG_MEM_BYTES_1: rd_val = mem_bytes[31:0];
      edgemoe_pkg::REG_MEM_BYTES_2: rd_val = mem_bytes[63:32];
      edgemoe_pkg::REG_PROGRAM_OFFSET: rd_val = program_offset;
      edgemoe_pkg::REG_N_INSTRUCTIONS: rd_val = n_instructions;
      edgemoe_pkg::REG_TASK: rd_val = task_id;
      edgemoe_pkg::REG_STATUS_OFFSET: rd_val = status_offset;
      edgemoe_pkg::REG_CONFIG_ID: rd_val = edgemoe_pkg::CONFIG_ID;
      edgemoe_pkg::REG_CONFIG_ID_CTRL: rd_val = {31'd0, cfg_vld};
      edgemoe_pkg::REG_STATUS: rd_val = st_val;
      edgemoe_pkg::REG_STATUS_CTRL: rd_val = {31'd0, st_vld};
      default: rd_val = 32'd0;
    endcase
  end

  always_ff @(posedge clk) begin
    if (!rst_n) begin
      have_aw <= 1'b0;
      have_w <= 1'b0;
      waddr <= '0;
      wval <= '0;
      wst <= '0;
      bvalid <= 1'b0;
      rvalid <= 1'b0;
      rdata <= '0;
      int_start <= 1'b0;
      int_done <= 1'b0;
      int_ready <= 1'b0;
      auto_restart <= 1'b0;
      gie <= 1'b0;
      ier <= '0;
      isr <= '0;
      cfg_vld <= 1'b0;
      st_vld <= 1'b0;
      st_val <= '0;
      mem <= '0;
      mem_bytes <= 64'h1_0000_0000;  // no image size written: the whole 32-bit offset space
      program_offset <= '0;
      n_instructions <= '0;
      task_id <= '0;
      status_offset <= '0;
    end else begin
      // ---- write channel
      if (awvalid && awready) begin
        have_aw <= 1'b1;
        waddr <= awaddr;
      end
      if (wvalid && wready) begin
        have_w <= 1'b1;
        wval <= wdata;
        wst <= wstrb;
      end
      if (bvalid && bready) bvalid <= 1'b0;
      if (do_write) begin
        have_aw <= 1'b0;
        have_w <= 1'b0;
        bvalid <= 1'b1;
        case (waddr)
          edgemoe_pkg::REG_CTRL: begin
            if (wst[0] && wval[0]) int_start <= 1'b1;
            if (wst[0]) auto_restart <= wval[7];
          end
          edgemoe_pkg::REG_GIER: if (wst[0]) gie <= wval[0];
          edgemoe_pkg::REG_IP_IER: if (wst[0]) ier <= wval[1:0];
          edgemoe_pkg::REG_IP_ISR: if (wst[0]) isr <= isr ^ wval[1:0];
          edgemoe_pkg::REG_MEM_1: mem[31:0] <= merge(mem[31:0], wval, wst);
          edgemoe_pkg::REG_MEM_2: mem[63:32] <= merge(mem[63:32], wval, wst);
          edgemoe_pkg::REG_MEM_BYTES_1: mem_bytes[31:0] <= merge(mem_bytes[31:0], wval, wst);
          edgemoe_pkg::REG_MEM_BYTES_2: mem_bytes[63:32] <= merge(mem_bytes[63:32], wval, wst);
          edgemoe_pkg::REG_PROGRAM_OFFSET: program_offset <= merge(program_offset, wval, wst);
          edgemoe_pkg::REG_N_INSTRUCTIONS: n_instructions <= merge(n_instructions, wval, wst);
          edgemoe_pkg::REG_TASK: task_id <= merge(task_id, wval, wst);
          edgemoe_pkg::REG_STATUS_OFFSET: status_offset <= merge(status_offset, wval, wst);
          default: ;
        endcase
      end
      // ---- read channel (reading CTRL clears ap_done and ap_ready, _ctrl words their ap_vld)
      if (rvalid && rready) rvalid <= 1'b0;
      if (ar_fire) begin
        rvalid <= 1'b1;
        rdata <= rd_val;
        if (araddr == edgemoe_pkg::REG_CTRL) begin
          int_done <= 1'b0;
          int_ready <= 1'b0;
        end
        if (araddr == edgemoe_pkg::REG_CONFIG_ID_CTRL) cfg_vld <= 1'b0;
        if (araddr == edgemoe_pkg::REG_STATUS_CTRL) st_vld <= 1'b0;
      end
      // ---- core events (after the read so that a done in the same cycle is kept)
      if (ap_done) begin
        int_done <= 1'b1;
        int_ready <= 1'b1;
        if (!auto_restart) int_start <= 1'b0;
        if (ier[0]) isr[0] <= 1'b1;
        if (ier[1]) isr[1] <= 1'b1;
        cfg_vld <= 1'b1;
        st_vld <= 1'b1;
        st_val <= status;
      end
    end
  end
endmodule
