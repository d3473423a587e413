"""The autoencoder family: deep-ae, stacked-ae, dae, sparse-ae, contractive-ae."""
import csv
import re

import lightning as L
import pytest
import torch

import genlab
from genlab.errors import ConfigError
from genlab.metrics.image import psnr
from genlab.models.ae import reconstruction_loss
from genlab.models.autoencoders import bernoulli_kl, top_k

NAMES = ["deep-ae", "stacked-ae", "dae", "sparse-ae", "contractive-ae"]


pytestmark = pytest.mark.usefixtures("one_thread")


def test_family_is_registered():
    assert set(NAMES) <= set(genlab.list_models())


@pytest.mark.parametrize("shape", [(1, 28, 28), (3, 13, 10)])
@pytest.mark.parametrize("name", NAMES)
def test_shapes_and_losses(name, shape):
    torch.manual_seed(0)
    model = genlab.create(name, image_shape=shape)
    x = torch.rand(5, *shape)
    out = model.reconstruct(x)
    assert out.shape == x.shape and out.min() >= 0 and out.max() <= 1
    z = model.encode(x)
    assert z.dim() == 2 and len(z) == 5
    assert model.decode(z).shape == x.shape
    losses = model.loss({"x": x})
    assert torch.isfinite(losses["loss"]) and losses["loss"] > 0
    assert losses["recon"] <= losses["loss"] + 1e-4      # regularisers only add
    losses["loss"].backward()
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in model.parameters())
    assert {"encode", "decode", "reconstruct"} <= set(model.capabilities())
    cfg = model.config
    assert type(cfg).from_dict(cfg.to_dict()) == cfg


def test_deep_ae_layer_sizes():
    model = genlab.create("deep-ae")
    widths = [m.out_features for m in model.modules() if isinstance(m, torch.nn.Linear)]
    assert widths == [512, 256, 128, 64, 16, 64, 128, 256, 512, 784]
    z = model.encode(torch.rand(3, 1, 28, 28))
    assert (z < 0).any()          # a linear (real-valued) code, not squashed


# --------------------------------------------------------------------------- sparse-ae

def test_top_k_keeps_the_k_largest_and_passes_gradients_only_to_them():
    torch.manual_seed(0)
    a = torch.randn(6, 20, requires_grad=True)
    kept = top_k(a, 4)
    assert torch.equal((kept != 0).sum(1), torch.full((6,), 4))
    threshold = a.detach().topk(4, dim=1).values[:, -1:]
    assert torch.equal(kept != 0, a.detach() >= threshold)
    assert torch.equal(kept[kept != 0], a.detach()[kept != 0])
    (kept * torch.arange(20.0)).sum().backward()
    assert torch.equal(a.grad, (kept != 0) * torch.arange(20.0))


def test_k_sparse_code_has_at_most_k_non_zeros():
    torch.manual_seed(0)
    model = genlab.create("sparse-ae", sparsity="ksparse", latent_dim=64, k=5)
    x = torch.rand(50, 1, 28, 28)
    a = model.activations(x)
    assert a.shape == (50, 64)
    assert int((a != 0).sum(1).max()) <= 5
    assert torch.equal(model.active_units(x), torch.full((50,), 5.0))   # linear units: exactly k kept
    dense = model.encoder(x)
    assert torch.equal(a != 0, dense >= dense.topk(5, dim=1).values[:, -1:])


def test_k_sparse_warm_up_narrows_k_by_epoch_and_encode_always_uses_k():
    model = genlab.create("sparse-ae", sparsity="ksparse", latent_dim=64, k=8, k_warmup_epochs=4)
    x = torch.rand(10, 1, 28, 28)
    seen = []
    for epoch in range(6):
        model.on_epoch_start(epoch)
        seen.append(model.train_k)
        assert int((model.encode(x) != 0).sum(1).max()) <= 8
    assert seen == [64, 50, 36, 22, 8, 8]
    model.train()
    model.on_epoch_start(0)
    assert model.loss({"x": x})["active"] == 64
    model.eval()
    assert model.loss({"x": x})["active"] == 8       # held-out numbers use the real k


