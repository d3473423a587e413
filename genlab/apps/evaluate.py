"""`evaluate`: every metric a model can serve, on held-out data, with a judge network's eyes.

Each metric is declared once (:class:`Metric`) with what it needs; ``evaluate`` computes those
the model can serve and lists the others as n/a with the reason:

    fid, kid, is, pr, coverage, memorization   sample (generated images judged against real ones)
    nll                                        a likelihood: a VAE's posterior and decoder density
                                               (−ELBO, IWAE) or an exact log_prob
    psnr, ssim                                 reconstruct
    probe                                      encode, labelled data
    prior                                      a VQ-VAE with a prior over its codes (--prior): the
                                               prior's cross-entropy per held-out code, beside log K

Image-to-image models (``translate``: ŷ = G(x) for held-out inputs x with targets y):

    seg        segment: pixel accuracy = Σ_c TP_c / #pixels, IoU_c = TP_c / (TP_c + FP_c + FN_c),
               Dice_c = 2·TP_c / (2·TP_c + FP_c + FN_c), means over the classes present
    restore    image outputs: PSNR = 10·log10(1 / MSE) per image, SSIM (Wang et al. 2004) of ŷ
               against y (colorization in RGB: lab_to_rgb(L, ab̂) against lab_to_rgb(L, ab)); inpainting
               also the PSNR over the hole's pixels only
    baseline   the same figures for the task's trivial estimate: bicubic and nearest upsampling
               (superres), the hole filled with the training targets' mean (inpaint), grey ab = 0
               (colorize), the input itself (ct, denoise, deblur)
    judged     a judge classifier of the target images (never of the inputs): the share of outputs
               it classifies as their source's label, and FID of its features of ŷ against y

A metric of a new family is declared with :func:`declare_metric` beside its code; ``evaluate``,
``genlab eval`` and the tables need no change.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from functools import cached_property
from typing import Callable

import torch

from ..data import ImageData
from ..data.batches import batched
from ..errors import ConfigError, GenlabError
from ..models.vae import bounds_likelihood
from ..train.names import HIGHER, LOWER, Name, direction_legend, display, fmt
from .needs import Need, Requirement, as_need, capability, first_unmet


@dataclass(frozen=True)
class Metric:
    """One metric of ``genlab eval``. ``compute(ev)`` returns the values it measured, by key, from
    an :class:`Evaluation`; ``needs`` are capabilities or :class:`~genlab.apps.needs.Need` s,
    checked in order; ``why_not`` names what a missing capability would have given ("generated
    samples") in the n/a reason; ``labels`` maps each value key to its :class:`~genlab.train.names.Name`
    (display label, direction: lower or higher is better, note) for tables; ``title`` names the
    metric itself in n/a lines."""

    name: str
    compute: Callable[["Evaluation"], dict]
    needs: tuple[Requirement, ...] = ()
    why_not: str = ""
    labels: dict[str, Name] = field(default_factory=dict)
    title: str = ""

    @property
    def requirements(self) -> list[Need]:
        return [as_need(n, what=self.why_not) for n in self.needs]

    def unmet(self, ev: "Evaluation") -> Need | None:
        return first_unmet(self.requirements, ev.model, ev)


DECLARED: dict[str, Metric] = {}


def declare_metric(metric: Metric) -> Metric:
    if metric.name in DECLARED:
        raise ConfigError(f"a metric named {metric.name!r} is declared twice")
    DECLARED[metric.name] = metric
    return metric


def metric_name(key: str) -> Name:
    """The display name and direction of an evaluation value key (``fid`` -> "FID ↓"), from the
    metric that declares it."""
    for metric in DECLARED.values():
        if key in metric.labels:
            return metric.labels[key]
    return display(key)


def metric_title(name: str) -> str:
    """How a declared metric is called in n/a lines (``is`` -> "Inception score")."""
    metric = DECLARED.get(name)
    if metric is not None and metric.title:
        return metric.title
    if metric is not None and len(metric.labels) == 1:
        return metric_name(next(iter(metric.labels))).label
    return name


def metric_names() -> tuple[str, ...]:
    return tuple(DECLARED)


def parse_metrics(text: str | None) -> list[str]:
    if not text:
        return list(metric_names())
    chosen = [m.strip().lower() for m in text.split(",") if m.strip()]
    unknown = [m for m in chosen if m not in DECLARED]
    if unknown:
        raise ConfigError(f"unknown metric(s) {', '.join(unknown)}; choose from {','.join(metric_names())}")
    return chosen


FEATURE_EXTRACTORS = ("auto", "judge", "inception")


def choose_features(feature_extractor: str, train: ImageData) -> tuple[str | None, str]:
    """Which network looks at the images: ("judge" | "inception" | None, why).

    ``auto`` takes the judge for labelled data (a classifier of the data itself is the telling
    judge for digits) and Inception-v3 only for unlabelled RGB images when weights are present.
    ``inception`` without usable weights raises the message that says how to provide them.
    """
    from ..metrics.judge import require_inception

    if feature_extractor not in FEATURE_EXTRACTORS:
        raise ConfigError(f"unknown feature extractor {feature_extractor!r}; "
                          f"choose from {', '.join(FEATURE_EXTRACTORS)}")
    if feature_extractor == "inception":
        require_inception()
        return "inception", "asked for"
    if train.y is not None:
        return "judge", "labelled data"
    if feature_extractor == "judge":
        return None, "needs a labelled dataset to train the judge (or --features inception with Inception-v3 weights)"
    if train.x.shape[1] != 3:
        return None, "unlabelled grayscale data: needs labels to train a judge (Inception-v3 is for RGB images)"
    try:
        require_inception()
    except GenlabError as exc:
        return None, f"unlabelled data: needs labels to train a judge, or Inception-v3 weights: {exc}"
    return "inception", "unlabelled RGB images and Inception-v3 weights found"


class Evaluation:
    """One evaluation: its inputs, and what several metrics share (the feature network, the
    generated samples, their features, the reconstructions), each computed once when first used."""

    def __init__(self, model, train: ImageData, real: ImageData, data_spec: str, *, iwae_k: int = 100,
                 seed: int = 0, feature_extractor: str = "auto", images: dict | None = None, log=None):
        self.model, self.train, self.real, self.data_spec = model, train, real, data_spec
        self.iwae_k, self.seed, self.feature_extractor = iwae_k, seed, feature_extractor
        self.images = images
        self.log = log or (lambda message: None)
        self.info: dict = {}        # result entries beside the metrics (features, judge, iwae_k)
        self.skipped: dict = {}     # values a metric that ran could not give, and why

    @cached_property
    def feature_choice(self) -> tuple[str | None, str]:
        return choose_features(self.feature_extractor, self.train)

    @property
    def features(self) -> str | None:
        """"judge", "inception", or None when no network can look at these images."""
        return self.feature_choice[0]

    @cached_property
    def net(self):
        net, info = _feature_network(self.features, self.data_spec, self.train, self.model.device, self.log)
        self.info["features"] = info
        if self.features == "judge":
            self.info["judge"] = {k: info[k] for k in ("data", "test_accuracy")}  # kept for older readers
        return net

    @cached_property
    def fake(self) -> torch.Tensor:
        """As many generated images as held-out ones, drawn under the evaluation's seed."""
        torch.manual_seed(self.seed)
        return batched(lambda x: self.model.sample(len(x)), torch.empty(len(self.real), 0)).clamp(0, 1)

    @cached_property
    def real_features(self) -> torch.Tensor:
        return self.net.features_of(self.real.x)

    @cached_property
    def fake_embedding(self) -> tuple[torch.Tensor, torch.Tensor]:
        return self.net.embed(self.fake)        # features, class probabilities

    @property
    def fake_features(self) -> torch.Tensor:
        return self.fake_embedding[0]

    @property
    def fake_probs(self) -> torch.Tensor:
        return self.fake_embedding[1]

    @cached_property
    def recon(self) -> torch.Tensor:
        return batched(self.model.reconstruct, self.real.x, device=self.model.device).clamp(0, 1)

    @property
    def task(self):
        """The parsed task of an image-to-image model (None for its own pairs or other models)."""
        return getattr(self.model, "task", None)

    @cached_property
    def translated(self) -> torch.Tensor:
        """The model's outputs for the held-out inputs (images, or N×K class probabilities), drawn
        under the evaluation's seed: pix2pix keeps its dropout on at test time."""
        torch.manual_seed(self.seed)
        return batched(self.model.translate, self.real.x, device=self.model.device)

    @cached_property
    def output_images(self) -> torch.Tensor:
        """The outputs as images a person sees: colorization's L + predicted ab in RGB, others as they are."""
        from ..data.tasks import picture

        return picture(self.task, self.real.x, self.translated)

    @cached_property
    def target_images(self) -> torch.Tensor:
        from ..data.tasks import picture

        return picture(self.task, self.real.x, self.real.target)

    @cached_property
    def target_judge(self):
        """The judge of the data spec at the target images' shape: trained on the data's own images,
        never on a task's inputs (an inpainting input has a hole and a mask channel)."""
        shape = tuple(self.target_images.shape[1:])
        judge, info = _judge(self.data_spec, shape, len(self.train), self.log)
        self.info["target_judge"] = info
        return judge


# --------------------------------------------------------------------------- what metrics need

FEATURES = Need("a feature extractor", lambda model, ev: ev.features is not None,
                lambda model, ev: ev.feature_choice[1]
                or "needs a labelled dataset to train the judge's feature extractor")
LABELLED = Need("labelled data", lambda model, ev: ev.train.y is not None,
                "needs labelled data (the probe predicts the labels from the codes)")


LIKELIHOOD = Need("a likelihood", lambda model, ev: bounds_likelihood(model) or "log_prob" in model.capabilities(),
                  "needs a likelihood: an encoder/decoder density (VAE) or an exact log_prob")
SAMPLES = ("sample", FEATURES)


# --------------------------------------------------------------------------- the metrics

def _fid(ev: Evaluation) -> dict:
    from ..metrics import sample as sm

    return {"fid": sm.fid(ev.real_features, ev.fake_features)}


def _kid(ev: Evaluation) -> dict:
    from ..metrics import sample as sm

    kid, std = sm.kid(ev.real_features, ev.fake_features, seed=ev.seed)
    return {"kid": kid, "kid_std": std}


def _inception_score(ev: Evaluation) -> dict:
    from ..metrics import sample as sm

    score, std = sm.inception_score(ev.fake_probs, splits=10)
    return {"is": score, "is_std": std}


def _precision_recall(ev: Evaluation) -> dict:
    from ..metrics import sample as sm

    return sm.precision_recall(ev.real_features, ev.fake_features)


def _coverage(ev: Evaluation) -> dict:
    from ..metrics import sample as sm

    values = dict(sm.density_coverage(ev.real_features, ev.fake_features))
    if ev.features == "judge":
        cc = sm.class_coverage(ev.fake_probs, ev.train.num_classes)
        values.update({"classes_found": cc["classes_found"], "class_entropy": abs(cc["entropy"]),  # never −0
                       "class_kl_to_uniform": cc["kl_to_uniform"]})
        from .sections import class_names

        names = class_names(ev.model, ev.train, len(cc["histogram"]))
        total = max(1, sum(cc["histogram"]))
        ev.info["per_class"] = {"what": "share of the samples the judge assigns to each class",
                                "shares": {names[i]: count / total for i, count in enumerate(cc["histogram"])}}
    else:
        ev.skipped["class_coverage"] = "Inception-v3's 1008 ImageNet classes are not the data's classes"
    # in pixels, as the training diagnostics: the judge's features of immature, low-contrast
    # samples are all small, so distinct fuzzy digits counted as duplicates in feature space
    values["duplicate_rate"] = sm.duplicate_rate(ev.fake.flatten(1), sm.duplicate_reference(ev.real.x))
    return values


def _memorization(ev: Evaluation) -> dict:
    from ..metrics import sample as sm

    base = ev.train.spread(MEMORIZATION_BASE)
    base_f = _train_features(ev.net, ev.features, base, ev.data_spec, ev.log)
    mem = sm.memorization(ev.fake, base.x, ev.real.x, ev.fake_features, base_f, ev.real_features)
    values = {"memorized_share": float(mem["share_closer_than_test"])}
    if "share_closer_than_test_features" in mem:
        values["memorized_share_features"] = mem["share_closer_than_test_features"]
    if ev.images is not None:
        ev.images["nearest"] = nearest_grid(ev.fake, base.x, mem, ev.features)
    return values


def _likelihood(ev: Evaluation) -> dict:
    from ..metrics import likelihood as lk

    model, x = ev.model, ev.real.x
    if bounds_likelihood(model):
        ev.info["iwae_k"] = ev.iwae_k
        return {"neg_elbo": lk.negative_elbo(model, x, seed=ev.seed),
                "iwae_nll": lk.iwae_nll(model, x, k=ev.iwae_k, seed=ev.seed)}
    nll = float(lk.exact_nll(model, x, ev.real.y).double().mean())
    if model.label_space is not None and model.label_space.kind == "classes":
        ev.info["nll_given"] = "the class: −log p(x | y)"
    return {"nll": nll, "bits_per_dim": lk.bits_per_dim(nll, x[0].numel())}


def _prior_nll(ev: Evaluation) -> dict:
    from .prior import is_vqvae, log_codes

    if not is_vqvae(ev.model):
        return {}       # only a VQ-VAE has code maps for a prior to score
    sampler = ev.model.code_prior
    ev.info["prior"] = sampler.prior_name
    return {"prior_nll": sampler.code_nll(ev.real.x, ev.real.y), "log_k": log_codes(sampler.num_codes)}


def _has_prior(model, ev) -> bool:
    from .prior import is_vqvae

    return not is_vqvae(model) or getattr(model, "code_prior", None) is not None


def _no_prior(model, ev) -> str:
    from .prior import train_hint

    return f"needs a prior over the vq-vae's codes: {train_hint()} (`genlab eval RUN --prior PRIOR`)"


CODE_PRIOR = Need("a prior over the codes", _has_prior, _no_prior)


def _psnr(ev: Evaluation) -> dict:
    from ..metrics import image as im

    return {"mse": im.mse(ev.recon, ev.real.x), "psnr": im.psnr(ev.recon, ev.real.x)}


def _ssim(ev: Evaluation) -> dict:
    from ..metrics import image as im

    return {"mse": im.mse(ev.recon, ev.real.x), "ssim": im.ssim(ev.recon, ev.real.x)}


def _probe(ev: Evaluation) -> dict:
    from ..metrics import representation as rep

    model, base, real = ev.model, ev.train.spread(2000), ev.real
    codes = [batched(model.encode, d.x, device=model.device).flatten(1) for d in (base, real)]
    table = rep.probe_table(codes[0], base.y, codes[1], real.y, base.x.flatten(1), real.x.flatten(1), seed=ev.seed)
    return {f"probe_{k}": v for k, v in table.items()}


GENERATED = "generated samples"
declare_metric(Metric("fid", _fid, SAMPLES, GENERATED, {"fid": Name("FID", LOWER, "Fréchet distance of features")},
                      title="FID"))
declare_metric(Metric("kid", _kid, SAMPLES, GENERATED, {"kid": Name("KID", LOWER, "kernel distance of features"),
                                                        "kid_std": Name("KID std", "", "spread over subsets")},
                      title="KID"))
declare_metric(Metric("is", _inception_score, SAMPLES, GENERATED,
                      {"is": Name("Inception score", HIGHER, "max = number of classes"),
                       "is_std": Name("Inception score std", "", "spread over 10 splits")}, title="Inception score"))
declare_metric(Metric("pr", _precision_recall, SAMPLES, GENERATED, {
    "precision": Name("precision (k-NN)", HIGHER, "share of samples on the real manifold"),
    "recall": Name("recall (k-NN)", HIGHER, "share of real images covered by samples")},
    title="precision and recall"))
declare_metric(Metric("coverage", _coverage, SAMPLES, GENERATED, {
    "density": Name("density", "", "≈1 for real-like samples"),
    "coverage": Name("coverage", HIGHER, "share of real neighbourhoods hit"),
    "classes_found": Name("classes found", HIGHER, "by the judge among samples"),
    "class_entropy": Name("class entropy", HIGHER, "nats; log(classes) when balanced"),
    "class_kl_to_uniform": Name("KL to uniform classes", LOWER, "nats; 0 = balanced"),
    "duplicate_rate": Name("near-duplicates", LOWER, "share of samples; mode collapse when high")},
    title="density and coverage"))
declare_metric(Metric("memorization", _memorization, SAMPLES, GENERATED, {
    "memorized_share": Name("memorized share", LOWER, "samples closer to train than test images are"),
    "memorized_share_features": Name("memorized share (features)", LOWER, "the same in feature space")},
    title="memorisation check"))
declare_metric(Metric("nll", _likelihood, (LIKELIHOOD,), labels={
    "neg_elbo": Name("−ELBO", LOWER, "nats per image"), "iwae_nll": Name("IWAE NLL", LOWER, "nats per image"),
    "nll": Name("NLL", LOWER, "nats per image"), "bits_per_dim": Name("bits/dim", LOWER)},
    title="likelihood (NLL)"))
declare_metric(Metric("prior", _prior_nll, (CODE_PRIOR,), labels={
    "prior_nll": Name("prior NLL", LOWER, "nats per code, held-out code maps"),
    "log_k": Name("log K", "", "nats per code of a uniform prior, the baseline")}, title="code prior NLL"))
declare_metric(Metric("psnr", _psnr, ("reconstruct",), "reconstructions",
                      {"mse": Name("MSE", LOWER, "per pixel"), "psnr": Name("PSNR", HIGHER, "dB")}, title="PSNR"))
declare_metric(Metric("ssim", _ssim, ("reconstruct",), "reconstructions",
                      {"mse": Name("MSE", LOWER, "per pixel"), "ssim": Name("SSIM", HIGHER, "1 = identical")},
                      title="SSIM"))
declare_metric(Metric("probe", _probe, ("encode", LABELLED), "an encoder", {
    "probe_codes": Name("linear probe: codes", HIGHER, "accuracy"),
    "probe_pixels": Name("linear probe: pixels", "", "accuracy, the baseline"),
    "probe_pca": Name("linear probe: PCA same dim", "", "accuracy, the baseline")}, title="linear probe"))


def _segments(model) -> bool:
    return "segment" in model.capabilities()


TRANSLATED = "image-to-image outputs"
# unpaired (cyclegan) and multi-domain (stargan) translators learn without targets: nothing to score against
PAIRS = Need("held-out pairs", lambda model, ev: ev.real.target is not None,
             lambda model, ev: f"needs held-out (input, target) pairs; {model.registry_name} translates without "
                               "targets (its cycle-reconstruction error: `genlab translate RUN --data SPEC`)")
IMAGE_OUTPUTS = Need("image outputs", lambda model, ev: not _segments(model),
                     lambda model, ev: f"needs image outputs; {model.registry_name} outputs segmentation masks "
                                       "(scored by pixel accuracy, mean IoU and Dice)")


def _baseline_kind(task) -> str | None:
    """Which trivial estimate a task has: its name, or None when there is none."""
    name = task.name if task is not None else ""
    return {"superres": "upsampling", "inpaint": "mean-fill", "colorize": "grey", "ct": "input",
            "denoise": "input", "deblur": "input"}.get(name)


def _no_baseline(model, ev) -> str:
    task = ev.task
    if task is None:
        return "the run's own pairs (--task paired) have no known trivial estimate to compare with"
    if task.name == "edges":
        return "an edge map holds no intensities to copy, so task edges has no trivial estimate"
    return f"task {task} has no trivial estimate to compare with"


TRIVIAL = Need("a trivial estimate", lambda model, ev: _baseline_kind(ev.task) is not None, _no_baseline)
KNOWN_TASK = Need("a task", lambda model, ev: ev.task is not None,
                  "the run's own pairs (--task paired): no judge was trained on its target images")
JUDGE_LABELS = Need("labelled data", lambda model, ev: ev.train.y is not None,
                    "needs labelled data: the judge of the target images is a classifier trained on their labels "
                    "(photographs without labels have none)")


def _segmentation(ev: Evaluation) -> dict:
    from ..metrics.paired import segmentation_scores
    from .sections import class_names

    k = int(ev.model.config.out_channels)
    scores = segmentation_scores(ev.translated, ev.real.target.long(), k)
    names = list(getattr(ev.model.config, "mask_classes", ()) or ()) or class_names(ev.model, None, k)
    # NaN (a class absent from targets and predictions) is written as null
    ev.info["per_class_iou"] = {name: (None if math.isnan(v) else v)
                                for name, v in zip(names, scores["iou_per_class"])}
    return {k_: scores[k_] for k_ in ("pixel_accuracy", "mean_iou", "dice")}


def _inpaints(ev: Evaluation) -> bool:
    return ev.task is not None and ev.task.name == "inpaint" and ev.real.mask is not None


def _restoration(ev: Evaluation) -> dict:
    from ..metrics.paired import restoration_scores

    mask = ev.real.mask if _inpaints(ev) else None
    scores = restoration_scores(ev.output_images, ev.target_images, mask)
    return {k: scores[k] for k in ("psnr", "ssim", "mse") + (("hole_psnr",) if mask is not None else ())}


def _baseline(ev: Evaluation) -> dict:
    from ..metrics import image as im
    from ..metrics.paired import masked_psnr, upsample_baselines

    task, x, target = ev.task, ev.real.x, ev.target_images
    kind = _baseline_kind(task)
    if kind == "upsampling":
        up = upsample_baselines(x, int(task.value))
        return {"bicubic_psnr": im.psnr(up["bicubic"], target), "bicubic_ssim": im.ssim(up["bicubic"], target),
                "nearest_psnr": im.psnr(up["nearest"], target)}
    if kind == "mean-fill":
        if ev.train.target is None:
            raise ConfigError("the training data holds no targets to average for the mean-fill baseline; "
                              "pass the run's paired training data")
        # the known pixels come from the input; the hole gets each channel's mean over the training targets
        fill = ev.train.target.float().mean(dim=(0, 2, 3)).view(1, -1, 1, 1)
        m = ev.real.mask[:, None].to(x.dtype)
        guess = x[:, :-1] * (1 - m) + fill * m
        return {"meanfill_hole_psnr": masked_psnr(guess, target, ev.real.mask)}
    if kind == "grey":
        from ..data.tasks import picture

        grey = picture(task, x, torch.full_like(ev.real.target, 0.5))   # ab = 0: target 0.5
        return {"grey_psnr": im.psnr(grey, target)}
    return {"input_psnr": im.psnr(x, target), "input_ssim": im.ssim(x, target)}


def _judged(ev: Evaluation) -> dict:
    from ..metrics import sample as sm
    from ..metrics.paired import judged_agreement

    net = ev.target_judge
    out_features, probs = net.embed(ev.output_images)
    return {"judged_as_source": judged_agreement(probs, ev.real.y),
            "output_fid": sm.fid(net.features_of(ev.target_images), out_features)}


BASELINE = "baseline: "
# "translate" first in every image-to-image metric: other models get one n/a line for all four
declare_metric(Metric("seg", _segmentation, ("translate", PAIRS, capability("segment", "segmentation masks")), TRANSLATED, {
    "pixel_accuracy": Name("pixel accuracy", HIGHER, "share of pixels given their class"),
    "mean_iou": Name("mean IoU", HIGHER, "Jaccard TP/(TP+FP+FN), mean over classes"),
    "dice": Name("Dice", HIGHER, "2TP/(2TP+FP+FN), mean over classes")}, title="segmentation scores"))
declare_metric(Metric("restore", _restoration, ("translate", PAIRS, IMAGE_OUTPUTS), TRANSLATED, {
    "psnr": Name("PSNR", HIGHER, "dB"), "ssim": Name("SSIM", HIGHER, "1 = identical"),
    "mse": Name("MSE", LOWER, "per pixel"),
    "hole_psnr": Name("hole PSNR", HIGHER, "dB, over the missing pixels only")},
    title="restoration (outputs vs targets)"))
declare_metric(Metric("baseline", _baseline, ("translate", PAIRS, IMAGE_OUTPUTS, TRIVIAL), TRANSLATED, {
    "bicubic_psnr": Name("bicubic PSNR", "", BASELINE + "the input upsampled bicubically, dB"),
    "bicubic_ssim": Name("bicubic SSIM", "", BASELINE + "the input upsampled bicubically"),
    "nearest_psnr": Name("nearest PSNR", "", BASELINE + "the input upsampled by pixel repetition, dB"),
    "meanfill_hole_psnr": Name("mean-fill hole PSNR", "", BASELINE + "the hole filled with the training mean, dB"),
    "grey_psnr": Name("grey PSNR", "", BASELINE + "no colour (ab = 0), in RGB, dB"),
    "input_psnr": Name("input PSNR", "", BASELINE + "the input itself, dB"),
    "input_ssim": Name("input SSIM", "", BASELINE + "the input itself")},
    title="trivial baseline"))
declare_metric(Metric("judged", _judged, ("translate", PAIRS, IMAGE_OUTPUTS, KNOWN_TASK, JUDGE_LABELS), TRANSLATED, {
    "judged_as_source": Name("judged as the source's class", HIGHER, "share of outputs, by the judge"),
    "output_fid": Name("output FID (judge)", LOWER, "judge features of outputs vs held-out targets")},
    title="judged outputs"))


# --------------------------------------------------------------------------- unpaired and multi-domain
# cyclegan (two domains A, B: each direction X → Y on the held-out images of X) and stargan (each held-out
# image to every single-group change of its own attributes); formulas in genlab.metrics.translation

def _kind(model) -> str | None:
    from .unpaired import unpaired_kind

    return unpaired_kind(model)


def _not_this_kind(wanted: str):
    def why_not(model, ev) -> str:
        have = _kind(model)
        name = model.registry_name
        if have == "domains":
            return (f"for stargan runs (target attributes); {name} translates between two domains "
                    "(its figures: judge-FID, label kept and cycle error per direction)")
        if have == "attributes":
            return (f"for cyclegan runs (two domains); {name} translates to target attributes "
                    "(its figures: attribute accuracy, content kept and cycle error)")
        return f"for cyclegan and stargan runs; {name} translates without a target domain or attributes"
    return Need(f"a {wanted} translator", lambda model, ev: _kind(model) == wanted, why_not)


TWO_DOMAINS = _not_this_kind("domains")
TARGET_ATTRIBUTES = _not_this_kind("attributes")
UNPAIRED = Need("a cyclegan or stargan run", lambda model, ev: _kind(model) is not None,
                lambda model, ev: f"for cyclegan and stargan runs; {model.registry_name} translates without a target "
                                  "domain or attributes")
DOMAIN_DATA = Need("domains in the data", lambda model, ev: ev.real.domain is not None,
                   lambda model, ev: f"{ev.data_spec} carries no domain per image; evaluate on domains:SPEC_A,SPEC_B "
                                     "data of the run's domains")
ATTRIBUTE_DATA = Need("attributes in the data", lambda model, ev: ev.real.attributes is not None,
                      lambda model, ev: f"{ev.data_spec} carries no attributes; evaluate on attributes:SPEC data")
TRANSLATION_DATA = Need("domains or attributes in the data",
                        lambda model, ev: (DOMAIN_DATA if _kind(model) == "domains" else ATTRIBUTE_DATA).holds(model, ev),
                        lambda model, ev: (DOMAIN_DATA if _kind(model) == "domains" else ATTRIBUTE_DATA).reason(model, ev))


def domain_specs(data_spec: str) -> tuple[str, str] | None:
    """The data specs of the two domains of ``data_spec`` whose judges can be trained (labelled images),
    or None: digits2mnist -> (digits, mnist5k); domains:A,B -> (A, B); photographs have no labels."""
    if data_spec == "digits2mnist":
        return "digits", "mnist5k"
    kind, _, arg = data_spec.partition(":")
    if kind == "domains" and arg.count(",") == 1:
        a, b = (p.strip() for p in arg.split(","))
        return a, b
    return None


def _no_domain_judges(model, ev) -> str:
    return (f"needs a judge of each domain, a classifier trained on its labels; {ev.data_spec}'s images have none "
            "(photographs), so judge-FID and label preservation cannot be measured (the cycle error can)")


DOMAIN_JUDGES = Need("a judge of each domain", lambda model, ev: domain_specs(ev.data_spec) is not None,
                     _no_domain_judges)
SHARED_LABELS = Need("labels of both domains", lambda model, ev: ev.real.y is not None,
                     lambda model, ev: f"needs the source images' labels in classes the target judge knows; "
                                       f"{ev.data_spec}'s domains do not share labelled classes")


def _content_spec(data_spec: str) -> str | None:
    kind, _, arg = data_spec.partition(":")
    return arg if kind == "attributes" and arg else None


CONTENT_JUDGE = Need("labelled source data", lambda model, ev: _content_spec(ev.data_spec) is not None
                     and ev.real.y is not None,
                     lambda model, ev: f"needs the source images' labels and a judge of them (attributes:SPEC of "
                                       f"labelled SPEC); {ev.data_spec} has none")

DIRECTIONS = {"ab": 1, "ba": 0}     # key: target domain (A → B translates to B)


def _directions(ev: Evaluation) -> dict[str, dict]:
    """Per direction (``ab``, ``ba``): the held-out inputs of the source domain, their translations,
    the round trips and the held-out images of the target domain; computed once per evaluation."""
    if "_directions" in ev.__dict__:
        return ev.__dict__["_directions"]
    from .unpaired import domain_names, image_domains, translate_domains

    names = domain_names(ev.model)
    index = image_domains(ev.model, ev.real, None)
    out = {}
    torch.manual_seed(ev.seed)
    for key, target in DIRECTIONS.items():
        src, dst = (index == 1 - target).nonzero().flatten(), (index == target).nonzero().flatten()
        if len(src) == 0:
            continue
        x = ev.real.x[src]
        translated, back = translate_domains(ev.model, x, target)
        out[key] = {"source": names[1 - target], "target": names[target], "target_index": target, "x": x,
                    "translated": translated, "back": back, "y": None if ev.real.y is None else ev.real.y[src],
                    "real": ev.real.x[dst]}
    ev.info["directions"] = {k: f"{d['source']} → {d['target']} ({len(d['x'])} images)" for k, d in out.items()}
    ev.__dict__["_directions"] = out
    return out


def _domain_judge(ev: Evaluation, target: int):
    """The judge of the target domain at the model's image shape (cached per evaluation)."""
    judges = ev.__dict__.setdefault("_domain_judges", {})
    if target not in judges:
        spec = domain_specs(ev.data_spec)[target]
        shape = tuple(ev.model.image_shape)
        judges[target], info = _judge(spec, shape, max(1, len(ev.train) // 2), ev.log)
        name = _domain_name(ev, target)
        ev.info.setdefault("domain_judges", {})[name] = {"data": info["data"] or spec,
                                                         "test_accuracy": info["test_accuracy"]}
    return judges[target]


def _domain_name(ev: Evaluation, index: int) -> str:
    from .unpaired import domain_names

    return domain_names(ev.model)[index]


def _judge_or_skip(ev: Evaluation, metric: str, target: int):
    try:
        return _domain_judge(ev, target)
    except GenlabError as exc:    # a domains:A,B spec without labels: no judge can be trained
        ev.skipped[metric] = f"no judge of {_domain_name(ev, target)}: {str(exc).splitlines()[0]}"
        return None


def _domain_fid(ev: Evaluation) -> dict:
    from ..metrics.translation import judge_fids

    values = {}
    for key, d in _directions(ev).items():
        if len(d["real"]) < 2 or len(d["x"]) < 2:
            ev.skipped["domain_fid"] = f"{d['source']} → {d['target']}: FID needs at least 2 images of each side"
            continue
        judge = _judge_or_skip(ev, "domain_fid", d["target_index"])
        if judge is None:
            return values
        fids = judge_fids(judge.features_of(d["real"]), judge.features_of(d["translated"]), judge.features_of(d["x"]))
        values.update({f"fid_{key}": fids["fid"], f"input_fid_{key}": fids["input_fid"]})
    return values


def _label_kept(ev: Evaluation) -> dict:
    from ..metrics.translation import label_kept

    values = {}
    for key, d in _directions(ev).items():
        judge = _judge_or_skip(ev, "label_kept", d["target_index"])
        if judge is None:
            return values
        values[f"label_kept_{key}"] = label_kept(judge.embed(d["translated"])[1], d["y"])
        values[f"input_label_kept_{key}"] = label_kept(judge.embed(d["x"])[1], d["y"])
    return values


def _stargan(ev: Evaluation) -> dict:
    """Every held-out image translated to each single-group change of its own attributes (thin → normal,
    thin → thick, upright → tilted, ...), the other groups kept; and back to its own attributes."""
    if "_stargan" in ev.__dict__:
        return ev.__dict__["_stargan"]
    from ..metrics.translation import changed_targets
    from .unpaired import attribute_groups, translate_attributes

    groups = attribute_groups(ev.model)
    source = ev.real.attributes.float()
    rows, targets, requested = changed_targets(source, groups)
    torch.manual_seed(ev.seed)
    translated, back = translate_attributes(ev.model, ev.real.x[rows], targets, source[rows])
    ev.info["translations"] = (f"{len(rows)}: each of {len(source)} held-out images to every other value of each "
                               "attribute group, the other groups kept")
    out = {"rows": rows, "targets": targets, "requested": requested, "translated": translated, "back": back,
           "groups": groups}
    ev.__dict__["_stargan"] = out
    return out


def _cycle(ev: Evaluation) -> dict:
    from ..metrics.translation import cycle_error

    if _kind(ev.model) == "attributes":
        t = _stargan(ev)
        return {"cycle_error": cycle_error(ev.real.x[t["rows"]], t["back"])}
    return {f"cycle_error_{key}": cycle_error(d["x"], d["back"]) for key, d in _directions(ev).items()}


def _attribute_accuracy(ev: Evaluation) -> dict:
    from ..metrics import translation as tr
    from .unpaired import attribute_names

    t = _stargan(ev)
    shape = tuple(ev.model.image_shape)
    classifier, info = tr.get_attribute_classifier(ev.data_spec, shape, log=ev.log)
    ev.info["attribute_classifier"] = {"data": info.get("data"), "test_accuracy": info.get("test_accuracy")}
    groups = t["groups"]
    read = tr.read_attributes(classifier, t["translated"], groups)
    names = attribute_names(ev.model)
    per = tr.per_attribute_accuracy(read, t["targets"], groups, t["requested"])
    ev.info["attribute_accuracy"] = {names[k]: v for k, v in per.items()}
    real = tr.read_attributes(classifier, ev.real.x, groups)
    return {"attribute_accuracy": tr.attribute_accuracy(read, t["targets"], groups, t["requested"]),
            "attributes_kept": tr.attributes_kept(read, t["targets"], groups, t["requested"]),
            "attribute_accuracy_real": tr.attribute_accuracy(real, ev.real.attributes, groups)}


def _content_kept(ev: Evaluation) -> dict:
    from ..metrics.translation import label_kept

    t = _stargan(ev)
    # the judge learns the classes on the attribute data itself (every stroke, tilt and polarity): a judge of
    # the plain images misreads an inverted or thick digit whoever drew it, the translator or the data
    judge, info = _judge(ev.data_spec, tuple(ev.model.image_shape), len(ev.train), ev.log)
    ev.info["content_judge"] = {"data": info["data"] or ev.data_spec, "test_accuracy": info["test_accuracy"]}
    y = ev.real.y
    # the judge on the untranslated inputs: the reference
    return {"content_kept": label_kept(judge.embed(t["translated"])[1], y[t["rows"]]),
            "content_kept_inputs": label_kept(judge.embed(ev.real.x)[1], y)}


UNPAIRED_OUTPUTS = "translations"
declare_metric(Metric("cycle", _cycle, ("translate", UNPAIRED, TRANSLATION_DATA), UNPAIRED_OUTPUTS, {
    "cycle_error_ab": Name("cycle error A → B → A", LOWER, "mean |F(G(a)) − a|, [0, 1] units"),
    "cycle_error_ba": Name("cycle error B → A → B", LOWER, "mean |G(F(b)) − b|, [0, 1] units"),
    "cycle_error": Name("cycle error", LOWER, "mean |G(G(x, c), c′) − x|, back to the own attributes")},
    title="cycle-reconstruction error"))
declare_metric(Metric("domain_fid", _domain_fid, ("translate", TWO_DOMAINS, DOMAIN_DATA, DOMAIN_JUDGES),
                      UNPAIRED_OUTPUTS, {
    "fid_ab": Name("judge-FID A → B", LOWER, "B judge's features of G(a) vs held-out B"),
    "input_fid_ab": Name("judge-FID A as is", "", "reference: the inputs a vs held-out B"),
    "fid_ba": Name("judge-FID B → A", LOWER, "A judge's features of F(b) vs held-out A"),
    "input_fid_ba": Name("judge-FID B as is", "", "reference: the inputs b vs held-out A")},
    title="judge-FID of translations"))
declare_metric(Metric("label_kept", _label_kept, ("translate", TWO_DOMAINS, DOMAIN_DATA, DOMAIN_JUDGES, SHARED_LABELS),
                      UNPAIRED_OUTPUTS, {
    "label_kept_ab": Name("label kept A → B", HIGHER, "share of G(a) the B judge reads as a's class"),
    "label_kept_ba": Name("label kept B → A", HIGHER, "share of F(b) the A judge reads as b's class"),
    "input_label_kept_ab": Name("label of A as is", "", "reference: the B judge on the untranslated a"),
    "input_label_kept_ba": Name("label of B as is", "", "reference: the A judge on the untranslated b")},
    title="label preservation"))
declare_metric(Metric("attribute_accuracy", _attribute_accuracy, ("translate", TARGET_ATTRIBUTES, ATTRIBUTE_DATA),
                      UNPAIRED_OUTPUTS, {
    "attribute_accuracy": Name("target attribute reached", HIGHER, "share read back by the attribute classifier"),
    "attributes_kept": Name("other attributes kept", HIGHER, "share whose other groups read as the source's"),
    "attribute_accuracy_real": Name("attribute classifier on real", "", "reference: all groups right on held-out")},
    title="target-attribute accuracy"))
declare_metric(Metric("content_kept", _content_kept, ("translate", TARGET_ATTRIBUTES, ATTRIBUTE_DATA, CONTENT_JUDGE),
                      UNPAIRED_OUTPUTS, {
    "content_kept": Name("content kept", HIGHER, "share of translations the judge reads as the source's class"),
    "content_kept_inputs": Name("content of inputs", "", "reference: the judge on the untranslated inputs")},
    title="content preservation"))


def not_applicable(ev: Evaluation, wanted) -> dict[str, str]:
    """Each wanted metric the model (or the data) cannot serve, with the reason, in declared order."""
    out = {}
    for metric in DECLARED.values():
        if metric.name in wanted and (need := metric.unmet(ev)) is not None:
            out[metric.name] = need.reason(ev.model, ev)
    return out


@torch.no_grad()
def evaluate(model, train: ImageData, test: ImageData, data_spec: str, metrics: list[str] | None = None,
             n: int = 1000, iwae_k: int = 100, seed: int = 0, progress: bool = False,
             feature_extractor: str = "auto", images: dict | None = None, log=None) -> dict:
    """Compute ``metrics`` (default: all applicable) on ``n`` held-out images and ``n`` samples.

    ``feature_extractor``: "judge" (a classifier trained on the data, cached), "inception" (the
    FID Inception-v3 from user weights) or "auto" (see :func:`choose_features`). If ``images``
    is a dict, pictures made on the way go into it (``"nearest"``: generated | nearest training
    image). ``log`` receives one-line progress messages (e.g. that a judge is being trained);
    ``progress=True`` prints them.
    """
    started = time.perf_counter()
    log = log or (print if progress else (lambda message: None))
    if n < 2:
        raise ConfigError(f"--n must be at least 2, got {n}")
    wanted = list(metrics or metric_names())
    if unknown := [m for m in wanted if m not in DECLARED]:
        raise ConfigError(f"unknown metric(s) {', '.join(unknown)}; choose from {','.join(metric_names())}")
    model.eval()
    model.check_input(test.x[:1])
    real = test.spread(n)
    ev = Evaluation(model, train, real, data_spec, iwae_k=iwae_k, seed=seed, feature_extractor=feature_extractor,
                    images=images, log=log)
    skipped = not_applicable(ev, wanted)
    values: dict[str, float] = {}
    for metric in DECLARED.values():
        if metric.name in wanted and metric.name not in skipped:
            values.update(metric.compute(ev))
    # a figure another metric measured is not "not computed" (an image-to-image model's PSNR comes
    # from its translations, not from the reconstructions the psnr metric wanted)
    skipped = {name: why for name, why in skipped.items() if not set(DECLARED[name].labels) <= set(values)}
    sampled = "fake" in ev.__dict__       # the cached samples exist only if a sample metric ran
    task = getattr(getattr(model, "config", None), "task", "")   # an image-to-image run's task
    return {"model": model.registry_name, "data": data_spec, **({"task": task} if task else {}), "n": len(real),
            "n_requested": n, "n_samples": len(ev.fake) if sampled else 0, "seed": seed, **ev.info,
            "metrics": {k: float(v) for k, v in values.items()}, "not_applicable": {**skipped, **ev.skipped},
            "seconds": round(time.perf_counter() - started, 2)}


def _feature_network(kind: str, data_spec: str, train: ImageData, device, log) -> tuple[object, dict]:
    if kind == "inception":
        from ..metrics.inception import load_inception
        from ..metrics.judge import require_inception

        path = require_inception()
        return load_inception(path, device=device), {"name": "inception", "weights": str(path), "feature_dim": 2048}
    return _judge(data_spec, tuple(train.shape), len(train), log)


def _judge(data_spec: str, shape: tuple, n_train: int, log) -> tuple[object, dict]:
    """The cached judge of ``data_spec`` at image ``shape`` (trained once, saying so first)."""
    from ..metrics import (
        judge as J,  # looked up at call time: tests answer with a stand-in judge
    )

    folder = J.judge_path(data_spec, shape)
    if not (folder / "judge.json").is_file():
        log(f"training the judge for {data_spec} once ({_judge_seconds(n_train, shape)} on 2 CPU cores); "
            f"cached at {folder}")
    judge, info = J.get_judge(data_spec, shape)
    return judge, {"name": "judge", "data": info.get("data"), "test_accuracy": info.get("test_accuracy"),
                   "feature_dim": judge.arch["feature_dim"]}


def _judge_seconds(n_train: int, shape: tuple) -> str:
    # measured on a shared 2-core machine: 10 epochs over mnist5k's 4,000 training digits cost
    # 220–320 CPU-seconds, i.e. about 2–4 minutes on 2 cores; the cost grows with images × pixels
    seconds = 190 * n_train * math.prod(shape) / (4000 * 784)
    return f"~{max(1, round(seconds / 60))} min" if seconds > 90 else f"~{max(5, round(seconds, -1)):.0f} s"


MEMORIZATION_BASE = 5000  # training images searched for each sample's nearest neighbour


def _train_features(net, kind: str, base: ImageData, data_spec: str, log) -> torch.Tensor:
    """Features of the memorisation base. The judge's are cached beside it, keyed by a digest of
    the images and the judge's weights (they depend on nothing else)."""
    if kind != "judge":
        log(f"Inception-v3 features of {len(base)} training images for the memorisation check")
        return net.features_of(base.x)
    import hashlib

    from ..io import load_tensors, save_tensors
    from ..metrics.judge import judge_path

    digest = hashlib.sha256(base.x.float().contiguous().numpy().tobytes())
    for value in net.state_dict().values():
        digest.update(value.contiguous().numpy().tobytes())
    stamp = torch.frombuffer(bytearray(digest.digest()), dtype=torch.uint8)
    path = judge_path(data_spec, tuple(base.shape)) / f"train_features_{len(base)}.safetensors"
    if path.is_file():
        try:
            saved = load_tensors(path)
            if torch.equal(saved["digest"], stamp):
                return saved["features"]
        except (GenlabError, KeyError):
            pass  # unreadable: recompute and replace
    feats = net.features_of(base.x)
    save_tensors({"features": feats, "digest": stamp}, path)
    return feats


def nearest_grid(fake: torch.Tensor, train_x: torch.Tensor, mem: dict, features: str | None = None, k: int = 12):
    """The memorisation check as a picture: the ``k`` samples nearest to a training image (pixel
    L2), each above its nearest training image in pixel space and in feature space."""
    from ..viz.grids import labelled_rows

    order = mem["nearest_train_distance"].argsort()[:k]
    rows = [fake[order], train_x[mem["nearest_train_index"][order]]]
    labels = ["generated", "nearest (pixels)"]
    if "nearest_train_index_features" in mem:
        rows.append(train_x[mem["nearest_train_index_features"][order]])
        labels.append(f"nearest ({features or 'feature'} features)")
    return labelled_rows(rows, labels)


def evaluate_run(run_dir, metrics: list[str] | None = None, n: int = 1000, iwae_k: int = 100, seed: int = 0,
                 save: bool = True, feature_extractor: str = "auto", log=None, prior=None) -> dict:
    """Evaluate a run folder on its own data's held-out split; saves ``eval.json`` beside it, and
    ``nearest.png`` (generated | nearest training image) when the memorisation check ran.
    ``prior``: the run folder of an autoregressive prior over a VQ-VAE's codes, which then samples
    for the sample metrics and is scored on the held-out codes (prior NLL)."""
    from pathlib import Path

    from .. import runs
    from ..data import load_spec
    from ..io import write_json
    from ..viz.grids import save_image

    run_dir = Path(run_dir)
    model = runs.load(run_dir)
    spec = model.run_info.get("data") or {}
    if "spec" not in spec:
        raise GenlabError(f"{run_dir}/config.json does not say which data the run used; evaluate it from Python")
    if prior is not None:
        from .prior import WithPrior, load_prior

        model = WithPrior(model, load_prior(model, prior, str(run_dir)))
    train, test = load_spec(spec, "train"), load_spec(spec, "test")
    pictures: dict = {}
    result = evaluate(model, train, test, spec["spec"], metrics, n=n, iwae_k=iwae_k, seed=seed,
                      feature_extractor=feature_extractor, images=pictures if save else None, log=log)
    if save:
        for name, picture in pictures.items():
            save_image(picture, run_dir / f"{name}.png")
        result["images"] = {name: f"{name}.png" for name in pictures}
        write_json(run_dir / "eval.json", result)
    return result


def describe_features(result: dict) -> str:
    """Which network the sample metrics looked through, in words ("" when none ran)."""
    info = result.get("features") or ({"name": "judge", **result["judge"]} if "judge" in result else None)
    if not info:
        return ""
    if info.get("name") == "inception":
        return f"Inception-v3 (FID weights, 2048-D pool features) from {info.get('weights')}"
    return (f"judge classifier trained on {info.get('data')}, test accuracy "
            f"{info.get('test_accuracy', float('nan')):.4f} ({info.get('feature_dim', 128)}-D penultimate features)")


def not_applicable_lines(not_applicable: dict[str, str]) -> list[tuple[str, str]]:
    """(metrics, reason) pairs, one per distinct reason: an explanation is given once, not per metric."""
    by_reason: dict[str, list[str]] = {}
    for key, why in not_applicable.items():
        title = metric_title(key) if key in DECLARED else metric_name(key).label
        by_reason.setdefault(why, []).append(title)
    return [(", ".join(titles), why) for why, titles in by_reason.items()]


def metric_rows(result: dict) -> list[dict]:
    """Rows {metric, value, note} of a result for tables (the report's, compare's): display names with
    their direction, printed numbers, n/a once per reason."""
    rows = [{"metric": metric_name(k).title, "value": fmt(v), "note": metric_name(k).note}
            for k, v in result["metrics"].items()]
    rows += [{"metric": titles, "value": "n/a", "note": why}
             for titles, why in not_applicable_lines(result.get("not_applicable", {}))]
    return rows


def format_table(result: dict) -> str:
    """What `genlab eval` prints: one line per figure (display name, direction, value, note), the
    metrics it could not compute grouped by reason, the per-class shares with class names."""
    samples = result.get("n_samples")
    counts = f"{result['n']} held-out " + ("pairs" if result.get("task") else "images") \
        + (f", {samples} samples" if samples else "")
    task = f", task {result['task']}" if result.get("task") else ""
    lines = [f"{result['model']} on {result['data']}{task} ({counts}, {result['seconds']} s)"]
    lines += [f"features: {text}"] if (text := describe_features(result)) else []
    if judge := result.get("target_judge"):
        lines.append(f"outputs judged by: {describe_features({'features': judge})}")
    for key, value in result["metrics"].items():
        name = metric_name(key)
        # counts (classes found) print as counts
        spec = "7.0f" if key == "classes_found" else "12.4f"
        lines.append(f"  {name.title:30s} {fmt(value, spec):>12s}  {name.note}")
    if iou := result.get("per_class_iou"):
        lines.append("  IoU per class: " + "  ".join(f"{c} {fmt(v, '.3f')}" for c, v in iou.items()))
    per_class = result.get("per_class")
    if per_class:
        lines.append(f"  per class ({per_class['what']}):")
        lines.append("    " + "  ".join(f"{c} {fmt(share, '.0%')}" for c, share in per_class["shares"].items()))
    na = not_applicable_lines(result["not_applicable"])
    if na:
        lines.append("  not computed:")
        lines += [f"    {titles}: {why}" for titles, why in na]
    if any(metric_name(k).arrow for k in result["metrics"]):
        lines.append(f"({direction_legend()})")
    return "\n".join(lines)
