"""The explorer's library side (genlab.apps.explore): panels per model, the latent map and its
inverse, decoding codes, interpolation, drawings, the quiz, side by side, and the refusals."""
import random

import pytest
import torch
from PIL import Image, ImageDraw

import genlab
from genlab.apps.explore import PANELS, Explorer, side_by_side
from genlab.data.corrupt import corrupt
from genlab.errors import CapabilityError, ConfigError, DataError

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def opened(trained_runs):
    """Explorers of the shared trained runs, opened once per module (no judge: a judge cached on
    this machine must not change what the tests see)."""
    cache = {}

    def get(name, **options):
        key = (name, tuple(sorted(options.items())))
        if key not in cache:
            cache[key] = Explorer.open(trained_runs.get(name), judge=None, **options)
        return cache[key]

    return get


def test_panels_per_model(opened):
    expected = {
        "vae": ({"samples", "map", "sliders", "interpolate", "draw", "quiz"}, 2, "latent"),
        "cvae": ({"samples", "map", "sliders", "interpolate", "draw", "quiz"}, 8, "pca"),
        "conv-ae": ({"map", "sliders", "interpolate", "draw"}, 10, "pca"),
        "ae": ({"map", "sliders", "interpolate", "draw"}, 8, "pca"),
        "dcgan": ({"samples", "sliders", "quiz"}, 8, None),          # no judge: nothing to draw for
        "infogan": ({"samples", "sliders", "quiz"}, 8, None),
    }
    for name, (panels, latent_dim, method) in expected.items():
        info = opened(name).info()
        assert set(info["panels"]) == panels, name
        assert info["panels"] == [p for p in PANELS if p in panels]             # page order
        assert set(info["why_not"]) == set(PANELS) - panels, name
        assert all(isinstance(v, str) and v and "\n" not in v for v in info["why_not"].values())
        assert info["latent_dim"] == latent_dim and info["map_method"] == method, name
        assert info["model"] == name and info["image_shape"] == [1, 28, 28] and info["n_held_out"] == 1000
        assert info["denoiser"] is False and info["task"] is None
    assert "sample" in opened("ae").info()["why_not"]["samples"]
    assert "encode" in opened("dcgan").info()["why_not"]["map"]
    assert opened("cvae").info()["labels"] == {"kind": "classes", "size": 10, "meaning": "class",
                                              "names": [str(i) for i in range(10)]}
    assert opened("infogan").info()["labels"]["kind"] == "code"
    assert opened("vae").info()["labels"] is None


def test_a_gan_with_a_judge_gets_the_draw_panel(trained_runs, mean_judge, mnist):
    ex = Explorer.open(trained_runs.get("dcgan"))          # judge="auto" finds the (stand-in) cached judge
    assert ex.judge is mean_judge and "draw" in ex.info()["panels"]
    x, label = ex.held_out(0)
    out = ex.draw(x)
    assert out["reconstruction"] is None and out["point"] is None and out["code"] is None
    _, probs = mean_judge.embed(x)
    assert out["judge"]["label"] == str(int(probs.argmax())) and out["judge"]["probability"] == pytest.approx(
        float(probs.max()))
    assert sum(out["judge"]["probabilities"]) == pytest.approx(1.0, abs=1e-5)
    # no encoder: neighbours in pixel space, mostly of the image's class (chance: 1 in 10)
    same = []
    for i in range(0, 1000, 50):
        x, label = ex.held_out(i)
        found = ex.draw(x)
        assert found["neighbours"].shape == (8, 1, 28, 28)
        nearest = ((found["neighbours"] - x).flatten(1) ** 2).sum(1)
        assert torch.all(nearest[1:] >= nearest[:-1] - 1e-5)                    # nearest first
        same.append(sum(lab == label for lab in found["neighbour_labels"]) / 8)
    assert sum(same) / len(same) > 0.6