def test_l1_penalty_is_lambda_sum_abs_code():
    torch.manual_seed(0)
    model = genlab.create("sparse-ae", sparsity="l1", l1_weight=0.3, latent_dim=40)
    x = torch.rand(4, 1, 28, 28)
    a = model.activations(x)
    out = model.loss({"x": x})
    expected = reconstruction_loss(model.decode(a), x, "bce") + 0.3 * a.abs().sum(1).mean()
    assert torch.allclose(out["loss"], expected)
    assert out["active"] == (a != 0).sum(1).float().mean()


def test_kl_sparsity_matches_bernoulli_kl_of_mean_activation():
    rho, rho_hat = 0.05, torch.tensor([0.01, 0.05, 0.3, 0.9])
    reference = torch.distributions.kl_divergence(torch.distributions.Bernoulli(torch.tensor(rho)),
                                                  torch.distributions.Bernoulli(rho_hat)).sum()
    assert torch.allclose(bernoulli_kl(rho, rho_hat), reference, rtol=1e-5)
    assert bernoulli_kl(rho, torch.full((7,), rho)).abs() < 1e-6

    torch.manual_seed(0)
    model = genlab.create("sparse-ae", sparsity="kl", rho=0.1, kl_weight=2.0, latent_dim=30)
    x = torch.rand(8, 1, 28, 28)
    a = model.activations(x)
    assert a.min() > 0 and a.max() < 1                       # sigmoid code
    out = model.loss({"x": x})
    expected = reconstruction_loss(model.decode(a), x, "bce") + 2.0 * bernoulli_kl(0.1, a.mean(0))
    assert torch.allclose(out["loss"], expected)


@pytest.mark.parametrize("values", [dict(sparsity="ksparse", k=0), dict(sparsity="ksparse", k=300),
                                    dict(sparsity="kl", rho=1.5), dict(l1_weight=-1.0), dict(latent_dim=0)])
def test_sparse_ae_refuses_bad_settings(values):
    with pytest.raises(ConfigError):
        genlab.create("sparse-ae", **values)


def test_l1_sparse_ae_fires_fewer_units_than_a_plain_ae(small):
    train, test = small
    sparse = genlab.create("sparse-ae", data=train, sparsity="l1")
    plain = genlab.create("sparse-ae", data=train, sparsity="l1", l1_weight=0.0)   # the same network, no penalty
    for model in (sparse, plain):
        genlab.train(model, train, epochs=10, batch_size=32, progress=False)
    with torch.no_grad():
        n_sparse = float(sparse.active_units(test.x).mean())
        n_plain = float(plain.active_units(test.x).mean())
    assert n_sparse < 0.5 * n_plain, (n_sparse, n_plain)


# --------------------------------------------------------------------------- contractive-ae

def test_contractive_penalty_is_the_encoder_jacobian_frobenius_norm():
    torch.manual_seed(0)
    model = genlab.create("contractive-ae", image_shape=(1, 5, 6), latent_dim=7, contraction_weight=0.7)
    with torch.no_grad():
        model.linear.weight.mul_(4)          # leave the near-linear regime so h(1−h) varies
    x = torch.rand(3, 1, 5, 6)
    closed = model.jacobian_norm(x)
    jacobians = [torch.autograd.functional.jacobian(lambda v: model.encode(v.view(1, 1, 5, 6))[0], xi.flatten())
                 for xi in x]
    assert jacobians[0].shape == (7, 30)
    assert torch.allclose(closed, torch.stack([j.pow(2).sum() for j in jacobians]), rtol=1e-5)
    # and autograd's Jacobian against central differences on a few pixels, in float64
    model.double()
    x0 = x[0].double()
    for pixel in (0, 11, 29):
        step = torch.zeros(30, dtype=torch.float64)
        step[pixel] = 1e-4
        up, down = (x0.flatten() + step).view(1, 1, 5, 6), (x0.flatten() - step).view(1, 1, 5, 6)
        fd = (model.encode(up) - model.encode(down))[0] / 2e-4
        assert torch.allclose(fd, jacobians[0][:, pixel].double(), atol=1e-5)
    model.float()
    out = model.loss({"x": x})
    assert torch.allclose(out["loss"], out["recon"] + 0.7 * closed.mean())


