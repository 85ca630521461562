"""Human-readable overview of every shipped design point (``make demo`` prints it)."""

from __future__ import annotations

from collections.abc import Sequence

from .accel import FORMAT_ROLES, AccelConfig, list_accels, load_accel
from .board import load_boards
from .model import ModelConfig, list_models, load_model

__all__ = ["describe_all", "fit_table", "format_table"]


def format_table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """Render rows as a left-aligned plain-text table with a rule under the header."""
    cells = [[str(c) for c in header]] + [[str(c) for c in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() for row in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def fit_table(report, tool: str) -> str:
    """A fit report as the table ``edgemoe synth`` and ``edgemoe hls`` print.

    Args:
        report: :class:`~edgemoe.params.fit.FitReport` with the tool's counts as measured.
        tool: column title of the tool's counts (``yosys``, ``vitis``).
    """
    est = report.estimate
    rows = [[u.name, u.used, est.total(u.name), u.available, f"{u.percent:.1f}%",
             f"{u.limit_percent}%", "ok" if u.ok else "OVER"] for u in report.resources]
    return format_table(["resource", tool, "model estimate", "board", "used", "limit", "fit"],
                        rows)


def _fit_cell(accel: AccelConfig, board_key: str) -> str:
    report = accel.retarget(board_key).fit_report()
    mark = "*" if board_key == accel.board.key else ""
    if report.fits:
        worst = report.worst
        return f"ok {worst.name} {worst.percent:.0f}%{mark}"
    return "NO " + ",".join(u.name for u in report.resources if not u.ok) + mark


def describe_all(
    accels: Sequence[AccelConfig] | None = None,
    models: Sequence[ModelConfig] | None = None,
) -> str:
    """Tables of every design point: identity and engines, formats, and fit on every board.

    Args:
        accels: Design points to show (default: every file in ``configs/accel/``).
        models: Models to check (default: every file in ``configs/models/``).

    Returns:
        Multi-line text.
    """
    accels = list(accels) if accels is not None else [load_accel(n) for n in list_accels()]
    models = list(models) if models is not None else [load_model(n) for n in list_models()]
    boards = load_boards()

    rows = []
    for a in accels:
        runs = [m.name for m in models if not a.model_problems(m)]
        rows.append([
            a.name, a.config_id, a.board.key, f"{a.clock_mhz:g}",
            f"{a.linear_p_in}x{a.linear_p_out}", a.attn_lanes, a.vector_lanes, a.axi_bits,
            a.max_tokens, f"{a.max_in_features}/{a.max_out_features}",
            f"{a.max_experts}/top{a.max_top_k}", a.weight_buffer_words,
            ", ".join(runs) or "-",
        ])
    engines = format_table(
        ["design", "config_id", "board", "MHz", "linear", "attn", "vec", "axi", "tokens",
         "in/out", "experts", "wbuf", "runs"], rows)

    fmt_rows = [[a.name] + [str(getattr(a.formats, r)) for r in FORMAT_ROLES] for a in accels]
    formats = format_table(["design", *FORMAT_ROLES], fmt_rows)

    fit_rows = []
    for a in accels:
        fit_rows.append([a.name] + [_fit_cell(a, key) for key in boards])
    fits = format_table(["design \\ board", *boards], fit_rows)

    est_rows = []
    for a in accels:
        r = a.fit_report()
        est_rows.append([a.name, a.board.key] + [f"{u.used} ({u.percent:.0f}%)"
                                                  for u in r.resources])
    estimates = format_table(["design", "board", "LUT", "FF", "DSP", "BRAM36", "URAM"], est_rows)

    return "\n\n".join([
        "Design points (configs/accel)\n" + engines,
        "Fixed-point formats\n" + formats,
        "Estimated resources on the design point's own board\n" + estimates,
        "Fit on every board (closure limits LUT 70%, FF 50%, DSP/BRAM36/URAM 80%; "
        "'ok R n%' = resource R closest to its limit; * = the design point's own board)\n"
        + fits,
    ]) + "\n"
