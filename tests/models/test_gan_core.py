"""The GAN core: each adversarial loss on toy logits, weight clipping, the gradient penalty, k D-steps,
EMA sampling and spectral normalisation."""
import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

import genlab
from genlab.models.gan.game import LOSSES, RECIPES, discriminator_loss, generator_loss, gradient_penalty, recipe

TINY = {"g_width": 8, "d_width": 8, "latent_dim": 16}     # a few thousand weights: steps take milliseconds


pytestmark = pytest.mark.usefixtures("one_thread")


def tiny(**kw):
    torch.manual_seed(0)
    return genlab.create("dcgan", image_shape=(1, 28, 28), num_classes=10, **{**TINY, **kw})


def batch(n=16):
    return {"x": torch.rand(n, 1, 28, 28), "y": torch.arange(n) % 10}


# ----------------------------------------------------------------------------- the losses

def perfect_and_confused(kind):
    """D's outputs for a perfect discriminator and for one that cannot tell real from fake."""
    n = 8
    if kind == "lsgan":                               # perfect: exactly its targets b (real) and a (fake)
        return (torch.ones(n), torch.zeros(n)), (torch.full((n,), 0.5), torch.full((n,), 0.5))
    return (torch.full((n,), 10.0), torch.full((n,), -10.0)), (torch.zeros(n), torch.zeros(n))


@pytest.mark.parametrize("kind", LOSSES)
def test_discriminator_loss_is_lowest_for_a_perfect_discriminator(kind):
    (pr, pf), (cr, cf) = perfect_and_confused(kind)
    perfect, confused = discriminator_loss(kind, pr, pf), discriminator_loss(kind, cr, cf)
    reversed_ = discriminator_loss(kind, pf, pr)                       # real called fake and vice versa
    assert perfect < confused < reversed_
    if kind in ("minimax", "nonsaturating"):
        assert perfect.item() == pytest.approx(2 * math.log1p(math.exp(-10.0)), rel=1e-2)   # float32 rounding
        assert confused.item() == pytest.approx(2 * math.log(2), rel=1e-6)   # −log ½ − log ½
    if kind in ("wgan", "wgan-gp"):
        assert perfect.item() == pytest.approx(-20.0)                      # E[D(G(z))] − E[D(x)]
    if kind == "hinge":
        assert perfect.item() == 0.0 and confused.item() == pytest.approx(2.0)


@pytest.mark.parametrize("kind", LOSSES)
def test_discriminator_gradient_raises_real_and_lowers_fake_scores(kind):
    real, fake = torch.zeros(4, requires_grad=True), torch.zeros(4, requires_grad=True)
    discriminator_loss(kind, real, fake, a=-1.0, b=1.0).backward()
    assert (real.grad < 0).all() and (fake.grad > 0).all()     # descent: real score up, fake score down


def grad_wrt_fake_logit(kind, logit):
    fake = torch.tensor([logit], requires_grad=True)
    generator_loss(kind, fake).backward()
    return fake.grad.item()


def test_nonsaturating_gradient_beats_minimax_when_d_rejects_fakes():
    # Goodfellow et al. 2014, §3: log(1 − D) is flat where D(G(z)) ≈ 0, −log D is steep there
    logit = -6.0                                              # D(G(z)) = σ(−6) ≈ 0.0025
    g_minimax, g_ns = grad_wrt_fake_logit("minimax", logit), grad_wrt_fake_logit("nonsaturating", logit)
    assert g_minimax < 0 and g_ns < 0                         # both push the fake logit up
    assert g_minimax == pytest.approx(-torch.sigmoid(torch.tensor(logit)).item(), rel=1e-5)
    assert g_ns == pytest.approx(-torch.sigmoid(torch.tensor(-logit)).item(), rel=1e-5)
    assert abs(g_ns) > 100 * abs(g_minimax)
    # and the other way round once D is fooled: the saturating loss is steep near D(G(z)) = 1
    assert abs(grad_wrt_fake_logit("minimax", 6.0)) > abs(grad_wrt_fake_logit("nonsaturating", 6.0))


def test_generator_losses_written_out():
    fake = torch.tensor([-1.0, 0.5, 2.0])
    d = torch.sigmoid(fake)
    assert generator_loss("minimax", fake).item() == pytest.approx(torch.log(1 - d).mean().item(), rel=1e-6)
    assert generator_loss("nonsaturating", fake).item() == pytest.approx(-torch.log(d).mean().item(), rel=1e-6)
    for kind in ("wgan", "wgan-gp", "hinge"):
        assert generator_loss(kind, fake).item() == pytest.approx(-fake.mean().item())
    assert generator_loss("lsgan", fake, c=0.5).item() == pytest.approx((0.5 * (fake - 0.5) ** 2).mean().item())


