"""Sections of the run report, each declared with what it needs; ``build_report`` draws, in page
order, every section that applies to the run's model.

    @section("Code activity", needs=("encode", "reconstruct", "data"), models=("sparse-ae", "ae"))
    def code_activity(report, model, data, run_dir): ...

    @section("GAN training", classes=(GAN,))    # every subclass, models registered later included
    def gan_training(report, model, data, run_dir): ...

``needs``: capabilities (``model.can``), a tuple of capabilities (any one of them), "data" (the
run's held-out images could be loaded) and "labels" (they have labels). ``label_space``: "classes"
or "code", the kind of ``model.label_space`` the section needs. ``models`` / ``classes``: only for
these registered names / model classes (a class covers its subclasses); neither: any model.
``order``: where on the page (the generic sections of ``genlab.apps.report`` use the constants
below, a family's sections come between the images and the evaluation); equal orders keep the
order of declaration. A draw function receives the Report, the loaded model, the held-out
ImageData (None when it could not be loaded) and the run folder, adds its own
``report.section(...)``, and may add nothing when it finds nothing to show. A family declares its
sections in one module of this package; they are found without being listed anywhere.
"""
from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass
from typing import Callable

from ..needs import Need, Requirement, as_need, first_unmet

# page order of the generic sections (genlab.apps.report) and of the families' ones
CONFIGURATION, RECONSTRUCTIONS, SAMPLES, LATENT_SPACE, INTERPOLATION, MANIFOLD = 0, 10, 20, 30, 40, 50
FAMILY, EVALUATION, TRAINING_CURVES, PREVIEWS = 100, 200, 300, 400

DATA = Need("data", lambda model, data: data is not None, "needs the run's held-out images")
LABELS = Need("labels", lambda model, data: data is not None and data.y is not None, "needs labelled held-out images")
NAMED = {"data": DATA, "labels": LABELS}


def label_space_need(kind: str) -> Need:
    def holds(model, data) -> bool:
        return model.label_space is not None and model.label_space.kind == kind

    return Need(f"a label space of kind {kind!r}", holds)


@dataclass(frozen=True)
class Section:
    title: str
    draw: Callable
    needs: tuple[Requirement, ...] = ()
    models: tuple[str, ...] = ()
    classes: tuple[type, ...] = ()
    label_space: str | None = None
    order: int = FAMILY

    @property
    def requirements(self) -> list[Need]:
        needs = [as_need(n, NAMED) for n in self.needs]
        return needs + ([label_space_need(self.label_space)] if self.label_space else [])

    def is_for(self, model) -> bool:
        """Whether the section is declared for ``model`` (an instance or a registered name),
        whatever it can do."""
        if not self.models and not self.classes:
            return True
        if isinstance(model, str):
            return model in self.models or (bool(self.classes) and issubclass(_model_class(model), self.classes))
        return model.registry_name in self.models or isinstance(model, self.classes)

    def unmet(self, model, data) -> Need | None:
        """The first need the model or the data does not meet; None when the section applies."""
        return first_unmet(self.requirements, model, data)

    def applies(self, model, data) -> bool:
        return self.is_for(model) and self.unmet(model, data) is None


SECTIONS: list[Section] = []


def declare(entry: Section) -> Section:
    SECTIONS.append(entry)
    return entry


def section(title: str, *, needs: tuple = (), models: tuple[str, ...] = (), classes: tuple[type, ...] = (),
            label_space: str | None = None, order: int = FAMILY):
    """Declare the decorated function as a report section (the function itself is returned)."""
    def wrap(draw: Callable) -> Callable:
        declare(Section(title, draw, tuple(needs), tuple(models), tuple(classes), label_space, order))
        return draw

    return wrap


def load_families() -> None:
    """Import every module of this package, so that their sections are declared."""
    for info in pkgutil.iter_modules(__path__):
        importlib.import_module(f"{__name__}.{info.name}")


def page(model) -> list[Section]:
    """The sections declared for ``model`` (an instance or a registered name), in page order."""
    load_families()
    return sorted((s for s in SECTIONS if s.is_for(model)), key=lambda s: s.order)


def sections_for(model) -> list[Callable]:
    """The draw functions of the sections a family declared for ``model`` (an instance or a
    registered name), in page order: those restricted to model names or classes."""
    return [s.draw for s in page(model) if s.models or s.classes]


def label_names(model, data=None) -> list[str]:
    """Display names of the values of the model's label space: its own names (the run's class
    names), else for classes the data's class names when there are as many, else 0…K−1 (a
    categorical code's values, infogan's c1, are numbers: they are not matched to classes)."""
    space = model.label_space
    if space.names:
        return list(space.names)
    names = list(data.classes or []) if data is not None and space.kind == "classes" else []
    return names if len(names) == space.size else [str(c) for c in range(space.size)]


def class_names(model, data=None, k: int | None = None) -> list[str]:
    """Names of class indices 0…k−1 for legends and tables of any model: the run's class names
    (``model.class_names``), else the data's, else the numbers."""
    names = list(model.class_names or []) or list(getattr(data, "classes", None) or [])
    k = len(names) if k is None else k
    return names[:k] if len(names) >= k else names + [str(c) for c in range(len(names), k)]


def per_class(data, n: int):
    """``n`` images of ``data`` spread over its classes: the first image of each class in class
    order, then the second of each, ...; unlabelled data: ``n`` evenly spaced images."""
    import torch

    if data.y is None or len(data) == 0:
        return data.spread(n)
    order = torch.argsort(data.y, stable=True)                 # by class, each class in data order
    y = data.y[order]
    first = torch.searchsorted(y, y, right=False)              # where each image's class starts
    rank = torch.arange(len(y)) - first                        # its place within its class
    pick = order[torch.argsort(rank * (int(y.max()) + 1) + y, stable=True)][:n]
    return data.subset(pick)


def _model_class(name: str) -> type:
    from ...errors import GenlabError
    from ...registry import get

    try:
        return get(name).model_class
    except GenlabError:
        return type(None)


__all__ = ["Section", "section", "declare", "page", "sections_for", "load_families", "label_names", "class_names",
           "per_class", "SECTIONS", "DATA", "LABELS", "CONFIGURATION", "RECONSTRUCTIONS", "SAMPLES", "LATENT_SPACE",
           "INTERPOLATION", "MANIFOLD", "FAMILY", "EVALUATION", "TRAINING_CURVES", "PREVIEWS"]
