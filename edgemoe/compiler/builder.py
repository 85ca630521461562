"""Program builder: symbolic instructions, weight packing, arena allocation, final layout.

Lowering code emits instructions whose address fields are :class:`Ref` objects (a region
or an arena tensor plus a byte offset).  :meth:`ProgramBuilder.finalize` lays the memory
image out as ``status+profile | program | weights | inputs | outputs | arena`` (every
region 64-byte aligned), assigns arena tensors to offsets by first fit over their live
ranges (so tensors whose lifetimes do not overlap share bytes), resolves the references
and encodes the program into the image.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..isa import ALL_TASKS, INSTR_BYTES, OP_FIELDS, Instr, Op, encode_bytes
from ..layout import PROFILE_ENTRY_BYTES, STATUS_BYTES, align


@dataclass(eq=False)
class Tensor:
    """An activation buffer in the arena; its offset is assigned at finalize()."""

    name: str
    nbytes: int
    first: int = -1
    last: int = -1
    offset: int = -1


@dataclass(frozen=True)
class Ref:
    """A byte address: ``base`` is a region name or a Tensor, plus ``offset`` bytes."""

    base: object
    offset: int = 0

    def __add__(self, extra: int) -> Ref:
        return Ref(self.base, self.offset + extra)


@dataclass
class _Pending:
    op: Op
    flags: int
    task_mask: int
    fields: dict
    comment: str


@dataclass
class Layout:
    """Result of :meth:`ProgramBuilder.finalize`."""

    image: np.ndarray
    instrs: list[Instr]
    regions: dict[str, tuple[int, int]]
    tensors: dict[str, tuple[int, int]] = field(default_factory=dict)
    symbols: dict[str, int] = field(default_factory=dict)


class ProgramBuilder:
    """Collects weights, inputs, outputs, arena tensors and instructions."""

    REGIONS = ("weights", "inputs", "outputs")

    def __init__(self) -> None:
        self._blobs: dict[str, list[bytes]] = {r: [] for r in self.REGIONS}
        self._sizes: dict[str, int] = dict.fromkeys(self.REGIONS, 0)
        self._pending: list[_Pending] = []
        self._tensors: list[Tensor] = []
        self.symbols: dict[str, Ref] = {}

    # -- data -----------------------------------------------------------------------------
    def place(self, region: str, data: bytes | np.ndarray, name: str = "") -> Ref:
        """Append bytes to a region (64-byte aligned) and return their address."""
        raw = data.tobytes() if isinstance(data, np.ndarray) else bytes(data)
        start = self._sizes[region]
        padded = raw + bytes(align(len(raw)) - len(raw))
        self._blobs[region].append(padded)
        self._sizes[region] += len(padded)
        ref = Ref(region, start)
        if name:
            self.symbols[name] = ref
        return ref

    def reserve(self, region: str, nbytes: int, name: str = "") -> Ref:
        """Reserve zeroed bytes in a region."""
        return self.place(region, bytes(nbytes), name)

    def tensor(self, name: str, nbytes: int) -> Tensor:
        """A new arena tensor."""
        t = Tensor(name, align(nbytes))
        self._tensors.append(t)
        return t

    # -- code -----------------------------------------------------------------------------
    def emit(self, op: Op, flags: int = 0, task_mask: int = ALL_TASKS, comment: str = "",
             **fields) -> int:
        """Append an instruction; returns its index."""
        unknown = set(fields) - set(OP_FIELDS[op])
        if unknown:
            raise ValueError(f"{op.name} has no fields {sorted(unknown)}")
        idx = len(self._pending)
        for v in fields.values():
            if isinstance(v, Ref) and isinstance(v.base, Tensor):
                t = v.base
                t.first = idx if t.first < 0 else t.first
                t.last = max(t.last, idx)
        self._pending.append(_Pending(op, int(flags), task_mask, fields, comment))
        return idx

    def __len__(self) -> int:
        return len(self._pending)

    def live_bytes(self, index: int) -> int:
        """Arena bytes of the tensors live at instruction ``index`` (read or written by an
        instruction at or before it and by one at or after it)."""
        return sum(t.nbytes for t in self._tensors if t.first <= index <= t.last and t.first >= 0)

    # -- layout ---------------------------------------------------------------------------
    def _allocate_arena(self) -> int:
        placed: list[Tensor] = []
        top = 0
        for t in sorted((t for t in self._tensors if t.first >= 0), key=lambda t: (t.first, -t.nbytes)):
            live = sorted((p for p in placed if p.last >= t.first and p.first <= t.last),
                          key=lambda p: p.offset)
            offset = 0
            for p in live:
                if offset + t.nbytes <= p.offset:
                    break
                offset = max(offset, p.offset + p.nbytes)
            t.offset = offset
            placed.append(t)
            top = max(top, offset + t.nbytes)
        return top

    def finalize(self) -> Layout:
        """Lay out the image, resolve references and encode the program into it."""
        n = len(self._pending)
        regions: dict[str, tuple[int, int]] = {}
        cursor = 0

        def region(name: str, size: int) -> None:
            nonlocal cursor
            regions[name] = (cursor, align(size))
            cursor += align(size)

        region("status", STATUS_BYTES + n * PROFILE_ENTRY_BYTES)
        region("program", n * INSTR_BYTES)
        for r in self.REGIONS:
            region(r, self._sizes[r])
        region("arena", self._allocate_arena())
        image = np.zeros(max(cursor, 64), dtype=np.uint8)
        for r in self.REGIONS:
            data = b"".join(self._blobs[r])
            start = regions[r][0]
            image[start:start + len(data)] = np.frombuffer(data, dtype=np.uint8)

        def resolve(v):
            if not isinstance(v, Ref):
                return v
            if isinstance(v.base, Tensor):
                return regions["arena"][0] + v.base.offset + v.offset
            return regions[v.base][0] + v.offset

        instrs = []
        for p in self._pending:
            fields = {k: resolve(v) for k, v in p.fields.items()}
            instrs.append(Instr.make(p.op, p.flags, p.task_mask, p.comment, **fields))
        start = regions["program"][0]
        image[start:start + n * INSTR_BYTES] = np.frombuffer(encode_bytes(instrs), np.uint8)
        tensors = {t.name: (regions["arena"][0] + t.offset, t.nbytes)
                   for t in self._tensors if t.first >= 0}
        symbols = {k: resolve(v) for k, v in self.symbols.items()}
        return Layout(image, instrs, regions, tensors, symbols)
