// Test harness for the Yosys flow: four 16x16 multiply-accumulates and a 1024 x 64 RAM
// (expected on UltraScale+: 4 DSP48E2 and 2 RAMB36E2).
module synth_probe (
    input  logic              clk,
    input  logic [3:0][15:0]  a,
    input  logic [3:0][15:0]  b,
    output logic [3:0][39:0]  acc,
    input  logic              we,
    input  logic [9:0]        waddr,
    input  logic [9:0]        raddr,
    input  logic [63:0]       wdata,
    output logic [63:0]       rdata
);
  logic [63:0] mem[1024];
  always_ff @(posedge clk) begin
    for (int i = 0; i < 4; i++)
      acc[i] <= acc[i] + 40'($signed(a[i]) * $signed(b[i]));
    if (we) mem[waddr] <= wdata;
    rdata <= mem[raddr];
  end
endmodule
