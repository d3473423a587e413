"""Conditional and structured GANs: cgan, acgan, infogan, and the two metrics that judge them."""
import dataclasses
import math

import pytest
import torch
import torch.nn.functional as F

import genlab
from genlab.errors import CapabilityError, ConfigError, DataError
from genlab.metrics.sample import matched_code_agreement, requested_class_accuracy
from genlab.models.gan.game import (acgan_discriminator_loss, acgan_generator_loss, class_log_likelihood,
                                    mode_seeking_loss, source_log_likelihood)

TINY = {"g_width": 8, "d_width": 8}        # a few thousand weights: every test runs in well under a second


pytestmark = pytest.mark.usefixtures("one_thread")


def tiny(name, **kw):
    return genlab.create(name, num_classes=10, **{**TINY, **kw})


def batch(n=8, shape=(1, 28, 28)):
    return {"x": torch.rand(n, *shape), "y": torch.arange(n) % 10}


# ----------------------------------------------------------------------------- shapes

@pytest.mark.parametrize("shape", [(1, 28, 28), (3, 32, 32)])
@pytest.mark.parametrize("name", ["cgan", "acgan", "infogan"])
def test_shapes_and_finite_losses(name, shape):
    torch.manual_seed(0)
    model = tiny(name, image_shape=shape)
    for player in model.players():
        out = player.loss(batch(8, shape))
        assert out["loss"].dim() == 0 and torch.isfinite(out["loss"]), (player.name, out)
    model.eval()
    assert model.sample(5).shape == (5, *shape)
    assert model.sample(3, y=2).shape == (3, *shape)
    images = model.sample(7)
    assert images.min() >= 0 and images.max() <= 1
    assert model.preview(batch(8, shape)).shape == (80, *shape)      # 8 per class, one class per grid row


def test_cgan_concat_discriminator_shapes():
    model = tiny("cgan", d_condition="concat")
    assert model.critic(torch.rand(4, 1, 28, 28), torch.tensor([1, 2, 3, 4])).shape == (4,)
    out = model.players()[0].loss(batch())
    assert torch.isfinite(out["loss"])


# ----------------------------------------------------------------------------- the label is honoured

@pytest.mark.parametrize("name", ["cgan", "acgan"])
def test_generator_reads_the_label(name):
    torch.manual_seed(0)
    model = tiny(name).eval()
    z = torch.randn(6, model.config.latent_dim)
    y = torch.tensor([0, 1, 2, 3, 4, 5])
    base = model.decode(z, y).detach()
    # another label, same z: other images
    assert not torch.allclose(base, model.decode(z, (y + 1) % 10).detach())
    # a float one-hot y is the same label: exactly the same images
    assert torch.equal(base, model.decode(z, F.one_hot(y, 10).float()).detach())
    # changing one class's embedding changes exactly the images of that class
    with torch.no_grad():
        model.sampler().embed.weight[3] += 1.0     # the generator decode uses (the EMA copy by default)
    after = model.decode(z, y).detach()
    changed = (after - base).flatten(1).abs().amax(1) > 0
    assert changed.tolist() == [False, False, False, True, False, False]
    # a mix of two classes' weights lies between them (the embedding is linear in the weights)
    mix = torch.zeros(1, 10)
    mix[0, 1] = mix[0, 2] = 0.5
    emb = model.sampler().embed
    assert torch.allclose(emb(mix), 0.5 * (emb.weight[1] + emb.weight[2]))
    assert model.sample(10, y=torch.full((10,), 7)).shape == (10, 1, 28, 28)


def test_cgan_discriminator_reads_the_label():
    torch.manual_seed(0)
    model = tiny("cgan").eval()
    x = torch.rand(4, 1, 28, 28) * 2 - 1
    assert not torch.allclose(model.critic(x, torch.tensor([0, 0, 0, 0])), model.critic(x, torch.tensor([5, 5, 5, 5])))


