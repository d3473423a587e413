"""`genlab diagnose` and `genlab experiment adam-vs-sgd`: GAN training health."""
from __future__ import annotations

import json
import sys

from .args import add_n, add_out, add_overwrite, add_run, add_seed


def add_parser(sub) -> None:
    from ..apps.experiments import ADAM_VS_SGD_BATCH, ADAM_VS_SGD_EPOCHS, ADAM_VS_SGD_WIDTH, DCGAN_LR

    p = sub.add_parser("diagnose", help="GAN run health: mode collapse, vanishing gradients, non-convergence",
                       description="Read a GAN run's metrics.csv, sample it now when a judge is cached, print "
                                   "D(x), D(G(z)), gradient norms, coverage, near-duplicates, the warnings and one "
                                   "verdict (mode collapse, vanishing gradients, non-convergence, too few epochs to "
                                   "judge, or healthy: the same rules and thresholds as the end of `genlab train` "
                                   "and the report); write diagnose.json, diagnose.png and samples/evolution.gif "
                                   "into the run.")
    add_run(p, "a GAN's run folder")
    add_n(p, 1000, "samples drawn now for coverage and near-duplicates (0: none)")
    add_seed(p)
    p.add_argument("--json", action="store_true", help="print one JSON object instead of the summary")
    p.set_defaults(func=run_diagnose)

    e = sub.add_parser("experiment", help="classic experiments as one command: adam-vs-sgd, pix2pix-losses, "
                                          "patch-size, sr-table")
    esub = e.add_subparsers(dest="experiment", metavar="EXPERIMENT")
    a = esub.add_parser("adam-vs-sgd", help="the same DCGAN with Adam, with SGD, and with WGAN-GP",
                        description="Train DCGAN on mnist5k with Adam and with SGD (lr 0.0002, as in Radford et al. "
                                    "2016) and with "
                                    "the WGAN-GP loss; write comparison.{json,md,html} with the coverage per epoch.")
    a.add_argument("--epochs", type=int, default=ADAM_VS_SGD_EPOCHS)
    add_out(a, "runs/adam-vs-sgd", "output folder (default runs/adam-vs-sgd)")
    a.add_argument("--n-train", type=int, default=None, help="train on this many digits (default: all 4,000)")
    a.add_argument("--width", type=int, default=ADAM_VS_SGD_WIDTH, help="DCGAN g_width and d_width")
    a.add_argument("--batch-size", type=int, default=ADAM_VS_SGD_BATCH)
    a.add_argument("--loss", default="nonsaturating", choices=("nonsaturating", "minimax"),
                   help="generator loss of the Adam and SGD runs")
    a.add_argument("--sgd-lr", type=float, default=DCGAN_LR, help="the SGD run's learning rate (default 0.0002)")
    a.add_argument("--n-eval", type=int, default=1000, help="samples for the final figures")
    add_seed(a)
    a.add_argument("--threads", type=int, default=1,
                   help="PyTorch threads (default 1: these small networks gain nothing from more; "
                        "0: PyTorch's default)")
    add_overwrite(a, "replace the runs of an earlier experiment in --out")
    a.add_argument("--progress", action="store_true", help="show the training progress bars")
    a.add_argument("--json", action="store_true", help="print the comparison as one JSON object")
    a.set_defaults(func=run_adam_vs_sgd)

    from ..apps.superres_table import SR_TABLE_DATA, SR_TABLE_EPOCHS

    r = esub.add_parser("sr-table", help="super-resolution: bicubic, nearest, SRResNet, SRGAN-MSE, SRGAN-features",
                        description="Train SRResNet, then SRGAN with the MSE content loss and with the feature-map "
                                    "content loss (both initialised from the SRResNet, as Ledig et al. 2017) on "
                                    "--task superres:F; score them and bicubic/nearest by PSNR, SSIM, sharpness and "
                                    "judge FID on held-out images (photos: the whole held-out photographs); write "
                                    "sr_table.{json,md,png} and print the table.")
    r.add_argument("--data", default="mnist5k", choices=SR_TABLE_DATA,
                   help="mnist5k (resized to 32×32) or photos (32×32 patches; scored on whole photographs)")
    r.add_argument("--scale", type=int, default=4, choices=(2, 4, 8), help="the super-resolution factor F")
    r.add_argument("--epochs", type=int, default=SR_TABLE_EPOCHS,
                   help=f"SRResNet's epochs (default {SR_TABLE_EPOCHS}); each SRGAN trains half as many")
    r.add_argument("--gan-epochs", type=int, default=None, help="each SRGAN's epochs (default: half of --epochs)")
    add_out(r, "runs/sr-table", "output folder (default runs/sr-table)")
    r.add_argument("--limit", type=int, default=None, help="train on this many images (evenly spread; default all)")
    r.add_argument("--n-eval", type=int, default=None,
                   help="held-out images for the held-out loss and the mnist5k scores (default all)")
    r.add_argument("--width", type=int, default=None, help="SRResNet width (default the model's, 32)")
    r.add_argument("--blocks", type=int, default=None, help="SRResNet residual blocks (default the model's, 6)")
    r.add_argument("--batch-size", type=int, default=None)
    r.add_argument("--feature-network", default="judge", choices=("judge", "inception"),
                   help="φ of SRGAN-features: the data's judge, or Inception-v3 (GENLAB_INCEPTION or --inception)")
    r.add_argument("--inception", default="", metavar="PATH", help="Inception-v3 .safetensors for --feature-network "
                                                                   "inception")
    add_seed(r)
    r.add_argument("--threads", type=int, default=1, help="PyTorch threads (default 1; 0: PyTorch's default)")
    add_overwrite(r, "replace the runs of an earlier sr-table in --out")
    r.add_argument("--progress", action="store_true", help="show the training progress bars")
    r.add_argument("--json", action="store_true", help="print the table as one JSON object")
    r.set_defaults(func=run_sr_table)
    for name, help_, desc in (
            ("pix2pix-losses", "pix2pix: ℓ1 alone vs cGAN alone vs ℓ1 + cGAN on the same task",
             "Train pix2pix three times on --data made into pairs by --task (ℓ1 alone: gan_loss=none; cGAN alone: "
             "recon_weight=0; ℓ1 + cGAN: λ = 100) and compare them on held-out pairs: PSNR, SSIM, sharpness, judge "
             "FID and the share judged as the source digit; writes pix2pix_losses.{json,md,png} (Isola et al. 2017)."),
            ("patch-size", "pix2pix: the PatchGAN discriminator's receptive field, 1/16/70/286 side by side",
             "Train pix2pix once per discriminator patch size (--patches; 1 is the PixelGAN) on the same pairs and "
             "compare them; on images smaller than a patch D sees the whole image, so pass --image-size to tell "
             "the larger patches apart; writes patch_size.{json,md,png} (Isola et al. 2017).")):
        x = esub.add_parser(name, help=help_, description=desc)
        x.add_argument("--data", default="mnist5k", help="data spec (default mnist5k)")
        x.add_argument("--task", default="edges", help="the paired task (default edges: Canny edges → image)")
        x.add_argument("--image-size", type=int, default=None, help="resize the images to N×N first")
        x.add_argument("--epochs", type=int, default=None, help="epochs per run (default: pix2pix's training length)")
        if name == "patch-size":
            x.add_argument("--patches", default="1,16,70,286", help="patch sizes, comma-separated (1, 16, 34, 70, "
                                                                    "142, 286)")
        x.add_argument("--n-eval", type=int, default=500, help="held-out pairs scored")
        x.add_argument("--limit", type=int, default=None, help="train on this many pairs (evenly spread; default all)")
        x.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                       help="a pix2pix config value every variant shares (e.g. width=16), repeatable")
        add_out(x, f"runs/{name}", f"output folder (default runs/{name})")
        add_seed(x)
        add_overwrite(x, "replace the runs of an earlier experiment in --out")
        x.set_defaults(func=run_pix2pix_experiment, experiment_name=name)
    e.set_defaults(func=lambda args: _no_experiment(e))