def test_map_of_a_2d_latent_is_the_codes_themselves(opened):
    ex = opened("vae")
    m = ex.latent_map()
    assert m["method"] == "latent" and m["axes"] == ["z1", "z2"] and len(m["points"]) == 1000
    x = ex.data.x[m["indices"]]
    with torch.no_grad():
        z = ex.model.encode(x)
    assert m["points"] == z.tolist()
    assert m["labels"] == ex.data.y[m["indices"]].tolist() and m["class_names"] == [str(i) for i in range(10)]
    u0, u1, v0, v1 = m["bounds"]
    assert u0 < z[:, 0].min() and u1 > z[:, 0].max() and v0 < z[:, 1].min() and v1 > z[:, 1].max()
    assert ex.latent_map() is m                                                # cached
    assert ex.code_at(0.25, -0.5).tolist() == [0.25, -0.5]
    with torch.no_grad():
        assert torch.equal(ex.decode_point(0.25, -0.5), ex.model.decode(torch.tensor([[0.25, -0.5]])).clamp(0, 1))


def test_pca_map_round_trip(opened):
    ex = opened("ae")
    m = ex.latent_map()
    assert m["method"] == "pca" and m["axes"] == ["PC1", "PC2"]
    z = ex._codes(ex.data.x[m["indices"]])
    # the map is the projection on the codes' top two principal axes: z(u) = μ + V u
    mu = z.double().mean(0)
    _, _, vt = torch.linalg.svd(z.double() - mu, full_matrices=False)
    p = torch.tensor(m["points"], dtype=torch.float64)
    for i in (0, 123, 999):
        back = ex.code_at(*m["points"][i]).double()
        assert torch.allclose(back, mu + (z[i].double() - mu) @ vt[:2].T @ vt[:2], atol=1e-4)
        assert torch.allclose(torch.tensor(ex.point_of(back), dtype=torch.float64), p[i], atol=1e-4)
    # a point's image lies closer to its own image's reconstruction than to most others'
    with torch.no_grad():
        recon = ex.model.reconstruct(ex.data.x[m["indices"][:40]])
    closer = 0
    for i in range(40):
        d = ((recon - ex.decode_point(*m["points"][i])) ** 2).flatten(1).sum(1)
        closer += int(d[i] < d.median())
    assert closer >= 36


def test_tsne_map_inverts_through_the_nearest_codes(trained_runs):
    ex = Explorer(genlab.load(trained_runs.get("ae")), genlab.load_data("mnist5k", "test").spread(60),
                  map_method="tsne", map_limit=60)
    m = ex.latent_map()
    assert m["method"] == "tsne" and m["axes"] == ["t-SNE 1", "t-SNE 2"] and len(m["points"]) == 60
    z = ex._codes(ex.data.x[m["indices"]])
    assert torch.allclose(ex.code_at(*m["points"][7]), z[7])                 # on a point: its own code
    assert ex.point_of(z[7]) == pytest.approx(m["points"][7])
    between = ex.code_at(*[(a + b) / 2 for a, b in zip(m["points"][3], m["points"][40])])
    assert between.shape == z[0].shape and torch.isfinite(between).all()


def test_decode_code_equals_the_models_decode(opened):
    for name in ("vae", "ae", "dcgan"):
        ex = opened(name)
        code = ex.base_code(seed=3)
        assert len(code) == ex.info()["latent_dim"]
        with torch.no_grad():
            assert torch.equal(ex.decode_code(code), ex.model.decode(torch.tensor([code])).clamp(0, 1)), name
    ex = opened("cvae")
    code = ex.base_code(index=5)
    x, label = ex.held_out(5)
    with torch.no_grad():
        assert code == pytest.approx(ex.model.encode(x, torch.tensor([label]))[0].tolist(), abs=1e-6)
        z = torch.tensor([code])
        assert torch.equal(ex.decode_code(code, label=3), ex.model.decode(z, torch.tensor([3])).clamp(0, 1))
        assert torch.equal(ex.decode_code(code), ex.model.decode(z, torch.tensor([0])).clamp(0, 1))   # default 0
        assert torch.equal(ex.decode_code(code, label="7"), ex.model.decode(z, torch.tensor([7])).clamp(0, 1))
    ex = opened("infogan")
    code = ex.base_code(seed=1)
    with torch.no_grad():
        assert torch.equal(ex.decode_code(code, label=2), ex.model.decode(torch.tensor([code]), 2).clamp(0, 1))