def test_bad_labels_are_refused_with_one_line():
    model = tiny("cgan").eval()
    z = torch.randn(3, model.config.latent_dim)
    for bad, match in [(None, "needs a class per image"), (torch.tensor([0, 1, 10]), "0…9"), (torch.rand(3, 4), "N×10"),
                       (torch.tensor([1, 2]), "labels for 3 images")]:
        with pytest.raises(ConfigError, match=match) as err:
            model.decode(z, bad)
        assert "\n" not in str(err.value)


def test_conditional_models_refuse_unlabelled_data(small):
    unlabelled = dataclasses.replace(small[0].subset(range(64)), y=None, classes=None)
    for name in ("cgan", "acgan"):
        with pytest.raises(ConfigError, match="labelled data") as err:
            genlab.create(name, data=unlabelled)
        assert "\n" not in str(err.value) and "mnist5k" in str(err.value)
        with pytest.raises(DataError, match="no labels"):
            genlab.create(name).prepare(unlabelled)
    genlab.create("infogan", data=unlabelled, **TINY)     # unsupervised: no labels needed


# ----------------------------------------------------------------------------- AC-GAN's objective

def test_acgan_losses_match_the_formulas_on_hand_made_logits():
    real_src = torch.tensor([2.0, -1.0, 0.5])
    fake_src = torch.tensor([-3.0, 0.0, 1.0])
    real_cls = torch.tensor([[2.0, 0.0, -1.0], [0.0, 1.0, 0.0], [1.0, 1.0, 3.0]])
    fake_cls = torch.tensor([[0.0, 0.0, 0.0], [5.0, -5.0, 0.0], [1.0, 2.0, 3.0]])
    y_real, y_fake = torch.tensor([0, 2, 2]), torch.tensor([1, 0, 2])
    sig = lambda t: 1 / (1 + math.exp(-t))  # noqa: E731
    # L_S = E[log P(S=real | X_real)] + E[log P(S=fake | X_fake)]
    l_s = (sum(math.log(sig(t)) for t in real_src.tolist()) / 3
           + sum(math.log(1 - sig(t)) for t in fake_src.tolist()) / 3)

    def log_softmax(row, c):
        return row[c] - math.log(sum(math.exp(v) for v in row))

    # L_C = E[log P(C=c | X_real)] + E[log P(C=c | X_fake)]
    l_c_fake = sum(log_softmax(r, c) for r, c in zip(fake_cls.tolist(), y_fake.tolist())) / 3
    l_c = sum(log_softmax(r, c) for r, c in zip(real_cls.tolist(), y_real.tolist())) / 3 + l_c_fake
    assert source_log_likelihood(real_src, fake_src).item() == pytest.approx(l_s, rel=1e-6)
    assert class_log_likelihood(real_cls, y_real, fake_cls, y_fake).item() == pytest.approx(l_c, rel=1e-6)
    # D maximises L_S + L_C
    d = acgan_discriminator_loss("minimax", real_src, fake_src, real_cls, y_real, fake_cls, y_fake)
    assert d.item() == pytest.approx(-(l_s + l_c), rel=1e-6)
    # G maximises L_C − L_S: in the terms it controls, E[log P(C=c|X_fake)] − E[log P(S=fake|X_fake)]
    l_s_fake = sum(math.log(1 - sig(t)) for t in fake_src.tolist()) / 3
    g = acgan_generator_loss("minimax", fake_src, fake_cls, y_fake)
    assert g.item() == pytest.approx(-(l_c_fake - l_s_fake), rel=1e-6)
    # non-saturating: −E[log P(S=real | X_fake)] in place of E[log P(S=fake | X_fake)]
    l_real_fake = sum(math.log(sig(t)) for t in fake_src.tolist()) / 3
    g_ns = acgan_generator_loss("nonsaturating", fake_src, fake_cls, y_fake)
    assert g_ns.item() == pytest.approx(-l_c_fake - l_real_fake, rel=1e-6)
    # λ_C weighs the class terms only; fake_class_weight the term on generated images
    d2 = acgan_discriminator_loss("minimax", real_src, fake_src, real_cls, y_real, fake_cls, y_fake, class_weight=2.0)
    assert d2.item() == pytest.approx(-(l_s + 2 * l_c), rel=1e-6)
    d0 = acgan_discriminator_loss("minimax", real_src, fake_src, real_cls, y_real, fake_cls, y_fake,
                                  fake_class_weight=0.0)
    assert d0.item() == pytest.approx(-(l_s + l_c - l_c_fake), rel=1e-6)


