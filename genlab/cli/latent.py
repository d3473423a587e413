"""Latent-space tools: `genlab interpolate`, `manifold`, `traverse`, `arithmetic`, `mix`, `sweep-kl`."""
from __future__ import annotations

import torch

from ..apps.common import parse_classes, parse_ints
from .args import (add_data, add_label, add_n, add_out, add_overwrite, add_run, add_seed, held_out, load, out_file,
                   positive)


def _run_data(args, model):
    """The held-out split, only when the model can encode (seed-only tools need none)."""
    return held_out(args, model) if model.can("encode") else None


def add_parser(sub) -> None:
    p = sub.add_parser("interpolate", help="decode the path between codes: two images, several, or two seeds",
                       description="Decode the straight (or spherical) path between codes. By default the first "
                                   "held-out 7 and 8; --through 7,2,8,0 morphs through several classes; --index "
                                   "picks held-out images; --seeds decodes between two prior draws (generators "
                                   "such as GANs: the path in z; a conditional one draws class --label). "
                                   "--classes 3,8 interpolates a conditional generator's class embedding from "
                                   "one-hot 3 to one-hot 8 with z fixed (drawn with --seed).")
    add_run(p)
    add_data(p)
    p.add_argument("--steps", type=int, default=10, help="images per leg of the path")
    p.add_argument("--from-class", default=None, metavar="CLASS",
                   help="class of the first image, a name or a number (default 7, else the data's first class)")
    p.add_argument("--to-class", default=None, metavar="CLASS",
                   help="class of the second image (default 8, else the data's second class)")
    p.add_argument("--through", default=None, metavar="C1,C2,...", help="classes to morph through, names or numbers, e.g. 7,2,8,0 or circle,square")
    p.add_argument("--index", default=None, metavar="I,J,...", help="held-out image indices to pass through")
    p.add_argument("--seeds", default=None, metavar="A,B", help="interpolate between two prior draws instead")
    p.add_argument("--classes", default=None, metavar="C1,C2,...",
                   help="conditional generators: interpolate the class weights through these classes, z fixed")
    add_label(p)
    add_seed(p, help="the prior draw of z held fixed by --classes")
    p.add_argument("--mode", choices=("linear", "spherical"), default="linear")
    add_out(p, None, "PNG file (default RUN/interpolate.png)")
    p.set_defaults(func=run_interpolate)

    p = sub.add_parser("manifold", help="decode a grid over two latent directions (the VAE digit manifold)")
    add_run(p)
    add_data(p, help="data spec for the codes' directions (default: held-out split)")
    add_n(p, 15, "grid size n×n")
    p.add_argument("--dims", default=None, metavar="I,J", help="two latent dimensions (default: 2-D prior grid, "
                                                                  "or the codes' first two principal directions)")
    add_label(p)
    add_out(p, None, "PNG file (default RUN/manifold.png)")
    p.set_defaults(func=run_manifold)

    p = sub.add_parser("traverse", help="vary one latent dimension at a time around a code")
    add_run(p)
    add_data(p)
    p.add_argument("--index", type=int, default=None, help="held-out image whose code is the centre "
                                                            "(default: the mean code, or 0 for generators)")
    p.add_argument("--dims", default=None, metavar="I,J,...", help="dimensions to vary (default: the first 10)")
    p.add_argument("--steps", type=int, default=9)
    p.add_argument("--span", type=float, default=3.0, help="± this many standard deviations")
    add_label(p)
    add_out(p, None, "PNG file (default RUN/traverse.png)")
    p.set_defaults(func=run_traverse)

    from ..apps.latent import GROUPS_HELP

    p = sub.add_parser("arithmetic", help="add an attribute vector (mean code of A − mean code of B) to codes of C",
                       description="Models with an encoder: the codes of held-out images of each group. Generators "
                                   "without one (GANs, DCGAN-paper style): the z of --pool generated samples, put in "
                                   "class groups by the judge classifier of --data (only confident labels; "
                                   "conditional generators: the class each sample was drawn as).")
    add_run(p)
    p.add_argument("--plus", required=True, help=GROUPS_HELP)
    p.add_argument("--minus", required=True, help=GROUPS_HELP)
    p.add_argument("--base", required=True, help=GROUPS_HELP)
    add_data(p, help="data spec (default: the run's; generators: the judge's data)")
    add_n(p, 8, "base images")
    p.add_argument("--pool", type=int, default=2000, help="generators: samples drawn to find the groups' codes")
    add_seed(p, help="generators: seed of the samples")
    add_out(p, None, "PNG file (default RUN/arithmetic.png)")
    p.set_defaults(func=run_arithmetic)

    p = sub.add_parser("mix", help="latent-space mixing: content of source A with style of source B")
    add_run(p)
    add_data(p)
    add_n(p, 8, "pairs")
    p.add_argument("--split", type=float, default=0.5, help="share of the code taken from A")
    add_out(p, None, "PNG file (default RUN/mix.png)")
    p.set_defaults(func=run_mix)

    p = sub.add_parser("sweep-kl", help="train VAEs with several (k1, k2) weightings and compare their latents",
                       description="The β-VAE trade-off (Higgins et al. 2017): reconstruction privileged, "
                                   "balanced, KL privileged.")
    add_data(p, "mnist5k")
    p.add_argument("--weights", default="1:0.01,1:1,1:20", metavar="K1:K2,...",
                   help="weightings total = k1·r_loss + k2·kl_loss (default 1:0.01,1:1,1:20)")
    p.add_argument("--epochs", type=int, default=10)
    add_out(p, "runs/sweep-kl", "output folder (default runs/sweep-kl)")
    add_overwrite(p, "replace the runs of an earlier sweep in --out")
    p.set_defaults(func=run_sweep_kl)


