"""C simulation: build the generated HLS sources with g++ into a shared library and run
programs through it with ctypes (the ``csim`` executor).

The library is cached under ``build/<design>/csim/`` by a hash of every source, the
flags and the compiler version: a rebuild with nothing changed costs a hash, not a
compile.  Same contract as :func:`edgemoe.golden.execute`.
"""

from __future__ import annotations

import ctypes
import hashlib
import logging
import os
import shutil
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..codegen import render_hls
from ..isa import Err
from .aptypes import ToolNotFoundError, cxx_flags
from .paths import csim_dir, default_build_root, hls_dir

__all__ = ["CsimBuild", "CsimError", "CsimExecutor", "build_csim", "csim_flags",
           "default_build_root", "hls_dir"]

log = logging.getLogger(__name__)

#: Sources compiled into the C-sim library (the testbench has its own main()).
_LIB_SOURCES = ("edgemoe_top.cpp", "csim_bridge.cpp")
_U32 = 1 << 32
_locks: dict[str, threading.Lock] = {}


class CsimError(RuntimeError):
    """The C-sim library cannot be built or loaded (message has the compiler output)."""


def csim_flags() -> list[str]:
    """g++ flags of the C-sim library (warnings on; ap_types as system headers).

    ``-fvisibility=hidden`` keeps every symbol but the bridge's entry points private, so
    libraries of several design points (same C++ names, other sizes) coexist in one process.
    """
    return ["-O3", "-fPIC", "-shared", "-fvisibility=hidden", "-Wall", "-Wextra", *cxx_flags()]


def _compiler() -> str:
    cxx = shutil.which(os.environ.get("CXX", "g++")) or shutil.which("g++")
    if cxx is None:
        raise ToolNotFoundError("g++ not found on PATH: install a C++ compiler "
                                "(apt-get install g++) to build the C simulation")
    return cxx


def _compiler_version(cxx: str) -> str:
    out = subprocess.run([cxx, "--version"], capture_output=True, text=True, check=False)
    return out.stdout.splitlines()[0] if out.stdout else cxx


@dataclass(frozen=True)
class CsimBuild:
    """Result of :func:`build_csim`.

    Attributes:
        library: path of the shared library.
        source_dir: folder of the generated sources.
        key: hash of sources + flags + compiler identifying the library.
        cached: True when an existing library was reused.
        seconds: wall time of the step (render + hash + compile).
        warnings: compiler diagnostics (empty when the build was warning-free or cached).
    """

    library: Path
    source_dir: Path
    key: str
    cached: bool
    seconds: float
    warnings: str


def build_csim(accel, build_root: Path | str | None = None, force: bool = False) -> CsimBuild:
    """Generate the HLS sources of ``accel`` and compile them into a C-sim library.

    Args:
        accel: AccelConfig (``check_fit()`` is the caller's business: C-sim runs any
            design point).
        build_root: folder holding ``<design>/hls`` and ``<design>/csim`` (default ``build/``).
        force: recompile even when a cached library exists.

    Returns:
        A :class:`CsimBuild`.

    Raises:
        ToolNotFoundError: g++ or the ap_types headers are missing.
        CsimError: the compiler failed (its output is in the message).
    """
    t0 = time.perf_counter()
    src = hls_dir(accel, build_root)
    if (src / "tb_data" / "args.txt").is_file():
        render_hls(accel, src)  # keeps the existing test data (and so the same sources)
    else:
        from .generate import generate

        generate(accel, out_dir=src, check_fit=False)
    cxx = _compiler()
    flags = csim_flags()
    h = hashlib.sha256()
    h.update(" ".join([cxx, _compiler_version(cxx), *flags]).encode())
    for path in sorted(p for p in src.iterdir() if p.suffix in (".hpp", ".cpp")):
        if path.name == "tb_edgemoe.cpp":
            continue
        h.update(path.name.encode() + b"\0" + path.read_bytes())
    key = h.hexdigest()[:16]
    lib_dir = csim_dir(accel, build_root)
    lib = lib_dir / f"libedgemoe_csim_{key}.so"
    if lib.is_file() and not force:
        log.debug("C-sim library for %s is cached: %s", accel.name, lib)
        return CsimBuild(lib, src, key, True, time.perf_counter() - t0, "")
    lib_dir.mkdir(parents=True, exist_ok=True)
    tmp = lib.with_suffix(f".{os.getpid()}.tmp")
    cmd = [cxx, *flags, "-I", str(src), *(str(src / s) for s in _LIB_SOURCES), "-o", str(tmp)]
    log.info("building the C-sim library for %s (config_id %s) with g++ ...", accel.name,
             accel.config_id)
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        tmp.unlink(missing_ok=True)
        raise CsimError(f"g++ failed building the C simulation of {accel.name} "
                        f"(sources in {src}):\n{proc.stderr[-8000:]}\ncommand: {' '.join(cmd)}")
    os.replace(tmp, lib)  # atomic: concurrent builders never load a half-written library
    for old in lib_dir.glob("libedgemoe_csim_*.so"):
        if old != lib:
            old.unlink(missing_ok=True)
    seconds = time.perf_counter() - t0
    log.info("built %s in %.1f s", lib.name, seconds)
    if proc.stderr.strip():
        log.warning("g++ diagnostics for %s:\n%s", accel.name, proc.stderr)
    return CsimBuild(lib, src, key, False, seconds, proc.stderr)


