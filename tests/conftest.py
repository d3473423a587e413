import os
import shutil
from pathlib import Path

import pytest
import torch
from torch import nn

os.environ.setdefault("MPLBACKEND", "Agg")


@pytest.fixture
def one_thread():
    """For modules of tiny models (``pytestmark = pytest.mark.usefixtures("one_thread")``): on a busy
    2-core machine two torch threads mostly wait for each other on each small matmul (measured: a
    2 s test took 60 s, a 0.3 s one 23 s); one thread is steady. The setting is restored after."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="session")
def mnist():
    import genlab

    return genlab.load_data("mnist5k", "train"), genlab.load_data("mnist5k", "test")


@pytest.fixture
def small(mnist):
    """A few hundred digits so that engine tests take seconds."""
    train, test = mnist
    return train.subset(range(0, 4000, 10)), test.subset(range(0, 1000, 10))


# ------------------------------------------------------------------------------ a stand-in judge

class MeanJudge(nn.Module):
    """A stand-in judge: nearest class mean in pixel space (~80% on digits), built in milliseconds."""

    def __init__(self, data):
        super().__init__()
        self.num_classes = data.num_classes
        means = torch.stack([data.x[data.y == c].mean(0).flatten() for c in range(self.num_classes)])
        self.means = nn.Parameter(means, requires_grad=False)
        self.arch = {"feature_dim": means.shape[1]}   # its features are the pixels

    def features_of(self, x):
        return x.flatten(1).float()

    def embed(self, x):
        f = self.features_of(x)
        return f, torch.softmax(-torch.cdist(f, self.means) * 0.5, 1)


def answer_with_judge(mp, judge, cache: Path) -> None:
    """``get_judge`` answers with ``judge`` for mnist5k (and finds none for other data); the judge
    cache is ``cache``, so that a real judge cached on this machine is neither used nor touched."""
    import genlab
    from genlab.metrics import judge as J

    mp.setenv("GENLAB_CACHE", str(cache))

    def get_judge(spec, shape, train_if_missing=True, progress=False, overwrite=False):
        if spec != "mnist5k":
            raise genlab.GenlabError(f"no judge for {spec}")
        return judge, {"test_accuracy": 0.8}

    mp.setattr(J, "get_judge", get_judge)


@pytest.fixture
def mean_judge(mnist, monkeypatch, tmp_path):
    """get_judge answers with a nearest-class-mean judge for mnist5k."""
    judge = MeanJudge(mnist[0])
    answer_with_judge(monkeypatch, judge, tmp_path / "cache")
    return judge


# ------------------------------------------------------------------------------ trained runs, shared

TINY_GAN = {"latent_dim": 8, "g_width": 8, "d_width": 8}


def _cli(*argv) -> None:
    from genlab.cli import main

    assert main([str(a) for a in argv]) == 0


def _train(name: str, n_every: int, epochs: int = 1, batch_size: int | None = None, **config):
    """``name`` created with ``config`` and trained on every ``n_every``-th mnist5k training digit;
    the run's config points at mnist5k for its held-out data."""
    def recipe(out: Path, mnist, root: Path) -> None:
        import genlab

        data = mnist[0].subset(range(0, 4000, n_every))
        model = genlab.create(name, data=data, **config)
        # GAN diagnostics off: these runs serve the tools that use a trained model, and the
        # per-epoch measurements would depend on whether a judge is cached on this machine
        genlab.train(model, data, epochs=epochs, batch_size=batch_size, out=out, progress=False,
                     data_info={"spec": "mnist5k"}, diagnostics=False)
    return recipe


def _diagnosed_dcgan(out: Path, mnist, root: Path) -> None:
    """A tiny DCGAN trained 3 epochs on 80 digits with its diagnostics measured by the stand-in judge."""
    import genlab

    data = mnist[0].subset(range(0, 4000, 50))
    model = genlab.create("dcgan", data=data, g_width=8, d_width=8, latent_dim=16)
    with pytest.MonkeyPatch.context() as mp:
        answer_with_judge(mp, MeanJudge(mnist[0]), root / "judge-cache")
        genlab.train(model, data, epochs=3, batch_size=32, out=out, progress=False, data_info={"spec": "mnist5k"})


def _binary(name: str, out: Path, **config) -> None:
    """An autoregressive model trained one epoch on 200 binarised digits (mnist5k-bin)."""
    import genlab

    data = genlab.load_data("mnist5k-bin", "train").subset(range(0, 4000, 20))
    model = genlab.create(name, data=data, **config)
    genlab.train(model, data, epochs=1, batch_size=50, out=out, progress=False, data_info={"spec": "mnist5k-bin"})


def _paired(out: Path, name: str, info: dict, **config) -> None:
    """A paired-task run (``info``: its data entry with the task) trained one epoch on 64 pairs."""
    import warnings

    from genlab.data import load_spec
    from genlab.runs import create
    from genlab.train import train

    data, val = load_spec(info, "train", limit=64), load_spec(info, "test", limit=32)
    model = create(name, data=data, seed=0, **config)
    with warnings.catch_warnings():   # one epoch on 64 pairs warns that the run is short
        warnings.simplefilter("ignore")
        train(model, data, epochs=1, out=out, val_data=val, data_info=info, progress=False)


