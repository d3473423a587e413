"""CycleGAN (genlab.models.cyclegan): the objective, the pool in the game, translate/cycle, training."""
import csv
import re

import pytest
import torch

import genlab
from genlab.data import ImageData, load_data
from genlab.errors import CapabilityError, ConfigError, DataError
from genlab.models.cyclegan import cycle_loss, identity_loss

NAMES = ["digits", "inverted"]
TINY = dict(width=2, blocks=1, d_width=2, patch=16)


def _domains(a, b, names=NAMES, name="toy"):
    """Two unpaired domains as the data layer gives them: x = cat(A, B), domain 0/1, meta["domains"]."""
    return ImageData(torch.cat([a, b]), domain=torch.cat([torch.zeros(len(a)), torch.ones(len(b))]).long(),
                     meta={"domains": list(names)}, name=name)


def _toy(n=6, size=8, seed=0):
    g = torch.Generator().manual_seed(seed)
    return _domains(torch.rand(n, 1, size, size, generator=g) * 0.3, 1 - torch.rand(n, 1, size, size, generator=g) * 0.3)


def _model(data=None, **config):
    data = data if data is not None else _toy()
    return genlab.create("cyclegan", data=data, seed=0, **{**TINY, **config})


# ------------------------------------------------------------------------------------- config and data

def test_config_takes_the_domains_and_shape_from_the_data():
    model = _model(_toy(size=12))
    assert model.config.domains == tuple(NAMES) and model.config.image_shape == (1, 12, 12)
    assert model.config.resolved()["downsamplings"] == 1           # 12 → 6: a second halving would leave 3×3
    assert genlab.create("cyclegan", image_shape=(3, 32, 32)).config.resolved()["downsamplings"] == 2
    space = model.label_space
    assert (space.kind, space.size, space.names) == ("domains", 2, tuple(NAMES))
    assert model.capabilities() == ["translate"]


def test_data_without_two_domains_is_refused_in_one_line():
    plain = ImageData(torch.rand(4, 1, 8, 8), name="mnist5k")
    with pytest.raises(DataError) as caught:
        genlab.create("cyclegan", data=plain)
    assert "domains:SPEC_A,SPEC_B" in str(caught.value) and "digits2mnist" in str(caught.value)
    assert "\n" not in str(caught.value)
    three = _toy()
    three.meta["domains"] = ["a", "b", "c"]
    with pytest.raises(DataError, match="exactly two domains"):
        genlab.create("cyclegan", data=three)
    model = genlab.create("cyclegan", **TINY, image_shape=(1, 8, 8))     # built without the data: domains A, B
    with pytest.raises(ConfigError, match="domains=digits,inverted"):
        model.prepare(_toy())
    only_a = _toy()
    only_a = only_a.subset(torch.nonzero(only_a.domain == 0).flatten())
    with pytest.raises(DataError, match="no image of domain 'inverted'"):
        _model().prepare(only_a)
    with pytest.raises(ConfigError, match="two different domain names"):
        genlab.create("cyclegan", domains=("same", "same"))


def test_what_it_cannot_do_is_refused_with_the_translate_command():
    model = _model()
    for capability in ("sample", "encode", "decode", "reconstruct"):
        assert not model.can(capability)
        with pytest.raises(CapabilityError, match="genlab translate RUN"):
            model.require(capability)


# ------------------------------------------------------------------------------------- the objective

def test_cycle_and_identity_losses_by_hand():
    a, b = torch.zeros(2, 1, 2, 2), torch.ones(1, 1, 2, 2)
    rec_a = torch.full_like(a, 0.5)                                  # |0.5 − 0| = 0.5 everywhere
    rec_b = torch.tensor([1.0, 0.5, 0.0, 1.0]).view(1, 1, 2, 2)     # |diff| = 0, 0.5, 1, 0: mean 0.375
    assert float(cycle_loss(a, rec_a, b, rec_b)) == pytest.approx(0.875)
    assert float(cycle_loss(a[:0], rec_a[:0], b, rec_b)) == pytest.approx(0.375)   # a domain absent: 0
    f_a, g_b = torch.full_like(a, -0.25), torch.full_like(b, 0.5)
    assert float(identity_loss(a, f_a, b, g_b)) == pytest.approx(0.25 + 0.5)


def _batch(model, n_a=2, n_b=3, seed=1):
    g = torch.Generator().manual_seed(seed)
    size = model.config.image_shape[1]
    x = torch.rand(n_a + n_b, 1, size, size, generator=g)
    domain = torch.tensor([0, 1] * n_a + [1] * (n_b - n_a))[:n_a + n_b]    # interleaved, as a shuffle leaves them
    return {"x": x, "domain": domain}


