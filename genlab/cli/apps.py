"""Applications: `genlab denoise`, `compress`, `anomaly`, `features`, `toy manifold`, `filters`.

Each writes its pictures and a JSON of its figures into a folder (by default a sub-folder of the
run, e.g. RUN/denoise) and prints where; a folder named with --out must be new or empty unless
--overwrite is given.
"""
from __future__ import annotations

from pathlib import Path

from .args import add_data, add_n, add_out, add_output_folder, add_overwrite, add_run, load, positive


def add_parser(sub) -> None:
    from ..apps import anomaly, compress, toy

    p = sub.add_parser("denoise", help="corrupt held-out images, denoise them, PSNR/SSIM before and after",
                       description="Corrupt held-out images with --noise (seeded), denoise them with the model "
                                   "(a dae, or any autoencoder) and write noisy / denoised / clean grids and "
                                   "denoise.json. With --image FILE, denoise that one picture instead.")
    add_run(p)
    add_data(p)
    p.add_argument("--noise", default=None,
                   help="KIND:LEVEL, e.g. gaussian:0.5, saltpepper:0.2, mask:0.5 (default gaussian:0.5; "
                        "with --image: none, the file itself is the noisy input)")
    add_n(p, 64, "images shown in the grids")
    p.add_argument("--n-eval", type=int, default=1000, help="held-out images measured")
    p.add_argument("--image", default=None, metavar="FILE", help="a PNG/JPEG to denoise (resized to the model's size)")
    add_output_folder(p, "RUN/denoise")
    p.set_defaults(func=run_denoise)

    p = sub.add_parser("compress", help="reconstruction error vs code size: PCA against autoencoders",
                       description="For each code size, the held-out reconstruction MSE of PCA and of each model "
                                   "trained with that code size; writes compress.md, compress.json, compress.png.")
    add_data(p, "mnist5k")
    p.add_argument("--codes", default=",".join(map(str, compress.DEFAULT_CODES)), help="code sizes, comma-separated")
    p.add_argument("--models", default=",".join(compress.DEFAULT_MODELS),
                   help="pca (scikit-learn) and registered models, comma-separated")
    p.add_argument("--epochs", type=int, default=compress.DEFAULT_EPOCHS, help="training epochs per model and size")
    p.add_argument("--batch-size", type=int, default=128)
    add_output_folder(p, "runs/compress")
    p.set_defaults(func=run_compress)

    p = sub.add_parser("anomaly", help="anomaly scores (reconstruction error or −ELBO), AUROC, hold-one-digit-out",
                       description="Score images by reconstruction error (−ELBO for VAEs). Either score with a "
                                   "trained RUN (--normal-classes or --holdout-digit give labels for AUROC), or "
                                   "train --model on every digit but --holdout-digit and score the test split, or "
                                   "run that protocol for every digit with --all-digits.")
    add_run(p, "a trained run folder (or use --model)", optional=True)
    p.add_argument("--model", default=None, help="train this model for the hold-one-digit-out protocol")
    add_data(p, help="data spec (default: the run's held-out split, or mnist5k)")
    p.add_argument("--normal-classes", default=None, metavar="C1,C2,...", help="labels that count as normal")
    p.add_argument("--holdout-digit", type=int, default=None, metavar="D", help="the anomalous class")
    p.add_argument("--all-digits", action="store_true", help="hold out each class in turn (with --model)")
    p.add_argument("--epochs", type=int, default=anomaly.DEFAULT_EPOCHS, help="training epochs (with --model)")
    p.add_argument("--batch-size", type=int, default=128)
    add_n(p, 32, "images in the most/least anomalous grids")
    add_output_folder(p, "RUN/anomaly, or runs/anomaly-MODEL-...")
    p.set_defaults(func=run_anomaly)

    p = sub.add_parser("features", help="linear probe on the codes vs pixels and PCA; 2-D map of the codes")
    add_run(p)
    add_data(p, help="labelled data spec (default: the run's data)")
    p.add_argument("--method", choices=("tsne", "pca"), default="tsne", help="2-D map of codes with more than 2 dims")
    p.add_argument("--limit", type=int, default=2000, help="images per split for the probe")
    add_n(p, 1000, "held-out images on the map")
    add_output_folder(p, "RUN/features")
    p.set_defaults(func=run_features)

    p = sub.add_parser("toy", help="small demonstrations (the autoencoder's manifold)")
    demos = p.add_subparsers(dest="demo", metavar="DEMO", required=True)
    m = demos.add_parser("manifold", help="1-D-code autoencoder on 2-D ellipse points; the plane pulled onto the curve")
    m.add_argument("--epochs", type=int, default=toy.DEFAULT_EPOCHS)
    m.add_argument("--points", type=int, default=1000, help="training points on the ellipse")
    m.add_argument("--grid", type=int, default=15, help="query points: a grid×grid lattice of the plane")
    add_output_folder(m, "runs/toy-manifold")
    m.set_defaults(func=run_toy_manifold)

    p = sub.add_parser("filters", help="first-layer filters and decoder atoms as an image grid")
    add_run(p)
    p.add_argument("--which", choices=("both", "encoder", "decoder"), default="both")
    add_n(p, 64, "filters shown per set")
    add_out(p, None, "PNG file (default RUN/filters.png; a .json goes beside it)")
    add_overwrite(p, "replace an existing --out file")
    p.set_defaults(func=run_filters)