def test_base_code_and_range(opened):
    vae, ae = opened("vae"), opened("ae")
    assert vae.base_code(seed=4) == torch.randn(2, generator=torch.Generator().manual_seed(4)).tolist()
    assert vae.code_range() == (-3.0, 3.0)                                   # N(0, I) prior
    with torch.no_grad():
        assert ae.base_code(index=9) == pytest.approx(ae.model.encode(ae.held_out(9)[0])[0].tolist(), abs=1e-6)
    lo, hi = ae.code_range()                                                 # from the codes, a margin each side
    z = ae._codes(ae.data.x)
    assert lo < float(z.min()) and hi > float(z.max()) and hi - lo < 2 * float(z.max() - z.min())


def test_interpolation_ends_are_the_reconstructions(opened):
    for name in ("vae", "cvae", "ae"):
        ex = opened(name)
        (a, _), (b, _) = ex.held_out(10), ex.held_out(900)
        strip = ex.interpolate(a, b, steps=6)
        assert strip.shape == (6, 1, 28, 28)
        with torch.no_grad():
            assert torch.allclose(strip[0], ex.model.reconstruct(a)[0].clamp(0, 1), atol=1e-5), name
            assert torch.allclose(strip[-1], ex.model.reconstruct(b)[0].clamp(0, 1), atol=1e-5), name
        assert not torch.allclose(strip[2], strip[0], atol=1e-3)
    sph = opened("vae").interpolate(a[0], b[0], steps=3, mode="spherical")   # C×H×W accepted too
    assert sph.shape == (3, 1, 28, 28)


def test_draw_of_a_held_out_image_lands_on_its_map_point(opened):
    for name in ("vae", "ae"):
        ex = opened(name)
        m = ex.latent_map()
        k = 17
        x, _ = ex.held_out(m["indices"][k])
        out = ex.draw(x)
        assert out["point"] == pytest.approx(m["points"][k], abs=1e-5), name
        assert len(out["code"]) == ex.info()["latent_dim"]
        with torch.no_grad():
            assert torch.allclose(out["reconstruction"], ex.model.reconstruct(x).clamp(0, 1))
        assert out["neighbours"].shape == (8, 1, 28, 28) and len(out["neighbour_labels"]) == 8
        assert out["judge"] is None and out["noisy"] is None and out["translated"] is None


def test_draw_of_a_training_image_finds_itself_first(opened):
    ex = opened("vae")
    x = ex.train.x[1234:1235]
    out = ex.draw(x)
    assert torch.equal(out["neighbours"][0], x[0])
    assert out["neighbour_labels"][0] == int(ex.train.y[1234])


def test_denoiser_draw_shows_its_own_corruption(mnist):
    data = mnist[1].spread(20)
    model = genlab.create("dae", data=data, arch="mlp", hidden=(16,), latent_dim=4, noise="saltpepper:0.3",
                          seed=0).eval()
    ex = Explorer(model, data, name="tiny-dae", seed=5)
    info = ex.info()
    assert info["denoiser"] is True and info["name"] == "tiny-dae"
    x = data.x[:1]
    out = ex.draw(x)
    noisy = corrupt(x, "saltpepper:0.3", torch.Generator().manual_seed(5))
    assert torch.equal(out["noisy"], noisy) and not torch.equal(noisy, x)
    with torch.no_grad():
        assert torch.allclose(out["cleaned"], model.reconstruct(noisy).clamp(0, 1))
    assert torch.equal(ex.draw(x)["noisy"], noisy)                           # the same noise each time


def test_vq_codes_refuse_the_map_and_sliders(mnist):
    data = mnist[1].spread(10)
    ex = Explorer(genlab.create("vq-vae", data=data, channels=(4, 8), code_dim=4, num_codes=8, seed=0), data)
    info = ex.info()
    assert "map" not in info["panels"] and "sliders" not in info["panels"] and "interpolate" in info["panels"]
    assert "codebook" in info["why_not"]["map"] and "codebook" in info["why_not"]["sliders"]
    assert info["latent_dim"] is None
    with pytest.raises(CapabilityError, match="codebook"):
        ex.decode_code([0.0] * 4)
    with pytest.raises(CapabilityError, match="codebook"):
        ex.latent_map()
    out = ex.draw(data.x[:1])
    assert out["code"] is None and out["point"] is None and out["reconstruction"].shape == (1, 1, 28, 28)


