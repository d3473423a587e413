"""The training engine: ``train(model, data, epochs=...)`` with Lightning underneath."""
from __future__ import annotations

import sys
import time
import warnings
from datetime import timedelta
from dataclasses import dataclass, field
from pathlib import Path

import lightning as L
import torch
from lightning.pytorch.callbacks import EarlyStopping, ModelCheckpoint, TQDMProgressBar

from .. import runs
from ..data import ImageData
from ..errors import ConfigError, Interrupted, RunFolderError
from ..io import load_tree, write_json
from ..models.base import GenerativeModel
from . import diagnostics  # noqa: F401  (importing it contributes the GAN diagnostics callbacks)
from . import content  # noqa: F401  (importing it contributes SRGAN's feature network)
from .callbacks import (EpochLines, KeepBest, RunCSVLogger, RunFiles, SafetensorsCheckpointIO,
                        TrainingContext, contributed_callbacks, training_callbacks)
from .engine import Engine

__all__ = ["train", "resume", "TrainResult", "Engine", "TrainingContext", "training_callbacks", "training_length",
           "TrainingLength", "TrainingLengthWarning", "RESUMABLE_KEYS"]


@dataclass(repr=False)
class TrainResult:
    model: GenerativeModel
    run_dir: Path | None
    seconds: float
    images_per_second: float
    metrics: dict = field(default_factory=dict)
    epochs: int = 0                      # the run's total epochs (what it was asked for)
    first_epoch: int = 1                 # the first epoch this call trained, from 1 (later on a resume)
    last_epoch: int = 0                  # the last epoch this call finished (0: none)
    stopped_early_at: int | None = None  # early stopping: the epoch it stopped after
    best_epoch: int | None = None        # early stopping: the epoch whose weights were kept

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
                    ".*no `val_dataloader`.*", ".*Checkpoint directory.*exists.*", ".*`isinstance.*",
                    ".*callbacks used to create the checkpoint.*",
                    ".*dirpath has changed.*"):   # a run folder copied or moved, then resumed: nothing to say
        warnings.filterwarnings("ignore", message=pattern)


# Each model's default_epochs (at its default_batch_size) were chosen on mnist5k's training split.
CALIBRATION_IMAGES = 4000
MIN_BATCH = 16          # the smallest batch the default picks: below it Adam's steps get noisy
STEPS_PER_EPOCH = 8     # the default batch is capped so that an epoch is at least this many steps


class TrainingLengthWarning(UserWarning):
    """A run with fewer optimiser steps than its model needs to learn anything worth looking at."""


