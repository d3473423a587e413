"""Applying an image-to-image model to files and held-out pairs: ŷ = G(x).

    translate   ŷ = G(x) for any input; with a task's degradation D first, x = D(y) and ŷ is
                scored against y (PSNR = 10·log10(1 / MSE), SSIM; masks: pixel accuracy, IoU, Dice)
    segment     class(p) = argmax_k softmax(U(x))_k(p);  overlay = (1 − α)·x + α·palette[class]
                on the pixels of a class (the background is left as it is)
    superres    ŷ = G(x) is F× larger; a scale F^k applies G k times (G∘…∘G), next to the
                bicubic enlargement (Keys 1981) for comparison
    inpaint     x = (y ⊙ (1 − M), M) for a hole M (a box or a mask file); ŷ = y on the known
                pixels and G's guess inside M (Pathak et al. 2016)
    colorize    L = L*(y) / 100 of CIE Lab; ŷ = lab_to_rgb(L, G(L)) (Isola et al. 2017, Lab as
                in Zhang et al. 2016)

The networks are fully convolutional, so a file is read at its own size (4 to 4096 pixels a side).
"""
from __future__ import annotations

import math
from pathlib import Path

import torch
from torch import Tensor

from ..data import ImageData, load_data
from ..data.tasks import (
    lab_to_rgb,
    make_pairs,
    overlay,
    parse_task,
    picture,
    rgb_to_lab,
    same_channels,
    with_hole,
)
from ..errors import CapabilityError, ConfigError, DataError, RunFolderError
from ..io import write_json
from .common import batched, frozen, output_file, run_data, seeded

MIN_SIDE = 4      # the smallest image the commands take (a U-Net pools it to a few pixels)
MAX_SIDE = 4096   # the largest side read or written (a 4096² RGB image is 200 MB as floats)


# ------------------------------------------------------------------------------------------ the model

def translator(model):
    """The model's ``translate``; a one-line CapabilityError for models that do not map images to images."""
    return model.require("translate", "image to image: unet, pix2pix, context-encoder, srresnet and srgan "
                                      "translate, trained with --task")


def task_of(model):
    """The model's parsed task, or None for a run trained on its own pairs (or a model without one)."""
    task = getattr(model, "task", None)
    return task if task is None or hasattr(task, "name") else parse_task(task)


def task_name(model) -> str:
    task = task_of(model)
    return task.name if task is not None else ""


def require_task(model, name: str, use: str) -> None:
    """Refuse, in one line, a run whose task is not ``name`` (``use``: what to run instead)."""
    translator(model)
    if task_name(model) != name:
        trained = str(task_of(model) or "its own pairs")
        raise CapabilityError(f"model {model.registry_name!r} of this run was trained for task {trained}, not {name}; "
                              f"{use}")


@torch.no_grad()
def translate_image(model, x: Tensor, batch_size: int = 64) -> Tensor:
    """``G(x)`` for inputs ``x`` (N×C×H×W in [0, 1], any H×W) in eval mode without gradients, in
    slices of ``batch_size``, on the CPU: images in the target's space, or N×K class probabilities."""
    fn = translator(model)
    model.check_input(x)
    with frozen(model):
        return batched(fn, x, batch_size, model.device)


@torch.no_grad()
def segment_image(model, x: Tensor, batch_size: int = 64) -> Tensor:
    """N×H×W class indices (0 the background) of images ``x``; a one-line refusal from models that
    do not segment."""
    fn = model.require("segment", "a class per pixel")
    model.check_input(x)
    with frozen(model):
        return batched(fn, x, batch_size, model.device)


# ------------------------------------------------------------------------------------------ files