@torch.no_grad()
def run_interpolate(args) -> int:
    from ..apps import latent
    from ..apps.sections import class_names, label_names
    from ..viz.grids import save_image

    positive(args.steps, "--steps")
    model = load(args.run)
    out = out_file(args, "interpolate.png")
    seeds = parse_ints(args.seeds, "--seeds", 2)
    classes = None
    if args.classes is not None:   # a model without a label space is refused by interpolate_classes
        classes = (parse_classes(args.classes, "--classes", label_names(model), least=2)
                   if model.label_space is not None else parse_ints(args.classes, "--classes", least=2))
    if classes is not None:
        images = latent.interpolate_classes(model, classes, steps=args.steps, seed=args.seed)
        names = label_names(model)
        ends = [names[c] for c in classes]
        what = f"{model.label_space.meaning} weights " + " → ".join(ends) + f" at z of seed {args.seed}"
    elif seeds is not None:
        images = latent.interpolate_seeds(model, *seeds, steps=args.steps, mode=args.mode, label=args.label)
        ends = [f"seed {s}" for s in seeds]
        what = " → ".join(ends)
        if args.label is not None:
            what += f" with {model.label_space.meaning} {label_names(model)[model.label_index(args.label)]}"
    else:
        model.require("encode", "interpolation between images needs an encoder; use --seeds A,B to "
                                "interpolate between prior draws")
        data = held_out(args, model)
        names = class_names(model, data, max(data.num_classes, 1))
        through = parse_classes(args.through, "--through", names, least=2)
        index = parse_ints(args.index, "--index", least=2)
        if through:
            points = latent.pick_classes(data, through)
            ends = [names[c] if c < len(names) else str(c) for c in through]
            what = "classes " + " → ".join(ends)
        elif index:
            from ..errors import ConfigError

            if max(index) >= len(data) or min(index) < 0:
                raise ConfigError(f"--index {index} out of range: the data has {len(data)} images")
            points, ends = data.x[index], [f"image {i}" for i in index]
            what = "images " + " → ".join(map(str, index))
        else:
            first = parse_classes(args.from_class, "--from-class", names, count=1)
            second = parse_classes(args.to_class, "--to-class", names, count=1)
            a, b, what = latent.pick_pair(data, first[0] if first else 7, second[0] if second else 8, names)
            points = torch.stack([a, b])
            ends = [part.strip().removeprefix("class ") for part in what.split("→")]
        images = latent.morph(model, points, steps=args.steps, mode=args.mode)
    print(f"{what}: {save_image(latent.path_picture(images.cpu(), args.steps, ends), out)}")
    return 0


@torch.no_grad()
def run_manifold(args) -> int:
    from ..apps.latent import manifold
    from ..viz.grids import save_image
    from ..viz.plots import figure_to_image, manifold_grid

    model = load(args.run)
    out = out_file(args, "manifold.png")
    dims = parse_ints(args.dims, "--dims", 2)
    m = manifold(model, n=args.n, data=_run_data(args, model), dims=tuple(dims) if dims else None, label=args.label)
    fig = manifold_grid(m.images, m.xs, m.ys, title=f"decoded grid: {m.axes}")
    print(save_image(figure_to_image(fig), out))
    return 0


