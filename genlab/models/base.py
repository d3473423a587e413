"""The model contract: a config dataclass, a list of players, and capability methods."""
from __future__ import annotations

import dataclasses
import functools
import inspect
import io
import tokenize
import typing
from dataclasses import dataclass, field
from typing import Annotated, Callable, Iterable, Literal

import torch
from torch import Tensor, nn

from ..errors import CapabilityError, ConfigError, DataError, did_you_mean

CAPABILITIES = ("encode", "decode", "reconstruct", "sample", "log_prob", "translate", "segment")


@dataclass(frozen=True)
class Range:
    """The values a numeric config field allows, declared beside it and checked by :func:`coerce`
    (``--set``, ``create(**kw)``, ``from_dict``): ``Annotated[float, Range(0)]`` is ≥ 0,
    ``Range(0, 1)`` is [0, 1], ``Range(0, low_open=True)`` is > 0. On a tuple it bounds each item;
    None (an optional field's "use the recipe") is always allowed."""

    low: float | None = None
    high: float | None = None
    low_open: bool = False
    high_open: bool = False

    def __contains__(self, value) -> bool:
        if self.low is not None and (value <= self.low if self.low_open else value < self.low):
            return False
        return not (self.high is not None and (value >= self.high if self.high_open else value > self.high))

    def __str__(self) -> str:
        low, high = _number(self.low), _number(self.high)
        if self.high is None:
            return f"{'>' if self.low_open else '≥'} {low}"
        if self.low is None:
            return f"{'<' if self.high_open else '≤'} {high}"
        return f"in {'(' if self.low_open else '['}{low}, {high}{')' if self.high_open else ']'}"


def _number(value) -> str:
    return str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)


@dataclass
class ModelConfig:
    """Fields every model has. Image shape and classes come from the data."""

    image_shape: Annotated[tuple[int, int, int], Range(1)] = (1, 28, 28)   # channels, height, width; set from the data
    num_classes: Annotated[int, Range(0)] = 0   # classes of the labels (0: unlabelled data); set from the data
    lr: Annotated[float, Range(0, low_open=True)] = 1e-3   # the optimiser's learning rate

    def to_dict(self) -> dict:
        return {f.name: _jsonable(getattr(self, f.name)) for f in dataclasses.fields(self)}

    @classmethod
    def data_values(cls, data) -> dict:
        """The values a model built for ``data`` (an ImageData) takes from it: its image shape and
        number of classes; image-to-image configs add what the pairs say (output channels, task)."""
        if data.target is not None:
            task = data.meta.get("task")
            given = f"--task {task}" if task and task != "paired" else "paired:DIR_IN,DIR_OUT data"
            raise DataError(f"this model learns from images alone, but {data.name or 'the data'} holds (input, target) "
                            f"pairs ({given}); drop the task, or train an image-to-image model (unet, pix2pix, "
                            "srresnet, srgan, context-encoder)")
        return {"image_shape": tuple(data.shape), "num_classes": data.num_classes}

    @classmethod
    def from_dict(cls, values: dict) -> "ModelConfig":
        known = {f.name for f in dataclasses.fields(cls)}
        kwargs = {}
        for key, value in values.items():
            if key not in known:
                raise _unknown_key(cls, key, known)
            kwargs[key] = coerce(cls, key, value)
        return cls(**kwargs)

    def resolved(self) -> dict:
        """The values in force: ``to_dict()`` with every "auto"/None that a model resolves itself
        (a recipe's learning rate, an automatic normalisation) replaced by what it resolves to."""
        return self.to_dict()

    def replace(self, **changes) -> "ModelConfig":
        values = self.to_dict()
        values.update(changes)
        return type(self).from_dict(values)


def _jsonable(value):
    if isinstance(value, tuple):
        return list(value)
    return value


def field_types(cls) -> dict:
    hints = typing.get_type_hints(cls)
    return {f.name: hints[f.name] for f in dataclasses.fields(cls)}


