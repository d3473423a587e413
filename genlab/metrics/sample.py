"""Sample-quality metrics on judge features (N×D) and class probabilities (N×C).

FID      Heusel et al. 2017: ‖μr − μf‖² + Tr(Σr + Σf − 2(Σr Σf)^½)
KID      Bińkowski et al. 2018: unbiased MMD² with k(x, y) = (xᵀy/d + 1)³, mean over subsets
IS       Salimans et al. 2016: exp E_x KL(p(y|x) ‖ p(y))
P/R      Kynkäänniemi et al. 2019: k-NN balls around real (fake) points cover fake (real) points
D/C      Naeem et al. 2020: density and coverage from real points' k-NN balls
requested-class accuracy   share of a conditional generator's samples judged the class asked for
matched code agreement     an unsupervised code (InfoGAN's c1) against labels, after Hungarian matching
"""
from __future__ import annotations

import math

import numpy as np
import torch
from torch import Tensor

from ._blas import one_blas_thread


def _f64(t) -> Tensor:
    return torch.as_tensor(t).detach().to(torch.float64).flatten(1)


def fid(real_feats, fake_feats) -> float:
    """Fréchet distance between Gaussians fitted to the two feature sets (float64).

    Tr((Σr Σf)^½) is the sum of the square roots of the eigenvalues of Σr Σf, which has the
    spectrum of the symmetric PSD matrix Σr^½ Σf Σr^½ — the same number scipy's ``sqrtm`` route
    gives, without its cost (a minute for 2048-D Inception features) or its complex round-off.
    With fewer samples than dimensions the non-zero spectrum is found in sample space instead:
    Σr Σf = Arᵀ K Af / c with K = Ar Afᵀ (centred features), so its eigenvalues are those of K Kᵀ / c
    where c = (nr − 1)(nf − 1) — exact, and never forms a D×D matrix.
    """
    r, f = _f64(real_feats).numpy(), _f64(fake_feats).numpy()
    ar, af = r - r.mean(0), f - f.mean(0)
    mean_term = float(((r.mean(0) - f.mean(0)) ** 2).sum())
    trace_r, trace_f = (ar ** 2).sum() / (len(r) - 1), (af ** 2).sum() / (len(f) - 1)
    with one_blas_thread():
        if min(len(r), len(f)) < r.shape[1]:
            k = ar @ af.T
            lam = np.linalg.eigvalsh(k @ k.T if len(r) <= len(f) else k.T @ k) / ((len(r) - 1) * (len(f) - 1))
        else:
            cov_r, cov_f = ar.T @ ar / (len(r) - 1), af.T @ af / (len(f) - 1)
            w, v = np.linalg.eigh(cov_r)
            root = (v * np.sqrt(np.clip(w, 0, None))) @ v.T
            lam = np.linalg.eigvalsh(root @ cov_f @ root)
    trace_root = float(np.sqrt(np.clip(lam, 0, None)).sum())  # round-off can leave tiny negatives
    return mean_term + float(trace_r + trace_f) - 2 * trace_root


def _poly_kernel(x: Tensor, y: Tensor) -> Tensor:
    return (x @ y.T / x.shape[1] + 1) ** 3


def _mmd2_from_kernels(kxx: Tensor, kyy: Tensor, kxy: Tensor) -> Tensor:
    m, n = len(kxx), len(kyy)
    return ((kxx.sum() - kxx.diagonal().sum()) / (m * (m - 1)) + (kyy.sum() - kyy.diagonal().sum()) / (n * (n - 1))
            - 2 * kxy.mean())


def _poly_mmd2(x: Tensor, y: Tensor) -> Tensor:
    return _mmd2_from_kernels(_poly_kernel(x, x), _poly_kernel(y, y), _poly_kernel(x, y))


KID_FULL_KERNEL_LIMIT = 4000  # up to this many points per set the three kernel matrices are computed once