@torch.no_grad()
def run_traverse(args) -> int:
    from ..apps.latent import traverse
    from ..viz.grids import labelled_rows, save_image

    model = load(args.run)
    out = out_file(args, "traverse.png")
    data = _run_data(args, model)
    x = None
    if args.index is not None:
        model.require("encode", "--index traverses around an image's code")
        x = data.x[args.index]
    dims = parse_ints(args.dims, "--dims")
    images, dims = traverse(model, x, data, dims=dims, steps=args.steps, span=args.span, label=args.label)
    rows = images.view(len(dims), args.steps, *images.shape[1:])
    print(save_image(labelled_rows(list(rows), [f"z{d}" for d in dims]), out))
    return 0


@torch.no_grad()
def run_arithmetic(args) -> int:
    from ..apps.invert import has_prior_noise
    from ..apps.latent import arithmetic
    from ..viz.grids import labelled_rows, save_image

    positive(args.n, "--n")
    model = load(args.run)
    out = out_file(args, "arithmetic.png")
    strengths = (0.0, 0.5, 1.0, 1.5)
    if not model.can("encode") and has_prior_noise(model):   # arithmetic on the codes of generated samples
        rows, vector, info = _generator_arithmetic(args, model, strengths)
        print(f"group codes from {info['pool']} {info['source']}; group sizes "
              + ", ".join(f"{k}: {v}" for k, v in info["group_sizes"].items()))
    else:
        model.require("encode", "latent arithmetic averages the codes of labelled groups")
        rows, vector = arithmetic(model, held_out(args, model), args.plus, args.minus, args.base, n=args.n,
                                  strengths=strengths)
    labels = [f"{args.base} + {s:g}·({args.plus} − {args.minus})" for s in strengths]
    path = save_image(labelled_rows(list(rows), labels), out)
    print(f"attribute vector ‖{args.plus} − {args.minus}‖ = {vector.norm():.3f}: {path}")
    return 0


def _generator_arithmetic(args, model, strengths):
    """A GAN's arithmetic: z of generated samples, grouped by the judge of the run's data."""
    from ..apps.latent import group_class, generator_arithmetic

    positive(args.pool, "--pool")
    judge = None
    groups = (args.plus, args.minus, args.base)
    space = model.label_space
    drawn_as_class = space is not None and space.kind == "classes"     # each sample is the class it was drawn as
    if not drawn_as_class and any(group_class(g) is not None for g in groups):
        from ..errors import DataError
        from ..metrics.judge import get_judge

        spec = args.data or (model.run_info.get("data") or {}).get("spec")
        if not spec:
            raise DataError("the run's config.json does not say which data it used; pass --data SPEC to name the "
                            "judge that labels the samples")
        judge, _ = get_judge(spec, model.image_shape, train_if_missing=False)
    return generator_arithmetic(model, args.plus, args.minus, args.base, judge=judge, n=args.n, pool=args.pool,
                                strengths=strengths, seed=args.seed)


@torch.no_grad()
def run_mix(args) -> int:
    from ..apps.latent import mix
    from ..viz.grids import labelled_rows, save_image

    positive(args.n, "--n")
    model = load(args.run)
    out = out_file(args, "mix.png")
    data = held_out(args, model).spread(2 * args.n)
    a, b = data.subset(range(0, len(data), 2)), data.subset(range(1, len(data), 2))
    k = min(len(a), len(b))
    mixed, how = mix(model, a.x[:k], b.x[:k], None if a.y is None else a.y[:k], None if b.y is None else b.y[:k],
                     split=args.split)
    path = save_image(labelled_rows([a.x[:k], b.x[:k], mixed], ["source A", "source B", "mixed"]), out)
    print(f"mixed: {how}: {path}")
    return 0


def run_sweep_kl(args) -> int:
    from ..apps.sweep import parse_weights, sweep_kl

    result = sweep_kl(parse_weights(args.weights), data_spec=args.data, epochs=args.epochs, out=args.out,
                      overwrite=args.overwrite)
    for row in result["runs"]:
        print(f"k1={row['k1']:g} k2={row['k2']:g}: held-out recon {row['recon']:.2f}, kl {row['kl']:.2f} "
              f"({row['label']})")
    print(f"comparison: {result['figure']}")
    return 0
