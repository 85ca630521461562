"""`Accelerator`: open a design, place its weights once, run images, decode outputs."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, fields
from typing import Any

import numpy as np

from ..compiler.io import prediction, read_output, write_pixels
from ..compiler.taps import QUEUE_FORMAT, read_taps
from ..golden import status_words
from ..isa import Err, Op
from ..layout import PROFILE_ENTRY_BYTES, STATUS_BYTES
from ..models import image_to_pixels, resize_image
from ..models.images import match_channels
from ..params.fixed import FixedType
from .backends import Backend, make_backend
from .design import Design, open_design
from .errors import ConfigIdMismatch, DeviceError, DeviceTimeout, HostError
from .profile import Profile

log = logging.getLogger(__name__)

#: What to do about each device error code.
_HINTS = {
    Err.BAD_OPCODE: "the memory image holds no valid program there; re-place the image",
    Err.OP_NOT_BUILT: "the program uses an op this bitstream does not build; compile the model "
                      "for the design point the bitstream was built from",
    Err.OUT_OF_RANGE: "an operand lies outside the memory image; the image does not belong "
                      "to this program",
    Err.BAD_SHAPE: "a shape exceeds the design point's buffers; compile for this design point",
    Err.MISALIGNED: "an operand offset is not 64-byte aligned; the program is corrupt",
    Err.BAD_FLAGS: "the instruction has flags this hardware does not know; recompile",
    Err.BAD_QUEUE: "the MoE expert queues are inconsistent; recompile the model",
    Err.BAD_PROGRAM: "the program/status offsets or the task index are invalid",
    Err.OVERLAP: "an instruction writes over part of one of its own operands; the program is "
                 "corrupt or hand-written with overlapping buffers: recompile",
}


def _tap_bytes(spec: dict) -> int:
    """Bytes of a tap (int32 queue words or activations)."""
    return 4 * int(np.prod(spec["shape"])) if spec["format"] == QUEUE_FORMAT else _nbytes(spec)


def _op_name(code: int) -> str:
    """The opcode's name, or ``opcode <n>`` for a byte no op has (a corrupt program)."""
    try:
        return Op(code).name
    except ValueError:
        return f"opcode {code}"


def _nbytes(spec: dict) -> int:
    """Bytes of a manifest tensor (shape x storage size of its format)."""
    fmt = FixedType.parse(spec["format"])
    return int(np.prod(spec["shape"])) * np.dtype(fmt.storage_dtype).itemsize


class Result(dict):
    """The outputs of one image: task name -> float64 output ``(H, W, C)``.

    Attributes:
        predictions: Task name -> decoded map (segmentation class ids, or depth).
        profiles: Task name -> :class:`~edgemoe.host.profile.Profile` of that run.
        taps: Task name -> tap name -> intermediate tensor (empty unless the program was
            compiled with taps, see :mod:`edgemoe.compiler.taps`).
    """

    def __init__(self, outputs: dict[str, np.ndarray], predictions: dict[str, np.ndarray],
                 profiles: dict[str, Profile],
                 taps: dict[str, dict[str, np.ndarray]] | None = None) -> None:
        super().__init__(outputs)
        self.predictions = predictions
        self.profiles = profiles
        self.taps = taps or {}


@dataclass
class HostTimings:
    """Seconds spent per phase of :meth:`Accelerator.run`, accumulated over calls."""

    pack: float = 0.0
    sync: float = 0.0
    compute: float = 0.0
    decode: float = 0.0
    runs: int = 0
    images: int = 0

    @property
    def host(self) -> float:
        """Host overhead: packing, cache sync and decoding."""
        return self.pack + self.sync + self.decode

    def reset(self) -> None:
        for f in fields(self):
            setattr(self, f.name, type(getattr(self, f.name))())