def _no_experiment(parser) -> int:
    parser.print_help(sys.stderr)
    return 2


def _note(message: str) -> None:
    # progress goes to stderr so that --json keeps stdout to one JSON object
    print(message, file=sys.stderr, flush=True)


def run_diagnose(args) -> int:
    from ..apps.diagnose import diagnose, format_summary
    from ..errors import ConfigError

    if args.n < 0:
        raise ConfigError(f"--n must be 0 or more, got {args.n}")
    result = diagnose(args.run, n=args.n, seed=args.seed, log=_note)
    print(json.dumps(result) if args.json else format_summary(result))
    return 0


def run_adam_vs_sgd(args) -> int:
    from ..apps.experiments import adam_vs_sgd

    result = adam_vs_sgd(args.out, epochs=args.epochs, n_train=args.n_train, width=args.width,
                         batch_size=args.batch_size, loss=args.loss, sgd_lr=args.sgd_lr, n_eval=args.n_eval,
                         seed=args.seed, threads=args.threads, overwrite=args.overwrite, progress=args.progress,
                         log=_note)
    if args.json:
        print(json.dumps(result))
    else:
        print("\n".join(result["summary"]))
        print(f"comparison: {result['files']['md']} and {result['files']['html']}")
    return 0


def run_sr_table(args) -> int:
    from ..apps.superres_table import sr_table

    table = sr_table(args.out, data=args.data, scale=args.scale, epochs=args.epochs, gan_epochs=args.gan_epochs,
                     limit=args.limit, n_eval=args.n_eval, width=args.width, blocks=args.blocks,
                     batch_size=args.batch_size, feature_network=args.feature_network,
                     inception_path=args.inception, seed=args.seed, threads=args.threads, overwrite=args.overwrite,
                     progress=args.progress, log=_note)
    if args.json:
        print(json.dumps(table))
    else:
        print(table["markdown"], end="")
        print(f"files: {table['files']['md']}, {table['files']['json']}, {table['files']['png']}")
    return 0


def run_pix2pix_experiment(args) -> int:
    from ..apps import pix2pix_experiments as px
    from ..errors import ConfigError

    from ..models.base import parse_overrides
    from ..registry import get

    config = parse_overrides(get("pix2pix").config_class, args.overrides)
    common = dict(out=args.out, data=args.data, task=args.task, image_size=args.image_size, epochs=args.epochs,
                  seed=args.seed or 0, n_eval=args.n_eval, limit=args.limit, config=config, overwrite=args.overwrite,
                  log=_note)
    if args.experiment_name == "patch-size":
        try:
            patches = tuple(int(p) for p in args.patches.split(",") if p.strip())
        except ValueError:
            raise ConfigError(f"--patches takes whole numbers, comma-separated (e.g. 1,16,70,286), not {args.patches!r}")
        result = px.patch_size(patches=patches, **common)
    else:
        result = px.pix2pix_losses(**common)
    print(px.markdown(result), end="")
    return 0