def field_ranges(cls) -> dict[str, Range]:
    """The declared :class:`Range` of each field that has one (``Annotated[float, Range(0)]``)."""
    hints = typing.get_type_hints(cls, include_extras=True)
    out = {}
    for f in dataclasses.fields(cls):
        kind = hints[f.name]
        if typing.get_origin(kind) is Annotated:
            found = [m for m in kind.__metadata__ if isinstance(m, Range)]
            if found:
                out[f.name] = found[0]
    return out


def field_meanings(cls) -> dict[str, str]:
    """What each field means: the ``# ...`` comment beside it in the source, or the comment lines
    just above it; a field redeclared without one (a new default) keeps its parent class's.
    Fields with no comment anywhere are left out (a test requires one for every registered config)."""
    out = {}
    for f in dataclasses.fields(cls):
        for klass in cls.__mro__:
            text = _class_comments(klass).get(f.name)
            if text:
                out[f.name] = text
                break
    return out


@functools.lru_cache(maxsize=None)
def _class_comments(klass) -> dict[str, str]:
    """``field -> comment`` for the fields annotated in ``klass``'s own body (read with tokenize)."""
    if klass is object or "__annotations__" not in vars(klass):
        return {}
    try:
        source = inspect.getsource(klass)
    except (OSError, TypeError):   # no source: a class made at run time, an install without .py files
        return {}
    tokens = list(tokenize.generate_tokens(io.StringIO(source).readline))
    indents = [t.end[1] for t in tokens if t.type == tokenize.INDENT]
    body = indents[0] if indents else None
    out, above, logical = {}, [], []
    for tok in tokens:
        if tok.type == tokenize.COMMENT and not logical:          # a comment on a line of its own
            above.append(tok.string.lstrip("#").strip())
        elif tok.type == tokenize.NL and not logical:
            if tok.line.strip() == "":                             # a blank line ends a comment block
                above = []
        elif tok.type in (tokenize.NEWLINE, tokenize.ENDMARKER):
            if len(logical) > 2 and logical[0].type == tokenize.NAME and logical[1].string == ":" \
                    and logical[0].start[1] == body:
                beside = [t.string.lstrip("#").strip() for t in logical if t.type == tokenize.COMMENT]
                text = " ".join(beside) or " ".join(above)
                if text:
                    out[logical[0].string] = text
            logical, above = [], []
        elif tok.type not in (tokenize.INDENT, tokenize.DEDENT, tokenize.NL, tokenize.ENCODING):
            logical.append(tok)
    return out


def coerce(cls, key: str, value):
    """Convert ``value`` (a string from ``--set`` or a JSON value) to the declared type of ``key``,
    within the field's declared :class:`Range`."""
    kind = field_types(cls)[key]
    try:
        result = _coerce(kind, value)
    except _NotAChoice as exc:  # the choices themselves say what is allowed; no repeat in other words
        raise ConfigError(
            f"bad value {value!r} for {cls.__name__}.{key}: expected {_type_name(kind)}"
            f"{did_you_mean(exc.value, exc.choices)}"
        ) from None
    except (ValueError, TypeError) as exc:
        detail = f" ({exc})" if str(exc) else ""
        raise ConfigError(f"bad value {value!r} for {cls.__name__}.{key}: expected {_type_name(kind)}{detail}") from None
    allowed = field_ranges(cls).get(key)
    if allowed is not None and result is not None:
        many = isinstance(result, (tuple, list))
        if not all(item in allowed for item in (result if many else (result,))):
            meaning = field_meanings(cls).get(key)
            shown = value if isinstance(value, str) else repr(value)
            raise ConfigError(f"bad value {shown} for {cls.__name__}.{key}: {'each item ' if many else ''}must be "
                              f"{allowed}" + (f" ({meaning})" if meaning else ""))
    return result


def _unknown_key(cls, key: str, known) -> ConfigError:
    return ConfigError(
        f"unknown config key {key!r} for {cls.__name__}{did_you_mean(key, sorted(known))}"
        f" (valid keys: {', '.join(sorted(known))})"
    )