def read_file(path: str | Path, channels: int) -> tuple[Tensor, bool]:
    """An image file at its own size as 1×C×H×W in [0, 1] (C = 1: luma, C = 3: RGB) and whether the
    file holds colour (some pixel with R ≠ G or G ≠ B). Sizes outside 4…4096 px a side are refused."""
    from PIL import Image, UnidentifiedImageError

    path = Path(path).expanduser()
    if channels not in (1, 3):
        raise DataError(f"image files give 1 (grey) or 3 (RGB) channels, but this model takes {channels}-channel "
                        "inputs; pass them as tensors to translate_image instead")
    if not path.is_file():
        raise DataError(f"image file {path} does not exist; check the path")
    try:
        with Image.open(path) as im:
            w, h = im.size   # known before the pixels are decoded: a huge file is refused cheaply
            if min(w, h) < MIN_SIDE or max(w, h) > MAX_SIDE:
                raise DataError(f"{path} is {w}×{h} pixels; give an image between {MIN_SIDE} and {MAX_SIDE} "
                                "pixels on each side (crop or resize it)")
            rgb = im.convert("RGB")
            pixels = torch.frombuffer(bytearray(rgb.tobytes()), dtype=torch.uint8).view(h, w, 3)
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise DataError(f"{path} is not a readable image ({exc.__class__.__name__}); give a PNG or JPEG file") from None
    x = pixels.permute(2, 0, 1).float().div(255).unsqueeze(0)
    colour = bool((x[:, 0] != x[:, 1]).any() or (x[:, 1] != x[:, 2]).any())
    if channels == 1:
        if colour:   # ITU-R 601 luma, as PIL's "L" and genlab's --channels 1 compute it
            x = (x * torch.tensor([0.299, 0.587, 0.114]).view(1, 3, 1, 1)).sum(1, keepdim=True)
        else:
            x = x[:, :1]
    return x, colour


def read_mask(path: str | Path, size: tuple[int, int]) -> Tensor:
    """A hole mask file (white = missing, any level above 127) as 1×H×W bool; its H×W must be ``size``."""
    from PIL import Image, UnidentifiedImageError

    path = Path(path).expanduser()
    if not path.is_file():
        raise DataError(f"mask file {path} does not exist; check the path")
    try:
        with Image.open(path) as im:
            w, h = im.size
            if (h, w) != tuple(size):
                raise DataError(f"mask {path} is {w}×{h} pixels but the image is {size[1]}×{size[0]}; "
                                "give a mask of the image's size")
            pixels = torch.frombuffer(bytearray(im.convert("L").tobytes()), dtype=torch.uint8).view(1, h, w)
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise DataError(f"{path} is not a readable image ({exc.__class__.__name__}); give a PNG mask") from None
    hole = pixels > 127
    if not hole.any():
        raise DataError(f"mask {path} marks no pixel as missing; paint the hole white (255) on black")
    return hole


def box_hole(box: str | tuple[int, int, int, int], size: tuple[int, int]) -> Tensor:
    """``"x,y,w,h"`` (pixels, x to the right, y down) as a 1×H×W bool hole; a box that is empty or
    not inside the H×W image is refused in one line."""
    h, w = size
    if isinstance(box, str):
        try:
            box = tuple(int(v) for v in box.replace(" ", "").split(","))
        except ValueError:
            raise ConfigError(f"--box expects four integers x,y,w,h (pixels), got {box!r}") from None
    if len(box) != 4:
        raise ConfigError(f"--box expects four integers x,y,w,h (pixels), got {len(box)}")
    bx, by, bw, bh = box
    if bw < 1 or bh < 1:
        raise ConfigError(f"--box {bx},{by},{bw},{bh} is empty; give a width and height of at least 1 pixel")
    if bx < 0 or by < 0 or bx + bw > w or by + bh > h:
        raise ConfigError(f"--box {bx},{by},{bw},{bh} is not inside the {w}×{h} image; keep 0 ≤ x, x + w ≤ {w}, "
                          f"0 ≤ y, y + h ≤ {h}")
    hole = torch.zeros(1, h, w, dtype=torch.bool)
    hole[:, by:by + bh, bx:bx + bw] = True
    return hole


def _free(path: Path, overwrite: bool) -> Path:
    """A file written beside the named output: it too must be new unless ``overwrite``."""
    if path.exists() and not overwrite:
        raise RunFolderError(f"{path} exists; pass overwrite=True (--overwrite) to replace it or choose another "
                             "out file (--out)")
    return path


def output_paths(out: str | Path | None, default: Path, overwrite: bool, *suffixes: str) -> list[Path]:
    """The picture ``out`` (or ``default``, a genlab-owned file) and its companions STEM-SUFFIX.png."""
    from ..png import image_format

    path = output_file(out, default, overwrite)
    image_format(path)   # .png / .jpg, refused before any work
    companions = [path.with_name(f"{path.stem}-{s}.png") for s in suffixes]
    if out is not None:
        for p in companions:
            _free(p, overwrite)
    path.parent.mkdir(parents=True, exist_ok=True)
    return [path, *companions]


