import math

import pytest
import torch

import genlab
from genlab.errors import CapabilityError, ConfigError, UnknownModelError
from genlab.models.base import parse_overrides
from genlab.models.vae import VAEConfig, gaussian_kl
from genlab.registry import get, names


def test_registry_has_foundation_models():
    assert {"ae", "conv-ae", "vae"} <= set(names())
    with pytest.raises(UnknownModelError, match="genlab models"):
        get("no-such-model")


def test_conv_ae_matches_seed_000_architecture():
    model = genlab.create("conv-ae")
    shapes = []
    x = torch.rand(2, 1, 28, 28)
    hooks = [m.register_forward_hook(lambda m, i, o: shapes.append((type(m).__name__, tuple(o.shape[1:]))))
             for m in model.modules() if isinstance(m, (torch.nn.Conv2d, torch.nn.ConvTranspose2d, torch.nn.Linear))]
    model.reconstruct(x)
    for h in hooks:
        h.remove()
    assert shapes == [
        ("Conv2d", (32, 14, 14)), ("Conv2d", (64, 7, 7)), ("Linear", (16,)), ("Linear", (10,)),
        ("Linear", (3136,)), ("ConvTranspose2d", (64, 14, 14)), ("ConvTranspose2d", (32, 28, 28)),
        ("ConvTranspose2d", (1, 28, 28)),
    ]


@pytest.mark.parametrize("shape", [(1, 8, 8), (3, 32, 32), (3, 33, 31), (1, 28, 28)])
@pytest.mark.parametrize("name", ["ae", "conv-ae", "vae"])
def test_models_restore_any_image_shape(name, shape):
    model = genlab.create(name, image_shape=shape)
    x = torch.rand(3, *shape)
    out = model.reconstruct(x)
    assert out.shape == x.shape and out.min() >= 0 and out.max() <= 1
    assert model.encode(x).shape[0] == 3


def test_seed_one_layer_autoencoder_formula():
    """hidden=() is exactly F(X)=S(WX+b), G(Z)=S(W'Z+b')."""
    model = genlab.create("ae", latent_dim=5, image_shape=(1, 4, 4))
    x = torch.rand(2, 1, 4, 4)
    lin_e = [m for m in model.encoder.modules() if isinstance(m, torch.nn.Linear)]
    lin_d = [m for m in model.decoder.modules() if isinstance(m, torch.nn.Linear)]
    assert len(lin_e) == len(lin_d) == 1
    z = torch.sigmoid(x.flatten(1) @ lin_e[0].weight.T + lin_e[0].bias)
    assert torch.allclose(model.encode(x), z, atol=1e-6)
    x_hat = torch.sigmoid(z @ lin_d[0].weight.T + lin_d[0].bias).view_as(x)
    assert torch.allclose(model.decode(z), x_hat, atol=1e-6)


def test_closed_form_kl_matches_monte_carlo():
    torch.manual_seed(0)
    mu = torch.tensor([[0.5, -1.0, 2.0]])
    logvar = torch.tensor([[0.2, -0.7, 1.1]])
    std = (0.5 * logvar).exp()
    z = mu + std * torch.randn(400_000, 3)
    log_q = torch.distributions.Normal(mu, std).log_prob(z).sum(-1)
    log_p = torch.distributions.Normal(0.0, 1.0).log_prob(z).sum(-1)
    mc = (log_q - log_p).mean()
    assert torch.allclose(gaussian_kl(mu, logvar), mc, rtol=0.01)
    assert gaussian_kl(torch.zeros(1, 4), torch.zeros(1, 4)).item() == 0.0


def test_vae_total_is_weighted_sum():
    model = genlab.create("vae", recon_weight=2.0, kl_weight=0.25)
    torch.manual_seed(1)
    out = model.loss({"x": torch.rand(4, 1, 28, 28)})
    assert torch.allclose(out["loss"], 2.0 * out["recon"] + 0.25 * out["kl"])


