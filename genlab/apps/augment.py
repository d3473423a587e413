"""Augmenting a small labelled dataset with generated images.

Take N labelled training images (stratified: N/C per class, a fixed seed), and train the judge's
classifier (LeNet recipe of genlab.metrics.judge) on

    real        the N real images
    augmented   the N real images + M images drawn by a conditional generator (M/C per class)
    synthetic   the M generated images alone (the "classification accuracy score" of the generator)

each for the same number of gradient steps (E epochs of the augmented set), and compare their
accuracy on the data's test split. A generator helps when augmented beats real.
"""
from __future__ import annotations

import math
import time
from pathlib import Path

import torch
from torch import Tensor

from ..data import ImageData
from ..errors import CapabilityError, ConfigError, DataError
from ..io import write_json
from .common import frozen, seeded

DEFAULT_SYNTHETIC = 1000
DEFAULT_EPOCHS = 30


def check_conditional(model) -> int:
    """The number of classes of a generator conditioned on classes; a one-line error for anything else."""
    space = model.label_space
    if space is None or space.kind != "classes" or not model.can("sample"):
        raise CapabilityError(f"augment needs a conditional generator such as cgan/acgan or cvae (it draws images of "
                              f"chosen classes); model {model.registry_name!r} is not one")
    return space.size


def stratified(data: ImageData, n: int, classes: int, seed: int = 0) -> ImageData:
    """``n`` images spread over the classes as evenly as possible (the first n mod C classes get one
    more), picked at random within each class with a fixed seed."""
    g = torch.Generator().manual_seed(seed)
    picked = []
    for c in range(classes):
        want = n // classes + (1 if c < n % classes else 0)
        idx = (data.y == c).nonzero().flatten()
        if len(idx) < want:
            raise DataError(f"class {c} has only {len(idx)} training images, fewer than the {want} asked for; "
                            "lower --labelled")
        picked.append(idx[torch.randperm(len(idx), generator=g)[:want]])
    return data.subset(torch.cat(picked))


def per_class(m: int, classes: int) -> Tensor:
    """Labels of ``m`` generated images, equal numbers per class (the first m mod C get one more)."""
    counts = torch.tensor([m // classes + (1 if c < m % classes else 0) for c in range(classes)])
    return torch.repeat_interleave(torch.arange(classes), counts)


@torch.no_grad()
def generate(model, labels: Tensor, seed: int = 0, batch_size: int = 500) -> Tensor:
    """Images of the classes ``labels`` from the generator, seeded, on the CPU."""
    with seeded(model, seed), frozen(model):
        return torch.cat([model.sample(len(y), y.to(model.device)).cpu()
                          for y in labels.split(batch_size)]).clamp(0, 1)


def _accuracy(classifier, test: ImageData) -> float:
    return float((classifier.predict(test.x) == test.y).float().mean())


def augment(model, train: ImageData, test: ImageData, labelled: int = 100, synthetic: int = DEFAULT_SYNTHETIC,
            epochs: int = DEFAULT_EPOCHS, seed: int = 0, repeats: int = 1, out: str | Path | None = None,
            show: int = 8, progress: bool = False) -> dict:
    """Test accuracy of the classifier trained on ``labelled`` real images against the same plus
    ``synthetic`` generated ones (and the generated ones alone), averaged over ``repeats`` draws of the
    labelled subset. With ``out`` writes augment.json and samples.png (``show`` generated images per
    class, one row each)."""
    from ..metrics.judge import train_classifier

    classes = check_conditional(model)
    for split, data in (("training", train), ("test", test)):
        if data.y is None:
            raise DataError(f"the {split} data {data.name!r} has no labels; augment trains a classifier, so it needs "
                            "labelled data (class sub-folders, a y array, or a built-in labelled set)")
        model.check_input(data.x[:1])
    if train.num_classes != classes:
        raise DataError(f"the data has {train.num_classes} classes but the generator draws {classes}; use the data "
                        "the generator was trained on")
    if labelled < classes:
        raise ConfigError(f"--labelled {labelled} is fewer than the {classes} classes: each class needs at least "
                          "one labelled image")
    if synthetic < classes:
        raise ConfigError(f"--synthetic {synthetic} is fewer than the {classes} classes: give at least one "
                          "generated image per class")
    for value, flag in ((epochs, "--epochs"), (repeats, "--repeats")):
        if value < 1:
            raise ConfigError(f"{flag} must be at least 1, got {value}")
    started = time.perf_counter()
    steps = epochs * math.ceil((labelled + synthetic) / 64)
    # every classifier takes about the same number of steps, so the comparison is of data, not of compute
    epochs_for = lambda n: max(1, round(steps / math.ceil(n / 64)))  # noqa: E731
    runs, fake = [], None
    for r in range(repeats):
        real = stratified(train, labelled, classes, seed + r)
        y_fake = per_class(synthetic, classes)
        fake = ImageData(x=generate(model, y_fake, seed + r), y=y_fake, classes=train.classes, name="generated")
        both = ImageData(x=torch.cat([real.x, fake.x]), y=torch.cat([real.y, fake.y]), classes=train.classes)
        row = {"seed": seed + r}
        for key, data in (("real", real), ("augmented", both), ("synthetic", fake)):
            clf = train_classifier(data, epochs_for(len(data)), seed + r, num_classes=classes, progress=progress)
            row[key] = _accuracy(clf, test)
        runs.append(row)
    mean = {k: sum(row[k] for row in runs) / len(runs) for k in ("real", "augmented", "synthetic")}
    std = {k: (sum((row[k] - mean[k]) ** 2 for row in runs) / len(runs)) ** 0.5 for k in mean}
    figures = {"generator": model.registry_name, "data": train.name, "classes": classes,
               "labelled": labelled, "synthetic": synthetic, "epochs": epochs, "steps_per_classifier": steps,
               "repeats": repeats, "test_images": len(test), "accuracy": mean, "accuracy_std": std,
               "gain_points": 100 * (mean["augmented"] - mean["real"]), "per_repeat": runs,
               "seconds": round(time.perf_counter() - started, 1)}
    if out is not None:
        from ..viz.grids import labelled_rows, save_image

        out = Path(out)
        names = train.classes or [str(c) for c in range(classes)]
        k = min(show, synthetic // classes) or 1
        rows = [fake.x[fake.y == c][:k] for c in range(classes)]
        save_image(labelled_rows(rows, [f"class {names[c]}" for c in range(classes)]), out / "samples.png")
        write_json(out / "augment.json", figures)
    return figures


def summary(figures: dict) -> str:
    a = figures["accuracy"]
    n, m = figures["labelled"], figures["synthetic"]
    return (f"test accuracy: {n} real {100 * a['real']:.1f}% → {n} real + {m} generated {100 * a['augmented']:.1f}% "
            f"({figures['gain_points']:+.1f} points); {m} generated alone {100 * a['synthetic']:.1f}%")


__all__ = ["augment", "check_conditional", "stratified", "per_class", "generate", "summary"]
