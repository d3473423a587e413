"""The VAE family beyond the plain VAE: cvae, vq-vae, wae."""
import math

import pytest
import torch

import genlab
from genlab.errors import CapabilityError, ConfigError, DataError
from genlab.models.wae import kernel_matrix, mmd
from genlab.nn import VectorQuantizer, perplexity


def fit(model, data, steps: int, batch_size: int = 64, seed: int = 0) -> list[float]:
    """Plain optimisation through the model's players (the engine's loop without Lightning)."""
    torch.manual_seed(seed)
    model.train()
    model.prepare(data)
    players = model.players()
    losses = []
    for step in range(steps):
        idx = torch.randint(len(data), (batch_size,))
        batch = {"x": data.x[idx]} if data.y is None else {"x": data.x[idx], "y": data.y[idx]}
        for p in players:
            out = p.step(batch)
        losses.append(float(out["loss"].detach()))
    model.eval()
    return losses


def class_means(data) -> torch.Tensor:
    return torch.stack([data.x[data.y == c].mean(0).flatten() for c in range(10)])


def nearest_mean(images: torch.Tensor, means: torch.Tensor) -> torch.Tensor:
    return torch.cdist(images.flatten(1), means).argmin(1)


# ----------------------------------------------------------------------------- shapes and losses

@pytest.mark.parametrize("shape", [(1, 28, 28), (3, 32, 32), (1, 9, 11)])
@pytest.mark.parametrize("name", ["cvae", "vq-vae", "wae", "iwae"])
def test_shapes_for_any_image_size(name, shape):
    model = genlab.create(name, image_shape=shape)
    x = torch.rand(4, *shape)
    assert model.reconstruct(x).shape == x.shape
    out = model.loss({"x": x, "y": torch.tensor([0, 1, 2, 3])})
    assert out["loss"].dim() == 0 and torch.isfinite(out["loss"])
    assert "sample" not in model.capabilities() or model.sample(3).shape == (3, *shape)


def test_wae_loss_is_recon_plus_weighted_mmd():
    model = genlab.create("wae", mmd_weight=7.0)
    out = model.loss({"x": torch.rand(8, 1, 28, 28)})
    assert torch.allclose(out["loss"], out["recon"] + 7.0 * out["mmd"])
    assert model.encode(torch.rand(5, 1, 28, 28)).shape == (5, 8)


@pytest.mark.parametrize("ema", [False, True])
def test_vqvae_loss_terms_and_bits(ema):
    model = genlab.create("vq-vae", ema=ema, beta=0.25)
    out = model.loss({"x": torch.rand(8, 1, 28, 28)})
    codebook = out.get("codebook", torch.tensor(0.0))
    assert ("codebook" in out) is (not ema)
    assert torch.allclose(out["loss"], out["recon"] + codebook + 0.25 * out["commitment"])
    assert model.code_bits() == 7 * 7 * 6
    assert genlab.create("vq-vae", num_codes=128).code_bits() == 7 * 7 * 7
    idx = model.encode_indices(torch.rand(3, 1, 28, 28))
    assert idx.shape == (3, 7, 7) and idx.dtype == torch.long
    assert torch.equal(model.encode(torch.zeros(1, 1, 28, 28)),
                       model.quantizer.codebook[model.encode_indices(torch.zeros(1, 1, 28, 28))].movedim(-1, 1))


def test_vqvae_has_no_sample_until_a_prior_exists():
    model = genlab.create("vq-vae")
    assert model.capabilities() == ["encode", "decode", "reconstruct"]
    with pytest.raises(CapabilityError, match="cannot sample"):
        model.require("sample")
    assert "PixelCNN" in model.missing_capability_hints["sample"]


# ----------------------------------------------------------------------------- vector quantiser

def test_perplexity_formula():
    assert math.isclose(float(perplexity(torch.tensor([5, 5, 5, 5, 0, 0]))), 4.0, rel_tol=1e-6)
    assert math.isclose(float(perplexity(torch.tensor([0, 9, 0]))), 1.0, rel_tol=1e-6)
    p = torch.tensor([0.25, 0.25, 0.5])
    assert math.isclose(float(perplexity(torch.tensor([1, 1, 2]))), float(torch.exp(-(p * p.log()).sum())),
                        rel_tol=1e-6)


