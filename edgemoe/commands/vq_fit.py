"""`edgemoe vq-fit`: A2ATS query-aware key codebooks per block and head."""

from __future__ import annotations

import logging

from ._argtypes import add_trained_model_options, positive_int

log = logging.getLogger(__name__)


def _run(args) -> int:
    from ..data import trained_weights
    from ..models import load_weights
    from ..params import load_model
    from ..seeds.codebook_file import write_codebooks
    from ..seeds.vq_fit import fit_model_codebooks

    if not str(args.out).endswith(".npz"):
        raise ValueError(f"--out {args.out}: the codebook file must end in .npz")
    model = load_model(args.model)
    if model.kind != "m3vit":
        raise ValueError(f"model '{model.name}' has no attention to quantise (kind "
                         f"'{model.kind}'); use an m3vit model")
    weights = load_weights(args.weights or trained_weights(args.model), model)
    centres, transform, meta = fit_model_codebooks(model, weights, args.codebook, args.calib,
                                                   args.seed)
    write_codebooks(args.out, centres, transform, meta)
    log.info("wrote %s: %d blocks x %d heads x %d codes", args.out, *centres.shape[:3])
    return 0


def register(sub) -> None:
    p = sub.add_parser("vq-fit", help="fit query-aware key codebooks (A2ATS) for top-k attention",
                       description="Fit one key codebook per block and head: k-means on keys "
                       "transformed by the Cholesky factor of the calibration queries' second "
                       "moment, so codes minimise the expected attention-score error. "
                       "Calibration queries and keys come from the float reference on the "
                       "synthetic training scenes (all tasks). Writes an .npz "
                       "(format: docs/seeds.md).")
    add_trained_model_options(p)
    p.add_argument("--codebook", type=positive_int, default=32, metavar="C",
                   help="codewords per head (default 32)")
    p.add_argument("--calib", type=positive_int, default=8, metavar="N",
                   help="calibration scenes (default 8)")
    p.add_argument("--seed", type=int, default=0, help="k-means++ seed (default 0)")
    p.add_argument("--out", default="codebooks.npz", help="output .npz (default codebooks.npz)")
    p.set_defaults(func=_run)
