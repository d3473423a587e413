"""Matplotlib figures: latent scatter, training curves, interpolation strips, manifolds, histograms.

Each function returns a :class:`matplotlib.figure.Figure` built directly on the Agg canvas: no
pyplot, no global state, no window. Save one with :func:`figure_to_png` or embed it in HTML with
:func:`figure_data_uri`.
"""
from __future__ import annotations

import base64
import csv
import io
import math
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import ListedColormap
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from PIL import Image

from ..io import atomic_write_bytes
from .grids import make_grid

__all__ = ["new_figure", "figure_png_bytes", "figure_to_png", "figure_data_uri", "figure_to_image", "latent_scatter",
           "read_metrics_csv", "training_curves", "interpolation_strip", "manifold_grid", "histogram", "imshow_grid"]

_PHASES = ("train", "val", "valid", "validation", "test")
_PRIORITY = ("loss", "total", "recon", "reconstruction", "kl")     # shown first in training_curves


# --------------------------------------------------------------------------- figures and files

def new_figure(width: float, height: float) -> Figure:
    """A Figure of ``width``×``height`` inches on the Agg canvas (no pyplot, no global state)."""
    fig = Figure(figsize=(width, height), dpi=100, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def figure_png_bytes(fig: Figure, dpi: float | None = None) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi or fig.dpi, facecolor="white")
    return buf.getvalue()


def figure_to_png(fig: Figure, path: str | Path, dpi: float | None = None) -> Path:
    """Write ``fig`` as PNG atomically (temporary file + ``os.replace``), creating folders."""
    return atomic_write_bytes(path, figure_png_bytes(fig, dpi))


def figure_data_uri(fig: Figure, dpi: float | None = None) -> str:
    """``data:image/png;base64,...`` of ``fig``."""
    return "data:image/png;base64," + base64.b64encode(figure_png_bytes(fig, dpi)).decode("ascii")


def figure_to_image(fig: Figure, dpi: float | None = None) -> Image.Image:
    img = Image.open(io.BytesIO(figure_png_bytes(fig, dpi)))
    img.load()
    return img


def _numpy(a: Any) -> np.ndarray:
    if hasattr(a, "detach"):
        a = a.detach().cpu()
        if a.dtype.is_floating_point:
            a = a.float()
        a = a.numpy()
    return np.asarray(a)


def imshow_grid(ax, grid: np.ndarray) -> None:
    """Draw an H×W×C grid (from ``make_grid``) on ``ax``, clamped to [0, 1], pixels kept crisp."""
    grid = np.clip(np.nan_to_num(grid), 0.0, 1.0)
    if grid.shape[2] == 1:
        ax.imshow(grid[:, :, 0], cmap="gray", vmin=0.0, vmax=1.0, interpolation="nearest")
    else:
        ax.imshow(grid, interpolation="nearest")


def _thin(n: int, most: int = 12) -> int:
    """Label every k-th tick so that at most ``most`` labels show."""
    return max(1, math.ceil(n / most))


# --------------------------------------------------------------------------- latent scatter

def _categorical(labels: np.ndarray) -> bool:
    if labels.dtype.kind in "biuUSO":
        return True
    finite = labels[np.isfinite(labels)]
    return bool(np.all(finite == np.round(finite))) and len(np.unique(finite)) <= 20


