"""Integer-only transcendentals shared by the golden executor, HLS C++ and SystemVerilog.

Each kernel is a short, documented sequence of integer operations on int64 numpy
arrays of raw fixed-point codes, with ROMs built here at first use (float math only
to build tables, never inside a kernel). The C++ and SV implementations are rendered
from :func:`numerics_tables` and :func:`numerics_constants` and must match bit for bit.
"""

from .errors import NumericsError
from .exp import exp_neg, exp_tables
from .gelu_kernel import gelu, gelu_counted, gelu_delta_table
from .mean import POOL_MAX_KERNEL, POOL_RECIP_BITS, clog2, mean_recip, window_recip_table
from .recip import reciprocal, reciprocal_table, rsqrt, rsqrt_table
from .softmax import softmax_init, softmax_probs, softmax_probs_counted, softmax_row, softmax_update
from .tables import numerics_constants, numerics_digest, numerics_tables

__all__ = [
    "POOL_MAX_KERNEL",
    "POOL_RECIP_BITS",
    "NumericsError",
    "clog2",
    "exp_neg",
    "exp_tables",
    "gelu",
    "gelu_counted",
    "gelu_delta_table",
    "mean_recip",
    "numerics_constants",
    "numerics_digest",
    "numerics_tables",
    "reciprocal",
    "reciprocal_table",
    "rsqrt",
    "rsqrt_table",
    "softmax_init",
    "softmax_probs",
    "softmax_probs_counted",
    "softmax_row",
    "softmax_update",
    "window_recip_table",
]
