"""The pynq backend: Overlay + one CMA buffer for the memory image + the EdgeMoeIP driver."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
from pynq import Overlay, allocate

from ..golden import status_words
from .errors import BackendUnavailable, HostError, PackageError
from .pynq_driver import EdgeMoeIP, check_timeout
from .registers import TOP_NAME, VLNV

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT_S = 30.0


def find_ip(overlay) -> EdgeMoeIP:
    """The single ``edgemoe_top`` driver of an overlay.

    Raises:
        PackageError: The overlay has no (or several) IPs of our VLNV.
    """
    ours = [name for name, d in overlay.ip_dict.items() if d.get("type") == VLNV]
    if len(ours) != 1:
        similar = [f"{n} ({d.get('type')})" for n, d in overlay.ip_dict.items()
                   if TOP_NAME in str(d.get("type"))]
        found = ", ".join(similar or [f"{n} ({d.get('type')})" for n, d in overlay.ip_dict.items()])
        raise PackageError(f"the overlay has {len(ours)} IPs of type {VLNV} (found: {found}): "
                           "package the bitstream built from this edgemoe design")
    ip = getattr(overlay, ours[0].replace("/", "."))
    if not isinstance(ip, EdgeMoeIP):
        raise HostError(f"{ours[0]} is bound to {type(ip).__name__}, not EdgeMoeIP: another "
                        f"driver claims {VLNV}")
    return ip


class PynqBackend:
    """Runs programs on the FPGA through pynq.

    Args:
        bitfile: ``<name>.bit`` (its ``.hwh`` beside it).
        device: pynq device (default: the active device; tests pass a fake one).
        download: Program the bitstream (False when it is already loaded).
        timeout_s: Longest wait for one run.
        overlay: An already opened Overlay to use instead of opening ``bitfile``.
    """

    name = "pynq"

    def __init__(self, bitfile: str | Path, *, device=None, download: bool = True,
                 timeout_s: float = DEFAULT_TIMEOUT_S, overlay=None) -> None:
        self.timeout_s = check_timeout(timeout_s)
        self._device = device
        #: Where the profile's cycles come from: the IP's hardware counter on a board.
        self.cycles_source: str = getattr(device, "cycles_source", "measured")
        if overlay is None:
            try:
                overlay = Overlay(str(bitfile), download=download, device=device)
            except RuntimeError as exc:
                if "No Devices Found" not in str(exc):
                    raise
                raise BackendUnavailable(
                    "pynq found no FPGA device: run on a PYNQ board as root (sudo), or use "
                    "--backend golden|csim off-board") from None
        self.overlay = overlay
        self.ip = find_ip(self.overlay)
        self._buf = None

    def load(self, image: np.ndarray) -> None:
        """Allocate one CMA buffer, copy the image in, flush it and point ``mem`` at it."""
        if self._buf is not None:
            raise HostError("the memory image is already placed: weights are loaded once")
        buf = allocate(shape=(image.size,), dtype=np.uint8, target=self._device)
        try:
            buf[:] = image
            buf.flush()
            self.ip.set_memory(int(buf.device_address), image.size)
        except BaseException:
            buf.freebuffer()
            raise
        self._buf = buf
        log.info("placed %d-byte memory image at %#x", image.size, buf.device_address)

    @property
    def memory(self) -> np.ndarray:
        if self._buf is None:
            raise HostError("pynq backend has no buffer: call load() first (or it was closed)")
        return self._buf

    def sync_to_device(self, offset: int, nbytes: int) -> None:
        if nbytes:
            self.memory[offset:offset + nbytes].flush()

    def sync_from_device(self, offset: int, nbytes: int) -> None:
        if nbytes:
            self.memory[offset:offset + nbytes].invalidate()

    def execute(self, program_offset: int, n_instructions: int, task: int,
                status_offset: int) -> int:
        self.memory  # noqa: B018 - raises when not loaded
        return self.ip.run(program_offset, n_instructions, task, status_offset, self.timeout_s)

    def device_config_id(self, status_offset: int) -> int:
        """The config_id register; an empty probe run first when it still reads 0.

        HLS output registers are written by the kernel, so a freshly loaded bitstream reads
        0 until its first run; running zero instructions only writes the status block.
        """
        value = self.ip.config_id
        if value == 0:
            self.execute(0, 0, 0, status_offset)
            self.sync_from_device(status_offset, 64)
            value = self.ip.config_id or status_words(self.memory, status_offset)["config_id"]
        return value

    def close(self) -> None:
        """Free the CMA buffer (idempotent)."""
        buf, self._buf = self._buf, None
        if buf is not None:
            buf.freebuffer()
            log.debug("freed the memory image buffer")