def latent_scatter(codes: Any, labels: Any = None, title: str = "Latent codes",
                   class_names: Sequence[str] | Mapping[Any, str] | None = None, seed: int = 0) -> Figure:
    """Scatter of latent codes (N×D), coloured by ``labels`` when given.

    D == 2 is drawn as is; D > 2 is projected to its first two principal components (scikit-learn
    PCA), and the axis labels say so with the variance each explains, e.g. "PC1 (34% var)";
    D == 1 is drawn along x against a random jitter (or, with class labels, one band per class).
    Class labels get a legend (tab10 for up to 10 classes, tab20 up to 20); continuous labels, or
    more than 20 classes, a colourbar. ``class_names`` maps a label to its name in the legend.
    """
    z = _numpy(codes).astype(np.float64)
    z = z.reshape(len(z), -1) if z.ndim != 1 else z[:, None]
    n, d = z.shape
    if n == 0 or d == 0:
        raise ValueError(f"no codes to plot (shape {z.shape})")
    y = None if labels is None else _numpy(labels).reshape(-1)
    if y is not None and len(y) != n:
        raise ValueError(f"got {n} codes but {len(y)} labels")
    rng = np.random.default_rng(seed)

    categorical = y is not None and _categorical(y)
    classes = np.unique(y) if categorical else None
    if categorical:
        idx = np.searchsorted(classes, y)

    fig = new_figure(6.4 if y is not None else 5.6, 5.0)
    ax = fig.add_subplot()
    if d == 1:
        x_plot = z[:, 0]
        if categorical and len(classes) <= 20:
            y_plot = idx + rng.uniform(-0.3, 0.3, n)
            ax.set_yticks(range(len(classes)), [_class_name(c, class_names) for c in classes])
            ax.set_ylabel("label (jittered)")
        else:
            y_plot = rng.uniform(-0.4, 0.4, n)
            ax.set_yticks([])
            ax.set_ylabel("(random jitter)")
        ax.set_xlabel("z1")
    elif d == 2 or n < 2:
        x_plot, y_plot = z[:, 0], z[:, 1]
        ax.set_xlabel("z1")
        ax.set_ylabel("z2")
    else:
        from sklearn.decomposition import PCA

        pca = PCA(n_components=2, random_state=seed)
        xy = pca.fit_transform(np.nan_to_num(z))
        ratio = pca.explained_variance_ratio_
        x_plot, y_plot = xy[:, 0], xy[:, 1]
        ax.set_xlabel(f"PC1 ({100 * ratio[0]:.0f}% var)")
        ax.set_ylabel(f"PC2 ({100 * ratio[1]:.0f}% var)")
        title = f"{title} — PCA of {d}-D codes" if title else f"PCA of {d}-D codes"

    order = rng.permutation(n)                       # no class is drawn entirely on top of another
    size = float(np.clip(3000.0 / n, 2.0, 30.0))
    style = dict(s=size, alpha=0.75, linewidths=0)
    if y is None:
        ax.scatter(x_plot[order], y_plot[order], color="C0", **style)
    elif categorical and len(classes) <= 20:
        cmap = ListedColormap(list((_cmap("tab10") if len(classes) <= 10 else _cmap("tab20")).colors)[:len(classes)])
        ax.scatter(x_plot[order], y_plot[order], c=idx[order], cmap=cmap, vmin=-0.5,
                   vmax=len(classes) - 0.5, **style)
        handles = [Line2D([], [], marker="o", linestyle="", color=cmap(k), markersize=6,
                          label=_class_name(c, class_names)) for k, c in enumerate(classes)]
        ax.legend(handles=handles, title="label", loc="center left", bbox_to_anchor=(1.01, 0.5),
                  frameon=False, fontsize=9)
    else:
        values = y.astype(np.float64) if y.dtype.kind in "biuf" else idx
        sc = ax.scatter(x_plot[order], y_plot[order], c=values[order], cmap="viridis", **style)
        fig.colorbar(sc, ax=ax, label="label")
    if title:
        ax.set_title(title)
    ax.grid(alpha=0.25)
    return fig


def _cmap(name: str):
    from matplotlib import colormaps

    return colormaps[name]


def _class_name(c: Any, names: Sequence[str] | Mapping[Any, str] | None) -> str:
    key = c.item() if hasattr(c, "item") else c
    if names is not None:
        try:
            return str(names[key])
        except (KeyError, IndexError, TypeError):
            pass
    if isinstance(key, float) and key == int(key):
        key = int(key)
    return str(key)


