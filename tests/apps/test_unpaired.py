"""`genlab translate` for unpaired (cyclegan) and multi-domain (stargan) runs: the round trip
x → translated → back, the cycle-reconstruction error mean |back − x|, the pictures, and the refusals
(exit 2, one line, nothing overwritten).

Stand-in models with the translation models' contract make the formulas exact: the "cyclegan"'s
G(a) = 1 − a and F(b) = (1 − b)/2, so F(G(a)) = a/2 and G(F(b)) = (1 + b)/2; the "stargan"'s
G(x, c) = (x + v(c))/2 with v(c) = Σ_k w_k c_k / Σ_k w_k, w_k = k + 1."""
import json
from dataclasses import dataclass

import numpy as np
import pytest
import torch
from PIL import Image

from genlab.apps import unpaired
from genlab.data import ImageData
from genlab.errors import ConfigError, DataError
from genlab.models.base import GenerativeModel, LabelSpace, ModelConfig
from tests.cli_run import run

pytestmark = pytest.mark.usefixtures("one_thread")

ATTRS = ("thin", "normal", "thick", "upright", "tilted")


@dataclass
class _CycleConfig(ModelConfig):
    domains: tuple[str, ...] = ("digits", "mnist")


class _Cycle(GenerativeModel):
    """G: a ↦ 1 − a (to the second domain), F: b ↦ (1 − b)/2 (to the first); images of the run's size only."""

    def __init__(self, config):
        super().__init__(config)
        self.gain = torch.nn.Parameter(torch.ones(()))   # a weight, so that the run folder holds one

    @property
    def label_space(self):
        return LabelSpace("domains", 2, "target domain", names=tuple(self.config.domains))

    def players(self):
        return []

    def translate(self, x, y=None):
        self.check_input(x)
        target = 1 if y is None else self.label_index(y)
        return (1 - x) * self.gain if target == 1 else (1 - x) * 0.5 * self.gain

    def cycle(self, x, y=None):
        target = 1 if y is None else self.label_index(y)
        out = self.translate(x, target)
        return out, self.translate(out, 1 - target)


@dataclass
class _StarConfig(ModelConfig):
    attributes: tuple[str, ...] = ATTRS
    attribute_groups: tuple[tuple[int, ...], ...] = ((0, 1, 2), (3, 4))


def v_of(c):
    w = torch.arange(1, c.shape[-1] + 1, dtype=torch.float)
    return (c * w).sum(-1) / w.sum()


class _Star(GenerativeModel):
    """G(x, c) = (x + v(c))/2: the output tells which target vector was used; any image size."""

    def __init__(self, config):
        super().__init__(config)
        self.gain = torch.nn.Parameter(torch.ones(()))

    @property
    def label_space(self):
        return LabelSpace("attributes", len(self.config.attributes), "target attributes",
                          names=tuple(self.config.attributes))

    def players(self):
        return []

    def check_input(self, x):
        if x.ndim != 4 or x.shape[1] != self.image_shape[0]:
            raise DataError(f"takes {self.image_shape[0]}-channel images")

    def attribute_vector(self, text, base=None):
        names = list(self.config.attributes)
        v = torch.zeros(len(names))
        for g in self.config.attribute_groups:
            if base is not None:
                v[list(g)] = torch.as_tensor(base, dtype=torch.float)[list(g)]
            else:
                v[g[0]] = 1
        for name in [t.strip() for t in text.split(",") if t.strip()]:
            i = names.index(name)
            group = next(g for g in self.config.attribute_groups if i in g)
            v[list(group)] = 0
            v[i] = 1
        return v

    def translate(self, x, y=None):
        if y is None:
            raise ConfigError("name target attributes")
        c = torch.as_tensor(y, dtype=torch.float).reshape(len(x), -1)
        return (x + v_of(c).view(-1, 1, 1, 1)) / 2 * self.gain


def attrs(*names):
    return torch.tensor([[1.0 if a in n else 0.0 for a in ATTRS] for n in names])


