"""Image-to-image commands: `genlab translate`, `segment`, `superres`, `inpaint`, `colorize`.

Each reads a file at its own size (the networks are fully convolutional) and writes its pictures
under the run (RUN/translate, RUN/segment, …) unless --out names a file, which must be new unless
--overwrite is given; so must the files written beside it (STEM-mask.png, STEM-bicubic.png, …).
"""
from __future__ import annotations

from pathlib import Path

from .args import (
    add_data,
    add_n,
    add_out,
    add_overwrite,
    add_run,
    add_seed,
    load,
    positive,
)


def _image(p, help: str = "a PNG/JPEG file, read at its own size") -> None:
    p.add_argument("--image", default=None, metavar="FILE", required=True, help=help)


def _out_file(p, default: str, beside: str = "") -> None:
    more = f"; {beside} is written beside it" if beside else ""
    add_out(p, None, f"PNG file (default {default}){more}")
    add_overwrite(p, "replace an existing --out file (and the files written beside it)")


def add_parser(sub) -> None:
    p = sub.add_parser("translate", help="apply an image-to-image model to a file, or score it on held-out pairs",
                       description="With --image, translate that file (read at its own size; --degrade applies the "
                                   "run's task to it first and compares with the file) and write input | output "
                                   "(| target). Without it, translate held-out pairs (the run's own, or --data made "
                                   "into pairs by the run's task), write translate.png (rows input / output / "
                                   "target) and translate.json (PSNR/SSIM, or IoU/Dice for masks). "
                                   "Unpaired runs: a cyclegan run translates to the domain --to names, a stargan run "
                                   "to the attributes --domains names; both write input | translated | translated "
                                   "back (for --image, or rows of held-out images) and print the "
                                   "cycle-reconstruction error mean |back − input|.")
    add_run(p)
    p.add_argument("--image", default=None, metavar="FILE", help="a PNG/JPEG file to translate (at its own size)")
    p.add_argument("--degrade", action="store_true",
                   help="with --image: apply the run's task to the file first (the file is then the target)")
    p.add_argument("--to", default=None, metavar="DOMAIN",
                   help="cyclegan runs: the target domain, by name or number; the images are taken from the other "
                        "domain (held-out images without domains all are). Default: the second domain (A → B) "
                        "for --image, both directions for held-out images")
    p.add_argument("--domains", default=None, metavar="ATTRS",
                   help="stargan runs (required): the target attributes, comma-separated names, at most one per "
                        "group (e.g. thick,inverted); the groups not named keep each image's own value")
    p.add_argument("--source", default=None, metavar="ATTRS",
                   help="stargan runs with --image: the file's own attributes, for the groups --domains does not "
                        "name and for the way back (default: as the run's attribute classifier reads the file)")
    add_data(p)
    add_n(p, 16, "pairs shown in translate.png (unpaired runs: images per direction)")
    p.add_argument("--n-eval", type=int, default=500,
                   help="held-out pairs scored (unpaired runs: images per direction for the cycle error)")
    add_out(p, None, "with --image: a PNG file (default RUN/translate/STEM.png; STEM-output.png beside it); "
                     "otherwise a folder (default RUN/translate)")
    add_overwrite(p, "replace an existing --out file, or write into a non-empty --out folder")
    add_seed(p)
    p.set_defaults(func=run_translate)

    p = sub.add_parser("segment", help="segment an image file: the class overlay and a mask PNG of class indices",
                       description="Segment a file with a model trained with --task segment; writes the image "
                                   "blended with each class's colour and STEM-mask.png (grey level = class index), "
                                   "and prints the share of pixels per class.")
    add_run(p)
    _image(p)
    p.add_argument("--alpha", type=float, default=0.5, help="weight of the class colour in the overlay (0…1)")
    _out_file(p, "RUN/segment/STEM.png", "STEM-mask.png")
    p.set_defaults(func=run_segment)

    p = sub.add_parser("superres", help="enlarge an image file with a super-resolution model (and bicubic beside it)",
                       description="Enlarge a low-resolution file by --scale with a model trained with --task "
                                   "superres:F; a power of F runs the model repeatedly. STEM-bicubic.png, the "
                                   "bicubic enlargement by the same factor, is written beside the output.")
    add_run(p)
    _image(p, "the low-resolution PNG/JPEG file")
    p.add_argument("--scale", type=int, default=None, help="total enlargement: the model's factor F (default) or "
                                                           "a power of it")
    _out_file(p, "RUN/superres/STEM.png", "STEM-bicubic.png")
    p.set_defaults(func=run_superres)

    p = sub.add_parser("inpaint", help="fill a hole (a box or a mask file) in an image file",
                       description="Fill a hole in a file with a model trained with --task inpaint:…; writes "
                                   "input-with-hole | completed, and STEM-completed.png (pixels outside the hole "
                                   "are the file's own).")
    add_run(p)
    _image(p)
    hole = p.add_mutually_exclusive_group(required=True)
    hole.add_argument("--box", default=None, metavar="x,y,w,h", help="the hole: a box in pixels (x right, y down)")
    hole.add_argument("--mask", default=None, metavar="M.png", help="the hole: white pixels of a mask of the "
                                                                    "image's size")
    _out_file(p, "RUN/inpaint/STEM.png", "STEM-completed.png")
    p.set_defaults(func=run_inpaint)

    p = sub.add_parser("colorize", help="colorize a grey (or colour) image file from its lightness",
                       description="Colorize a file with a model trained with --task colorize: its Lab lightness "
                                   "in, colours out. Writes grey | colorized (| original, for a colour file, with "
                                   "the PSNR against it printed) and STEM-colorized.png.")
    add_run(p)
    _image(p)
    _out_file(p, "RUN/colorize/STEM.png", "STEM-colorized.png")
    p.set_defaults(func=run_colorize)