def test_as_input_of_a_white_on_black_drawing(opened):
    ex = opened("vae")
    canvas = Image.new("RGBA", (280, 280), (0, 0, 0, 0))                 # a transparent canvas
    ImageDraw.Draw(canvas).rectangle([130, 40, 149, 239], fill=(255, 255, 255, 255))
    x = ex.as_input(canvas, frame=False)
    assert x.shape == (1, 1, 28, 28) and x.dtype == torch.float32
    expected = torch.zeros(1, 1, 28, 28)
    expected[..., 4:24, 13:15] = 1.0                                        # box averaging of 10×10 cells
    assert torch.allclose(x, expected, atol=1 / 255)
    grey = ex.as_input(Image.new("L", (14, 14), 128))                       # enlarged, grey kept
    assert grey.shape == (1, 1, 28, 28) and torch.allclose(grey, torch.full_like(grey, 128 / 255), atol=2 / 255)
    assert ex.as_input(Image.new("RGB", (28, 28))).abs().sum() == 0          # a blank image is valid input
    with pytest.raises(DataError, match="1024"):
        ex.as_input(Image.new("L", (1025, 10)))


def _ink_box_and_centre(x):
    a = x[0, 0]
    rows, cols = (a > 0.1).nonzero(as_tuple=True)
    ys, xs = torch.meshgrid(torch.arange(28.0), torch.arange(28.0), indexing="ij")
    centre = ((ys * a).sum() / a.sum() + 0.5, (xs * a).sum() / a.sum() + 0.5)
    return (rows.max() - rows.min() + 1).item(), (cols.max() - cols.min() + 1).item(), centre


def test_a_drawing_is_framed_as_mnist_frames_its_digits(opened):
    ex = opened("vae")
    for box in ([20, 10, 259, 270], [200, 200, 239, 259]):     # edge to edge, and small in a corner
        canvas = Image.new("L", (280, 280), 0)
        ImageDraw.Draw(canvas).rectangle(box, fill=255)
        height, width, (cy, cx) = _ink_box_and_centre(ex.as_input(canvas))
        assert height in (20, 21) and width < height                 # the longer side scaled to 20 of 28
        assert abs(cy - 14) < 1 and abs(cx - 14) < 1                 # centre of mass in the middle
    photo = Image.new("L", (280, 280), 200)                            # a bright border: no drawing on black
    ImageDraw.Draw(photo).rectangle([100, 100, 120, 120], fill=0)
    assert torch.equal(ex.as_input(photo), ex.as_input(photo, frame=False))


def test_samples_are_seeded_and_labelled(opened):
    ex = opened("cvae")
    a = ex.samples(6, seed=3)
    assert a.shape == (6, 1, 28, 28) and 0 <= float(a.min()) and float(a.max()) <= 1
    assert torch.equal(a, ex.samples(6, seed=3)) and not torch.equal(a, ex.samples(6, seed=4))
    g = torch.Generator().manual_seed(3)
    with torch.no_grad():
        assert torch.allclose(ex.samples(4, seed=3, label=2), ex.model.sample(4, 2, generator=g))
    cooler = ex.samples(4, seed=3, temperature=0.5, label="2")
    assert cooler.shape == (4, 1, 28, 28) and not torch.equal(cooler, ex.samples(4, seed=3, label=2))


def test_quiz_mixes_real_and_generated(opened):
    ex = opened("vae")
    rng = random.Random(0)
    kinds = []
    for _ in range(40):
        image, real = ex.quiz_round(rng)
        assert image.shape == (1, 1, 28, 28)
        if real:
            assert (ex.data.x == image).flatten(1).all(1).any()              # one of the held-out images
        kinds.append(real)
    assert 8 <= sum(kinds) <= 32
    cvae = opened("cvae")
    assert {cvae.quiz_round(random.Random(s))[1] for s in range(12)} == {True, False}