@pytest.fixture(scope="module")
def models():
    """The stand-ins registered while this module runs (a run folder stores a registered name)."""
    from genlab.registry import _REGISTRY, Entry, get

    get("ae")   # the built-in models first, then the stand-ins beside them
    with pytest.MonkeyPatch.context() as mp:
        for name, cls, config in (("test-cyclegan", _Cycle, _CycleConfig), ("test-stargan", _Star, _StarConfig)):
            mp.setitem(_REGISTRY, name, Entry(name, cls, config, "stand-in"))
            mp.setattr(cls, "registry_name", name, raising=False)
            mp.setattr(cls, "config_class", config, raising=False)
        yield {"cyclegan": _Cycle(_CycleConfig(image_shape=(1, 8, 8))),
               "stargan": _Star(_StarConfig(image_shape=(1, 8, 8)))}


def save_run(model, folder, spec="digits"):
    from genlab.io import save_tensors
    from genlab.runs import WEIGHTS, write_config

    folder.mkdir(parents=True)
    write_config(folder, model, {"spec": spec}, {})
    save_tensors(model.state_dict(), folder / WEIGHTS)
    return folder


@pytest.fixture
def runs(models, tmp_path):
    return {name: save_run(m, tmp_path / name) for name, m in models.items()}


@pytest.fixture
def files(tmp_path):
    rng = np.random.default_rng(0)
    paths = {"square": tmp_path / "square.png", "wide": tmp_path / "wide.png"}
    Image.fromarray((rng.random((8, 8)) * 255).astype(np.uint8)).save(paths["square"])
    Image.fromarray((rng.random((10, 12)) * 255).astype(np.uint8)).save(paths["wide"])
    return paths


def refused(capsys, *argv, words=()):
    code, out, err = run(capsys, *argv)
    lines = [line for line in err.strip().splitlines() if not line.startswith("genlab: warning:")]
    assert code == 2, (code, out, err)
    assert len(lines) == 1 and lines[0].startswith("genlab: error:"), err
    for w in words:
        assert w in lines[0], lines[0]
    return lines[0]


def pixels(path):
    with Image.open(path) as im:
        return np.array(im)


def two_domains(n=6):
    """n images of each domain (domain 0 = digits, 1 = mnist), as a domains: spec gives them."""
    x = torch.rand(2 * n, 1, 8, 8)
    return ImageData(x, name="pair", domain=torch.tensor([0] * n + [1] * n), meta={"domains": ["digits", "mnist"]})


# ------------------------------------------------------------------------------------------ cyclegan

def test_translate_domains_goes_through_G_then_F(models):
    model, x = models["cyclegan"], torch.rand(5, 1, 8, 8)
    translated, back = unpaired.translate_domains(model, x, "mnist")
    assert torch.allclose(translated, 1 - x) and torch.allclose(back, x / 2, atol=1e-6)   # F(G(a)) = a/2
    assert unpaired.cycle_error(x, back) == pytest.approx(float((x / 2).mean()), rel=1e-5)
    translated, back = unpaired.translate_domains(model, x, "digits")
    assert torch.allclose(translated, (1 - x) / 2) and torch.allclose(back, (1 + x) / 2, atol=1e-6)
    # the default is A → B, and numbers name domains too; the same round trip as the model's cycle
    assert torch.equal(unpaired.translate_domains(model, x)[1], unpaired.translate_domains(model, x, 1)[1])
    assert torch.allclose(unpaired.translate_domains(model, x, "0")[1], model.cycle(x, 0)[1])


def test_unknown_domains_are_refused_with_the_runs_domains(models):
    model = models["cyclegan"]
    with pytest.raises(ConfigError, match="'mnsit' for this test-cyclegan run; did you mean 'mnist'.*digits, mnist"):
        unpaired.domain_index(model, "mnsit")
    with pytest.raises(ConfigError, match="unknown domain 'zebra'"):
        unpaired.domain_index(model, "zebra")
    with pytest.raises(ConfigError, match="unknown domain '2'"):
        unpaired.domain_index(model, 2)


