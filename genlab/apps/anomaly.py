"""Anomaly detection: a model trained on normal images reconstructs them well and
anything else badly, so the reconstruction error of an image is its anomaly score.

    score(x) = mean over pixels of (x − x̂)²           models with ``reconstruct``
    score(x) = −ELBO(x) = −E_q[log p(x|z)] + KL(q‖p)   models with ``posterior`` + ``decoder_log_prob``

With labels, AUROC and AUPRC measure how well the score separates normal (label 0) from
anomalous (label 1) images. The standard protocol on MNIST: train on every digit but one, score
the test split, the held-out digit being the anomalies; repeated for every digit.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

import torch
from torch import Tensor

from ..data import ImageData
from ..errors import CapabilityError, ConfigError, DataError
from ..io import write_json
from ..models.vae import bounds_likelihood
from .common import batched, fit

DEFAULT_EPOCHS = 5


def score_kind(model) -> str:
    """``neg_elbo`` for models with an encoder and decoder density, else ``recon_mse``."""
    if bounds_likelihood(model):
        return "neg_elbo"
    if model.can("reconstruct"):
        return "recon_mse"
    raise CapabilityError(f"model {model.registry_name!r} can neither reconstruct nor bound its likelihood, so it "
                          f"cannot score anomalies; it can: {', '.join(model.capabilities()) or 'nothing'}")


@torch.no_grad()
def anomaly_scores(model, x: Tensor, kind: str | None = None, elbo_samples: int = 4, seed: int = 0,
                   batch_size: int = 500) -> Tensor:
    """One score per image of ``x`` (higher = more anomalous), on the CPU. ``kind`` as in
    :func:`score_kind` (default: the best the model offers)."""
    from ..metrics.likelihood import log_weights

    kind = kind or score_kind(model)
    model.eval()
    model.check_input(x[:1])
    if kind == "neg_elbo":
        with torch.random.fork_rng():          # seeded posterior samples, the caller's RNG untouched
            torch.manual_seed(seed)
            return batched(lambda b: -log_weights(model, b, elbo_samples).mean(0), x, batch_size, model.device)
    recon = model.require("reconstruct", "anomaly scores need reconstructions")
    return batched(lambda b: (recon(b) - b).pow(2).flatten(1).mean(1), x, batch_size, model.device)


def anomaly_labels(y: Tensor | None, normal_classes: Sequence[int]) -> Tensor:
    """1 for every image whose label is not a normal class, else 0."""
    if y is None:
        raise DataError("the data has no labels, so normal and anomalous images cannot be told apart; "
                        "use labelled data (e.g. mnist5k) or leave out --normal-classes / --holdout-digit")
    present = set(torch.unique(y).tolist())
    missing = [c for c in normal_classes if c not in present]
    if missing:
        raise DataError(f"normal class(es) {missing} do not occur in the data (its labels: {sorted(present)})")
    return (~torch.isin(y, torch.as_tensor(list(normal_classes), dtype=y.dtype))).long()


def separation(scores: Tensor, labels: Tensor) -> dict:
    """AUROC and AUPRC of ``scores`` for ``labels`` (1 = anomalous)."""
    from ..metrics.image import auroc_auprc

    if labels.min() == labels.max():
        raise DataError("AUROC needs both normal and anomalous images, but every image is "
                        f"{'anomalous' if int(labels[0]) else 'normal'}; change --normal-classes")
    return auroc_auprc(scores, labels)


@dataclass
class Scored:
    scores: Tensor
    kind: str
    labels: Tensor | None
    figures: dict


def score_data(model, data: ImageData, normal_classes: Sequence[int] | None = None, seed: int = 0) -> Scored:
    """Scores of every image of ``data``; with ``normal_classes`` also labels, AUROC and AUPRC."""
    kind = score_kind(model)
    scores = anomaly_scores(model, data.x, kind, seed=seed)
    figures: dict = {"model": model.registry_name, "data": data.name, "n": len(data), "score": kind,
                     "score_mean": float(scores.mean()), "score_std": float(scores.std()) if len(scores) > 1 else 0.0}
    labels = None
    if normal_classes is not None:
        labels = anomaly_labels(data.y, normal_classes)
        figures["normal_classes"] = sorted(set(int(c) for c in normal_classes))
        figures["anomalous_share"] = float(labels.float().mean())
        figures.update(separation(scores, labels))
    if data.y is not None:
        figures["mean_score_per_class"] = {str(int(c)): float(scores[data.y == c].mean())
                                           for c in torch.unique(data.y)}
    return Scored(scores, kind, labels, figures)


def write_scored(result: Scored, data: ImageData, out: str | Path, n_show: int = 32) -> dict:
    """most_anomalous.png / least_anomalous.png (``n_show`` each, highest score first),
    scores.png (histograms: normal vs anomalous when labelled) and anomaly.json."""
    from ..viz.grids import save_grid
    from ..viz.plots import figure_to_png, histogram

    out = Path(out)
    order = torch.argsort(result.scores, descending=True)
    k = min(n_show, len(order))
    save_grid(data.x[order[:k]], out / "most_anomalous.png")
    save_grid(data.x[order.flip(0)[:k]], out / "least_anomalous.png")
    label = {"neg_elbo": "−ELBO per image (nats)", "recon_mse": "reconstruction MSE per pixel"}[result.kind]
    if result.labels is not None:
        groups = {"normal": result.scores[result.labels == 0], "anomalous": result.scores[result.labels == 1]}
    else:
        groups = {"all images": result.scores}
    title = f"{result.figures['model']} anomaly scores"
    if "auroc" in result.figures:
        title += f" (AUROC {result.figures['auroc']:.3f})"
    figure_to_png(histogram(groups, bins=50, title=title, xlabel=label), out / "scores.png")
    figures = {**result.figures, "most_anomalous_index": order[:k].tolist()}
    write_json(out / "anomaly.json", figures)
    return figures


# --------------------------------------------------------------------------- hold-one-class-out

def without_class(data: ImageData, digit: int) -> ImageData:
    """``data`` without the images labelled ``digit`` (the training set of the protocol)."""
    if data.y is None:
        raise DataError("--holdout-digit needs labelled data (e.g. mnist5k), this data has no labels")
    keep = (data.y != digit).nonzero().flatten()
    if len(keep) == len(data):
        raise DataError(f"no image is labelled {digit} (labels: {sorted(torch.unique(data.y).tolist())}); "
                        "choose a class that occurs")
    if len(keep) == 0:
        raise DataError(f"every image is labelled {digit}: nothing is left to train on")
    return data.subset(keep)


def train_without(model_name: str, train: ImageData, digit: int, epochs: int = DEFAULT_EPOCHS,
                  batch_size: int = 128, seed: int = 0, progress: bool = False, config: dict | None = None):
    """A fresh ``model_name`` trained on ``train`` minus class ``digit``."""
    from ..runs import create

    normal = without_class(train, digit)
    model = create(model_name, data=train, seed=seed, **(config or {}))
    score_kind(model)                           # refuse a model that cannot score before training it
    fit(model, normal, epochs, batch_size, seed, progress)
    return model


def holdout_digit(model_name: str, train: ImageData, test: ImageData, digit: int,
                  epochs: int = DEFAULT_EPOCHS, batch_size: int = 128, seed: int = 0, progress: bool = False,
                  config: dict | None = None) -> tuple[object, Scored]:
    """Train without ``digit``, score ``test`` with ``digit`` as the anomalous class."""
    if test.y is None:
        raise DataError("--holdout-digit needs labelled test data (e.g. mnist5k), this data has no labels")
    if not (test.y == digit).any():
        raise DataError(f"the test split has no image labelled {digit}: nothing to detect")
    model = train_without(model_name, train, digit, epochs, batch_size, seed, progress, config)
    normal = [int(c) for c in torch.unique(test.y).tolist() if c != digit]
    result = score_data(model, test, normal, seed=seed)
    result.figures["holdout_digit"] = int(digit)
    result.figures["epochs"] = epochs
    return model, result


def holdout_protocol(model_name: str, train: ImageData, test: ImageData, digits: Sequence[int] = range(10),
                     epochs: int = DEFAULT_EPOCHS, batch_size: int = 128, seed: int = 0, progress: bool = False,
                     config: dict | None = None, on_digit: Callable[[dict], None] | None = None) -> dict:
    """AUROC/AUPRC for every choice of held-out digit, with their mean and the worst digit.

    For each digit d: a fresh model is trained on the training images not labelled d, then the test
    split is scored with label 1 for d. Returns ``{"per_digit": [{digit, auroc, auprc, seconds}],
    "mean_auroc", "worst_auroc", "worst_digit", "mean_auprc", ...}``.
    """
    digits = list(digits)
    if not digits:
        raise ConfigError("name at least one digit to hold out")
    rows = []
    for d in digits:
        started = time.perf_counter()
        _, result = holdout_digit(model_name, train, test, d, epochs, batch_size, seed, progress, config)
        row = {"digit": int(d), "auroc": result.figures["auroc"], "auprc": result.figures["auprc"],
               "seconds": round(time.perf_counter() - started, 2)}
        rows.append(row)
        if on_digit is not None:
            on_digit(row)
    worst = min(rows, key=lambda r: r["auroc"])
    return {"model": model_name, "data": train.name, "epochs": epochs, "seed": seed, "score": result.kind,
            "per_digit": rows, "mean_auroc": sum(r["auroc"] for r in rows) / len(rows),
            "worst_auroc": worst["auroc"], "worst_digit": worst["digit"],
            "mean_auprc": sum(r["auprc"] for r in rows) / len(rows)}


def write_protocol(summary: dict, out: str | Path) -> dict:
    """holdout.json and holdout_auroc.png (a bar per held-out digit)."""
    from ..viz.charts import per_class_bars
    from ..viz.plots import figure_to_png

    out = Path(out)
    bars = {r["digit"]: r["auroc"] for r in summary["per_digit"]}
    figure_to_png(per_class_bars(bars, title=f"{summary['model']}: AUROC with each digit held out "
                                 f"(mean {summary['mean_auroc']:.3f}, worst {summary['worst_auroc']:.3f})",
                                 ylabel="AUROC"), out / "holdout_auroc.png")
    write_json(out / "holdout.json", summary)
    return summary


__all__ = ["score_kind", "anomaly_scores", "anomaly_labels", "separation", "Scored", "score_data", "write_scored",
           "without_class", "train_without", "holdout_digit", "holdout_protocol", "write_protocol", "DEFAULT_EPOCHS"]
