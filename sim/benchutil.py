"""Helpers shared by the cocotb benches."""

from __future__ import annotations

import logging


def quiet_axi_logs() -> None:
    """cocotbext-axi logs every burst at INFO; keep only warnings (also much faster)."""
    for name in ("cocotb.edgemoe_top", "cocotb.dma_harness"):
        logging.getLogger(name).setLevel(logging.WARNING)
    logging.getLogger("cocotbext.axi").setLevel(logging.WARNING)