def _paths(args, folder: str, *companions: str) -> list[Path]:
    from ..apps.translate import output_paths

    default = Path(args.run) / folder / f"{Path(args.image).stem}.png"
    return output_paths(args.out, default, args.overwrite, *companions)


def _wrote(paths) -> None:
    print("wrote " + ", ".join(str(p) for p in paths))


def run_translate(args) -> int:
    from ..apps.common import output_folder
    from ..apps.translate import (
        translate_data,
        translate_file,
        translation_data,
        translator,
    )
    from ..apps.unpaired import check_targets, unpaired_kind
    from ..errors import ConfigError

    positive(args.n, "--n")
    positive(args.n_eval, "--n-eval")
    if args.degrade and not args.image:
        raise ConfigError("--degrade applies to a file: give --image FILE (held-out pairs are degraded already)")
    if args.image and args.data:
        raise ConfigError("give either --image FILE or --data SPEC, not both")
    model = load(args.run)
    translator(model)
    if unpaired_kind(model) is not None:
        return _run_unpaired(args, model)
    check_targets(model, args.to, args.domains, args.source)   # pix2pix, unet, …: no target to name
    if args.image:
        out, _ = _paths(args, "translate", "output")
        f = translate_file(model, args.image, out, degrade=args.degrade, seed=args.seed)
        sizes = f"{f['input_size'][1]}×{f['input_size'][0]} → {f['output_size'][1]}×{f['output_size'][0]}"
        print(f"{args.image} ({f['task']}, {sizes})" + (f": {f['line']}" if "line" in f else ""))
        _wrote(f["written"])
        return 0
    data = translation_data(model, args.data)
    out = output_folder(args.out, Path(args.run) / "translate", args.overwrite)
    f = translate_data(model, data, out, n_show=args.n, n_eval=args.n_eval, seed=args.seed)
    print(f"{f['model']} ({f['task']}) on {f['n']} held-out pairs of {f['data']}: {f['line']}")
    print(f"wrote {out}/ (translate.png, translate.json)")
    return 0


