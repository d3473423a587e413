"""``codes:RUN``: a trained VQ-VAE's code maps k = argmin_k ‖E(x) − e_k‖² as 1×h×w images x = k/(K−1) of
K categories (van den Oord et al. 2017: the data a prior over the code grid is fitted to)."""
import pytest
import torch

import genlab
from genlab.data import DATASETS, load_data, load_spec
from genlab.errors import ConfigError, DataError
from genlab.train import train

pytestmark = pytest.mark.usefixtures("one_thread")

K = 8


@pytest.fixture(scope="module")
def vq_run(tmp_path_factory):
    """A tiny vq-vae trained for a few steps on 300 mnist5k digits; its config names all of mnist5k."""
    out = tmp_path_factory.mktemp("codes") / "vq"
    data = load_data("mnist5k", "train").subset(range(0, 4000, 13))
    model = genlab.runs.create("vq-vae", data=data, seed=0, num_codes=K, code_dim=4, channels=(8, 8))
    train(model, data, epochs=1, batch_size=64, out=out, data_info={"spec": "mnist5k"}, progress=False,
          diagnostics=False)
    return out


def test_code_maps_round_trip_to_the_runs_indices(vq_run):
    codes = load_data(f"codes:{vq_run}", "train")
    images = load_data("mnist5k", "train")
    model = genlab.runs.load(vq_run)
    assert codes.x.shape == (4000, 1, 7, 7) and len(load_data(f"codes:{vq_run}", "test")) == 1000
    assert codes.meta == {"levels": K, "categorical": True, "codes_of": str(vq_run), "num_codes": K}
    assert codes.name == f"codes:{vq_run}"
    with torch.no_grad():
        expected = model.encode_indices(images.x)
    got = (codes.x[:, 0] * (K - 1)).round().long()
    assert torch.equal(got, expected)                           # exact, index for index
    assert torch.allclose(codes.x[:, 0], expected.float() / (K - 1))
    assert len(expected.unique()) > 1                           # a real code map, not one code everywhere
    assert torch.equal(codes.y, images.y) and codes.classes == images.classes
    # the test split is the run's held-out digits, encoded; a limit takes the first maps
    test = load_data(f"codes:{vq_run}", "test", limit=50)
    with torch.no_grad():
        assert torch.equal((test.x[:, 0] * (K - 1)).round().long(),
                           model.encode_indices(load_data("mnist5k", "test", limit=50).x))
    # through a config.json data entry, as a prior's run reloads it; subsets keep the meta
    again = load_spec({"spec": f"codes:{vq_run}"}, "test", limit=50)
    assert torch.equal(again.x, test.x) and again.spread(5).meta == test.meta


def test_a_prior_is_built_for_the_code_maps(vq_run):
    codes = load_data(f"codes:{vq_run}", "test", limit=20)
    prior = genlab.runs.create("fvsbn", data=codes, seed=0)
    assert prior.config.levels == K and prior.config.categorical and prior.image_shape == (1, 7, 7)


def test_codes_refusals_are_one_line(vq_run, tmp_path):
    assert "codes:RUN" in DATASETS
    with pytest.raises(DataError, match="run folder .*missing does not exist"):
        load_data(f"codes:{tmp_path / 'missing'}")
    for flag, kwargs in (("--image-size", {"image_size": 14}), ("--channels", {"channels": 1}),
                         ("--task", {"task": "denoise:gaussian:0.3"}), ("--binarize", {"binarize": 0.5})):
        with pytest.raises(ConfigError, match=f"^code maps have a fixed grid .*: drop {flag} with codes:"):
            load_data(f"codes:{vq_run}", **kwargs)
    ae_run = tmp_path / "ae"
    data = load_data("digits", "train").subset(range(64))
    train(genlab.runs.create("ae", data=data, seed=0, latent_dim=2), data, epochs=1, batch_size=32, out=ae_run,
          data_info={"spec": "digits"}, progress=False)
    with pytest.raises(DataError, match=f"^codes:RUN needs a vq-vae run; {ae_run} is a ae run: pass the folder of a vq-vae"):
        load_data(f"codes:{ae_run}")
    with pytest.raises(DataError, match="codes:RUN"):
        load_data("codez")                                        # the unknown-spec line lists codes:RUN