def test_contraction_weight_must_not_be_negative():
    with pytest.raises(ConfigError, match="contraction_weight"):
        genlab.create("contractive-ae", contraction_weight=-0.1)


# --------------------------------------------------------------------------- dae

@pytest.mark.parametrize("spec", ["blur:1", "gaussian", "mask:1.5", "gaussian:abc", "saltpepper:-0.1"])
def test_dae_refuses_bad_noise_specs_at_construction(spec):
    with pytest.raises(ConfigError, match="noise"):
        genlab.create("dae", noise=spec)


@pytest.mark.parametrize("spec", ["gaussian:0.3", "saltpepper:0.2", "mask:0.5"])
def test_dae_corrupts_with_its_noise(spec):
    from genlab.data.corrupt import corrupt

    model = genlab.create("dae", noise=spec, arch="mlp", hidden=(32,), latent_dim=4, image_shape=(1, 8, 8))
    x = torch.rand(6, 1, 8, 8)
    expected = corrupt(x, spec, torch.Generator().manual_seed(3))
    assert torch.equal(model.corrupt(x, torch.Generator().manual_seed(3)), expected)
    assert not torch.equal(expected, x)


def test_dae_trains_on_corrupted_input_against_the_clean_target(monkeypatch):
    torch.manual_seed(0)
    model = genlab.create("dae", arch="mlp", hidden=(32,), latent_dim=4, image_shape=(1, 8, 8))
    x, noisy = torch.rand(4, 1, 8, 8), torch.rand(4, 1, 8, 8)
    calls = []
    monkeypatch.setattr(model, "corrupt", lambda images, generator=None: calls.append(images) or noisy)
    out = model.loss({"x": x})
    assert len(calls) == 1 and calls[0] is x
    assert torch.allclose(out["loss"], reconstruction_loss(model.denoise(noisy), x, "bce"))
    assert not torch.allclose(out["loss"], reconstruction_loss(model.denoise(noisy), noisy, "bce"))
    assert not torch.allclose(out["loss"], reconstruction_loss(model.denoise(x), x, "bce"))
    assert torch.equal(model.reconstruct(noisy), model.denoise(noisy))


def test_dae_raises_psnr_over_the_noisy_input(small):
    train, test = small
    model = genlab.create("dae", data=train, arch="mlp", hidden=(256,), noise="gaussian:0.5")
    genlab.train(model, train, epochs=10, batch_size=32, progress=False)
    x = test.x
    noisy = model.corrupt(x, torch.Generator().manual_seed(0))
    with torch.no_grad():
        gain = psnr(model.denoise(noisy), x) - psnr(noisy, x)
    assert gain > 3.0, gain


# --------------------------------------------------------------------------- stacked-ae

def test_stacked_phase_follows_the_epoch():
    model = genlab.create("stacked-ae", sizes=(32, 16, 8), pretrain_epochs=2)
    assert [model.phase_of(e) for e in range(9)] == [0, 0, 1, 1, 2, 2, 3, 3, 3]
    assert model.phase == 3                  # a fresh or loaded model is the deep one
    end_to_end = genlab.create("stacked-ae", sizes=(32, 16, 8), pretrain_epochs=0)
    assert {end_to_end.phase_of(e) for e in range(4)} == {3}


@pytest.mark.parametrize("values", [dict(sizes=()), dict(sizes=(16, 0)), dict(pretrain_epochs=-1)])
def test_stacked_refuses_bad_settings(values):
    with pytest.raises(ConfigError):
        genlab.create("stacked-ae", **values)


def test_stacked_unrolled_model_is_made_of_the_shallow_autoencoders():
    torch.manual_seed(0)
    model = genlab.create("stacked-ae", sizes=(32, 16, 8))
    x = torch.rand(3, 1, 28, 28)
    e, d = model.enc, model.dec
    deep = d[0](d[1](d[2](e[2](e[1](e[0](x.flatten(1)))))))
    assert torch.allclose(model.reconstruct(x), deep.view_as(x))
    assert [m.out_features for m in model.modules() if isinstance(m, torch.nn.Linear)] == \
        [32, 16, 8, 784, 32, 16]