def test_grid_both_directions_and_the_cycle_error_per_direction(models, tmp_path):
    model, data = models["cyclegan"], two_domains(6)
    f = unpaired.unpaired_grid(model, data, tmp_path, n=4)
    a, b = data.x[:6], data.x[6:]
    (ab, ba) = f["directions"]
    assert (ab["source"], ab["target"], ab["n"]) == ("digits", "mnist", 6)
    assert ab["cycle_error"] == pytest.approx(float((a / 2).mean()), rel=1e-5)              # |a/2 − a|
    assert ba["cycle_error"] == pytest.approx(float(((1 - b) / 2).mean()), rel=1e-5)        # |(1 + b)/2 − b|
    assert json.loads((tmp_path / "translate.json").read_text())["directions"] == f["directions"]
    assert "cycle-reconstruction error" in f["line"]
    # six rows (A, G(A), F(G(A)), B, F(B), G(F(B))) of four images: taller than a three-row grid
    only = tmp_path / "only"
    only.mkdir()
    g = unpaired.unpaired_grid(model, data, only, n=4, to="digits")
    assert [(d["source"], d["target"]) for d in g["directions"]] == [("mnist", "digits")]
    with Image.open(tmp_path / "translate.png") as six, Image.open(only / "translate.png") as three:
        assert six.size[1] > 1.7 * three.size[1] and abs(six.size[0] - three.size[0]) < 40   # labels differ


def test_data_without_domains_needs_to_and_foreign_domains_are_refused(models):
    model = models["cyclegan"]
    plain = ImageData(torch.rand(4, 1, 8, 8), name="digits")
    with pytest.raises(DataError, match="no domains.*--to"):
        unpaired.image_domains(model, plain, None)
    assert (unpaired.image_domains(model, plain, "mnist") == 0).all()   # all taken as the other domain
    foreign = ImageData(torch.rand(4, 1, 8, 8), name="h2z", domain=torch.tensor([0, 0, 1, 1]),
                        meta={"domains": ["horse", "zebra"]})
    with pytest.raises(DataError, match="horse, zebra.*digits, mnist"):
        unpaired.image_domains(model, foreign, None)
    # a data set's own order of the domains is mapped onto the run's
    swapped = ImageData(torch.rand(4, 1, 8, 8), domain=torch.tensor([0, 0, 1, 1]), meta={"domains": ["mnist", "digits"]})
    assert unpaired.image_domains(model, swapped, None).tolist() == [1, 1, 0, 0]
    one = ImageData(torch.rand(4, 1, 8, 8), domain=torch.zeros(4, dtype=torch.long), meta={"domains": ["digits"]})
    with pytest.raises(DataError, match="no images of mnist"):
        unpaired.image_domains(model, one, "digits")


# ------------------------------------------------------------------------------------------ stargan

def test_translate_attributes_keeps_the_groups_not_named(models):
    model, x = models["stargan"], torch.rand(3, 1, 8, 8)
    source = attrs({"thin", "upright"}, {"normal", "tilted"}, {"thick", "tilted"})
    translated, back = unpaired.translate_attributes(model, x, "thick", source)
    c = attrs({"thick", "upright"}, {"thick", "tilted"}, {"thick", "tilted"})   # orientation kept per image
    assert torch.allclose(translated, (x + v_of(c).view(-1, 1, 1, 1)) / 2)
    assert torch.allclose(back, (translated + v_of(source).view(-1, 1, 1, 1)) / 2)   # back to c′, the source
    assert unpaired.cycle_error(x, back) == pytest.approx(float((back - x).abs().mean()), rel=1e-6)
    # two groups named: the source no longer matters for the target
    t2, _ = unpaired.translate_attributes(model, x, ["thin", "tilted"], source)
    assert torch.allclose(t2, (x + v_of(attrs({"thin", "tilted"})).view(-1, 1, 1, 1)) / 2)
    # a file has no attributes: each group's first value (thin, upright) unless --source names them
    assert unpaired.first_values(model).tolist() == [1, 0, 0, 1, 0]
    assert unpaired.source_attributes(model, "thick", 1).tolist() == [[0, 0, 1, 1, 0]]


