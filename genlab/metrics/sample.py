"""Sample-quality metrics on judge features (N×D) and class probabilities (N×C).

FID      Heusel et al. 2017: ‖μr − μf‖² + Tr(Σr + Σf − 2(Σr Σf)^½)
KID      Bińkowski et al. 2018: unbiased MMD² with k(x, y) = (xᵀy/d + 1)³, mean over subsets
IS       Salimans et al. 2016: exp E_x KL(p(y|x) ‖ p(y))
P/R      Kynkäänniemi et al. 2019: k-NN balls around real (fake) points cover fake (real) points
D/C      Naeem et al. 2020: density and coverage from real points' k-NN balls
"""
from __future__ import annotations

import math
import warnings

import numpy as np
import torch
from torch import Tensor


def _f64(t) -> Tensor:
    return torch.as_tensor(t).detach().to(torch.float64).flatten(1)


def fid(real_feats, fake_feats) -> float:
    """Fréchet distance between Gaussians fitted to the two feature sets (float64)."""
    from scipy import linalg

    r, f = _f64(real_feats).numpy(), _f64(fake_feats).numpy()
    mu_r, mu_f = r.mean(0), f.mean(0)
    cov_r, cov_f = np.cov(r, rowvar=False), np.cov(f, rowvar=False)
    with warnings.catch_warnings():  # dead ReLU features make Σ singular; the root is still usable
        warnings.simplefilter("ignore", linalg.LinAlgWarning)
        covmean = linalg.sqrtm(cov_r @ cov_f)
    if not np.isfinite(covmean).all():  # near-singular product: regularise as the reference code does
        eps = np.eye(len(cov_r)) * 1e-6
        covmean = linalg.sqrtm((cov_r + eps) @ (cov_f + eps))
    covmean = covmean.real
    return float(((mu_r - mu_f) ** 2).sum() + np.trace(cov_r) + np.trace(cov_f) - 2 * np.trace(covmean))


def _poly_mmd2(x: Tensor, y: Tensor) -> Tensor:
    d = x.shape[1]
    kxx = (x @ x.T / d + 1) ** 3
    kyy = (y @ y.T / d + 1) ** 3
    kxy = (x @ y.T / d + 1) ** 3
    m, n = len(x), len(y)
    return ((kxx.sum() - kxx.diagonal().sum()) / (m * (m - 1)) + (kyy.sum() - kyy.diagonal().sum()) / (n * (n - 1))
            - 2 * kxy.mean())


def kid(real_feats, fake_feats, subsets: int = 100, subset_size: int = 1000, seed: int = 0) -> tuple[float, float]:
    """Kernel Inception Distance: mean and std of the unbiased MMD² over random subsets."""
    r, f = _f64(real_feats), _f64(fake_feats)
    size = min(subset_size, len(r), len(f))
    g = torch.Generator().manual_seed(seed)
    vals = torch.stack([_poly_mmd2(r[torch.randperm(len(r), generator=g)[:size]],
                                   f[torch.randperm(len(f), generator=g)[:size]]) for _ in range(subsets)])
    return float(vals.mean()), float(vals.std())


def inception_score(probs, splits: int = 1) -> tuple[float, float]:
    """exp(E_x KL(p(y|x) ‖ p(y))), mean and std over ``splits`` parts."""
    p = _f64(probs).clamp_min(1e-12)
    scores = []
    for part in p.chunk(splits):
        py = part.mean(0, keepdim=True)
        scores.append(torch.exp((part * (part.log() - py.log())).sum(1).mean()))
    s = torch.stack(scores)
    return float(s.mean()), float(s.std()) if len(s) > 1 else 0.0


def _kth_radius(x: Tensor, k: int) -> Tensor:
    d = torch.cdist(x, x)
    return d.kthvalue(k + 1, dim=1).values  # k+1: the point itself is at distance 0


def precision_recall(real_feats, fake_feats, k: int = 3) -> dict:
    r, f = _f64(real_feats), _f64(fake_feats)
    rr, rf = _kth_radius(r, k), _kth_radius(f, k)
    d = torch.cdist(f, r)  # fake × real
    precision = (d <= rr[None]).any(1).double().mean()
    recall = (d.T <= rf[None]).any(1).double().mean()
    return {"precision": float(precision), "recall": float(recall)}


def density_coverage(real_feats, fake_feats, k: int = 5) -> dict:
    r, f = _f64(real_feats), _f64(fake_feats)
    rr = _kth_radius(r, k)
    inside = torch.cdist(f, r) <= rr[None]  # fake × real
    density = inside.double().sum() / (k * len(f))
    coverage = inside.any(0).double().mean()
    return {"density": float(density), "coverage": float(coverage)}


def class_coverage(probs_or_labels, num_classes: int) -> dict:
    """Histogram of the judge's predicted classes among samples (mode collapse shows as few classes)."""
    t = torch.as_tensor(probs_or_labels)
    labels = t.argmax(1) if t.dim() == 2 else t.long()
    hist = torch.bincount(labels, minlength=num_classes).double()
    p = hist / hist.sum()
    nz = p[p > 0]
    entropy = float(-(nz * nz.log()).sum())
    return {"classes_found": int((hist > 0).sum()), "classes_over_1pct": int((p >= 0.01).sum()),
            "entropy": entropy, "kl_to_uniform": math.log(num_classes) - entropy, "histogram": hist.long().tolist()}


def nearest_neighbours(queries, reference, batch: int = 1024) -> tuple[Tensor, Tensor]:
    """Exact L2 nearest neighbour in ``reference`` of each query (flattened)."""
    q, ref = _f64(queries), _f64(reference)
    dist, idx = [], []
    for i in range(0, len(q), batch):
        d = torch.cdist(q[i:i + batch], ref)
        v, j = d.min(1)
        dist.append(v)
        idx.append(j)
    return torch.cat(dist), torch.cat(idx)


def duplicate_rate(samples, threshold: float) -> float:
    """Share of samples whose nearest other sample lies within ``threshold`` (L2; images flattened)."""
    x = _f64(samples)
    d = torch.cdist(x, x)
    d.fill_diagonal_(float("inf"))
    return float((d.min(1).values <= threshold).double().mean())


def memorization(fake, train, test, fake_feats=None, train_feats=None, test_feats=None) -> dict:
    """Nearest training image of each generated sample, in pixel space (and feature space if given).

    ``typical_test_distance``: median over test images of the distance to their nearest training
    image. ``share_closer_than_test``: share of samples nearer to a training image than the 5th
    percentile of those test distances — copies of training images score ≈ 1, novel samples ≈ 0.
    """
    d_fake, idx = nearest_neighbours(fake, train)
    d_test, _ = nearest_neighbours(test, train)
    out = {"nearest_train_index": idx, "nearest_train_distance": d_fake,
           "typical_test_distance": float(d_test.median()),
           "share_closer_than_test": float((d_fake < d_test.quantile(0.05)).double().mean())}
    if fake_feats is not None and train_feats is not None:
        fd, fidx = nearest_neighbours(fake_feats, train_feats)
        out["nearest_train_index_features"] = fidx
        if test_feats is not None:
            td, _ = nearest_neighbours(test_feats, train_feats)
            out["share_closer_than_test_features"] = float((fd < td.quantile(0.05)).double().mean())
    return out
