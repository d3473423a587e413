"""`evaluate`: every metric a model can serve, on held-out data, with a judge network's eyes.

Metrics and what they need:
    fid, kid, is, pr, coverage, memorization   sample (generated images judged against real ones)
    nll                                        posterior + decoder density (−ELBO, IWAE) or log_prob
    psnr, ssim                                 reconstruct
    probe                                      encode (+ labels)
"""
from __future__ import annotations

import time

import torch

from ..data import ImageData
from ..errors import ConfigError, GenlabError

METRICS = ("fid", "kid", "is", "pr", "coverage", "memorization", "nll", "psnr", "ssim", "probe")
SAMPLE_METRICS = ("fid", "kid", "is", "pr", "coverage", "memorization")


def parse_metrics(text: str | None) -> list[str]:
    if not text:
        return list(METRICS)
    chosen = [m.strip().lower() for m in text.split(",") if m.strip()]
    unknown = [m for m in chosen if m not in METRICS]
    if unknown:
        raise ConfigError(f"unknown metric(s) {', '.join(unknown)}; choose from {','.join(METRICS)}")
    return chosen


def _batched(fn, x: torch.Tensor, batch_size: int = 500) -> torch.Tensor:
    return torch.cat([fn(x[i:i + batch_size]) for i in range(0, len(x), batch_size)])


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


def not_applicable(model, metric: str, train: ImageData, features: str | None = "judge",
                   no_features: str = "") -> str | None:
    caps = model.capabilities()
    if metric in SAMPLE_METRICS and "sample" not in caps:
        hint = model.missing_capability_hints.get("sample")
        return (f"needs generated samples; {model.registry_name} cannot sample (it can: {', '.join(caps)})"
                + (f"; {hint}" if hint else ""))
    if metric in SAMPLE_METRICS and features is None:
        return no_features or "needs a labelled dataset to train the judge's feature extractor"
    if metric == "nll" and not (callable(getattr(model, "decoder_log_prob", None))
                                or callable(getattr(model, "log_prob", None))):
        return "needs a likelihood: an encoder/decoder density (VAE) or an exact log_prob"
    if metric in ("psnr", "ssim") and "reconstruct" not in caps:
        return f"needs reconstructions; {model.registry_name} cannot reconstruct"
    if metric == "probe" and ("encode" not in caps or train.y is None):
        return "needs an encoder and labelled data"
    return None


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
    from ..metrics import image as im
    from ..metrics import likelihood as lk
    from ..metrics import representation as rep
    from ..metrics import sample as sm

    started = time.perf_counter()
    log = log or (print if progress else (lambda message: None))
    if n < 2:
        raise ConfigError(f"--n must be at least 2, got {n}")
    model.eval()
    model.check_input(test.x[:1])
    wanted = metrics or list(METRICS)
    sampling = "sample" in model.capabilities() and any(m in SAMPLE_METRICS for m in wanted)
    features, reason = choose_features(feature_extractor, train) if sampling else (None, "")
    skipped = {m: why for m in wanted if (why := not_applicable(model, m, train, features, reason))}
    todo = [m for m in wanted if m not in skipped]
    real = test.spread(n)
    out: dict = {"model": model.registry_name, "data": data_spec, "n": len(real), "seed": seed}
    values: dict[str, float] = {}

    if any(m in SAMPLE_METRICS for m in todo):
        net, net_info = _feature_network(features, data_spec, train, model.device, log)
        out["features"] = net_info
        if features == "judge":
            out["judge"] = {k: net_info[k] for k in ("data", "test_accuracy")}  # kept for older readers
        torch.manual_seed(seed)
        fake = _batched(lambda x: model.sample(len(x)), torch.empty(len(real), 0)).clamp(0, 1).cpu()
        real_f = net.features_of(real.x)
        fake_f, fake_p = net.embed(fake)
        if "fid" in todo:
            values["fid"] = sm.fid(real_f, fake_f)
        if "kid" in todo:
            values["kid"], values["kid_std"] = sm.kid(real_f, fake_f, seed=seed)
        if "is" in todo:
            values["is"], values["is_std"] = sm.inception_score(fake_p, splits=10)
        if "pr" in todo:
            values.update(sm.precision_recall(real_f, fake_f))
        if "coverage" in todo:
            values.update(sm.density_coverage(real_f, fake_f))
            if features == "judge":
                cc = sm.class_coverage(fake_p, train.num_classes)
                values.update({"classes_found": cc["classes_found"], "class_entropy": cc["entropy"],
                               "class_kl_to_uniform": cc["kl_to_uniform"]})
            else:
                skipped["class_coverage"] = "Inception-v3's 1008 ImageNet classes are not the data's classes"
            # in pixels, as the training diagnostics: the judge's features of immature, low-contrast
            # samples are all small, so distinct fuzzy digits counted as duplicates in feature space
            values["duplicate_rate"] = sm.duplicate_rate(fake.flatten(1), sm.duplicate_reference(real.x))
        if "memorization" in todo:
            base = train.spread(MEMORIZATION_BASE)
            base_f = _train_features(net, features, base, data_spec, log)
            mem = sm.memorization(fake, base.x, real.x, fake_f, base_f, real_f)
            values["memorized_share"] = float(mem["share_closer_than_test"])
            if "share_closer_than_test_features" in mem:
                values["memorized_share_features"] = mem["share_closer_than_test_features"]
            if images is not None:
                images["nearest"] = nearest_grid(fake, base.x, mem, features)
    if "nll" in todo:
        if callable(getattr(model, "decoder_log_prob", None)):
            values["neg_elbo"] = lk.negative_elbo(model, real.x, seed=seed)
            values["iwae_nll"] = lk.iwae_nll(model, real.x, k=iwae_k, seed=seed)
            out["iwae_k"] = iwae_k
        else:
            nll = float(-_batched(model.log_prob, real.x).mean())
            values["nll"] = nll
            values["bits_per_dim"] = lk.bits_per_dim(nll, real.x[0].numel())
    if "psnr" in todo or "ssim" in todo:
        recon = _batched(model.reconstruct, real.x).clamp(0, 1)
        values["mse"] = im.mse(recon, real.x)
        if "psnr" in todo:
            values["psnr"] = im.psnr(recon, real.x)
        if "ssim" in todo:
            values["ssim"] = im.ssim(recon, real.x)
    if "probe" in todo:
        base = train.spread(2000)
        table = rep.probe_table(_batched(model.encode, base.x).flatten(1), base.y,
                                _batched(model.encode, real.x).flatten(1), real.y, base.x.flatten(1),
                                real.x.flatten(1), seed=seed)
        values.update({f"probe_{k}": v for k, v in table.items()})
    out["metrics"] = {k: float(v) for k, v in values.items()}
    out["not_applicable"] = skipped
    out["seconds"] = round(time.perf_counter() - started, 2)
    return out


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
    """Seed 003's memorisation check as a picture: the ``k`` samples nearest to a training image
    (pixel L2), each above its nearest training image in pixel space and in feature space."""
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
    from ..train import runs
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