def test_attribute_names_are_checked(models):
    model, x = models["stargan"], torch.rand(2, 1, 8, 8)
    with pytest.raises(ConfigError, match="'thik'; did you mean 'thick'"):
        unpaired.translate_attributes(model, x, "thik")
    with pytest.raises(ConfigError, match="thin and thick exclude each other"):
        unpaired.translate_attributes(model, x, "thin,thick")
    with pytest.raises(ConfigError, match="--domains names no attribute"):
        unpaired.translate_attributes(model, x, " , ")
    with pytest.raises(ConfigError, match="name them with --domains"):
        unpaired.translate_attributes(model, x, None)
    with pytest.raises(ConfigError, match="N×5"):
        unpaired.translate_attributes(model, x, torch.ones(2, 3))


def test_stargan_grid_uses_each_images_own_attributes(models, tmp_path):
    model = models["stargan"]
    a = attrs({"thin", "upright"}, {"normal", "tilted"}, {"thick", "upright"}, {"thin", "tilted"})
    data = ImageData(torch.rand(4, 1, 8, 8), name="attributes:toy", attributes=a, meta={"attributes": list(ATTRS)})
    f = unpaired.unpaired_grid(model, data, tmp_path, n=4, domains="tilted")
    _translated, back = unpaired.translate_attributes(model, data.x, "tilted", a)
    assert f["directions"][0]["cycle_error"] == pytest.approx(unpaired.cycle_error(data.x, back), rel=1e-6)
    assert f["directions"][0]["target"] == "tilted" and (tmp_path / "translate.png").is_file()
    with pytest.raises(DataError, match="no attributes.*attributes:"):
        unpaired.unpaired_data(model, "digits")


# ------------------------------------------------------------------------------------------ files

def test_file_is_read_at_its_own_size_when_the_model_takes_it(models, files, tmp_path):
    from genlab.apps.translate import read_file

    f = unpaired.unpaired_file(models["stargan"], files["wide"], tmp_path / "w.png", domains="thick",
                               source="normal,tilted")
    x, _ = read_file(files["wide"], 1)
    assert f["size"] == [10, 12] and "resized_from" not in f
    assert f["targets"] == ["thick"] and f["source"] == ["normal", "tilted"]
    expect = (x + v_of(attrs({"thick", "tilted"})).view(1, 1, 1, 1)) / 2
    assert np.abs(pixels(tmp_path / "w-output.png") / 255 - expect[0, 0].numpy()).max() <= 0.5 / 255 + 1e-6
    with Image.open(tmp_path / "w.png") as im:   # input | translated | back, side by side
        assert im.size[0] > 2.5 * im.size[1] - 30


def test_file_of_another_size_goes_to_the_runs_size(models, files, tmp_path):
    f = unpaired.unpaired_file(models["cyclegan"], files["wide"], tmp_path / "c.png", to="mnist")
    assert f["resized_from"] == [10, 12] and f["size"] == [8, 8]
    assert (f["source"], f["target"]) == ("digits", "mnist")
    assert pixels(tmp_path / "c-output.png").shape == (8, 8)


# ------------------------------------------------------------------------------------------ the command

def test_cli_file_and_held_out_images(capsys, runs, files, tmp_path):
    from genlab.apps.translate import read_file

    out = tmp_path / "o.png"
    code, stdout, err = run(capsys, "translate", runs["cyclegan"], "--image", files["square"], "--to", "mnist",
                            "--out", out)
    assert code == 0, err
    x, _ = read_file(files["square"], 1)
    assert f"cycle-reconstruction error {float((x / 2).mean()):.4f}" in stdout and "digits → mnist" in stdout
    assert np.abs(pixels(tmp_path / "o-output.png") / 255 - (1 - x)[0, 0].numpy()).max() <= 0.5 / 255 + 1e-6
    # held-out images of the run's data (digits, without domains): all taken as the other domain
    code, stdout, err = run(capsys, "translate", runs["cyclegan"], "--to", "mnist", "--n", 5, "--n-eval", 40)
    assert code == 0, err
    f = json.loads((runs["cyclegan"] / "translate" / "translate.json").read_text())
    assert [(d["source"], d["target"], d["n"]) for d in f["directions"]] == [("digits", "mnist", 40)]
    assert "cycle-reconstruction error" in stdout and (runs["cyclegan"] / "translate" / "translate.png").is_file()