def kid(real_feats, fake_feats, subsets: int = 100, subset_size: int = 1000, seed: int = 0) -> tuple[float, float]:
    """Kernel Inception Distance: mean and std of the unbiased MMD² over random subsets.

    The kernel values of a subset are a sub-matrix of the full kernel matrices, so those are
    computed once and every subset's sums come from one matrix product with the subsets' 0/1
    membership rows. When a subset is the whole of both sets every subset has the same value,
    computed once (std 0).
    """
    r, f = _f64(real_feats), _f64(fake_feats)
    size = min(subset_size, len(r), len(f))
    if size < 2:
        raise ValueError(f"KID needs at least 2 points per set, got {len(r)} and {len(f)}")
    if size == len(r) == len(f):
        return float(_poly_mmd2(r, f)), 0.0
    g = torch.Generator().manual_seed(seed)
    picks = [(torch.randperm(len(r), generator=g)[:size], torch.randperm(len(f), generator=g)[:size])
             for _ in range(subsets)]
    if max(len(r), len(f)) > KID_FULL_KERNEL_LIMIT:
        vals = torch.stack([_poly_mmd2(r[i], f[j]) for i, j in picks])
        return float(vals.mean()), float(vals.std())
    # subset sums of kernel entries as quadratic forms with 0/1 membership rows: Σ_{i,j∈S} K_ij = 1_Sᵀ K 1_S
    wr = torch.zeros(subsets, len(r), dtype=torch.float64).scatter_(1, torch.stack([i for i, _ in picks]), 1.0)
    wf = torch.zeros(subsets, len(f), dtype=torch.float64).scatter_(1, torch.stack([j for _, j in picks]), 1.0)
    kxx, kyy, kxy = _poly_kernel(r, r), _poly_kernel(f, f), _poly_kernel(r, f)
    sxx = ((wr @ kxx) * wr).sum(1) - wr @ kxx.diagonal()  # off-diagonal entries only (unbiased)
    syy = ((wf @ kyy) * wf).sum(1) - wf @ kyy.diagonal()
    sxy = ((wr @ kxy) * wf).sum(1)
    vals = (sxx + syy) / (size * (size - 1)) - 2 * sxy / size ** 2
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


def duplicate_reference(real, quantile: float = 0.01) -> float:
    """Near-duplicate distance for :func:`duplicate_rate`: the 1st percentile of real images'
    nearest-neighbour distances, measured on as many real images as samples are drawn (the
    nearest neighbour comes closer as the set grows)."""
    x = _f64(real)
    d = torch.cdist(x, x)
    d.fill_diagonal_(float("inf"))
    return float(d.min(1).values.quantile(quantile))


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


def _labels(t) -> Tensor:
    """Class indices from N labels or N×C probabilities."""
    t = torch.as_tensor(t)
    return (t.argmax(1) if t.dim() == 2 else t.flatten()).long().cpu()


def requested_class_accuracy(requested, judged, num_classes: int | None = None) -> dict:
    """How often a conditional generator draws the class it was asked for.

    ``requested``: the N labels given to ``sample(n, y)``; ``judged``: a classifier's labels for
    those images (N, or N×C probabilities). Returns ``accuracy`` (share judged the requested class)
    and ``per_class`` (that share for each requested class; None for a class never requested).
    """
    req, got = _labels(requested), _labels(judged)
    if len(req) != len(got) or not len(req):
        raise ValueError(f"need as many judged labels as requested ones (and at least one), got {len(req)} and {len(got)}")
    k = num_classes or int(max(req.max(), got.max())) + 1
    hit = (req == got).double()
    asked = torch.bincount(req, minlength=k).double()
    right = torch.bincount(req, weights=hit, minlength=k)
    per_class = [float(r / a) if a else None for r, a in zip(right, asked)]
    return {"accuracy": float(hit.mean()), "per_class": per_class}


def matched_code_agreement(codes, labels, num_codes: int | None = None, num_classes: int | None = None) -> dict:
    """Agreement of an unsupervised categorical code with class labels, after the best one-to-one
    matching of code values to classes (Hungarian algorithm on the code × class count matrix).

    Used for InfoGAN's c1 against a judge's labels of the generated images (or Q's reading of real
    images against their labels): label names are arbitrary, so code 3 may well mean digit 7.
    Returns ``agreement`` (share of items whose code maps to their label), ``mapping`` (class for
    each code value; −1 where a code is left unmatched because there are more codes than classes),
    ``purity`` (the same share when each code value may map to its most common class, many to one:
    purity well above agreement means classes split over codes or merged into one) and
    ``confusion`` (codes × classes counts).
    """
    from scipy.optimize import linear_sum_assignment

    c, y = _labels(codes), _labels(labels)
    if len(c) != len(y) or not len(c):
        raise ValueError(f"need as many labels as codes (and at least one), got {len(c)} and {len(y)}")
    kc = num_codes or int(c.max()) + 1
    ky = num_classes or int(y.max()) + 1
    confusion = torch.bincount(c * ky + y, minlength=kc * ky).view(kc, ky)
    rows, cols = linear_sum_assignment(confusion.numpy(), maximize=True)
    mapping = [-1] * kc
    for r, col in zip(rows, cols):
        mapping[int(r)] = int(col)
    agreement = float(confusion[rows, cols].sum()) / len(c)
    purity = float(confusion.max(1).values.sum()) / len(c)
    return {"agreement": agreement, "mapping": mapping, "purity": purity, "confusion": confusion.tolist()}