def test_generators_minimise_the_papers_sum_of_terms():
    model = _model(cycle_weight=10.0, identity_weight=0.5)
    batch = _batch(model)
    s = batch["x"] * 2 - 1
    a, b = s[batch["domain"] == 0], s[batch["domain"] == 1]
    G, F = model.generator_ab, model.generator_ba
    with torch.no_grad():
        fake_b, fake_a = G(a), F(b)
        cyc = (F(fake_b) - a).abs().mean() + (G(fake_a) - b).abs().mean()
        idt = (G(b) - b).abs().mean() + (F(a) - a).abs().mean()
        adv = ((model.discriminator_b(fake_b) - 1) ** 2).mean() + ((model.discriminator_a(fake_a) - 1) ** 2).mean()
        out = model.generators_step(batch)
    assert float(out["cycle"]) == pytest.approx(float(cyc), rel=1e-5)
    assert float(out["identity"]) == pytest.approx(float(idt), rel=1e-5)
    assert float(out["loss"]) == pytest.approx(float(adv + 10 * cyc + 5 * idt), rel=1e-5)
    model.config.identity_weight = 0.0
    with torch.no_grad():
        assert float(model.generators_step(batch)["loss"]) == pytest.approx(float(adv + 10 * cyc), rel=1e-5)


def test_discriminators_halve_the_least_squares_objective_on_their_own_domain():
    model = _model(pool_size=0)
    batch = _batch(model)
    s = batch["x"] * 2 - 1
    a, b = s[batch["domain"] == 0], s[batch["domain"] == 1]
    with torch.no_grad():
        model.generators_step(batch)
        d_b = 0.5 * (((model.discriminator_b(b) - 1) ** 2).mean() + (model.discriminator_b(model.generator_ab(a)) ** 2).mean())
        d_a = 0.5 * (((model.discriminator_a(a) - 1) ** 2).mean() + (model.discriminator_a(model.generator_ba(b)) ** 2).mean())
        assert float(model.discriminator_b_step(batch)["loss"]) == pytest.approx(float(d_b), rel=1e-5)
        assert float(model.discriminator_a_step(batch)["loss"]) == pytest.approx(float(d_a), rel=1e-5)
    only_b = {"x": batch["x"][batch["domain"] == 1], "domain": batch["domain"][batch["domain"] == 1]}
    assert float(model.discriminator_a_step(only_b)["loss"].detach()) == 0.0      # no real a: D_A is left alone


def test_players_generators_together_then_the_two_discriminators():
    model = _model(pool_size=4)
    players = model.players()
    assert [p.name for p in players] == ["generators", "discriminator_a", "discriminator_b"]
    g_ids = {id(p) for net in (model.generator_ab, model.generator_ba) for p in net.parameters()}
    assert {id(p) for p in players[0].parameters} == g_ids
    assert {id(p) for p in players[1].parameters} == {id(p) for p in model.discriminator_a.parameters()}
    # Adam 2e-4, β1 0.5; a constant rate for the first half of the epochs, then linear decay
    assert all(p.optimizer.defaults["lr"] == 2e-4 and p.optimizer.defaults["betas"] == (0.5, 0.999) for p in players)
    assert [players[0].lr_schedule(done) for done in (0.0, 0.5, 0.75, 0.9)] == pytest.approx([1, 1, 0.5, 0.2])
    batch = _batch(model, n_a=3, n_b=3)
    players[0].step(batch)
    assert all(p.grad is None for p in model.discriminator_a.parameters())   # D frozen while G and F learn
    assert all(p.grad is not None for p in model.generator_ab.parameters())
    for p in players[1:]:
        out = p.step(batch)
        assert torch.isfinite(out["loss"]) and {"d_real", "d_fake"} <= set(out)
    assert len(model.pool_a) == len(model.pool_b) == 3                      # this step's fakes went in
    model.eval()
    with torch.no_grad():
        model.discriminator_a_step(batch)
    assert len(model.pool_a) == 3                                           # validation leaves the pool alone


# ------------------------------------------------------------------------------------- translate

def test_translation_keeps_the_input_size_and_g_and_f_differ():
    model = _model(_toy(size=16)).eval()
    for shape in [(16, 16), (20, 12), (9, 13)]:
        x = torch.rand(3, 1, *shape)
        with torch.no_grad():
            to_b, to_a = model.translate(x, "inverted"), model.translate(x, "digits")
        assert to_b.shape == to_a.shape == x.shape
        assert float(to_b.min()) >= 0 and float(to_b.max()) <= 1
        assert not torch.allclose(to_b, to_a)                           # G and F are two networks
    with torch.no_grad():
        assert torch.allclose(to_b, (model.generator_ab(x * 2 - 1) + 1) / 2)


def test_the_unet_generator_keeps_sizes_and_trains_on_batches_of_one_domain():
    from genlab.nn.unet import UNet

    model = _model(_toy(size=16), generator="unet")
    assert isinstance(model.generator_ab, UNet) and isinstance(model.generator_ba, UNet)
    assert model.generator_ab.depth == 2 and model.generator_ab.norm == "instance"
    with torch.no_grad():
        x = torch.rand(3, 1, 20, 12)
        out = model.eval().translate(x, "inverted")
    assert out.shape == x.shape and 0 <= float(out.min()) and float(out.max()) <= 1
    model.train()
    batch = {"x": torch.rand(4, 1, 16, 16), "domain": torch.zeros(4, dtype=torch.long)}   # no image of B
    for player in model.players():
        assert torch.isfinite(player.step(batch)["loss"])
    with pytest.raises(ConfigError, match="downsampling"):
        _model(_toy(size=16), generator="unet", downsamplings=0)


