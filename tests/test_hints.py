"""Mistyped names get a "did you mean" (issue 14, help that helps): models, config keys and choices,
data specs. Through the command line (one line, exit status 2) and through the Python API."""
import re

import numpy as np
import pytest

import genlab
from genlab import registry
from genlab.errors import ConfigError, DataError, UnknownModelError, did_you_mean, suggest
from tests.cli_run import run


def user_error(capsys, *argv) -> str:
    code, out, err = run(capsys, *argv)
    assert code == 2, (out, err)
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("genlab: error:"), err
    assert "Traceback" not in err
    return lines[0]


# --- the ground helper -----------------------------------------------------------------------------

def test_suggest_finds_close_names_case_insensitively():
    assert suggest("vea", ["vae", "gan"]) == "vae"
    assert suggest("DCGAN", ["dcgan", "gan"]) == "dcgan"
    assert suggest("beta_vae", ["beta-vae", "vae"]) == "beta-vae"
    assert suggest("mnist5", ["mnist5k", "mnist", "digits"]) == "mnist5k"
    assert suggest("zzzqqq", ["vae", "gan"]) is None
    assert did_you_mean("mze", ("bce", "mse")) == "; did you mean 'mse'?"
    assert did_you_mean("l2", ("bce", "mse", "gaussian")) == ""


# --- model names -----------------------------------------------------------------------------------

def test_misspelt_model_name(capsys, tmp_path):
    line = user_error(capsys, "train", "vea", "--out", tmp_path / "x")
    assert line == (f"genlab: error: unknown model 'vea'; did you mean 'vae'? "
                    f"(`genlab models` lists all {len(registry.names())})")
    assert "did you mean 'dcgan'?" in user_error(capsys, "train", "DCGAN", "--out", tmp_path / "x")
    assert not (tmp_path / "x").exists()


def test_model_name_with_nothing_close_lists_all(capsys, tmp_path):
    line = user_error(capsys, "train", "qqqqzz", "--out", tmp_path / "x")
    assert "did you mean" not in line
    assert "choose one of: " + ", ".join(registry.names()) in line


def test_model_name_api():
    with pytest.raises(UnknownModelError, match=r"did you mean 'vae'\?"):
        genlab.create("vea")
    with pytest.raises(UnknownModelError) as caught:
        genlab.create("qqqqzz")
    assert "did you mean" not in str(caught.value) and "wae" in str(caught.value)


# --- config keys and choices -----------------------------------------------------------------------

def test_misspelt_config_key(capsys, tmp_path):
    line = user_error(capsys, "train", "vae", "--set", "latent_dimm=3", "--out", tmp_path / "x")
    assert line.startswith("genlab: error: unknown config key 'latent_dimm' for VAEConfig; did you mean 'latent_dim'?")
    assert "kl_weight" in line  # the valid keys follow
    line = user_error(capsys, "train", "vae", "--set", "qqzzxx=3", "--out", tmp_path / "x")
    assert "did you mean" not in line and "valid keys: arch," in line
    assert not (tmp_path / "x").exists()


def test_misspelt_config_key_api():
    with pytest.raises(ConfigError, match=r"unknown config key 'latent_dimm' for VAEConfig; did you mean 'latent_dim'\?"):
        genlab.create("vae", latent_dimm=3)


def test_bad_choice_reads_once(capsys, tmp_path):
    line = user_error(capsys, "train", "vae", "--set", "recon_loss=l2", "--out", tmp_path / "x")
    assert line == "genlab: error: bad value 'l2' for VAEConfig.recon_loss: expected one of 'bce', 'mse', 'gaussian'"
    line = user_error(capsys, "train", "vae", "--set", "recon_loss=mze", "--out", tmp_path / "x")
    assert line == ("genlab: error: bad value 'mze' for VAEConfig.recon_loss: expected one of 'bce', 'mse', "
                    "'gaussian'; did you mean 'mse'?")
    # a plain type error carries no Python wording
    line = user_error(capsys, "train", "vae", "--set", "latent_dim=big", "--out", tmp_path / "x")
    assert line == "genlab: error: bad value 'big' for VAEConfig.latent_dim: expected int"
    assert not (tmp_path / "x").exists()


def test_bad_choice_api():
    with pytest.raises(ConfigError) as caught:
        genlab.create("vae", recon_loss="MSE")
    assert str(caught.value) == ("bad value 'MSE' for VAEConfig.recon_loss: expected one of 'bce', 'mse', "
                                 "'gaussian'; did you mean 'mse'?")


# --- data specs ------------------------------------------------------------------------------------