class _NotAChoice(ValueError):
    """A value outside a ``Literal``'s choices (kept apart so the message can suggest the closest)."""

    def __init__(self, value, choices):
        super().__init__(f"not one of {', '.join(map(str, choices))}")
        self.value, self.choices = value, choices


def type_name(kind) -> str:
    """A declared type as the error messages name it: "int", "float or none", "one of 'bce', 'mse'"."""
    return _type_name(kind)


def _type_name(kind) -> str:
    origin = typing.get_origin(kind)
    if origin is Annotated:
        return _type_name(typing.get_args(kind)[0])
    if origin is typing.Literal:
        return "one of " + ", ".join(map(repr, typing.get_args(kind)))
    if origin is typing.Union:  # Optional[X] reads as "X or none"
        args = [a for a in typing.get_args(kind) if a is not type(None)]
        if len(args) == 1:
            return f"{_type_name(args[0])} or none"
    if origin in (tuple, list):
        args = [a for a in typing.get_args(kind) if a is not Ellipsis]
        if args:
            return f"{origin.__name__} of {_type_name(args[0])}"
    return getattr(kind, "__name__", str(kind))


def _coerce(kind, value):
    origin = typing.get_origin(kind)
    if origin is typing.Literal:
        choices = typing.get_args(kind)
        if value not in choices:
            raise _NotAChoice(value, choices)
        return value
    if origin in (tuple, list):
        args = typing.get_args(kind)
        if isinstance(value, str):
            value = [v for v in value.replace("x", ",").split(",") if v.strip()]
        inner = args[0] if args else str
        items = [_coerce(inner, v) for v in value]
        if origin is tuple and args and args[-1] is not Ellipsis and len(args) != len(items):
            raise ValueError(f"needs {len(args)} items, got {len(items)}")
        return tuple(items) if origin is tuple else items
    if origin is typing.Union:  # Optional[...]
        args = [a for a in typing.get_args(kind) if a is not type(None)]
        if value is None or (isinstance(value, str) and value.lower() in ("none", "null", "")):
            return None
        return _coerce(args[0], value)
    if kind is bool:
        if isinstance(value, bool):
            return value
        text = str(value).lower()
        if text in ("1", "true", "yes", "on"):
            return True
        if text in ("0", "false", "no", "off"):
            return False
        raise ValueError("not a boolean (use true or false)")
    if kind is int:
        if isinstance(value, bool):
            raise ValueError("not an integer")
        if isinstance(value, float) and not value.is_integer():
            raise ValueError("not an integer")
        try:
            return int(value)
        except ValueError:
            raise ValueError("") from None  # the message's "expected int" says it all
    if kind is float:
        if isinstance(value, bool):
            raise ValueError("not a number")
        try:
            return float(value)
        except ValueError:
            raise ValueError("") from None
    if kind is str:
        if not isinstance(value, str):
            raise ValueError("not a string")
        return value
    return value


def parse_overrides(config_class, pairs: Iterable[str]) -> dict:
    """``["latent_dim=2", "kl_weight=0.5"]`` -> validated dict of typed values."""
    known = {f.name for f in dataclasses.fields(config_class)}
    out = {}
    for pair in pairs:
        if "=" not in pair:
            raise ConfigError(f"--set expects key=value, got {pair!r}")
        key, value = pair.split("=", 1)
        key = key.strip().replace("-", "_")
        if key not in known:
            raise _unknown_key(config_class, key, known)
        out[key] = coerce(config_class, key, value.strip())
    return out