def test_acgan_logs_class_accuracy_and_other_losses_work():
    torch.manual_seed(0)
    out = tiny("acgan").players()[0].loss(batch())
    assert {"acc_real", "acc_fake", "L_S", "L_C"} <= set(out)
    for loss in ("hinge", "lsgan", "wgan-gp"):
        model = tiny("acgan", loss=loss)
        for player in model.players():
            assert torch.isfinite(player.loss(batch())["loss"])


def test_mode_seeking_term_and_minibatch_std():
    torch.manual_seed(0)
    z = torch.randn(8, 4)
    same = torch.zeros(8, 1, 2, 2)                                   # G ignores z: the term explodes
    assert mode_seeking_loss(same, z).item() == pytest.approx(1e5)
    apart = torch.cat([torch.zeros(4, 1, 2, 2), torch.ones(4, 1, 2, 2)])
    ratio = (1.0 / (z[:4] - z[4:]).abs().mean(1)).mean()
    assert mode_seeking_loss(apart, z).item() == pytest.approx(1 / (ratio.item() + 1e-5), rel=1e-5)
    # D's minibatch-std head: an image's score depends on the spread of the batch around it
    d = tiny("acgan").discriminator.eval()
    x = torch.rand(4, 1, 28, 28) * 2 - 1
    alike = x[:1].expand(4, -1, -1, -1)
    assert d(x).shape == (4,) and not torch.allclose(d(x)[0], d(alike)[0])
    assert not hasattr(tiny("cgan").discriminator.head, "conv")       # cgan keeps DCGAN's head


def test_generator_steps_use_pairs_for_the_diversity_term():
    for name in ("acgan", "infogan"):
        model, b = tiny(name), batch(8)
        g_player, weight = model.players()[1], model.config.diversity_weight
        torch.manual_seed(0)
        out = g_player.loss(b)
        model.config.diversity_weight = 2 * weight          # the same pairs, the term counted twice
        torch.manual_seed(0)
        doubled = g_player.loss(b)
        assert torch.equal(out["mode_seeking"], doubled["mode_seeking"])
        assert torch.allclose(doubled["loss"] - out["loss"], weight * out["mode_seeking"], rtol=1e-4, atol=1e-6)
        assert "mode_seeking" not in tiny(name, diversity_weight=0.0).players()[1].loss(batch(8))


# ----------------------------------------------------------------------------- InfoGAN

def test_infogan_codes_are_drawn_from_their_priors():
    torch.manual_seed(0)
    model = tiny("infogan")
    n = 20000
    code, cat = model.noise(n)
    assert code.shape == (n, model.code_dim) == (n, model.config.latent_dim + 10 + 2)
    z, weights, cont = model.split(code)
    assert torch.equal(weights.argmax(1), cat) and torch.equal(weights.sum(1), torch.ones(n))
    counts = torch.bincount(cat, minlength=10).double()
    chi2 = float(((counts - n / 10) ** 2 / (n / 10)).sum())
    assert chi2 < 27.9                          # χ²(9) at p = 0.001: uniform over the 10 values
    assert cont.min() >= -1 and cont.max() <= 1 and abs(float(cont.mean())) < 0.02
    assert abs(float(cont.var()) - 1 / 3) < 0.02   # U(−1, 1)
    assert abs(float(z.std()) - 1) < 0.02


