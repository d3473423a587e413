"""The 2-D toy targets: a ring of 8 Gaussians, two moons, a swiss roll (shapes, ranges, their modes)."""
import math

import pytest
import torch

from genlab.data.toy2d import (
    RING_MODES,
    RING_RADIUS,
    RING_STD,
    SWISSROLL_SCALE,
    TARGETS,
    ring_centres,
    toy_points,
)
from genlab.errors import ConfigError


@pytest.mark.parametrize("name", TARGETS)
def test_shape_dtype_and_range(name):
    x = toy_points(name, 2000, seed=3)
    assert x.shape == (2000, 2) and x.dtype == torch.float32
    assert torch.isfinite(x).all()
    extent = x.abs().max().item()
    assert 1.0 < extent < 1.7          # fills about [−1.5, 1.5]², not more
    assert x.mean(0).abs().max() < 0.3   # centred, so one view fits every target


def test_ring_is_eight_clusters_at_radius_r():
    x = toy_points("ring", 4000)
    centres = ring_centres()
    assert centres.shape == (RING_MODES, 2)
    assert torch.allclose(centres.norm(dim=1), torch.full((8,), RING_RADIUS))
    dist, mode = torch.cdist(x, centres).min(1)
    assert dist.max() < 6 * RING_STD                  # every point sits in one tight cluster
    assert (dist.pow(2).mean() / 2).sqrt() == pytest.approx(RING_STD, rel=0.1)   # per-axis σ
    counts = torch.bincount(mode, minlength=RING_MODES)
    assert counts.min() > 4000 / 8 * 0.8             # all 8 modes, about equally often
    assert x.norm(dim=1).mean() == pytest.approx(RING_RADIUS, abs=0.01)
    assert x.norm(dim=1).min() > RING_RADIUS - 0.3   # a ring: nothing in the middle


def test_moons_are_two_arcs():
    x = toy_points("moons", 4000)
    t = torch.linspace(0, math.pi, 2000)
    shift, scale = torch.tensor([0.5, 0.25]), 0.9
    upper = (torch.stack([t.cos(), t.sin()], 1) - shift) * scale
    lower = (torch.stack([1 - t.cos(), 0.5 - t.sin()], 1) - shift) * scale
    d_up, d_low = torch.cdist(x, upper).min(1).values, torch.cdist(x, lower).min(1).values
    assert torch.minimum(d_up, d_low).mean() < 0.06    # on an arc, up to the noise
    on_upper = (d_up < d_low).float().mean()
    assert on_upper == pytest.approx(0.5, abs=0.04)    # half the points on each moon
    # the arcs are apart: the upper moon's points lie far from the lower arc, and vice versa
    assert d_low[d_up < d_low].median() > 0.3 and d_up[d_low < d_up].median() > 0.3


def test_swiss_roll_is_a_spiral():
    x = toy_points("swissroll", 4000)
    r = x.norm(dim=1)
    assert r.min() > 0.35 and r.max() < 1.55             # t from 1.5π to 4.5π: radius 0.47 → 1.4
    t = torch.linspace(1.5 * math.pi, 4.5 * math.pi, 8000)
    spiral = torch.stack([t * t.cos(), t * t.sin()], 1) * SWISSROLL_SCALE
    assert torch.cdist(x, spiral).min(1).values.mean() < 0.05
    # a spiral, not a disc: radius grows with the unwrapped angle, so points at one angle come in
    # separate turns; along the ray at angle 0 the radii cluster near the spiral's crossings
    ray = x[(x[:, 1].abs() < 0.04) & (x[:, 0] > 0)][:, 0]
    crossings = SWISSROLL_SCALE * torch.tensor([2 * math.pi, 4 * math.pi])
    assert len(ray) > 10
    assert (ray[:, None] - crossings).abs().min(1).values.max() < 0.15


def test_deterministic_given_seed_and_generator():
    assert torch.equal(toy_points("ring", 100, seed=5), toy_points("ring", 100, seed=5))
    assert not torch.equal(toy_points("ring", 100, seed=5), toy_points("ring", 100, seed=6))
    g1, g2 = torch.Generator().manual_seed(1), torch.Generator().manual_seed(1)
    a1, b1 = toy_points("moons", 50, generator=g1), toy_points("moons", 50, generator=g1)
    assert not torch.equal(a1, b1)                        # a kept generator gives fresh draws
    assert torch.equal(a1, toy_points("moons", 50, generator=g2))
    state = torch.get_rng_state()
    toy_points("swissroll", 10)
    assert torch.equal(state, torch.get_rng_state())      # the global stream is not touched


@pytest.mark.parametrize("name, n", [("rings", 10), ("spiral", 10), ("ring", 0), ("ring", 2.5)])
def test_bad_arguments(name, n):
    with pytest.raises(ConfigError) as err:
        toy_points(name, n)
    assert "\n" not in str(err.value)
    if name == "rings":
        assert "did you mean 'ring'" in str(err.value)
