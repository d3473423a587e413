"""`genlab train` and `genlab demo`."""
from __future__ import annotations

import contextlib
from pathlib import Path

from .args import add_data, add_out, add_overwrite, add_seed, add_task


EPOCHS_HELP = ("epochs in total (default: as many as give about the optimiser steps the model's default took on "
               "mnist5k's 4,000 training images, so a small folder gets more epochs and a larger set fewer, at least "
               "one; a shorter run warns; on --resume the run's own; see docs/training.md)")
BATCH_HELP = ("images per optimiser step (default: the model's, 128 for most, capped at 1/8 of the data and "
              "never below 16, so that an epoch is several steps)")


def add_engine_options(p, epochs_help: str = EPOCHS_HELP, batch_help: str = BATCH_HELP) -> None:
    g = p.add_argument_group("engine")
    g.add_argument("--epochs", type=int, default=None, help=epochs_help)
    g.add_argument("--batch-size", type=int, default=None, help=batch_help)
    g.add_argument("--lr", type=float, default=None,
                   help="learning rate (default: the model config's; may change on --resume)")
    add_seed(g, None, "random seed (default 0; on --resume the run's)")
    g.add_argument("--accelerator", default="auto", help="cpu, gpu, mps or auto")
    g.add_argument("--devices", default="1", help="number of devices (e.g. 2 with --strategy ddp)")
    g.add_argument("--num-nodes", type=int, default=1)
    g.add_argument("--strategy", default="auto", help="auto, ddp, ddp_spawn, ...")
    g.add_argument("--precision", default="32-true", help="32-true, 16-mixed, bf16-mixed, 64-true")
    g.add_argument("--no-progress", action="store_true",
                   help="print no progress (by default a bar on a terminal, one line per epoch otherwise)")


def add_parser(sub) -> None:
    p = sub.add_parser("train", help="train a model and write a run folder",
                       description="Train MODEL on --data and write runs/NAME/{config.json, model.safetensors, "
                                   "checkpoint.safetensors, metrics.csv, samples/, report.html}. Ctrl-C stops "
                                   "after saving the last finished epoch; --resume RUN continues it.")
    p.add_argument("model", nargs="?", help="registered model name (see `genlab models`)")
    add_data(p, None, "data spec (see `genlab datasets`; default mnist5k)")
    p.add_argument("--image-size", type=int, default=None, help="resize images to N×N")
    p.add_argument("--channels", type=int, default=None, choices=(1, 3), help="convert images to 1 or 3 channels")
    add_task(p)
    p.add_argument("--binarize", default=None, metavar="T|dynamic",
                   help="binary pixels from grey images: a threshold T in (0, 1) (x = x > T), or dynamic (every "
                        "training batch drawn afresh, x ~ Bernoulli(grey); the held-out split drawn once); "
                        "stored in the run's config.json")
    add_out(p, None, "run folder (default runs/MODEL)")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="model config value, repeatable (see `genlab models --config MODEL`); on --resume only "
                        "the optimiser's keys may change (lr, lr_d, encoder_lr, beta1, beta2, weight_decay)")
    add_overwrite(p, "replace an existing run folder")
    p.add_argument("--resume", metavar="RUN", default=None,
                   help="continue RUN from its checkpoint up to --epochs in total (its model, data and config stay)")
    p.add_argument("--early-stop", type=int, default=None, metavar="PATIENCE",
                   help="stop when the held-out loss has not improved for PATIENCE epochs and keep the best "
                        "epoch's weights as model.safetensors (single-loss models: autoencoders, VAEs, ...)")
    p.add_argument("--no-report", action="store_true", help="skip writing report.html")
    p.add_argument("--no-diagnostics", action="store_true",
                   help="GANs: skip the per-epoch coverage/duplicate measurements and collapse warnings")
    add_engine_options(p)
    p.set_defaults(func=run_train)

    d = sub.add_parser("demo", help="train a convolutional VAE on mnist5k and write runs/demo/report.html")
    add_out(d, None, "run folder (default runs/demo, or runs/demo-N if that exists)")
    add_overwrite(d, "replace an existing --out folder")
    add_engine_options(d, f"epochs (default {DEMO_EPOCHS})", f"images per optimiser step (default {DEMO_BATCH})")
    d.set_defaults(func=run_demo, batch_size=None)


def engine_kwargs(args) -> dict:
    devices = int(args.devices) if str(args.devices).isdigit() else args.devices
    seed = {} if args.seed is None else {"seed": args.seed}
    return dict(**seed, accelerator=args.accelerator, devices=devices, num_nodes=args.num_nodes,
                strategy=args.strategy, precision=args.precision, progress=not args.no_progress)


def run_train(args) -> int:
    from ..errors import ConfigError
    from ..models.base import parse_overrides
    from ..registry import get
    from ..train import is_rank_zero

    with _report_on_interrupt(not args.no_report):
        if args.resume:
            result = _resume(args)
        else:
            if not args.model:
                raise ConfigError("name a model to train (e.g. `genlab train vae`) or pass --resume RUN; "
                                  "see `genlab models`")
            result = _train_new(args, parse_overrides(get(args.model).config_class, args.overrides))
    if not is_rank_zero():
        return 0
    _finish(result, write_report=not args.no_report)
    return 0


