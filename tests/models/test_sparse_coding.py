import numpy as np
import pytest
import torch

import genlab
from genlab.errors import ConfigError
from genlab.models.sparse_coding import ista, lasso_objective, lipschitz, soft_threshold


def _lasso_problem(seed=0):
    g = torch.Generator().manual_seed(seed)
    D = torch.randn(60, 20, generator=g, dtype=torch.float64)    # well conditioned: few iterations
    x = torch.randn(4, 60, generator=g, dtype=torch.float64)
    return x, D


@pytest.mark.parametrize("fast, iterations", [(True, 200), (False, 300)])
def test_ista_and_fista_reach_the_lasso_optimum(fast, iterations):
    from sklearn.linear_model import Lasso

    x, D = _lasso_problem()
    lam = 4.0
    codes = ista(x, D, lam, iterations=iterations, fast=fast)
    # scikit-learn minimises 1/(2n)·‖y − Xw‖² + α‖w‖₁ with n = rows of X: α = lam / n
    ref = np.stack([Lasso(alpha=lam / D.shape[0], fit_intercept=False, tol=1e-14, max_iter=100_000)
                    .fit(D.numpy(), xi.numpy()).coef_ for xi in x])
    assert (ref == 0).any() and (ref != 0).any()          # a genuinely sparse solution
    assert np.abs(codes.numpy() - ref).max() < 1e-4
    assert torch.allclose(lasso_objective(x, D, codes, lam),
                          lasso_objective(x, D, torch.from_numpy(ref), lam), rtol=1e-8)


def test_fista_converges_faster_than_ista():
    # columns of very different norms: DᵀD is ill-conditioned, where ISTA crawls
    g = torch.Generator().manual_seed(0)
    D = torch.randn(40, 20, generator=g, dtype=torch.float64) * torch.logspace(0, -1.5, 20, dtype=torch.float64)
    x = torch.randn(4, 40, generator=g, dtype=torch.float64)
    best = lasso_objective(x, D, ista(x, D, 0.5, iterations=3000), 0.5)
    gap = lambda fast: float((lasso_objective(x, D, ista(x, D, 0.5, 100, fast=fast), 0.5) - best).sum())  # noqa: E731
    assert 0 <= gap(True) < 0.1 * gap(False)


def test_soft_threshold_and_step_size():
    u = torch.tensor([-2.0, -0.5, 0.0, 0.3, 1.5])
    assert torch.equal(soft_threshold(u, 0.5), torch.tensor([-1.5, 0.0, 0.0, 0.0, 1.0]))
    D = torch.randn(12, 7, dtype=torch.float64)
    assert float(lipschitz(D)) == pytest.approx(float(torch.linalg.matrix_norm(D, 2)) ** 2, rel=1e-10)


@pytest.mark.parametrize("dc", [True, False])
def test_atoms_stay_unit_norm_and_objective_falls(small, dc):
    train, test = small
    torch.manual_seed(0)
    model = genlab.create("sparse-coding", data=train, dc=dc)
    model.prepare(train)
    players = model.players()
    assert [p.name for p in players] == ["dictionary"] and players[0].parameters == [model.dictionary]
    held_out = {"x": test.x}

    def objective():
        torch.manual_seed(1)                   # the same random patches each time
        with torch.no_grad():
            return float(model.dictionary_loss(held_out)["objective"])

    before = objective()
    for epoch in range(2):
        for batch in train.batches(100):
            for player in players:
                player.step(batch)
    norms = model.dictionary.norm(dim=0)
    assert torch.allclose(norms, torch.ones_like(norms), atol=1e-5)
    if dc:  # atoms are zero-mean: brightness is coded apart
        assert model.dictionary.sum(0).abs().max() < 1e-4
    assert objective() < 0.95 * before


def test_patch_tiling_round_trip_and_code_layout():
    # an identity dictionary with no penalty codes every tile as itself: reconstruction is exact,
    # including the zero-padded border of 28×28 images cut into 8×8 tiles
    model = genlab.create("sparse-coding", patch_size=8, atoms=64, lam=0.0, dc=False, iterations=1)
    with torch.no_grad():
        model.dictionary.copy_(torch.eye(64))
    x = torch.rand(3, 1, 28, 28)
    codes = model.encode(x)
    assert codes.shape == (3, 16 * 64)
    assert torch.allclose(model.reconstruct(x), x, atol=1e-6)

    model = genlab.create("sparse-coding", image_shape=(3, 32, 32), atoms=10)
    x = torch.rand(2, 3, 32, 32)
    assert model.encode(x).shape == (2, 16 * (10 + 3))      # per tile: 10 atoms, 3 channel means
    assert model.atoms().shape == (10, 3, 8, 8) and 0 <= model.atoms().min() <= model.atoms().max() <= 1
    assert model.training_vectors(x).shape == (2 * 8, 3 * 64)
    whole = genlab.create("sparse-coding", image_shape=(1, 8, 8), patch_size=0, atoms=30)
    assert whole.encode(torch.rand(5, 1, 8, 8)).shape == (5, 31)
    assert whole.reconstruct(torch.rand(5, 1, 8, 8)).shape == (5, 1, 8, 8)


def test_codes_are_sparse_and_reconstruct(small):
    train, test = small
    torch.manual_seed(0)
    model = genlab.create("sparse-coding", data=train)
    model.prepare(train)
    with torch.no_grad():
        codes = model.encode(test.x[:20]).view(20, 16, -1)[..., :model.config.atoms]
        error = (model.reconstruct(test.x[:20]) - test.x[:20]).pow(2).mean()
    assert (codes == 0).float().mean() > 0.5
    assert error < 0.5 * test.x[:20].var()


def test_psd_encoder_approaches_sparse_codes(small):
    train, test = small
    torch.manual_seed(0)
    model = genlab.create("psd", data=train)
    model.prepare(train)
    players = model.players()
    assert [p.name for p in players] == ["dictionary", "encoder"]

    def relative_error():
        k = model.config.atoms               # compare the atoms' codes (the tiles' means are exact in both)
        with torch.no_grad():
            fast = model.encode(test.x).view(len(test), -1, k + 1)[..., :k]
            best = model.sparse_code(test.x).view(len(test), -1, k + 1)[..., :k]
            return float((fast - best).pow(2).sum() / best.pow(2).sum())

    before = relative_error()
    for epoch in range(4):
        for batch in train.batches(50):
            for player in players:
                player.step(batch)
    after = relative_error()
    assert after < 0.6 * before and after < 0.5
    assert model.encode(test.x[:4]).shape == model.sparse_code(test.x[:4]).shape


def test_bad_configs_refused():
    with pytest.raises(ConfigError, match="patch_size"):
        genlab.create("sparse-coding", patch_size=40)
    with pytest.raises(ConfigError, match="lam"):
        genlab.create("psd", lam=-1.0)
