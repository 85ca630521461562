"""Model shapes (``configs/models/<name>.yaml``)."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .errors import ConfigError, fail
from .files import apply_overrides, list_configs, read_yaml, resolve_config, source_label
from .schema import Reader, require, require_int_range

if TYPE_CHECKING:
    from .graph_model import GraphModelConfig

__all__ = ["MODEL_KINDS", "ModelConfig", "TaskSpec", "list_models", "load_model"]

#: Model families the compiler knows.
MODEL_KINDS = ("m3vit",)
#: Spellings accepted for ``moe_blocks`` besides an explicit list.
MOE_BLOCK_RULES = ("odd", "even", "all", "none")

_TASK_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_MAX_SIZE = 1 << 16

_INT_FIELDS = (
    "image_height", "image_width", "in_chans", "patch", "dim", "depth", "heads",
    "mlp_hidden", "num_experts", "expert_hidden", "top_k", "head_channels", "head_upsamples",
)
#: Every key of a model file, in file order.
_FIELDS = ("kind", "image_height", "image_width", "in_chans", "patch", "dim", "depth", "heads",
           "mlp_hidden", "moe_blocks", "num_experts", "expert_hidden", "top_k", "ln_eps",
           "tasks", "head_channels", "head_upsamples")


@dataclass(frozen=True)
class TaskSpec:
    """One output task of a multi-task model.

    Attributes:
        name: Identifier (``seg``, ``depth``).
        channels: Output channels of the task head (classes, or 1 for depth).
    """

    name: str
    channels: int


@dataclass(frozen=True)
class ModelConfig:
    """Shape of an M3ViT-style multi-task MoE vision transformer.

    Attributes:
        name: Config name (file stem).
        kind: Model family, one of :data:`MODEL_KINDS`.
        image_height: Input height in pixels.
        image_width: Input width in pixels.
        in_chans: Input channels.
        patch: Patch edge in pixels.
        dim: Embedding width.
        depth: Number of transformer blocks.
        heads: Attention heads.
        mlp_hidden: Hidden width of the dense MLP.
        moe_blocks: Indices of the blocks whose MLP is a mixture of experts (sorted).
        num_experts: Experts per MoE block.
        expert_hidden: Hidden width of one expert.
        top_k: Experts chosen per token.
        ln_eps: LayerNorm epsilon.
        tasks: Output tasks; the index of a task selects its router weights.
        head_channels: Width of the convolutional task head.
        head_upsamples: x2 upsampling steps from the patch grid to the image size.
        source: Where the config came from (messages only; not part of equality).
    """

    name: str
    kind: str
    image_height: int
    image_width: int
    in_chans: int
    patch: int
    dim: int
    depth: int
    heads: int
    mlp_hidden: int
    moe_blocks: tuple[int, ...]
    num_experts: int
    expert_hidden: int
    top_k: int
    ln_eps: float
    tasks: tuple[TaskSpec, ...]
    head_channels: int
    head_upsamples: int
    source: str = field(default="<ModelConfig>", compare=False, repr=False)

    def __post_init__(self) -> None:
        src = self.source
        require(self.kind in MODEL_KINDS, src, "kind", self.kind, "is not a known model kind",
                ", ".join(MODEL_KINDS))
        for key in _INT_FIELDS:
            lo = 0 if key == "head_upsamples" else 1
            hi = 16 if key == "head_upsamples" else _MAX_SIZE
            require_int_range(src, key, getattr(self, key), lo, hi)
        require(self.image_height % self.patch == 0, src, "image_height", self.image_height,
                f"is not divisible by patch={self.patch}", f"a multiple of {self.patch}")
        require(self.image_width % self.patch == 0, src, "image_width", self.image_width,
                f"is not divisible by patch={self.patch}", f"a multiple of {self.patch}")
        require(self.dim % self.heads == 0, src, "dim", self.dim,
                f"is not divisible by heads={self.heads}", f"a multiple of {self.heads}")
        require(self.top_k <= self.num_experts, src, "top_k", self.top_k,
                f"exceeds num_experts={self.num_experts}", f"an integer in 1..{self.num_experts}")
        blocks = self.moe_blocks
        require(
            all(0 <= b < self.depth for b in blocks) and list(blocks) == sorted(set(blocks)),
            src, "moe_blocks", list(blocks), "has a block outside the model or a repeat",
            f"distinct block indices in 0..{self.depth - 1} or one of {', '.join(MOE_BLOCK_RULES)}",
        )
        require(0.0 < self.ln_eps < 1.0, src, "ln_eps", self.ln_eps, "is out of range",
                "a number in (0, 1)")
        require(len(self.tasks) >= 1, src, "tasks", [], "is empty", "at least one task")
        names = [t.name for t in self.tasks]
        for i, task in enumerate(self.tasks):
            require(bool(_TASK_RE.match(task.name)) and task.name not in names[:i], src,
                    f"tasks[{i}].name", task.name, "is not a unique identifier",
                    "distinct names of letters, digits and '_'")
            require_int_range(src, f"tasks[{i}].channels", task.channels, 1, _MAX_SIZE)
        require(
            self.grid_h << self.head_upsamples == self.image_height
            and self.grid_w << self.head_upsamples == self.image_width,
            src, "head_upsamples", self.head_upsamples,
            f"does not bring the {self.grid_h}x{self.grid_w} patch grid back to the "
            f"{self.image_height}x{self.image_width} image",
            "n with grid * 2**n == image size (image = patch * 2**n)",
        )

    @property
    def grid_h(self) -> int:
        """Patch rows."""
        return self.image_height // self.patch

    @property
    def grid_w(self) -> int:
        """Patch columns."""
        return self.image_width // self.patch

    @property
    def num_patches(self) -> int:
        """Patches per image."""
        return self.grid_h * self.grid_w

    @property
    def num_tokens(self) -> int:
        """Tokens per image: patches plus the CLS token."""
        return self.num_patches + 1

    @property
    def head_dim(self) -> int:
        """Width of one attention head."""
        return self.dim // self.heads

    def is_moe(self, block: int) -> bool:
        """True when transformer block ``block`` has a mixture-of-experts MLP."""
        if not 0 <= block < self.depth:
            raise ConfigError(f"model {self.name}: block {block} does not exist; "
                              f"allowed: 0..{self.depth - 1}")
        return block in self.moe_blocks

    def task_index(self, name: str) -> int:
        """Index of the task called ``name`` (selects its router weights).

        Raises:
            ConfigError: No task has that name (the message lists the tasks).
        """
        for i, task in enumerate(self.tasks):
            if task.name == name:
                return i
        raise ConfigError(f"model {self.name}: task {name!r} is unknown; allowed: "
                          + ", ".join(t.name for t in self.tasks))

    def to_dict(self) -> dict[str, Any]:
        """The resolved model, JSON-ready (``moe_blocks`` as an explicit list)."""
        out: dict[str, Any] = {"name": self.name}
        for key in _FIELDS:
            value = getattr(self, key)
            if key == "moe_blocks":
                value = list(value)
            elif key == "tasks":
                value = [{"name": t.name, "channels": t.channels} for t in value]
            out[key] = value
        return out

    def canonical_json(self) -> str:
        """Sorted, compact JSON of :meth:`to_dict` without the name."""
        data = self.to_dict()
        del data["name"]
        return json.dumps(data, sort_keys=True, separators=(",", ":"))

    @property
    def model_id(self) -> str:
        """8 hex digits: the first 32 bits of sha256 of :meth:`canonical_json`."""
        return hashlib.sha256(self.canonical_json().encode()).hexdigest()[:8]


def _resolve_moe_blocks(value: object, depth: int, reader: Reader) -> tuple[int, ...]:
    if isinstance(value, str):
        rule = value.strip().lower()
        if rule == "odd":
            return tuple(range(1, depth, 2))
        if rule == "even":
            return tuple(range(0, depth, 2))
        if rule == "all":
            return tuple(range(depth))
        if rule == "none":
            return ()
        raise fail(reader.source, "moe_blocks", value, "is not a known rule",
                   f"one of {', '.join(MOE_BLOCK_RULES)} or a list of block indices")
    items = reader.seq(value, "moe_blocks")
    blocks = [reader.integer(v, f"moe_blocks[{i}]") for i, v in enumerate(items)]
    return tuple(sorted(set(blocks))) if len(set(blocks)) == len(blocks) else tuple(blocks)


def _parse_tasks(value: object, reader: Reader) -> tuple[TaskSpec, ...]:
    items = reader.seq(value, "tasks")
    tasks = []
    for i, item in enumerate(items):
        node = reader.mapping(item, f"tasks[{i}]", ("name", "channels"))
        tasks.append(TaskSpec(name=reader.string(node["name"], f"tasks[{i}].name"),
                              channels=reader.integer(node["channels"], f"tasks[{i}].channels")))
    return tuple(tasks)


def model_from_mapping(doc: object, name: str, source: str) -> ModelConfig:
    """Build a :class:`ModelConfig` from a parsed YAML document.

    Args:
        doc: Parsed YAML (must be a mapping with exactly the model keys).
        name: Name of the model (file stem).
        source: Label for messages.

    Raises:
        ConfigError: Any key is unknown, missing, of the wrong type or out of range.
    """
    reader = Reader(source)
    data = reader.mapping(doc, "", _FIELDS)
    values: dict[str, Any] = {key: reader.integer(data[key], key) for key in _INT_FIELDS}
    values["kind"] = reader.string(data["kind"], "kind")
    values["ln_eps"] = reader.number(data["ln_eps"], "ln_eps")
    depth = values["depth"]
    require_int_range(source, "depth", depth, 1, _MAX_SIZE)
    values["moe_blocks"] = _resolve_moe_blocks(data["moe_blocks"], depth, reader)
    values["tasks"] = _parse_tasks(data["tasks"], reader)
    return ModelConfig(name=name, source=source, **values)


def load_model(name_or_path: str, overrides: Sequence[str] = ()) -> ModelConfig | GraphModelConfig:
    """Load a model shape.

    Args:
        name_or_path: A name in ``configs/models/`` (``m3vit-tiny``) or a YAML path.
        overrides: ``"key=value"`` strings applied on top of the file, e.g. ``"depth=4"``.

    Returns:
        The validated, frozen model config (a GraphModelConfig for a file with ``layers:``).

    Raises:
        ConfigError: The file is missing or invalid, or an override is.
    """
    name, path = resolve_config("models", name_or_path)
    source = source_label(path, overrides)
    doc = read_yaml(path, source)
    if isinstance(doc, dict) and "layers" in doc:  # a layer graph (VoVNet, SNN)
        from .graph_model import OVERRIDABLE, graph_model_from_mapping

        doc = apply_overrides(doc, overrides, OVERRIDABLE, source)
        return graph_model_from_mapping(doc, name, source)
    doc = apply_overrides(doc, overrides, _FIELDS, source)
    return model_from_mapping(doc, name, source)


def list_models() -> tuple[str, ...]:
    """Names of the models in ``configs/models/``."""
    return list_configs("models")