def _train_new(args, overrides: dict):
    from ..data import load_spec, parse_binarize
    from ..runs import create
    from ..train import train

    spec = args.data or "mnist5k"
    data_info = {"spec": spec, "image_size": args.image_size, "channels": args.channels}
    if args.task:
        data_info["task"] = args.task
    binarize = parse_binarize(args.binarize)   # checked before any data loads
    if binarize is not None:
        data_info["binarize"] = binarize
    data, val = load_spec(data_info, "train"), load_spec(data_info, "test")
    model = create(args.model, data=data, seed=args.seed or 0, **overrides)   # seeded weights: reproducible
    out = Path(args.out or f"runs/{args.model}")
    return train(model, data, epochs=args.epochs, batch_size=args.batch_size, out=out, val_data=val, lr=args.lr,
                 overwrite=args.overwrite, data_info=data_info, diagnostics=not args.no_diagnostics,
                 early_stop=args.early_stop, **engine_kwargs(args))


def _resume(args):
    from ..errors import ConfigError
    from ..models.base import parse_overrides
    from ..registry import get
    from ..runs import read_config
    from ..train import resume

    run = Path(args.resume)
    if args.overwrite:
        raise ConfigError(f"--resume continues {run} and --overwrite would replace it: pass one of them")
    if args.out and Path(args.out).resolve() != run.resolve():
        raise ConfigError(f"--resume writes into the run folder itself ({run}); drop --out {args.out}")
    info = read_config(run)
    config = parse_overrides(get(info["model"]).config_class, args.overrides) if args.overrides else None
    kwargs = {} if args.early_stop is None else {"early_stop": args.early_stop}
    return resume(run, epochs=args.epochs, model=args.model, config=config, data_spec=args.data,
                  image_size=args.image_size, channels=args.channels, task=args.task, binarize=args.binarize,
                  batch_size=args.batch_size, lr=args.lr,
                  diagnostics=not args.no_diagnostics, **kwargs, **engine_kwargs(args))


def _report(run_dir, model=None) -> None:
    from ..apps.report import build_report

    print(f"report: {build_report(run_dir, model=model)}")


@contextlib.contextmanager
def _report_on_interrupt(enabled: bool = True):
    """On Ctrl-C (genlab's Interrupted), the report of the epochs that finished, then the error."""
    from ..errors import Interrupted
    from ..train import is_rank_zero

    try:
        yield
    except Interrupted as exc:
        if enabled and exc.run_dir is not None and exc.epochs_done > 0 and is_rank_zero():
            _report(exc.run_dir)
        raise


def finish_line(result) -> str:
    """``trained 30 epochs in 89.9 s (1,340 images/s): loss 155.1, held-out loss 163.3``: the losses
    only (held-out ones too); every other figure is in metrics.csv and the report."""
    from ..train.names import display, fmt

    m = result.metrics
    train_losses = {k: v for k, v in m.items() if k.startswith("train/") and k.endswith("loss_epoch")}
    held_out = {k: v for k, v in m.items() if k == "val/loss"} or \
        {k: v for k, v in m.items() if k.startswith("val/") and k.endswith("loss") and len(train_losses) <= 2}
    figures = ", ".join(f"{display(k).label} {fmt(v)}" for k, v in [*sorted(train_losses.items()),
                                                                       *sorted(held_out.items())])
    n = max(0, result.last_epoch - result.first_epoch + 1)
    what = f"{n} epoch{'s' if n != 1 else ''}"
    if result.first_epoch > 1:
        what = f"epochs {result.first_epoch}-{result.last_epoch} of {result.epochs}" if n > 1 else \
            f"epoch {result.last_epoch} of {result.epochs}"
    seconds = f"{result.seconds:.1f}" if result.seconds >= 0.05 else f"{result.seconds:.2f}"
    return (f"trained {what} in {seconds} s ({result.images_per_second:,.0f} images/s)"
            + (f": {figures}" if figures else ""))


def _finish(result, write_report: bool = True) -> None:
    print(finish_line(result))
    if result.stopped_early_at is not None:
        print(f"early stopping: the held-out loss stopped improving, training stopped after epoch "
              f"{result.stopped_early_at}; model.safetensors holds the weights of epoch {result.best_epoch}, "
              "the lowest held-out loss (checkpoint.safetensors the last epoch's, for --resume)")
    elif result.best_epoch is not None:
        print(f"early stopping did not trigger; model.safetensors holds the weights of epoch {result.best_epoch}, "
              "the lowest held-out loss")
    if result.run_dir is not None:
        from ..train.diagnostics import run_verdict

        verdict = run_verdict(result.run_dir)   # the rule `genlab diagnose` and the report apply
        if verdict is not None:
            print(verdict.line())
    print(f"run folder: {result.run_dir} (every figure, per epoch: metrics.csv; plotted: the report)")
    if write_report:
        _report(result.run_dir, model=result.model)


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
    from ..train import is_rank_zero

    with _report_on_interrupt():
        result = train(model, data, epochs=args.epochs or DEMO_EPOCHS, batch_size=args.batch_size or DEMO_BATCH,
                       out=out, val_data=val, lr=args.lr, data_info={"spec": "mnist5k"},
                       overwrite=args.overwrite, **engine_kwargs(args))

    if is_rank_zero():
        _finish(result)
        print(f"explore it with the mouse: genlab serve {result.run_dir}   (the latent map, sliders, drawing)")
    return 0
