"""Paired tasks: a spec a person can type turns images into (input, target) pairs, in memory.

``make_pairs(data, "superres:4")`` returns an ImageData whose ``x`` is what the model sees and
whose ``target`` is what it should produce; labels, class names and the source's meta are kept.
Every task works on whole tensors (one pass over the images where a scikit-image C routine only
takes one image) and is deterministic given ``seed``. ``TASKS`` lists them for ``genlab datasets``.

Conventions (all images in [0, 1], N×C×H×W):

* ``segment``: target = the data's mask, N×H×W long (0 background, k + 1 a pixel of class k);
  U-Net segmentation as in Ronneberger et al. 2015.
* ``inpaint:*``: input = the image with the hole set to 0, plus one mask channel (1 = missing),
  so C + 1 channels; ``mask`` (N×H×W long) marks the hole, where inpainting is scored.
* ``colorize``: input = L / 100, target = (ab / 128 + 1) / 2, so ab = 256·target − 128 and the
  grey image (ab = 0) is target 0.5; :func:`lab_to_rgb` turns (L, ab) back into RGB. Grey images
  (R = G = B) are dropped: they hold no colour to learn or score.
* ``ct:V``: input = filtered back-projection (ramp filter) from V views over [0°, 180°), clipped
  to [0, 1]; target = the object: the FBPConvNet setting of Jin et al. 2017.
"""
from __future__ import annotations

import copy
import math
import warnings
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from ..errors import ConfigError, DataError, did_you_mean
from .corrupt import corrupt, parse_noise
from .imagedata import ImageData

TASKS = {
    "segment": "per-pixel classes: the image in, its mask out (data with masks, e.g. shapes)",
    "denoise:gaussian:σ": "x + N(0, σ²) clipped in, the clean image out (also denoise:saltpepper:p, denoise:mask:p)",
    "deblur:gaussian:σ": "Gaussian blur of std σ pixels (separable, reflect padding) in, the sharp image out",
    "deblur:motion:L": "horizontal box blur of L pixels (reflect padding) in, the sharp image out",
    "inpaint:center:S": "an S×S hole in the centre filled with 0, plus the hole as a channel, in; the image out",
    "inpaint:random:p": "each pixel missing with probability p (filled 0, plus the mask channel) in; the image out",
    "superres:F": "antialiased bicubic downsampling by F = 2, 4 or 8 in; the full-size image out (sizes divisible by F)",
    "colorize": "Lab lightness L in, colour ab out, both scaled to [0, 1] (colour data only)",
    "edges": "Canny edge map in, the image out (edges:σ sets the Canny smoothing, default 1)",
    "ct:V": "sparse-view CT: filtered back-projection from V Radon views in, the object out (grey, square images)",
    "paired": "the pairs the data already holds (paired:DIR_IN,DIR_OUT data)",
}

SUPERRES_FACTORS = (2, 4, 8)   # powers of 2: what PixelShuffle ×2 stages (SRResNet) can undo
_NAMES = ("segment", "denoise", "deblur", "inpaint", "superres", "colorize", "edges", "ct", "paired")
_EXAMPLES = "segment, denoise:gaussian:0.3, deblur:gaussian:1.5, deblur:motion:5, inpaint:center:14, " \
            "inpaint:random:0.5, superres:4, colorize, edges, ct:30, paired"


@dataclass(frozen=True)
class Task:
    name: str              # one of _NAMES
    kind: str = ""         # gaussian/motion (deblur), center/random (inpaint), the noise spec (denoise)
    value: float = 0.0     # σ, L, S, p, the factor F or the number of views V

    def __str__(self) -> str:
        parts = [self.name] + ([self.kind] if self.kind else [])
        if self.name in ("deblur", "inpaint", "superres", "ct") or (self.name == "edges" and self.value != 1.0):
            parts.append(f"{self.value:g}")
        return ":".join(parts)


def _number(text: str, spec: str, what: str, integer: bool = False) -> float:
    try:
        value = float(text)
    except ValueError:
        raise ConfigError(f"{what} {text!r} in task {spec!r} is not a number; examples: {_EXAMPLES}") from None
    if integer and value != int(value):
        raise ConfigError(f"{what} in task {spec!r} must be a whole number, got {text}")
    return value


