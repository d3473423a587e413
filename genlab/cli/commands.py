"""Which module defines which sub-command, and the top-level parser they hang from.

Apart from genlab/cli/__init__.py so that the catalogue (which records the command list for a
quick `genlab --help`) and the parser builder can both use it without importing each other."""
from __future__ import annotations

import argparse
import importlib

# the modules that define the sub-commands, in the order `genlab --help` lists them
COMMAND_MODULES = ("train", "use", "latent", "apps", "translate", "evaluate", "judge", "info", "conv", "gan_use", "gan",
                   "autoregressive", "serve")


def top_parser() -> tuple[argparse.ArgumentParser, argparse._SubParsersAction]:
    """``genlab`` with ``--version`` and an empty list of sub-commands."""
    from .._version import __version__

    parser = argparse.ArgumentParser(
        prog="genlab", description="Train, inspect and apply classic deep generative models.")
    parser.add_argument("--version", action="version", version=f"genlab {__version__}")
    return parser, parser.add_subparsers(dest="command", metavar="COMMAND")


def command_module(name: str):
    """A module of :data:`COMMAND_MODULES`, imported now (by name: some import torch)."""
    return importlib.import_module(f"{__package__}.{name}")


def command_table() -> list[dict]:
    """Each sub-command's name, the module that defines it and its one-line help, in order."""
    table = []
    for module in COMMAND_MODULES:
        _, sub = top_parser()
        command_module(module).add_parser(sub)
        helps = {action.dest: action.help for action in sub._choices_actions}
        table += [{"name": name, "module": module, "help": helps.get(name)} for name in sub.choices]
    return table
