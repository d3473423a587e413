"""Report sections of unpaired (CycleGAN) and multi-domain (StarGAN) translation.

    CycleGAN (Zhu et al. 2017)   G: A → B, F: B → A. Held-out a ↦ G(a) ↦ F(G(a)) and b ↦ F(b) ↦ G(F(b)).
        cycle error     e_A = mean |F(G(a)) − a|,  e_B = mean |G(F(b)) − b|
        identity error  i_G = mean |G(b) − b|,     i_F = mean |F(a) − a|
    The identity error is how much a generator changes an image already of its target domain: the
    paper adds ‖G(b) − b‖₁ + ‖F(a) − a‖₁ to the loss to keep colours (§5.2), so on grey ↔ colour
    photographs it measures the colour drift.

    StarGAN (Choi et al. 2018)   one G(x, c): held-out x (with its own attributes c′) ↦ G(x, c_k) for
    each target attribute k (c_k = c′ with k's exclusive group set to k) ↦ back G(G(x, c_k), c′).
        cycle error     e_k = mean |G(G(x, c_k), c′) − x|

All errors are means over pixels and images in [0, 1] units (0: the round trip or the identity
is perfect). "Adversarial losses" adds the game's terms from metrics.csv (neither model is a GAN
of the sampling kind, so the GAN diagnostics do not apply).
"""
from __future__ import annotations

from pathlib import Path

import torch
from torch import Tensor

from ... import runs
from ...data import ImageData
from ...data.batches import batched
from ...models.cyclegan import CycleGAN
from ...models.stargan import StarGAN
from ..common import frozen
from ..needs import Need
from ..unpaired import (
    attribute_names,
    cycle_error,
    domain_names,
    translate_attributes,
    translate_domains,
)
from . import TRAINING_CURVES, section

SHOWN = 8        # held-out images per grid row
SCORED = 500     # held-out images per domain (cyclegan) or per target attribute (stargan) the errors are taken over


# ------------------------------------------------------------------------------------------ needs

def _data_domains(data) -> list[str]:
    return [str(d) for d in (data.meta.get("domains") or [])]


def _domains_fit(model, data) -> bool:
    if data is None or data.domain is None:
        return False
    have = _data_domains(data)
    return not have or set(have) <= set(domain_names(model))


def _domains_why(model, data) -> str:
    if data is None or data.domain is None:
        return "needs held-out images that carry their domain (domains:SPEC_A,SPEC_B data, digits2mnist, grey2colour)"
    return (f"needs held-out images of the run's domains ({', '.join(domain_names(model))}); the data's are "
            f"{', '.join(_data_domains(data))}")


def _attributes_fit(model, data) -> bool:
    if data is None or data.attributes is None:
        return False
    have = [str(a) for a in (data.meta.get("attributes") or [])]
    return (not have or have == attribute_names(model)) and data.attributes.shape[-1] == model.label_space.size


def _attributes_why(model, data) -> str:
    if data is None or data.attributes is None:
        return "needs held-out images that carry their attributes (attributes:SPEC data)"
    return (f"needs held-out images with the run's attributes ({', '.join(attribute_names(model))}); the data's "
            f"are {', '.join(str(a) for a in data.meta.get('attributes') or [])}")


DOMAINS = Need("held-out images with the run's domains", _domains_fit, _domains_why)
ATTRIBUTES = Need("held-out images with the run's attributes", _attributes_fit, _attributes_why)


# ------------------------------------------------------------------------------------------ cyclegan

def domains_of(model, data: ImageData) -> Tensor:
    """Each held-out image's domain as the model's index (0 = A, 1 = B), by name when the data names them."""
    have = _data_domains(data)
    if not have:
        return data.domain.long()
    names = domain_names(model)
    return torch.tensor([names.index(d) for d in have])[data.domain.long()]


@torch.no_grad()
def identity_error(model, x: Tensor, target: int, batch_size: int = 64) -> float:
    """mean |T(x) − x| for images ``x`` already of domain ``target``, T its generator (G for B, F for A)."""
    if not len(x):
        return float("nan")
    with frozen(model):
        same = batched(lambda im: model.translate(im, target).float().clamp(0, 1), x, batch_size, model.device)
    return float((same - x.float()).abs().mean())


def domain_round_trips(model, data: ImageData, n: int = SHOWN, n_eval: int = SCORED) -> list[dict]:
    """For each domain with held-out images, A then B: up to ``n_eval`` spread images x of it, their
    translations and round trips, the cycle error mean |back − x|, the identity error of the
    generator into this domain's partner applied to the partner's images, and which ``n`` to show.
    Each entry: source, target, n, x, translated, back, shown, cycle_error, identity_error,
    identity_generator, identity_n."""
    names, index = domain_names(model), domains_of(model, data)
    pools = {k: data.subset((index == k).nonzero().flatten()).spread(n_eval) for k in (0, 1)}
    out = []
    for source in (0, 1):
        x = pools[source].x
        if not len(x):
            continue          # held-out images of one domain only: that round trip has nothing to show
        target = 1 - source
        translated, back = translate_domains(model, x, names[target])
        # the generator used on this row (source → target) keeps images of its target domain?
        partner = pools[target].x
        out.append({"source": names[source], "target": names[target], "n": len(x), "x": x,
                    "translated": translated, "back": back,
                    "shown": torch.linspace(0, len(x) - 1, min(n, len(x))).long(),
                    "cycle_error": cycle_error(x, back),
                    "identity_generator": "G" if target == 1 else "F",
                    "identity_error": identity_error(model, partner, target), "identity_n": len(partner)})
    return out


