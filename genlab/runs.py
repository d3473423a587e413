"""Run folders: runs/NAME/{config.json, model.safetensors, checkpoint.safetensors, metrics.csv, samples/, report.html}.

``create`` (a registered name and its config values -> a model) and ``load`` (a run folder -> the
trained model) sit here, in the ground layer beside the registry: a run folder stores exactly a
registered name and its config, so ``load`` is ``create`` plus the weights, and anything above the
registry (train, apps, cli) can build or load a model without importing a higher layer."""
from __future__ import annotations

import shutil
from pathlib import Path

from ._version import __version__
from .errors import CheckpointError, RunFolderError
from .io import load_tensors, load_tree, read_json, write_json
from .registry import get

CONFIG = "config.json"
WEIGHTS = "model.safetensors"
CHECKPOINT = "checkpoint.safetensors"
METRICS = "metrics.csv"
REPORT = "report.html"


def prepare(out: str | Path, overwrite: bool = False) -> Path:
    """Make a fresh run folder; refuse to touch an existing one unless asked to overwrite it."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise RunFolderError(f"{out} exists and is a file; choose another out folder (--out)")
    if out.is_dir() and any(out.iterdir()):
        if not overwrite:
            raise RunFolderError(f"run folder {out} already exists; replace it with overwrite=True (--overwrite), "
                                 f"continue it with genlab.resume({str(out)!r}) (--resume {out}), "
                                 "or choose another out folder (--out)")
        if not (out / CONFIG).is_file():
            raise RunFolderError(f"{out} is not empty and is not a genlab run folder (no {CONFIG}); "
                                 "refusing to delete it, even with overwrite=True (--overwrite): choose another "
                                 "out folder (--out)")
        shutil.rmtree(out)
    out.mkdir(parents=True, exist_ok=True)
    return out


def write_config(run_dir: Path, model, data_info: dict, train_info: dict, classes=None) -> Path:
    return write_json(Path(run_dir) / CONFIG, {
        "genlab_version": __version__,
        "model": model.registry_name,
        "config": model.config.to_dict(),
        "data": data_info,
        "train": train_info,
        "classes": list(classes) if classes else None,
    })


def read_config(run_dir: str | Path) -> dict:
    run_dir = Path(run_dir)
    if not run_dir.exists():
        raise RunFolderError(f"run folder {run_dir} does not exist; train one with `genlab train MODEL --out {run_dir}`")
    path = run_dir / CONFIG
    if not path.is_file():
        raise RunFolderError(f"{run_dir} is not a genlab run folder (no {CONFIG}); pass the folder `genlab train` wrote")
    info = read_json(path)
    if not isinstance(info, dict) or "model" not in info or "config" not in info:
        raise RunFolderError(f"{path} is not a genlab run config (missing 'model' or 'config'); restore it or train again")
    return info


def create(name: str, data=None, *, seed: int | None = None, **config_values):
    """Build a registered model; keyword arguments are validated against its config dataclass.
    With ``data`` (an ImageData) the image shape and number of classes are taken from it. With
    ``seed`` the initial weights are drawn under that seed (the global random state is left as it
    was), so the same call builds the same model: ``train(seed=...)`` seeds only what follows."""
    entry = get(name)
    if data is not None:
        for key, value in entry.config_class.data_values(data).items():
            config_values.setdefault(key, value)
    config = entry.config_class.from_dict(config_values)
    if seed is None:
        model = entry.model_class(config)
    else:
        import torch

        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            model = entry.model_class(config)
    if data is not None and data.classes:
        model.class_names = tuple(str(c) for c in data.classes)
    return model


def load(run_dir: str | Path):
    """The trained model of a run folder (config.json + model.safetensors); runs no code from files."""
    run_dir = Path(run_dir)
    info = read_config(run_dir)
    model = create(info["model"], **info["config"])
    if (run_dir / WEIGHTS).is_file():
        state = load_tensors(run_dir / WEIGHTS)
    elif (run_dir / CHECKPOINT).is_file():
        ckpt = load_tree(run_dir / CHECKPOINT)
        state = {k.removeprefix("model."): v for k, v in ckpt["state_dict"].items()}
    else:
        raise RunFolderError(f"{run_dir} has no {WEIGHTS} or {CHECKPOINT}: its training never finished an epoch; "
                             f"train again with overwrite=True (`genlab train ... --out {run_dir} --overwrite`)")
    state = rename_weights(state, model.renamed_weights)
    missing, unexpected = _compare(model.state_dict(), state)
    if missing or unexpected:
        raise CheckpointError(f"weights in {run_dir} do not fit the model in its {CONFIG} "
                              f"(missing {missing[:3]}, unexpected {unexpected[:3]}); the files do not belong together")
    model.load_state_dict(state)
    model.eval()
    model.run_info = info
    if info.get("classes"):                  # the training data's class names (folder names)
        model.class_names = tuple(str(c) for c in info["classes"])
    return model


def rename_weights(state: dict, renamed: dict[str, str]) -> dict:
    """Weights saved under an old name prefix, renamed to the model's current one."""
    if not renamed:
        return state
    out = {}
    for key, value in state.items():
        for old, new in renamed.items():
            if key.startswith(old):
                key = new + key[len(old):]
                break
        out[key] = value
    return out


def _compare(expected: dict, got: dict) -> tuple[list, list]:
    missing = [k for k in expected if k not in got or tuple(got[k].shape) != tuple(expected[k].shape)]
    unexpected = [k for k in got if k not in expected]
    return missing, unexpected