class CsimExecutor:
    """The C-sim executor: ``execute`` has the signature and semantics of golden.execute.

    Args:
        accel: AccelConfig of the design point.
        build_root: build folder (default ``build/``).
        build: an existing :class:`CsimBuild` to load instead of building.

    Raises:
        CsimError: the library does not report the design point's config_id.
    """

    def __init__(self, accel, build_root: Path | str | None = None,
                 build: CsimBuild | None = None):
        self.accel = accel
        self.build = build or build_csim(accel, build_root)
        lib = ctypes.CDLL(str(self.build.library))
        fn = lib.edgemoe_execute
        fn.argtypes = [ctypes.POINTER(ctypes.c_uint8), ctypes.c_uint64, ctypes.c_uint32,
                       ctypes.c_uint32, ctypes.c_uint32, ctypes.c_uint32]
        fn.restype = ctypes.c_int
        lib.edgemoe_config_id.restype = ctypes.c_uint32
        if lib.edgemoe_config_id() != accel.config_id_int:
            raise CsimError(f"{self.build.library} reports config_id "
                            f"{lib.edgemoe_config_id():08x}, not {accel.config_id} of "
                            f"{accel.name}: delete it and rebuild")
        self._lib, self._fn = lib, fn
        self._lock = _locks.setdefault(str(self.build.library), threading.Lock())

    def execute(self, image: np.ndarray, program_offset: int, n_instructions: int,
                task: int = 0, status_offset: int = 0) -> int:
        """Run ``n_instructions`` from ``program_offset`` on ``image`` (uint8, in place).

        Returns the error code written to the status block (0 on success).

        Raises:
            TypeError: ``image`` is not a writable, contiguous uint8 array.
            ValueError: ``n_instructions`` is negative or does not fit 32 bits.
        """
        if not isinstance(image, np.ndarray) or image.dtype != np.uint8 or \
                not image.flags.c_contiguous or not image.flags.writeable:
            raise TypeError("image must be a writable, C-contiguous numpy uint8 array "
                            "(use compiled.fresh_image())")
        if not 0 <= n_instructions < _U32:
            raise ValueError(f"n_instructions={n_instructions} must be in [0, 2**32)")
        if not 0 <= status_offset < _U32:
            return int(Err.BAD_PROGRAM)  # golden: the status block does not fit; nothing written
        if not 0 <= program_offset < _U32:
            program_offset = 1  # misaligned: BAD_PROGRAM with the status block written
        if not 0 <= task < _U32:
            task = _U32 - 1
        ptr = image.ctypes.data_as(ctypes.POINTER(ctypes.c_uint8))
        with self._lock:  # the library keeps its on-chip buffers in static storage
            err = self._fn(ptr, image.size, program_offset, n_instructions, task, status_offset)
        if err < 0:
            raise MemoryError("the C simulation could not allocate its copy of the image")
        return int(err)