@section("Unpaired translation", needs=("translate", "data", DOMAINS), models=("cyclegan",), classes=(CycleGAN,),
         label_space="domains")
def unpaired_translation(report, model, data, run_dir) -> None:
    from ...data.tasks import same_channels
    from ...train.names import fmt
    from ...viz.grids import labelled_rows

    trips = domain_round_trips(model, data)
    if not trips:
        return
    a, b = domain_names(model)
    report.section("Unpaired translation", f"Held-out images of each domain (top row of each grid), translated "
                   f"to the other domain by G: {a} → {b} or F: {b} → {a} (middle), and translated back (bottom): "
                   "with cycle consistency the bottom row repeats the top one.")
    for trip in trips:
        s, t, shown = trip["source"], trip["target"], trip["shown"]
        rows = same_channels(trip["x"][shown], trip["translated"][shown], trip["back"][shown])
        report.image(labelled_rows(rows, [s, f"→ {t}", f"→ {s} (back)"], min_cell=40),
                     caption=f"{s} → {t} → {s}: {len(shown)} held-out images of {s}.")
    if len(trips) < 2:
        have = trips[0]["source"]
        report.text(f"The held-out images hold {have} only, so the other round trip is not shown.")
    rows = []
    for trip in trips:
        s, t, gen = trip["source"], trip["target"], trip["identity_generator"]
        rows.append({"round trip": f"{s} → {t} → {s}", "images": trip["n"],
                     "cycle error": fmt(trip["cycle_error"], ".4f"),
                     "identity of": f"{gen}: {s} → {t} on {trip['identity_n']} images of {t}",
                     "identity error": fmt(trip["identity_error"], ".4f")})
    report.text("Cycle error: mean |back − x| over pixels and held-out images (0 = a perfect round trip). Identity "
                "error: mean |G(b) − b| or |F(a) − a|, how much a generator changes an image already of its target "
                "domain; the identity term of the loss (identity_weight) keeps it small, and on grey ↔ colour "
                "photographs it measures the colour drift. Values in [0, 1] pixel units.")
    report.table(rows)


# ------------------------------------------------------------------------------------------ stargan

def attribute_round_trips(model, data: ImageData, n: int = SHOWN, n_eval: int = SCORED) -> dict:
    """Up to ``n_eval`` spread held-out images x with their own attributes c′, translated to each
    target attribute k in turn (k's exclusive group set to k, the other groups kept) and back to c′.
    Returns x, shown (the ``n`` indices drawn), and per target: name, translated, back,
    cycle_error (mean |back − x|), already (share of images that have k), reached (share of
    translations that the model's own classifier D_cls reads as having k; None without one)."""
    picked = data.spread(n_eval)
    x, own = picked.x, picked.attributes.float()
    read = getattr(model, "read_attributes", None)
    targets = []
    for k, name in enumerate(attribute_names(model)):
        translated, back = translate_attributes(model, x, [name], own)
        reached = None
        if callable(read):
            with frozen(model):
                seen = batched(lambda im: read(im).float(), translated, 64, model.device)
            reached = float((seen[:, k] > 0.5).float().mean())
        targets.append({"name": name, "translated": translated, "back": back, "cycle_error": cycle_error(x, back),
                        "already": float((own[:, k] > 0.5).float().mean()), "reached": reached})
    return {"x": x, "n": len(x), "shown": torch.linspace(0, len(x) - 1, min(n, len(x))).long(), "targets": targets}


@section("Multi-domain translation", needs=("translate", "data", ATTRIBUTES), models=("stargan",),
         classes=(StarGAN,), label_space="attributes")
