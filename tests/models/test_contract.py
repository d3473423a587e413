import inspect
import math

import pytest
import torch

import genlab
from genlab.data import ImageData
from genlab.errors import CapabilityError, ConfigError, UnknownModelError
from genlab.models.base import SIGNATURES, LabelSpace, parse_overrides
from genlab.models.vae import VAEConfig, gaussian_kl
from genlab.registry import get, names


# ------------------------------------------------------------------ the contract, over every registered model

def _model(name: str):
    """An untrained model (closed-form ones fitted on random images), in eval mode."""
    model = genlab.create(name)
    if not model.players():
        torch.manual_seed(0)
        model.prepare(ImageData(x=torch.rand(40, *model.image_shape), y=torch.arange(40) % 10))
    return model.eval()


def _signature(method) -> str:
    """A bound method's parameters as SIGNATURES writes them: names, defaults, ``*`` before keyword-only ones."""
    parts, star = [], False
    for p in inspect.signature(method).parameters.values():
        if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            parts.append(("*" if p.kind is p.VAR_POSITIONAL else "**") + p.name)
            continue
        if p.kind is p.KEYWORD_ONLY and not star:
            parts.append("*")
            star = True
        parts.append(p.name if p.default is p.empty else f"{p.name}={p.default!r}")
    return "(" + ", ".join(parts) + ")"


@pytest.mark.parametrize("name", names())
def test_every_capability_has_the_one_signature(name):
    model = genlab.create(name)
    for capability in model.capabilities():
        if capability in SIGNATURES:
            assert _signature(getattr(model, capability)) == SIGNATURES[capability], (name, capability)


SAMPLERS = [name for name in names() if genlab.create(name).can("sample")]


@pytest.mark.parametrize("name", SAMPLERS)
def test_sampling_with_a_generator_is_reproducible_and_leaves_the_global_rng(name):
    model = _model(name)
    state = torch.get_rng_state()
    with torch.no_grad():
        a = model.sample(4, generator=torch.Generator().manual_seed(1))
        b = model.sample(4, generator=torch.Generator().manual_seed(1))
        c = model.sample(4, generator=torch.Generator().manual_seed(2))
    assert torch.equal(torch.get_rng_state(), state)
    assert a.shape == (4, *model.image_shape)
    assert torch.equal(a, b) and not torch.equal(a, c)


@pytest.mark.parametrize("name", names())
def test_label_space_is_declared_and_labels_are_checked(name):
    model = _model(name)
    space = model.label_space
    x = torch.rand(2, *model.image_shape)
    calls = {"sample": lambda y: model.sample(2, y), "encode": lambda y: model.encode(x, y),
             "reconstruct": lambda y: model.reconstruct(x, y), "log_prob": lambda y: model.log_prob(x, y),
             "translate": lambda y: model.translate(x, y)}
    if model.can("decode"):
        with torch.no_grad():                             # a code of each image, or the prior mean of a generator
            z = (model.encode(x, None if space is None else 0) if model.can("encode")
                 else torch.zeros(2, model.config.latent_dim))
        calls["decode"] = lambda y: model.decode(z, y)
    calls = {c: call for c, call in calls.items() if model.can(c)}
    assert calls, f"{name} has no capability to check"
    if space is None:
        for capability, call in calls.items():
            with pytest.raises(ConfigError, match="takes no label"):
                call(0)
        return
    assert isinstance(space, LabelSpace) and space.kind in ("classes", "code", "domains", "attributes") and space.size >= 2
    for capability, call in calls.items():
        with pytest.raises(ConfigError, match="0…"):
            call(space.size)                              # one past the last value
    if model.can("sample"):
        with torch.no_grad():
            assert model.sample(2, space.size - 1).shape == (2, *model.image_shape)


def test_registry_has_foundation_models():
    assert {"ae", "conv-ae", "vae"} <= set(names())
    with pytest.raises(UnknownModelError, match="genlab models"):
        get("no-such-model")


def test_conv_ae_architecture():
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


def test_one_layer_autoencoder_formula():
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


def test_create_with_a_seed_builds_the_same_model_and_leaves_the_global_state():
    from genlab.runs import create

    state = torch.get_rng_state()
    a, b = create("dcgan", seed=3), create("dcgan", seed=3)
    assert torch.equal(torch.get_rng_state(), state)
    assert all(torch.equal(p, q) for p, q in zip(a.state_dict().values(), b.state_dict().values()))
    c = create("dcgan", seed=4)
    assert not torch.equal(a.generator.project[0].weight, c.generator.project[0].weight)