def test_quantiser_picks_nearest_code_and_reports_usage():
    vq = VectorQuantizer(4, 2).eval()
    with torch.no_grad():
        vq.codebook.copy_(torch.tensor([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [5.0, 5.0]]))
    z = torch.tensor([[0.1, -0.1], [0.9, 0.2], [0.2, 0.8], [1.1, 0.1]]).view(1, 4, 2, 1).movedim(2, 1)  # 1×2×4×1
    q = vq(z)
    assert q.indices.flatten().tolist() == [0, 1, 2, 1]
    assert torch.allclose(q.z_q, vq.codebook[q.indices].movedim(-1, 1))
    assert math.isclose(float(q.usage), 0.75)
    assert math.isclose(float(q.perplexity), float(perplexity(torch.tensor([1, 2, 1, 0]))), rel_tol=1e-6)
    expected = (z - q.z_q).pow(2).sum()
    assert torch.allclose(q.commitment_loss, expected) and torch.allclose(q.codebook_loss, expected)


@pytest.mark.parametrize("ema", [False, True])
def test_straight_through_reaches_the_encoder_and_the_codebook_moves(ema):
    torch.manual_seed(0)
    model = genlab.create("vq-vae", ema=ema).train()
    x = torch.rand(16, 1, 28, 28)
    q = model.quantizer(model.encoder(x))           # first training call: codebook from encoder outputs
    before = model.quantizer.codebook.detach().clone()
    recon = ((model.decoder(q.z_q) - x) ** 2).sum()  # reconstruction alone: only straight-through can reach E
    recon.backward()
    first = model.encoder[0].weight.grad
    assert first is not None and first.abs().sum() > 0
    if ema:
        assert not model.quantizer.codebook.requires_grad
        model.zero_grad()
        model.quantizer(model.encoder(x))            # the moving averages move the codes
    else:
        out = model.loss({"x": x})
        model.zero_grad()
        out["loss"].backward()
        assert model.quantizer.codebook.grad.abs().sum() > 0
        torch.optim.SGD([model.quantizer.codebook], lr=0.1).step()
    assert not torch.allclose(model.quantizer.codebook.detach(), before)


def test_ema_codes_are_means_of_their_vectors():
    torch.manual_seed(0)
    vq = VectorQuantizer(8, 3, ema=True, decay=0.0, restart_after=0).train()
    z = torch.randn(2, 3, 5, 5)
    q = vq(z)
    flat = z.movedim(1, -1).reshape(-1, 3)
    for k in q.indices.unique().tolist():
        mean = flat[q.indices.flatten() == k].mean(0)
        assert torch.allclose(vq.codebook[k], mean, atol=1e-4)


def test_encoding_never_changes_the_codebook():
    model = genlab.create("vq-vae", ema=True).train()
    x = torch.rand(8, 1, 28, 28)
    model.loss({"x": x})
    before = model.quantizer.codebook.detach().clone()
    model.encode(x)
    model.reconstruct(x)
    with torch.no_grad():
        model.loss({"x": x})
    assert torch.equal(model.quantizer.codebook, before)


@pytest.mark.parametrize("restart_after", [3, 0])
def test_dead_codes_are_restarted_from_encoder_outputs(restart_after):
    torch.manual_seed(0)
    vq = VectorQuantizer(6, 2, restart_after=restart_after).train()
    z = torch.randn(4, 2, 3, 3)
    vq(z)                                        # data initialisation
    with torch.no_grad():
        vq.codebook[4:] = 100.0                  # two codes far from every vector: never chosen
    for _ in range(3):
        vq(z)
    flat = z.movedim(1, -1).reshape(-1, 2)
    revived = vq.codebook.detach()[4:]
    from_data = torch.cdist(revived, flat).min(1).values < 1e-6
    if restart_after:
        assert from_data.all() and (vq.unused_steps[4:] < restart_after).all()
    else:
        assert not from_data.any() and (vq.codebook.detach()[4:] == 100.0).all()