def multi_domain_translation(report, model, data, run_dir) -> None:
    from ...data.tasks import same_channels
    from ...train.names import fmt
    from ...viz.grids import labelled_rows

    if len(data) == 0:
        return
    trips = attribute_round_trips(model, data)
    shown, targets = trips["shown"], trips["targets"]
    report.section("Multi-domain translation", f"{len(shown)} held-out images (top row) translated by the one "
                   "generator G(x, c) to each target attribute in turn (one row per target: its exclusive group "
                   "set to it, the other groups kept as the image's own); an image that already has the "
                   "attribute should come back unchanged.")
    rows = same_channels(trips["x"][shown], *(t["translated"][shown] for t in targets))
    report.image(labelled_rows(rows, ["input", *(f"→ {t['name']}" for t in targets)], min_cell=40))
    table = [{"target": f"→ {t['name']}", "images": trips["n"], "already had it": fmt(t["already"], ".1%"),
              "D_cls reads it after": "n/a" if t["reached"] is None else fmt(t["reached"], ".1%"),
              "cycle error": fmt(t["cycle_error"], ".4f")} for t in targets]
    mean = sum(t["cycle_error"] for t in targets) / len(targets)
    table.append({"target": "all", "images": trips["n"] * len(targets), "cycle error": fmt(mean, ".4f")})
    report.text("Cycle error: mean |G(G(x, c), c′) − x| over pixels and held-out images, the way back to each "
                "image's own attributes c′ (0 = a perfect round trip; [0, 1] pixel units). \"D_cls reads it after\": "
                "the share of translations the model's own domain classifier reads as having the target attribute "
                "(the model's judgement of itself, not an independent classifier).")
    report.table(table)


# ------------------------------------------------------------------------------------------ the game

# (label, metrics.csv column) of each model's adversarial terms
GAME_COLUMNS = {
    "cyclegan": [("D_A(a)", "train/discriminator_a_d_real_epoch"), ("D_A(F(b))", "train/discriminator_a_d_fake_epoch"),
                 ("D_B(b)", "train/discriminator_b_d_real_epoch"), ("D_B(G(a))", "train/discriminator_b_d_fake_epoch"),
                 ("L_GAN(G)", "train/generators_adv_b_epoch"), ("L_GAN(F)", "train/generators_adv_a_epoch"),
                 ("cycle", "train/generators_cycle_epoch"), ("identity", "train/generators_identity_epoch")],
    "stargan": [("D_src(x)", "train/discriminator_d_real_epoch"),
                ("D_src(G(x, c))", "train/discriminator_d_fake_epoch"),
                ("W estimate", "train/discriminator_wasserstein_epoch"), ("gp", "train/discriminator_gp_epoch"),
                ("L_cls^r", "train/discriminator_cls_real_epoch"), ("L_adv(G)", "train/generator_adv_epoch"),
                ("L_cls^f", "train/generator_cls_fake_epoch"), ("L_rec", "train/generator_rec_epoch")],
}
GAME_NOTES = {
    "cyclegan": "Least-squares GAN (Mao et al. 2017): each discriminator is pushed to 1 on real images and 0 on "
                "the fakes, so D_B(b) ≈ 1 with D_B(G(a)) ≈ 0 means D_B tells them apart; at the equilibrium "
                "p_G = p_data its optimum outputs ½ on both. L_GAN(G) = E[(D_B(G(a)) − 1)²], cycle and identity are "
                "the unweighted L1 terms (the loss adds λ·cycle + identity_weight·λ·identity).",
    "stargan": "WGAN-GP: D_src's scores are raw critic values, not probabilities; W estimate = E[D_src(x)] − "
               "E[D_src(G(x, c))] (it shrinks as fakes approach the real images), gp the gradient penalty. L_cls^r: "
               "D's domain-classification loss on real images with their labels; L_cls^f: G's on its translations "
               "with the targets; L_rec = ‖x − G(G(x, c), c′)‖₁.",
}
MAX_ROWS = 8     # epochs listed at most: the first, and the last ones


def game_rows(metrics_csv, model_name: str) -> list[dict]:
    """Per-epoch rows {"epoch", label: value, …} of the model's adversarial terms in metrics.csv
    (the first epoch and the last MAX_ROWS − 1 of a long run)."""
    from ...train.diagnostics import read_history

    columns = GAME_COLUMNS[model_name]
    history = read_history(metrics_csv, {label: col for label, col in columns})
    rows = [{"epoch": r["epoch"], **{label: r[label] for label, _ in columns if label in r}} for r in history]
    rows = [r for r in rows if len(r) > 1]
    return rows if len(rows) <= MAX_ROWS else rows[:1] + rows[-(MAX_ROWS - 1):]


@section("Adversarial losses", models=("cyclegan", "stargan"), classes=(CycleGAN, StarGAN), order=TRAINING_CURVES)
def adversarial_losses(report, model, data, run_dir) -> None:
    from ...train.names import fmt

    name = "cyclegan" if isinstance(model, CycleGAN) or model.registry_name == "cyclegan" else "stargan"
    metrics = Path(run_dir) / runs.METRICS
    rows = game_rows(metrics, name) if metrics.is_file() else []
    if not rows:
        return
    report.section("Adversarial losses", "Per-epoch means of the game's terms over the training images, from "
                   "metrics.csv (all columns are plotted in the training curves). " + GAME_NOTES[name])
    report.table([{k: (v if k == "epoch" else fmt(v, ".4g")) for k, v in r.items()} for r in rows])


__all__ = [
    "ATTRIBUTES",
    "DOMAINS",
    "adversarial_losses",
    "attribute_round_trips",
    "domain_round_trips",
    "domains_of",
    "game_rows",
    "identity_error",
    "multi_domain_translation",
    "unpaired_translation",
]
