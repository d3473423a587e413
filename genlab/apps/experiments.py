"""Classic experiments as one command.

``adam_vs_sgd`` shows that training GANs is unstable: the same DCGAN trained on MNIST
with Adam (lr 0.0002 for both players, β1 = 0.5 as in DCGAN) and then "the same as before but with
SGD instead of Adam" (plain SGD, the same lr 0.0002), where the SGD generator "always produces the
same image". A third run with the WGAN-GP loss (its recipe: Adam 1e-4, β = (0, 0.9), n_critic = 5,
λ = 10) shows the stable alternative. The per-epoch class coverage and near-duplicate rate come
from the GAN diagnostics callback, the final figures from `genlab diagnose` on 1,000 samples.
"""
from __future__ import annotations

import datetime as _dt
import os
import platform
import time
from pathlib import Path

from ..errors import ConfigError, RunFolderError

# three runs of DCGAN(width 16) on the 4,000 mnist5k digits, batch 64 (63 steps an epoch), one
# thread: per epoch ~7 s Adam, ~6 s SGD, ~24 s WGAN-GP (5 critic steps + the penalty's double
# backward) on two busy shared CPU cores, so 12 epochs take about 8 minutes in all; --epochs,
# --n-train and --width trade time for fidelity
ADAM_VS_SGD_EPOCHS = 12
ADAM_VS_SGD_WIDTH = 16
ADAM_VS_SGD_BATCH = 64
DCGAN_LR = 2e-4                       # DCGAN's learning rate for both players (Radford et al. 2016)


def adam_vs_sgd_setups(loss: str = "nonsaturating", sgd_lr: float = DCGAN_LR) -> dict[str, dict]:
    """The three runs' config values (the rest is DCGAN's defaults)."""
    return {
        "adam": {"loss": loss, "optimizer": "adam", "lr": DCGAN_LR, "beta1": 0.5, "beta2": 0.999},
        "sgd": {"loss": loss, "optimizer": "sgd", "lr": sgd_lr},
        "wgan-gp": {"loss": "wgan-gp"},
    }


def adam_vs_sgd(out: str | Path = "runs/adam-vs-sgd", epochs: int = ADAM_VS_SGD_EPOCHS, n_train: int | None = None,
                width: int = ADAM_VS_SGD_WIDTH, batch_size: int = ADAM_VS_SGD_BATCH, loss: str = "nonsaturating",
                sgd_lr: float = DCGAN_LR, n_eval: int = 1000, seed: int = 0, data_spec: str = "mnist5k",
                threads: int = 1, overwrite: bool = False, progress: bool = False, log=print) -> dict:
    """Train the three runs into ``out/{adam,sgd,wgan-gp}`` and write ``out/comparison.{json,md,html}``.

    Returns the comparison: per run its settings, time, per-epoch coverage and near-duplicates,
    the final `diagnose` figures and verdict, and a one-line finding per run. ``threads``: PyTorch
    threads while training (0: PyTorch's default); one by default because these small networks
    gain nothing from more, and on a busy machine two threads made a WGAN-GP epoch 35× slower
    (866 s against 24 s).
    """
    import torch

    before = torch.get_num_threads()
    if threads < 0:
        raise ConfigError(f"--threads must be 0 (PyTorch's default) or more, got {threads}")
    if threads:
        torch.set_num_threads(threads)
    try:
        return _adam_vs_sgd(Path(out), epochs, n_train, width, batch_size, loss, sgd_lr, n_eval, seed, data_spec,
                            overwrite, progress, log, torch.get_num_threads())
    finally:
        torch.set_num_threads(before)


