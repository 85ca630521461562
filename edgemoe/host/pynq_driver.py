"""pynq driver of the ``edgemoe_top`` IP: a DefaultIP subclass bound to our VLNV.

Importing this module registers :class:`EdgeMoeIP` with pynq, so ``Overlay(...)`` returns
it for every IP of type :data:`~edgemoe.host.registers.VLNV`.  Arguments and CTRL are
written by name through ``register_map`` (offsets from the ``.hwh``); completion is
polled with exactly one CTRL read per iteration because ap_done clears on read.

Only public pynq API present in pynq 3.0 and 4.x is used: the IP description dict,
``DefaultIP.mmio`` / ``register_map`` and ``RegisterMap.create_subclass``; register names
are taken from the description (the ``.hwh``), never from pynq's private attributes.
"""

from __future__ import annotations

import logging
import math
import time
from typing import ClassVar

from pynq import DefaultIP
from pynq.registers import RegisterMap

from .errors import DeviceTimeout, HostError
from .registers import (
    AP_DONE,
    AP_IDLE,
    AP_START,
    PORT_INPUTS,
    SCALAR_INPUTS,
    VLNV,
    default_layout,
    layout_as_ip_registers,
    missing_registers,
)

log = logging.getLogger(__name__)


def describe_ctrl(ctrl: int) -> str:
    """Human-readable CTRL bits, e.g. ``0x1 (ap_start)``."""
    names = [n for bit, n in ((AP_START, "ap_start"), (AP_DONE, "ap_done"), (AP_IDLE, "ap_idle"),
                              (1 << 3, "ap_ready"), (1 << 7, "auto_restart")) if ctrl & bit]
    return f"{ctrl:#x} ({', '.join(names) or 'no bits set'})"


def check_timeout(timeout_s: float) -> float:
    """``timeout_s`` as a float when it is finite and > 0.

    Raises:
        ValueError: NaN (every comparison with it is false: the wait would never end),
            infinite, zero or negative.
    """
    try:
        value = float(timeout_s)
    except (TypeError, ValueError):
        raise ValueError(f"timeout_s={timeout_s!r} is not a number of seconds") from None
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f"timeout_s={timeout_s!r} must be a finite number of seconds > 0, "
                         "e.g. 30")
    return value


class EdgeMoeIP(DefaultIP):
    """Driver of one ``edgemoe_top`` instance.

    Attributes:
        polls: CTRL reads made by the last :meth:`wait`.
    """

    bindto: ClassVar[list[str]] = [VLNV]

    def __init__(self, description: dict) -> None:
        super().__init__(description)
        self.polls = 0
        registers = description.get("registers") or {}
        if not registers:
            log.warning("IP %s has no register description (no .hwh?): using the computed "
                        "Vitis HLS register layout", description.get("fullpath", "?"))
            registers = layout_as_ip_registers(default_layout())
            self._regs = RegisterMap.create_subclass("edgemoe_top", registers)(self.mmio.array)
        else:
            self._regs = self.register_map
        #: Register names of this IP (from its description).
        self.register_names = frozenset(registers)
        missing = missing_registers(set(self.register_names))
        if missing:
            raise HostError(f"IP {description.get('fullpath', '?')} lacks registers "
                            f"{', '.join(missing)}: the bitstream's HLS top does not match this "
                            "runtime; rebuild the bitstream from the same edgemoe version")

    # -- registers -------------------------------------------------------------------------
    def _set(self, name: str, value: int) -> None:
        setattr(self._regs, name, int(value))

    def _set_wide(self, name: str, value: int) -> None:
        if name in self.register_names:
            self._set(name, value)
        else:
            self._set(f"{name}_1", value & 0xFFFF_FFFF)
            self._set(f"{name}_2", value >> 32)

    def set_memory(self, address: int, nbytes: int) -> None:
        """Write the 64-bit base address and size (``mem_bytes``) of the image: the base
        goes into ``mem`` and into every other m_axi port register the IP has (``wmem``,
        ``xmem``, ``ymem`` on the HLS top): one memory image behind every port."""
        self._set_wide("mem", address)
        for port in PORT_INPUTS:
            if port in self.register_names or f"{port}_1" in self.register_names:
                self._set_wide(port, address)
        self._set_wide("mem_bytes", nbytes)

    @property
    def ctrl(self) -> int:
        """One read of CTRL (clears ap_done)."""
        return int(self._regs.CTRL)

    @property
    def config_id(self) -> int:
        """The read-only ``config_id`` register (0 before the first run on HLS builds)."""
        return int(self._regs.config_id)

    @property
    def status(self) -> int:
        """The ``status`` register: the error code of the last run."""
        return int(self._regs.status)

    # -- control ---------------------------------------------------------------------------
    def start(self, program_offset: int, n_instructions: int, task: int,
              status_offset: int) -> None:
        """Write the scalar arguments, then ap_start (the memory pointer is set separately).

        Raises:
            HostError: The kernel is still running a previous program.
        """
        ctrl = self.ctrl
        if ctrl & AP_START or not ctrl & AP_IDLE:
            raise HostError(f"edgemoe_top is busy (CTRL={describe_ctrl(ctrl)}): a previous run "
                            "has not finished; wait for it or reload the overlay")
        args = {"program_offset": program_offset, "n_instructions": n_instructions,
                "task": task, "status_offset": status_offset}
        for name in SCALAR_INPUTS:
            self._set(name, args[name])
        self._regs.CTRL = AP_START

    def wait(self, timeout_s: float) -> int:
        """Poll CTRL until the run ends; returns the number of polls.

        One CTRL read per iteration: ap_done clears on read, so every bit is tested from
        that single value.  ap_idle with ap_start clear also counts as finished (in case
        another reader consumed ap_done).

        Raises:
            DeviceTimeout: Not finished within ``timeout_s`` seconds.
        """
        deadline = time.monotonic() + check_timeout(timeout_s)
        self.polls = 0
        pause = 0.0
        while True:
            ctrl = self.ctrl
            self.polls += 1
            if ctrl & AP_DONE or (ctrl & AP_IDLE and not ctrl & AP_START):
                return self.polls
            if time.monotonic() > deadline:
                raise DeviceTimeout(
                    f"edgemoe_top did not finish within {timeout_s:g} s ({self.polls} polls, "
                    f"last CTRL={describe_ctrl(ctrl)}): the kernel hangs or its clock is "
                    "stopped; reload the overlay, and raise timeout_s only if the model is "
                    "known to take longer")
            if self.polls > 64:  # short kernels finish in the first polls; then back off
                pause = min(1e-3, pause * 2 or 1e-5)
                time.sleep(pause)

    def run(self, program_offset: int, n_instructions: int, task: int, status_offset: int,
            timeout_s: float) -> int:
        """Start, wait and return the ``status`` register."""
        self.start(program_offset, n_instructions, task, status_offset)
        self.wait(timeout_s)
        return self.status