def _run_unpaired(args, model) -> int:
    """cyclegan (--to) and stargan (--domains) runs: input | translated | back, and the cycle error."""
    from ..apps.common import output_folder
    from ..apps.unpaired import (
        check_targets,
        unpaired_data,
        unpaired_file,
        unpaired_grid,
    )
    from ..errors import ConfigError

    if args.degrade:
        raise ConfigError(f"--degrade applies a paired task to the file, but a {model.registry_name} run has no task "
                          "(it translates unpaired images); drop --degrade")
    check_targets(model, args.to, args.domains, args.source, image=bool(args.image))   # before any file is written
    if args.image:
        out, _ = _paths(args, "translate", "output")
        f = unpaired_file(model, args.image, out, to=args.to, domains=args.domains, source=args.source,
                          seed=args.seed)
        (h, w) = f["size"]
        resized = f" (resized from {f['resized_from'][1]}×{f['resized_from'][0]})" if "resized_from" in f else ""
        print(f"{args.image} ({f['direction']}, {w}×{h}{resized}): cycle-reconstruction error "
              f"{f['cycle_error']:.4f} (mean |back − input|)")
        _wrote(f["written"])
        return 0
    data = unpaired_data(model, args.data, to=args.to)
    out = output_folder(args.out, Path(args.run) / "translate", args.overwrite)
    f = unpaired_grid(model, data, out, n=args.n, to=args.to, domains=args.domains, n_eval=args.n_eval,
                      seed=args.seed)
    print(f"{f['model']} on held-out images of {f['data']}: {f['line']}")
    print(f"wrote {out}/ (translate.png, translate.json)")
    return 0


def run_segment(args) -> int:
    from ..apps.translate import segment_file

    model = load(args.run)
    model.require("segment", "a class per pixel")
    out, mask = _paths(args, "segment", "mask")
    f = segment_file(model, args.image, out, alpha=args.alpha, mask_out=mask)
    shares = ", ".join(f"{name} {100 * v:.1f}%" for name, v in f["share"].items())
    print(f"{args.image} ({f['size'][1]}×{f['size'][0]}): {shares}")
    _wrote(f["written"])
    return 0


def run_superres(args) -> int:
    from ..apps.translate import require_task, superres_file, superres_steps

    model = load(args.run)
    require_task(model, "superres", "use `genlab translate RUN --image FILE` (or train with --task superres:F)")
    superres_steps(model, args.scale)   # a bad --scale is refused before any file is read
    out, bicubic = _paths(args, "superres", "bicubic")
    f = superres_file(model, args.image, out, scale=args.scale, bicubic_out=bicubic)
    (h, w), (oh, ow) = f["input_size"], f["output_size"]
    passes = f" ({f['passes']} passes of ×{model.config.scale})" if f["passes"] > 1 else ""
    print(f"{args.image}: {w}×{h} → {ow}×{oh}, ×{f['scale']}{passes}")
    _wrote(f["written"])
    return 0


def run_inpaint(args) -> int:
    from ..apps.translate import inpaint_file, require_task

    model = load(args.run)
    require_task(model, "inpaint", "use `genlab translate RUN --image FILE` (or train with --task inpaint:…)")
    out, completed = _paths(args, "inpaint", "completed")
    f = inpaint_file(model, args.image, out, box=args.box, mask=args.mask, completed_out=completed)
    print(f"{args.image} ({f['size'][1]}×{f['size'][0]}): filled {f['hole_pixels']} pixels "
          f"({100 * f['hole_share']:.1f}% of the image)")
    _wrote(f["written"])
    return 0


def run_colorize(args) -> int:
    from ..apps.translate import colorize_file, require_task

    model = load(args.run)
    require_task(model, "colorize", "use `genlab translate RUN --image FILE` (or train with --task colorize)")
    out, colorized = _paths(args, "colorize", "colorized")
    f = colorize_file(model, args.image, out, colorized_out=colorized)
    if "psnr_vs_original" in f:
        print(f"{args.image}: colorized from its lightness, PSNR {f['psnr_vs_original']:.2f} dB against the original")
    else:
        print(f"{args.image}: grey file colorized (no original colours to compare with)")
    _wrote(f["written"])
    return 0