def parse_task(spec: "str | Task") -> Task:
    """``"deblur:gaussian:1.5"`` -> Task("deblur", "gaussian", 1.5); a one-line ConfigError otherwise."""
    if isinstance(spec, Task):
        return spec
    text = str(spec).strip().lower()
    name, _, rest = text.partition(":")
    if name not in _NAMES:
        raise ConfigError(f"unknown task {spec!r}{did_you_mean(name, _NAMES)} (known: {', '.join(_NAMES)}; "
                          "see `genlab datasets`)")
    args = rest.split(":") if rest else []
    if name in ("segment", "colorize", "paired"):
        if args:
            raise ConfigError(f"task {name} takes no parameters: write --task {name}, not {spec!r}")
        return Task(name)
    if name == "denoise":
        if not args:
            raise ConfigError(f"task {spec!r} needs a noise: write denoise:gaussian:0.3 (or denoise:saltpepper:0.2, "
                              "denoise:mask:0.5)")
        noise = parse_noise(rest)
        if noise.kind == "none" or noise.level == 0:
            raise ConfigError(f"task {spec!r} adds no noise, so input = target; "
                              "give a level above 0 (denoise:gaussian:0.3)")
        return Task(name, str(noise))
    if name == "edges":
        if len(args) > 1:
            raise ConfigError(f"cannot read task {spec!r}; write edges or edges:σ (Canny smoothing, e.g. edges:1.5)")
        sigma = _number(args[0], spec, "Canny σ") if args else 1.0
        if sigma < 0:
            raise ConfigError(f"Canny σ in task {spec!r} must be ≥ 0, got {sigma:g}")
        return Task(name, "", sigma)
    if name in ("superres", "ct"):
        if len(args) != 1:
            raise ConfigError(f"task {name} needs one number: write {'superres:4' if name == 'superres' else 'ct:30'}, "
                              f"not {spec!r}")
        value = _number(args[0], spec, "factor" if name == "superres" else "number of views", integer=True)
        if name == "superres" and value not in SUPERRES_FACTORS:
            raise ConfigError(f"super-resolution factor {value:g} is not supported; "
                              "use superres:2, superres:4 or superres:8")
        if name == "ct" and value < 1:
            raise ConfigError(f"ct needs at least 1 view, got {value:g}; write ct:30 for 30 views over 180°")
        return Task(name, "", value)
    # deblur and inpaint: KIND:VALUE
    kinds = {"deblur": ("gaussian", "motion"), "inpaint": ("center", "random")}[name]
    example = {"deblur": "deblur:gaussian:1.5 or deblur:motion:5", "inpaint": "inpaint:center:14 or inpaint:random:0.5"}
    if len(args) != 2 or args[0] not in kinds:
        raise ConfigError(f"cannot read task {spec!r}; write {example[name]}")
    kind = args[0]
    value = _number(args[1], spec, {"gaussian": "blur σ", "motion": "blur length", "center": "hole size",
                                    "random": "missing rate"}[kind], integer=kind in ("motion", "center"))
    if kind == "gaussian" and value <= 0:
        raise ConfigError(f"blur σ in task {spec!r} must be above 0 (pixels), got {value:g}")
    if kind in ("motion", "center") and value < 1:
        raise ConfigError(f"{'blur length' if kind == 'motion' else 'hole size'} in task {spec!r} must be ≥ 1 pixel, "
                          f"got {value:g}")
    if kind == "random" and not 0 < value < 1:
        raise ConfigError(f"missing rate in task {spec!r} must lie strictly between 0 and 1, got {value:g}")
    return Task(name, kind, value)


