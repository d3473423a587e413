"""Display names, directions and one number format for every figure genlab prints.

metrics.csv keys (``train/loss_epoch``, ``val/discriminator_d_real``, ``diag/duplicate_rate_epoch``,
``train/generator_grad_norm_epoch``) and evaluation keys (``fid``, ``class_entropy``) are for files;
people read "held-out loss", "D(x)", "near-duplicates ↓". The report, `genlab eval`, `compare`,
`bench` and the end-of-training line all name figures through :func:`display` and print them
through :func:`fmt`, so the same figure reads the same everywhere.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

__all__ = ["Name", "LOWER", "HIGHER", "ARROWS", "display", "training_key", "fmt", "direction_legend"]

LOWER, HIGHER = "lower", "higher"
ARROWS = {LOWER: "↓", HIGHER: "↑", "": ""}


@dataclass(frozen=True)
class Name:
    """How a figure is shown: ``label`` ("FID"), ``direction`` ("lower" / "higher" is better, or ""
    when neither is, e.g. a loss term that trades against another), ``note`` (unit or meaning)."""

    label: str
    direction: str = ""
    note: str = ""

    @property
    def arrow(self) -> str:
        return ARROWS[self.direction]

    @property
    def title(self) -> str:
        """The label with its direction arrow: "FID ↓"."""
        return f"{self.label} {self.arrow}" if self.arrow else self.label

    def better(self, a: float, b: float) -> bool:
        """Is ``a`` better than ``b``? (False when the figure has no direction.)"""
        return (a < b) if self.direction == LOWER else (a > b) if self.direction == HIGHER else False


# training figures, by the key left once phase and suffix are stripped (train/d_real_epoch -> d_real)
_TRAINING = {
    "loss": Name("loss", LOWER), "total": Name("loss", LOWER),
    "recon": Name("reconstruction loss", LOWER), "reconstruction": Name("reconstruction loss", LOWER),
    "kl": Name("KL divergence", "", "nats"), "class_ce": Name("class cross-entropy", LOWER),
    "class_acc": Name("class accuracy", HIGHER),
    "discriminator_loss": Name("D loss"), "generator_loss": Name("G loss"),
    "discriminator_d_real": Name("D(x)"), "discriminator_d_fake": Name("D(G(z))"),
    "discriminator_grad_norm": Name("‖∇D‖", "", "gradient norm"),
    "generator_grad_norm": Name("‖∇G‖", "", "gradient norm"),
    "discriminator_wasserstein": Name("Wasserstein estimate"), "discriminator_gp": Name("gradient penalty"),
    "classes_covered": Name("classes covered", HIGHER, "≥ 1% of the samples"),
    "classes_found": Name("classes found", HIGHER), "class_entropy": Name("class entropy", HIGHER, "nats"),
    "class_kl_uniform": Name("class KL to uniform", LOWER, "nats"),
    "duplicate_rate": Name("near-duplicates", LOWER, "share of samples"),
    "mode_collapse": Name("mode-collapse warning"), "vanishing_gradient": Name("vanishing-gradient warning"),
}
_PLAYERS = {"discriminator": "D", "generator": "G", "encoder": "E", "critic": "D"}
_PHASE_WORDS = {"train": "", "val": "held-out", "valid": "held-out", "validation": "held-out", "test": "test",
                "diag": ""}


def training_key(column: str) -> tuple[str, str]:
    """(phase, key) of a metrics.csv column: ``val/discriminator_loss`` -> ("val", "discriminator_loss"),
    ``train/kl_epoch`` -> ("train", "kl"), ``diag/duplicate_rate_epoch`` -> ("diag", "duplicate_rate")."""
    head, sep, tail = column.partition("/")
    phase, key = (head.lower(), tail) if sep else ("", column)
    for suffix in ("_epoch", "_step"):
        if key.endswith(suffix) and len(key) > len(suffix):
            key = key[: -len(suffix)]
    return phase, key


def display(key: str, metrics: dict | None = None) -> Name:
    """The :class:`Name` of a figure: a metrics.csv column or key (``val/loss``, ``d_real``), or an
    evaluation key found in ``metrics`` (a table of key -> Name, e.g. the declared metrics)."""
    if metrics and key in metrics:
        return metrics[key]
    phase, base = training_key(key)
    short = {"d_real": "discriminator_d_real", "d_fake": "discriminator_d_fake", "d_loss": "discriminator_loss",
             "g_loss": "generator_loss", "d_grad": "discriminator_grad_norm", "g_grad": "generator_grad_norm",
             "wasserstein": "discriminator_wasserstein", "gp": "discriminator_gp"}.get(base, base)
    name = _TRAINING.get(short)
    if name is None:
        player, _, rest = short.partition("_")
        if player in _PLAYERS and rest:
            inner = _TRAINING.get(rest, Name(rest.replace("_", " ")))
            name = Name(f"{inner.label} ({_PLAYERS[player]})", inner.direction, inner.note)
        else:
            name = Name(short.replace("_", " "), LOWER if short.endswith("loss") else "")
    word = _PHASE_WORDS.get(phase, phase)
    return Name(f"{word} {name.label}", name.direction, name.note) if word else name


def fmt(value, spec: str = ".4g") -> str:
    """One number as printed anywhere: "n/a" for None/NaN, never "-0" (a rounded −0.00001 prints as 0)."""
    if value is None:
        return "n/a"
    try:
        v = float(value)
    except (TypeError, ValueError):
        return str(value)
    if math.isnan(v):
        return "n/a"
    text = format(v, spec)
    if "-" in text:
        try:
            zero = float(text.strip().rstrip("%")) == 0.0
        except ValueError:
            zero = False
        if zero:                     # a figure that rounds to zero prints unsigned
            text = format(abs(v), spec)
    return text


def direction_legend() -> str:
    return "↓ lower is better, ↑ higher is better"
