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
from ..io import load_tree, save_tensors, save_tree
from ..png import save_grid


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


class RunFiles(L.Callback):
    """After every epoch (rank 0): the model weights and a preview grid in the run folder."""

    def __init__(self, run_dir: Path, preview_batch: dict):
        self.run_dir = Path(run_dir)
        self.preview_batch = preview_batch

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module) -> None:
        if trainer.global_rank != 0:
            return
        model = pl_module.model
        save_tensors(model.state_dict(), self.run_dir / "model.safetensors", {"model": model.registry_name})
        was_training = model.training
        model.eval()
        with torch.no_grad():
            batch = {k: v.to(pl_module.device) for k, v in self.preview_batch.items()}
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(0)  # the same noise every epoch, so the grids show progress
                images = model.preview(batch)
        model.train(was_training)
        save_grid(images.float().cpu(), self.run_dir / "samples" / f"epoch_{trainer.current_epoch + 1:03d}.png")


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


_CONTRIBUTED: list[tuple[type, Callable]] = []


def training_callbacks(model_class: type):
    """Decorator: ``@training_callbacks(GAN)`` on ``make(model, context) -> list[Callback]`` adds
    those callbacks whenever a ``model_class`` model (or a subclass's) trains with diagnostics on."""

    def wrap(make: Callable) -> Callable:
        _CONTRIBUTED.append((model_class, make))
        return make

    return wrap


def contributed_callbacks(model, context: TrainingContext) -> list:
    """The callbacks every matching :func:`training_callbacks` contributor makes for ``model``."""
    return [cb for model_class, make in _CONTRIBUTED if isinstance(model, model_class) for cb in make(model, context)]
