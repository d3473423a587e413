"""Tools for the autoregressive family: image completion and the receptive field of one pixel.

Completion (van den Oord et al. 2016, the occluded-completions figure): the top ``rows`` rows (or
the left ``cols`` columns) of an image are given, the rest is drawn from the model's conditionals
in raster order,

    x̃_i ~ p(x_i | x_<i)   for every hidden i,   x̃_i = x_i   for every given i,

which is exact conditioning only because the given pixels come first in the order (top rows);
given left columns are kept but the pixels before them in raster order that are hidden are
sampled without seeing the given pixels to their right, so the completion is a conditional
sample that is only as good as the order allows.

Receptive field: the pixels j whose value can change the distribution of pixel (r, c),

    R(r, c) = { j : ∂ params(r, c) / ∂ input_j ≠ 0 },

found from the gradients of the network's output at (r, c) with respect to its input, at random
inputs and with random (non-zero) weights, so that the structure of the masks (not what a trained,
or zero-initialised, model happens to weigh) decides. Masking guarantees R(r, c) ⊆ {j < (r, c)
in raster order}; a stack of masked 3×3 convolutions (PixelCNN) misses a wedge to the upper right,
the blind spot that the gated PixelCNN's vertical and horizontal stacks remove (van den Oord et
al. 2016, "Conditional image generation with PixelCNN decoders").
"""
from __future__ import annotations

import copy
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import Tensor

from ..errors import CapabilityError, ConfigError, GenlabError
from ..models.autoregressive import Autoregressive

FAMILY = "pixelcnn, gated-pixelcnn, made, nade or fvsbn"
DIM = 0.35      # how bright the hidden part of a "given" image is drawn (a dimmed copy of the original)


def require_autoregressive(model, what: str = "complete images") -> Autoregressive:
    """``model`` itself when it belongs to the autoregressive family; else a one-line refusal."""
    if not isinstance(model, Autoregressive):
        name = getattr(model, "registry_name", type(model).__name__)
        raise CapabilityError(f"model {name!r} cannot {what}; train {FAMILY}")
    return model


def known_mask(image_shape, rows: int | None = None, cols: int | None = None) -> Tensor:
    """H×W bool, true on the given pixels: the top ``rows`` rows, or the left ``cols`` columns of
    every row. Each must leave something given and something to complete (1 … H−1 / 1 … W−1)."""
    _, h, w = image_shape
    if (rows is None) == (cols is None):
        raise ConfigError("give either rows (the top rows given) or cols (the left columns given), not both")
    known = torch.zeros(h, w, dtype=torch.bool)
    if rows is not None:
        if not 1 <= rows <= h - 1:
            raise ConfigError(f"--rows must lie in 1…{h - 1} for {h}-row images (some rows given, some to "
                              f"complete), got {rows}")
        known[:rows] = True
    else:
        if not 1 <= cols <= w - 1:
            raise ConfigError(f"--cols must lie in 1…{w - 1} for {w}-column images (some columns given, some to "
                              f"complete), got {cols}")
        known[:, :cols] = True
    return known


@dataclass
class Completions:
    """Held-out images, what the model was given, and ``samples`` completions of each."""

    original: Tensor          # N×C×H×W
    known: Tensor             # H×W bool, true where given
    completions: Tensor       # N×S×C×H×W
    labels: list[str] = field(default_factory=list)   # a name per image (its class), or empty

    @property
    def given(self) -> Tensor:
        """The originals with the hidden part dimmed, so that what was given stands out."""
        keep = self.known.to(self.original.dtype)
        return self.original * keep + self.original * DIM * (1 - keep) + (1 - keep) * 0.5 * (1 - DIM)

    def picture(self, min_cell: int = 40):
        """original | given (the hidden part dimmed) | completion 1 … S, one row per image."""
        from ..viz.grids import labelled_grid

        s = self.completions.shape[1]
        cols = [self.original.cpu(), self.given.cpu(), *[self.completions[:, k].cpu() for k in range(s)]]
        # labelled_grid lays out rows; each image is a row here
        rows = [torch.stack([c[i] for c in cols]) for i in range(len(self.original))]
        heads = ["original", "given", *[f"sample {k + 1}" for k in range(s)]]
        return labelled_grid(rows, self.labels or None, heads, min_cell=min_cell)


