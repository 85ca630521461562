"""Exceptions of the host runtime. Each message names the problem and the fix."""

from __future__ import annotations


class HostError(RuntimeError):
    """Base class of every host-runtime error."""


class PackageError(HostError, ValueError):
    """A deploy package or design directory is incomplete or inconsistent."""


class ConfigIdMismatch(HostError):
    """The design point, the manifest and the device disagree on ``config_id``."""


class DeviceTimeout(HostError, TimeoutError):
    """The kernel did not report ap_done within the timeout."""


class DeviceError(HostError):
    """The device finished with an error code in its status block.

    Attributes:
        code: Error code (:class:`edgemoe.isa.Err`).
        index: Index of the failing instruction.
        instruction: Name of the failing instruction ("" when unknown).
    """

    def __init__(self, message: str, code: int, index: int, instruction: str = "") -> None:
        super().__init__(message)
        self.code = code
        self.index = index
        self.instruction = instruction


class BackendUnavailable(HostError):
    """The requested backend cannot run here (missing tool, module or board)."""


class OutputError(HostError, ValueError):
    """An output folder cannot be written safely (foreign files, an earlier run, an input)."""
