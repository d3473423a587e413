"""Report section of every GAN: the game's curves, coverage per epoch, the warnings raised, and the
fixed-noise grid's evolution (an animated GIF in the run folder and a strip of chosen epochs)."""
from __future__ import annotations

from pathlib import Path

from ... import runs
from ...models.gan import GAN
from ...models.gan.game import PROBABILITY_LOSSES
from . import section

MAX_EMBEDDED_GIF = 4 * 2 ** 20          # bytes


# by class, so every GAN registered later gets it too; the names keep the section attached to
# them even if one of them stops deriving from GAN
@section("GAN training", classes=(GAN,), models=("gan", "dcgan", "cgan", "acgan", "infogan"))
def gan_training(report, model, data, run_dir) -> None:
    from ...io import read_json
    from ...train.diagnostics import judge_history, read_history, run_num_classes, run_thresholds
    from ..diagnose import diagnostics_figure, epoch_strip, evolution_gif

    run_dir = Path(run_dir)
    metrics = run_dir / runs.METRICS
    history = read_history(metrics) if metrics.is_file() else []
    loss = getattr(model.config, "loss", "")
    recorded = read_json(run_dir / "diagnostics.json") if (run_dir / "diagnostics.json").is_file() else {}
    if history:
        info = getattr(model, "run_info", None) or {}
        num_classes = run_num_classes(run_dir, info) or model.config.num_classes or None
        thresholds = run_thresholds(run_dir)
        # the same verdict and warnings as `genlab diagnose` and the end of `genlab train`
        verdict = judge_history(history, loss, num_classes, thresholds)
        scores = ("probabilities that an image is real" if loss in PROBABILITY_LOSSES
                  else "raw critic scores (not probabilities)")
        how = ""
        if recorded:
            how = (f" Coverage and near-duplicates: {recorded.get('n')} samples drawn under a fixed seed after "
                   "every epoch, classified by the judge"
                   + ("" if recorded.get("judge") else " (none was cached, so classes were not counted)")
                   + "; a near-duplicate lies closer (in pixels) to another sample than 99% of real images do "
                   "to their nearest real neighbour.")
        report.section("GAN training", f"The adversarial game epoch by epoch (loss {loss}): D and G losses; D(x) "
                       f"and D(G(z)), {scores}; each player's gradient norm; the classes the judge finds among "
                       "the samples (mode collapse shows as few classes), the share of near-duplicate samples and "
                       "the class histogram's KL divergence to uniform." + how
                       + " `genlab diagnose RUN` samples the model again and gives the same verdict.")
        report.image(diagnostics_figure(history, verdict.found, num_classes=num_classes, thresholds=thresholds))
        report.text(verdict.line()[0].upper() + verdict.line()[1:] + ".")
        if verdict.found:
            report.text(f"Warnings ({len(verdict.found)}):")
            report.table([{"epoch": w["epoch"], "kind": w["kind"].replace("_", " "), "message": w["message"]}
                          for w in verdict.found])
        else:
            report.text("No warnings: the coverage, near-duplicates and gradients stayed within the warning "
                        "levels at every epoch.")

    gif, strip = evolution_gif(run_dir), epoch_strip(run_dir)
    if strip is not None:
        where = gif.relative_to(run_dir) if gif else "samples/evolution.gif"
        report.section("Evolution of the fixed-noise samples",
                       "The same 64 noise vectors decoded after chosen epochs (1, 2, 3, 10 and 100 where the run "
                       f"has them, and the last), then every epoch as an animation (also saved as {where}).")
        report.image(strip)
        # a long run's animation can weigh megabytes: embed it only while the report stays light
        if gif is not None and gif.stat().st_size <= MAX_EMBEDDED_GIF:
            report.animation(gif, caption="The fixed-noise grid, epoch by epoch.")