def _wrote(out: Path, names: list[str]) -> None:
    print(f"wrote {out}/ ({', '.join(names)})")


def run_denoise(args) -> int:
    from ..apps.common import output_folder, run_data
    from ..apps.denoise import denoise_data, denoise_file, denoiser
    from ..data.corrupt import parse_noise

    positive(args.n, "--n")
    positive(args.n_eval, "--n-eval")
    noise = parse_noise(args.noise) if args.noise is not None else None   # a bad spec fails before loading
    model = load(args.run)
    denoiser(model)
    if args.image:
        out = output_folder(args.out, Path(args.run) / "denoise", args.overwrite)
        f = denoise_file(model, args.image, out, noise=noise, seed=args.seed)
        stem = Path(args.image).stem
        if noise is None:
            print(f"{args.image} taken as noisy: the model changed it by MSE {f['change_mse']:.5f} "
                  f"(PSNR {f['psnr_denoised_vs_input']:.2f} dB between input and output)")
        else:
            print(f"{args.image} + {f['noise']}: PSNR {f['noisy']['psnr']:.2f} → {f['denoised']['psnr']:.2f} dB, "
                  f"SSIM {f['noisy']['ssim']:.3f} → {f['denoised']['ssim']:.3f}")
        _wrote(out, [f"{stem}-pair.png", f"{stem}-denoised.png", f"{stem}-denoise.json"])
        return 0
    data = run_data(model, args.data)
    out = output_folder(args.out, Path(args.run) / "denoise", args.overwrite)
    f = denoise_data(model, data, noise or "gaussian:0.5", out, n_show=args.n, n_eval=args.n_eval, seed=args.seed)
    print(f"{f['noise']} on {f['n']} held-out images: PSNR {f['noisy']['psnr']:.2f} → {f['denoised']['psnr']:.2f} dB, "
          f"SSIM {f['noisy']['ssim']:.3f} → {f['denoised']['ssim']:.3f}")
    _wrote(out, ["noisy.png", "denoised.png", "clean.png", "comparison.png", "denoise.json"])
    return 0


def run_compress(args) -> int:
    from ..data import load_data
    from ..apps.common import output_folder, parse_ints
    from ..apps.compress import PCA, compress, figure, markdown_table
    from ..errors import ConfigError
    from ..io import atomic_write_bytes, write_json
    from ..registry import get
    from ..viz.plots import figure_to_png

    codes = parse_ints(args.codes, "--codes")
    models = [m.strip() for m in args.models.split(",") if m.strip()]
    if not models:
        raise ConfigError("--models needs at least one name, e.g. pca,ae,conv-ae")
    for name in models:
        if name != PCA:
            get(name)                                  # an unknown name fails before any training
    data, test = load_data(args.data, "train"), load_data(args.data, "test")
    out = output_folder(args.out, "runs/compress", args.overwrite)

    def show(r: dict) -> None:
        print(f"  {r['model']:>12s}  code {r['code']:4d}  MSE {r['mse']:.5f}  ({r['seconds']:.1f}s)", flush=True)

    result = compress(data, test, codes, models, epochs=args.epochs, batch_size=args.batch_size, seed=args.seed,
                      on_row=show)
    table = markdown_table(result)
    atomic_write_bytes(out / "compress.md", table.encode())
    write_json(out / "compress.json", result)
    figure_to_png(figure(result), out / "compress.png")
    print(table)
    _wrote(out, ["compress.md", "compress.json", "compress.png"])
    return 0