def test_reparameterisation_carries_reconstruction_gradients_to_the_encoder():
    # with k2 = 0 the log-variance head is reached only through z = μ + σ·ε
    model = genlab.create("vae", kl_weight=0.0, latent_dim=3)
    torch.manual_seed(0)
    model.loss({"x": torch.rand(6, 1, 28, 28)})["loss"].backward()
    assert model.logvar.weight.grad.abs().sum() > 0 and model.mu.weight.grad.abs().sum() > 0
    mu = torch.tensor([0.3, -1.0], requires_grad=True)
    logvar = torch.tensor([0.4, -0.2], requires_grad=True)
    eps = torch.tensor([1.5, -0.7])
    z = mu + eps * (0.5 * logvar).exp()
    z.sum().backward()
    assert torch.allclose(mu.grad, torch.ones(2))                                   # ∂z/∂μ = 1
    assert torch.allclose(logvar.grad, 0.5 * eps * (0.5 * logvar.detach()).exp())   # ∂z/∂log σ² = ½σε


def test_kl_warmup_ramps_the_kl_weight_per_epoch():
    model = genlab.create("vae", kl_weight=0.5, kl_warmup_epochs=4)
    x = torch.rand(4, 1, 28, 28)
    factors = []
    for epoch in (0, 1, 2, 4, 9):
        model.on_epoch_start(epoch)
        torch.manual_seed(1)
        out = model.loss({"x": x})
        assert torch.allclose(out["loss"], out["recon"] + model.kl_factor * 0.5 * out["kl"])
        factors.append(model.kl_factor)
    assert factors == [0.0, 0.25, 0.5, 1.0, 1.0]


def test_gaussian_decoder_log_prob_is_a_normal_density():
    model = genlab.create("vae", recon_loss="gaussian")
    with torch.no_grad():
        model.log_sigma.fill_(-1.3)
    x, x_hat = torch.rand(3, 1, 28, 28), torch.rand(3, 1, 28, 28)
    expected = torch.distributions.Normal(x_hat, torch.tensor(-1.3).exp()).log_prob(x).flatten(1).sum(1)
    assert torch.allclose(model.decoder_log_prob(x, x_hat), expected, rtol=1e-5)
    out = model.loss({"x": x})
    out["loss"].backward()
    assert model.log_sigma.grad is not None and model.log_sigma.grad.abs() > 0  # σ is learned


def test_beta_vae_preset_is_a_vae_with_heavier_kl():
    model = genlab.create("beta-vae")
    assert model.registry_name == "beta-vae" and genlab.create("vae").registry_name == "vae"
    assert model.config.kl_weight == 4.0
    torch.manual_seed(1)
    out = model.loss({"x": torch.rand(4, 1, 28, 28)})
    assert torch.allclose(out["loss"], out["recon"] + 4.0 * out["kl"])


def test_capabilities_and_refusal():
    ae = genlab.create("ae")
    assert ae.capabilities() == ["encode", "decode", "reconstruct"]
    assert "sample" in genlab.create("vae").capabilities()
    with pytest.raises(CapabilityError, match="cannot sample"):
        ae.require("sample")


def test_set_overrides_validate_keys_and_types():
    assert parse_overrides(VAEConfig, ["latent_dim=8", "kl_weight=0.5", "arch=mlp", "hidden=400,200"]) == {
        "latent_dim": 8, "kl_weight": 0.5, "arch": "mlp", "hidden": (400, 200)}
    with pytest.raises(ConfigError, match="unknown config key 'latent'"):
        parse_overrides(VAEConfig, ["latent=3"])
    with pytest.raises(ConfigError, match="expected int"):
        parse_overrides(VAEConfig, ["latent_dim=two"])
    with pytest.raises(ConfigError, match="one of"):
        parse_overrides(VAEConfig, ["arch=transformer"])
    with pytest.raises(ConfigError, match="key=value"):
        parse_overrides(VAEConfig, ["latent_dim"])


def test_config_roundtrip():
    cfg = VAEConfig(latent_dim=3, hidden=(8, 4), image_shape=(3, 16, 16))
    again = VAEConfig.from_dict(cfg.to_dict())
    assert again == cfg
    assert math.prod(again.image_shape) == 768
