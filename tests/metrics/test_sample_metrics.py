import math

import numpy as np
import pytest
import torch
from scipy import linalg

from genlab.metrics import (class_coverage, density_coverage, duplicate_rate, duplicate_reference, fid,
                            inception_score, kid, memorization, precision_recall)


MIX = torch.randn(8, 8, generator=torch.Generator().manual_seed(0)) * 0.3 + torch.eye(8)


def gaussian(n, shift=0.0, scale=1.0, seed=0):
    """Samples of one correlated Gaussian (the same mixing for every seed), shifted and scaled."""
    g = torch.Generator().manual_seed(seed)
    return (torch.randn(n, 8, generator=g) @ MIX) * scale + shift


def fid_numpy(a, b):
    a, b = a.numpy().astype(np.float64), b.numpy().astype(np.float64)
    ca, cb = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    s = linalg.sqrtm(ca @ cb).real
    return float(((a.mean(0) - b.mean(0)) ** 2).sum() + np.trace(ca + cb - 2 * s))


def test_fid_identity_reference_and_shift():
    a, b = gaussian(2000, seed=1), gaussian(2000, shift=0.5, scale=1.3, seed=2)
    assert abs(fid(a, a)) < 1e-6
    assert fid(a, b) == pytest.approx(fid_numpy(a, b), rel=1e-3)
    assert fid(a, gaussian(2000, shift=1.0, seed=3)) > fid(a, gaussian(2000, shift=0.2, seed=3)) > fid(a, gaussian(2000, seed=3))


def test_fid_with_fewer_samples_than_dimensions_matches_the_reference():
    # the sample-space route (Inception's 2048-D features from fewer images) against scipy's sqrtm
    g = torch.Generator().manual_seed(0)
    a, b = torch.randn(50, 64, generator=g), torch.randn(40, 64, generator=g) * 1.3 + 0.2
    assert fid(a, b) == pytest.approx(fid_numpy(a, b), rel=1e-4)
    assert fid(b, a) == pytest.approx(fid_numpy(b, a), rel=1e-4)
    assert abs(fid(a, a)) < 1e-8 * fid(a, b)


def test_kid_unbiased_and_positive_for_shift():
    means = [kid(gaussian(500, seed=s), gaussian(500, seed=100 + s), subsets=20, subset_size=200)[0] for s in range(5)]
    shifted, _ = kid(gaussian(500, seed=1), gaussian(500, shift=1.0, seed=2), subsets=20, subset_size=200)
    assert abs(np.mean(means)) < 0.05 * shifted
    assert shifted > 0.1


def test_inception_score_limits():
    c = 7
    confident_uniform = torch.eye(c).repeat(10, 1)
    assert inception_score(confident_uniform)[0] == pytest.approx(c, abs=1e-6)
    one_class = torch.zeros(50, c)
    one_class[:, 3] = 1
    assert inception_score(one_class)[0] == pytest.approx(1.0, abs=1e-6)


def test_precision_recall_density_coverage():
    a = gaussian(500, seed=1)
    pr = precision_recall(a, a)
    assert pr["precision"] == 1.0 and pr["recall"] == 1.0
    far = precision_recall(a, gaussian(500, shift=100.0, seed=2))
    assert far["precision"] < 0.01 and far["recall"] < 0.01
    same = density_coverage(gaussian(1000, seed=3), gaussian(1000, seed=4))
    assert 0.8 < same["density"] < 1.2 and same["coverage"] > 0.9
    collapsed = density_coverage(gaussian(1000, seed=3), gaussian(1, seed=5).repeat(1000, 1))
    assert collapsed["coverage"] < 0.05


def test_class_coverage_flags_collapse():
    collapsed = class_coverage(torch.full((100,), 4), 10)
    assert collapsed["classes_found"] == 1 and collapsed["entropy"] == 0.0
    assert collapsed["kl_to_uniform"] == pytest.approx(math.log(10))
    uniform = class_coverage(torch.arange(1000) % 10, 10)
    assert uniform["classes_found"] == 10 and uniform["entropy"] == pytest.approx(math.log(10))


def test_duplicates_and_memorization():
    x = torch.rand(50, 1, 8, 8)
    assert duplicate_rate(x[:1].repeat(20, 1, 1, 1), 1e-6) == 1.0
    # the reference distance: real points 0, 1, 2, … apart by 1 (and one pair 0.5 apart) → 1st percentile
    line = torch.cat([torch.arange(100.0), torch.tensor([0.5])]).view(-1, 1)
    assert duplicate_reference(line) == pytest.approx(0.5)
    assert duplicate_reference(line, quantile=0.5) == pytest.approx(1.0)
    assert duplicate_rate(x, 1e-3) == 0.0
    train, test = torch.rand(300, 1, 8, 8), torch.rand(100, 1, 8, 8)
    copies = memorization(train[:40], train, test)
    assert copies["share_closer_than_test"] == 1.0 and copies["nearest_train_index"].tolist() == list(range(40))
    novel = memorization(torch.rand(40, 1, 8, 8), train, test)
    assert novel["share_closer_than_test"] < 0.2