def run_anomaly(args) -> int:
    from ..data import load_data
    from ..apps import anomaly
    from ..apps.common import output_folder, parse_ints, run_data
    from ..errors import ConfigError
    from ..registry import get

    positive(args.n, "--n")
    normal = parse_ints(args.normal_classes, "--normal-classes")
    if normal is not None and args.holdout_digit is not None:
        raise ConfigError("give either --normal-classes or --holdout-digit, not both")
    if args.run and args.model:
        raise ConfigError("give a trained RUN or --model to train, not both")
    if args.run:
        if args.all_digits:
            raise ConfigError("--all-digits trains a fresh model per digit: use --model MODEL instead of a RUN")
        model = load(args.run)
        anomaly.score_kind(model)
        data = run_data(model, args.data)
        if args.holdout_digit is not None:
            anomaly.without_class(data, args.holdout_digit)          # labelled, and the digit occurs
            normal = [int(c) for c in data.y.unique().tolist() if c != args.holdout_digit]
        out = output_folder(args.out, Path(args.run) / "anomaly", args.overwrite)
        result = anomaly.score_data(model, data, normal, seed=args.seed)
        _report_scored(anomaly.write_scored(result, data, out, n_show=args.n))
        _wrote(out, ["most_anomalous.png", "least_anomalous.png", "scores.png", "anomaly.json"])
        return 0
    if not args.model:
        raise ConfigError("give a trained RUN to score, or --model MODEL with --holdout-digit D or --all-digits")
    get(args.model)
    if args.all_digits == (args.holdout_digit is not None):
        raise ConfigError("with --model, give exactly one of --holdout-digit D or --all-digits")
    if normal is not None:
        raise ConfigError("--normal-classes scores a trained RUN; with --model the held-out digit is the anomaly")
    positive(args.epochs, "--epochs")
    spec = args.data or "mnist5k"
    train, test = load_data(spec, "train"), load_data(spec, "test")
    if args.all_digits:
        if train.y is None or test.y is None:
            raise ConfigError(f"--all-digits needs labelled data; {spec} has no labels")
        out = output_folder(args.out, f"runs/anomaly-{args.model}-all-digits", args.overwrite)
        def show(r: dict) -> None:
            print(f"  digit {r['digit']}  AUROC {r['auroc']:.4f}  AUPRC {r['auprc']:.4f}  ({r['seconds']:.1f}s)",
                  flush=True)

        summary = anomaly.holdout_protocol(args.model, train, test, sorted(test.y.unique().tolist()),
                                           epochs=args.epochs, batch_size=args.batch_size, seed=args.seed,
                                           on_digit=show)
        anomaly.write_protocol(summary, out)
        print(f"{args.model}, {args.epochs} epochs: mean AUROC {summary['mean_auroc']:.4f}, worst "
              f"{summary['worst_auroc']:.4f} (digit {summary['worst_digit']})")
        _wrote(out, ["holdout.json", "holdout_auroc.png"])
        return 0
    anomaly.without_class(train, args.holdout_digit)                   # refuse before training
    out = output_folder(args.out, f"runs/anomaly-{args.model}-holdout-{args.holdout_digit}", args.overwrite)
    _, result = anomaly.holdout_digit(args.model, train, test, args.holdout_digit, epochs=args.epochs,
                                      batch_size=args.batch_size, seed=args.seed)
    _report_scored(anomaly.write_scored(result, test, out, n_show=args.n))
    _wrote(out, ["most_anomalous.png", "least_anomalous.png", "scores.png", "anomaly.json"])
    return 0


def _report_scored(f: dict) -> None:
    line = f"{f['model']}: {f['score']} scores of {f['n']} images (mean {f['score_mean']:.4g})"
    if "auroc" in f:
        line += f"; AUROC {f['auroc']:.4f}, AUPRC {f['auprc']:.4f} (normal classes {f['normal_classes']})"
    print(line)


def run_features(args) -> int:
    from ..apps.common import output_folder, run_data
    from ..apps.features import feature_report

    positive(args.n, "--n")
    model = load(args.run)
    model.require("encode", "features are the encoder's codes; use a model with an encoder (ae, conv-ae, vae, ...)")
    train, test = run_data(model, args.data, "train"), run_data(model, args.data, "test")
    out = output_folder(args.out, Path(args.run) / "features", args.overwrite)
    f = feature_report(model, train, test, out, method=args.method, limit=args.limit, n_map=args.n, seed=args.seed)
    acc = f["probe_accuracy"]
    print(f"linear probe accuracy: codes ({f['code_dim']}-D) {acc['codes']:.4f}, PCA ({f['code_dim']}-D) "
          f"{acc['pca']:.4f}, pixels ({f['pixel_dim']}-D) {acc['pixels']:.4f}")
    _wrote(out, ["features.md", "features.json", "code_map.png"])
    return 0


def run_toy_manifold(args) -> int:
    from ..apps.common import output_folder
    from ..apps.toy import manifold_demo, write_manifold

    out = output_folder(args.out, "runs/toy-manifold", args.overwrite)
    f = write_manifold(manifold_demo(epochs=args.epochs, n=args.points, grid=args.grid, seed=args.seed), out)
    print(f"mean distance to the ellipse of {f['grid_points']} points from all over the plane: "
          f"{f['grid_mean_distance_before']:.4f} → {f['grid_mean_distance_after']:.4f} after encode → decode")
    _wrote(out, ["manifold.png", "manifold.json"])
    return 0


def run_filters(args) -> int:
    from ..apps.common import output_file
    from ..apps.filters import write_filters

    positive(args.n, "--n")
    model = load(args.run)
    out = output_file(args.out, Path(args.run) / "filters.png", args.overwrite)
    f = write_filters(model, out, which=args.which, limit=args.n)
    for s in f["sets"]:
        print(f"{s['title']}: {'×'.join(map(str, s['shape']))}")
    print(f"wrote {out} and {out.with_suffix('.json')}")
    return 0
