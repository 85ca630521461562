"""Executors behind one small interface.

A backend owns the memory the device sees.  :meth:`Backend.load` places the initial
memory image (weights + program) once; afterwards the host writes inputs into
:attr:`Backend.memory`, calls :meth:`Backend.sync_to_device` on what it wrote,
:meth:`Backend.execute`, then :meth:`Backend.sync_from_device` on what it reads back.
The simulated backends keep the image in host memory, so their syncs do nothing; the
pynq backend (:mod:`edgemoe.host.pynq_backend`) flushes and invalidates the CMA buffer.
"""

from __future__ import annotations

import logging
from typing import Protocol, runtime_checkable

import numpy as np

from ..golden import execute as golden_execute
from ..golden import status_words
from .errors import BackendUnavailable, DeviceTimeout, HostError

log = logging.getLogger(__name__)

BACKENDS = ("golden", "csim", "rtlsim", "pynq")


@runtime_checkable
class Backend(Protocol):
    """What :class:`edgemoe.host.Accelerator` needs from an executor."""

    name: str

    def load(self, image: np.ndarray) -> None:
        """Place the initial memory image on the device (once)."""

    @property
    def memory(self) -> np.ndarray:
        """Host view (uint8) of the device memory image."""

    def sync_to_device(self, offset: int, nbytes: int) -> None:
        """Make host writes to ``[offset, offset + nbytes)`` visible to the device."""

    def sync_from_device(self, offset: int, nbytes: int) -> None:
        """Make device writes to ``[offset, offset + nbytes)`` visible to the host."""

    def execute(self, program_offset: int, n_instructions: int, task: int,
                status_offset: int) -> int:
        """Run the program; returns the device's error code (0 on success)."""

    def device_config_id(self, status_offset: int) -> int:
        """The config_id the executor was built for (probing it if needed)."""

    def close(self) -> None:
        """Release device memory; the backend cannot run afterwards."""


class _HostMemoryBackend:
    """Shared parts of the simulated backends: the image lives in a numpy array."""

    name = "host"
    cycles_source = "modelled"  # the profile's cycles come from the cycle model

    def __init__(self, accel) -> None:
        self.accel = accel
        self._mem: np.ndarray | None = None

    def load(self, image: np.ndarray) -> None:
        self._mem = np.array(image, dtype=np.uint8, copy=True)

    @property
    def memory(self) -> np.ndarray:
        if self._mem is None:
            raise HostError(f"{self.name} backend has no memory image: call load() first "
                            "(or the accelerator was closed)")
        return self._mem

    def sync_to_device(self, offset: int, nbytes: int) -> None:
        return None

    def sync_from_device(self, offset: int, nbytes: int) -> None:
        return None

    def _run(self, mem, program_offset, n_instructions, task, status_offset) -> int:
        raise NotImplementedError

    def execute(self, program_offset: int, n_instructions: int, task: int,
                status_offset: int) -> int:
        return int(self._run(self.memory, program_offset, n_instructions, task, status_offset))

    def device_config_id(self, status_offset: int) -> int:
        """Probe: an empty program writes the status block, whose word 3 is config_id."""
        self.execute(0, 0, 0, status_offset)
        return status_words(self.memory, status_offset)["config_id"]

    def close(self) -> None:
        self._mem = None


class GoldenBackend(_HostMemoryBackend):
    """The bit-exact numpy executor (:func:`edgemoe.golden.execute`)."""

    name = "golden"

    def _run(self, mem, program_offset, n_instructions, task, status_offset) -> int:
        return golden_execute(mem, self.accel, program_offset, n_instructions, task,
                              status_offset)


