"""Model registry: name -> (model class, config class).

Ground layer: no model is imported by name here. A model file registers itself with ``@register``
when it is imported; the built-in models (the package ``genlab.models``) are imported on the first
lookup (``get``, ``names``, ``entries``), so the table is full whenever it is asked, while
``import genlab`` and the quick commands (``genlab --help``) never load torch."""
from __future__ import annotations

import importlib
from dataclasses import dataclass

from .errors import UnknownModelError, suggest

_REGISTRY: dict[str, "Entry"] = {}
BUILTIN_MODELS = "genlab.models"   # imported by name (importlib): the ground layer imports no model module
_builtins_loaded = False


def _load_builtins() -> None:
    global _builtins_loaded
    if not _builtins_loaded:
        _builtins_loaded = True   # first: a lookup made while the models import must not import them again
        try:
            importlib.import_module(BUILTIN_MODELS)
        except BaseException:
            _builtins_loaded = False
            raise


@dataclass(frozen=True)
class Entry:
    name: str
    model_class: type
    config_class: type
    summary: str


def register(name: str, config_class: type, summary: str = ""):
    """Class decorator: ``@register("vae", VAEConfig, "one line")`` on a GenerativeModel."""

    def wrap(model_class):
        if name in _REGISTRY and _REGISTRY[name].model_class is not model_class:
            raise ValueError(f"model name {name!r} registered twice")
        doc = summary or (model_class.__doc__ or "").strip().splitlines()[0]
        _REGISTRY[name] = Entry(name, model_class, config_class, doc)
        model_class.registry_name = name
        model_class.config_class = config_class
        return model_class

    return wrap


def get(name: str) -> Entry:
    if name not in _REGISTRY:
        _load_builtins()
    if name not in _REGISTRY:
        raise unknown_model(name, _REGISTRY)
    return _REGISTRY[name]


def unknown_model(name: str, known) -> UnknownModelError:
    """The one message for a model name that is not registered (also used by the catalogue)."""
    known = sorted(known)
    match = suggest(name, known)
    if match is not None:
        return UnknownModelError(f"unknown model {name!r}; did you mean {match!r}? (`genlab models` lists all {len(known)})")
    return UnknownModelError(f"unknown model {name!r}; choose one of: {', '.join(known)} (see `genlab models`)")


def names() -> list[str]:
    _load_builtins()
    return sorted(_REGISTRY)


def entries() -> list[Entry]:
    _load_builtins()
    return [_REGISTRY[n] for n in sorted(_REGISTRY)]
