"""Figures of the application tasks: error against code size, AUROC per held-out class, the 2-D
manifold pull-back, and titled stacks of image grids.

Like :mod:`genlab.viz.plots`, each function returns a Figure on the Agg canvas (no pyplot).
"""
from __future__ import annotations

from typing import Any, Mapping, Sequence

import numpy as np
from matplotlib.figure import Figure
from PIL import Image, ImageDraw

from .plots import new_figure

__all__ = ["error_vs_code_size", "per_class_bars", "pullback", "titled_stack"]


def error_vs_code_size(series: Mapping[str, Sequence[tuple[float, float]]], title: str = "",
                       ylabel: str = "held-out MSE per pixel") -> Figure:
    """One line per method through its (code size, error) points; log-scaled code-size axis."""
    fig = new_figure(5.6, 3.8)
    ax = fig.add_subplot()
    sizes: set[float] = set()
    for name, points in series.items():
        pts = sorted(points)
        if not pts:
            continue
        x, y = zip(*pts)
        sizes.update(x)
        ax.plot(x, y, marker="o", linestyle="--" if name == "pca" else "-", label=name)
    ax.set_xscale("log", base=2)
    if sizes:
        ticks = sorted(sizes)
        ax.set_xticks(ticks, [f"{t:g}" for t in ticks])
        ax.minorticks_off()
    ax.set_xlabel("code size")
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title)
    ax.grid(alpha=0.3)
    if ax.get_lines():
        ax.legend(frameon=False)
    return fig


def per_class_bars(values: Mapping[Any, float], title: str = "", ylabel: str = "AUROC",
                   reference: float | None = 0.5) -> Figure:
    """A bar per class (e.g. AUROC with that digit held out), the mean as a line."""
    keys = list(values)
    v = np.array([values[k] for k in keys], dtype=np.float64)
    fig = new_figure(max(4.0, 0.5 * len(keys) + 1.5), 3.4)
    ax = fig.add_subplot()
    ax.bar(range(len(keys)), v, color="C0")
    ax.set_xticks(range(len(keys)), [str(k) for k in keys])
    if len(v):
        ax.axhline(float(v.mean()), color="C1", linestyle="--", label=f"mean {v.mean():.3f}")
    if reference is not None:
        ax.axhline(reference, color="grey", linewidth=0.8, label=f"chance {reference:g}")
    ax.set_ylim(0, 1)
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title)
    ax.legend(frameon=False, fontsize=8, loc="lower right")
    ax.grid(axis="y", alpha=0.3)
    return fig


def pullback(train: Any, queries: Any, pulled: Any, curve: Any, truth: Any | None = None,
             title: str = "") -> Figure:
    """2-D points: training data, query points joined to where the model sends them, the learned
    curve (decoded code sweep) and, optionally, the true curve. All arrays N×2."""
    def arr(a):
        return np.asarray(a.detach().cpu() if hasattr(a, "detach") else a, dtype=np.float64).reshape(-1, 2)

    train, queries, pulled, curve = arr(train), arr(queries), arr(pulled), arr(curve)
    fig = new_figure(6.0, 6.0)
    ax = fig.add_subplot()
    ax.scatter(train[:, 0], train[:, 1], s=4, color="0.7", label="training points", zorder=1)
    if truth is not None:
        t = arr(truth)
        ax.plot(t[:, 0], t[:, 1], color="k", linestyle=":", linewidth=1, label="true curve", zorder=2)
    segments = np.stack([queries, pulled], 1)                  # one line per query, drawn in one call
    from matplotlib.collections import LineCollection

    ax.add_collection(LineCollection(segments, colors="C0", linewidths=0.6, alpha=0.6, zorder=3))
    ax.scatter(queries[:, 0], queries[:, 1], s=8, color="C0", label="points anywhere", zorder=4)
    ax.scatter(pulled[:, 0], pulled[:, 1], s=8, color="C3", label="their reconstructions", zorder=5)
    ax.plot(curve[:, 0], curve[:, 1], color="C3", linewidth=1.5, label="decoded code sweep", zorder=6)
    ax.set_aspect("equal")
    ax.set_xlabel("x1")
    ax.set_ylabel("x2")
    if title:
        ax.set_title(title)
    ax.legend(frameon=False, fontsize=8, loc="upper left")
    return fig


def titled_stack(parts: Sequence[tuple[str, Image.Image]], margin: int = 8) -> Image.Image:
    """Images one above the other, each under its title line, on white."""
    from .grids import load_font

    font = load_font(14)
    probe = ImageDraw.Draw(Image.new("L", (1, 1)))
    boxes = [probe.textbbox((0, 0), title, font=font) for title, _ in parts]
    heights = [(b[3] - b[1]) + 2 * margin + im.height for b, (_, im) in zip(boxes, parts)]
    width = max(max(im.width for _, im in parts), max(b[2] - b[0] for b in boxes)) + 2 * margin
    out = Image.new("RGB", (width, sum(heights) + margin), "white")
    draw = ImageDraw.Draw(out)
    y = margin
    for (title, im), box in zip(parts, boxes):
        draw.text((margin - box[0], y - box[1]), title, fill="black", font=font)
        y += (box[3] - box[1]) + margin
        out.paste(im.convert("RGB"), (margin, y))
        y += im.height + margin
    return out
