"""edgemoe: FPGA accelerator generator and host runtime for edge vision models."""
__version__ = "0.1.0"