def _adam_vs_sgd(out, epochs, n_train, width, batch_size, loss, sgd_lr, n_eval, seed, data_spec, overwrite,
                 progress, log, threads) -> dict:
    import torch

    from ..data import load_data
    from ..runs import create
    from ..train import train
    from ..io import write_json
    from ..metrics.judge import get_judge
    from ..models.gan.game import PROBABILITY_LOSSES, recipe
    from ..train.diagnostics import read_history
    from .diagnose import diagnose

    if loss not in PROBABILITY_LOSSES:
        raise ConfigError(f"--loss must be minimax or nonsaturating (the objectives this comparison uses), got {loss!r}")
    for name, value in (("--epochs", epochs), ("--width", width), ("--batch-size", batch_size)):
        if value < 1:
            raise ConfigError(f"{name} must be at least 1, got {value}")
    if n_train is not None and n_train < 2:
        raise ConfigError(f"--n-train must be at least 2, got {n_train}")
    if out.exists() and (not out.is_dir() or any(out.iterdir())) and not overwrite:
        raise RunFolderError(f"{out} already exists; pass overwrite=True (--overwrite) to replace its runs, or "
                             "choose another out folder (--out)")
    out.mkdir(parents=True, exist_ok=True)

    data = load_data(data_spec, "train")
    if n_train:
        data = data.spread(n_train)               # evenly spaced over the class-sorted rows: every digit
    # coverage needs the judge: trained once (a few minutes) and cached if this machine has none
    get_judge(data_spec, data.shape, train_if_missing=True, progress=progress)

    started = time.perf_counter()
    results: dict[str, dict] = {}
    for name, values in adam_vs_sgd_setups(loss, sgd_lr).items():
        log(f"adam-vs-sgd: training {name} ({epochs} epochs on {len(data)} images)")
        model = create("dcgan", data=data, seed=seed, g_width=width, d_width=width, **values)
        res = train(model, data, epochs=epochs, batch_size=batch_size, out=out / name, seed=seed,
                           progress=progress, overwrite=overwrite, data_info={"spec": data_spec}, diagnostics=True)
        history = read_history(out / name / "metrics.csv")
        diag = diagnose(out / name, n=n_eval, seed=seed)
        settings = recipe(model.config)
        results[name] = {
            "loss": model.config.loss, "optimizer": settings["optimizer"], "lr_g": settings["lr_g"],
            "lr_d": settings["lr_d"], "betas": list(settings["betas"]) if settings["optimizer"] == "adam" else None,
            "d_steps": settings["d_steps"], "seconds": round(res.seconds, 1),
            "per_epoch": {key: [r.get(key) for r in history]
                          for key in ("epoch", "classes_covered", "class_entropy", "class_kl_uniform", "duplicate_rate",
                                      "d_real", "d_fake", "g_grad", "d_grad")},
            "final": {k: v for k, v in (diag["coverage"] or {}).items() if k != "source"},
            "final_scores": diag["final"], "verdict": diag["verdict"], "problems": diag["problems"],
            "warnings": [{"epoch": w["epoch"], "kind": w["kind"]} for w in diag["warnings"]],
        }
        results[name]["finding"] = _finding(name, results[name])

    comparison = {
        "experiment": "adam-vs-sgd", "reference": "DCGAN on MNIST, Adam vs SGD at lr 0.0002",
        "date": _dt.date.today().isoformat(),
        "machine": {"cpus": os.cpu_count(), "threads": threads, "platform": platform.platform(),
                    "torch": _torch_version()},
        "settings": {"data": data_spec, "n_train": len(data), "epochs": epochs, "batch_size": batch_size,
                     "steps_per_epoch": -(-len(data) // batch_size), "model": "dcgan", "g_width": width,
                     "d_width": width, "gan_loss": loss, "n_eval": n_eval, "seed": seed},
        "seconds": round(time.perf_counter() - started, 1),
        "runs": results,
        "summary": [r["finding"] for r in results.values()],
    }
    write_json(out / "comparison.json", comparison)
    (out / "comparison.md").write_text(comparison_markdown(comparison), encoding="utf-8")
    comparison_html(comparison, out)
    comparison["files"] = {k: str(out / f"comparison.{k}") for k in ("json", "md", "html")}
    return comparison


def _torch_version() -> str:
    import torch

    return torch.__version__


def _finding(name: str, r: dict) -> str:
    f = r["final"]
    cov = (f"{f['classes_covered']}/{f.get('num_classes') or '?'} classes" if f.get("classes_covered") is not None
           else "classes not measured")
    dup = f"{f['duplicate_rate']:.0%} near-duplicates" if f.get("duplicate_rate") is not None else ""
    return f"{name}: {cov}, {dup}; verdict {r['verdict']}".replace(", ;", ";")


def comparison_markdown(c: dict) -> str:
    s = c["settings"]
    lines = ["# Adam vs SGD vs WGAN-GP", "",
             f"DCGAN (width {s['g_width']}) on {s['n_train']} {s['data']} digits, {s['epochs']} epochs of "
             f"{s['steps_per_epoch']} steps (batch {s['batch_size']}); generator loss {s['gan_loss']} for Adam "
             f"and SGD. Final figures on {s['n_eval']} samples through the judge classifier; "
             f"{c['seconds']:.0f} s in all on {c['machine']['cpus']} CPU(s).", "",
             "| run | optimizer | lr (G/D) | k | classes covered | class entropy (nats) | KL to uniform | "
             "near-duplicates | verdict | seconds |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for name, r in c["runs"].items():
        f = r["final"]
        lines.append(f"| {name} | {r['optimizer']} | {r['lr_g']:g}/{r['lr_d']:g} | {r['d_steps']} | "
                     f"{_cell(f.get('classes_covered'), 'd')}/{f.get('num_classes') or '?'} | "
                     f"{_cell(f.get('class_entropy'))} | {_cell(f.get('class_kl_uniform'))} | "
                     f"{_cell(f.get('duplicate_rate'), '.1%')} | {r['verdict']} | {r['seconds']:.0f} |")
    lines += ["", "Classes covered (≥ 1% of 500 fixed-seed samples) after each epoch:", "",
              "| epoch | " + " | ".join(c["runs"]) + " |", "|---|" + "---|" * len(c["runs"])]
    epochs = next(iter(c["runs"].values()))["per_epoch"]["epoch"]
    for i, e in enumerate(epochs):
        lines.append(f"| {e} | " + " | ".join(_cell(_at(r["per_epoch"]["classes_covered"], i), ".0f")
                                             for r in c["runs"].values()) + " |")
    lines += ["", "Findings:", ""] + [f"* {line}" for line in c["summary"]]
    lines += ["", "Each run folder holds its report material: `diagnose.json`, `diagnose.png`, "
              "`samples/strip.png` and `samples/evolution.gif`."]
    return "\n".join(lines) + "\n"


def _at(values: list, i: int):
    return values[i] if i < len(values) else None


def _cell(v, spec: str = ".3g") -> str:
    if v is None:
        return "n/a"
    return format(int(v), spec) if spec == "d" else format(v, spec)


def comparison_figure(c: dict):
    from ..viz.plots import new_figure

    fig = new_figure(10.0, 3.4)
    axes = fig.subplots(1, 3)
    for key, ax, title in (("classes_covered", axes[0], "classes covered"),
                           ("duplicate_rate", axes[1], "near-duplicate rate"),
                           ("class_kl_uniform", axes[2], "class histogram: KL to uniform (nats)")):
        for name, r in c["runs"].items():
            pts = [(e, v) for e, v in zip(r["per_epoch"]["epoch"], r["per_epoch"][key]) if v is not None]
            if pts:
                x, y = zip(*pts)
                ax.plot(x, y, marker="o", markersize=3, label=name)
        ax.set_title(title, fontsize=10)
        ax.set_xlabel("epoch")
        ax.grid(alpha=0.3)
        ax.xaxis.get_major_locator().set_params(integer=True)
        if ax.get_lines():
            ax.legend(fontsize=8, frameon=False)
    return fig


def comparison_html(c: dict, out: Path) -> Path:
    from ..viz.report import Report

    s = c["settings"]
    report = Report("Adam vs SGD vs WGAN-GP",
                    f"DCGAN width {s['g_width']} · {s['n_train']} {s['data']} digits · {s['epochs']} epochs · "
                    f"batch {s['batch_size']}")
    report.section("Coverage over epochs", "500 fixed-seed samples after each epoch, classified by the judge.")
    report.image(comparison_figure(c))
    report.section("Final figures", f"{s['n_eval']} samples of the final generators.")
    report.table([{"run": n, "optimizer": r["optimizer"], "lr G/D": f"{r['lr_g']:g}/{r['lr_d']:g}", "k": r["d_steps"],
                   "classes covered": r["final"].get("classes_covered"), "entropy": r["final"].get("class_entropy"),
                   "KL to uniform": r["final"].get("class_kl_uniform"),
                   "near-duplicates": r["final"].get("duplicate_rate"), "verdict": r["verdict"],
                   "seconds": r["seconds"]} for n, r in c["runs"].items()])
    report.text("\n\n".join(c["summary"]))
    report.section("Final samples", "The fixed-noise preview grid after the last epoch.")
    grids = []
    for name in c["runs"]:
        previews = sorted((out / name / "samples").glob("epoch_*.png"))
        if previews:
            grids.append((previews[-1], name))
    if grids:
        report.gallery(grids)
    for name in c["runs"]:
        strip = out / name / "samples" / "strip.png"
        if strip.is_file():
            report.section(f"{name}: samples over epochs")
            report.image(strip)
    return report.write(out / "comparison.html")
