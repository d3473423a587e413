"""Using a trained generator: `genlab invert` (GAN inversion) and `genlab augment` (generated training data)."""
from __future__ import annotations

from pathlib import Path

from .args import add_data, add_label, add_n, add_output_folder, add_run, load, positive


def add_parser(sub) -> None:
    from ..apps.augment import DEFAULT_EPOCHS, DEFAULT_SYNTHETIC

    p = sub.add_parser("invert", help="find the latent code whose generated image matches a picture (GAN inversion)",
                       description="GAN inversion (Zhu et al. 2016). optimize: Adam on z minimising the pixel MSE (+ a "
                                   "small ‖z‖² prior term) from --restarts random starts; encoder: a conv net trained "
                                   "once on generated (z, G(z)) pairs, cached in RUN/inversion-encoder; hybrid: the "
                                   "encoder's z refined by optimisation. Writes invert.png (target, inversions, "
                                   "|error| maps), invert.json (MSE, PSNR, seconds per method) and codes.safetensors.")
    add_run(p)
    p.add_argument("image", nargs="?", default=None, metavar="IMAGE",
                   help="a PNG/JPEG to invert (resized to the model's size); without it, --n held-out images of --data")
    p.add_argument("--method", default="optimize", metavar="optimize|encoder|hybrid|all",
                   help="inversion method(s), comma-separated, or all (default optimize)")
    p.add_argument("--steps", type=int, default=300, help="optimisation steps (optimize, hybrid)")
    p.add_argument("--restarts", type=int, default=8, help="random starts optimised together (optimize)")
    p.add_argument("--encoder-steps", type=int, default=1500, help="training steps of the encoder (once; cached)")
    add_data(p, help="data spec of the held-out images (default: the run's data)")
    add_n(p, 8, "held-out images inverted (without IMAGE)")
    add_label(p, "conditional generators: the class of IMAGE (held-out images use their own labels)")
    add_output_folder(p, "RUN/invert")
    p.set_defaults(func=run_invert)

    p = sub.add_parser("augment", help="classifier accuracy with few real images, with and without generated ones",
                       description="Generated images as training data for small labelled sets: train the judge "
                                   "classifier on --labelled real images (stratified) and on those plus --synthetic "
                                   "images drawn per class by a conditional generator (cgan, acgan), the same number "
                                   "of steps each, and compare their test accuracy. Writes augment.json and "
                                   "samples.png.")
    p.add_argument("--generator", required=True, metavar="RUN", help="a trained conditional generator's run folder")
    add_data(p, help="labelled data spec (default: the generator's training data)")
    p.add_argument("--labelled", type=int, default=100, metavar="N", help="real labelled training images")
    p.add_argument("--synthetic", type=int, default=DEFAULT_SYNTHETIC, metavar="M", help="generated images added")
    p.add_argument("--epochs", type=int, default=DEFAULT_EPOCHS,
                   help="epochs over the real + generated set (the real-only classifier takes as many steps)")
    p.add_argument("--repeats", type=int, default=1, help="draws of the labelled subset, accuracies averaged")
    add_output_folder(p, "RUN/augment")
    p.set_defaults(func=run_augment)


def run_invert(args) -> int:
    from ..apps.common import output_folder, read_image, run_data
    from ..apps.invert import ENCODER_FOLDER, check_generator, invert_images, parse_methods
    from ..errors import ConfigError, DataError

    methods = parse_methods(args.method)
    for value, flag in ((args.n, "--n"), (args.restarts, "--restarts"), (args.encoder_steps, "--encoder-steps")):
        positive(value, flag)
    if args.steps < 0:
        raise ConfigError(f"--steps must be at least 0, got {args.steps}")
    if args.image and args.data:
        raise ConfigError("give either IMAGE or --data, not both")
    model = load(args.run)
    check_generator(model)
    space = model.label_space
    by_class = space is not None and space.kind == "classes"
    y = args.label
    if args.image:
        x, source = read_image(args.image, model.image_shape), str(args.image)
    else:
        data = run_data(model, args.data).spread(args.n)
        x, source = data.x, f"{data.name} held-out images"
        if y is None and by_class:                 # each held-out image as its own class
            if data.y is None:
                raise DataError("the data has no labels and the model is conditional: give the class with --label "
                                "(its name, e.g. circle, or its number)")
            y = data.y
    # checked before the output folder is made
    y = model.require_labels(y, len(x)) if by_class else model.labels(y, len(x))
    out = output_folder(args.out, Path(args.run) / "invert", args.overwrite)
    figures, _ = invert_images(model, x, y, methods, out=out, encoder_folder=Path(args.run) / ENCODER_FOLDER,
                               steps=args.steps, restarts=args.restarts, encoder_steps=args.encoder_steps,
                               seed=args.seed, progress=True, source=source)
    if "encoder" in figures:
        e = figures["encoder"]
        print(f"encoder: {'cached' if e['cached'] else 'trained'} ({e['train_steps']} steps, {e['train_seconds']} s)")
    for m, f in figures["methods"].items():
        print(f"{m}: MSE {f['mse']:.5f}, PSNR {f['psnr']:.2f} dB, {f['seconds']:.1f} s on {figures['n']} image(s)")
    print(f"wrote {out}/ (invert.png, invert.json, codes.safetensors)")
    return 0


def run_augment(args) -> int:
    from ..apps.augment import augment, check_conditional, summary
    from ..apps.common import output_folder, run_data

    model = load(args.generator)
    check_conditional(model)
    train, test = run_data(model, args.data, "train"), run_data(model, args.data, "test")
    out = output_folder(args.out, Path(args.generator) / "augment", args.overwrite)
    figures = augment(model, train, test, labelled=args.labelled, synthetic=args.synthetic, epochs=args.epochs,
                      seed=args.seed, repeats=args.repeats, out=out)
    print(summary(figures))
    print(f"wrote {out}/ (augment.json, samples.png)")
    return 0
