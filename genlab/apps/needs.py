"""What a report section or an evaluation metric needs, declared beside it and checked in one place.

A need is a capability name (``"encode"``: the model has it), a tuple of names (any one of them),
or a :class:`Need`: a predicate over the model and the caller's context (the held-out data for a
report section, the evaluation for a metric) with the reason given when it does not hold.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Sequence, Union


@dataclass(frozen=True)
class Need:
    name: str
    holds: Callable[[Any, Any], bool]               # (model, context) -> bool
    why_not: str | Callable[[Any, Any], str] = ""   # the reason, or (model, context) -> the reason

    def reason(self, model, context) -> str:
        return self.why_not(model, context) if callable(self.why_not) else (self.why_not or f"needs {self.name}")


Requirement = Union[str, tuple, Need]


def capability(name: str, what: str = "") -> Need:
    """The model has the capability ``name``; ``what`` names what the caller wanted from it
    ("generated samples") in the refusal."""
    def why_not(model, context) -> str:
        have = ", ".join(model.capabilities()) or "nothing"
        hint = model.missing_capability_hints.get(name)
        return (f"needs {what or name}; {model.registry_name} cannot {name} (it can: {have})"
                + (f"; {hint}" if hint else ""))

    return Need(name, lambda model, context: name in model.capabilities(), why_not)


def any_capability(names: tuple[str, ...]) -> Need:
    def why_not(model, context) -> str:
        return (f"needs one of {', '.join(names)}; {model.registry_name} can: "
                f"{', '.join(model.capabilities()) or 'nothing'}")

    return Need(" or ".join(names), lambda model, context: bool(set(names) & set(model.capabilities())), why_not)


def as_need(requirement: Requirement, named: dict[str, Need] | None = None, what: str = "") -> Need:
    """A :class:`Need` from a declaration: a name in ``named`` (the caller's own needs such as
    "data"), else a capability; a tuple is any one of its capabilities."""
    if isinstance(requirement, Need):
        return requirement
    if isinstance(requirement, tuple):
        return any_capability(requirement)
    if named and requirement in named:
        return named[requirement]
    return capability(requirement, what)


def first_unmet(needs: Sequence[Need], model, context) -> Need | None:
    """The first need that does not hold (in declared order, so later ones are not evaluated)."""
    for need in needs:
        if not need.holds(model, context):
            return need
    return None
