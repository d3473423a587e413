"""`genlab train` and `genlab demo`."""
from __future__ import annotations

from pathlib import Path

from .args import add_data, add_out, add_overwrite, add_seed


def add_engine_options(p) -> None:
    g = p.add_argument_group("engine")
    g.add_argument("--epochs", type=int, default=None, help="epochs in total (default: the model's, or 10)")
    g.add_argument("--batch-size", type=int, default=None, help="default: the model's (128 for most)")
    g.add_argument("--lr", type=float, default=None, help="learning rate (default: the model config's)")
    add_seed(g, None, "random seed (default 0; on --resume the run's)")
    g.add_argument("--accelerator", default="auto", help="cpu, gpu, mps or auto")
    g.add_argument("--devices", default="1", help="number of devices (e.g. 2 with --strategy ddp)")
    g.add_argument("--num-nodes", type=int, default=1)
    g.add_argument("--strategy", default="auto", help="auto, ddp, ddp_spawn, ...")
    g.add_argument("--precision", default="32-true", help="32-true, 16-mixed, bf16-mixed, 64-true")
    g.add_argument("--no-progress", action="store_true", help="hide the progress bar")


def add_parser(sub) -> None:
    p = sub.add_parser("train", help="train a model and write a run folder",
                       description="Train MODEL on --data and write runs/NAME/{config.json, model.safetensors, "
                                   "checkpoint.safetensors, metrics.csv, samples/, report.html}.")
    p.add_argument("model", nargs="?", help="registered model name (see `genlab models`)")
    add_data(p, "mnist5k")
    p.add_argument("--image-size", type=int, default=None, help="resize images to N×N")
    p.add_argument("--channels", type=int, default=None, choices=(1, 3), help="convert images to 1 or 3 channels")
    add_out(p, None, "run folder (default runs/MODEL)")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="model config value, repeatable (see `genlab models --config MODEL`)")
    add_overwrite(p, "replace an existing run folder")
    p.add_argument("--resume", metavar="RUN", default=None, help="continue RUN from its checkpoint")
    p.add_argument("--no-report", action="store_true", help="skip writing report.html")
    p.add_argument("--no-diagnostics", action="store_true",
                   help="GANs: skip the per-epoch coverage/duplicate measurements and collapse warnings")
    add_engine_options(p)
    p.set_defaults(func=run_train)

    d = sub.add_parser("demo", help="train a convolutional VAE on mnist5k and write runs/demo/report.html")
    add_out(d, None, "run folder (default runs/demo, or runs/demo-N if that exists)")
    add_overwrite(d, "replace an existing --out folder")
    add_engine_options(d)
    d.set_defaults(func=run_demo, batch_size=None)


def engine_kwargs(args) -> dict:
    devices = int(args.devices) if str(args.devices).isdigit() else args.devices
    seed = {} if args.seed is None else {"seed": args.seed}
    return dict(**seed, accelerator=args.accelerator, devices=devices, num_nodes=args.num_nodes,
                strategy=args.strategy, precision=args.precision, progress=not args.no_progress)


def run_train(args) -> int:
    from ..data import load_data
    from ..runs import create
    from ..train import resume, train
    from ..errors import ConfigError
    from ..models.base import parse_overrides
    from ..registry import get

    if args.resume:
        result = resume(args.resume, epochs=args.epochs, diagnostics=not args.no_diagnostics,
                               **engine_kwargs(args))
    else:
        if not args.model:
            raise ConfigError("name a model to train (e.g. `genlab train vae`) or pass --resume RUN; see `genlab models`")
        entry = get(args.model)
        overrides = parse_overrides(entry.config_class, args.overrides)
        data = load_data(args.data, "train", image_size=args.image_size, channels=args.channels)
        val = load_data(args.data, "test", image_size=args.image_size, channels=args.channels)
        model = create(args.model, data=data, seed=args.seed or 0, **overrides)   # seeded weights: reproducible
        out = Path(args.out or f"runs/{args.model}")
        data_info = {"spec": args.data, "image_size": args.image_size, "channels": args.channels}
        result = train(model, data, epochs=args.epochs or model.default_epochs, batch_size=args.batch_size, out=out,
                              val_data=val, lr=args.lr, overwrite=args.overwrite, data_info=data_info,
                              diagnostics=not args.no_diagnostics, **engine_kwargs(args))
    from ..train import is_rank_zero

    if not is_rank_zero():
        return 0
    _finish(result, write_report=not args.no_report)
    return 0


def _finish(result, write_report: bool = True) -> None:
    shown = {k.removeprefix("train/").removesuffix("_epoch"): v for k, v in result.metrics.items()
             if k.endswith("_epoch") or k.startswith("val/")}
    figures = ", ".join(f"{k} {v:.4g}" for k, v in sorted(shown.items()))
    print(f"trained in {result.seconds:.1f}s ({result.images_per_second:.0f} images/s); {figures}")
    print(f"run folder: {result.run_dir}")
    if write_report:
        from ..apps.report import build_report

        print(f"report: {build_report(result.run_dir, model=result.model)}")


def _free_name(base: Path) -> Path:
    if not base.exists():
        return base
    n = 1
    while Path(f"{base}-{n}").exists():
        n += 1
    return Path(f"{base}-{n}")


DEMO_EPOCHS, DEMO_BATCH = 30, 64


def run_demo(args) -> int:
    from ..data import load_data
    from ..runs import create
    from ..train import train

    out = Path(args.out) if args.out else _free_name(Path("runs/demo"))
    data = load_data("mnist5k", "train")
    val = load_data("mnist5k", "test")
    # KL warm-up: without it a 2-D latent sometimes collapsed in the first epochs (−ELBO 196 against 160)
    model = create("vae", data=data, seed=args.seed or 0, latent_dim=2, kl_warmup_epochs=5)
    print(f"demo: training a convolutional VAE (latent 2) on mnist5k ({len(data)} train / {len(val)} held-out digits)")
    result = train(model, data, epochs=args.epochs or DEMO_EPOCHS, batch_size=args.batch_size or DEMO_BATCH,
                          out=out,
                          val_data=val, lr=args.lr, data_info={"spec": "mnist5k"}, overwrite=args.overwrite,
                          **engine_kwargs(args))
    from ..train import is_rank_zero

    if is_rank_zero():
        _finish(result)
    return 0
