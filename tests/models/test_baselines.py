import math

import numpy as np
import pytest
import torch

import genlab
from genlab.errors import CapabilityError, ConfigError


def _correlated_images(n=80, shape=(1, 3, 4), seed=0):
    """Images whose pixels are correlated (a low-rank signal plus small noise)."""
    g = torch.Generator().manual_seed(seed)
    d = math.prod(shape)
    basis = torch.randn(4, d, generator=g, dtype=torch.float64)
    x = 0.5 + 0.1 * torch.randn(n, 4, generator=g, dtype=torch.float64) @ basis \
        + 0.01 * torch.randn(n, d, generator=g, dtype=torch.float64)
    return x.float().view(n, *shape)


def _fitted(name, x, **config):
    model = genlab.create(name, image_shape=tuple(x.shape[1:]), **config)
    return model.fit(x)


def test_pca_full_reconstruction_exact_and_error_falls_with_k():
    x = _correlated_images()
    model = _fitted("pca", x, latent_dim=3)
    d = x[0].numel()
    assert torch.allclose(model.project(x, k=d), x, atol=1e-5)
    errors = [float((model.project(x, k=k) - x).pow(2).mean()) for k in range(1, d + 1)]
    assert all(b <= a + 1e-9 for a, b in zip(errors, errors[1:]))
    assert errors[0] > 100 * errors[-1]
    # the error of the top-k projection is the variance left in the other directions
    values = model.eigenvalues.double()
    for k in (1, 3, 6):
        assert errors[k - 1] * d == pytest.approx(float(values[k:].sum()), rel=1e-3)
    assert model.encode(x).shape == (len(x), 3)
    assert model.reconstruct(x).shape == x.shape


def test_pca_matches_sklearn():
    from sklearn.decomposition import PCA

    x = _correlated_images(n=60)
    flat = x.flatten(1).double().numpy()
    ours = _fitted("pca", x, latent_dim=5)
    ref = PCA(5, svd_solver="full").fit(flat)
    comps = ours.components[:5].double().numpy()
    assert np.allclose(np.abs((comps * ref.components_).sum(1)), 1.0, atol=1e-4)  # same axes up to sign
    signs = np.sign((comps * ref.components_).sum(1))
    assert np.allclose(ours.encode(x).double().numpy() * signs, ref.transform(flat), atol=1e-4)
    # the seed's Λ = S²/N; scikit-learn reports the unbiased S²/(N − 1)
    n = len(x)
    assert np.allclose(ours.eigenvalues[:5].double().numpy() * n / (n - 1), ref.explained_variance_, rtol=1e-4)
    assert np.allclose(ours.mean.numpy(), ref.mean_, atol=1e-6)


def test_pca_keeps_every_component_when_fewer_images_than_pixels():
    x = _correlated_images(n=5)                 # 5 images, 12 pixels: rank 4 after centring
    model = _fitted("pca", x, latent_dim=2)
    assert model.components.shape == (12, 12) and int(model.rank) == 4
    assert torch.allclose(model.project(x, k=4), x, atol=1e-5)
    assert torch.allclose(model.project(x, k=12), model.project(x, k=4), atol=1e-6)


def test_gaussian_log_prob_matches_scipy():
    from scipy.stats import multivariate_normal

    x = _correlated_images(n=50, shape=(1, 2, 3))
    flat = x.flatten(1).double().numpy()
    test = _correlated_images(n=7, shape=(1, 2, 3), seed=1)
    for k, eps in ((0, 1e-3), (2, 1e-2)):
        model = _fitted("gaussian", x, latent_dim=k, eps=eps)
        # Σ = Ê_k Λ̂_k Ê_kᵀ + ε I from NumPy's own eigen-decomposition of the 1/N covariance
        values, vectors = np.linalg.eigh(np.cov(flat, rowvar=False, bias=True))
        top = slice(None) if k == 0 else slice(-k, None)
        cov = (vectors[:, top] * values[top]) @ vectors[:, top].T + eps * np.eye(6)
        assert np.allclose(model.covariance().double().numpy(), cov, atol=1e-6)
        want = multivariate_normal(flat.mean(0), cov).logpdf(test.flatten(1).double().numpy())
        assert np.allclose(model.log_prob(test).double().numpy(), want, rtol=1e-4, atol=1e-3)