def test_restarts_during_training_keep_backward_working():
    torch.manual_seed(0)
    model = genlab.create("vq-vae", num_codes=32, restart_after=1).train()
    opt = torch.optim.Adam(model.parameters(), 1e-3)
    x = torch.rand(8, 1, 28, 28)
    for _ in range(3):
        out = model.loss({"x": x})
        opt.zero_grad()
        out["loss"].backward()
        opt.step()
    assert torch.isfinite(out["loss"])


# ----------------------------------------------------------------------------- MMD

def test_imq_kernel_formula():
    x, y = torch.tensor([[0.0, 0.0], [1.0, 1.0]]), torch.tensor([[3.0, 4.0]])
    k = kernel_matrix(x, y, "imq")
    c = 2 * 2
    assert torch.allclose(k, torch.tensor([[c / (c + 25.0)], [c / (c + 13.0)]]))
    with pytest.raises(ConfigError, match="kernel"):
        kernel_matrix(x, y, "cosine")


def test_mmd_is_unbiased_near_zero_and_grows_with_a_shift():
    torch.manual_seed(0)
    same = torch.stack([mmd(torch.randn(200, 4), torch.randn(200, 4)) for _ in range(20)])
    assert abs(float(same.mean())) < 2e-3           # unbiased: centred on zero, single draws may be < 0
    x = torch.randn(400, 4)
    shifts = [0.25, 0.5, 1.0, 2.0, 4.0]
    values = [float(mmd(x, torch.randn(400, 4) + s)) for s in shifts]
    assert values[0] > 5 * abs(float(same.mean()))
    assert all(a < b for a, b in zip(values, values[1:]))
    with pytest.raises(ConfigError, match="at least 2"):
        mmd(x[:1], x)


# ----------------------------------------------------------------------------- CVAE

def test_cvae_needs_labels(small):
    with pytest.raises(ConfigError, match="labelled data"):
        genlab.create("cvae", num_classes=0)
    model = genlab.create("cvae")
    with pytest.raises(DataError, match="labels"):
        model.loss({"x": torch.rand(2, 1, 28, 28)})
    train, _ = small
    unlabelled = train.subset(range(10))
    unlabelled.y = None
    with pytest.raises(DataError, match="no labels"):
        model.prepare(unlabelled)
    with pytest.raises(ConfigError, match="0…9"):
        model.sample(2, y=10)
    with pytest.raises(ConfigError, match="pass y"):
        model.decode(torch.randn(2, 8))


def test_cvae_api():
    model = genlab.create("cvae", log_prob_samples=4).eval()
    x, y = torch.rand(4, 1, 28, 28), torch.tensor([1, 2, 3, 4])
    assert model.encode(x, y).shape == (4, 8)
    full = model.encode(x)                          # label-free code: [μ(x, ŷ), onehot(ŷ)]
    assert full.shape == (4, 18) and torch.equal(full[:, 8:].argmax(1), model.classify(x))
    assert torch.allclose(model.decode(full), model.decode(full[:, :8], full[:, 8:].argmax(1)))
    assert torch.allclose(model.restyle(x, y, 7), model.decode(model.encode(x, y), torch.full((4,), 7)))
    assert model.sample(12).shape == (12, 1, 28, 28)
    assert model.classify(x, bayes=True).shape == (4,)
    weighted = genlab.create("cvae", recon_weight=2.0, kl_weight=0.5, classifier_weight=3.0)
    out = weighted.loss({"x": x, "y": y})
    assert torch.allclose(out["loss"], 2.0 * out["recon"] + 0.5 * out["kl"] + 3.0 * out["class_ce"])
    torch.manual_seed(3)
    marginal = model.log_prob(x)
    torch.manual_seed(3)
    per_class = torch.stack([model.log_prob(x, c) for c in range(10)], 1)
    assert torch.allclose(marginal, torch.logsumexp(per_class, 1) - math.log(10))


