"""Host runtime: run compiled models on the golden, C-sim or PYNQ (FPGA) executors.

Imports only numpy-level modules (params, isa, compiler, golden), so it runs on a PYNQ
board with numpy; pynq is imported when the pynq backend is used and matplotlib when a
profile is plotted.

Example::

    from edgemoe.host import Accelerator
    with Accelerator("bitstreams/zcu102", backend="pynq") as acc:
        result = acc.run(image, task="all")[0]
        seg, depth = result.predictions["seg"], result.predictions["depth"]
        print(result.profiles["seg"].table())
"""

from .accelerator import Accelerator, HostTimings, Result
from .backends import (
    BACKENDS,
    Backend,
    CsimBackend,
    GoldenBackend,
    RtlsimBackend,
    make_backend,
)
from .design import Design, open_design
from .errors import (
    BackendUnavailable,
    ConfigIdMismatch,
    DeviceError,
    DeviceTimeout,
    HostError,
    PackageError,
)
from .profile import OpProfile, Profile
from .registers import TOP_NAME, VLNV

__all__ = [
    "BACKENDS",
    "TOP_NAME",
    "VLNV",
    "Accelerator",
    "Backend",
    "BackendUnavailable",
    "ConfigIdMismatch",
    "CsimBackend",
    "Design",
    "DeviceError",
    "DeviceTimeout",
    "GoldenBackend",
    "HostError",
    "HostTimings",
    "OpProfile",
    "PackageError",
    "Profile",
    "Result",
    "RtlsimBackend",
    "make_backend",
    "open_design",
]