def test_translate_takes_the_target_domain_by_name_or_index():
    model = _model().eval()
    x = torch.rand(2, 1, 8, 8)
    with torch.no_grad():
        to_b = model.translate(x)                                       # None: A → B
        assert torch.equal(model.translate(x, "inverted"), to_b) and torch.equal(model.translate(x, 1), to_b)
        assert torch.equal(model.translate(x, "B"), to_b)
        to_a = model.translate(x, "digits")
        assert torch.equal(model.translate(x, 0), to_a) and torch.equal(model.translate(x, "A"), to_a)
        mixed = model.translate(x, [0, 1])                              # one target per image
        assert torch.allclose(mixed[0], to_a[0]) and torch.allclose(mixed[1], to_b[1])
        assert torch.equal(model.translate(x, ["digits", "inverted"]), mixed)
        translated, back = model.cycle(x)
        assert torch.equal(translated, to_b) and torch.allclose(back, model.translate(to_b, "digits"))
        translated, back = model.cycle(x, "digits")
        assert torch.equal(translated, to_a) and torch.allclose(back, model.translate(to_a, "inverted"))


def test_unknown_domain_and_bad_images_are_refused_in_one_line():
    model = _model()
    x = torch.rand(2, 1, 8, 8)
    with pytest.raises(ConfigError) as caught:
        model.translate(x, "invertd")
    line = str(caught.value)
    assert "\n" not in line and "unknown domain 'invertd'" in line and "did you mean 'inverted'" in line
    assert "'digits' (0, A)" in line
    with pytest.raises(ConfigError, match="0…1"):
        model.translate(x, 2)
    with pytest.raises(DataError, match="1-channel"):
        model.translate(torch.rand(2, 3, 8, 8))


def test_preview_rows_are_a_translated_back_then_b_translated_back():
    model = _model().eval()
    batch = _batch(model, n_a=3, n_b=5)
    with torch.no_grad():
        images = model.preview(batch)
    assert images.shape == (48, 1, 8, 8) and len(model.preview_rows) == 6
    a = batch["x"][batch["domain"] == 0]
    with torch.no_grad():
        assert torch.equal(images[:3], a) and torch.allclose(images[8:11], model.translate(a, 1))
    assert float(images[3:8].abs().sum()) == 0                          # fewer than 8 images of A: black


# ------------------------------------------------------------------------------------- training

@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """3 epochs on digits (A) against inverted digits (B), 16×16, into a run folder."""
    torch.manual_seed(0)
    digits = load_data("mnist5k", "train", image_size=16, limit=128)
    data = _domains(digits.x[:64], 1 - digits.x[64:], name="toy")
    held = load_data("mnist5k", "test", image_size=16, limit=32)
    val = _domains(held.x[:16], 1 - held.x[16:], name="toy")
    model = genlab.create("cyclegan", data=data, seed=0, width=8, blocks=1, d_width=8, lr=1e-3)
    with torch.no_grad():
        before = model.eval().translate(val.x[:16]).mean().item()
    run = tmp_path_factory.mktemp("cyclegan") / "run"
    genlab.train(model, data, epochs=3, batch_size=16, out=run, progress=False, data_info={"spec": "toy"})
    return model, run, data, val, before


def test_a_tiny_run_learns_cycles_and_moves_a_towards_b(trained):
    model, run, data, val, before = trained
    with open(run / "metrics.csv", newline="") as f:
        rows = [r for r in csv.DictReader(f) if r.get("train/generators_cycle_epoch")]
    cycle = [float(r["train/generators_cycle_epoch"]) for r in rows]
    assert len(cycle) == 3 and cycle[-1] < 0.8 * cycle[0], cycle
    b_mean = float(data.x[data.domain == 1].mean())
    a = val.x[val.domain == 0]
    with torch.no_grad():
        after = model.eval().translate(a).mean().item()
    # the untrained G's outputs sit near grey (0.5); trained, A's translations take B's brightness
    assert abs(after - b_mean) < 0.5 * abs(before - b_mean), (before, after, b_mean)
    assert abs(after - b_mean) < abs(float(a.mean()) - b_mean) / 4


def test_a_run_saves_loads_and_reports_what_a_cyclegan_can_show(trained):
    from genlab.apps.report import build_report

    model, run, _, val, _ = trained
    loaded = genlab.load(run)
    assert loaded.config.domains == tuple(NAMES) and loaded.label_space.names == tuple(NAMES)
    with torch.no_grad():
        assert torch.allclose(loaded.translate(val.x, "digits"), model.eval().translate(val.x, "digits"), atol=1e-6)
    assert (run / "samples" / "epoch_003.png").is_file()
    assert not (run / "diagnostics.json").exists()                     # the GAN diagnostics need a sampler
    headings = re.findall(r"<h2[^>]*>(.*?)</h2>", build_report(run, data=val, model=loaded).read_text())
    assert headings[0] == "Configuration" and "Previews during training" in headings
    assert not {"Samples", "Reconstructions", "GAN training", "Latent space"} & set(headings)
