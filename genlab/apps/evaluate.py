"""`evaluate`: every metric a model can serve, on held-out data, with a judge network's eyes.

Each metric is declared once (:class:`Metric`) with what it needs; ``evaluate`` computes those
the model can serve and lists the others as n/a with the reason:

    fid, kid, is, pr, coverage, memorization   sample (generated images judged against real ones)
    nll                                        a likelihood: a VAE's posterior and decoder density
                                               (−ELBO, IWAE) or an exact log_prob
    psnr, ssim                                 reconstruct
    probe                                      encode, labelled data

A metric of a new family is declared with :func:`declare_metric` beside its code; ``evaluate``,
``genlab eval`` and the tables need no change.
"""
from __future__ import annotations

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
from .needs import Need, Requirement, as_need, first_unmet


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
    nll = float(-batched(model.log_prob, x, device=model.device).mean())
    return {"nll": nll, "bits_per_dim": lk.bits_per_dim(nll, x[0].numel())}


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
declare_metric(Metric("psnr", _psnr, ("reconstruct",), "reconstructions",
                      {"mse": Name("MSE", LOWER, "per pixel"), "psnr": Name("PSNR", HIGHER, "dB")}, title="PSNR"))
declare_metric(Metric("ssim", _ssim, ("reconstruct",), "reconstructions",
                      {"mse": Name("MSE", LOWER, "per pixel"), "ssim": Name("SSIM", HIGHER, "1 = identical")},
                      title="SSIM"))
declare_metric(Metric("probe", _probe, ("encode", LABELLED), "an encoder", {
    "probe_codes": Name("linear probe: codes", HIGHER, "accuracy"),
    "probe_pixels": Name("linear probe: pixels", "", "accuracy, the baseline"),
    "probe_pca": Name("linear probe: PCA same dim", "", "accuracy, the baseline")}, title="linear probe"))


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
    sampled = "fake" in ev.__dict__       # the cached samples exist only if a sample metric ran
    return {"model": model.registry_name, "data": data_spec, "n": len(real), "n_requested": n,
            "n_samples": len(ev.fake) if sampled else 0, "seed": seed, **ev.info,
            "metrics": {k: float(v) for k, v in values.items()}, "not_applicable": {**skipped, **ev.skipped},
            "seconds": round(time.perf_counter() - started, 2)}


def _feature_network(kind: str, data_spec: str, train: ImageData, device, log) -> tuple[object, dict]:
    if kind == "inception":
        from ..metrics.inception import load_inception
        from ..metrics.judge import require_inception

        path = require_inception()
        return load_inception(path, device=device), {"name": "inception", "weights": str(path), "feature_dim": 2048}
    from ..metrics.judge import get_judge, judge_path

    folder = judge_path(data_spec, tuple(train.shape))
    if not (folder / "judge.json").is_file():
        log(f"training the judge for {data_spec} once ({_judge_seconds(train)} on 2 CPU cores); cached at {folder}")
    judge, info = get_judge(data_spec, tuple(train.shape))
    return judge, {"name": "judge", "data": info.get("data"), "test_accuracy": info.get("test_accuracy"),
                   "feature_dim": judge.arch["feature_dim"]}


def _judge_seconds(train: ImageData) -> str:
    # measured on a shared 2-core machine: 10 epochs over mnist5k's 4,000 training digits cost
    # 220–320 CPU-seconds, i.e. about 2–4 minutes on 2 cores; the cost grows with images × pixels
    seconds = 190 * len(train) * train.x[0].numel() / (4000 * 784)
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
                 save: bool = True, feature_extractor: str = "auto", log=None) -> dict:
    """Evaluate a run folder on its own data's held-out split; saves ``eval.json`` beside it, and
    ``nearest.png`` (generated | nearest training image) when the memorisation check ran."""
    from pathlib import Path

    from ..data import load_data
    from ..io import write_json
    from .. import runs
    from ..viz.grids import save_image

    run_dir = Path(run_dir)
    model = runs.load(run_dir)
    spec = model.run_info.get("data") or {}
    if "spec" not in spec:
        raise GenlabError(f"{run_dir}/config.json does not say which data the run used; evaluate it from Python")
    kw = dict(image_size=spec.get("image_size"), channels=spec.get("channels"))
    train, test = load_data(spec["spec"], "train", **kw), load_data(spec["spec"], "test", **kw)
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
    counts = f"{result['n']} held-out images" + (f", {samples} samples" if samples else "")
    lines = [f"{result['model']} on {result['data']} ({counts}, {result['seconds']} s)"]
    lines += [f"features: {text}"] if (text := describe_features(result)) else []
    for key, value in result["metrics"].items():
        name = metric_name(key)
        # counts (classes found) print as counts
        spec = "7.0f" if key == "classes_found" else "12.4f"
        lines.append(f"  {name.title:30s} {fmt(value, spec):>12s}  {name.note}")
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
