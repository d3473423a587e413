"""Model registry: name -> (model class, config class).

Ground layer: it imports no model. A model file registers itself with ``@register`` when it is
imported; the built-in models are imported by the package root (``import genlab``, which every
``genlab.*`` import runs first), so the table is full before anyone asks it."""
from __future__ import annotations

from dataclasses import dataclass

from .errors import UnknownModelError, suggest

_REGISTRY: dict[str, "Entry"] = {}


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
        match = suggest(name, sorted(_REGISTRY))
        if match is not None:
            raise UnknownModelError(
                f"unknown model {name!r}; did you mean {match!r}? (`genlab models` lists all {len(_REGISTRY)})"
            )
        known = ", ".join(sorted(_REGISTRY))
        raise UnknownModelError(f"unknown model {name!r}; choose one of: {known} (see `genlab models`)")
    return _REGISTRY[name]


def names() -> list[str]:
    return sorted(_REGISTRY)


def entries() -> list[Entry]:
    return [_REGISTRY[n] for n in sorted(_REGISTRY)]