class CsimBackend(_HostMemoryBackend):
    """The generated HLS C++ built with g++ (:class:`edgemoe.flow.csim.CsimExecutor`)."""

    name = "csim"

    def __init__(self, accel) -> None:
        super().__init__(accel)
        try:
            from ..flow.aptypes import ToolNotFoundError
            from ..flow.csim import CsimExecutor
        except ImportError as exc:
            raise BackendUnavailable(
                f"the csim backend needs edgemoe.flow.csim ({exc}); install the csim extra "
                "(`pip install edgemoe[csim]`) or use --backend golden") from None
        try:
            self._executor = CsimExecutor(accel)
        except ToolNotFoundError as exc:
            raise BackendUnavailable(f"the csim backend cannot build here: {exc}") from None

    def _run(self, mem, program_offset, n_instructions, task, status_offset) -> int:
        return self._executor.execute(mem, program_offset, n_instructions, task=task,
                                      status_offset=status_offset)


class RtlsimBackend(_HostMemoryBackend):
    """The generated SystemVerilog under Verilator (:class:`edgemoe.rtl.RtlsimExecutor`);
    one simulator process per run, the Verilator model built once and cached."""

    name = "rtlsim"
    cycles_source = "measured"  # the RTL's own cycle counter wrote the profile

    def __init__(self, accel) -> None:
        super().__init__(accel)
        try:
            from ..rtl import RtlsimExecutor
        except ImportError as exc:
            raise BackendUnavailable(
                f"the rtlsim backend needs edgemoe.rtl ({exc}); install the sim extra "
                "(`pip install edgemoe[sim]`) or use --backend golden") from None
        self._executor = RtlsimExecutor(accel)

    def _run(self, mem, program_offset, n_instructions, task, status_offset) -> int:
        from ..isa import INSTR_BYTES, decode, not_built
        from ..rtl import RtlJob
        from ..rtl.simulator import SimulatorError

        program = mem[program_offset:program_offset + INSTR_BYTES * n_instructions]
        missing = not_built(decode(program.tobytes()), "sv")
        if missing:
            raise BackendUnavailable(f"the SystemVerilog does not build {missing} yet: run it "
                                     "on --backend golden or csim, or compile without that "
                                     "mode")
        job = RtlJob(mem, program_offset, n_instructions, task, status_offset)
        try:
            res = self._executor.run_jobs([job])[0]
        except (SimulatorError, FileNotFoundError) as exc:
            raise BackendUnavailable(f"the rtlsim backend cannot run here: {exc}") from None
        if res.timed_out:
            raise DeviceTimeout(f"the RTL did not finish within {job.max_cycles} cycles: "
                                "run a smaller model or design point on rtlsim")
        return res.error

    def device_config_id(self, status_offset: int) -> int:
        """The RTL is rendered from this design point and every run checks its config_id
        register (RtlsimExecutor), so no probe run is needed."""
        return self.accel.config_id_int


def make_backend(name: str, design, **options) -> Backend:
    """Create a backend for ``design``.

    Args:
        name: ``golden``, ``csim``, ``rtlsim`` or ``pynq``.
        design: The :class:`~edgemoe.host.design.Design` to run.
        **options: pynq only: ``device``, ``download``, ``timeout_s``, ``overlay``.

    Raises:
        ValueError: Unknown backend name.
        BackendUnavailable: The backend cannot run here.
    """
    if name == "golden":
        return GoldenBackend(design.accel)
    if name == "csim":
        return CsimBackend(design.accel)
    if name == "rtlsim":
        return RtlsimBackend(design.accel)
    if name == "pynq":
        if design.bitfile is None:
            raise BackendUnavailable(
                "the pynq backend needs a deploy package with a bitstream "
                "(bitstreams/<name>/<name>.bit); assemble one with `edgemoe package`, or use "
                "--backend golden|csim for a compiled design")
        try:
            from .pynq_backend import PynqBackend
        except ImportError as exc:
            raise BackendUnavailable(f"the pynq backend needs the pynq package ({exc}): run on "
                                     "a PYNQ board or `pip install edgemoe[board]`") from None
        return PynqBackend(design.bitfile, **options)
    raise ValueError(f"unknown backend {name!r}: use one of {', '.join(BACKENDS)}")