def test_gaussian_samples_have_model_covariance():
    x = _correlated_images(n=100, shape=(1, 2, 3))
    for k in (0, 2):
        model = _fitted("gaussian", x, latent_dim=k, eps=1e-3)
        s = model.sample(100_000, generator=torch.Generator().manual_seed(0)).flatten(1).double()
        emp = torch.cov(s.T)
        cov = model.covariance().double()
        assert (emp - cov).abs().max() < 0.02 * cov.abs().max()
        assert torch.allclose(s.mean(0), model.mean.double(), atol=0.01)
        hot = model.sample(50_000, temperature=2.0, generator=torch.Generator().manual_seed(1)).flatten(1).double()
        assert torch.cov(hot.T).trace() == pytest.approx(4 * float(cov.trace()), rel=0.03)


@pytest.fixture(scope="module")
def digits():
    """scikit-learn's 8×8 digits: a real image set small enough (64 pixels) for quick exact fits."""
    return genlab.load_data("digits", "train"), genlab.load_data("digits", "test")


def test_gaussian_whitened_codes(digits):
    train, _ = digits
    model = genlab.create("gaussian", data=train, latent_dim=20, eps=1e-3).fit(train.x)
    z = model.encode(train.x).double()
    assert z.shape == (len(train), 20)
    want = model.eigenvalues[:20].double() / (model.eigenvalues[:20].double() + 1e-3)
    assert torch.allclose(torch.cov(z.T, correction=0).diagonal(), want, atol=1e-3)
    assert torch.allclose(z.mean(0), torch.zeros(20, dtype=torch.float64), atol=1e-4)
    # decode inverts encode on the top-k subspace
    assert torch.allclose(model.encode(model.decode(z.float())).double(), z, atol=1e-3)


def test_gaussian_prefers_digits_to_noise(digits):
    train, test = digits
    model = genlab.create("gaussian", data=train).fit(train.x)
    digits = model.log_prob(test.x)
    noise = model.log_prob(torch.rand_like(test.x))
    assert digits.shape == (len(test),) and torch.isfinite(digits).all()
    assert digits.min() > noise.max()


def test_unfitted_and_bad_configs_refused():
    model = genlab.create("pca")
    with pytest.raises(CapabilityError, match="fit"):
        model.encode(torch.rand(2, 1, 28, 28))
    with pytest.raises(ConfigError, match="latent_dim"):
        genlab.create("pca", latent_dim=0)
    with pytest.raises(ConfigError, match="latent_dim"):
        genlab.create("gaussian", latent_dim=785)
    assert genlab.create("pca").players() == [] and genlab.create("gaussian").players() == []
    assert set(genlab.create("gaussian").capabilities()) == {"encode", "decode", "reconstruct", "sample", "log_prob"}


def test_pca_saves_and_loads_through_train(small, tmp_path):
    train, test = small
    model = genlab.create("pca", data=train, latent_dim=16)
    result = genlab.train(model, train, epochs=1, out=tmp_path / "pca", val_data=test, progress=False)
    assert (result.run_dir / "model.safetensors").is_file()
    assert int(model.rank) > 16                           # prepare() fitted it
    loaded = genlab.load(result.run_dir)
    for name, buffer in model.state_dict().items():
        assert torch.equal(loaded.state_dict()[name], buffer), name
    x = test.x[:10]
    assert torch.equal(loaded.reconstruct(x), model.reconstruct(x))
    assert torch.equal(loaded.project(x, k=100), model.project(x, k=100))