def test_cli_refusals_write_nothing(capsys, runs, files, tmp_path):
    existing = tmp_path / "taken.png"
    existing.write_bytes(b"mine")
    cyc, star = runs["cyclegan"], runs["stargan"]
    refused(capsys, "translate", cyc, "--image", files["square"], "--to", "zebra", "--out", existing, "--overwrite",
            words=("unknown domain 'zebra'", "digits, mnist"))
    refused(capsys, "translate", cyc, "--image", files["square"], "--domains", "thick", words=("--to",))
    refused(capsys, "translate", star, "--image", files["square"], "--to", "mnist", words=("--domains", "thin"))
    refused(capsys, "translate", star, "--image", files["square"], words=("--domains",))
    refused(capsys, "translate", star, "--image", files["square"], "--domains", "thick,thin", words=("exclude",))
    refused(capsys, "translate", star, "--domains", "thick", "--source", "thin", words=("--source",))
    refused(capsys, "translate", star, "--domains", "thick", words=("no attributes", "attributes:"))
    refused(capsys, "translate", cyc, words=("no domains", "--to"))
    refused(capsys, "translate", cyc, "--image", files["square"], "--degrade", words=("--degrade",))
    assert existing.read_bytes() == b"mine"
    assert not (cyc / "translate").exists() and not (star / "translate").exists()


def test_cli_paired_runs_take_no_target(capsys, tmp_path, files):
    """A pix2pix run keeps its own translate and refuses --to / --domains."""
    import genlab
    from genlab.data import load_data

    data = load_data("digits", "train", task="denoise:gaussian:0.3", limit=8)
    run_dir = save_run(genlab.create("pix2pix", data=data, width=4, d_width=4), tmp_path / "p2p")
    config = json.loads((run_dir / "config.json").read_text())
    config["data"] = {"spec": "digits", "task": "denoise:gaussian:0.3"}
    (run_dir / "config.json").write_text(json.dumps(config))
    refused(capsys, "translate", run_dir, "--image", files["square"], "--to", "mnist", words=("pix2pix", "--to"))
    refused(capsys, "translate", run_dir, "--domains", "thick", words=("--domains",))
    code, _, err = run(capsys, "translate", run_dir, "--image", files["square"], "--out", tmp_path / "p.png")
    assert code == 0, err


# ------------------------------------------------------------------------------------------ real runs