def test_lsgan_targets_a_b_c():
    real, fake = torch.tensor([0.2, 1.4]), torch.tensor([-0.3, 0.9])
    a, b = -1.0, 1.0
    expected = 0.5 * ((real - b) ** 2).mean() + 0.5 * ((fake - a) ** 2).mean()
    assert discriminator_loss("lsgan", real, fake, a=a, b=b).item() == pytest.approx(expected.item())
    assert discriminator_loss("lsgan", torch.full((3,), b), torch.full((3,), a), a=a, b=b).item() == 0.0
    # G's gradient pulls D(G(z)) towards c from either side, and vanishes at c
    for c, x, sign in ((1.0, 0.2, -1), (0.0, 0.2, 1)):
        f = torch.tensor([x], requires_grad=True)
        generator_loss("lsgan", f, c=c).backward()
        assert math.copysign(1, f.grad.item()) == sign
    f = torch.tensor([0.7], requires_grad=True)
    generator_loss("lsgan", f, c=0.7).backward()
    assert f.grad.item() == 0.0


def test_hinge_margin_and_wgan_constant_gradients():
    real, fake = torch.tensor([0.5, 2.0], requires_grad=True), torch.tensor([-0.5, -2.0], requires_grad=True)
    loss = discriminator_loss("hinge", real, fake)
    assert loss.item() == pytest.approx(0.25 + 0.25)                     # mean(relu(1 − r)) + mean(relu(1 + f))
    loss.backward()
    assert real.grad.tolist() == [-0.5, 0.0] and fake.grad.tolist() == [0.5, 0.0]   # nothing beyond the margin
    real, fake = torch.randn(4, requires_grad=True), torch.randn(4, requires_grad=True)
    discriminator_loss("wgan", real, fake).backward()
    assert torch.allclose(real.grad, torch.full((4,), -0.25)) and torch.allclose(fake.grad, torch.full((4,), 0.25))


def test_label_smoothing_moves_the_optimum_to_one_minus_s():
    s = 0.1
    best = math.log((1 - s) / s)                                         # σ(best) = 0.9
    real = torch.tensor([best], requires_grad=True)
    discriminator_loss("nonsaturating", real, torch.tensor([-30.0]), smoothing=s).backward()
    assert abs(real.grad.item()) < 1e-6
    real = torch.tensor([5.0], requires_grad=True)                      # too confident: pushed back down
    discriminator_loss("nonsaturating", real, torch.tensor([-30.0]), smoothing=s).backward()
    assert real.grad.item() > 0


# ----------------------------------------------------------------------------- Lipschitz constraints

def test_weight_clipping_after_a_wgan_training_step(mnist):
    train, _ = mnist
    model = tiny(loss="wgan", clip=0.01)
    c = model.config.clip
    assert max(p.abs().max().item() for p in model.discriminator.parameters()) > c   # the test can fail
    genlab.train(model, train.subset(range(0, 4000, 125)), epochs=1, batch_size=32, progress=False)
    for name, p in model.discriminator.named_parameters():
        assert p.abs().max().item() <= c + 1e-8, name


class Linear(nn.Module):
    def __init__(self, w):
        super().__init__()
        self.w = nn.Parameter(w)

    def forward(self, x):
        return x.flatten(1) @ self.w


def test_gradient_penalty_of_linear_critics():
    torch.manual_seed(0)
    w = torch.randn(12)
    real, fake = torch.randn(32, 3, 2, 2), torch.randn(32, 3, 2, 2)
    unit = Linear(w / w.norm())                        # 1-Lipschitz, ‖∇D‖ = 1 everywhere: no penalty
    assert gradient_penalty(unit, real, fake).item() == pytest.approx(0.0, abs=1e-10)
    steep = Linear(3 * w / w.norm())                  # ‖∇D‖ = 3: (3 − 1)² = 4
    gp = gradient_penalty(steep, real, fake)
    assert gp.item() == pytest.approx(4.0, rel=1e-5)
    gp.backward()                                      # differentiable in the critic's weights (create_graph)
    assert steep.w.grad is not None and steep.w.grad.norm() > 0
    with torch.no_grad():
        assert gradient_penalty(steep, real, fake).item() == 0.0     # validation: no autograd, no penalty


