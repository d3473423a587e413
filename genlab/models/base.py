"""The model contract: a config dataclass, a list of players, and capability methods."""
from __future__ import annotations

import dataclasses
import typing
from dataclasses import dataclass, field
from typing import Callable, Iterable, Literal

import torch
from torch import Tensor, nn

from ..errors import CapabilityError, ConfigError, DataError, did_you_mean

CAPABILITIES = ("encode", "decode", "reconstruct", "sample", "log_prob", "translate", "segment")


@dataclass
class ModelConfig:
    """Fields every model has. Image shape and classes come from the data."""

    image_shape: tuple[int, int, int] = (1, 28, 28)
    num_classes: int = 0
    lr: float = 1e-3

    def to_dict(self) -> dict:
        return {f.name: _jsonable(getattr(self, f.name)) for f in dataclasses.fields(self)}

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


def coerce(cls, key: str, value):
    """Convert ``value`` (a string from ``--set`` or a JSON value) to the declared type of ``key``."""
    kind = field_types(cls)[key]
    try:
        return _coerce(kind, value)
    except _NotAChoice as exc:  # the choices themselves say what is allowed; no repeat in other words
        raise ConfigError(
            f"bad value {value!r} for {cls.__name__}.{key}: expected {_type_name(kind)}"
            f"{did_you_mean(exc.value, exc.choices)}"
        ) from None
    except (ValueError, TypeError) as exc:
        detail = f" ({exc})" if str(exc) else ""
        raise ConfigError(f"bad value {value!r} for {cls.__name__}.{key}: expected {_type_name(kind)}{detail}") from None


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


def _type_name(kind) -> str:
    origin = typing.get_origin(kind)
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

    ``kind``: "classes" (a class it is conditioned on: cvae, cgan, acgan) or "code" (a
    categorical code it draws itself, learned without labels: infogan's c1). ``size`` values
    0…size−1; ``meaning`` names them in messages ("digit class", "categorical code c1");
    ``names`` optional display names, one per value.
    """

    kind: Literal["classes", "code"]
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

    @property
    def label_space(self) -> LabelSpace | None:
        """None: the model takes no ``y``."""
        return None

    def labels(self, y, n: int, *, weights: bool = False) -> Tensor | None:
        """The one validator of ``y`` for every caller: None stays None; an int, one label, n
        labels (or, with ``weights``, n×K label weights) become n labels on the model's device."""
        space = self.label_space
        if y is None:
            return None
        if space is None:
            raise ConfigError(f"model {self.registry_name!r} takes no label: it is unconditional (it draws neither a "
                              "class nor a categorical code); drop --label, or train a conditional model "
                              "(cvae, cgan, acgan) or infogan")
        return as_labels(y, n, space.size, self.device, f"{self.registry_name} ({space.meaning})", weights=weights)

    def require_labels(self, y, n: int, *, weights: bool = False) -> Tensor:
        """:meth:`labels` for calls that cannot go without ``y`` (a class-conditional decode)."""
        if y is None:
            space = self.label_space
            raise ConfigError(f"model {self.registry_name!r} needs a {space.meaning} per image here (it draws each "
                              f"image with a {space.meaning}): give it as y (0…{space.size - 1}), e.g. `--label 3`")
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
        if not callable(method):
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
