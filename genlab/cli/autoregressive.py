"""The autoregressive family's tools: `genlab complete`, `genlab receptive-field`."""
from __future__ import annotations

from pathlib import Path

from .args import (
    add_data,
    add_n,
    add_out,
    add_run,
    add_seed,
    held_out,
    load,
    out_file,
    positive,
)


def add_parser(sub) -> None:
    p = sub.add_parser("complete", help="complete held-out images from their top rows (autoregressive models)",
                       description="Give an autoregressive model the top --rows rows (or the left --cols columns) of "
                                   "held-out images and let it draw the rest pixel by pixel, --samples times each: "
                                   "columns original | given (hidden part dimmed) | completions.")
    add_run(p)
    add_data(p)
    p.add_argument("--rows", type=int, default=None, help="top rows given (default 14, half a 28-row image)")
    p.add_argument("--cols", type=int, default=None, help="left columns of every row given, instead of --rows")
    add_n(p, 8, "held-out images, spread over the classes")
    p.add_argument("--samples", type=int, default=4, help="completions per image")
    p.add_argument("--temperature", type=float, default=1.0,
                   help="divides the logits (below 1: sharper, more likely completions)")
    add_seed(p)
    add_out(p, None, "PNG file (default RUN/complete.png)")
    p.set_defaults(func=run_complete)

    p = sub.add_parser("receptive-field", help="the input pixels that can influence one output pixel",
                       description="From gradients of the network's output at --pixel with respect to its input "
                                   "(random weights, so the masks alone decide): the influencing pixels over the "
                                   "image grid, the pixel marked, the blind spot when there is one, and for a "
                                   "PixelCNN its masks of type A and B.")
    p.add_argument("target", metavar="MODEL_OR_RUN",
                   help="a run folder, or a registered model name (built untrained for mnist5k's 28×28 digits)")
    p.add_argument("--pixel", required=True, metavar="R,C", help="the output pixel, row,column from 0 (e.g. 14,14)")
    add_out(p, None, "PNG file (default RUN/receptive_field.png, or receptive_field_NAME.png for a model name)")
    p.set_defaults(func=run_receptive_field)


def run_complete(args) -> int:
    from ..apps.autoregressive import complete_held_out, require_autoregressive
    from ..viz.grids import save_image

    positive(args.n, "--n")
    positive(args.samples, "--samples")
    model = load(args.run)
    out = out_file(args, "complete.png")
    require_autoregressive(model)
    rows = args.rows if args.rows is not None or args.cols is not None else model.image_shape[1] // 2
    result = complete_held_out(model, held_out(args, model), rows=rows, cols=args.cols, n=args.n,
                               samples=args.samples, temperature=args.temperature, seed=args.seed)
    given = f"top {rows} rows" if args.cols is None else f"left {args.cols} columns"
    print(f"{len(result.original)} images, {given} given, {args.samples} completions each: "
          f"{save_image(result.picture(), out)}")
    return 0


def run_receptive_field(args) -> int:
    from ..apps.autoregressive import (
        model_or_run,
        parse_pixel,
        receptive_field,
        receptive_field_figure,
    )
    from ..viz.plots import figure_to_png

    pixel = parse_pixel(args.pixel)
    is_run = Path(args.target).is_dir()
    if args.out:
        out = Path(args.out)
        from ..png import image_format

        image_format(out)
    else:
        out = Path(args.target) / "receptive_field.png" if is_run else Path(f"receptive_field_{args.target}.png")
    model = model_or_run(args.target)
    field = receptive_field(model, pixel)
    print(field.summary())
    print(figure_to_png(receptive_field_figure(field, f"{model.registry_name}: pixel {pixel[0]},{pixel[1]}, "
                                                    f"{field.count} influencing pixels"), out))
    return 0