def save_native(image: Tensor, path: Path) -> None:
    """One 1×C×H×W image at its own size (no padding, no enlarging)."""
    from ..png import save_image, to_pil

    save_image(to_pil(image[0].permute(1, 2, 0).numpy(), scale=1), path)


def save_side_by_side(images: list[Tensor], labels: list[str], path: Path) -> None:
    """1×C×H×W images of one size in one labelled row."""
    from ..png import labelled_grid, save_image

    row = torch.cat(same_channels(*[t.clamp(0, 1) for t in images]))
    save_image(labelled_grid([row], col_labels=labels), path)


def _check_output_size(h: int, w: int, what: str) -> None:
    if max(h, w) > MAX_SIDE:
        raise DataError(f"{what} would be {w}×{h} pixels, above the {MAX_SIDE}-pixel limit; give a smaller image")


def _clean(obj):
    """NaN (a class absent from the target and the prediction) as null, so translate.json is strict JSON."""
    if isinstance(obj, float) and math.isnan(obj):
        return None
    if isinstance(obj, dict):
        return {k: _clean(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_clean(v) for v in obj]
    return obj


# ------------------------------------------------------------------------------------------ pictures

def _input_picture(model, x: Tensor, size: tuple[int, int]) -> Tensor:
    """What a person sees of the input, at the output's size (nearest-neighbour blocks when smaller)."""
    shown = picture(task_of(model), x).clamp(0, 1)
    if tuple(shown.shape[-2:]) != tuple(size):
        shown = torch.nn.functional.interpolate(shown, size=size, mode="nearest")
    return shown


def _output_picture(model, x: Tensor, out: Tensor) -> Tensor:
    return picture(task_of(model), x, out).clamp(0, 1)


def scores(model, x: Tensor, out: Tensor, target: Tensor, mask: Tensor | None = None) -> dict:
    """``segmentation_scores`` for masks; otherwise ``restoration_scores`` (with ``hole_psnr`` for
    inpainting), on RGB for colorization, and the same scores of a baseline where one exists:
    bicubic enlargement for super-resolution, the input itself for denoise/deblur/ct."""
    from ..metrics.paired import (
        restoration_scores,
        segmentation_scores,
        upsample_baselines,
    )

    name = task_name(model)
    if getattr(model, "segments", False):
        result = segmentation_scores(out, target.long(), out.shape[1])
        names = list(model.config.mask_classes)
        if len(names) == out.shape[1]:
            result["classes"] = names
        return _clean(result)
    hole = mask if name == "inpaint" else None
    if name == "colorize":   # scored as a person sees it: the colorized RGB against the original
        out, target = lab_to_rgb(x, out), lab_to_rgb(x, target)
    result = {**restoration_scores(out, target, hole), "scored_on": "rgb" if name == "colorize" else "output"}
    base = None
    if name == "superres":
        base = ("bicubic", upsample_baselines(x, int(model.config.scale))["bicubic"])
    elif name in ("denoise", "deblur", "ct") and x.shape == target.shape:
        base = ("input", x)
    if base is not None:
        result["baseline"] = {"name": base[0], **restoration_scores(base[1], target)}
    return _clean(result)


def _figures_line(s: dict) -> str:
    if "pixel_accuracy" in s:
        return f"pixel accuracy {s['pixel_accuracy']:.3f}, mean IoU {s['mean_iou']:.3f}, Dice {s['dice']:.3f}"
    text = f"PSNR {s['psnr']:.2f} dB, SSIM {s['ssim']:.3f}"
    if s.get("hole_psnr") is not None:
        text += f", hole PSNR {s['hole_psnr']:.2f} dB"
    if "baseline" in s:
        text += f" ({s['baseline']['name']}: PSNR {s['baseline']['psnr']:.2f} dB, SSIM {s['baseline']['ssim']:.3f})"
    return text


# ------------------------------------------------------------------------------------------ translate

def source_shape(model) -> tuple[int, int, int]:
    """(C, H, W) of the images the model's task turns into pairs (the targets' images)."""
    c, h, w = model.config.image_shape
    scale = int(getattr(model.config, "scale", 1) or 1)
    name = task_name(model)
    if name == "inpaint":
        c -= 1          # the hole channel
    elif name == "colorize":
        c = 3           # L in, colour images out
    return c, h * scale, w * scale


def translation_data(model, spec: str | None = None, split: str = "test") -> ImageData:
    """The held-out pairs of the run (its data with its task), or ``spec``'s images made into pairs
    by the run's task (resized to the run's size for folders of files), checked against the model."""
    translator(model)
    if spec is None:
        data = run_data(model, None, split)
    else:
        info = (getattr(model, "run_info", None) or {}).get("data") or {}
        c, h, w = source_shape(model)
        size = info.get("image_size") or ((h, w) if spec.split(":")[0] in ("folder", "paired") else None)
        task = model.config.task or "paired"
        data = load_data(spec, split, image_size=size, channels=c if spec.split(":")[0] != "paired" else None,
                         task=task)
        if len(data) == 0:
            raise DataError(f"the {split} split of {spec} holds no images; use another --data")
        model.check_input(data.x[:1])
    if data.target is None:
        raise DataError(f"{data.name or spec} holds no (input, target) pairs; give data the run's task can pair")
    return data


def translate_data(model, data: ImageData, out: str | Path, n_show: int = 16, n_eval: int = 500,
                   seed: int = 0) -> dict:
    """Translate up to ``n_eval`` pairs of ``data`` (spread over it), score them against their
    targets and write to ``out``: translate.png (rows input / output / target of ``n_show`` spread
    pairs) and translate.json (the scores). Returns the figures."""
    from ..png import labelled_rows, save_image

    out = Path(out)
    picked = data.spread(n_eval)
    with seeded(model, seed):   # pix2pix keeps its dropout at test time: the same seed, the same outputs
        y = translate_image(model, picked.x)
    s = scores(model, picked.x, y, picked.target, picked.mask)
    show = torch.linspace(0, len(picked) - 1, min(n_show, len(picked))).long()   # every class shows
    x, t = picked.x[show], picked.target[show]
    rows = same_channels(_input_picture(model, x, tuple(t.shape[-2:])), _output_picture(model, x, y[show]),
                         _output_picture(model, x, t))
    save_image(labelled_rows(rows, ["input", "output", "target"]), out / "translate.png")
    figures = {"model": model.registry_name, "task": str(task_of(model) or "paired"), "data": data.name,
               "n": len(picked), "seed": seed, "scores": s}
    write_json(out / "translate.json", figures)
    figures["line"] = _figures_line(s)
    return figures


def _model_input(model, path: Path) -> tuple[Tensor, bool]:
    """A file as the model's input (its lightness for colorize) and whether it was in colour."""
    name = task_name(model)
    if name == "inpaint":
        raise CapabilityError("an inpainting model needs the hole as well as the image: use "
                              "`genlab inpaint RUN --image FILE --box x,y,w,h` (or --mask M.png), "
                              "or `genlab translate RUN --image FILE --degrade` to cut the run's own hole")
    if name == "colorize":
        x, colour = read_file(path, 3)
        return rgb_to_lab(x)[0], colour
    return read_file(path, model.in_channels if hasattr(model, "in_channels") else model.image_shape[0])


def translate_file(model, path: str | Path, out: str | Path, degrade: bool = False, seed: int = 0) -> dict:
    """Translate one image file read at its own size and write ``out``: input | output (| target
    with ``degrade``, which applies the run's task to the file so that the file is the target and the
    output is scored against it), and STEM-output.png beside it (the output alone, at its size)."""
    translator(model)
    path, out = Path(path), Path(out)
    task = task_of(model)
    figures = {"model": model.registry_name, "task": str(task or "paired"), "image": str(path)}
    target = mask = None
    if degrade:
        if task is None:
            raise ConfigError("this run was trained on its own pairs, so it has no task to degrade the image with; "
                              "drop --degrade (the file is then the input)")
        if task.name == "segment":
            raise ConfigError("--degrade needs the true mask, which an image file lacks; drop --degrade, or use "
                              "`genlab segment RUN --image FILE`")
        c, _, _ = source_shape(model)
        y, colour = read_file(path, c)
        if task.name == "colorize" and not colour:
            raise DataError(f"{path} is grey, so it has no colours to take away and compare; give a colour file "
                            "or drop --degrade")
        if task.name == "superres":   # the task needs sides divisible by the factor: crop the remainder
            f = int(task.value)
            h, w = y.shape[-2] // f * f, y.shape[-1] // f * f
            if h < MIN_SIDE or w < MIN_SIDE:
                raise DataError(f"{path} is too small to shrink by {f}; give an image of at least {f * MIN_SIDE} "
                                "pixels on each side")
            if (h, w) != tuple(y.shape[-2:]):
                figures["cropped_to"] = [h, w]
            y = y[..., :h, :w]
        pairs = make_pairs(ImageData(y, name=path.name), task, seed=seed)
        x, target, mask = pairs.x, pairs.target, pairs.mask
    else:
        x, _ = _model_input(model, path)
    with seeded(model, seed):
        y_hat = translate_image(model, x)
    _check_output_size(*y_hat.shape[-2:], "the output")
    size = tuple(y_hat.shape[-2:])
    images = [_input_picture(model, x, size), _output_picture(model, x, y_hat)]
    labels = ["input", "output"]
    if target is not None:
        images.append(_output_picture(model, x, target))
        labels.append("target")
        s = scores(model, x, y_hat, target, mask)
        figures["scores"] = s
        figures["line"] = _figures_line(s)
    figures.update(input_size=list(x.shape[-2:]), output_size=list(size))
    main, alone = out, out.with_name(f"{out.stem}-output.png")
    save_side_by_side(images, labels, main)
    save_native(images[1], alone)
    figures["written"] = [str(main), str(alone)]
    return figures


# ------------------------------------------------------------------------------------------ segment

def segment_file(model, path: str | Path, out: str | Path, alpha: float = 0.5,
                 mask_out: str | Path | None = None) -> dict:
    """Segment one image file at its own size; write the overlay to ``out`` and the mask of class
    indices (grey level = class index) to ``mask_out`` (default STEM-mask.png beside ``out``).
    Returns the share of pixels per class name."""
    from PIL import Image

    from ..png import save_image

    model.require("segment", "a class per pixel")
    if not 0 <= alpha <= 1:
        raise ConfigError(f"--alpha must lie in [0, 1] (0: the image, 1: the mask colours), got {alpha:g}")
    path, out = Path(path), Path(out)
    x, _ = read_file(path, model.in_channels)
    mask = segment_image(model, x)
    k = int(model.config.out_channels)
    if k > 256:
        raise DataError(f"the model has {k} classes; a grey mask PNG holds at most 256")
    names = list(model.config.mask_classes) or [str(i) for i in range(k)]
    counts = torch.bincount(mask.flatten(), minlength=k).double()
    share = {names[i] if i < len(names) else str(i): float(counts[i] / counts.sum()) for i in range(k)}
    mask_path = Path(mask_out) if mask_out is not None else out.with_name(f"{out.stem}-mask.png")
    save_native(overlay(x, mask, alpha), out)
    save_image(Image.fromarray(mask[0].to(torch.uint8).numpy(), mode="L"), mask_path)
    return {"model": model.registry_name, "image": str(path), "size": list(x.shape[-2:]), "alpha": alpha,
            "share": share, "written": [str(out), str(mask_path)]}


# ------------------------------------------------------------------------------------------ superres

def superres_steps(model, scale: int | None) -> int:
    """How many times the model runs for a total ``scale`` (default its own ×F): k with F^k = scale."""
    f = int(model.config.scale)
    if scale is None:
        return 1
    if f < 2:
        raise ConfigError(f"this model does not enlarge (scale {f}); train it with --task superres:F")
    k, total = 0, 1
    while total < scale:
        total, k = total * f, k + 1
    if scale < 2 or total != scale:
        powers = ", ".join(str(f ** i) for i in range(1, 4))
        raise ConfigError(f"--scale {scale} is not a power of the model's ×{f}; use {powers}, … (the model runs "
                          "once per factor)")
    return k


def superres_file(model, path: str | Path, out: str | Path, scale: int | None = None,
                  bicubic_out: str | Path | None = None) -> dict:
    """Enlarge one low-resolution image file by ``scale`` (default the model's factor; a power of it
    runs the model repeatedly) and write the output to ``out`` and the bicubic enlargement by the
    same factor to ``bicubic_out`` (default STEM-bicubic.png beside it)."""
    from ..metrics.paired import upsample_baselines

    require_task(model, "superres", "use `genlab translate RUN --image FILE` (or train with --task superres:F)")
    steps = superres_steps(model, scale)
    total = int(model.config.scale) ** steps
    path, out = Path(path), Path(out)
    x, _ = read_file(path, model.in_channels)
    _check_output_size(x.shape[-2] * total, x.shape[-1] * total, f"the ×{total} enlargement")
    y = x
    with seeded(model, 0):
        for _ in range(steps):
            y = translate_image(model, y).clamp(0, 1)
    bicubic = upsample_baselines(x, total)["bicubic"]
    bicubic_path = Path(bicubic_out) if bicubic_out is not None else out.with_name(f"{out.stem}-bicubic.png")
    save_native(y, out)
    save_native(bicubic, bicubic_path)
    return {"model": model.registry_name, "image": str(path), "scale": total, "passes": steps,
            "input_size": list(x.shape[-2:]), "output_size": list(y.shape[-2:]),
            "written": [str(out), str(bicubic_path)]}


# ------------------------------------------------------------------------------------------ inpaint

def inpaint_file(model, path: str | Path, out: str | Path, box=None, mask: str | Path | None = None,
                 completed_out: str | Path | None = None) -> dict:
    """Fill a hole in one image file: the hole is ``box`` (``"x,y,w,h"``) or the white pixels of the
    ``mask`` file. Writes input-with-hole | completed to ``out`` and the completed image alone to
    ``completed_out`` (default STEM-completed.png beside it); pixels outside the hole are the file's."""
    require_task(model, "inpaint", "use `genlab translate RUN --image FILE` (or train with --task inpaint:…)")
    if (box is None) == (mask is None):
        raise ConfigError("give the hole as either --box x,y,w,h or --mask M.png (white = missing), not both or neither")
    path, out = Path(path), Path(out)
    image, _ = read_file(path, model.in_channels - 1)
    size = tuple(image.shape[-2:])
    hole = box_hole(box, size) if box is not None else read_mask(mask, size)
    x = with_hole(image, hole)
    with seeded(model, 0):
        completed = translate_image(model, x)
    completed_path = Path(completed_out) if completed_out is not None else out.with_name(f"{out.stem}-completed.png")
    save_side_by_side([_input_picture(model, x, size), completed], ["input with hole", "completed"], out)
    save_native(completed, completed_path)
    return {"model": model.registry_name, "image": str(path), "size": list(size),
            "hole_pixels": int(hole.sum()), "hole_share": float(hole.float().mean()),
            "written": [str(out), str(completed_path)]}


# ------------------------------------------------------------------------------------------ colorize

def colorize_image(model, rgb: Tensor) -> Tensor:
    """RGB (or grey, N×1×H×W) images -> the model's colour version of their lightness, N×3×H×W RGB."""
    rgb = rgb.expand(-1, 3, -1, -1) if rgb.shape[1] == 1 else rgb
    L = rgb_to_lab(rgb)[0]
    return lab_to_rgb(L, translate_image(model, L))


def colorize_file(model, path: str | Path, out: str | Path, colorized_out: str | Path | None = None) -> dict:
    """Colorize one grey or colour file: grey | colorized (| original, when the file was in colour,
    with the PSNR of the colorized image against it) to ``out``; the colorized image alone to
    ``colorized_out`` (default STEM-colorized.png beside it)."""
    from ..metrics.image import psnr

    require_task(model, "colorize", "use `genlab translate RUN --image FILE` (or train with --task colorize)")
    path, out = Path(path), Path(out)
    x, colour = read_file(path, 3)
    L = rgb_to_lab(x)[0]
    with seeded(model, 0):
        rgb = lab_to_rgb(L, translate_image(model, L))
    images, labels = [L, rgb], ["grey", "colorized"]
    figures = {"model": model.registry_name, "image": str(path), "size": list(x.shape[-2:]), "colour_file": colour}
    if colour:
        images.append(x)
        labels.append("original")
        figures["psnr_vs_original"] = psnr(rgb, x)
    colorized_path = Path(colorized_out) if colorized_out is not None else out.with_name(f"{out.stem}-colorized.png")
    save_side_by_side(images, labels, out)
    save_native(rgb, colorized_path)
    figures["written"] = [str(out), str(colorized_path)]
    return figures


__all__ = ["translator", "task_of", "require_task", "translate_image", "segment_image", "read_file", "read_mask",
           "box_hole", "output_paths", "scores", "source_shape", "translation_data", "translate_data", "translate_file", "overlay",
           "segment_file", "superres_steps", "superres_file", "inpaint_file", "colorize_image", "colorize_file",
           "MIN_SIDE", "MAX_SIDE"]