def test_side_by_side_uses_the_same_seed_and_inputs(opened):
    vae, ae, gan = opened("vae"), opened("ae"), opened("dcgan")
    out = side_by_side([vae, ae, gan], seed=2, n=5)
    inputs = out["inputs"]
    assert inputs.shape == (5, 1, 28, 28) and torch.equal(inputs, vae.data.spread(5).x)
    assert set(out["runs"]) == {"vae", "ae", "dcgan"}
    assert torch.equal(out["runs"]["vae"]["samples"], vae.samples(5, seed=2))
    with torch.no_grad():
        assert torch.allclose(out["runs"]["ae"]["reconstructions"], ae.model.reconstruct(inputs).clamp(0, 1))
    assert out["runs"]["ae"]["samples"] is None and "sample" in out["runs"]["ae"]["why_not"]["samples"]
    assert out["runs"]["dcgan"]["reconstructions"] is None and "reconstruct" in out["runs"]["dcgan"]["why_not"][
        "reconstructions"]
    assert out["runs"]["vae"]["why_not"] == {}
    with pytest.raises(ConfigError):
        side_by_side([])


def test_errors_raise_the_right_classes(opened):
    vae, ae, gan, cvae = opened("vae"), opened("ae"), opened("dcgan"), opened("cvae")
    with pytest.raises(CapabilityError, match="cannot sample"):
        ae.samples(4)
    with pytest.raises(CapabilityError, match="cannot encode"):
        gan.latent_map()
    with pytest.raises(CapabilityError, match="cannot encode"):
        gan.interpolate(*[vae.held_out(i)[0] for i in (0, 1)])
    with pytest.raises(CapabilityError):
        gan.draw(vae.held_out(0)[0])                                         # no reconstruct and no judge
    for bad in ({"n": 0}, {"n": 65}, {"temperature": 0}, {"temperature": 11}, {"temperature": float("nan")}):
        with pytest.raises(ConfigError):
            vae.samples(**bad)
    for index in (-1, 1000, 2.5):
        with pytest.raises(ConfigError):
            vae.held_out(index)
    with pytest.raises(ConfigError, match="2 numbers"):
        vae.decode_code([0.1, 0.2, 0.3])
    with pytest.raises(ConfigError, match="finite"):
        vae.decode_code([0.1, float("inf")])
    with pytest.raises(ConfigError, match="takes no label"):
        vae.decode_code([0.1, 0.2], label=3)
    with pytest.raises(ConfigError, match="out of range"):
        cvae.samples(2, label=12)
    with pytest.raises(ConfigError, match="unknown"):
        cvae.decode_code([0.0] * 8, label="seven")
    with pytest.raises(ConfigError, match="mode"):
        vae.interpolate(vae.held_out(0)[0], vae.held_out(1)[0], mode="cubic")
    with pytest.raises(ConfigError, match="steps"):
        vae.interpolate(vae.held_out(0)[0], vae.held_out(1)[0], steps=65)
    with pytest.raises(ConfigError, match="finite"):
        vae.decode_point(float("nan"), 0.0)
    with pytest.raises(DataError):
        vae.draw(torch.zeros(1, 3, 28, 28))
    with pytest.raises(ConfigError, match="map_method"):
        Explorer(vae.model, map_method="umap")
    bare = Explorer(vae.model)                                               # no data
    with pytest.raises(DataError, match="held-out"):
        bare.latent_map()
    with pytest.raises(DataError, match="held-out"):
        bare.quiz_round(random.Random(0))
    assert "map" not in bare.info()["panels"] and "quiz" not in bare.info()["panels"]


def test_a_translation_model_draws_its_output():
    from genlab.apps.translate import translate_image

    data = genlab.load_data("mnist5k", "test", task="denoise:gaussian:0.3").spread(12)
    model = genlab.create("unet", data=data, depth=2, width=4, seed=0).eval()
    ex = Explorer(model, data)
    info = ex.info()
    assert info["panels"] == ["draw"] and info["task"] == "denoise" and info["latent_dim"] is None
    out = ex.draw(data.x[:1])
    assert torch.allclose(out["translated"], translate_image(model, data.x[:1]).clamp(0, 1))
    assert out["reconstruction"] is None and out["neighbours"].shape == (8, 1, 28, 28)


