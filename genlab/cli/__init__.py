"""The command line: one sub-command per user task; each is a thin layer over a library function."""
from __future__ import annotations

import argparse
import sys

from ..errors import GenlabError


def build_parser() -> argparse.ArgumentParser:
    from .._version import __version__
    from . import apps, conv, evaluate, gan, gan_use, info, judge, latent, train, use

    parser = argparse.ArgumentParser(
        prog="genlab", description="Train, inspect and apply classic deep generative models.")
    parser.add_argument("--version", action="version", version=f"genlab {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in (train, use, latent, apps, evaluate, judge, info, conv, gan_use, gan):
        module.add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except GenlabError as exc:
        print(f"genlab: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("genlab: interrupted; a run can be continued with `genlab train --resume RUN`", file=sys.stderr)
        return 130
    except Exception as exc:  # Lightning's own configuration errors are user mistakes too
        if type(exc).__name__ == "MisconfigurationException":
            print(f"genlab: error: {str(exc).splitlines()[0]}", file=sys.stderr)
            return 2
        raise


if __name__ == "__main__":
    sys.exit(main())