def make_pairs(data: ImageData, spec: "str | Task", seed: int = 0) -> ImageData:
    """The (input, target) pairs of task ``spec`` built from ``data``: x = input, target = target.

    Random tasks (denoise, inpaint:random) draw from ``torch.Generator().manual_seed(seed)``, so the
    same seed gives the same pairs; give the train and test splits different seeds.
    """
    task = parse_task(spec)
    name = data.name or "the data"
    if task.name == "paired":
        if data.target is None:
            raise DataError(f"{name} holds no pairs; --task paired needs paired:DIR_IN,DIR_OUT data, "
                            "or name a task such as denoise:gaussian:0.3")
        return data
    if data.target is not None and task.name != "segment":   # segment may read its masks from the targets
        raise DataError(f"{name} already holds (input, target) pairs; use --task paired, not {task}")
    generator = torch.Generator().manual_seed(seed)
    x = data.x
    mask = None
    meta = {"task": str(task)}
    if task.name == "segment":
        inp, target = x, _segment_target(data)
        mask = target
        if data.mask is not None and data.classes:   # shapes: class k of y is mask value k + 1
            meta["mask_classes"] = ["background"] + list(data.classes)
        else:
            top = int(target.max()) if target.numel() else 0
            meta["mask_classes"] = ["background"] + [str(k) for k in range(1, top + 1)]
    elif task.name == "denoise":
        inp, target = corrupt(x, task.kind, generator), x
    elif task.name == "deblur":
        inp = gaussian_blur(x, task.value) if task.kind == "gaussian" else motion_blur(x, int(task.value))
        target = x
    elif task.name == "inpaint":
        hole = center_hole(x, int(task.value)) if task.kind == "center" else random_hole(x, task.value, generator)
        inp, target, mask = with_hole(x, hole), x, hole.long()
    elif task.name == "superres":
        inp, target = downsample(x, int(task.value)), x
        meta["scale"] = int(task.value)
    elif task.name == "colorize":
        _need_colour(x, name)
        colour = ~is_grey(x)
        if not bool(colour.all()):   # a grey image has no colour to learn or to score: drop it
            meta["grey_images_dropped"] = int((~colour).sum())
            data = data.subset(torch.nonzero(colour).flatten())
            x = data.x
        inp, target = rgb_to_lab(x)
        meta["ab"] = "ab = 256·target − 128 (target 0.5 is grey)"
    elif task.name == "edges":
        inp, target = canny_edges(x, task.value), x
    else:  # ct
        _need_grey_square(x, name, int(task.value))
        inp, target = sparse_view_fbp(x, int(task.value)), x
        meta["views"] = int(task.value)
    out = copy.copy(data)   # labels, classes, name and meta travel with the pairs
    out.x = inp
    out.target = target
    out.mask = mask
    out.meta = {**data.meta, **meta}
    out.__post_init__()     # the input must still be images in [0, 1]
    return out


# --- segmentation -------------------------------------------------------------------------------

MASK_HINT = "save masks as grey PNGs whose pixel values are the class indices (0 background)"


def _segment_target(data: ImageData) -> Tensor:
    """The data's masks, or for paired:IMAGES,MASKS data its targets read back as class indices."""
    name = data.name or "the data"
    mask = data.mask
    if mask is None and data.target is not None:
        t = data.target
        if data.meta.get("targets_resized"):   # interpolating class indices invents classes at the borders
            raise DataError(f"the mask PNGs of {name} were resized by --image-size, which mixes classes; "
                            "give images and masks at one size and drop --image-size")
        if t.ndim != 4 or t.shape[1] != 1:
            raise DataError(f"the targets of {name} have {t.shape[1] if t.ndim == 4 else '?'} channels, "
                            f"so they are not masks; {MASK_HINT}")
        levels = t[:, 0] * 255   # PNG levels 0..255, read as level / 255
        if t.numel() and float((levels - levels.round()).abs().max()) > 1e-3:
            raise DataError(f"the targets of {name} are not whole class indices (resized with --image-size?); "
                            f"{MASK_HINT}, at the images' size")
        mask = levels.round().long()
    if mask is None:
        raise DataError(f"{name} has no segmentation masks; --task segment needs data with masks "
                        "(shapes, or paired:IMAGES,MASKS with grey mask PNGs of class indices)")
    n, _, h, w = data.x.shape
    if tuple(mask.shape) != (n, h, w):
        raise DataError(f"masks of {name} have shape {tuple(mask.shape)}, the images {tuple(data.x.shape)}; "
                        "give one H×W mask per image")
    return mask.long()


# --- blur ---------------------------------------------------------------------------------------

def _conv_rows(x: Tensor, kernel: Tensor, left: int, right: int) -> Tensor:
    """Convolve every row of every channel with a 1-D kernel after reflect padding (left, right)."""
    n, c, h, w = x.shape
    flat = F.pad(x.reshape(n * c, 1, h, w), (left, right, 0, 0), mode="reflect")
    return F.conv2d(flat, kernel.to(x).view(1, 1, 1, -1)).view(n, c, h, w)


def gaussian_kernel(sigma: float, radius: int) -> Tensor:
    """The normalised 1-D Gaussian of std ``sigma`` on -radius..radius (sums to 1: constants stay)."""
    t = torch.arange(-radius, radius + 1, dtype=torch.float64)
    k = torch.exp(-0.5 * (t / sigma) ** 2)
    return (k / k.sum()).float()


