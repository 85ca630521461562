"""A pynq device simulated in numpy, for testing the pynq backend off-board.

:class:`FakeDevice` subclasses ``pynq.Device`` and is passed as ``device=`` to pynq's real
``Overlay``, ``allocate`` and DefaultIP classes:

* **metadata**: the ``.hwh`` beside the bitstream is parsed by pynq's own runtime parser
  (pynqmetadata); our IP's register offsets come from it.
* **registers**: ``mmap`` returns a numpy window whose reads and writes reach the device
  model: writing ap_start runs the golden executor on the fake DDR, ap_done is set after
  ``done_after_polls`` CTRL reads and clears on read.
* **DDR with a cache**: ``allocate`` returns real ``PynqBuffer`` objects whose host array is
  separate from the device-side DDR array; ``flush`` copies host -> DDR and ``invalidate``
  DDR -> host, so a missing flush or invalidate shows up as wrong data.
* **allocator**: buffers are returned through pynq's ``freebuffer`` path and tracked in
  :attr:`FakeDevice.live_buffers`.

Faults: ``config_id`` (a bitstream of another design point), ``hang`` (ap_done never
set), ``interrupt_after_polls`` (KeyboardInterrupt raised on that CTRL read), and
``error_at`` (status error code reported for an instruction).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from pynq.buffer import PynqBuffer
from pynq.pl_server.device import Device
from pynqmetadata.frontends import Metadata
from pynqmetadata.views.runtime import RuntimeMetadataParser

from ..golden import execute as golden_execute
from ..isa import Err
from ..layout import STATUS_BYTES
from .registers import (
    AP_DONE,
    AP_IDLE,
    AP_READY,
    AP_START,
    AUTO_RESTART,
    PORT_INPUTS,
    VLNV,
    WIDE_INPUTS,
)

log = logging.getLogger(__name__)

PAGE = 4096


class _RegisterWindow(np.ndarray):
    """uint32 register window; element reads/writes are reported to the device model."""

    def __array_finalize__(self, obj) -> None:
        self._device = getattr(obj, "_device", None)
        self._window_base = getattr(obj, "_window_base", 0)
        self._window_ptr = getattr(obj, "_window_ptr", 0)

    def _addr(self, key) -> int | None:
        if self._device is None or not isinstance(key, (int, np.integer)) or key < 0:
            return None
        ptr = self.__array_interface__["data"][0]
        return self._window_base + ptr - self._window_ptr + int(key) * self.itemsize

    def __getitem__(self, key):
        addr = self._addr(key)
        if addr is None:
            return super().__getitem__(key)
        self._device._before_read(addr)
        value = super().__getitem__(key)
        self._device._after_read(addr)
        return value

    def __setitem__(self, key, value) -> None:
        super().__setitem__(key, value)
        addr = self._addr(key)
        if addr is not None:
            self._device._after_write(addr, self.itemsize)


@dataclass
class _Allocation:
    handle: int
    address: int
    host: np.ndarray  # what the CPU sees (its cache)
    ddr: np.ndarray  # what the device sees
    live: bool = True
    buffer: object = None  # kept referenced: only an explicit free releases it


class FakeDevice(Device):
    """A numpy model of a PYNQ board running one ``edgemoe_top`` IP.

    Args:
        accel: Design point the fake bitstream implements (drives the golden executor).
        config_id: Value of the config_id register (default ``accel.config_id_int``).
        latch_config_id: The register reads 0 until the first run, as the HLS top's
            output does (False: a constant from programming on, as an RTL top may do).
        hang: ap_start never completes.
        done_after_polls: CTRL reads after which a started run reports ap_done.
        interrupt_after_polls: Raise KeyboardInterrupt on that CTRL read while running.
        error_at: (instruction index, error code) to report instead of running.
        ddr_base: Physical address of the first allocation (above 4 GiB by default, so
            the high word of the 64-bit pointer matters).
    """

    #: Profile cycles come from the golden cycle model, not a hardware counter.
    cycles_source = "modelled"

    def __init__(self, accel, *, config_id: int | None = None, latch_config_id: bool = True,
                 hang: bool = False, done_after_polls: int = 2,
                 interrupt_after_polls: int | None = None,
                 error_at: tuple[int, int] | None = None,
                 ddr_base: int = 0x8_1000_0000) -> None:
        super().__init__("fake_edgemoe")
        self.name = "fake_edgemoe"
        self.capabilities = {"MEMORY_MAPPED": True, "REGISTER_RW": False, "CALLABLE": False}
        self.accel = accel
        self.config_id_value = accel.config_id_int if config_id is None else int(config_id)
        self.latch_config_id = latch_config_id
        self.hang = hang
        self.done_after_polls = max(1, int(done_after_polls))
        self.interrupt_after_polls = interrupt_after_polls
        self.error_at = error_at
        self._next_address = ddr_base
        self._allocs: dict[int, _Allocation] = {}
        self._windows: dict[int, np.ndarray] = {}
        self._ip_base: int | None = None
        self._offsets: dict[str, int] = {}
        self._countdown = 0
        self._running = False
        self.downloads: list[str] = []
        self.runs = 0
        self.ctrl_reads = 0
        self.flushes = 0
        self.invalidates = 0
        self.timestamp = ""
        self.bitfile_name = ""

    # -- metadata and download -------------------------------------------------------------
    def get_bitfile_metadata(self, bitfile_name: str) -> RuntimeMetadataParser:
        """Parse the ``.hwh`` beside the bitstream with pynq's runtime metadata parser."""
        hwh = Path(bitfile_name).with_suffix(".hwh")
        parser = RuntimeMetadataParser(Metadata(input=hwh))
        parser.clock_dict = {}  # no PS clock registers to program on a fake board
        ours = [d for d in parser.ip_dict.values() if d.get("type") == VLNV]
        if ours:
            ip = ours[0]
            self._ip_base = int(ip["phys_addr"])
            self._offsets = {k: int(v["address_offset"]) for k, v in ip["registers"].items()}
        return parser

    def download(self, bitstream, parser=None) -> None:
        """'Program' the fake PL: reset the IP registers to idle."""
        self.downloads.append(str(bitstream.bitfile_name))
        for window in self._windows.values():
            np.ndarray.__setitem__(window, slice(None), 0)
        self._reset_ip()
        self.post_download(bitstream, parser, self.name)

    # -- registers -------------------------------------------------------------------------
    def mmap(self, base_addr: int, length: int) -> np.ndarray:
        """A register window; the IP's window is shared by every MMIO on it."""
        if base_addr not in self._windows:
            arr = np.zeros(max(length, 4) // 4, dtype=np.uint32).view(_RegisterWindow)
            arr._device, arr._window_base = self, base_addr
            arr._window_ptr = arr.__array_interface__["data"][0]
            self._windows[base_addr] = arr
            if base_addr == self._ip_base:
                self._reset_ip()
        return self._windows[base_addr]

    def _reset_ip(self) -> None:
        self._running = False
        self._poke("CTRL", AP_IDLE)
        if not self.latch_config_id:
            self._poke("config_id", self.config_id_value)

    def _word(self, name: str) -> int:
        return int(np.ndarray.__getitem__(self._windows[self._ip_base], self._offsets[name] // 4))

    def _poke(self, name: str, value: int) -> None:
        if self._ip_base in self._windows and name in self._offsets:
            np.ndarray.__setitem__(self._windows[self._ip_base], self._offsets[name] // 4,
                                   np.uint32(value & 0xFFFF_FFFF))

    def _is_ctrl(self, addr: int) -> bool:
        return self._ip_base is not None and addr == self._ip_base + self._offsets.get("CTRL", 0)

    def _before_read(self, addr: int) -> None:
        if not self._is_ctrl(addr):
            return
        self.ctrl_reads += 1
        ctrl = self._word("CTRL")
        if ctrl & AP_START and not self.hang:
            if self.interrupt_after_polls is not None:
                self.interrupt_after_polls -= 1
                if self.interrupt_after_polls <= 0:
                    self.interrupt_after_polls = None
                    raise KeyboardInterrupt("fake Ctrl-C while polling")
            self._countdown -= 1
            if self._countdown <= 0:
                self._running = False
                self._poke("CTRL", (ctrl & AUTO_RESTART) | AP_DONE | AP_IDLE | AP_READY)

    def _after_read(self, addr: int) -> None:
        if self._is_ctrl(addr):  # ap_done is clear-on-read
            self._poke("CTRL", self._word("CTRL") & ~AP_DONE)

    def _after_write(self, addr: int, nbytes: int) -> None:
        if not self._is_ctrl(addr):
            return
        written = self._word("CTRL")
        if self._running:  # writes cannot stop a running kernel
            self._poke("CTRL", AP_START | (written & AUTO_RESTART))
        elif written & AP_START:
            self._running = True
            self._poke("CTRL", (written & (AP_START | AUTO_RESTART)))  # running: idle clear
            self._start()
        else:
            self._poke("CTRL", (written & AUTO_RESTART) | AP_IDLE)

    def _arg(self, name: str) -> int:
        wide = name in WIDE_INPUTS or name in PORT_INPUTS
        if wide and name not in self._offsets:
            return self._word(f"{name}_1") | (self._word(f"{name}_2") << 32)
        if wide:  # one 64-bit register: two consecutive words
            return self._word(name) | (int(np.ndarray.__getitem__(
                self._windows[self._ip_base], self._offsets[name] // 4 + 1)) << 32)
        return self._word(name)

    def _has_register(self, name: str) -> bool:
        return name in self._offsets or f"{name}_1" in self._offsets

    def _start(self) -> None:
        self.runs += 1
        self._countdown = self.done_after_polls
        if self.hang:
            return
        status_offset = self._arg("status_offset")
        memory = self.ddr_view(self._arg("mem"))
        if memory is not None:
            memory = memory[:self._arg("mem_bytes")]
        if memory is None:
            log.error("fake device: mem=%#x is not an allocated buffer", self._arg("mem"))
            self._poke("status", int(Err.OUT_OF_RANGE))
            return
        # the HLS top reads weights/activations through its other ports: one image behind all
        stray = [p for p in PORT_INPUTS if self._has_register(p) and self._arg(p) != self._arg("mem")]
        if stray:
            log.error("fake device: port(s) %s do not point at mem=%#x", ", ".join(stray),
                      self._arg("mem"))
            self._poke("status", int(Err.OUT_OF_RANGE))
            return
        if self.error_at is not None:
            index, code = self.error_at
            words = np.array([code, index, index, self.config_id_value], dtype="<u4")
            memory[status_offset:status_offset + 16] = words.view(np.uint8)
            err = code
        else:
            err = golden_execute(memory, self.accel, self._arg("program_offset"),
                                 self._arg("n_instructions"), self._arg("task"), status_offset)
            if status_offset + STATUS_BYTES <= memory.size:  # this bitstream's constant
                memory[status_offset + 12:status_offset + 16] = np.array(
                    [self.config_id_value], dtype="<u4").view(np.uint8)
        self._poke("status", err)
        self._poke("config_id", self.config_id_value)

    def ip_window(self) -> np.ndarray | None:
        """The IP's register words (plain uint32 view, for inspection in tests)."""
        win = self._windows.get(self._ip_base)
        return None if win is None else win.view(np.ndarray)

    # -- memory ----------------------------------------------------------------------------
    def allocate(self, shape, dtype, **kwargs) -> PynqBuffer:
        """A PynqBuffer over a new host array mirrored by a separate DDR array."""
        dtype = np.dtype(dtype)
        count = int(np.prod(shape))
        nbytes = count * dtype.itemsize
        handle = len(self._allocs) + 1
        host = np.zeros(nbytes, dtype=np.uint8)
        alloc = _Allocation(handle, self._next_address, host, np.zeros(nbytes, dtype=np.uint8))
        self._allocs[handle] = alloc
        self._next_address += -(-max(nbytes, 1) // PAGE) * PAGE
        buf = PynqBuffer(shape, dtype, buffer=host, device=self, device_address=alloc.address,
                         bo=handle, coherent=False)
        buf.memory = self
        buf.pointer = (handle, None, alloc.address)
        buf.return_to = self
        alloc.buffer = buf
        return buf

    def return_pointer(self, pointer) -> None:
        """Called by ``PynqBuffer.freebuffer``."""
        alloc = self._allocs[pointer[0]]
        alloc.live = False
        alloc.buffer.freed = True  # pynq would munmap on a later __del__ otherwise

    @property
    def live_buffers(self) -> list[int]:
        """Handles of allocated buffers not freed yet."""
        return [a.handle for a in self._allocs.values() if a.live]

    @property
    def allocations(self) -> int:
        """Buffers allocated so far."""
        return len(self._allocs)

    def flush(self, bo, offset, vaddr, nbytes) -> None:
        """Write the CPU's view of ``[offset, offset + nbytes)`` back to DDR."""
        a = self._allocs[bo]
        a.ddr[offset:offset + nbytes] = a.host[offset:offset + nbytes]
        self.flushes += 1

    def invalidate(self, bo, offset, vaddr, nbytes) -> None:
        """Drop the CPU's view of ``[offset, offset + nbytes)``: re-read it from DDR."""
        a = self._allocs[bo]
        a.host[offset:offset + nbytes] = a.ddr[offset:offset + nbytes]
        self.invalidates += 1

    def ddr_view(self, address: int) -> np.ndarray | None:
        """Device-side DDR bytes from ``address`` to the end of its allocation."""
        for a in self._allocs.values():
            if a.live and a.address <= address < a.address + a.ddr.size:
                return a.ddr[address - a.address:]
        return None


def make_fake_package(compiled, accel, root: str | Path, name: str = "fake",
                      layout=None) -> Path:
    """A deploy package ``root/bitstreams/<name>`` with a placeholder bitstream and our
    own ``.hwh`` (register ``layout`` as for :func:`edgemoe.host.hwh.hwh_xml`)."""
    from .hwh import write_hwh
    from .package import make_package

    root = Path(root)
    design = compiled.save(root / f"{name}_design")
    (root / f"{name}.bit").write_bytes(b"\xff" * 64 + name.encode())
    write_hwh(root / f"{name}.hwh", layout, clock_mhz=accel.clock_mhz)
    return make_package(root / f"{name}.bit", root / f"{name}.hwh", design,
                        root / "bitstreams" / name, accel=accel)
