"""User-facing errors: each message says what was wrong and what to do."""
from __future__ import annotations

import difflib
from typing import Iterable


def suggest(word, choices: Iterable, cutoff: float = 0.6):
    """The choice closest to ``word`` (case-insensitive; ``-`` and ``_`` alike), or None when none is close.

    >>> suggest("vea", ["vae", "gan"]), suggest("DCGAN", ["dcgan"]), suggest("xyz", ["vae"])
    ('vae', 'dcgan', None)
    """
    def norm(text) -> str:
        return str(text).lower().replace("_", "-")

    by_norm: dict[str, object] = {}
    for choice in choices:
        by_norm.setdefault(norm(choice), choice)
    key = norm(word)
    if key in by_norm:
        return by_norm[key]
    close = difflib.get_close_matches(key, list(by_norm), n=1, cutoff=cutoff)
    return by_norm[close[0]] if close else None


def did_you_mean(word, choices: Iterable) -> str:
    """``"; did you mean 'vae'?"`` when a choice is close to ``word``, else ``""``."""
    match = suggest(word, choices)
    return f"; did you mean {match!r}?" if match is not None else ""


class GenlabError(Exception):
    """A mistake the user can fix; the CLI prints the message alone and exits with status 2."""


class UnknownModelError(GenlabError):
    pass


class DataError(GenlabError):
    pass


class ConfigError(GenlabError):
    pass


class CapabilityError(GenlabError):
    pass


class CheckpointError(GenlabError):
    pass


class RunFolderError(GenlabError):
    pass


class TrainingDiverged(GenlabError):
    pass


class Interrupted(GenlabError):
    """Training stopped by Ctrl-C (SIGINT). ``epoch``: the epoch it stopped in (from 1);
    ``epochs_done``: the finished epochs saved in the run folder's checkpoint (0: nothing to resume);
    ``run_dir``: the run folder, None when training wrote none. The CLI exits with status 130."""

    def __init__(self, message: str, *, epoch: int, epochs_done: int, run_dir=None):
        super().__init__(message)
        self.epoch, self.epochs_done, self.run_dir = epoch, epochs_done, run_dir