def test_spectral_norm_bounds_discriminator_layers():
    model = tiny(spectral_norm=True)
    d_player, _ = model.players()
    for _ in range(3):
        d_player.step(batch())
    layers = [m for m in model.discriminator.modules() if hasattr(m, "parametrizations")]
    assert len(layers) == sum(isinstance(m, (nn.Conv2d, nn.Linear)) for m in model.discriminator.modules()) >= 2
    for m in layers:
        with torch.no_grad():
            original = m.parametrizations.weight.original
            used = m.weight                                      # W / σ(W)
        sigma = torch.linalg.matrix_norm(used.flatten(1), ord=2).item()
        assert 0.9 < sigma < 1.1, (m, sigma)
        assert abs(torch.linalg.matrix_norm(original.flatten(1), ord=2).item() - 1) > 0.3   # unnormalised: not ≈ 1


# ----------------------------------------------------------------------------- the game

def test_discriminator_takes_k_steps_per_generator_step(mnist):
    train, _ = mnist
    model = tiny(d_steps=3)
    calls = {"d": 0, "g": 0}
    d_step, g_step = model.discriminator_step, model.generator_step

    def counted(kind, fn):
        def wrapper(b):
            calls[kind] += 1
            return fn(b)
        return wrapper

    model.discriminator_step, model.generator_step = counted("d", d_step), counted("g", g_step)
    d_player, g_player = model.players()
    opt_steps = {"n": 0}
    d_player.optimizer.register_step_post_hook(lambda *a: opt_steps.__setitem__("n", opt_steps["n"] + 1))
    model.players = lambda: [d_player, g_player]              # the engine gets the instrumented optimiser
    genlab.train(model, train.subset(range(0, 4000, 40)), epochs=1, batch_size=50, progress=False)  # 2 batches
    assert calls == {"d": 6, "g": 2}
    assert opt_steps["n"] == 6


def test_ema_generator_differs_and_is_what_sample_uses():
    model = tiny(ema=True, ema_decay=0.9)
    d_player, g_player = model.players()
    for _ in range(5):
        d_player.step(batch())
        g_player.step(batch())
    live = torch.cat([p.flatten() for p in model.generator.parameters()])
    avg = torch.cat([p.flatten() for p in model.generator_ema.parameters()])
    assert not torch.allclose(live, avg)
    model.eval()
    torch.manual_seed(1)
    sampled = model.sample(4)
    torch.manual_seed(1)
    z = torch.randn(4, model.config.latent_dim)
    with torch.no_grad():
        assert torch.allclose(sampled, model.to_unit(model.generate(z, net=model.generator_ema)))
        assert not torch.allclose(sampled, model.to_unit(model.generate(z, net=model.generator)), atol=1e-4)


# ----------------------------------------------------------------------------- recipes and the contract

def test_each_loss_brings_its_recipe_and_the_config_overrides_parts_of_it():
    for loss in LOSSES:
        s, r = recipe(tiny(loss=loss).config), RECIPES[loss]
        assert (s["optimizer"], s["lr_g"], s["lr_d"], s["betas"], s["d_steps"]) == (r.optimizer, r.lr, r.lr, r.betas,
                                                                                 r.d_steps)
    assert (RECIPES["nonsaturating"].optimizer, RECIPES["nonsaturating"].lr, RECIPES["nonsaturating"].betas) == \
        ("adam", 2e-4, (0.5, 0.999))                                      # DCGAN's, the default loss's
    s = recipe(tiny(loss="wgan-gp", lr=3e-4, lr_d=1e-3, beta2=0.99, d_steps=2).config)
    assert (s["optimizer"], s["lr_g"], s["lr_d"], s["betas"], s["d_steps"]) == ("adam", 3e-4, 1e-3, (0.0, 0.99), 2)
    d_player, g_player = tiny(loss="wgan").players()
    assert isinstance(d_player.optimizer, torch.optim.RMSprop) and d_player.steps == 5 and g_player.steps == 1


@pytest.mark.parametrize("name", ["gan", "dcgan", "cgan", "acgan", "infogan"])
def test_sampling_with_a_generator_is_reproducible_and_leaves_the_global_state(name):
    kw = {"latent_dim": 8} if name == "gan" else TINY
    torch.manual_seed(0)
    model = genlab.create(name, image_shape=(1, 28, 28), num_classes=10, **kw).eval()
    state = torch.get_rng_state()
    a = model.sample(20, generator=torch.Generator().manual_seed(5))
    b = model.sample(20, generator=torch.Generator().manual_seed(5))
    assert torch.equal(a, b) and torch.equal(state, torch.get_rng_state())
    assert not torch.equal(a, model.sample(20, generator=torch.Generator().manual_seed(6)))
    cooler = model.sample(20, temperature=0.0, generator=torch.Generator().manual_seed(5))
    assert not torch.equal(a, cooler)                                       # temperature scales z
    if model.label_space is not None:   # without y: every class (code value) equally often, in order
        in_order = torch.arange(20) // 2
        c = model.sample(20, y=in_order, generator=torch.Generator().manual_seed(5))
        assert torch.equal(a, c)