def test_trained_denoiser_and_inpainter(opened):
    dae = opened("dae")
    info = dae.info()
    assert info["denoiser"] is True and "draw" in info["panels"] and info["latent_dim"] == 8
    x, _ = dae.held_out(0)
    out = dae.draw(x)
    noisy = corrupt(x, "gaussian:0.5", torch.Generator().manual_seed(0))    # the dae's training noise, seed 0
    assert torch.equal(out["noisy"], noisy)
    with torch.no_grad():
        assert torch.allclose(out["cleaned"], dae.model.reconstruct(noisy).clamp(0, 1))
    # the denoiser removes most of its own noise
    assert ((out["cleaned"] - x) ** 2).mean() < ((noisy - x) ** 2).mean()
    inpaint = opened("unet-inpaint").info()
    assert inpaint["task"] == "inpaint" and inpaint["panels"] == []
    assert "hole" in inpaint["why_not"]["draw"]


def test_decoding_a_point_is_fast_once_the_map_is_cached(opened):
    import statistics
    import time

    ex = opened("vae")                   # the demo's model: a convolutional VAE with a 2-D latent
    ex.latent_map()
    times = []
    for i in range(20):
        t0 = time.perf_counter()
        ex.decode_point(0.1 * i, -0.05 * i)
        ex.decode_code([0.05 * i, 0.1])
        times.append(time.perf_counter() - t0)
    assert statistics.median(times) < 0.05


def test_an_autoregressive_model_completes_a_picture_given_its_top_rows():
    data = genlab.load_data("mnist5k-bin", "test").spread(20)
    model = genlab.create("pixelcnn", data=data, width=8, blocks=1, seed=0).eval()
    ex = Explorer(model, data, name="tiny-pixelcnn")
    info = ex.info()
    assert {"samples", "complete", "quiz"} <= set(info["panels"]) and "map" not in info["panels"]
    x = data.x[:1]
    out = ex.complete(x, rows=14, samples=3, seed=1)
    done = out["completions"]
    assert done.shape == (3, 1, 28, 28) and torch.equal(out["original"], x)
    assert torch.equal(done[:, :, :14], x[:, :, :14].expand(3, -1, -1, -1))     # the given rows are kept
    assert set(done.unique().tolist()) <= {0.0, 1.0}                             # binarised digits stay binary
    assert torch.equal(ex.complete(x, rows=14, samples=3, seed=1)["completions"], done)   # seeded
    assert not torch.equal(ex.complete(x, rows=14, samples=3, seed=2)["completions"], done)
    assert (out["given"][:, :, 14:] != x[:, :, 14:]).any()                       # the hidden part is dimmed
    with pytest.raises(ConfigError, match="rows"):
        ex.complete(x, rows=28)
    with pytest.raises(ConfigError, match="samples"):
        ex.complete(x, rows=14, samples=9)


def test_only_autoregressive_models_complete(opened):
    ex = opened("vae")
    assert "autoregressive" in ex.info()["why_not"]["complete"]
    with pytest.raises(CapabilityError, match="autoregressive"):
        ex.complete(ex.data.x[:1], rows=14)


# ------------------------------------------------------------------------------ translate (cyclegan, stargan)

def test_the_translate_panel_is_offered_to_cyclegan_and_stargan_only(opened):
    cyc, star = opened("cyclegan").info(), opened("stargan").info()
    assert cyc["panels"] == ["draw", "translate"] and star["panels"] == ["draw", "translate"]      # page order
    assert cyc["translate"] == {"kind": "domains", "domains": ["digits", "mnist"]}
    assert star["translate"] == {"kind": "attributes", "groups": [[0, 1, 2], [3, 4], [5, 6]],
                                 "attributes": ["thin", "normal", "thick", "upright", "tilted", "plain", "inverted"]}
    assert "cyclegan or stargan" in opened("vae").info()["why_not"]["translate"]
    assert opened("vae").info()["translate"] is None
    # an image-to-image model translates, but to no target of the user's choosing
    assert "without a target" in opened("unet-inpaint").info()["why_not"]["translate"]
    with pytest.raises(CapabilityError, match="cyclegan or stargan"):
        opened("vae").translate(opened("vae").held_out(0)[0], to="mnist")


