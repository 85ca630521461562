"""Hand-built programs for op-level tests: a zeroed image, data at chosen offsets."""

from __future__ import annotations

import numpy as np

from edgemoe.golden import execute, status_words
from edgemoe.isa import encode_bytes
from edgemoe.layout import PROFILE_ENTRY_BYTES, PROFILE_FIELDS, STATUS_BYTES


class Scratch:
    """A memory image with a bump allocator; the status block sits at offset 0."""

    def __init__(self, accel, size: int = 1 << 20, max_instrs: int = 16):
        self.accel = accel
        self.image = np.zeros(size, np.uint8)
        self.program = STATUS_BYTES + max_instrs * PROFILE_ENTRY_BYTES
        self.top = self.program + max_instrs * 64

    def alloc(self, nbytes: int) -> int:
        off = self.top
        self.top += -(-nbytes // 64) * 64
        assert self.top <= self.image.size
        return off

    def put(self, data: np.ndarray) -> int:
        raw = np.ascontiguousarray(data).view(np.uint8).reshape(-1)
        off = self.alloc(raw.size)
        self.image[off:off + raw.size] = raw
        return off

    def put_raw(self, raw: np.ndarray, fmt) -> int:
        return self.put(np.asarray(raw).astype(fmt.storage_dtype))

    def get_raw(self, off: int, count: int, fmt) -> np.ndarray:
        dt = np.dtype(fmt.storage_dtype)
        return self.image[off:off + count * dt.itemsize].view(dt).astype(np.int64)

    def run(self, instrs, task: int = 0) -> int:
        code = encode_bytes(instrs)
        self.image[self.program:self.program + len(code)] = np.frombuffer(code, np.uint8)
        return execute(self.image, self.accel, self.program, len(instrs), task, 0)

    def status(self) -> dict:
        return status_words(self.image, 0)

    def profile(self, i: int) -> dict:
        off = STATUS_BYTES + i * PROFILE_ENTRY_BYTES
        vals = self.image[off:off + PROFILE_ENTRY_BYTES].view("<u8")
        return dict(zip(PROFILE_FIELDS, (int(v) for v in vals)))


def assert_compiled_csim_equals_golden(c, accel, model, task: int, what: str) -> None:
    """Run compiled program ``c`` for ``task`` on ``model``'s default image in golden and in
    C-sim (``accel``'s kernel): both end with status 0 and the images agree byte for byte."""
    from edgemoe.compare import assert_images_equal
    from edgemoe.compiler.io import write_pixels
    from edgemoe.flow.csim import CsimExecutor
    from edgemoe.models import load_default_image

    gold, sim = c.fresh_image(), c.fresh_image()
    for image in (gold, sim):
        write_pixels(image, c.manifest, load_default_image(model))
    args = (c.program_offset, c.n_instructions, task, c.status_offset)
    assert execute(gold, accel, *args) == 0
    assert CsimExecutor(accel).execute(sim, *args) == 0
    assert_images_equal(gold, sim, c.manifest, what)