@dataclass
class Player:
    """One optimised party of a model: an AE has one, a GAN two, CycleGAN four.

    ``loss(batch)`` returns a dict whose ``loss`` is minimised; other entries are logged.
    ``steps`` is how many optimiser steps it takes per training step (the GAN's k).
    """

    name: str
    parameters: list
    optimizer: torch.optim.Optimizer
    loss: Callable[[dict], dict]
    steps: int = 1
    after_step: Callable[[], None] | None = None
    clip_grad_norm: float | None = None
    # learning-rate factor for the share of the epochs already done (0 at the start, < 1 after),
    # applied by the engine at each epoch start to the optimiser's first rate
    lr_schedule: Callable[[float], float] | None = None
    extras: dict = field(default_factory=dict)

    def step(self, batch: dict, backward: Callable[[Tensor], None] | None = None, *,
             optimizer: torch.optim.Optimizer | None = None, grad_norm: bool = False) -> dict:
        """One optimiser step on ``batch`` (gradient clipping and ``after_step`` included) with
        ``backward`` (default ``loss.backward()``) and ``optimizer`` (default this player's, or a
        wrapper of it such as the trainer's); returns the loss dict, with ``grad_norm`` (the
        gradient's norm before clipping) when asked. ``steps`` is the caller's."""
        out = self.loss(batch)
        optimizer = optimizer or self.optimizer
        optimizer.zero_grad(set_to_none=True)
        (backward or Tensor.backward)(out["loss"])
        if grad_norm:
            grads = [p.grad for p in self.parameters if p.grad is not None]
            out = {**out, "grad_norm": torch.nn.utils.get_total_norm(grads) if grads else out["loss"].new_zeros(())}
        if self.clip_grad_norm:
            torch.nn.utils.clip_grad_norm_(self.parameters, self.clip_grad_norm)
        optimizer.step()
        if self.after_step is not None:
            self.after_step()
        return out


@dataclass(frozen=True)
class LabelSpace:
    """What the ``y`` of a model's capabilities is: declared once by the model.

    ``kind``: "classes" (a class it is conditioned on: cvae, cgan, acgan), "code" (a
    categorical code it draws itself, learned without labels: infogan's c1), "domains" (the target
    domain of an unpaired translation: cyclegan) or "attributes" (the target attributes of a
    multi-domain translation, several at once: stargan, whose ``y`` is N×K 0/1). ``size`` values
    0…size−1; ``meaning`` names them in messages ("digit class", "categorical code c1");
    ``names`` optional display names, one per value.
    """

    kind: Literal["classes", "code", "domains", "attributes"]
    size: int
    meaning: str = "class"
    names: tuple[str, ...] | None = None


SIGNATURES = {
    # capability -> its one signature (parameter names after self, keyword-only ones after *)
    "sample": "(n, y=None, *, temperature=1.0, generator=None)",
    "encode": "(x, y=None)",
    "decode": "(z, y=None)",
    "reconstruct": "(x, y=None)",
    "log_prob": "(x, y=None)",
    "translate": "(x, y=None)",
    "segment": "(x)",
}


