import math

import pytest
import torch

import genlab
from genlab.errors import CapabilityError
from genlab.metrics.likelihood import bits_per_dim, iwae_nll, log_weights, negative_elbo


@pytest.fixture(scope="module")
def trained_vae():
    train = genlab.load_data("mnist5k", "train")
    test = genlab.load_data("mnist5k", "test").spread(200)
    model = genlab.create("vae", data=train, latent_dim=4)
    genlab.train(model, train, epochs=2, batch_size=64, progress=False)
    return model, test.x


def test_single_sample_bound_is_the_training_elbo(trained_vae):
    model, x = trained_vae
    torch.manual_seed(0)
    out = model.loss({"x": x})
    assert negative_elbo(model, x, samples=50) == pytest.approx(out["loss"].item(), rel=0.02)


def test_iwae_bound_tightens_with_k(trained_vae):
    model, x = trained_vae
    elbo = negative_elbo(model, x, samples=20)
    bounds = [iwae_nll(model, x, k=k) for k in (1, 5, 50, 200)]
    assert bounds[0] == pytest.approx(elbo, rel=0.02)
    assert all(b2 <= b1 + 0.05 for b1, b2 in zip(bounds, bounds[1:])), bounds
    assert bounds[-1] < elbo - 0.5  # strictly tighter than the ELBO on a trained model


def test_log_weights_shape_and_gaussian_decoder():
    model = genlab.create("vae", latent_dim=3, recon_loss="mse", image_shape=(1, 8, 8))
    x = torch.rand(5, 1, 8, 8)
    assert log_weights(model, x, 7).shape == (7, 5)
    d = 64
    # a perfect reconstruction under a unit-variance Gaussian has log p = −D/2·log 2π
    assert model.decoder_log_prob(x, x).allclose(torch.full((5,), -0.5 * d * math.log(2 * math.pi)))


def test_models_without_densities_are_refused():
    with pytest.raises(CapabilityError, match="encoder density"):
        iwae_nll(genlab.create("conv-ae"), torch.rand(2, 1, 28, 28))


def test_bits_per_dim():
    assert bits_per_dim(784 * math.log(2), 784) == pytest.approx(1.0)