@torch.no_grad()
def complete_images(model, x: Tensor, *, rows: int | None = None, cols: int | None = None, samples: int = 4,
                    y=None, temperature: float = 1.0, seed: int | None = 0, labels=None) -> Completions:
    """``samples`` completions of each image of ``x`` given its top ``rows`` rows (or left ``cols``
    columns), drawn with ``model.complete`` under ``seed``."""
    require_autoregressive(model)
    if samples < 1:
        raise ConfigError(f"--samples must be at least 1, got {samples}")
    known = known_mask(model.image_shape, rows, cols)
    model.check_input(x)
    x = model.from_levels(model.to_levels(x.cpu()))   # the values the model sees (binarised digits stay so)
    generator = torch.Generator().manual_seed(seed) if seed is not None else None
    was = model.training
    model.eval()
    try:
        out = model.complete(x.to(model.device), known, samples, y, temperature=temperature, generator=generator)
    finally:
        model.train(was)
    return Completions(x.cpu(), known, out.cpu(), list(labels or []))


def complete_held_out(model, data, *, rows: int | None = None, cols: int | None = None, n: int = 8,
                      samples: int = 4, temperature: float = 1.0, seed: int | None = 0) -> Completions:
    """:func:`complete_images` on ``n`` images of ``data`` spread over its classes."""
    from .sections import class_names, per_class

    require_autoregressive(model)
    if n < 1:
        raise ConfigError(f"--n must be at least 1, got {n}")
    shown = per_class(data, n)
    y = None
    if shown.y is not None and model.label_space is not None:
        y = shown.y.to(model.device)
    names = None
    if shown.y is not None and len(shown.y):
        known = class_names(model, data, int(shown.y.max()) + 1)
        names = [known[int(c)] for c in shown.y]
    return complete_images(model, shown.x, rows=rows, cols=cols, samples=samples, y=y, temperature=temperature,
                           seed=seed, labels=names)


# --------------------------------------------------------------------------- the receptive field


@dataclass
class ReceptiveField:
    """Which input pixels influence the output at ``pixel``."""

    pixel: tuple[int, int]
    influence: Tensor          # H×W bool: the input pixel (any channel) changes pixel's parameters
    blind: Tensor              # H×W bool: before the pixel, inside the field's reach, yet without influence
    masks: list = field(default_factory=list)   # (type, kernel) pairs of the masked convolutions

    @property
    def count(self) -> int:
        return int(self.influence.sum())

    @property
    def before(self) -> Tensor:
        """H×W bool: the pixels strictly before ``pixel`` in raster order (what it may see)."""
        h, w = self.influence.shape
        r, c = self.pixel
        index = torch.arange(h * w).view(h, w)
        return index < r * w + c

    @property
    def has_blind_spot(self) -> bool:
        return bool(self.blind.any())

    def summary(self) -> str:
        r, c = self.pixel
        possible = int(self.before.sum())
        text = (f"pixel ({r}, {c}): {self.count} of the {possible} pixels before it in raster order influence it")
        if self.has_blind_spot:
            return text + (f"; blind spot: {int(self.blind.sum())} pixels above and to the right, within the field's "
                           "reach, do not")
        return text + "; no blind spot"


def parse_pixel(text: str) -> tuple[int, int]:
    """"r,c" -> (r, c)."""
    parts = [p.strip() for p in str(text).split(",")]
    if len(parts) != 2 or not all(p.lstrip("-").isdigit() for p in parts):
        raise ConfigError(f"--pixel expects ROW,COL (two integers, e.g. 14,14), got {text!r}")
    return int(parts[0]), int(parts[1])


def model_or_run(name_or_run: str, data_shape: tuple[int, int, int] = (1, 28, 28), levels: int = 2):
    """A run folder's model, or a freshly built registered model (default config) for images of
    ``data_shape`` (mnist5k's) with ``levels`` values: masks are structural, so untrained is fine."""
    from .. import runs
    from ..registry import get

    path = Path(name_or_run)
    if path.is_dir():
        return runs.load(path)
    try:
        entry = get(name_or_run)
    except GenlabError:
        if path.exists() or "/" in name_or_run:
            raise GenlabError(f"{name_or_run} is neither a run folder nor a registered model name; give a run "
                              f"folder or one of {FAMILY}") from None
        raise
    if not issubclass(entry.model_class, Autoregressive):
        raise CapabilityError(f"model {name_or_run!r} has no receptive field over its own pixels; give {FAMILY}")
    return runs.create(name_or_run, image_shape=tuple(data_shape), levels=levels, seed=0)