class GenerativeModel(nn.Module):
    """Base class. Subclasses set ``config_class`` (via @register) and implement ``players``.

    Capabilities are plain methods with one signature each (:data:`SIGNATURES`); a model has only
    those that make sense. ``y`` is checked by :meth:`labels` against :attr:`label_space`.
    """

    registry_name: str = ""
    config_class: type = ModelConfig
    missing_capability_hints: dict = {}   # capability -> what to do instead, added to refusals
    default_epochs: int = 10              # what `genlab train` runs without --epochs
    default_batch_size: int = 128         # what ``train`` uses without a batch size
    # optimiser steps below which a run warns it is too short; None: half the steps of the default
    # (default_epochs at default_batch_size on mnist5k's 4,000 training images, where it was calibrated)
    min_steps: int | None = None
    # old weight-name prefixes -> new ones, for run folders written before a rename
    renamed_weights: dict[str, str] = {}

    def __init__(self, config: ModelConfig):
        super().__init__()
        self.config = config

    @property
    def image_shape(self) -> tuple[int, int, int]:
        return tuple(self.config.image_shape)

    @property
    def device(self) -> torch.device:
        for p in self.parameters():
            return p.device
        return torch.device("cpu")

    # the class names of the data the model was built for or trained on (folder names, "0".."9"
    # for digits): set by runs.create(data=...) and runs.load from config.json, for every model;
    # a class-conditional model's label_space carries them as its names
    class_names: tuple[str, ...] | None = None

    @property
    def label_space(self) -> LabelSpace | None:
        """None: the model takes no ``y``."""
        return None

    def class_label_space(self, meaning: str = "class") -> LabelSpace:
        """The label space of a class-conditional model: ``num_classes`` classes, named by
        ``class_names`` when the run knows them."""
        k, names = self.config.num_classes, self.class_names
        return LabelSpace("classes", k, meaning, tuple(names) if names and len(names) == k else None)

    def labels(self, y, n: int, *, weights: bool = False) -> Tensor | None:
        """The one validator of ``y`` for every caller: None stays None; an int, a class name (or
        its number as text, e.g. from ``--label``), one label, n labels (or, with ``weights``, n×K
        label weights) become n labels on the model's device."""
        space = self.label_space
        if y is None:
            return None
        if space is None:
            raise ConfigError(f"model {self.registry_name!r} takes no label: it is unconditional (it draws neither a "
                              "class nor a categorical code); drop --label, or train a conditional model "
                              "(cvae, cgan, acgan) or infogan")
        if isinstance(y, str):
            y = self.label_index(y)
        return as_labels(y, n, space.size, self.device, f"{self.registry_name} ({space.meaning})", weights=weights)

    def label_index(self, label: str | int) -> int:
        """The value of the label space that ``label`` names: a class name ("circle"), else a number
        0…K−1 (given as int or text); a ConfigError with the closest name otherwise."""
        space = self.label_space
        if space is None:
            return self.labels(label, 1)     # refuses it in one line
        names = list(space.names or [])
        text = str(label).strip()
        if text in names:
            return names.index(text)
        try:
            value = int(text)
        except ValueError:
            value = None
        if value is not None and 0 <= value < space.size:
            return value
        numbers = f"0…{space.size - 1}"
        shown = ", ".join(names[:12]) + (", …" if len(names) > 12 else "")
        if value is not None:
            named = names and names != [str(v) for v in range(space.size)]     # digits are their own names
            raise ConfigError(f"{space.meaning} {value} is out of range for {self.registry_name}: labels must lie in "
                              f"{numbers}" + (f" ({shown})" if named else ""))
        if names:
            raise ConfigError(f"unknown {space.meaning} {text!r} for {self.registry_name}"
                              f"{did_you_mean(text, names)} (its classes: {shown}; or their numbers {numbers})")
        raise ConfigError(f"{self.registry_name}'s {space.meaning} takes the values {numbers}, not {text!r}")

    def require_labels(self, y, n: int, *, weights: bool = False) -> Tensor:
        """:meth:`labels` for calls that cannot go without ``y`` (a class-conditional decode)."""
        if y is None:
            space = self.label_space
            example = space.names[min(1, space.size - 1)] if space.names else str(min(3, space.size - 1))
            more = ", …" if space.names and len(space.names) > 3 else ""
            values = f", a name ({', '.join(space.names[:3])}{more}) or a number 0…{space.size - 1}" if space.names \
                else f" (0…{space.size - 1})"
            raise ConfigError(f"model {self.registry_name!r} needs a {space.meaning} per image here (it draws each "
                              f"image with a {space.meaning}): give it as y{values}, e.g. `--label {example}`")
        return self.labels(y, n, weights=weights)

    def players(self) -> list[Player]:
        """Who is optimised. Closed-form models (PCA) return [] and fit in :meth:`prepare`."""
        raise NotImplementedError

    def single_player(self, name: str, loss: Callable[[dict], dict] | None = None, lr: float | None = None,
                      optimizer: torch.optim.Optimizer | None = None, **options) -> list[Player]:
        """The players of a model trained on one loss (default ``self.loss``): Adam at ``lr``
        (default the config's) on every trainable parameter, unless an ``optimizer`` is given;
        ``options`` are the other :class:`Player` fields (steps, after_step, …)."""
        params = [p for p in self.parameters() if p.requires_grad]
        if optimizer is None:
            optimizer = adam(params, self.config.lr if lr is None else lr)
        return [Player(name, params, optimizer, self.loss if loss is None else loss, **options)]

    def prepare(self, data) -> None:
        """Called once by ``train`` before the first epoch (not on resume) with the training
        ImageData: closed-form models fit here, others may initialise from the data. Models
        conditioned on classes refuse unlabelled data here."""
        space = self.label_space
        if space is not None and space.kind == "classes":
            require_labelled(self.registry_name, data, space.size)

    def on_epoch_start(self, epoch: int) -> None:
        """Called by the engine at the start of every training epoch (0-based), resumed runs
        included: schedules such as KL warm-up or layer-wise pretraining phases read it."""

    def capabilities(self) -> list[str]:
        return [c for c in CAPABILITIES if callable(getattr(self, c, None))]

    def can(self, capability: str) -> bool:
        return capability in self.capabilities()

    def require(self, capability: str, purpose: str = "") -> Callable:
        method = getattr(self, capability, None)
        if not callable(method) or capability not in self.capabilities():
            have = ", ".join(self.capabilities()) or "none"
            what = f" ({purpose})" if purpose else ""
            hint = self.missing_capability_hints.get(capability)
            raise CapabilityError(
                f"model {self.registry_name!r} cannot {capability}{what}; it can: {have}" + (f"; {hint}" if hint else "")
            )
        return method

    def preview(self, batch: dict) -> Tensor:
        """Images shown each epoch: reconstructions beside inputs, else samples."""
        x = batch["x"][:32]
        if self.can("reconstruct"):
            y = batch.get("y")
            y = y[:32] if y is not None and self.label_space is not None else None
            return torch.cat([x, self.reconstruct(x, y)], 0)
        if self.can("sample"):
            return self.sample(64)
        return x

    def check_input(self, x: Tensor) -> None:
        if tuple(x.shape[1:]) != self.image_shape:
            raise DataError(
                f"data has images of shape {tuple(x.shape[1:])} (C,H,W) but the model was built for "
                f"{self.image_shape}; use data of that shape (e.g. --image-size / --channels) or train a new model"
            )