def gaussian_blur(x: Tensor, sigma: float) -> Tensor:
    """Separable Gaussian blur: rows then columns, radius ⌈3σ⌉ (capped below the image size,
    as reflect padding must be)."""
    h, w = x.shape[-2:]
    radius = min(math.ceil(3 * sigma), h - 1, w - 1)
    if radius < 1:
        return x.clone()
    k = gaussian_kernel(sigma, radius)
    rows = _conv_rows(x, k, radius, radius)
    return _conv_rows(rows.transpose(-1, -2), k, radius, radius).transpose(-1, -2).contiguous()


def motion_blur(x: Tensor, length: int) -> Tensor:
    """Horizontal motion blur: the mean of ``length`` neighbouring pixels in each row."""
    if length > x.shape[-1]:
        raise DataError(f"motion blur of {length} pixels is longer than the {x.shape[-1]}-pixel-wide images; "
                        f"use deblur:motion:L with L ≤ {x.shape[-1]}")
    if length == 1:
        return x.clone()
    return _conv_rows(x, torch.full((length,), 1.0 / length), (length - 1) // 2, length // 2)


# --- inpainting ---------------------------------------------------------------------------------

def center_hole(x: Tensor, size: int) -> Tensor:
    """N×H×W bool, True on the size×size square in the centre (top-left rounded down)."""
    n, _, h, w = x.shape
    if size > min(h, w):
        raise DataError(f"a {size}×{size} hole does not fit {h}×{w} images; use inpaint:center:S with S ≤ {min(h, w)}")
    hole = torch.zeros(h, w, dtype=torch.bool, device=x.device)
    top, left = (h - size) // 2, (w - size) // 2
    hole[top:top + size, left:left + size] = True
    return hole.expand(n, h, w).clone()


def random_hole(x: Tensor, p: float, generator: torch.Generator | None = None) -> Tensor:
    """N×H×W bool: each pixel (all its channels at once) missing with probability p."""
    n, _, h, w = x.shape
    return (torch.rand((n, h, w), generator=generator) < p).to(x.device)


def with_hole(x: Tensor, hole: Tensor) -> Tensor:
    """The inpainting input: the image with the hole filled 0, then the hole as one more channel."""
    m = hole[:, None].to(x.dtype)
    return torch.cat([x * (1 - m), m], 1)


# --- super-resolution ---------------------------------------------------------------------------

def downsample(x: Tensor, factor: int) -> Tensor:
    """Antialiased bicubic downsampling by ``factor`` (the usual SR degradation, as in Ledig et al.
    2017), clipped to [0, 1] since bicubic overshoots at edges."""
    h, w = x.shape[-2:]
    if h % factor or w % factor:
        bad = h if h % factor else w
        lo, hi = bad // factor * factor, (bad // factor + 1) * factor
        works = f"--image-size {hi}" if lo == 0 else f"--image-size {lo} or {hi}"
        raise DataError(f"superres:{factor} needs image sizes divisible by {factor}, the images are {h}×{w}; "
                        f"pass {works}")
    return F.interpolate(x, size=(h // factor, w // factor), mode="bicubic", antialias=True,
                         align_corners=False).clamp(0, 1)


# --- colorization -------------------------------------------------------------------------------

AB_SCALE = 128.0   # ab / 128 lies in [-1, 1) for every sRGB colour (a ∈ [-86, 98], b ∈ [-108, 95])


def is_grey(x: Tensor) -> Tensor:
    """Per image: True where R = G = B everywhere (a grey photograph stored in colour)."""
    return (x - x.mean(1, keepdim=True)).abs().flatten(1).amax(1) < 1e-6


def _need_colour(x: Tensor, name: str) -> None:
    if x.shape[1] != 3:
        raise DataError(f"colorize needs colour (3-channel) images, {name} has {x.shape[1]} channel(s); "
                        "use colour data such as photos, cifar10 or a folder of colour images")
    if x.numel() and bool(is_grey(x).all()):
        raise DataError(f"colorize needs colour images, but every image of {name} is grey (R = G = B); "
                        "use colour data such as photos or cifar10")


def rgb_to_lab(x: Tensor) -> tuple[Tensor, Tensor]:
    """RGB N×3×H×W in [0, 1] -> (L / 100 as N×1×H×W, (ab / 128 + 1) / 2 as N×2×H×W), both in [0, 1]."""
    from skimage.color import rgb2lab

    lab = torch.from_numpy(rgb2lab(x.detach().cpu().double().permute(0, 2, 3, 1).numpy(), channel_axis=-1))
    lab = lab.permute(0, 3, 1, 2).float().to(x.device)
    return (lab[:, :1] / 100).clamp(0, 1), ((lab[:, 1:] / AB_SCALE + 1) / 2).clamp(0, 1)


def lab_to_rgb(L: Tensor, ab: Tensor) -> Tensor:
    """(L, ab) scaled as :func:`rgb_to_lab` gives them -> RGB N×3×H×W in [0, 1] (out-of-gamut
    colours clipped), for showing a colorization."""
    from skimage.color import lab2rgb

    if L.ndim != 4 or ab.ndim != 4 or L.shape[1] != 1 or ab.shape[1] != 2 or L.shape[-2:] != ab.shape[-2:]:
        raise DataError(f"lab_to_rgb wants L as N×1×H×W and ab as N×2×H×W of the same size, "
                        f"got {tuple(L.shape)} and {tuple(ab.shape)}")
    lab = torch.cat([L.double() * 100, (ab.double() * 2 - 1) * AB_SCALE], 1)
    with warnings.catch_warnings():   # out-of-gamut predictions are clipped, as the docstring says
        warnings.filterwarnings("ignore", message=".*negative Z values.*")
        rgb = lab2rgb(lab.detach().cpu().permute(0, 2, 3, 1).numpy(), channel_axis=-1)
    return torch.from_numpy(rgb).permute(0, 3, 1, 2).float().clamp(0, 1).to(L.device)


# --- edges --------------------------------------------------------------------------------------

def grey(x: Tensor) -> Tensor:
    """N×1×H×W luma (ITU-R 601 weights) of colour images; grey images unchanged."""
    if x.shape[1] == 1:
        return x
    weights = torch.tensor([0.299, 0.587, 0.114], dtype=x.dtype, device=x.device).view(1, 3, 1, 1)
    return (x[:, :3] * weights).sum(1, keepdim=True)


def canny_edges(x: Tensor, sigma: float = 1.0) -> Tensor:
    """N×1×H×W binary Canny edge maps (scikit-image; colour images through their luma)."""
    from skimage.feature import canny

    g = grey(x)[:, 0].detach().cpu().double().numpy()
    # canny takes one 2-D image; it is a C routine, so one pass over the images is cheap
    edges = np.stack([canny(img, sigma=sigma) for img in g]) if len(g) else np.zeros(g.shape, bool)
    return torch.from_numpy(edges)[:, None].float().to(x.device)


# --- sparse-view tomography ---------------------------------------------------------------------

def ct_angles(views: int) -> np.ndarray:
    """``views`` projection angles in degrees, evenly spread over [0, 180)."""
    return np.linspace(0.0, 180.0, int(views), endpoint=False)


def _need_grey_square(x: Tensor, name: str, views: int) -> None:
    if x.shape[1] != 1:
        raise DataError(f"ct:{views} needs grey images, {name} has {x.shape[1]} channels; pass --channels 1")
    if x.shape[2] != x.shape[3]:
        raise DataError(f"ct:{views} needs square images, {name} has {x.shape[2]}×{x.shape[3]}; "
                        f"pass --image-size {max(x.shape[2:])}")


def sinograms(x: Tensor, views: int) -> Tensor:
    """Radon transforms of grey square images: N×D×V (D detector bins, V angles over [0, 180)).

    ``circle=False``: the image is zero-padded to its diagonal, so content in the corners counts too."""
    from skimage.transform import radon

    theta = ct_angles(views)
    imgs = x[:, 0].detach().cpu().double().numpy()
    return torch.from_numpy(np.stack([radon(img, theta, circle=False) for img in imgs])).float()


def fbp(sino: Tensor, size: int) -> Tensor:
    """Filtered back-projection (ramp filter) of N×D×V sinograms -> N×1×size×size, not clipped."""
    from skimage.transform import iradon

    theta = ct_angles(sino.shape[-1])
    s = sino.detach().cpu().double().numpy()
    out = np.stack([iradon(one, theta, output_size=size, filter_name="ramp", circle=False) for one in s])
    return torch.from_numpy(out)[:, None].float()


MAX_OPERATOR_PIXELS = 32 * 32   # the FBP∘Radon matrix is (H·W)²: 8 MB in float64 at 32×32


@lru_cache(maxsize=4)
def _fbp_operator(size: int, views: int) -> Tensor:
    """The matrix of x ↦ FBP(Radon(x)) on size×size images, one column per pixel.

    Both maps are linear (bilinear warps, a linear filter, linear interpolation), so pushing the
    H·W unit images through scikit-image once gives exactly what it gives each image; afterwards
    any number of images costs one matmul."""
    basis = torch.eye(size * size, dtype=torch.float64).view(-1, 1, size, size)
    return fbp(sinograms(basis, views), size).double().flatten(1).T.contiguous()  # (H·W) × (H·W)


def sparse_view_fbp(x: Tensor, views: int) -> Tensor:
    """The crude reconstruction of sparse-view CT (Jin et al. 2017): FBP from ``views`` Radon views,
    clipped to [0, 1]. Many images of a small size go through the precomputed linear operator,
    otherwise scikit-image runs on each image."""
    n, _, h, w = x.shape
    if n > h * w and h * w <= MAX_OPERATOR_PIXELS:
        out = (x.detach().cpu().double().flatten(1) @ _fbp_operator(h, views).T).float().view(n, 1, h, w)
    else:
        out = fbp(sinograms(x, views), h)
    return out.clamp(0, 1).to(x.device)


def phantom(size: int = 64) -> ImageData:
    """The Shepp–Logan phantom scikit-image ships (400×400), resized with antialiasing to size×size."""
    from skimage.data import shepp_logan_phantom
    from skimage.transform import resize as sk_resize

    if size < 2:
        raise DataError(f"phantom size must be at least 2 pixels, got {size}")
    img = sk_resize(shepp_logan_phantom(), (size, size), anti_aliasing=True, order=1)
    return ImageData(torch.from_numpy(np.clip(img, 0, 1)).float()[None, None], name="phantom")


__all__ = ["TASKS", "Task", "parse_task", "make_pairs", "lab_to_rgb", "rgb_to_lab", "phantom", "sinograms", "fbp",
           "sparse_view_fbp", "gaussian_blur", "motion_blur", "downsample", "canny_edges", "center_hole",
           "random_hole", "with_hole", "ct_angles"]


# --- pictures -----------------------------------------------------------------------------------

# class k of a mask is drawn in PALETTE[k] (background black); more classes cycle through it
PALETTE = torch.tensor([[0, 0, 0], [230, 25, 75], [60, 180, 75], [255, 225, 25], [0, 130, 200], [245, 130, 48],
                        [145, 30, 180], [70, 240, 240], [240, 50, 230], [210, 245, 60], [250, 190, 212],
                        [0, 128, 128]], dtype=torch.float32) / 255


def mask_picture(mask: Tensor) -> Tensor:
    """N×H×W class indices (or N×K×H×W class scores, argmax taken) as N×3×H×W palette colours."""
    if mask.ndim == 4:
        mask = mask.argmax(1)
    return PALETTE.to(mask.device)[mask.long() % len(PALETTE)].permute(0, 3, 1, 2)


def overlay(image: Tensor, mask: Tensor, alpha: float = 0.5) -> Tensor:
    """``image`` with each pixel's class colour blended in, (1 − α)·x + α·colour, where ``mask``
    (N×H×W indices, or N×K×H×W scores) is not the background; background pixels keep the image."""
    labels = mask.argmax(1) if mask.ndim == 4 else mask
    rgb = image[:, :3] if image.shape[1] >= 3 else image[:, :1].expand(-1, 3, -1, -1)
    on = (labels > 0)[:, None].to(rgb.dtype) * alpha
    return rgb * (1 - on) + mask_picture(labels) * on


def picture(task: "str | Task | None", x: Tensor, out: Tensor | None = None) -> Tensor:
    """What a person should see of a task's input ``x`` (``out`` None) or of an output/target ``out``
    for that input, as N×C×H×W images in [0, 1] at the output's size:

    * input: inpainting shows the hole in mid-grey (the mask channel dropped), colorization the
      lightness, super-resolution the low-resolution image enlarged with nearest-neighbour pixels
      (each pixel a visible block);
    * output/target: segmentation masks in palette colours, colorization L + ab as RGB.
    """
    task = parse_task(task) if task else None
    name = task.name if task else ""
    if out is None:
        if name == "inpaint":
            m = x[:, -1:]
            return x[:, :-1] * (1 - m) + 0.5 * m
        if name == "superres":
            return F.interpolate(x, scale_factor=int(task.value), mode="nearest")
        return x
    if name == "segment":
        return mask_picture(out)
    if name == "colorize":
        return lab_to_rgb(x[:, :1], out)
    return out


def same_channels(*images: Tensor) -> list[Tensor]:
    """Grey images repeated to three channels when any of ``images`` is in colour (one grid)."""
    c = max(t.shape[1] for t in images)
    return [t.expand(-1, c, -1, -1) if t.shape[1] == 1 and c == 3 else t for t in images]
