"""Lightning plumbing: safetensors checkpoints, an appending CSV log, per-epoch run files, and the
callbacks a model family contributes to its training (:func:`training_callbacks`)."""
from __future__ import annotations

import csv
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import lightning as L
import torch
from lightning.fabric.loggers.csv_logs import _ExperimentWriter
from lightning.pytorch.loggers import CSVLogger
from lightning.pytorch.plugins.io import CheckpointIO

from ..data import ImageData
from .. import runs
from ..io import load_tree, save_tensors, save_tree
from ..png import grid_image, labelled_rows, save_image


class SafetensorsCheckpointIO(CheckpointIO):
    """Lightning's checkpoints as safetensors (tensors) + JSON (everything else): no pickle."""

    def save_checkpoint(self, checkpoint: dict[str, Any], path, storage_options=None) -> None:
        save_tree(checkpoint, path, {"format": "genlab-checkpoint"})

    def load_checkpoint(self, path, map_location=None, weights_only=None) -> dict[str, Any]:
        return load_tree(path)

    def remove_checkpoint(self, path) -> None:
        Path(path).unlink(missing_ok=True)


class _AppendingWriter(_ExperimentWriter):
    """Keeps an existing metrics.csv so a resumed run's curves go on."""

    def _check_log_dir_exists(self) -> None:
        if os.path.isfile(self.metrics_file_path):
            with open(self.metrics_file_path, newline="") as f:
                header = next(csv.reader(f), [])
            self.metrics_keys = sorted(header)


class RunCSVLogger(CSVLogger):
    """Writes ``metrics.csv`` directly into the run folder."""

    def __init__(self, run_dir: str | Path):
        super().__init__(save_dir=str(run_dir), name="", version="")

    @property
    def log_dir(self) -> str:
        return self.root_dir

    @property
    def experiment(self) -> _ExperimentWriter:
        if self._experiment is None:
            os.makedirs(self.root_dir, exist_ok=True)
            self._experiment = _AppendingWriter(log_dir=self.root_dir)
        return self._experiment


def save_weights(model, run_dir: Path, state: dict | None = None) -> None:
    """The run's model.safetensors: ``state`` (default: the model's current weights)."""
    save_tensors(model.state_dict() if state is None else state, Path(run_dir) / runs.WEIGHTS,
                 {"model": model.registry_name})


