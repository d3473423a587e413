"""Model-specific sections of the run report, registered per model name.

    @report_section("sparse-ae", "ae")
    def activations(report, model, data, run_dir): ...

Each function receives the Report, the loaded model, the held-out ImageData and the run folder,
and adds its own ``report.section(...)``. A family's sections live in one module of this package.
"""
from __future__ import annotations

import importlib
import pkgutil
from typing import Callable

_SECTIONS: dict[str, list[Callable]] = {}


def report_section(*model_names: str):
    def wrap(fn: Callable) -> Callable:
        for name in model_names:
            _SECTIONS.setdefault(name, []).append(fn)
        return fn

    return wrap


def sections_for(model_name: str) -> list[Callable]:
    for info in pkgutil.iter_modules(__path__):
        importlib.import_module(f"{__name__}.{info.name}")
    return list(_SECTIONS.get(model_name, []))


__all__ = ["report_section", "sections_for"]