def _unpaired(name: str, spec: str, n: int, **config):
    """A translation run (cyclegan, stargan) trained one epoch on ``n`` images spread over ``spec``'s
    training split (both domains, or every attribute); its held-out data is the spec's test split."""
    def recipe(out: Path, mnist, root: Path) -> None:
        import warnings

        import genlab

        data = genlab.load_data(spec, "train").spread(n)
        model = genlab.create(name, data=data, seed=0, **config)
        with warnings.catch_warnings():   # one epoch on a few dozen images warns that the run is short
            warnings.simplefilter("ignore")
            genlab.train(model, data, epochs=1, batch_size=16, out=out, progress=False, data_info={"spec": spec},
                         diagnostics=False)
    return recipe


RECIPES = {
    # `genlab train` as a user types it (full mnist5k, held-out data, report, checkpoint)
    "cli-ae": lambda out, mnist, root: _cli("train", "ae", "--data", "mnist5k", "--epochs", 1, "--out", out,
                                            "--no-progress", "--set", "latent_dim=16"),
    "cli-vae": lambda out, mnist, root: _cli("train", "vae", "--epochs", 1, "--out", out, "--no-progress",
                                             "--set", "latent_dim=4"),
    # one epoch on 400 digits
    "ae": _train("ae", 10, latent_dim=8),
    "conv-ae": _train("conv-ae", 10),
    "vae": _train("vae", 10, latent_dim=2),
    "cvae": _train("cvae", 10),
    # tiny generators, one epoch on 200 digits
    "dcgan": _train("dcgan", 20, batch_size=50, **TINY_GAN),
    "cgan": _train("cgan", 20, batch_size=50, embed_dim=4, **TINY_GAN),
    "infogan": _train("infogan", 20, batch_size=50, cat_embed_dim=4, **TINY_GAN),
    "dcgan-diagnosed": _diagnosed_dcgan,
    "dae": _train("dae", 10, latent_dim=8),
    "pixelcnn": lambda out, mnist, root: _binary("pixelcnn", out, width=8, blocks=1),
    "unet-inpaint": lambda out, mnist, root: _paired(out, "unet", {"spec": "mnist5k", "task": "inpaint:center:14"},
                                                     width=4),
    # tiny translators, one epoch on 48 images: digits (A) ↔ mnist (B), and 8×8 digits with attributes
    "cyclegan": _unpaired("cyclegan", "digits2mnist", 48, width=4, blocks=1, d_width=8),
    "stargan": _unpaired("stargan", "attributes:digits", 48, g_width=4, g_blocks=1, d_width=8, d_layers=2),
}


class TrainedRuns:
    """Run folders trained once per test session, on first use. They are shared: a test that
    writes into a run (a report, a resumed epoch, a task's default output folder) takes a
    :meth:`copy`."""

    def __init__(self, root: Path, mnist):
        self.root, self._mnist, self._made = root, mnist, {}

    def get(self, name: str) -> Path:
        if name not in RECIPES:
            raise KeyError(f"no trained run named {name!r}; known: {', '.join(RECIPES)}")
        if name not in self._made:
            out = self.root / name
            shutil.rmtree(out, ignore_errors=True)        # a recipe that failed half-way is trained again
            threads = torch.get_num_threads()
            # the same initial weights whichever test asks first; the caller's random state is kept
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(0)
                torch.set_num_threads(1)                  # tiny models: see ``one_thread``
                try:
                    RECIPES[name](out, self._mnist, self.root)
                finally:
                    torch.set_num_threads(threads)
            self._made[name] = out
        return self._made[name]

    __getitem__ = get

    def copy(self, name: str, into: Path) -> Path:
        """A private copy of run ``name`` (trained if needed) inside the folder ``into``."""
        target = Path(into) / name
        shutil.copytree(self.get(name), target)
        return target


@pytest.fixture(scope="session")
def trained_runs(tmp_path_factory, mnist):
    """``trained_runs.get("vae")``: the path of a run trained once per session (see ``RECIPES``);
    ``trained_runs.copy("vae", tmp_path)`` for a test that changes it."""
    return TrainedRuns(tmp_path_factory.mktemp("trained-runs"), mnist)


@pytest.fixture
def tiny_judges(monkeypatch):
    """get_judge answers with an untrained tiny judge of the asked shape (no judge is trained or cached);
    the fixture is the list of (spec, shape) asked for."""
    from genlab.metrics import judge as judges
    from genlab.metrics.judge import Judge

    asked = []

    def get_judge(spec, shape, train_if_missing=True, progress=False, overwrite=False):
        asked.append((spec, tuple(shape)))
        torch.manual_seed(0)
        return Judge(tuple(shape), 10, width=3, feature_dim=8), {"test_accuracy": 0.5}

    monkeypatch.setattr(judges, "get_judge", get_judge)
    return asked
