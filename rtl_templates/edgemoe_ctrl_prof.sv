// Profile and status words of the dispatcher (edgemoe_ctrl): the MACs of an instruction
// as the golden counts them (a product of up to four factors, one multiply per cycle), the
// 8 x u64 profile entry and the status block (error, failing index, executed, config_id).
module edgemoe_ctrl_prof (
    input  logic        clk,
    input  logic [1:0]  mul_step,     // step of the MACs product (the dispatcher's S_MACS)
    input  logic [7:0]  op,
    input  logic [31:0] d0, d1, d2, d3, t_eff, c_oh, c_ow,
    input  logic [63:0] c_cikk,
    output logic        macs_last,    // the product is complete on this step ...
    output logic        macs_set,     // ... and is the op's MAC count (else keep macs)
    output logic [63:0] macs_val,
    input  logic [2:0]  pw,           // word index
    input  logic        run_ok,       // the instruction ran (not task-masked)
    input  logic [63:0] cycles, macs, read_bytes, written_bytes, wbytes, experts_active,
    output logic [63:0] prof_word,
    input  logic [7:0]  error,
    input  logic [31:0] failed, executed,
    output logic [63:0] stat_word,
    input  logic [63:0] overflows,    // all engines' running count of values that overflowed
    input  logic        ovf_snap      // an instruction starts: its count starts from here
);
  logic [63:0] ovf_base;
  always_ff @(posedge clk) if (ovf_snap) ovf_base <= overflows;
  logic [63:0] mul_acc;
  always_comb begin
    macs_last = 1'b1;
    macs_set = 1'b1;
    macs_val = '0;
    case (op)
      edgemoe_pkg::OP_LINEAR: begin
        macs_last = mul_step != 2'd0;
        macs_val = mul_acc * 64'(d2);
      end
      edgemoe_pkg::OP_CONV: begin
        macs_last = mul_step > 2'd1;
        macs_val = mul_acc * c_cikk;
      end
      edgemoe_pkg::OP_MOE_GATE: begin
        macs_last = mul_step != 2'd0;
        macs_val = mul_acc * 64'(d2);
      end
      edgemoe_pkg::OP_ATTENTION: begin
        macs_last = mul_step > 2'd1;
        macs_val = (mul_acc * 64'(d2)) << 1;
      end
      default: macs_set = 1'b0;
    endcase
  end
  always_ff @(posedge clk) begin
    case (op)
      edgemoe_pkg::OP_LINEAR: if (mul_step == 2'd0) mul_acc <= 64'(t_eff) * 64'(d1);
      edgemoe_pkg::OP_CONV:
        if (mul_step == 2'd0) mul_acc <= 64'(c_oh) * 64'(c_ow);
        else if (mul_step == 2'd1) mul_acc <= mul_acc * 64'(d3);
      edgemoe_pkg::OP_MOE_GATE: if (mul_step == 2'd0) mul_acc <= 64'(d0) * 64'(d1);
      edgemoe_pkg::OP_ATTENTION:
        if (mul_step == 2'd0) mul_acc <= 64'(d0) * 64'(d0);
        else if (mul_step == 2'd1) mul_acc <= mul_acc * 64'(d1);
      default: ;
    endcase
  end

  always_comb begin
    case (pw)
      3'd0: prof_word = run_ok ? cycles : 64'd0;
      3'd1: prof_word = run_ok ? macs : 64'd0;
      3'd2: prof_word = (run_ok && op != edgemoe_pkg::OP_NOP) ? read_bytes + wbytes : 64'd0;
      3'd3: prof_word = (run_ok && op != edgemoe_pkg::OP_NOP) ? written_bytes : 64'd0;
      3'd4: prof_word = run_ok ? wbytes : 64'd0;
      3'd5: prof_word = run_ok ? experts_active : 64'd0;
      3'd6: prof_word = run_ok ? overflows - ovf_base : 64'd0;
      default: prof_word = 64'd0;
    endcase
  end
  always_comb begin
    case (pw)
      3'd0: stat_word = 64'(error);
      3'd1: stat_word = 64'(failed);
      3'd2: stat_word = 64'(executed);
      default: stat_word = 64'(edgemoe_pkg::CONFIG_ID);
    endcase
  end
endmodule
