"""Model-specific sections of the run report, registered per model name or model class.

    @report_section("sparse-ae", "ae")
    def activations(report, model, data, run_dir): ...

    @report_section(GAN)        # every registered model that is a subclass, later ones included
    def game(report, model, data, run_dir): ...

Each function receives the Report, the loaded model, the held-out ImageData and the run folder,
and adds its own ``report.section(...)``. A family's sections live in one module of this package.
"""
from __future__ import annotations

import importlib
import pkgutil
from typing import Callable

_SECTIONS: dict[str, list[Callable]] = {}
_CLASS_SECTIONS: list[tuple[type, Callable]] = []


def report_section(*targets: str | type):
    """Register a section for model names and/or model classes (a class covers its subclasses)."""
    def wrap(fn: Callable) -> Callable:
        for target in targets:
            if isinstance(target, type):
                _CLASS_SECTIONS.append((target, fn))
            else:
                _SECTIONS.setdefault(target, []).append(fn)
        return fn

    return wrap


def sections_for(model_name: str) -> list[Callable]:
    from ...errors import GenlabError
    from ...registry import get

    for info in pkgutil.iter_modules(__path__):
        importlib.import_module(f"{__name__}.{info.name}")
    found = list(_SECTIONS.get(model_name, []))
    try:
        model_class = get(model_name).model_class
    except GenlabError:
        return found
    return found + [fn for base, fn in _CLASS_SECTIONS if issubclass(model_class, base) and fn not in found]


__all__ = ["report_section", "sections_for"]
