"""The reconstruction/KL weighting comparison: VAEs trained with total = k1·r_loss + k2·kl_loss for several
(k1, k2), shown side by side: the 2-D latent of held-out digits and samples from the prior.

A large k1 privileges reconstruction (clusters spread out, holes between them, poor samples);
a large k2 privileges agglomeration around the prior (a smooth, filled space, blurry images).
"""
from __future__ import annotations

from pathlib import Path

import torch

from ..data import load_data
from ..errors import ConfigError, RunFolderError
from ..io import write_json

DEFAULT_WEIGHTS = ((1.0, 0.01), (1.0, 1.0), (1.0, 20.0))


def parse_weights(text: str) -> list[tuple[float, float]]:
    """``"1:0.01,1:1,1:20"`` -> [(1, 0.01), (1, 1), (1, 20)]."""
    pairs = []
    for item in [t for t in text.replace(" ", "").split(",") if t]:
        k1, sep, k2 = item.partition(":")
        try:
            pair = (float(k1), float(k2))
        except ValueError:
            pair = None
        if not sep or pair is None or min(pair) < 0 or max(pair) == 0:
            raise ConfigError(f"cannot read weighting {item!r}; write K1:K2 pairs of non-negative numbers, "
                              "e.g. --weights 1:0.01,1:1,1:20")
        pairs.append(pair)
    if not pairs:
        raise ConfigError("--weights needs at least one K1:K2 pair, e.g. 1:1")
    return pairs


def label(k1: float, k2: float) -> str:
    ratio = k2 / k1 if k1 else float("inf")
    if ratio < 0.2:
        return "reconstruction privileged"
    if ratio > 5:
        return "KL privileged"
    return "balanced"


def sweep_kl(weights=DEFAULT_WEIGHTS, data_spec: str = "mnist5k", epochs: int = 10, out: str | Path = "runs/sweep-kl",
             overwrite: bool = False, seed: int = 0, progress: bool = False, train_data=None, test_data=None) -> dict:
    """Train a 2-D conv VAE per weighting, then draw the latent scatters and samples side by side."""
    from ..models.vae import gaussian_kl
    from ..train import train
    from ..runs import create
    from ..viz.plots import figure_to_png
    from .latent import codes

    out = Path(out)
    if out.exists() and any(out.iterdir()) and not overwrite:
        raise RunFolderError(f"{out} already exists; pass overwrite=True (--overwrite) to replace its runs or "
                             "choose another out folder (--out)")
    train_data = train_data if train_data is not None else load_data(data_spec, "train")
    test_data = test_data if test_data is not None else load_data(data_spec, "test")
    rows, panels = [], []
    for k1, k2 in weights:
        model = create("vae", data=train_data, seed=seed, latent_dim=2, recon_weight=k1, kl_weight=k2)
        train(model, train_data, epochs=epochs, out=out / f"k1_{k1:g}-k2_{k2:g}", overwrite=True, seed=seed,
              val_data=test_data, progress=progress, data_info={"spec": data_spec})
        with torch.no_grad():
            held = test_data.spread(1000)
            mu, logvar = model.posterior(held.x)
            recon = float(((model.decode(mu) - held.x) ** 2).flatten(1).sum(1).mean())
            kl = float(gaussian_kl(mu, logvar).mean())
            torch.manual_seed(seed)
            samples = model.sample(36)
        z = codes(model, held)
        rows.append({"k1": k1, "k2": k2, "label": label(k1, k2), "recon": recon, "kl": kl,
                     "code_spread": float(z.std(0).mean())})
        panels.append((z, held.y, samples, f"k1={k1:g}, k2={k2:g}\n{label(k1, k2)}"))
    figure = figure_to_png(_figure(panels), out / "sweep.png")
    result = {"data": data_spec, "epochs": epochs, "runs": rows, "figure": str(figure),
              "recon_note": "held-out squared error per image of the decoded posterior mean"}
    write_json(out / "sweep.json", result)
    return result


def _figure(panels):
    from ..viz.grids import make_grid
    from ..viz.plots import imshow_grid, new_figure

    fig = new_figure(4.2 * len(panels), 8.4)
    for i, (z, y, samples, title) in enumerate(panels):
        ax = fig.add_subplot(2, len(panels), i + 1)
        ax.scatter(z[:, 0], z[:, 1], c=None if y is None else y.numpy(), cmap="tab10", s=4)
        ax.set_title(title, fontsize=10)
        ax.set_xlabel("z1")
        ax.set_ylabel("z2")
        ax.grid(alpha=0.3)
        ax = fig.add_subplot(2, len(panels), len(panels) + i + 1)
        imshow_grid(ax, make_grid(samples.cpu(), nrow=6))
        ax.set_title("samples from the prior", fontsize=9)
        ax.axis("off")
    return fig