@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A tiny cyclegan on digits2mnist and a tiny stargan on attributes:digits, one epoch on 32 images each."""
    import warnings

    import genlab
    from genlab.data import load_spec

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    root, out = tmp_path_factory.mktemp("unpaired-runs"), {}
    try:
        for name, info, widths in (("cyclegan", {"spec": "digits2mnist"}, {"width": 4, "blocks": 1, "d_width": 4}),
                                   ("stargan", {"spec": "attributes:digits"},
                                    {"g_width": 4, "g_blocks": 1, "d_width": 4, "d_layers": 2})):
            data = load_spec(info, "train").spread(32)
            model = genlab.create(name, data=data, seed=0, **widths)
            with warnings.catch_warnings():   # one epoch on 32 images warns that the run is short
                warnings.simplefilter("ignore")
                genlab.train(model, data, epochs=1, batch_size=16, out=root / name, data_info=info, progress=False)
            out[name] = root / name
    finally:
        torch.set_num_threads(threads)
    return out


def test_cyclegan_run_file_and_held_out_grid(capsys, trained, tmp_path):
    from genlab.apps.translate import read_file
    from genlab.data import load_spec
    from genlab.runs import load

    rng = np.random.default_rng(1)
    path = tmp_path / "odd.png"
    Image.fromarray((rng.random((22, 30)) * 255).astype(np.uint8)).save(path)
    code, stdout, err = run(capsys, "translate", trained["cyclegan"], "--image", path, "--to", "digits",
                            "--out", tmp_path / "f.png")
    assert code == 0, err
    model = load(trained["cyclegan"])
    x, _ = read_file(path, 1)
    with torch.no_grad():
        translated, back = model.cycle(x, "digits")   # F(b), G(F(b))
    assert f"cycle-reconstruction error {unpaired.cycle_error(x, back):.4f}" in stdout and "mnist → digits" in stdout
    out = pixels(tmp_path / "f-output.png")
    assert out.shape == (22, 30)   # fully convolutional: the file's own size
    assert np.abs(out / 255 - translated[0, 0].numpy()).max() <= 0.5 / 255 + 1e-5

    code, stdout, err = run(capsys, "translate", trained["cyclegan"], "--n", 4, "--n-eval", 30, "--out", tmp_path / "g")
    assert code == 0, err
    f = json.loads((tmp_path / "g" / "translate.json").read_text())
    held = load_spec(model.run_info["data"], "test")
    for d, target in zip(f["directions"], (1, 0)):
        assert (d["source"], d["target"]) == (("digits", "mnist") if target else ("mnist", "digits"))
        part = held.subset((held.domain == 1 - target).nonzero().flatten()).spread(30)
        with torch.no_grad():
            _, back = model.cycle(part.x, target)
        assert d["n"] == 30 and d["cycle_error"] == pytest.approx(unpaired.cycle_error(part.x, back), abs=1e-5)
    assert stdout.count("cycle-reconstruction error") == 2


def test_stargan_run_file_and_held_out_grid(capsys, trained, tmp_path):
    from genlab.data import load_spec
    from genlab.runs import load

    rng = np.random.default_rng(2)
    path = tmp_path / "wide.png"
    Image.fromarray((rng.random((12, 20)) * 255).astype(np.uint8)).save(path)
    code, stdout, err = run(capsys, "translate", trained["stargan"], "--image", path, "--domains", "thick,inverted",
                            "--out", tmp_path / "s.png")
    assert code == 0, err
    assert "→ thick, inverted" in stdout and "resized from 20×12" in stdout
    assert pixels(tmp_path / "s-output.png").shape == (8, 8)   # the run's size

    code, stdout, err = run(capsys, "translate", trained["stargan"], "--domains", "tilted", "--n", 4, "--n-eval", 40,
                            "--out", tmp_path / "g")
    assert code == 0, err
    d = json.loads((tmp_path / "g" / "translate.json").read_text())["directions"][0]
    model = load(trained["stargan"])
    held = load_spec(model.run_info["data"], "test").spread(40)
    c = model.attribute_vector("tilted", base=held.attributes)   # tilted, the other groups each image's own
    assert (c[:, 4] == 1).all() and torch.equal(c[:, :3], held.attributes[:, :3])
    with torch.no_grad():
        _, back = model.cycle(held.x, c, source=held.attributes)
    assert d["n"] == 40 and d["cycle_error"] == pytest.approx(unpaired.cycle_error(held.x, back), abs=1e-5)


def test_real_runs_refuse_wrong_targets(capsys, trained, tmp_path):
    cyc, star = trained["cyclegan"], trained["stargan"]
    out = tmp_path / "none"
    refused(capsys, "translate", cyc, "--to", "zebra", "--out", out, words=("unknown domain 'zebra'", "digits, mnist"))
    refused(capsys, "translate", cyc, "--domains", "thick", "--out", out, words=("--to",))
    refused(capsys, "translate", star, "--to", "mnist", "--out", out, words=("--domains",))
    refused(capsys, "translate", star, "--domains", "thik", "--out", out, words=("did you mean 'thick'",))
    refused(capsys, "translate", star, "--domains", "upright,tilted", "--out", out, words=("exclude",))
    refused(capsys, "translate", cyc, "--data", "attributes:digits", "--out", out, words=("no domains",))
    assert not out.exists()