def adam(params, lr: float, betas=(0.9, 0.999)) -> torch.optim.Optimizer:
    return torch.optim.Adam(params, lr=lr, betas=betas)


UNCONDITIONAL = {"cvae": "vae", "cgan": "dcgan", "acgan": "dcgan"}   # what to train on unlabelled data


def require_labelled(model: str, data, num_classes: int) -> None:
    """Refuse, in one line, data without labels or with more classes than a class-conditional
    model was built for."""
    if data.y is None:
        instead = UNCONDITIONAL.get(model, "an unconditional model")
        raise DataError(f"{model} trains on labelled images but {data.name or 'the data'} has no labels; use labelled "
                        f"data (e.g. mnist5k, or folder:PATH with one sub-folder per class) or train {instead}")
    if data.num_classes > num_classes:
        raise ConfigError(f"the data has {data.num_classes} classes but the model was built for "
                          f"{num_classes}; create it with the data (num_classes={data.num_classes})")


def as_labels(y, n: int, k: int, device, model: str = "model", weights: bool = True) -> Tensor:
    """``y`` as N class indices (long) or, with ``weights``, N×k class weights (float), checked.

    Accepts an int (the same class for every row), one label (repeated), N labels, or N×k weights.
    """
    if isinstance(y, int):
        y = torch.full((n,), y, dtype=torch.long)
    y = torch.as_tensor(y, device=device)
    if y.is_floating_point() and y.dim() == 2:
        if not weights:
            raise ConfigError(f"{model} takes class indices here, not N×{k} class weights")
        if y.shape[1] != k:
            raise ConfigError(f"class weights for {model} must be N×{k} (one column per class), got shape {tuple(y.shape)}")
        if len(y) != n:
            raise ConfigError(f"got {len(y)} rows of class weights for {n} images; give one row per image")
        return y
    y = y.long().reshape(-1)
    if len(y) == 1 and n != 1:
        y = y.expand(n)
    if len(y) != n:
        raise ConfigError(f"got {len(y)} labels for {n} images; give one label per image or a single label")
    if len(y) and (int(y.min()) < 0 or int(y.max()) >= k):
        bad = int(y.max()) if int(y.max()) >= k else int(y.min())
        raise ConfigError(f"labels must lie in 0…{k - 1} for this {model}; {bad} is out of range")
    return y
