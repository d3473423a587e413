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


def not_applicable(model, metric: str, train: ImageData) -> str | None:
    caps = model.capabilities()
    if metric in SAMPLE_METRICS and "sample" not in caps:
        return f"needs generated samples; {model.registry_name} cannot sample (it can: {', '.join(caps)})"
    if metric in ("is", "coverage") and train.y is None:
        return "needs a labelled dataset to train the judge's classifier"
    if metric in ("fid", "kid", "pr", "memorization") and train.y is None:
        return "needs a labelled dataset to train the judge's feature extractor"
    if metric == "nll" and not (callable(getattr(model, "decoder_log_prob", None))
                                or callable(getattr(model, "log_prob", None))):
        return "needs a likelihood: an encoder/decoder density (VAE) or an exact log_prob"
    if metric in ("psnr", "ssim") and "reconstruct" not in caps:
        return f"needs reconstructions; {model.registry_name} cannot reconstruct"
    if metric == "probe" and ("encode" not in caps or train.y is None):
        return "needs an encoder and labelled data"
    return None


@torch.no_grad()
def evaluate(model, train: ImageData, test: ImageData, data_spec: str, metrics: list[str] | None = None,
             n: int = 1000, iwae_k: int = 100, seed: int = 0, progress: bool = False) -> dict:
    """Compute ``metrics`` (default: all applicable) on ``n`` held-out images and ``n`` samples."""
    from ..metrics import image as im
    from ..metrics import likelihood as lk
    from ..metrics import representation as rep
    from ..metrics import sample as sm

    started = time.perf_counter()
    if n < 2:
        raise ConfigError(f"--n must be at least 2, got {n}")
    model.eval()
    model.check_input(test.x[:1])
    wanted = metrics or list(METRICS)
    skipped = {m: why for m in wanted if (why := not_applicable(model, m, train))}
    todo = [m for m in wanted if m not in skipped]
    real = test.spread(n)
    out: dict = {"model": model.registry_name, "data": data_spec, "n": len(real), "seed": seed}
    values: dict[str, float] = {}

    judge = judge_info = None
    if any(m in SAMPLE_METRICS for m in todo):
        from ..metrics.judge import get_judge

        judge, judge_info = get_judge(data_spec, tuple(train.shape), progress=progress)
        out["judge"] = {k: judge_info[k] for k in ("data", "test_accuracy") if k in judge_info}
        torch.manual_seed(seed)
        fake = _batched(lambda x: model.sample(len(x)), torch.empty(len(real), 0)).clamp(0, 1).cpu()
        real_f, fake_f = judge.features_of(real.x), judge.features_of(fake)
        if "fid" in todo:
            values["fid"] = sm.fid(real_f, fake_f)
        if "kid" in todo:
            values["kid"], values["kid_std"] = sm.kid(real_f, fake_f, seed=seed)
        if "is" in todo:
            values["is"], values["is_std"] = sm.inception_score(judge.probs_of(fake), splits=10)
        if "pr" in todo:
            values.update(sm.precision_recall(real_f, fake_f))
        if "coverage" in todo:
            values.update(sm.density_coverage(real_f, fake_f))
            cc = sm.class_coverage(judge.probs_of(fake), train.num_classes)
            values.update({"classes_found": cc["classes_found"], "class_entropy": cc["entropy"],
                           "class_kl_to_uniform": cc["kl_to_uniform"]})
            values["duplicate_rate"] = sm.duplicate_rate(fake_f, _duplicate_threshold(real_f))
        if "memorization" in todo:
            base = train.spread(5000)
            mem = sm.memorization(fake, base.x, real.x, fake_f, judge.features_of(base.x), real_f)
            values["memorized_share"] = float(mem["share_closer_than_test"])
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


def _duplicate_threshold(real_feats: torch.Tensor) -> float:
    """Near-duplicate: closer than the 1st percentile of real images' nearest-neighbour distances."""
    d = torch.cdist(real_feats, real_feats)
    d.fill_diagonal_(float("inf"))
    return float(d.min(1).values.quantile(0.01))


def evaluate_run(run_dir, metrics: list[str] | None = None, n: int = 1000, iwae_k: int = 100, seed: int = 0,
                 save: bool = True) -> dict:
    """Evaluate a run folder on its own data's held-out split; saves ``eval.json`` beside it."""
    from pathlib import Path

    from ..data import load_data
    from ..io import write_json
    from ..train import runs

    run_dir = Path(run_dir)
    model = runs.load(run_dir)
    spec = model.run_info.get("data") or {}
    if "spec" not in spec:
        raise GenlabError(f"{run_dir}/config.json does not say which data the run used; evaluate it from Python")
    kw = dict(image_size=spec.get("image_size"), channels=spec.get("channels"))
    train, test = load_data(spec["spec"], "train", **kw), load_data(spec["spec"], "test", **kw)
    result = evaluate(model, train, test, spec["spec"], metrics, n=n, iwae_k=iwae_k, seed=seed)
    if save:
        write_json(run_dir / "eval.json", result)
    return result


LABELS = {
    "fid": ("FID (judge features)", "lower is better"), "kid": ("KID ×1", "lower is better"),
    "is": ("Inception score (judge)", "higher is better, max = classes"),
    "precision": ("precision (k-NN)", "share of samples on the real manifold"),
    "recall": ("recall (k-NN)", "share of real images covered by samples"),
    "density": ("density", "≈1 for real-like samples"), "coverage": ("coverage", "share of real neighbourhoods hit"),
    "classes_found": ("classes found", "by the judge among samples"), "class_entropy": ("class entropy", "nats"),
    "class_kl_to_uniform": ("KL to uniform classes", "0 = balanced"),
    "duplicate_rate": ("near-duplicate rate", "mode collapse when high"),
    "memorized_share": ("memorized share", "samples closer to train than test images are"),
    "neg_elbo": ("−ELBO", "nats per image"), "iwae_nll": ("IWAE NLL", "nats per image"),
    "nll": ("NLL", "nats per image"), "bits_per_dim": ("bits/dim", ""), "mse": ("MSE", "per pixel"),
    "psnr": ("PSNR", "dB"), "ssim": ("SSIM", ""), "probe_codes": ("linear probe: codes", "accuracy"),
    "probe_pixels": ("linear probe: pixels", "accuracy"), "probe_pca": ("linear probe: PCA same dim", "accuracy"),
}


def format_table(result: dict) -> str:
    lines = [f"{result['model']} on {result['data']} ({result['n']} held-out images, {result['seconds']} s)"]
    if "judge" in result:
        lines.append(f"judge: trained on {result['judge'].get('data')}, test accuracy "
                     f"{result['judge'].get('test_accuracy', float('nan')):.4f}")
    for key, value in result["metrics"].items():
        label, note = LABELS.get(key, (key, ""))
        lines.append(f"  {label:28s} {value:12.4f}  {note}")
    for key, why in result["not_applicable"].items():
        lines.append(f"  {key:28s} {'n/a':>12s}  {why}")
    return "\n".join(lines)
