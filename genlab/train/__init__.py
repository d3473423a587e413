"""The training engine: ``train(model, data, epochs=...)`` with Lightning underneath."""
from __future__ import annotations

import time
import warnings
from datetime import timedelta
from dataclasses import dataclass, field
from pathlib import Path

import lightning as L
import torch
from lightning.pytorch.callbacks import ModelCheckpoint, TQDMProgressBar

from .. import runs
from ..data import ImageData
from ..errors import ConfigError, GenlabError
from ..models.base import GenerativeModel
from . import diagnostics  # noqa: F401  (importing it contributes the GAN diagnostics callbacks)
from .callbacks import (RunCSVLogger, RunFiles, SafetensorsCheckpointIO, TrainingContext, contributed_callbacks,
                        training_callbacks)
from .engine import Engine

__all__ = ["train", "resume", "TrainResult", "Engine", "TrainingContext", "training_callbacks"]


@dataclass(repr=False)
class TrainResult:
    model: GenerativeModel
    run_dir: Path | None
    seconds: float
    images_per_second: float
    metrics: dict = field(default_factory=dict)

    def __repr__(self) -> str:
        """One line: the model's name, the run folder, time, throughput and a few final metrics
        (losses first; the full set is in ``metrics`` and the run's metrics.csv)."""
        name = getattr(self.model, "registry_name", "") or type(self.model).__name__
        losses = [k for k in self.metrics if "loss" in k]
        shown = (losses + [k for k in self.metrics if k not in losses])[:4]
        figures = "".join(f", {k}={self.metrics[k]:.4g}" for k in shown)
        more = f", +{len(self.metrics) - len(shown)} more" if len(self.metrics) > len(shown) else ""
        run = str(self.run_dir) if self.run_dir is not None else None
        seconds = f"{self.seconds:.1f}" if self.seconds >= 1 else f"{self.seconds:.2g}"
        return (f"TrainResult({name!r}, run={run!r}, {seconds} s, {self.images_per_second:,.0f} images/s"
                f"{figures}{more})")


def _quiet_lightning() -> None:
    import logging

    for name in ("lightning.pytorch", "lightning.fabric", "lightning"):
        logging.getLogger(name).setLevel(logging.ERROR)
    for pattern in (".*does not have many workers.*", ".*LeafSpec.*", ".*number of training batches.*",
                    ".*is not empty.*", ".*GPU available but not used.*", ".*tensorboardX.*",
                    ".*sync_dist=True.*", ".*returned `None`, this fit will run with no optimizer.*",
                    ".*no `val_dataloader`.*", ".*Checkpoint directory.*exists.*", ".*`isinstance.*"):
        warnings.filterwarnings("ignore", message=pattern)