def test_cvae_conditioning_sets_the_generated_class(small):
    train, _ = small
    # a narrow network so that a hundred steps suffice; the label is all it learns to vary first
    torch.manual_seed(0)
    model = genlab.create("cvae", data=train, channels=(8, 16), hidden=32, latent_dim=2, lr=5e-3)
    losses = fit(model, train, steps=100)
    assert sum(losses[-10:]) < 0.8 * sum(losses[:10])
    means = class_means(train)
    torch.manual_seed(0)
    y = torch.arange(10).repeat_interleave(20)
    with torch.no_grad():
        images = model.sample(len(y), y=y)
        z = torch.randn(20, model.config.latent_dim)
        by_label = torch.stack([model.decode(z, c) for c in range(10)])       # 10×20 images, same z
    hits = (nearest_mean(images, means) == y).float().view(10, 20).mean(1)
    assert int((hits > 0.5).sum()) >= 8, hits
    # with z fixed, changing the label changes the image more than changing z with the label fixed
    label_change = (by_label[:, None] - by_label[None]).pow(2).flatten(3).sum(-1).mean()
    style_change = (by_label[:, :, None] - by_label[:, None]).pow(2).flatten(3).sum(-1).mean()
    assert label_change > 3 * style_change


# ----------------------------------------------------------------------------- IWAE

def test_iwae_weights_match_the_likelihood_metric():
    from genlab.metrics.likelihood import log_weights

    model = genlab.create("iwae", samples=5).eval()
    x = torch.rand(3, 1, 28, 28)
    torch.manual_seed(0)
    ours = model.log_weights(x, 5)[0]
    torch.manual_seed(0)
    assert torch.allclose(ours, log_weights(model, x, 5), atol=1e-4)


def test_iwae_loss_is_the_k_sample_bound_and_tightens_with_k():
    model = genlab.create("iwae", samples=5, arch="mlp", hidden=(64,), latent_dim=4).eval()
    x = torch.rand(8, 1, 28, 28).round()
    torch.manual_seed(0)
    loss = model.loss({"x": x})["loss"]
    torch.manual_seed(0)
    lw = model.log_weights(x, 5)[0]
    assert torch.allclose(loss, -(torch.logsumexp(lw, 0) - math.log(5)).mean())
    bounds = []
    with torch.no_grad():
        for k in (1, 10, 100):                       # L_k averaged over 10 independent estimates
            lw = torch.stack([model.log_weights(x, k)[0] for _ in range(10)])
            bounds.append(float((torch.logsumexp(lw, 1) - math.log(k)).mean()))
    assert bounds[0] < bounds[1] < bounds[2], bounds
    with pytest.raises(ConfigError, match="k1/k2"):
        genlab.create("iwae", kl_weight=2.0)


# ----------------------------------------------------------------------------- learning and reports

def test_vqvae_learns_and_keeps_its_codebook_alive(small):
    train, test = small
    torch.manual_seed(0)
    model = genlab.create("vq-vae", data=train, channels=(16, 32))
    losses = fit(model, train, steps=60)
    assert sum(losses[-5:]) < 0.6 * sum(losses[:5])
    with torch.no_grad():
        counts = torch.bincount(model.encode_indices(test.x).flatten(), minlength=64)
    assert float((counts > 0).float().mean()) > 0.5
    assert float(perplexity(counts)) > 8


def test_wae_penalty_pulls_the_codes_onto_the_prior(small):
    train, test = small
    gaps = {}
    for weight in (0.0, 100.0):                      # λ = 0 is a plain deterministic autoencoder
        torch.manual_seed(0)
        model = genlab.create("wae", data=train, channels=(8, 16), hidden=32, mmd_weight=weight)
        fit(model, train, steps=60)
        with torch.no_grad():
            torch.manual_seed(1)
            gaps[weight] = float(mmd(model.encode(test.x), torch.randn(len(test), 8)))
    assert gaps[100.0] < 0.3 * gaps[0.0], gaps
