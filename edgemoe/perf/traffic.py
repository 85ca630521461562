"""Bytes and bus beats each instruction really moves, by the RTL engines' schedules.

The op spec's operand sizes are footprints; the engines re-read: the linear engine reads
every token's input row once per strip of output tiles (CONV: each im2col tap, so an input
pixel k*k times per strip, unless the line buffer holds the kernel rows: then each input
pixel once per strip, see :func:`conv_line_schedule`); the fused attention engine reads
every Q, K and V row once (K and V of a head stay on chip).  These counts follow the read
commands of
rtl_templates/edgemoe_lin_loader.sv, edgemoe_attn.sv, edgemoe_ln.sv, edgemoe_eltwise.sv,
edgemoe_upsample.sv, and the burst rule of edgemoe_rd_dma.sv (a command of n bytes at
address a reads ceil((a mod B + n) / B) beats of B bytes).
"""

from __future__ import annotations

from dataclasses import dataclass

from ..isa import Flag, Instr, unpack_ksp
from ..layout import conv_out_size, conv_uses_line, queue_layout
from ..numerics.int8 import Q8_PAIR

__all__ = ["ConvLineStep", "LinGeometry", "Traffic", "beats", "conv_line_schedule", "conv_out_pixels",
           "conv_taps", "golden_routing", "lin_geometry", "queue_counts", "uses_line_buffer"]