def _randomised(model) -> Autoregressive:
    """A copy with every weight drawn at random (zero-initialised weights, as fvsbn's, would hide
    connections the masks allow), in eval mode: normalisation layers use their fixed statistics.
    Scaled by 1/√fan-in, so that a deep stack neither overflows nor vanishes."""
    twin = copy.deepcopy(model).cpu().float().eval()
    generator = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for p in twin.parameters():
            fan_in = p[0].numel() if p.dim() > 1 else 1
            p.copy_(torch.randn(p.shape, generator=generator) / fan_in ** 0.5)
    return twin


def influence_map(model, pixel: tuple[int, int], trials: int = 8) -> Tensor:
    """H×W bool: the input pixels on which the parameters at ``pixel`` depend (gradients with
    random weights at ``trials`` random inputs; a connection the masks allow is non-zero almost
    surely, one they cut is exactly zero)."""
    twin = _randomised(model)
    c, h, w = twin.image_shape
    r, col = pixel
    generator = torch.Generator().manual_seed(1)
    v = torch.randint(0, twin.levels, (trials, c, h, w), generator=generator)
    y = None
    space = getattr(twin, "label_space", None)
    if space is not None:
        y = torch.randint(0, space.size, (trials,), generator=generator)
    with torch.enable_grad():           # also when called under no_grad (the report)
        inp = twin.network_input(v).clone().requires_grad_(True)
        params = twin.network(inp, y)
        # random output weights: a sum could cancel, a random mix almost surely does not
        mix = torch.randn(params[..., r, col].shape, generator=generator)
        (grad,) = torch.autograd.grad((params[..., r, col] * mix).sum(), inp)
    return grad.abs().sum(dim=(0, 1, 2)) > 0           # over trials, channels and input features


def blind_spot(influence: Tensor, pixel: tuple[int, int]) -> Tensor:
    """Pixels above and to the right of ``pixel`` inside the field's reach (the rows it reaches up to
    and the columns it reaches right to) that do not influence it."""
    h, w = influence.shape
    r, c = pixel
    rows, cols = influence.nonzero(as_tuple=True)
    blind = torch.zeros(h, w, dtype=torch.bool)
    if not len(rows) or r == 0:
        return blind
    top, right = int(rows.min()), int(cols.max())
    if right <= c:
        return blind
    blind[top:r, c + 1:right + 1] = True
    return blind & ~influence


def masked_kernels(model) -> list[tuple[str, int]]:
    """(type, kernel size) of each distinct masked convolution of ``model``: a module holding a
    4-D ``mask``; its type from ``mask_type``/``type`` when it says, else the first is A (it
    hides the pixel itself) and the others B."""
    found = []
    for module in model.modules():
        mask = getattr(module, "mask", None)
        if not isinstance(mask, Tensor) or mask.dim() != 4:
            continue
        kind = next((getattr(module, a) for a in ("mask_type", "type", "kind")
                     if isinstance(getattr(module, a, None), str) and getattr(module, a) in ("A", "B")), None)
        kind = kind or ("A" if not found else "B")
        key = (kind, int(mask.shape[-1]))
        if key not in found:
            found.append(key)
    return found


def receptive_field(model, pixel: tuple[int, int]) -> ReceptiveField:
    """The receptive field of output ``pixel`` (row, column) of an autoregressive ``model``."""
    require_autoregressive(model, "show a receptive field over its own pixels")
    _, h, w = model.image_shape
    r, c = pixel
    if not (0 <= r < h and 0 <= c < w):
        raise ConfigError(f"--pixel {r},{c} lies outside the {h}×{w} image; rows are 0…{h - 1}, columns 0…{w - 1}")
    influence = influence_map(model, pixel)
    influence[r, c] = False        # the pixel itself (an earlier channel of it) is not part of the picture
    return ReceptiveField((r, c), influence, blind_spot(influence, (r, c)), masked_kernels(model))