def test_infogan_q_learns_to_read_fixed_codes():
    """A learning test: Q (with D's body) trained on fixed generated images lowers its loss."""
    torch.manual_seed(0)
    model = tiny("infogan", diff_augment="")   # unshifted: the images of an untrained G differ only slightly
    code, _ = model.noise(64)
    with torch.no_grad():
        images = model.generate(code)
    opt = torch.optim.Adam(model.d_parameters(), lr=2e-3)
    with torch.no_grad():
        start = model.q_loss(images, code)
    for _ in range(30):
        loss = model.q_loss(images, code)["info"]
        opt.zero_grad()
        loss.backward()
        opt.step()
    with torch.no_grad():
        end = model.q_loss(images, code)
    assert float(start["info_ce"]) > 2.0 and float(start["q_acc"]) < 0.3      # chance: ln 10 ≈ 2.3, 10%
    assert float(end["info_ce"]) < 0.5 * float(start["info_ce"]), (start, end)
    assert float(end["info"]) < float(start["info"]) - 1.0
    assert float(end["q_acc"]) > 0.8


def test_infogan_information_term_is_in_both_players():
    model = tiny("infogan")
    g_params = {id(p) for p in model.g_parameters()}
    q_params = {id(p) for p in model.discriminator.q.parameters()}
    assert q_params <= {id(p) for p in model.d_parameters()} and not q_params & g_params
    for player in model.players():
        out = player.loss(batch())
        assert "info_ce" in out and float(out["loss"].detach()) > float(out["adv"])
        out["loss"].backward()
    assert all(p.grad is not None for p in model.discriminator.q.parameters())


def test_infogan_traversals_and_decode():
    torch.manual_seed(0)
    model = tiny("infogan").eval()
    walk = model.traverse_codes(n_noise=3, steps=5)
    assert walk["categorical"].shape == (10, 3, 1, 28, 28)
    assert walk["continuous_1"].shape == walk["continuous_2"].shape == (10, 5, 1, 28, 28)
    # columns of the categorical grid share z across rows; rows differ by the code only
    assert not torch.allclose(walk["categorical"][0], walk["categorical"][1])
    z = torch.randn(4, model.config.latent_dim)
    whole = torch.cat([z, F.one_hot(torch.tensor([1, 2, 3, 4]), 10).float(), torch.zeros(4, 2)], 1)
    assert torch.equal(model.decode(whole).detach(), model.decode(z, torch.tensor([1, 2, 3, 4])).detach())
    with pytest.raises(ConfigError, match="categorical code"):
        model.decode(z)


# ----------------------------------------------------------------------------- metrics

def test_requested_class_accuracy_on_hand_made_labels():
    got = requested_class_accuracy([0, 0, 1, 1, 2, 2, 2, 2], [0, 1, 1, 1, 2, 0, 2, 2], num_classes=4)
    assert got["accuracy"] == pytest.approx(6 / 8)
    assert got["per_class"] == [0.5, 1.0, 0.75, None]
    probs = F.one_hot(torch.tensor([0, 1, 1]), 3).float()
    assert requested_class_accuracy([0, 1, 2], probs)["accuracy"] == pytest.approx(2 / 3)
    with pytest.raises(ValueError):
        requested_class_accuracy([0, 1], [0])


