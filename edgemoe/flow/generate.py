"""The ``generate`` step: a design point's Vitis HLS project under ``build/<design>/hls``.

Refuses design points that do not fit their board (``AccelConfig.check_fit``) before
writing anything, renders every template, and writes test vectors for the Vitis
C-simulation / co-simulation testbench: a small model's memory image, the golden
executor's result, and the run arguments (``tb_data/``).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path

from ..codegen import render_hls
from ..params import ConfigError, load_model
from ..validate import ProgramError
from .paths import hls_dir

__all__ = ["DEFAULT_TB_MODEL", "GeneratedProject", "generate", "write_testbench_data"]

log = logging.getLogger(__name__)

#: Model whose program the generated testbench runs.
DEFAULT_TB_MODEL = "m3vit-micro"


@dataclass(frozen=True)
class GeneratedProject:
    """A generated HLS project.

    Attributes:
        accel_name: design point name.
        config_id: the design point's config_id.
        out_dir: folder of the project.
        files: every generated file.
        testbench_model: model of the test vectors in ``tb_data/`` ("" when none).
    """

    accel_name: str
    config_id: str
    out_dir: Path
    files: tuple[Path, ...]
    testbench_model: str

    @property
    def run_hls_tcl(self) -> Path:
        """The Vitis HLS Tcl script."""
        return self.out_dir / "run_hls.tcl"

    @property
    def bd_tcl(self) -> Path:
        """The Vivado block-design script."""
        return self.out_dir / "bd.tcl"


def write_testbench_data(accel, tb_dir: Path | str, model_name: str = DEFAULT_TB_MODEL,
                         task: int = 0) -> dict:
    """Compile ``model_name`` for ``accel`` and write the testbench's input and expected output.

    Writes ``image.bin`` (initial memory image), ``expected.bin`` (after the golden
    executor), ``args.txt`` (program offset, instruction count, task, status offset) and
    ``manifest.json``.

    Returns:
        ``{"image_bytes": int, "model": str}`` for the template context.

    Raises:
        ConfigError, ProgramError: the model does not run on the design point.
    """
    from ..compiler import compile_model
    from ..compiler.attn_q8 import int8_only_ranges
    from ..golden import execute

    model = load_model(model_name)
    accel.check_model(model)
    compiled = compile_model(model, accel, int8=int8_only_ranges(model, accel))
    expected = compiled.fresh_image()
    err = execute(expected, accel, compiled.program_offset, compiled.n_instructions, task,
                  compiled.status_offset)
    if err:
        raise ProgramError(0, err, f"golden run of {model_name} on {accel.name} failed with "
                                   f"error {err}")
    d = Path(tb_dir)
    d.mkdir(parents=True, exist_ok=True)
    compiled.image.tofile(d / "image.bin")
    expected.tofile(d / "expected.bin")
    (d / "args.txt").write_text(f"{compiled.program_offset} {compiled.n_instructions} {task} "
                                f"{compiled.status_offset}\n")
    (d / "manifest.json").write_text(json.dumps(compiled.manifest, indent=1, sort_keys=True))
    return {"image_bytes": int(compiled.image.size), "model": model_name}


def generate(accel, out_dir: Path | str | None = None, build_root: Path | str | None = None,
             tb_model: str | None = DEFAULT_TB_MODEL, check_fit: bool = True) -> GeneratedProject:
    """Generate the HLS project of ``accel``.

    Args:
        accel: AccelConfig.
        out_dir: destination (default ``build/<design>/hls``).
        build_root: build folder when ``out_dir`` is not given (default ``build/``).
        tb_model: model for the testbench vectors, or None for none.
        check_fit: refuse a design point that does not fit its board (default).

    Returns:
        The :class:`GeneratedProject`.

    Raises:
        ConfigError: the design point does not fit its board (nothing is written).
    """
    if check_fit:
        accel.check_fit()
    out = Path(out_dir) if out_dir is not None else hls_dir(accel, build_root)
    tb = None
    if tb_model:
        try:
            tb = write_testbench_data(accel, out / "tb_data", tb_model)
        except (ConfigError, ProgramError) as exc:
            log.warning("no testbench data: %s", exc)
    files = render_hls(accel, out, tb)
    log.info("generated the HLS project of %s in %s", accel.name, out)
    return GeneratedProject(accel.name, accel.config_id, out, tuple(files),
                            tb["model"] if tb else "")