def test_stacked_pretraining_initialises_the_deep_model(mnist):
    """Phase i changes only shallow autoencoder i, and fine-tuning starts from those weights."""
    torch.manual_seed(0)
    x = mnist[0].x[::20][:128]
    model = genlab.create("stacked-ae", sizes=(64, 32, 8), pretrain_epochs=1)
    (player,) = model.players()

    def deep_recon() -> float:
        with torch.no_grad():
            return float(reconstruction_loss(model.reconstruct(x), x, "bce"))

    initial_recon = deep_recon()

    def snapshot():
        return {k: v.clone() for k, v in model.state_dict().items()}

    for epoch in range(4):
        model.on_epoch_start(epoch)
        before = snapshot()
        if epoch == 3:  # fine-tuning's first loss is the unrolled model with the pretrained weights
            assert torch.allclose(player.loss({"x": x})["loss"], reconstruction_loss(model.reconstruct(x), x, "bce"))
        for _ in range(15):
            out = player.step({"x": x})
        assert out["phase"] == epoch + 1
        changed = {k.rsplit(".", 2)[0] for k, v in model.state_dict().items() if not torch.equal(v, before[k])}
        assert changed == ({f"enc.{epoch}", f"dec.{epoch}"} if epoch < 3 else {f"{s}.{i}" for s in ("enc", "dec")
                                                                             for i in range(3)})
        if epoch == 2:
            pretrained_recon = deep_recon()
    assert pretrained_recon < 0.8 * initial_recon


class PhaseLog(L.Callback):
    def __init__(self):
        self.phases = {}

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
        self.phases.setdefault(trainer.current_epoch, pl_module.model.phase)


def test_stacked_phases_in_the_engine_and_on_resume(small, tmp_path):
    train, test = small
    model = genlab.create("stacked-ae", data=train, sizes=(32, 16, 8), pretrain_epochs=1)
    first = PhaseLog()
    genlab.train(model, train, epochs=2, out=tmp_path / "run", val_data=test, progress=False, callbacks=[first])
    assert first.phases == {0: 0, 1: 1}
    second = PhaseLog()
    genlab.resume(tmp_path / "run", epochs=4, data=train, val_data=test, progress=False, callbacks=[second])
    assert second.phases == {2: 2, 3: 3}        # layer 3's pretraining, then fine-tuning
    with open(tmp_path / "run" / "metrics.csv", newline="") as f:
        logged = [float(r["train/phase_epoch"]) for r in csv.DictReader(f) if r.get("train/phase_epoch")]
    assert logged == [1.0, 2.0, 3.0, 4.0]


# --------------------------------------------------------------------------- report sections

# each model's report sections: (images, section titles, a phrase of the text)
SECTIONS = {
    "sparse-ae": (3, ["Code activity"], "plain twin"),
    "ae": (3, ["Code activity"], "units firing per image"),
    "stacked-ae": (1, ["Deep autoencoder against PCA"], "PCA"),
    "deep-ae": (1, ["Deep autoencoder against PCA"], "PCA"),
    "dae": (1, ["Denoising"], "dB"),
    "cvae": (2, ["Digits on demand", "Restyle"], "the handwriting style stays"),
    "vq-vae": (2, ["Codebook", "Code grids"], "perplexity"),
    "wae": (0, ["Codes against the prior"], "MMD"),
}


@pytest.mark.parametrize("name", sorted(SECTIONS))
def test_report_sections_draw(name, small, tmp_path):
    from genlab.apps.sections import sections_for
    from genlab.viz.report import Report

    _, test = small
    model = genlab.create(name, data=test).eval()
    report = Report("t")
    with torch.no_grad():                      # as build_report calls them
        for add in sections_for(name):
            add(report, model, test, tmp_path)
    html = report.html()
    images, titles, phrase = SECTIONS[name]
    assert html.count("<img") == images
    assert re.findall(r"<h2[^>]*>(.*?)</h2>", html) == titles
    assert phrase in html