class Accelerator:
    """A model program placed on an executor.

    Args:
        source: Deploy package directory, compiled design directory or Compiled object.
        backend: ``golden``, ``csim``, ``pynq`` or a :class:`~edgemoe.host.backends.Backend`.
        accel: Design point override (object, name or YAML path).
        **backend_options: pynq backend: ``device``, ``download``, ``timeout_s``, ``overlay``.

    Raises:
        PackageError: The source is incomplete or inconsistent.
        ConfigIdMismatch: Design point, manifest and device disagree on config_id.
        BackendUnavailable: The backend cannot run here.

    The device buffers are freed by :meth:`close` (or leaving a ``with`` block), when
    construction fails, and when a run is interrupted or times out.
    """

    def __init__(self, source: Any, backend: str | Backend = "golden", *,
                 accel: Any = None, **backend_options: Any) -> None:
        self.design: Design = open_design(source, accel)
        self.backend: Backend = (make_backend(backend, self.design, **backend_options)
                                 if isinstance(backend, str) else backend)
        self.timings = HostTimings()
        self._closed = False
        self._expected_id = int(self.design.config_id, 16)
        try:
            self.backend.load(self.design.image)
            device_id = int(self.backend.device_config_id(self.design.status_offset))
            if device_id != self._expected_id:
                raise ConfigIdMismatch(
                    f"the {self.backend.name} device reports config_id {device_id:08x} but the "
                    f"program needs {self.design.config_id} (design point "
                    f"{self.design.accel.name!r}): the loaded bitstream was built for another "
                    "design point; load the package's own bitstream or recompile the model")
        except BaseException:
            self.close()
            raise
        log.info("%s on %s: %d instructions, tasks %s", self.design.manifest["model"],
                 self.backend.name, self.design.n_instructions, ", ".join(self.design.tasks))

    # -- context -----------------------------------------------------------------------------
    def __enter__(self) -> Accelerator:  # noqa: PYI034 - Self needs Python 3.11
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Free the device memory (idempotent)."""
        self._closed = True
        self.backend.close()

    @property
    def tasks(self) -> tuple[str, ...]:
        return self.design.tasks

    # -- inputs ------------------------------------------------------------------------------
    def prepare(self, image: np.ndarray) -> np.ndarray:
        """Planar uint8 pixels of the model's input size from an RGB/planar uint8 image."""
        image = np.asarray(image)
        if image.dtype == np.uint8 and image.shape == tuple(self.design.input_shape):
            return image  # already the model's planar input (any channel count: digits)
        pixels = image_to_pixels(image)
        c, h, w = self.design.input_shape
        if pixels.shape[1:] != (h, w):
            log.debug("resizing %s to %dx%d", pixels.shape[1:], h, w)
            pixels = resize_image(pixels, h, w)
        return match_channels(pixels, c)

    def _task_list(self, task: str) -> list[str]:
        if task == "all":
            return list(self.design.tasks)
        if task not in self.design.tasks:
            raise ValueError(f"unknown task {task!r}: this model has "
                             f"{', '.join(self.design.tasks)} (or 'all')")
        return [task]

    # -- running -----------------------------------------------------------------------------
    def run(self, images: Iterable[np.ndarray] | np.ndarray, task: str = "seg",
            progress: bool | Callable[[Iterable], Iterable] = False) -> list[Result]:
        """Run every image through the model.

        Args:
            images: One image ``(H, W, 3)``/``(3, H, W)`` uint8, a 4-D batch, or an iterable.
            task: A task name or ``"all"``.
            progress: True for a tqdm bar, or a wrapper such as ``tqdm.tqdm``.

        Returns:
            One :class:`Result` per image (task -> float ``(H, W, C)`` output).

        Raises:
            DeviceError: The device reported an error (code and failing instruction).
            DeviceTimeout: A run did not finish. The accelerator is closed and its buffer
                freed; open a new one, which downloads the bitstream again and so resets
                the kernel before the memory is reused.
            ConfigIdMismatch: The status block reports another config_id.
        """
        if self._closed:
            raise HostError("the accelerator is closed: open a new one")
        tasks = self._task_list(task)
        if isinstance(images, np.ndarray) and images.ndim == 3:
            images = [images]
        seq: Iterable = images
        if progress is True:
            try:
                from tqdm import tqdm
                seq = tqdm(images, desc="images", unit="img")
            except ImportError:
                pass
        elif callable(progress):
            seq = progress(images)
        results = []
        try:
            for image in seq:
                results.append(self._run_image(self.prepare(image), tasks))
        except (KeyboardInterrupt, DeviceTimeout):
            log.warning("run aborted: freeing the device memory; open a new Accelerator")
            self.close()
            raise
        return results

    def _run_image(self, pixels: np.ndarray, tasks: list[str]) -> Result:
        d, be, tm = self.design, self.backend, self.timings
        mem = be.memory
        spec_in = d.manifest["inputs"]["pixels"]
        t0 = time.perf_counter()
        write_pixels(mem, d.manifest, pixels)
        t1 = time.perf_counter()
        be.sync_to_device(spec_in["offset"], _nbytes(spec_in))
        tm.pack += t1 - t0
        tm.sync += time.perf_counter() - t1
        outputs, preds, profiles, taps = {}, {}, {}, {}
        tap_specs = d.manifest["taps"].get("tensors", {})
        status_bytes = STATUS_BYTES + d.n_instructions * PROFILE_ENTRY_BYTES
        for name in tasks:
            spec = d.manifest["outputs"][name]
            index = int(spec["task_index"])
            t0 = time.perf_counter()
            err = be.execute(d.program_offset, d.n_instructions, index, d.status_offset)
            t1 = time.perf_counter()
            be.sync_from_device(d.status_offset, status_bytes)
            be.sync_from_device(spec["offset"], _nbytes(spec))
            t2 = time.perf_counter()
            self._check_status(err, name)
            outputs[name] = read_output(mem, d.manifest, name)
            preds[name] = prediction(outputs[name], name)
            profiles[name] = Profile.from_memory(mem, d.status_offset, d.instrs, d.names, name,
                                                 index, d.accel.clock_mhz,
                                                 getattr(be, "cycles_source", "modelled"))
            if tap_specs:
                for spec in tap_specs.values():
                    be.sync_from_device(spec["offset"], _tap_bytes(spec))
                taps[name] = read_taps(mem, d.manifest, index)
            tm.compute += t1 - t0
            tm.sync += t2 - t1
            tm.decode += time.perf_counter() - t2
            tm.runs += 1
        tm.images += 1
        return Result(outputs, preds, profiles, taps)

    def _check_status(self, err: int, task: str) -> None:
        d = self.design
        st = status_words(self.backend.memory, d.status_offset)
        code = st["error"] or int(err)
        if code:
            index = st["index"]
            name = d.names[index] if 0 <= index < len(d.names) else "?"
            op = _op_name(d.instrs[index].op) if 0 <= index < len(d.instrs) else "?"
            try:
                kind = Err(code)
                label, hint = kind.name, _HINTS.get(kind, "")
            except ValueError:
                label, hint = f"unknown error {code}", "the device reported an unknown code"
            raise DeviceError(f"the {self.backend.name} device reported {label} (code {code}) "
                              f"at instruction {index} ({name}, {op}) running task {task}: {hint}",
                              code, index, name)
        if st["executed"] != d.n_instructions:
            raise DeviceError(f"the device executed {st['executed']} of {d.n_instructions} "
                              f"instructions of task {task} without an error code: the status "
                              "block is stale (missing cache invalidate?) or the kernel stopped",
                              0, st["executed"])
        if st["config_id"] != self._expected_id:
            raise ConfigIdMismatch(f"the status block reports config_id {st['config_id']:08x} "
                                   f"but the program needs {d.config_id}: load the package's "
                                   "own bitstream")

    def __repr__(self) -> str:
        return (f"Accelerator({self.design.manifest['model']!r} on {self.backend.name}, "
                f"config_id {self.design.config_id})")