def test_cyclegan_translate_is_G_then_F_and_a_held_out_image_goes_to_the_other_domain(opened):
    ex = opened("cyclegan")
    m = ex.model
    data = ex.data
    a = int((data.domain == 0).nonzero()[0])            # a digits image (A) and an mnist one (B)
    b = int((data.domain == 1).nonzero()[0])
    assert ex.held_out_source(a) == "digits" and ex.held_out_source(b) == "mnist"
    x = ex.held_out(a)[0]
    out = ex.translate(x, to="mnist")
    with torch.no_grad():
        g = m.generator_ab(x * 2 - 1).add(1).div(2).clamp(0, 1)          # G: A → B
        f = m.generator_ba(g * 2 - 1).add(1).div(2).clamp(0, 1)          # F: B → A
    assert torch.allclose(out["translated"], g, atol=1e-6) and torch.allclose(out["back"], f, atol=1e-6)
    assert out["source"] == "digits" and out["target"] == "mnist"
    assert out["cycle_error"] == pytest.approx(float((f - x).abs().mean()), rel=1e-5)
    assert torch.equal(ex.translate(x)["translated"], out["translated"])              # no target, no source: A → B
    # an mnist image with its domain known goes to digits: F, then G back
    y = ex.held_out(b)[0]
    other = ex.translate(y, source=ex.held_out_source(b))
    with torch.no_grad():
        assert torch.allclose(other["translated"], m.generator_ba(y * 2 - 1).add(1).div(2).clamp(0, 1), atol=1e-6)
    assert other["source"] == "mnist" and other["target"] == "digits"
    assert torch.equal(ex.translate(y, to=0)["translated"], other["translated"])      # a domain by its number


def test_stargan_translate_changes_the_named_groups_and_comes_back_to_the_image_s_own(opened):
    ex = opened("stargan")
    m = ex.model
    x = ex.held_out(0)[0]
    own = ex.held_out_source(0)
    assert torch.equal(own, ex.data.attributes[0])
    out = ex.translate(x, domains="thick,inverted", source=own)
    names = list(m.config.attributes)
    c = own.clone()
    c[[0, 1, 2]], c[[5, 6]] = torch.tensor([0.0, 0, 1]), torch.tensor([0.0, 1])     # thick, inverted; tilt kept
    with torch.no_grad():
        translated = m.translate(x, c[None])
        back = m.translate(translated, own[None])
    assert torch.allclose(out["translated"], translated, atol=1e-6) and torch.allclose(out["back"], back, atol=1e-6)
    assert out["target"] == [names[i] for i in range(7) if c[i] > 0]
    assert out["source"] == [names[i] for i in range(7) if own[i] > 0]
    # a drawing's own attributes are as the model's attribute classifier reads them
    drawn = ex.translate(x, domains=["tilted"])
    with torch.no_grad():
        read = m.read_attributes(x)
    assert drawn["source"] == [names[i] for i in range(7) if read[0, i] > 0.5]
    assert drawn["translated"].shape == x.shape == drawn["back"].shape


def test_translate_refusals_are_one_line(opened):
    cyc, star = opened("cyclegan"), opened("stargan")
    x, s = cyc.held_out(0)[0], star.held_out(0)[0]
    for ex, image, kwargs, words in [
            (cyc, x, {"to": "giraffe"}, "unknown domain 'giraffe'"),
            (cyc, x, {"domains": "thick"}, "give to"),
            (star, s, {"to": "mnist", "domains": "thick"}, "give domains"),
            (star, s, {}, "name them in domains"),
            (star, s, {"domains": " "}, "name them in domains"),
            (star, s, {"domains": "thick,thin"}, "exclude each other"),
            (star, s, {"domains": "giraffe"}, "unknown attribute 'giraffe'")]:
        with pytest.raises(ConfigError) as caught:
            ex.translate(image, **kwargs)
        assert words in str(caught.value) and "\n" not in str(caught.value), kwargs
    with pytest.raises(DataError):
        cyc.translate(torch.rand(1, 3, 28, 28))                            # the model's channels only
    with pytest.raises(ConfigError, match="index"):
        cyc.held_out_source(10 ** 6)