def train(model: GenerativeModel, data: ImageData, epochs: int = 5, batch_size: int | None = None, *,
          out: str | Path | None = None, val_data: ImageData | None = None, lr: float | None = None,
          seed: int = 0, accelerator: str = "auto", devices: int | str = 1, num_nodes: int = 1,
          strategy: str = "auto", precision: str = "32-true", progress: bool = True,
          overwrite: bool = False, data_info: dict | None = None, callbacks: list | None = None,
          max_steps: int = -1, max_seconds: float | None = None, diagnostics=True,
          _ckpt_path: Path | None = None) -> TrainResult:
    """Train ``model`` on ``data``. With ``out`` a run folder is written (config, weights,
    safetensors checkpoint, metrics.csv, a preview grid per epoch); without it nothing is written.
    ``max_seconds`` stops training after that wall-clock budget (checked after each step).
    ``batch_size`` None takes the model's ``default_batch_size`` (128 unless a model needs more steps).
    ``diagnostics``: the callbacks a model family contributes (:func:`training_callbacks`) are
    added; for GANs writing a run folder they measure coverage and near-duplicates every epoch and
    warn on mode collapse and vanishing gradients (:mod:`genlab.train.diagnostics`). False
    switches them off, a ``diagnostics.Thresholds`` sets when the GAN warnings fire."""
    _quiet_lightning()
    model.check_input(data.x[:1])
    if epochs < 1:
        raise ConfigError(f"--epochs must be at least 1, got {epochs}")
    if batch_size is None:
        batch_size = model.default_batch_size
    if batch_size < 1:
        raise ConfigError(f"--batch-size must be at least 1, got {batch_size}")
    if lr is not None:
        model.config.lr = float(lr)
    L.seed_everything(seed, workers=True, verbose=False)
    run_dir = None
    cbs = list(callbacks or [])
    if out is not None:
        # DDP re-runs this process's command for the other ranks: only rank 0 prepares the folder
        if _ckpt_path or not is_rank_zero():
            run_dir = Path(out)
        else:
            run_dir = runs.prepare(out, overwrite=overwrite)
        if is_rank_zero():
            train_info = {"epochs": epochs, "batch_size": batch_size, "seed": seed, "precision": str(precision)}
            runs.write_config(run_dir, model, data_info or {"spec": data.name}, train_info, data.classes)
        preview = (val_data if val_data is not None else data).spread(32).batch()
        ckpt = ModelCheckpoint(dirpath=run_dir, filename="checkpoint", save_top_k=1, enable_version_counter=False)
        ckpt.FILE_EXTENSION = ".safetensors"
        cbs += [ckpt, RunFiles(run_dir, preview)]
    if diagnostics:
        spec = (data_info or {}).get("spec") or data.name
        cbs += contributed_callbacks(model, TrainingContext(run_dir, data, spec, diagnostics))
    if progress:
        cbs.append(TQDMProgressBar(refresh_rate=5))
    clock = _Throughput()
    cbs.append(clock)
    trainer = L.Trainer(
        max_epochs=epochs, max_steps=max_steps, max_time=None if max_seconds is None else timedelta(seconds=max_seconds),
        accelerator=accelerator, devices=devices, num_nodes=num_nodes,
        strategy=strategy, precision=precision, logger=_loggers(run_dir) if run_dir else False,
        callbacks=cbs, enable_checkpointing=run_dir is not None, enable_progress_bar=progress,
        enable_model_summary=False, num_sanity_val_steps=0, log_every_n_steps=10,
        plugins=[SafetensorsCheckpointIO()], default_root_dir=str(run_dir) if run_dir else None,
    )
    if _ckpt_path is None:
        model.prepare(data)
    engine = Engine(model)
    train_loader = data.loader(batch_size, shuffle=True, seed=seed)
    val_loader = val_data.loader(512, shuffle=False) if val_data is not None else None
    trainer.fit(engine, train_loader, val_loader, ckpt_path=str(_ckpt_path) if _ckpt_path else None)
    metrics = {k: float(v) for k, v in trainer.callback_metrics.items() if torch.is_tensor(v) and v.numel() == 1}
    model.eval()
    return TrainResult(model, run_dir, clock.seconds, clock.images / max(clock.seconds, 1e-9), metrics)


def is_rank_zero() -> bool:
    from lightning.fabric.utilities.rank_zero import rank_zero_only

    return getattr(rank_zero_only, "rank", 0) == 0


def _loggers(run_dir: Path) -> list:
    """metrics.csv always; TensorBoard event files under tensorboard/ when it is installed."""
    import importlib.util

    loggers = [RunCSVLogger(run_dir)]
    if importlib.util.find_spec("tensorboard") or importlib.util.find_spec("tensorboardX"):
        from lightning.pytorch.loggers import TensorBoardLogger

        loggers.append(TensorBoardLogger(str(run_dir), name="tensorboard", version=""))
    return loggers


class _Throughput(L.Callback):
    """Training time and images seen, excluding set-up (and, on resume, earlier epochs)."""

    def __init__(self):
        self.seconds, self.images, self._t0 = 0.0, 0, None

    def on_train_start(self, trainer, pl_module):
        self._t0 = time.perf_counter()

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        self.images += len(batch["x"])

    def on_train_end(self, trainer, pl_module):
        if self._t0 is not None:
            self.seconds = time.perf_counter() - self._t0


def resume(run_dir: str | Path, epochs: int | None = None, data: ImageData | None = None,
           val_data: ImageData | None = None, **kwargs) -> TrainResult:
    """Continue a run from its checkpoint up to ``epochs`` in total (default: the run's own).
    The data is reloaded from the spec in config.json unless given."""
    from ..data import load_data
    from ..io import load_tree

    run_dir = Path(run_dir)
    info = runs.read_config(run_dir)
    ckpt = run_dir / runs.CHECKPOINT
    if not ckpt.is_file():
        raise GenlabError(f"{run_dir} has no {runs.CHECKPOINT} to resume from; train it again with --overwrite")
    load_tree(ckpt)  # a corrupt checkpoint is refused before anything in the run folder changes
    model = runs.create(info["model"], **info["config"])
    spec = info["data"]
    size, channels = spec.get("image_size"), spec.get("channels")
    if data is None:
        data = load_data(spec["spec"], "train", image_size=size, channels=channels)
        val_data = load_data(spec["spec"], "test", image_size=size, channels=channels)
    t = info["train"]
    kwargs.setdefault("seed", t.get("seed", 0))
    return train(model, data, epochs=epochs or t["epochs"], batch_size=t["batch_size"], out=run_dir,
                 val_data=val_data, data_info=spec, _ckpt_path=ckpt, **kwargs)