LABELS = {
    "fid": ("FID", "lower is better"), "kid": ("KID", "lower is better"),
    "is": ("Inception score", "higher is better, max = classes"),
    "precision": ("precision (k-NN)", "share of samples on the real manifold"),
    "recall": ("recall (k-NN)", "share of real images covered by samples"),
    "density": ("density", "≈1 for real-like samples"), "coverage": ("coverage", "share of real neighbourhoods hit"),
    "classes_found": ("classes found", "by the judge among samples"), "class_entropy": ("class entropy", "nats"),
    "class_kl_to_uniform": ("KL to uniform classes", "0 = balanced"),
    "duplicate_rate": ("near-duplicate rate", "mode collapse when high"),
    "memorized_share": ("memorized share", "samples closer to train than test images are"),
    "memorized_share_features": ("memorized share (features)", "the same in feature space"),
    "neg_elbo": ("−ELBO", "nats per image"), "iwae_nll": ("IWAE NLL", "nats per image"),
    "nll": ("NLL", "nats per image"), "bits_per_dim": ("bits/dim", ""), "mse": ("MSE", "per pixel"),
    "psnr": ("PSNR", "dB"), "ssim": ("SSIM", ""), "probe_codes": ("linear probe: codes", "accuracy"),
    "probe_pixels": ("linear probe: pixels", "accuracy"), "probe_pca": ("linear probe: PCA same dim", "accuracy"),
}


def describe_features(result: dict) -> str:
    """Which network the sample metrics looked through, in words ("" when none ran)."""
    info = result.get("features") or ({"name": "judge", **result["judge"]} if "judge" in result else None)
    if not info:
        return ""
    if info.get("name") == "inception":
        return f"Inception-v3 (FID weights, 2048-D pool features) from {info.get('weights')}"
    return (f"judge classifier trained on {info.get('data')}, test accuracy "
            f"{info.get('test_accuracy', float('nan')):.4f} ({info.get('feature_dim', 128)}-D penultimate features)")


def format_table(result: dict) -> str:
    lines = [f"{result['model']} on {result['data']} ({result['n']} held-out images, {result['seconds']} s)"]
    lines += [f"features: {text}"] if (text := describe_features(result)) else []
    for key, value in result["metrics"].items():
        label, note = LABELS.get(key, (key, ""))
        lines.append(f"  {label:28s} {value:12.4f}  {note}")
    for key, why in result["not_applicable"].items():
        lines.append(f"  {key:28s} {'n/a':>12s}  {why}")
    return "\n".join(lines)