def beats(addr: int, nbytes: int, bus_bytes: int) -> int:
    """Bus beats of one read/write command of ``nbytes`` at byte ``addr``."""
    if nbytes <= 0:
        return 0
    return -(-(addr % bus_bytes + nbytes) // bus_bytes)


@dataclass
class Traffic:
    """What an instruction moves over the unit's AXI master.

    Attributes:
        read_bytes: Bytes the engine's read commands ask for (re-reads counted).
        write_bytes: Bytes written.
        read_beats: R beats those reads take (alignment included).
        write_beats: W beats.
        weight_bytes: Of ``read_bytes``, the weights and biases.
        read_cmds: Read commands (each may queue behind another master's bursts).
        before_w0: Cycles the instruction's first linear-engine job spends before its
            strip-0 decision (edgemoe_lin.sv J_W0: strip 0's bias and multiplier reads),
            during which a prefetch of its strip 0 keeps arriving; None for other engines.
    """

    read_bytes: int = 0
    write_bytes: int = 0
    read_beats: int = 0
    write_beats: int = 0
    weight_bytes: int = 0
    read_cmds: int = 0
    before_w0: float | None = None

    def read(self, addr: int, nbytes: int, bus: int, weight: bool = False) -> int:
        """Count one read command; returns its beats."""
        n = beats(addr, nbytes, bus)
        self.read_bytes += nbytes
        self.read_beats += n
        self.read_cmds += 1
        if weight:
            self.weight_bytes += nbytes
        return n

    def write(self, addr: int, nbytes: int, bus: int) -> int:
        """Count one write command; returns its beats."""
        n = beats(addr, nbytes, bus)
        self.write_bytes += nbytes
        self.write_beats += n
        return n


@dataclass(frozen=True)
class LinGeometry:
    """Strip geometry of one linear-engine job (edgemoe_lin.sv J_SIZE).

    Attributes:
        tiles_in: Input tiles of P_IN.
        tiles_out: Output tiles of P_OUT.
        strip_tiles: Output tiles per strip (the most whose weights fit the buffer).
        strips: Strips of the job.
        tile_bytes: Bytes of one P_OUT x P_IN weight tile.
        tile_cycles: Issue cycles of one output tile: its input tiles, or the epilogue's
            steps when there are fewer (edgemoe_lin_epilogue.sv holds the next tile).
        pair_cycles: W8A8: issue cycles of one pair of output tiles (edgemoe_lin_pair.sv):
            its input tiles, or the epilogue's steps for both tiles when there are fewer.
    """

    tiles_in: int
    tiles_out: int
    strip_tiles: int
    strips: int
    tile_bytes: int
    tile_cycles: int
    pair_cycles: int

    def strip_sizes(self) -> list[int]:
        """Output tiles of each strip, in order."""
        sizes, left = [], self.tiles_out
        while left > 0:
            sizes.append(min(self.strip_tiles, left))
            left -= sizes[-1]
        return sizes


def lin_geometry(accel, n: int, k: int, weight_bytes: int) -> LinGeometry:
    """Strips of an ``n`` x ``k`` job with ``weight_bytes`` per weight element."""
    pi, po = accel.linear_p_in, accel.linear_p_out
    tiles_in, tiles_out = -(-k // pi), -(-n // po)
    buffer_tiles = accel.weight_buffer_words // (pi * po)
    strip = max(1, min(tiles_out, buffer_tiles // max(tiles_in, 1)))
    return LinGeometry(tiles_in, tiles_out, strip, -(-tiles_out // strip), po * pi * weight_bytes,
                       max(tiles_in, accel.linear_epilogue_steps),
                       max(tiles_in, Q8_PAIR * accel.linear_epilogue_steps))


def conv_out_pixels(ins: Instr) -> int:
    """Output pixels of a CONV instruction."""
    k, s, p = unpack_ksp(ins.get("kernel_stride_pad"))
    return conv_out_size(ins.get("in_h"), k, s, p) * conv_out_size(ins.get("in_w"), k, s, p)


def conv_taps(ins: Instr, per_pixel: bool = False) -> list:
    """(element offset, elements) of each im2col read, output pixel by output pixel.

    Returns one flat list, or with ``per_pixel`` one list per output pixel.

    Follows edgemoe_lin_loader.sv: HWC activation input reads the C_in channels of each
    in-bounds tap (ky, kx); CHW pixel input reads, per (c, ky), the in-bounds run of kx.
    """
    k, s, p = unpack_ksp(ins.get("kernel_stride_pad"))
    ih, iw, ci = ins.get("in_h"), ins.get("in_w"), ins.get("in_ch")
    oh, ow = conv_out_size(ih, k, s, p), conv_out_size(iw, k, s, p)
    pixel = ins.has(Flag.PIXEL_INPUT)
    pixels: list[list[tuple[int, int]]] = []
    for oy in range(oh):
        for ox in range(ow):
            out: list[tuple[int, int]] = []
            pixels.append(out)
            x0 = ox * s - p
            if pixel:
                kx0, kx1 = max(0, -x0), min(k, iw - x0)
                for c in range(ci):
                    for ky in range(k):
                        y = oy * s - p + ky
                        if 0 <= y < ih and kx1 > kx0:
                            out.append(((c * ih + y) * iw + x0 + kx0, kx1 - kx0))
            else:
                for ky in range(k):
                    y = oy * s - p + ky
                    for kx in range(k):
                        x = x0 + kx
                        if 0 <= y < ih and 0 <= x < iw:
                            out.append(((y * iw + x) * ci, ci))
    return pixels if per_pixel else [tap for px in pixels for tap in px]


def uses_line_buffer(ins: Instr, accel) -> bool:
    """True when CONV ``ins`` reads its input through ``accel``'s line buffer."""
    k, st, _ = unpack_ksp(ins.get("kernel_stride_pad"))
    return conv_uses_line(accel.conv_line_words, accel.linear_p_in, k, st, ins.get("in_w"),
                          ins.get("in_ch"), ins.has(Flag.PIXEL_INPUT))


@dataclass(frozen=True)
class ConvLineStep:
    """What the loader does for one output pixel of a line-buffer CONV (one strip).

    Attributes:
        first: (element offset, elements) of each read into the line buffer before this
            pixel's taps: the kernel's first rows, at pixel 0 only.
        ahead: Reads after the taps: this pixel's share of the rows the next output row
            adds.
        line_taps: Taps copied from the line buffer.
        zero_taps: Taps outside the input (zeros).
    """

    first: tuple[tuple[int, int], ...]
    ahead: tuple[tuple[int, int], ...]
    line_taps: int
    zero_taps: int

    @property
    def fills(self) -> tuple[tuple[int, int], ...]:
        """Every read of this pixel, in order."""
        return self.first + self.ahead


def conv_line_schedule(ins: Instr) -> list[ConvLineStep]:
    """Per output pixel, the line-buffer loader's steps (edgemoe_lin_loader.sv G_FILL, G_PRE).

    Pixel 0 first reads the input rows ``-p .. k-1-p`` that are inside the input.  While
    output row ``oy`` computes, its pixels read ahead the rows ``oy*s - p + k + j``
    (``j < s``) the next output row adds: pixel ``ox`` reads input pixels
    ``[ox*s, ox*s + s)`` of each, the row's last pixel everything left of ``in_w``.  So
    every input pixel is read once (per strip).
    """
    k, s, p = unpack_ksp(ins.get("kernel_stride_pad"))
    ih, iw, ci = ins.get("in_h"), ins.get("in_w"), ins.get("in_ch")
    oh, ow = conv_out_size(ih, k, s, p), conv_out_size(iw, k, s, p)
    steps = []
    for oy in range(oh):
        in_y = sum(0 <= oy * s - p + ky < ih for ky in range(k))
        ahead = [oy * s - p + k + j for j in range(s)] if oy + 1 < oh else []
        for ox in range(ow):
            first = tuple((y * iw * ci, iw * ci) for y in range(-p, k - p)
                          if 0 <= y < ih) if oy == ox == 0 else ()
            x0, x1 = min(ox * s, iw), iw if ox == ow - 1 else min(ox * s + s, iw)
            reads = tuple(((y * iw + x0) * ci, (x1 - x0) * ci) for y in ahead
                          if 0 <= y < ih and x1 > x0)
            in_x = sum(0 <= ox * s - p + kx < iw for kx in range(k))
            steps.append(ConvLineStep(first, reads, in_y * in_x, k * k - in_y * in_x))
    return steps


def queue_counts(image, ins: Instr) -> list[int]:
    """Tokens routed to each expert, read from the MoE queue region of ``image``."""
    import numpy as np

    e, t = ins.get("experts"), ins.get("tokens")
    at = ins.get("queues") + queue_layout(e, t)["counts"]
    return [int(v) for v in np.asarray(image[at:at + 4 * e]).view("<u4")]


def golden_routing(image, accel, program_offset: int, instrs, task: int = 0,
                   status_offset: int = 0, macs: dict[int, int] | None = None,
                   ) -> dict[int, list[int]]:
    """Tokens per expert of every MOE_EXPERTS of a run, from the golden executor.

    Runs the program one instruction at a time on a copy of ``image`` (the queues live in
    the activation arena, which later instructions reuse) and reads the counts just
    before each MOE_EXPERTS.  ``macs``, when given, receives each instruction's MACs
    from the golden profile.
    """
    from ..golden import execute
    from ..isa import INSTR_BYTES, Op
    from ..layout import PROFILE_FIELDS, STATUS_BYTES

    state = image.copy()
    out: dict[int, list[int]] = {}
    at = status_offset + STATUS_BYTES + 8 * PROFILE_FIELDS.index("macs")
    for i, ins in enumerate(instrs):
        if ins.op == Op.MOE_EXPERTS and ins.runs_for(task):
            out[i] = queue_counts(state, ins)
        if execute(state, accel, program_offset + i * INSTR_BYTES, 1, task, status_offset):
            break
        if macs is not None:
            macs[i] = int(state[at:at + 8].view("<u8")[0])
    return out