def _mask_array(kernel: int, kind: str):
    """``genlab.nn.masked.mask_picture(kernel, kind)`` as an array to draw, or None when unavailable."""
    import numpy as np

    try:
        from ..nn.masked import mask_picture
    except ImportError:
        return None
    picture = mask_picture(kernel, kind)
    if hasattr(picture, "savefig"):            # a matplotlib figure
        from ..viz.plots import figure_to_image

        return np.asarray(figure_to_image(picture).convert("RGB"))
    if hasattr(picture, "convert"):            # a PIL image
        return np.asarray(picture.convert("RGB"))
    array = picture.detach().cpu().numpy() if isinstance(picture, Tensor) else np.asarray(picture)
    return np.atleast_2d(array.squeeze())


def receptive_field_figure(field_: ReceptiveField, title: str = ""):
    """The image grid with the influencing pixels coloured, the blind spot hatched and the pixel
    marked; beside it the masks of type A and B (allowed cells filled) when the model has them."""
    import numpy as np
    from matplotlib.colors import ListedColormap
    from matplotlib.figure import Figure
    from matplotlib.patches import Patch, Rectangle

    h, w = field_.influence.shape
    r, c = field_.pixel
    code = np.zeros((h, w))                        # 0: after the pixel (never seen)
    code[field_.before.numpy()] = 1                # 1: before it, no influence
    code[field_.influence.numpy()] = 2             # 2: influences
    code[field_.blind.numpy()] = 3                 # 3: blind spot
    code[r, c] = 4                                 # 4: the pixel
    cmap = ListedColormap(["#ffffff", "#dddddd", "#4477aa", "#ee7733", "#cc3311"])
    # a 1×1 mask (a PixelCNN's output layer) has nothing to show
    masks = [(k, n, a) for k, n in field_.masks if n > 1 and (a := _mask_array(n, k)) is not None]
    fig = Figure(figsize=(4.2 + 2.2 * len(masks), 4.4), dpi=100, layout="constrained")
    axes = fig.subplots(1, 1 + len(masks), squeeze=False, width_ratios=[2] + [1] * len(masks))[0]
    ax = axes[0]
    ax.imshow(code, cmap=cmap, vmin=0, vmax=4, interpolation="nearest")
    ax.set_xticks(np.arange(-0.5, w, 1), minor=True)
    ax.set_yticks(np.arange(-0.5, h, 1), minor=True)
    ax.grid(which="minor", color="#ffffff", linewidth=0.3)
    ax.tick_params(which="minor", length=0)
    ax.set_title(title or f"receptive field of ({r}, {c}): {field_.count} pixels", fontsize=9)
    legend = [Patch(color="#4477aa", label="influences"), Patch(color="#cc3311", label="the pixel")]
    if field_.has_blind_spot:
        legend.append(Patch(color="#ee7733", label="blind spot"))
    legend.append(Patch(color="#dddddd", label="before, no influence"))
    ax.legend(handles=legend, loc="upper center", bbox_to_anchor=(0.5, -0.06), ncol=2, fontsize=7, frameon=False)
    for axis, (kind, n, array) in zip(axes[1:], masks):
        if array.ndim == 2:     # the k×k grid, allowed cells filled, the centre outlined
            axis.imshow(array, cmap=ListedColormap(["#ffffff", "#4477aa"]), vmin=0, vmax=1, interpolation="nearest")
            axis.set_xticks(np.arange(-0.5, array.shape[1], 1), minor=True)
            axis.set_yticks(np.arange(-0.5, array.shape[0], 1), minor=True)
            axis.grid(which="minor", color="#333333", linewidth=0.8)
            axis.add_patch(Rectangle((array.shape[1] // 2 - 0.5, array.shape[0] // 2 - 0.5), 1, 1, fill=False,
                                     edgecolor="#cc3311", linewidth=2))
        else:
            axis.imshow(array, interpolation="nearest")
        axis.set_title(f"mask {kind}, {n}×{n}", fontsize=9)
        axis.tick_params(which="both", length=0, labelbottom=False, labelleft=False)
    return fig


__all__ = [
    "Completions",
    "ReceptiveField",
    "blind_spot",
    "complete_held_out",
    "complete_images",
    "influence_map",
    "known_mask",
    "masked_kernels",
    "model_or_run",
    "parse_pixel",
    "receptive_field",
    "receptive_field_figure",
    "require_autoregressive",
]
