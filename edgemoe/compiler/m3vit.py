"""Lowering of M3ViT (backbone + SETR-PUP heads) to a Program and a MemoryImage.

One program serves every task: router weights of all tasks sit back to back and
MOE_GATE selects the slice with the device's task register (``task_stride``); each head's
instructions carry a task mask.  The token tensor ``x`` stays in one arena tensor for the
whole backbone; per-block scratch tensors are reused by the arena allocator.

Multi-task reuse: everything before the first task-dependent instruction (patch embed,
block 0, block 1 up to its router) is the program's shared prefix.  In the first MoE
block the attention projection writes ``x + proj`` into ``x_shared`` (not back into
``x``), norm2 and the experts' residual read it there and the experts write ``x``; so
nothing after the prefix overwrites what it reads, and a second task on the same image
may start right after the prefix (see ``builder.finalize``).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from ..golden.vector_ops import LN_SQ_FRAC
from ..isa import ALL_TASKS, Flag, Op, pack_ksp, pack_linear_q8, pack_moe_q8
from ..layout import (
    bias_block_bytes,
    pack_tile_map,
    pack_tiled,
    q8_scales_block,
    queue_layout,
    tile_grid,
    tiles_run,
    weight_block_bytes,
    zero_tiles,
)
from ..models import WeightError, fold_bn, fold_cls_into_pos, validate_weights
from ..models.weights import BN_EPS, head_conv_count
from .attn_q8 import attn_q8_fields
from .attn_topk import AttnTopK, codebook_bytes
from .builder import ProgramBuilder, Ref, Tensor
from .calibrate import attn_q8_names, check_int8_names, int8_layers
from .dead_neurons import remove_dead_neurons
from .dense_mlp import lower_dense_mlp
from .mixed import MixedChoice, check_shapes, place_mixed, quantize_mixed
from .mixed_experts import lower_mixed_experts
from .qkv_codes import lower_qkv_attention
from .quantize import (
    QuantReport,
    dequantized,
    quantize,
    quantize_q8,
    quantize_q8_experts,
    role_of,
)
from .taps import QUEUE_FORMAT


class _Lowering:
    def __init__(self, model, accel, weights: dict, report: QuantReport,
                 want: frozenset[str] = frozenset(), int8: Mapping[str, float] | None = None,
                 packed: dict | None = None, topk: AttnTopK | None = None,
                 tile_skip: bool = True, mixed: Mapping[str, MixedChoice] | None = None):
        self.m, self.a, self.w, self.report = model, accel, weights, report
        self.mixed = dict(mixed or {})  # mixed int4/int8 layer prefix -> its choice
        self.topk = topk  # top-k attention codebooks (Flag.ATTN_TOPK) or None
        self.tile_skip = tile_skip  # LINEARs and experts with all-zero weight tiles: Flag.WSKIP
        self.last_raw = np.zeros((0, 0, 0))  # quantized stack of the last matrix() placed
        self.int8 = dict(int8 or {})  # W8A8 layer prefix -> calibrated input range
        self.packed = weights if packed is None else packed  # MLP widths after dead neurons
        self.b = ProgramBuilder()
        self.f = accel.formats
        self.act_bytes = self.f.act.storage_dtype.itemsize
        self.effective: dict[str, np.ndarray] = {}
        self.taps: dict[str, int] = {}
        self.want = want  # tap names to copy out (compiler/taps.py)
        self.tap_specs: dict[str, dict] = {}
        self.share_prefix = len(model.tasks) > 1
        self.x_shared: Tensor | None = None  # x as the shared prefix leaves it

    # -- taps -----------------------------------------------------------------------------
    def tap(self, name: str, src: Ref, rows: int, cols: int, task_mask: int = ALL_TASKS,
            words: bool = False) -> None:
        """Copy ``rows x cols`` activations (or int32 words) at ``src`` into a tap slot."""
        if name not in self.want:
            return
        act = self.f.act
        nbytes = rows * cols * (4 if words else self.act_bytes)
        if words and act.width != 8 * self.act_bytes:  # ADD COPY re-wraps narrower codes
            raise ValueError(f"tap {name!r} copies int32 words through the activation format, "
                             f"which needs a full-width format (got {act}): drop that tap")
        dst = self.tap_slot(name, rows, cols, task_mask, words)
        self.b.emit(Op.ADD, Flag.COPY, task_mask=task_mask, comment=f"tap.{name}",
                    count=nbytes // self.act_bytes, a=src, dst=dst)

    def tap_slot(self, name: str, rows: int, cols: int, task_mask: int = ALL_TASKS,
                 words: bool = False) -> Ref:
        """Reserve the outputs-region slot of a tap and record it for the manifest."""
        nbytes = rows * cols * (4 if words else self.act_bytes)
        self.tap_specs[name] = {"symbol": f"tap.{name}", "shape": [rows, cols],
                                "format": QUEUE_FORMAT if words else self.f.act.cpp(),
                                "task_mask": task_mask}
        return self.b.reserve("outputs", nbytes, f"tap.{name}")

    def tap_logits(self, p: str, src: Ref, gates: Ref, stride: int) -> None:
        """Router logits: a bias-free LINEAR per task with that task's gate weights (the
        same exact sum and single quantization as MOE_GATE)."""
        name = f"{p}.router_logits"
        if name not in self.want:
            return
        m = self.m
        t, e = m.num_tokens, m.num_experts
        dst = self.tap_slot(name, t, e)
        bf = self.f.bias
        zero = self.b.place("weights", bytes(bias_block_bytes(e, self.a.linear_p_out,
                                                              bf.storage_dtype.itemsize)))
        for k in range(len(m.tasks)):
            self.b.emit(Op.LINEAR, task_mask=1 << k, comment=f"tap.{name}", tokens=t,
                        out_features=e, in_features=m.dim, src=src, dst=dst,
                        weights=gates + k * stride, bias=zero)

    # -- weights --------------------------------------------------------------------------
    def _q(self, name: str, x: np.ndarray, canonical: str | None = None):
        fmt = getattr(self.f, role_of(name))
        full = self.w[canonical] if canonical is not None else x
        narrowed = full.size != x.size  # an MLP matrix without its dead neurons
        raw, deq = quantize(name, x, fmt, QuantReport() if narrowed else self.report)
        if narrowed:  # the report and the effective weights describe the full tensor
            _, deq = quantize(name, full, fmt, self.report)
        if canonical is not None:
            self.effective[canonical] = deq.reshape(full.shape)
        return raw, fmt

    def matrix(self, name: str, w: np.ndarray, canonical: str | None = None) -> Ref:
        """Quantize and tile-pack an [out][in] matrix (or a stack of them) into weights."""
        raw, fmt = self._q(name, w, canonical)
        stack = raw.reshape((-1,) + raw.shape[-2:])
        self.last_raw = stack
        blob = b"".join(self._aligned(pack_tiled(m, self.a.linear_p_out, self.a.linear_p_in)
                                      .astype(fmt.storage_dtype).tobytes()) for m in stack)
        return self.b.place("weights", blob, name)

    def vector(self, name: str, v: np.ndarray, canonical: str | None = None, pad_to_tile=True,
               after: bytes = b"") -> Ref:
        """Quantize a vector (or a stack of vectors) into the weights region, ``after``
        placed right behind it (a WSKIP MOE_EXPERTS' tile maps)."""
        raw, fmt = self._q(name, v, canonical)
        stack = raw.reshape((-1, raw.shape[-1]))
        po = self.a.linear_p_out if pad_to_tile else 1
        n = -(-stack.shape[1] // po) * po
        blob = b"".join(self._aligned(np.pad(r, (0, n - r.size)).astype(fmt.storage_dtype)
                                      .tobytes()) for r in stack)
        return self.b.place("weights", blob + after, name)

    @staticmethod
    def _aligned(data: bytes) -> bytes:
        return data + bytes(-len(data) % 64)

    # -- lowering -------------------------------------------------------------------------
    def act_tensor(self, name: str, rows: int, cols: int) -> Tensor:
        return self.b.tensor(name, rows * cols * self.act_bytes)

    def patch_embed(self, pixels: Ref, x: Tensor) -> None:
        m, d = self.m, self.m.dim
        w = self.w["patch_embed.proj.weight"]
        wref = self.matrix("patch_embed.proj.weight", w.reshape(d, -1), "patch_embed.proj.weight")
        bref = self.vector("patch_embed.proj.bias", self.w["patch_embed.proj.bias"],
                           "patch_embed.proj.bias")
        pos = fold_cls_into_pos(self.w)
        raw, deq = quantize("pos_embed", pos, self.f.act, self.report)
        self.effective["pos_embed"] = deq.reshape(self.w["pos_embed"].shape)
        self.effective["cls_token"] = np.zeros_like(self.w["cls_token"])
        pos_ref = self.b.place("weights", raw.astype(self.f.act.storage_dtype), "pos_embed")
        row = d * self.act_bytes
        self.b.emit(Op.CONV, Flag.PIXEL_INPUT | Flag.WFMT_PATCH | Flag.RESIDUAL, comment="patch_embed",
                    in_h=m.image_height, in_w=m.image_width, in_ch=m.in_chans, out_ch=d,
                    kernel_stride_pad=pack_ksp(m.patch, m.patch, 0), src=pixels,
                    dst=Ref(x, row), weights=wref, bias=bref, residual=pos_ref + row)
        self.b.emit(Op.ADD, Flag.COPY, comment="cls+pos[0]", count=d, a=pos_ref, dst=Ref(x))
        self.tap("patch_embed", Ref(x), m.num_tokens, d)

    def layernorm(self, prefix: str, src: Ref, dst: Ref, tokens: int, task_mask=0xFF, comment=""):
        g = self.vector(f"{prefix}.weight", self.w[f"{prefix}.weight"], f"{prefix}.weight", False)
        be = self.vector(f"{prefix}.bias", self.w[f"{prefix}.bias"], f"{prefix}.bias", False)
        eps = round(self.m.ln_eps * 2.0 ** (2 * min(self.f.act.frac_bits, LN_SQ_FRAC)))
        self.b.emit(Op.LAYERNORM, task_mask=task_mask, comment=comment or prefix, tokens=tokens,
                    dim=self.m.dim, src=src, dst=dst, gamma=g, beta=be, eps=max(eps, 1))

    def linear(self, prefix: str, src: Ref, dst: Ref, tokens: int, flags=0, residual=None,
               bias_attn=False, tap: str = "", code_muls=None, codes_in=False):
        """LINEAR; ``tap`` names a tap of its output without the residual (an extra
        LINEAR into the tap slot, as the device computes it before adding); ``code_muls``,
        ``codes_in``: a W8A8 one's int8 code rows (isa.pack_linear_q8, compiler.qkv_codes)."""
        w = self.packed[f"{prefix}.weight"]
        extra = {"residual": residual} if residual is not None else {}
        if prefix in self.mixed:
            wref, bref, q4 = self._mixed(prefix, bias_attn)
            flags, extra = flags | Flag.WFMT_Q4, {**extra, **q4}
        elif prefix in self.int8:
            wref, bref, q8 = self._q8(prefix, bias_attn, code_muls=code_muls)
            q8["q8_shift_codes"] = pack_linear_q8(q8.pop("dq_shift"), code_muls is not None, codes_in)
            flags, extra = flags | Flag.WFMT_Q8, {**extra, **q8}
        else:
            wref = self.matrix(f"{prefix}.weight", w, f"{prefix}.weight")
            bref = self.vector(f"{prefix}.bias", self.packed[f"{prefix}.bias"], f"{prefix}.bias")
            skip = self._tile_map(prefix, self.last_raw[0])
            flags, extra = (flags | Flag.WSKIP if skip else flags), {**extra, **skip}
        self.b.emit(Op.LINEAR, flags | (Flag.BFMT_ATTN if bias_attn else 0) |
                    (Flag.RESIDUAL if residual is not None else 0), comment=prefix,
                    tokens=tokens, out_features=w.shape[0], in_features=w.shape[1], src=src,
                    dst=dst, weights=wref, bias=bref, **extra)
        if tap in self.want:
            slot = self.tap_slot(tap, tokens, w.shape[0])
            q8 = {k: v for k, v in extra.items() if k != "residual"}
            self.b.emit(Op.LINEAR, flags | (Flag.BFMT_ATTN if bias_attn else 0),
                        comment=f"tap.{tap}", tokens=tokens, out_features=w.shape[0],
                        in_features=w.shape[1], src=src, dst=slot, weights=wref, bias=bref,
                        **q8)

    def _tile_map(self, prefix: str, raw: np.ndarray) -> dict:
        """WSKIP fields of a LINEAR whose quantized weights have all-zero tiles (else none):
        the tile map placed right after its weights, and the tile beats it runs."""
        zero = zero_tiles(raw, self.a.linear_p_out, self.a.linear_p_in)
        if not self.tile_skip or not zero.any():
            return {}
        ref = self.b.place("weights", pack_tile_map(zero), f"{prefix}.tile_map")
        return {"tile_map": ref, "tiles_run": tiles_run(zero)}

    def _expert_maps(self, stack: np.ndarray) -> bytes | None:
        """WSKIP MOE_EXPERTS: every expert's zero-tile map of one layer (the quantized
        ``[expert][out][in]`` stack), or None when skipping is off or no tile is all zero."""
        zero = [zero_tiles(w, self.a.linear_p_out, self.a.linear_p_in) for w in stack]
        if not self.tile_skip or not any(z.any() for z in zero):
            return None
        return b"".join(pack_tile_map(z) for z in zero)

    def _expert_maps_dense(self, out_f: int, in_f: int) -> bytes:
        """Every expert's map of a layer without zero tiles (the other layer has some)."""
        po, pi = self.a.linear_p_out, self.a.linear_p_in
        return pack_tile_map(np.zeros(tile_grid(out_f, in_f, po, pi), bool)) * self.m.num_experts

    def _q8(self, prefix: str, bias_attn: bool, w=None, b=None,
            code_muls=None) -> tuple[Ref, Ref, dict]:
        """W8A8 weights, bias and channel multipliers (then a LINEAR's ``code_muls``) of a
        LINEAR (or of a CONV's folded ``w`` [out][in*k*k], ``b``), and its Q8 fields."""
        bfmt = self.f.attn_bias if bias_attn else self.f.bias
        w = self.w[f"{prefix}.weight"] if w is None else w
        layer = quantize_q8(prefix, w.reshape(w.shape[0], -1),
                            self.w[f"{prefix}.bias"] if b is None else b,
                            self.int8[prefix], self.a, self.report, bfmt)
        po, pi = self.a.linear_p_out, self.a.linear_p_in
        self.effective[f"{prefix}.weight"] = layer.weight_deq.reshape(w.shape)
        self.effective[f"{prefix}.bias"] = bfmt.to_float(layer.bias)
        pad = (0, -layer.bias.size % po)
        wref = self.b.place("weights", self._aligned(pack_tiled(layer.codes, po, pi)
                                                     .astype("i1").tobytes()), f"{prefix}.weight")
        bref = self.b.place("weights", self._aligned(np.pad(layer.bias, pad)
                                                     .astype(bfmt.storage_dtype).tobytes()),
                            f"{prefix}.bias")
        sref = self.b.place("weights", q8_scales_block(layer.scales, po, code_muls),
                            f"{prefix}.scales")
        return wref, bref, {"scales": sref, "x_mul": layer.x_mul, "dq_shift": layer.dq_shift}

    def _mixed(self, prefix: str, bias_attn: bool) -> tuple[Ref, Ref, dict]:
        """Mixed int4/int8 weights of a LINEAR (edgemoe.compiler.mixed) and its fields."""
        bfmt = self.f.attn_bias if bias_attn else self.f.bias
        layer = quantize_mixed(prefix, self.w[f"{prefix}.weight"], self.w[f"{prefix}.bias"],
                               self.mixed[prefix], self.a, self.report, bfmt)
        self.effective[f"{prefix}.weight"] = layer.weight_deq
        bias = np.empty(layer.bias.size)
        bias[layer.order] = bfmt.to_float(layer.bias)
        self.effective[f"{prefix}.bias"] = bias
        return place_mixed(self, prefix, layer, bfmt)

    def _q8_experts(self, ex: str) -> tuple[Ref, Ref, Ref, Ref, dict]:
        """W8A8 experts (every neuron kept): int8 codes per expert, then every expert's
        bias block followed by every expert's multiplier block (layout.moe_scales_offset)."""
        fc1, fc2 = f"{ex}.htoh4", f"{ex}.h4toh"
        w = self.w
        q = quantize_q8_experts(ex, w[f"{fc1}.weight"], w[f"{fc1}.bias"], w[f"{fc2}.weight"],
                                w[f"{fc2}.bias"], self.int8[fc1], self.int8[fc2], self.a,
                                self.report)
        po, pi = self.a.linear_p_out, self.a.linear_p_in
        refs = []
        for name, layers in ((fc1, q.fc1), (fc2, q.fc2)):
            self.effective[f"{name}.weight"] = np.stack([lay.weight_deq for lay in layers])
            self.effective[f"{name}.bias"] = np.stack([self.f.bias.to_float(lay.bias)
                                                       for lay in layers])
            codes = b"".join(self._aligned(pack_tiled(lay.codes, po, pi).astype("i1").tobytes())
                             for lay in layers)
            pad = (0, -layers[0].bias.size % po)
            blocks = [np.pad(lay.bias, pad).astype(self.f.bias.storage_dtype) for lay in layers]
            blocks += [np.pad(lay.scales, pad).astype("<i4") for lay in layers]
            refs.append(self.b.place("weights", codes, f"{name}.weight"))
            refs.append(self.b.place("weights", b"".join(self._aligned(v.tobytes())
                                                         for v in blocks), f"{name}.bias"))
        fields = {"x_mul": q.x_mul, "q8_shift_mul": pack_moe_q8(q.dq_shift, q.hidden_x_mul)}
        return (*refs, fields)

    def block(self, i: int, x: Tensor) -> None:
        m, t, d = self.m, self.m.num_tokens, self.m.dim
        p = f"blocks.{i}"
        ln = self.act_tensor(f"{p}.ln", t, d)
        self.layernorm(f"{p}.norm1", Ref(x), Ref(ln), t)
        self.tap(f"{p}.norm1", Ref(ln), t, d)
        att, codes = lower_qkv_attention(self, i, Ref(ln))
        mid = x  # x after attention: the first router's block keeps it for later tasks
        if m.is_moe(i) and self.share_prefix and self.x_shared is None:
            mid = self.x_shared = self.act_tensor("x_shared", t, d)
        self.linear(f"{p}.attn.proj", att, Ref(mid), t, residual=Ref(x), bias_attn=True,
                    tap=f"{p}.proj", codes_in=codes)
        self.tap(f"{p}.attn_residual", Ref(mid), t, d)
        ln2 = self.act_tensor(f"{p}.ln2", t, d)
        self.layernorm(f"{p}.norm2", Ref(mid), Ref(ln2), t)
        self.tap(f"{p}.norm2", Ref(ln2), t, d)
        if m.is_moe(i):
            self.moe(p, Ref(ln2), x, Ref(mid))
        else:
            lower_dense_mlp(self, p, Ref(ln2), x, t)
        self.tap(f"{p}.out", Ref(x), t, d)
        self.taps[f"block{i}"] = len(self.b)

    def attn_fields(self, i: int, out_x_mul: int = 0, codes_in: bool = False) -> dict:
        """ATTENTION flag and fields of block ``i``: top-k codebooks, int8 or neither."""
        if self.topk is not None:
            return self.attn_topk_fields(i)
        q8 = attn_q8_names(i)[0] in self.int8
        return attn_q8_fields(self, i, self.int8, out_x_mul, codes_in) if q8 else {}

    def attn_topk_fields(self, i: int) -> dict:
        """ATTENTION flag and fields of block ``i`` compiled with codebooks."""
        t, nh, p = self.m.num_tokens, self.m.heads, f"blocks.{i}.attn"
        data, saturated = codebook_bytes(self.topk, i, self.f.act)
        self.report.saturated[f"{p}.codebook"] = saturated
        self.report.totals[f"{p}.codebook"] = self.topk.centres[i].size
        kept = min(self.topk.k, t)
        return {"flags": Flag.ATTN_TOPK, "codebook_size": self.topk.codebook_size,
                "top_k": self.topk.k, "codebook": self.b.place("weights", data, f"{p}.codebook"),
                "codes": self.b.reserve("outputs", 4 * nh * t, f"{p}.codes"),
                "picks": self.b.reserve("outputs", 4 * nh * t * kept, f"{p}.picks")}

    def moe(self, p: str, src: Ref, x: Tensor, residual: Ref) -> None:
        m, t, d, e = self.m, self.m.num_tokens, self.m.dim, self.m.num_experts
        ex = f"{p}.mlp.experts"
        h = self.packed[f"{ex}.htoh4.bias"].shape[-1]  # after dead-neuron removal
        gates = np.stack([self.w[f"{p}.mlp.gate.{k}.w_gate"].T for k in range(len(m.tasks))])
        graw = self.matrix(f"{p}.mlp.gate.w_gate", gates)
        for k in range(len(m.tasks)):
            n = f"{p}.mlp.gate.{k}.w_gate"
            self.effective[n] = dequantized(self.w[n], self.f.linear_weight)
        stride = weight_block_bytes(e, d, self.a.linear_p_out, self.a.linear_p_in,
                                    self.f.linear_weight.storage_dtype.itemsize)
        queues = self.b.tensor(f"{p}.queues", queue_layout(e, t)["total"])
        scratch = self.act_tensor(f"{p}.expert_hidden", t, h)
        pw = self.packed
        q8: dict = {}
        if f"{ex}.htoh4" in self.mixed or f"{ex}.h4toh" in self.mixed:  # int8 + int4 rows
            w1, b1, w2, b2, q8 = lower_mixed_experts(self, ex)
            wmode = Flag.WFMT_Q4
        elif f"{ex}.htoh4" in self.int8:  # the experts' weight mode: W8A8 or WSKIP, never both
            w1, b1, w2, b2, q8 = self._q8_experts(ex)
            wmode = Flag.WFMT_Q8
        else:
            w1 = self.matrix(f"{ex}.htoh4.weight", pw[f"{ex}.htoh4.weight"], f"{ex}.htoh4.weight")
            maps1 = self._expert_maps(self.last_raw)
            w2 = self.matrix(f"{ex}.h4toh.weight", pw[f"{ex}.h4toh.weight"], f"{ex}.h4toh.weight")
            maps2 = self._expert_maps(self.last_raw)
            skip = maps1 is not None or maps2 is not None  # one flag: both layers get maps
            if skip:  # each layer's maps follow its bias blocks (layout.moe_tile_map_offset)
                maps1 = maps1 or self._expert_maps_dense(h, d)
                maps2 = maps2 or self._expert_maps_dense(d, h)
            b1 = self.vector(f"{ex}.htoh4.bias", pw[f"{ex}.htoh4.bias"], f"{ex}.htoh4.bias",
                             after=maps1 or b"")
            b2 = self.vector(f"{ex}.h4toh.bias", self.w[f"{ex}.h4toh.bias"], f"{ex}.h4toh.bias",
                             after=maps2 or b"")
            wmode = Flag.WSKIP if skip else Flag.NONE
        self.tap_logits(p, src, graw, stride)
        self.b.emit(Op.MOE_GATE, comment=f"{p}.gate", tokens=t, dim=d, experts=e, top_k=m.top_k,
                    src=src, w_gate=graw, queues=Ref(queues), task_stride=stride)
        self.tap(f"{p}.queues", Ref(queues), 1, queue_layout(e, t)["total"] // 4, words=True)
        self.b.emit(Op.MOE_EXPERTS, Flag.RESIDUAL | wmode, comment=f"{p}.experts", tokens=t,
                    dim=d, hidden=h, experts=e, src=src, dst=Ref(x), w1=w1, b1=b1, w2=w2, b2=b2,
                    queues=Ref(queues), scratch=Ref(scratch), residual=residual, **q8)
        if f"{p}.mlp" in self.want:  # the experts' sum alone (no residual: starts from 0)
            self.b.emit(Op.MOE_EXPERTS, wmode, comment=f"tap.{p}.mlp", tokens=t, dim=d,
                        hidden=h, experts=e, src=src, dst=self.tap_slot(f"{p}.mlp", t, d),
                        w1=w1, b1=b1, w2=w2, b2=b2, queues=Ref(queues), scratch=Ref(scratch),
                        **q8)

    def head(self, task_index: int, task, x: Tensor, out: Ref) -> None:
        m = self.m
        mask = 1 << task_index
        pre = f"heads.{task.name}"
        n_conv = head_conv_count(m)
        gh, gw, c = m.grid_h, m.grid_w, m.dim
        cur = self.act_tensor(f"{pre}.ln", gh * gw, c)
        self.layernorm(f"{pre}.norm", Ref(x, c * self.act_bytes), Ref(cur), gh * gw, mask)
        for j in range(n_conv + 1):
            last = j == n_conv
            w, b = self._folded_conv(pre, j, last)
            co, k, name = w.shape[0], w.shape[-1], f"{pre}.conv_{j}"
            if name in self.int8:  # W8A8: int8 codes of the folded weights
                wref, bref, q8 = self._q8(name, False, w, b)
                flags, dq = Flag.WFMT_Q8, q8.pop("dq_shift")
            else:
                wref = self.matrix(f"{name}.weight", w.reshape(co, -1))
                bref = self.vector(f"{name}.bias", b)
                self.effective[f"{name}.weight"] = dequantized(w, self.f.conv_weight)
                self.effective[f"{name}.bias"] = dequantized(b, self.f.bias)
                flags, dq, q8 = Flag.WFMT_CONV, 0, {}
            conv = self.act_tensor(name, gh * gw, co)
            self.b.emit(Op.CONV, flags | (0 if last else Flag.RELU), task_mask=mask,
                        comment=name, in_h=gh, in_w=gw, in_ch=c, out_ch=co,
                        kernel_stride_pad=pack_ksp(k, 1, k // 2, dq), src=Ref(cur), dst=Ref(conv),
                        weights=wref, bias=bref, **q8)
            cur, c = conv, co
            if j < n_conv - 1 or last:
                up = out if last else Ref(self.act_tensor(f"{pre}.up_{j}", 4 * gh * gw, c))
                self.b.emit(Op.UPSAMPLE, task_mask=mask, comment=f"{pre}.up_{j}", in_h=gh,
                            in_w=gw, channels=c, src=Ref(cur), dst=up)
                gh, gw = 2 * gh, 2 * gw
                if not last:
                    cur = up.base

    def _folded_conv(self, pre: str, j: int, last: bool) -> tuple[np.ndarray, np.ndarray]:
        """conv_j's float weights and bias with its BatchNorm folded in (the last conv has
        none); the effective BatchNorm becomes the identity."""
        name = f"{pre}.conv_{j}"
        w, b = self.w[f"{name}.weight"], self.w[f"{name}.bias"]
        if last:
            return w, b
        bn = f"{pre}.syncbn_fc_{j}"
        w, b = fold_bn(w, b, self.w[f"{bn}.weight"], self.w[f"{bn}.bias"],
                       self.w[f"{bn}.running_mean"], self.w[f"{bn}.running_var"], BN_EPS)
        hc = w.shape[0]
        self.effective[f"{bn}.weight"] = np.ones(hc)
        self.effective[f"{bn}.bias"] = np.zeros(hc)
        self.effective[f"{bn}.running_mean"] = np.zeros(hc)
        self.effective[f"{bn}.running_var"] = np.full(hc, 1.0 - BN_EPS)
        return w, b


def lower_m3vit(model, accel, weights: dict, report: QuantReport, heads: bool = True,
                taps: frozenset[str] = frozenset(), int8: Mapping[str, float] | None = None,
                remove_dead: bool = True, topk: AttnTopK | None = None, tile_skip: bool = True,
                mixed: Mapping[str, MixedChoice] | None = None):
    """Lower M3ViT; returns (layout, instruction counts per stage, effective float weights,
    tap specs).

    With ``remove_dead`` (the default) MLP and expert hidden neurons that contribute an
    exact zero are dropped (:mod:`edgemoe.compiler.dead_neurons`); the outputs are the
    same bytes either way. A W8A8 program (``int8``) keeps every neuron for now.

    With ``heads=False`` only the backbone is lowered (the heads' weights are not used):
    each task's output is the token tensor ``x`` after the last block.  ``taps`` names the
    intermediate tensors to copy out (:mod:`edgemoe.compiler.taps`).  ``int8`` maps LINEAR
    layer prefixes (:func:`edgemoe.compiler.calibrate.int8_layers`, and the head convs of
    ``head_conv_layers``) to their calibrated input range: those run in the W8A8 mode
    (``Flag.WFMT_Q8``); with ``attn_q8_layers``' q, k, v ranges of a block its ATTENTION
    runs int8 (edgemoe.compiler.attn_q8).  ``topk`` runs every
    ATTENTION in the top-k mode (``Flag.ATTN_TOPK``) with its codebooks.  ``mixed`` runs
    those LINEARs with int8 and int4 channels (``Flag.WFMT_Q4``, edgemoe.compiler.mixed).
    """
    if topk is not None:
        topk.check(model)
    validate_weights(weights, model)
    check_int8_names(model, int8 or {}, heads)
    unknown = sorted(set(mixed or {}) - set(int8_layers(model)))
    if unknown:
        raise WeightError(f"mixed int4/int8 layers {unknown} are not LINEAR layers of "
                          f"{model.name}: use names from int8_layers(model)")
    check_shapes(mixed or {}, weights)
    narrow = remove_dead and not int8 and not mixed
    packed = remove_dead_neurons(model, accel.formats, weights)[0] if narrow else None
    low = _Lowering(model, accel, weights, report, taps, int8, packed, topk, tile_skip, mixed)
    b = low.b
    pixels = b.reserve("inputs", model.in_chans * model.image_height * model.image_width, "pixels")
    outputs = {}
    for k, task in enumerate(model.tasks if heads else ()):
        n = model.image_height * model.image_width * task.channels * low.act_bytes
        outputs[task.name] = b.reserve("outputs", n, f"out.{task.name}")
    x = low.act_tensor("x", model.num_tokens, model.dim)
    low.patch_embed(pixels, x)
    low.taps["patch_embed"] = len(b)
    for i in range(model.depth):
        low.block(i, x)
    for k, task in enumerate(model.tasks if heads else ()):
        low.head(k, task, x, outputs[task.name])
        if f"heads.{task.name}" in taps:  # the output region itself
            low.tap_specs[f"heads.{task.name}"] = {
                "symbol": f"out.{task.name}", "format": accel.formats.act.cpp(),
                "shape": [model.image_height, model.image_width, task.channels],
                "task_mask": 1 << k}
    layout = b.finalize(share_prefix=low.share_prefix)
    return layout, low.taps, low.effective, low.tap_specs