def test_folder_without_prefix(capsys, tmp_path):
    folder = tmp_path / "images"
    folder.mkdir()
    line = user_error(capsys, "train", "vae", "--data", folder, "--out", tmp_path / "x")
    assert line == f"genlab: error: unknown data spec '{folder}'; it is a folder: write folder:{folder}"
    assert not (tmp_path / "x").exists()


def test_npz_without_prefix(capsys, tmp_path):
    path = tmp_path / "x.npz"
    np.savez(path, x=np.zeros((4, 8, 8), np.uint8))
    line = user_error(capsys, "train", "vae", "--data", path, "--out", tmp_path / "x")
    assert line == f"genlab: error: unknown data spec '{path}'; it is a .npz file: write npz:{path}"


def test_close_builtin_name_and_prefix(capsys, tmp_path):
    line = user_error(capsys, "train", "vae", "--data", "mnist5", "--out", tmp_path / "x")
    assert "unknown data spec 'mnist5'; did you mean 'mnist5k'?" in line
    assert "did you mean 'digits'?" in user_error(capsys, "train", "vae", "--data", "DIGITS", "--out", tmp_path / "x")
    line = user_error(capsys, "train", "vae", "--data", f"foldr:{tmp_path}", "--out", tmp_path / "x")
    assert f"did you mean 'folder:{tmp_path}'?" in line


def test_data_spec_with_nothing_close(capsys, tmp_path):
    missing = tmp_path / "nowhere"  # a path that does not exist is no folder and no file
    for spec in ("zzzzqq", str(missing)):
        line = user_error(capsys, "train", "vae", "--data", spec, "--out", tmp_path / "x")
        assert "did you mean" not in line and "it is a" not in line
        assert "known: mnist5k, mnist5k-bin, digits" in line


def test_data_spec_api(tmp_path):
    with pytest.raises(DataError, match=re.escape(f"it is a folder: write folder:{tmp_path}") + "$"):
        genlab.load_data(str(tmp_path))
    with pytest.raises(DataError, match=r"did you mean 'mnist5k'\?"):
        genlab.load_data("mnist5")


# --- value ranges declared beside the config fields ------------------------------------------------

def test_negative_weight_refused_in_one_line(capsys, tmp_path):
    line = user_error(capsys, "train", "vae", "--set", "kl_weight=-1", "--out", tmp_path / "x")
    assert line == "genlab: error: bad value -1 for VAEConfig.kl_weight: must be ≥ 0 (k2, the weight of kl_loss)"
    assert not (tmp_path / "x").exists()
    line = user_error(capsys, "train", "dcgan", "--set", "beta1=1.5", "--out", tmp_path / "x")
    assert line == ("genlab: error: bad value 1.5 for DCGANConfig.beta1: must be in [0, 1) "
                    "(Adam's β1; None: the loss's recipe)")


def test_ranges_through_the_api_and_from_dict():
    from genlab.models.vae import VAEConfig

    with pytest.raises(ConfigError, match=r"^bad value -0\.5 for VAEConfig\.kl_weight: must be ≥ 0 \(k2"):
        genlab.create("vae", kl_weight=-0.5)
    with pytest.raises(ConfigError, match=r"^bad value 0 for MAEConfig\.mask_ratio: must be in \(0, 1\)"):
        genlab.create("mae", mask_ratio=0)
    with pytest.raises(ConfigError, match=r"^bad value 0 for DCGANConfig\.lr: must be > 0"):
        genlab.create("dcgan", lr=0)
    with pytest.raises(ConfigError, match=r"^bad value \[32, 0\] for VAEConfig\.channels: each item must be ≥ 1"):
        VAEConfig.from_dict({"channels": [32, 0]})
    # the edges that are allowed, and None (the recipe's value) for an optional rate
    assert genlab.create("vae", kl_weight=0).config.kl_weight == 0
    assert genlab.create("dcgan", lr=None, beta1=0).config.beta1 == 0
    assert VAEConfig.from_dict({"channels": "16,8"}).channels == (16, 8)


def test_every_default_lies_in_its_range_and_every_weight_and_rate_has_one():
    """A range that refuses its own default would break every run; a weight or a learning rate
    without a declared range would let a negative one through."""
    import dataclasses

    from genlab.models.base import coerce, field_ranges

    unranged = []
    for entry in registry.entries():
        cls = entry.config_class
        for f in dataclasses.fields(cls):
            coerce(cls, f.name, getattr(cls(), f.name))   # raises if the default is out of range
            if (f.name.endswith(("_weight", "lr", "_decay", "_ratio")) or f.name in ("dropout", "rho")) \
                    and f.name not in field_ranges(cls):
                unranged.append(f"{cls.__name__}.{f.name}")
    assert unranged == []