def test_matched_code_agreement_on_hand_made_labels():
    # code 0 ↔ class 2, code 1 ↔ class 0, code 2 ↔ class 1, with one stray item per code
    codes = [0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2]
    labels = [2, 2, 2, 1, 0, 0, 0, 2, 1, 1, 1, 0]
    got = matched_code_agreement(codes, labels)
    assert got["mapping"] == [2, 0, 1] and got["agreement"] == pytest.approx(9 / 12)
    assert got["confusion"][0] == [0, 1, 3] and got["purity"] == pytest.approx(9 / 12)
    # a permutation of the labels agrees perfectly; more codes than classes leave a code unmatched
    assert matched_code_agreement([0, 1, 2, 0], [1, 2, 0, 1])["agreement"] == 1.0
    extra = matched_code_agreement([0, 1, 2, 2], [0, 1, 1, 1], num_codes=3, num_classes=2)
    assert extra["agreement"] == pytest.approx(3 / 4) and extra["mapping"].count(-1) == 1
    # one code for everything is right only for the largest class
    assert matched_code_agreement([0] * 6, [0, 0, 0, 1, 1, 2])["agreement"] == pytest.approx(0.5)
    # one class split over two codes: purity counts both, the one-to-one matching only one
    split = matched_code_agreement([0, 0, 1, 1, 2, 2], [0, 0, 0, 0, 1, 1])
    assert split["purity"] == 1.0 and split["agreement"] == pytest.approx(4 / 6)


# ----------------------------------------------------------------------------- runs: save, load, report, CLI

@pytest.mark.parametrize("name", ["cgan", "acgan", "infogan"])
def test_run_round_trip_gives_identical_samples(name, small, tmp_path, capsys):
    from genlab.apps.sections import sections_for
    from genlab.cli import main
    from genlab.runs import load
    from genlab.viz.report import Report

    train, test = small
    data = train.subset(range(0, 400, 4))
    model = genlab.create(name, data=data, **TINY)
    result = genlab.train(model, data, epochs=1, batch_size=50, out=tmp_path / name, progress=False,
                          diagnostics=False)    # the GAN diagnostics have their own tests
    assert (result.run_dir / "samples" / "epoch_001.png").is_file()
    loaded = load(result.run_dir).eval()
    model.eval()
    y = torch.tensor([3, 1, 4, 1, 5])
    torch.manual_seed(7)
    a = model.sample(5, y=y)
    torch.manual_seed(7)
    b = loaded.sample(5, y=y)
    assert torch.equal(a, b)

    report = Report("t")
    for add in sections_for(name):
        add(report, loaded, test, result.run_dir)
    assert "Categorical code" in report.html() or "Digits on demand" in report.html()

    assert main(["sample", str(result.run_dir), "--n", "4", "--label", "3", "--out", str(tmp_path / "s.png")]) == 0
    assert (tmp_path / "s.png").is_file()
    assert main(["sample", str(result.run_dir), "--label", "10"]) == 2
    assert "must lie in 0…9" in capsys.readouterr().err


def test_labels_refused_by_unconditional_gans_and_checked_by_the_others():
    dcgan = genlab.create("dcgan", **TINY).eval()
    for call in (lambda: dcgan.sample(2, y=3), lambda: dcgan.decode(torch.randn(2, 64), 3),
                 lambda: dcgan.critic(torch.rand(2, 1, 28, 28), 3)):
        with pytest.raises(ConfigError, match="takes no label"):
            call()
    for name in ("cgan", "acgan", "infogan"):
        model = tiny(name).eval()
        assert model.labels(3, 2).tolist() == [3, 3]
        with pytest.raises(ConfigError, match="0…9"):
            model.sample(2, y=10)


@pytest.mark.parametrize("name", ["acgan", "infogan"])
def test_wgan_gp_penalty_reaches_every_discriminator(name):
    model = tiny(name, loss="wgan-gp")
    d_player, b = model.players()[0], batch(8)
    torch.manual_seed(1)
    out = d_player.loss(b)
    model.config.gp_weight = 0.0                  # the same draws without the penalty in the loss
    torch.manual_seed(1)
    plain = d_player.loss(b)
    assert torch.equal(out["gp"], plain["gp"])
    assert out["gp"] > 1e-3                        # an untrained critic's gradient norm is far from 1
    assert torch.equal(out["loss"], plain["loss"] + 10.0 * out["gp"])    # λ = 10 times the penalty, exactly
