"""`edgemoe deploy`: copy a deploy package plus the runtime to a PYNQ board."""

from __future__ import annotations


def _run(args) -> int:
    from ..host.deploy import deploy

    commands = deploy(args.package, args.target)
    where = args.target
    print(f"deployed {args.package} to {where}"
          + (f" ({len(commands)} remote commands)" if commands else ""))
    print("on the board: open edgemoe_board.ipynb in Jupyter (its folder holds the runtime)")
    return 0


def register(sub) -> None:
    p = sub.add_parser("deploy", help="copy a deploy package + runtime to a board",
                       description="Copy bitstreams/<name>/, the edgemoe runtime, configs and "
                       "the board notebook to user@board:/path (rsync, else scp) or a local "
                       "folder.")
    p.add_argument("--package", required=True, metavar="DIR", help="deploy package folder")
    p.add_argument("--target", required=True,
                   help="user@board:/home/xilinx/edgemoe or a local directory")
    p.set_defaults(func=_run)
