"""The command line: one sub-command per user task; each is a thin layer over a library function."""
from __future__ import annotations

import argparse
import sys

from ..errors import GenlabError
from .commands import COMMAND_MODULES, command_module, top_parser


def build_parser(argv: list[str] | None = None) -> argparse.ArgumentParser:
    """The parser of every command; with ``argv``, only the module of the command named in it is
    imported and the other commands are listed from the catalogue (name and help), because
    several command modules import torch or the apps to show their defaults (seconds)."""
    parser, sub = top_parser()
    table = None
    if argv is not None:
        from .catalog import read

        table = (read() or {}).get("commands")
    command = next((str(a) for a in argv if not str(a).startswith("-")), None) if argv is not None else None
    known = {c["name"]: c["module"] for c in table or ()}
    if not table or (command is not None and command not in known):
        for name in COMMAND_MODULES:  # everything (also when the catalogue misses a command)
            command_module(name).add_parser(sub)
        return parser
    chosen = known.get(command)
    for entry in table:
        if entry["name"] in sub.choices:
            continue
        if entry["module"] == chosen:
            command_module(chosen).add_parser(sub)
        else:  # listed by `genlab --help`; never parsed, since its module is not the one asked for
            sub.add_parser(entry["name"], **({"help": entry["help"]} if entry["help"] is not None else {}))
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser(sys.argv[1:] if argv is None else list(argv))
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        with plain_warnings():
            return int(args.func(args) or 0)
    except GenlabError as exc:
        from ..errors import Interrupted

        if isinstance(exc, Interrupted):    # Ctrl-C during training: what was saved, and how to go on
            print(f"genlab: {exc}", file=sys.stderr)
            return 130
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


class plain_warnings:
    """A warning while a command runs (a short run, skipped files in a data folder) as one
    ``genlab: warning: ...`` line on stderr, not Python's file:line form."""

    def __enter__(self):
        import warnings

        self._saved = warnings.showwarning

        def show(message, category, filename, lineno, file=None, line=None):
            print(f"genlab: warning: {message}", file=sys.stderr, flush=True)

        warnings.showwarning = show
        return self

    def __exit__(self, *exc):
        import warnings

        warnings.showwarning = self._saved
        return False


if __name__ == "__main__":
    sys.exit(main())