@dataclass(frozen=True)
class TrainingLength:
    """How long a run trains: ``epochs`` (in total) at ``batch_size``, ``steps`` optimiser steps in
    all (each step one batch), and ``needed``, the steps below which the model warns."""

    epochs: int
    batch_size: int
    steps_per_epoch: int
    needed: int
    default_epochs: int      # what the rule picks for this data when no epochs are given

    @property
    def steps(self) -> int:
        return self.epochs * self.steps_per_epoch

    def warning(self, model_name: str) -> str | None:
        if self.steps >= self.needed:
            return None
        enough = -(-self.needed // self.steps_per_epoch)
        return (f"{self.steps:,} optimiser steps ({_epochs(self.epochs)} of {self.steps_per_epoch} batches of "
                f"{self.batch_size}); {model_name} needs about {self.needed:,}: pass --epochs {enough} or more "
                f"(epochs={enough} in Python)")


def calibrated_steps(model) -> int:
    """The optimiser steps of a model's default training where it was calibrated: default_epochs
    epochs of mnist5k's 4,000 training images at default_batch_size."""
    return model.default_epochs * -(-CALIBRATION_IMAGES // model.default_batch_size)


def training_length(model, n: int, epochs: int | None = None, batch_size: int | None = None) -> TrainingLength:
    """The rule for a run's length on ``n`` training images.

    * batch size: the given one; else the model's default capped at n/8 (so that an epoch is several
      steps), never below 16 (nor above n);
    * epochs: the given number; else as many as give about the optimiser steps the model's default
      took on mnist5k (:func:`calibrated_steps`), at least one. A smaller data set gets more epochs
      (300 images: ~36 vae epochs, not 3 epochs of 6 steps); a larger one gets fewer, down to one:
      each step then sees new images, which generalises at least as well, and a first run takes about
      as long on any folder. Pass epochs for more.
    """
    if batch_size is None:
        batch_size = min(model.default_batch_size, max(MIN_BATCH, n // STEPS_PER_EPOCH))
    batch_size = max(1, min(batch_size, n))
    per_epoch = max(1, -(-n // batch_size))
    budget = calibrated_steps(model)
    default_epochs = max(1, -(-budget // per_epoch))
    needed = model.min_steps if model.min_steps is not None else budget // 2
    return TrainingLength(epochs if epochs is not None else default_epochs, batch_size, per_epoch, needed,
                          default_epochs)


def train(model: GenerativeModel, data: ImageData, epochs: int | None = None, batch_size: int | None = None, *,
          out: str | Path | None = None, val_data: ImageData | None = None, lr: float | None = None,
          seed: int = 0, accelerator: str = "auto", devices: int | str = 1, num_nodes: int = 1,
          strategy: str = "auto", precision: str = "32-true", progress: bool = True,
          overwrite: bool = False, data_info: dict | None = None, callbacks: list | None = None,
          max_steps: int = -1, max_seconds: float | None = None, diagnostics=True, early_stop: int | None = None,
          _ckpt_path: Path | None = None, _epochs_done: int = 0, _fresh_hyperparameters: bool = False) -> TrainResult:
    """Train ``model`` on ``data``. With ``out`` a run folder is written (config, weights,
    safetensors checkpoint, metrics.csv, a preview grid per epoch); without it nothing is written.

    ``epochs`` None: about as many optimiser steps as the model's default took on mnist5k, whatever
    the data's size; ``batch_size`` None: the model's ``default_batch_size`` capped at an eighth of
    the data (see :func:`training_length`). A run shorter than the model needs warns
    (:class:`TrainingLengthWarning`) before training.
    ``early_stop=P`` stops when the held-out loss (needs ``val_data``) has not improved for P epochs
    and keeps the best epoch's weights (the model returned, and the run's model.safetensors; the
    checkpoint stays the last epoch's, for resuming).
    ``max_seconds`` stops training after that wall-clock budget (checked after each step).
    ``progress``: a progress bar on a terminal, one line per epoch otherwise; False prints neither.
    ``diagnostics``: the callbacks a model family contributes (:func:`training_callbacks`) are
    added; for GANs writing a run folder they measure coverage and near-duplicates every epoch and
    warn on mode collapse and vanishing gradients (:mod:`genlab.train.diagnostics`). False
    switches them off, a ``diagnostics.Thresholds`` sets when the GAN warnings fire.
    Ctrl-C (SIGINT) raises :class:`genlab.errors.Interrupted` once the run folder holds the
    checkpoint of the last finished epoch."""
    _quiet_lightning()
    model.check_input(data.x[:1])
    if epochs is not None and epochs < 1:
        raise ConfigError(f"epochs (--epochs) must be at least 1, got {epochs}")
    if batch_size is not None and batch_size < 1:
        raise ConfigError(f"batch_size (--batch-size) must be at least 1, got {batch_size}")
    length = training_length(model, len(data), epochs, batch_size)
    epochs, batch_size = length.epochs, length.batch_size
    if lr is not None:
        model.config.lr = float(lr)
    players = len(model.players()) if early_stop is not None else 0
    if early_stop is not None:
        if early_stop < 1:
            raise ConfigError(f"early_stop (--early-stop) is a patience in epochs, at least 1; got {early_stop}")
        if val_data is None:
            raise ConfigError("early_stop (--early-stop) watches the held-out loss: pass val_data (the CLI uses "
                              "the data's held-out split)")
        if players != 1:
            raise ConfigError(f"early stopping watches one held-out loss; {model.registry_name} has "
                              f"{'no trained players' if not players else f'{players} players with competing losses'}"
                              ", which do not measure quality: train a fixed number of epochs (--epochs)")
    needed = length.warning(getattr(model, "registry_name", "") or type(model).__name__)
    if needed and max_steps < 0 and is_rank_zero() and _epochs_done == 0:
        warnings.warn(needed, TrainingLengthWarning, stacklevel=2)
    L.seed_everything(seed, workers=True, verbose=False)
    run_dir = None
    cbs = list(callbacks or [])
    keep_best = KeepBest(None) if early_stop is not None else None
    if out is not None:
        # DDP re-runs this process's command for the other ranks: only rank 0 prepares the folder
        if _ckpt_path or not is_rank_zero():
            run_dir = Path(out)
        else:
            run_dir = runs.prepare(out, overwrite=overwrite)
        if is_rank_zero():
            train_info = {"epochs": epochs, "batch_size": batch_size, "seed": seed, "precision": str(precision)}
            if early_stop is not None:
                train_info["early_stop"] = early_stop
            runs.write_config(run_dir, model, data_info or {"spec": data.name}, train_info, data.classes)
        preview = (val_data if val_data is not None else data).spread(32).batch()
        ckpt = ModelCheckpoint(dirpath=run_dir, filename="checkpoint", save_top_k=1, enable_version_counter=False)
        ckpt.FILE_EXTENSION = ".safetensors"
        if keep_best is not None:
            keep_best.run_dir = run_dir
        cbs += [ckpt, RunFiles(run_dir, preview, weights=keep_best is None)]
    stopper = None
    if early_stop is not None:
        stopper = EarlyStopping(monitor="val/loss", patience=early_stop, mode="min")
        cbs += [stopper, keep_best]
    # contributions the loss needs are added always, the diagnostics only with diagnostics on
    spec = (data_info or {}).get("spec") or data.name
    cbs += contributed_callbacks(model, TrainingContext(run_dir, data, spec, diagnostics), optional=bool(diagnostics))
    bar = progress and _is_terminal()
    if bar:
        cbs.append(TQDMProgressBar(refresh_rate=5))
    elif progress:
        cbs.append(EpochLines())
    clock = _Throughput()
    cbs.append(clock)
    trainer = L.Trainer(
        max_epochs=epochs, max_steps=max_steps, max_time=None if max_seconds is None else timedelta(seconds=max_seconds),
        accelerator=accelerator, devices=devices, num_nodes=num_nodes,
        strategy=strategy, precision=precision, logger=_loggers(run_dir) if run_dir else False,
        callbacks=cbs, enable_checkpointing=run_dir is not None, enable_progress_bar=bar,
        enable_model_summary=False, num_sanity_val_steps=0, log_every_n_steps=10,
        plugins=[SafetensorsCheckpointIO()], default_root_dir=str(run_dir) if run_dir else None,
    )
    if _ckpt_path is None:
        model.prepare(data)
    engine = Engine(model, fresh_hyperparameters=_fresh_hyperparameters)
    train_loader = data.loader(batch_size, shuffle=True, seed=seed)
    val_loader = val_data.loader(512, shuffle=False) if val_data is not None else None
    with _restoring_sigint():
        try:
            trainer.fit(engine, train_loader, val_loader, ckpt_path=str(_ckpt_path) if _ckpt_path else None)
        except SystemExit:
            # Lightning catches Ctrl-C's KeyboardInterrupt itself, runs the callbacks' on_exception,
            # finalises the loggers (metrics.csv is complete) and calls sys.exit(1)
            if not trainer.interrupted:
                raise
            model.eval()
            done = _epochs_saved(run_dir) if run_dir else 0
            # a Ctrl-C between an epoch's checkpoint and the next epoch's start interrupts the next one
            raise _interrupted(max(trainer.current_epoch + 1, done + 1), epochs, done, run_dir) from None
    metrics = {k: float(v) for k, v in trainer.callback_metrics.items() if torch.is_tensor(v) and v.numel() == 1}
    stopped = best = None
    if stopper is not None:
        if stopper.stopped_epoch > 0:
            stopped = stopper.stopped_epoch + 1
        best = keep_best.best_epoch
        keep_best.restore(model)
        if run_dir is not None and is_rank_zero():
            info = runs.read_config(run_dir)
            info["train"].update(stopped_early_at=stopped, best_epoch=best)
            write_json(run_dir / runs.CONFIG, info)
    model.eval()
    return TrainResult(model, run_dir, clock.seconds, clock.images / max(clock.seconds, 1e-9), metrics,
                       epochs=epochs, first_epoch=_epochs_done + 1, last_epoch=clock.last_epoch,
                       stopped_early_at=stopped, best_epoch=best)


def _epochs(n: int) -> str:
    return f"{n} epoch{'s' if n != 1 else ''}"


def _epochs_saved(run_dir: Path) -> int:
    """The finished epochs the run folder's checkpoint holds: read from the file itself (written
    atomically), since Ctrl-C can land while Lightning is still writing the next one."""
    ckpt = Path(run_dir) / runs.CHECKPOINT
    return int(load_tree(ckpt).get("epoch", -1)) + 1 if ckpt.is_file() else 0


def _interrupted(epoch: int, total: int, done: int, run_dir: Path | None) -> Interrupted:
    if run_dir is None:
        message = (f"interrupted at epoch {epoch} of {total}; no run folder was written, so there is nothing "
                   "to resume (pass out= to keep a checkpoint every epoch)")
    elif done == 0:
        message = (f"interrupted at epoch {epoch} of {total}, before any epoch finished: nothing was saved to "
                   f"resume; train again with --overwrite (overwrite=True)")
    else:
        message = (f"interrupted at epoch {epoch}; resume with: genlab train --resume {run_dir} (the checkpoint "
                   f"holds the {done} finished epoch{'s' if done != 1 else ''}; epoch {done + 1} starts again)")
    return Interrupted(message, epoch=epoch, epochs_done=done, run_dir=run_dir)


def _is_terminal() -> bool:
    try:
        return sys.stdout.isatty()
    except (AttributeError, ValueError):     # a replaced or closed stdout
        return False


class _restoring_sigint:
    """Lightning ignores SIGINT for the rest of the process once it handled one; put back the
    handler that was there (the main thread's only: signals cannot be set elsewhere)."""

    def __enter__(self):
        import signal
        import threading

        self.handler = None
        if threading.current_thread() is threading.main_thread():
            self.handler = signal.getsignal(signal.SIGINT)
        return self

    def __exit__(self, *exc):
        import signal

        if self.handler is not None:
            signal.signal(signal.SIGINT, self.handler)
        return False


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
        self.seconds, self.images, self._t0, self.last_epoch = 0.0, 0, None, 0

    def on_train_start(self, trainer, pl_module):
        self._t0 = time.perf_counter()

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        self.images += len(batch["x"])

    def on_train_epoch_end(self, trainer, pl_module):
        self.last_epoch = trainer.current_epoch + 1

    def on_train_end(self, trainer, pl_module):
        if self._t0 is not None:
            self.seconds = time.perf_counter() - self._t0


# Config keys a resumed run may change: the optimiser's settings. Any other key would change the
# networks or the objective that the checkpoint's weights and optimiser states belong to.
RESUMABLE_KEYS = ("lr", "lr_d", "encoder_lr", "beta1", "beta2", "weight_decay")


def resume(run_dir: str | Path, epochs: int | None = None, data: ImageData | None = None,
           val_data: ImageData | None = None, *, model: str | None = None, config: dict | None = None,
           data_spec: str | None = None, image_size: int | None = None, channels: int | None = None,
           task: str | None = None, binarize: float | str | None = None, batch_size: int | None = None,
           lr: float | None = None, **kwargs) -> TrainResult:
    """Continue a run from its checkpoint up to ``epochs`` in total (default: the run's own).
    The data is reloaded from the spec in config.json unless given.

    What a resumed run keeps is refused with one line rather than ignored: ``model`` (a registered
    name) other than the run's, ``data_spec``/``image_size``/``channels``/``task``/``binarize`` other than the run's,
    ``config`` values other than the run's except :data:`RESUMABLE_KEYS` (the learning rates and
    Adam's betas, which take effect from the first resumed epoch), and ``epochs`` not above the
    epochs already trained. ``batch_size`` may change."""
    from ..data import load_spec, parse_binarize
    from ..data.sources import BINARISED
    from ..registry import get as registered

    run_dir = Path(run_dir)
    info = runs.read_config(run_dir)
    name = info["model"]
    if model is not None and model != name:
        raise ConfigError(f"{run_dir} is a {name} run: resuming it cannot train a {model}; drop the model name "
                          f"(`genlab train --resume {run_dir}`), or train {model} into a new folder with --out")
    ckpt = run_dir / runs.CHECKPOINT
    if not ckpt.is_file():
        raise RunFolderError(f"{run_dir} has no {runs.CHECKPOINT} to resume from (no epoch finished); train it "
                             f"again with overwrite=True (--overwrite)")
    tree = load_tree(ckpt)  # a corrupt checkpoint is refused before anything in the run folder changes
    done = int(tree.get("epoch", 0)) + 1
    del tree
    spec = dict(info["data"])
    # binarised by name (mnist5k-bin) or by --binarize: the threshold the run's data was made with
    trained_binarize = spec.get("binarize", BINARISED.get(spec.get("spec"), (None, None))[1])
    for key, given in (("spec", data_spec), ("image_size", image_size), ("channels", channels), ("task", task),
                       ("binarize", parse_binarize(binarize))):
        had = trained_binarize if key == "binarize" else spec.get(key)
        if given is not None and given != had:
            flag = {"spec": "--data", "image_size": "--image-size", "channels": "--channels", "task": "--task",
                    "binarize": "--binarize"}[key]
            had = {"spec": had, "image_size": f"{had}×{had}" if had else "the images' own size",
                   "channels": had or "the images' own channels", "task": f"task {had}" if had else "no task",
                   "binarize": f"binarize {had}" if had else "grey images, not binarised"}[key]
            raise ConfigError(f"{flag} {given} differs from the data {run_dir} was trained on ({had}); a resumed "
                              f"run continues on its own data: drop {flag}, or train a new run (--out)")
    entry = registered(name)
    values = dict(info["config"])
    changes = dict(config or {})
    if lr is not None:
        changes["lr"] = float(lr)
    if changes:
        old = entry.config_class.from_dict(values).to_dict()
        new = entry.config_class.from_dict({**values, **changes}).to_dict()
        changed = [k for k in changes if new[k] != old[k]]
        fixed = [k for k in changed if k not in RESUMABLE_KEYS]
        if fixed:
            may = [k for k in RESUMABLE_KEYS if k in old]
            shown = ", ".join(f"{k}={changes[k]} (the run has {old[k]})" for k in fixed)
            raise ConfigError(f"{shown} cannot change on --resume: the checkpoint's weights and optimiser "
                              f"states belong to the run's config; keys that may change: {', '.join(may) or 'none'}; "
                              f"train a new run (--out) to change {', '.join(fixed)}")
        values = new
    else:
        changed = []
    t = info["train"]
    total = t["epochs"] if epochs is None else epochs
    if t.get("stopped_early_at") and epochs is None:
        raise ConfigError(f"{run_dir} stopped early at epoch {t['stopped_early_at']} (its held-out loss stopped "
                          f"improving; the weights of epoch {t.get('best_epoch')} are kept); to train on anyway, "
                          f"pass --epochs (epochs=) above {done}")
    if not t.get("stopped_early_at"):
        kwargs.setdefault("early_stop", t.get("early_stop"))   # an interrupted early-stopping run goes on so
    if epochs is not None and epochs < done:
        raise ConfigError(f"{run_dir} has already trained {_epochs(done)}; --epochs (epochs=) is the total, "
                          f"pass more than {done}")
    if total <= done:
        raise ConfigError(f"{run_dir} is already trained to {_epochs(done)}; pass --epochs {2 * done} (epochs="
                          f"{2 * done}), or any total above {done}, to continue")
    net = runs.create(name, **values)
    if data is None:
        data, val_data = load_spec(spec, "train"), load_spec(spec, "test")
    kwargs.setdefault("seed", t.get("seed", 0))
    return train(net, data, epochs=total, batch_size=batch_size or t["batch_size"], out=run_dir,
                 val_data=val_data, data_info=spec, _ckpt_path=ckpt, _epochs_done=done,
                 _fresh_hyperparameters=bool(changed), **kwargs)