# --------------------------------------------------------------------------- metrics and curves

def _num(cell: str | None) -> float | None:
    if cell is None:
        return None
    cell = cell.strip()
    if not cell:
        return None
    try:
        return float(cell)
    except ValueError:
        return None


def _epoch_level(name: str) -> bool:
    """Lightning's naming: ``*_epoch`` are epoch means, ``val*`` (and ``test*``) are logged per epoch."""
    return name.endswith("_epoch") or name.startswith(("val", "test"))


def _metric_base(name: str) -> str:
    """``train/recon_epoch`` -> ``recon``; ``val/loss`` -> ``loss``: the group a column is plotted in."""
    head, sep, tail = name.partition("/")
    base = tail if sep and head.lower() in _PHASES else name
    for suffix in ("_epoch", "_step"):
        if base.endswith(suffix) and len(base) > len(suffix):
            return base[: -len(suffix)]
    return base


# each point: (epoch or None, step or None, value)
_Points = list[tuple[float | None, float | None, float]]


def _read_table(path: str | Path) -> dict[str, _Points]:
    with open(path, newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        columns = [c for c in (reader.fieldnames or []) if c and c not in ("epoch", "step")]
        table: dict[str, _Points] = {c: [] for c in columns}
        for i, row in enumerate(reader):
            epoch, step = _num(row.get("epoch")), _num(row.get("step"))
            for c in columns:
                value = _num(row.get(c))
                if value is not None:
                    table[c].append((epoch if epoch is not None else float(i),
                                     step if step is not None else float(i), value))
    return {c: pts for c, pts in table.items() if pts}       # drops empty and non-numeric columns


def read_metrics_csv(path: str | Path) -> dict[str, list[tuple[float, float]]]:
    """Read a Lightning ``CSVLogger`` metrics.csv into ``{column: [(x, value), ...]}``.

    Only non-empty numeric cells are kept. ``x`` is the row's ``epoch`` for columns whose name ends
    with ``_epoch`` or begins with ``val`` (or ``test``), else its ``step`` (the row number when that
    column is missing). ``epoch`` and ``step`` themselves are not returned.
    """
    return {c: [((e if _epoch_level(c) else s), v) for e, s, v in pts] for c, pts in _read_table(path).items()}


def _from_dict(metrics: Mapping[str, Sequence[Any]]) -> dict[str, _Points]:
    table: dict[str, _Points] = {}
    for name, seq in metrics.items():
        pts: _Points = []
        for i, item in enumerate(seq):
            if np.ndim(item) == 0:                                  # bare values: x is the index
                x, v = float(i), float(item)
            else:
                x, v = float(item[0]), float(item[1])
            pts.append((x, None, v) if _epoch_level(name) else (None, x, v))
        if pts:
            table[str(name)] = pts
    return table


# training curves are grouped into a few panels by what they show; keys not named here get a panel each
_LOSS_KEYS = ("loss", "total", "discriminator_loss", "generator_loss")
_PANELS = (
    ("losses", lambda k: k in _LOSS_KEYS),
    ("D(x) and D(G(z))", lambda k: k in ("discriminator_d_real", "discriminator_d_fake")),
    ("gradient norms", lambda k: k.endswith("grad_norm")),
    ("diagnostics: coverage and near-duplicates", lambda k: k in ("diag:duplicate_rate", "diag:classes_covered")),
)
# the other diag/* columns (warning flags, class entropy, KL) stay in metrics.csv and the GAN section
_HIDDEN_DIAG = ("mode_collapse", "vanishing_gradient", "class_entropy", "class_kl_uniform", "classes_found")


def _panel_of(column: str) -> str | None:
    """The panel a metrics.csv column is drawn in (None: not drawn)."""
    from ..train.names import display, training_key

    phase, key = training_key(column)
    if phase == "diag":
        if key in _HIDDEN_DIAG:
            return None
        key = f"diag:{key}"
    for title, wanted in _PANELS:
        if wanted(key):
            return title
    return display(column.partition("/")[2] if phase in _PHASES else column).title


def _select(columns: list[str], names: Sequence[str] | None) -> dict[str, list[str]]:
    """Columns grouped into panels (losses; D(x) and D(G(z)); gradient norms; diagnostics; then one
    panel per other metric, reconstruction and KL first), in display order."""
    if names is not None:
        chosen: list[str] = []
        for wanted in names:
            hits = [c for c in columns if c == wanted or _metric_base(c) == wanted or fnmatchcase(c, wanted)]
            if not hits:
                raise ValueError(f"no metric matches {wanted!r}; the metrics are: {', '.join(columns) or 'none'}")
            chosen += [c for c in hits if c not in chosen]
        columns = chosen
    groups: dict[str, list[str]] = {}
    bases: dict[str, str] = {}
    for c in columns:
        panel = _panel_of(c)
        if panel is not None:
            groups.setdefault(panel, []).append(c)
            bases.setdefault(panel, _metric_base(c))
    fixed = [title for title, _ in _PANELS]

    def rank(panel: str):
        if panel in fixed:
            return (0, fixed.index(panel))
        base = bases[panel]
        return (1, _PRIORITY.index(base) if base in _PRIORITY else len(_PRIORITY))

    order = sorted(groups, key=lambda p: (rank(p), list(groups).index(p)))
    phase = {p: k for k, p in enumerate(_PHASES)}
    return {p: sorted(groups[p], key=lambda c: phase.get(c.partition("/")[0].lower(), len(_PHASES))) for p in order}


def training_curves(metrics: Mapping[str, Sequence[Any]] | str | Path, names: Sequence[str] | None = None,
                    title: str | None = None, ncols: int = 3, logy: bool = False) -> Figure:
    """Training curves in a few panels, titled and labelled with display names.

    ``metrics`` is ``{name: [(epoch_or_step, value), ...]}`` or the path of a Lightning metrics.csv
    (see :func:`read_metrics_csv`); epochs are Lightning's (from 0) and are drawn counted from 1, as
    everywhere else. Panels: the losses (train and held-out together), D(x) and D(G(z)), the
    gradient norms (log scale), the GAN diagnostics (near-duplicates with their warning level, and
    the classes covered), then one panel per other metric (reconstruction and KL first). A panel
    shows its per-epoch series against the epoch when there are at least two epochs, else the
    per-step series against the step. ``names`` picks columns by column name, metric name or glob
    pattern.
    """
    table = _read_table(metrics) if isinstance(metrics, (str, Path)) else _from_dict(metrics)
    table = {c: [(None if e is None else e + 1, s, v) for e, s, v in pts] for c, pts in table.items()}
    groups = _select(list(table), names)
    if not groups:
        fig = new_figure(5, 2)
        ax = fig.add_subplot()
        ax.text(0.5, 0.5, "no metrics logged yet", ha="center", va="center")
        ax.set_axis_off()
        return fig
    ncols = max(1, min(int(ncols), len(groups)))
    nrows = math.ceil(len(groups) / ncols)
    fig = new_figure(3.8 * ncols, 2.9 * nrows)
    axes = fig.subplots(nrows, ncols, squeeze=False).ravel()
    for ax in axes[len(groups):]:
        fig.delaxes(ax)
    for ax, (panel, cols) in zip(axes, groups.items()):
        _plot_group(ax, panel, {c: table[c] for c in cols}, logy or panel == "gradient norms")
    if title:
        fig.suptitle(title)
    return fig


def _series_label(column: str, per_step: bool = False) -> str:
    from ..train.names import display

    return display(column).label + (" (per step)" if per_step else "")


def _plot_group(ax, panel: str, series: dict[str, _Points], logy: bool) -> None:
    epoch_cols = [c for c in series if _epoch_level(c)]
    step_cols = [c for c in series if not _epoch_level(c)]
    epochs_seen = max((len({e for e, _, _ in series[c] if e is not None}) for c in epoch_cols), default=0)
    by_epoch = bool(epoch_cols) and (epochs_seen >= 2 or not step_cols)
    twin = None
    from ..train.names import training_key

    # one colour per figure, train solid and held-out dashed, so the pair reads as one
    colours = {k: f"C{i}" for i, k in enumerate(dict.fromkeys(training_key(c)[1] for c in series))}

    def style(c: str) -> dict:
        phase, key = training_key(c)
        return {"color": colours[key], "linestyle": "--" if phase in ("val", "valid", "validation", "test") else "-"}

    if by_epoch:
        for c in epoch_cols:
            pts = sorted((e, v) for e, _, v in series[c] if e is not None)
            if not pts:
                continue
            x, v = zip(*pts)
            # classes covered (a count) shares the diagnostics panel with a share: its own axis
            target = ax
            if c.startswith("diag/classes_covered"):
                twin = twin or ax.twinx()
                target = twin
            target.plot(x, v, marker="o" if len(pts) <= 30 else None, markersize=3, label=_series_label(c),
                        **style(c))
        ax.set_xlabel("epoch")
        if epochs_seen <= 12:
            ax.xaxis.get_major_locator().set_params(integer=True)
    else:
        for c in step_cols:
            pts = sorted((s, v) for _, s, v in series[c] if s is not None)
            if pts:
                x, v = zip(*pts)
                ax.plot(x, v, linewidth=1.2, label=_series_label(c, per_step=True))
        for c in epoch_cols:
            pts = sorted((s, v) for _, s, v in series[c] if s is not None)
            if pts:
                x, v = zip(*pts)
                ax.plot(x, v, marker="o", markersize=5, linestyle="--", label=_series_label(c))
        ax.set_xlabel("step")
    if panel.startswith("diagnostics"):
        from ..train.diagnostics import Thresholds

        ax.axhline(Thresholds().max_duplicate_rate, color="#cc3311", linestyle="--", linewidth=0.8,
                   label="near-duplicate warning level")
        ax.set_ylim(-0.02, 1.02)
        ax.set_ylabel("share of samples")
        if twin is not None:
            twin.set_ylabel("classes covered")
            twin.set_ylim(bottom=0)
            twin.yaxis.get_major_locator().set_params(integer=True)
    ax.set_title(panel)
    if logy and all(v > 0 for pts in series.values() for _, _, v in pts):
        ax.set_yscale("log")
    ax.grid(alpha=0.3)
    lines = ax.get_lines() + (twin.get_lines() if twin is not None else [])
    if lines:
        ax.legend(lines, [ln.get_label() for ln in lines], fontsize=7, frameon=False)


# --------------------------------------------------------------------------- images with coordinates

def interpolation_strip(images: Any, ts: Sequence[float] | None = None, title: str | None = None,
                        padding: int = 2) -> Figure:
    """One row of images (steps×C×H×W) with the interpolation weight ``t`` under each.

    ``ts`` defaults to ``linspace(0, 1, steps)``.
    """
    grid = make_grid(images, nrow=len(images), padding=padding)
    steps = len(images)
    ts = np.linspace(0.0, 1.0, steps) if ts is None else np.asarray(_numpy(ts), dtype=np.float64).reshape(-1)
    if len(ts) != steps:
        raise ValueError(f"got {steps} images but {len(ts)} values of t")
    cell = (grid.shape[1] - padding) / steps
    aspect = grid.shape[0] / grid.shape[1]
    width = float(np.clip(steps * 0.9, 4.0, 14.0))
    fig = new_figure(width, width * aspect + 0.9 + (0.3 if title else 0))
    ax = fig.add_subplot()
    imshow_grid(ax, grid)
    k = _thin(steps, 16)
    centres = padding + cell * np.arange(steps) + (cell - padding) / 2 - 0.5
    ax.set_xticks(centres[::k], [f"{t:.2g}" for t in ts[::k]])
    ax.set_yticks([])
    ax.set_xlabel("t")
    if title:
        ax.set_title(title)
    return fig


def manifold_grid(images: Any, xs: Sequence[float], ys: Sequence[float], title: str | None = None,
                  xlabel: str = "z1", ylabel: str = "z2", padding: int = 0) -> Figure:
    """Decoded images on a grid of latent coordinates, with the coordinates as axis ticks.

    ``images`` is (len(ys)·len(xs))×C×H×W in row-major order: image ``i·len(xs) + j`` was decoded
    from ``(xs[j], ys[i])`` and is drawn in row ``i`` (top row first) and column ``j``.
    """
    xs = np.asarray(_numpy(xs), dtype=np.float64).reshape(-1)
    ys = np.asarray(_numpy(ys), dtype=np.float64).reshape(-1)
    if len(images) != len(xs) * len(ys):
        raise ValueError(f"got {len(images)} images for a {len(ys)}×{len(xs)} grid of coordinates")
    grid = make_grid(images, nrow=len(xs), padding=padding)
    h, w = grid.shape[0] - padding, grid.shape[1] - padding
    cell_h, cell_w = h / len(ys), w / len(xs)
    side = 6.0
    fig = new_figure(side + 0.8, side * h / w + 0.8 + (0.3 if title else 0))
    ax = fig.add_subplot()
    imshow_grid(ax, grid)
    kx, ky = _thin(len(xs)), _thin(len(ys))
    cx = padding + cell_w * np.arange(len(xs)) + (cell_w - padding) / 2 - 0.5
    cy = padding + cell_h * np.arange(len(ys)) + (cell_h - padding) / 2 - 0.5
    ax.set_xticks(cx[::kx], [f"{v:.2g}" for v in xs[::kx]])
    ax.set_yticks(cy[::ky], [f"{v:.2g}" for v in ys[::ky]])
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if title:
        import textwrap

        ax.set_title(textwrap.fill(title, 60))   # a long axis description stays inside the figure
    return fig


# --------------------------------------------------------------------------- histograms

def histogram(values: Any, bins: int | Sequence[float] = 50, title: str = "", xlabel: str = "value",
              log: bool = False) -> Figure:
    """Histogram of ``values`` (array/tensor of any shape, flattened), or overlaid histograms of a
    ``{name: values}`` dict (e.g. activations per layer). NaN and infinities are left out and counted
    in the legend."""
    named = values if isinstance(values, Mapping) else {"": values}
    fig = new_figure(5.6, 3.6)
    ax = fig.add_subplot()
    arrays = {name: _numpy(v).astype(np.float64).reshape(-1) for name, v in named.items()}
    finite = {name: a[np.isfinite(a)] for name, a in arrays.items()}
    pooled = np.concatenate(list(finite.values())) if finite else np.zeros(0)
    edges = bins
    if np.ndim(bins) == 0 and pooled.size:                      # shared edges so overlays compare
        lo, hi = float(pooled.min()), float(pooled.max())
        edges = np.linspace(lo, hi if hi > lo else lo + 1.0, int(bins) + 1)
    many = len(named) > 1
    labelled = False
    for name, a in finite.items():
        dropped = arrays[name].size - a.size
        label = str(name) + (f" ({dropped} non-finite left out)" if dropped else "")
        labelled = labelled or bool(label)
        style = dict(histtype="step", linewidth=1.4) if many else dict(alpha=0.85, edgecolor="white", linewidth=0.5)
        ax.hist(a, bins=edges, label=label or None, log=log, **style)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("count")
    if title:
        ax.set_title(title)
    if labelled:
        ax.legend(fontsize=8, frameon=False)
    ax.grid(alpha=0.25)
    return fig