class RunFiles(L.Callback):
    """After every epoch (rank 0): the model weights and a preview grid in the run folder.
    The weights are written with each checkpoint, so that model.safetensors and checkpoint.safetensors
    always hold the same epoch (Lightning saves checkpoints after the other epoch-end hooks: a
    Ctrl-C in between would leave the weights an epoch ahead). ``weights=False`` leaves
    model.safetensors to :class:`KeepBest` (early stopping keeps the best epoch's)."""

    def __init__(self, run_dir: Path, preview_batch: dict, weights: bool = True):
        self.run_dir = Path(run_dir)
        self.preview_batch = preview_batch
        self.weights = weights

    def on_save_checkpoint(self, trainer: L.Trainer, pl_module, checkpoint: dict) -> None:
        if self.weights and trainer.global_rank == 0:
            save_weights(pl_module.model, self.run_dir)

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module) -> None:
        if trainer.global_rank != 0:
            return
        model = pl_module.model
        was_training = model.training
        model.eval()
        with torch.no_grad():
            batch = {k: v.to(pl_module.device) for k, v in self.preview_batch.items()}
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(0)  # the same noise every epoch, so the grids show progress
                images = model.preview(batch)
        model.train(was_training)
        save_image(self.picture(model, len(batch["x"][:32]), images.float().cpu()),
                   self.run_dir / "samples" / f"epoch_{trainer.current_epoch + 1:03d}.png")
        if self.weights and trainer.global_step == 0:
            # no optimiser step (a closed-form model, or one with no players): Lightning writes no
            # checkpoint, so on_save_checkpoint never runs
            save_weights(model, self.run_dir)

    @staticmethod
    def picture(model, n: int, images: torch.Tensor):
        """The preview labelled where its layout is known: the default preview of a model that
        reconstructs (``n`` originals, then their reconstructions) as rows of 8 originals over
        their reconstructions; 8 samples per value of a label space (the GANs' preview) as one row
        per class, named; any other as a plain grid of 8 per row."""
        from ..models.base import GenerativeModel

        if type(model).preview is GenerativeModel.preview and model.can("reconstruct") and len(images) == 2 * n \
                and n % 8 == 0:
            rows = [t for i in range(0, n, 8) for t in (images[i:i + 8], images[n + i:n + i + 8])]
            return labelled_rows(rows, ["original", "reconstruction"] * (n // 8))
        rows = getattr(model, "preview_rows", None)     # a model that says what its rows of 8 are
        if rows and len(images) == 8 * len(rows):
            return labelled_rows(list(images.view(len(rows), 8, *images.shape[1:])), list(rows))
        space = model.label_space
        if space is not None and len(images) == 8 * space.size:
            names = space.names or [str(v) for v in range(space.size)]
            return labelled_rows(list(images.view(space.size, 8, *images.shape[1:])), names)
        return grid_image(images, nrow=8)


class EpochLines(L.Callback):
    """One line per finished epoch on stdout, for output that is not a terminal (a log file, a
    notebook), where a progress bar would write thousands of carriage-return updates:
    ``epoch 3/10  loss 160.2  held-out loss 165.1  (4.1 s)``, epochs counted from 1."""

    def __init__(self, print_fn: Callable[[str], None] | None = None):
        self.print = print_fn or (lambda line: print(line, flush=True))
        self._t0 = None

    def on_train_epoch_start(self, trainer, pl_module) -> None:
        import time

        self._t0 = time.perf_counter()

    def on_train_epoch_end(self, trainer, pl_module) -> None:
        import time

        from .names import display, fmt

        if trainer.global_rank != 0:
            return
        # callbacks run before the engine logs its epoch means; validation has already run
        figures = [(k, v) for k, v in pl_module.epoch_means().items() if k.endswith("loss")]
        held_out = trainer.callback_metrics.get("val/loss")
        if held_out is not None:
            figures.append(("val/loss", float(held_out)))
        seconds = time.perf_counter() - self._t0 if self._t0 is not None else 0.0
        total = f"/{trainer.max_epochs}" if trainer.max_epochs and trainer.max_epochs > 0 else ""
        parts = [f"epoch {trainer.current_epoch + 1}{total}", *(f"{display(k).label} {fmt(v)}" for k, v in figures),
                 f"({seconds:.1f} s)"]
        self.print("  ".join(parts))


class KeepBest(L.Callback):
    """Early stopping's partner: after each validation, the weights with the lowest held-out loss
    so far are kept (in memory, and as the run's model.safetensors when there is a run folder), so a
    run that stops, or is interrupted, holds its best epoch's weights rather than its last."""

    def __init__(self, run_dir: Path | None, monitor: str = "val/loss"):
        self.run_dir = Path(run_dir) if run_dir is not None else None
        self.monitor = monitor
        self.best_score: float | None = None
        self.best_epoch: int | None = None      # counted from 1
        self.best_state: dict | None = None     # this session's best weights (None: an earlier session's)

    def on_validation_end(self, trainer, pl_module) -> None:
        if trainer.sanity_checking or self.monitor not in trainer.callback_metrics:
            return
        score = float(trainer.callback_metrics[self.monitor])
        if self.best_score is not None and not score < self.best_score:
            return
        self.best_score, self.best_epoch = score, trainer.current_epoch + 1
        model = pl_module.model
        self.best_state = {k: v.detach().to("cpu", copy=True) for k, v in model.state_dict().items()}
        if self.run_dir is not None and trainer.global_rank == 0:
            save_weights(model, self.run_dir, self.best_state)

    def restore(self, model) -> None:
        """Put the best weights into ``model`` (from memory, or from the run folder when the best
        epoch was trained before a resume)."""
        from ..io import load_tensors

        if self.best_state is not None:
            model.load_state_dict(self.best_state)
        elif self.best_epoch is not None and self.run_dir is not None:
            weights = self.run_dir / runs.WEIGHTS
            if weights.is_file():
                model.load_state_dict(load_tensors(weights))

    def state_dict(self) -> dict:
        return {"best_score": self.best_score, "best_epoch": self.best_epoch}

    def load_state_dict(self, state: dict) -> None:
        self.best_score, self.best_epoch = state.get("best_score"), state.get("best_epoch")


# --------------------------------------------------------------------------- contributed callbacks
# A model cannot import the engine (models sit below train), so what one family needs during
# training is declared here, in train's layer, keyed by the model class (a class covers its
# subclasses); train() adds whatever applies to the model it trains.

@dataclass(frozen=True)
class TrainingContext:
    """What a contributed callback may need to know about the training it joins."""

    run_dir: Path | None    # the run folder, None when training writes none
    data: ImageData         # the training data
    spec: str               # its data spec as recorded in config.json ("mnist5k", "folder:...")
    diagnostics: Any = True  # train(diagnostics=...): True, or a family's settings (e.g. diagnostics.Thresholds)


_CONTRIBUTED: list[tuple[type, Callable, bool]] = []


def training_callbacks(model_class: type, always: bool = False):
    """Decorator: ``@training_callbacks(GAN)`` on ``make(model, context) -> list[Callback]`` adds
    those callbacks whenever a ``model_class`` model (or a subclass's) trains with diagnostics on.
    ``always=True`` for callbacks the model's loss needs (SRGAN's feature network): they are added
    with diagnostics off too."""

    def wrap(make: Callable) -> Callable:
        _CONTRIBUTED.append((model_class, make, always))
        return make

    return wrap


def contributed_callbacks(model, context: TrainingContext, optional: bool = True) -> list:
    """The callbacks every matching :func:`training_callbacks` contributor makes for ``model``;
    ``optional=False`` keeps only the ``always`` contributors' (training with diagnostics off)."""
    return [cb for model_class, make, always in _CONTRIBUTED
            if isinstance(model, model_class) and (always or optional) for cb in make(model, context)]
