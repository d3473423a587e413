"""`genlab complete`, `genlab receptive-field`, and a vq-vae sampled, evaluated and reported through
an autoregressive prior (`--prior`), end to end on tiny runs."""
import json
import shutil
from pathlib import Path

import pytest
import torch
from PIL import Image

import genlab
from genlab.data import ImageData
from tests.cli_run import run

pytestmark = pytest.mark.usefixtures("one_thread")

DATA_INFO = {"spec": "mnist5k", "image_size": 14}     # held-out data: mnist5k's test digits at 14×14


def one_line_error(code, err, *words):
    assert code == 2, err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    for w in words:
        assert w in err, (w, err)


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Tiny run folders: an fvsbn on 200 binarised 14×14 digits, a vq-vae (K = 8, 4×4 grid) on the
    same digits, fvsbn priors over its code maps (K = 8, and a wrong K = 4)."""
    root = tmp_path_factory.mktemp("autoregressive-runs")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        train = genlab.load_data("mnist5k", "train", image_size=14).subset(range(0, 4000, 20))
        binary = ImageData((train.x > 0.5).float(), train.y, classes=train.classes, meta={"levels": 2})
        fit = {"batch_size": 50, "progress": False, "data_info": DATA_INFO}
        fvsbn = genlab.create("fvsbn", data=binary)
        genlab.train(fvsbn, binary, epochs=2, out=root / "fvsbn", **fit)
        vq = genlab.create("vq-vae", data=train, num_codes=8, code_dim=4, channels=(8, 8))
        genlab.train(vq, train, epochs=1, out=root / "vqvae", **fit)
        codes = vq.eval().encode_indices(train.x).unsqueeze(1).float() / 7
        maps = ImageData(codes, train.y, classes=train.classes, meta={"levels": 8, "categorical": True})
        prior = genlab.create("fvsbn", data=maps)
        genlab.train(prior, maps, epochs=2, out=root / "prior", **{**fit, "data_info": {"spec": "mnist5k"}})
        other = genlab.create("vq-vae", data=train, seed=1, num_codes=8, code_dim=4, channels=(8, 8))
        genlab.train(other, train, epochs=1, out=root / "other-vqvae", **fit)
        genlab.train(genlab.create("fvsbn", data=maps), maps, epochs=1, out=root / "codes-prior",
                     **{**fit, "data_info": {"spec": f"codes:{root / 'vqvae'}"}})
        wrong = genlab.create("fvsbn", image_shape=(1, 4, 4), levels=4, categorical=True)
        genlab.train(wrong, ImageData((codes * 7).clamp_max(3) / 3, meta={"levels": 4, "categorical": True}),
                     epochs=1, out=root / "wrong-prior", **{**fit, "data_info": {"spec": "mnist5k"}})
    torch.set_num_threads(threads)
    return root


def test_complete_draws_original_given_and_completions(runs, capsys, tmp_path):
    out = tmp_path / "complete.png"
    code, text, err = run(capsys, "complete", runs / "fvsbn", "--rows", 7, "--n", 3, "--samples", 2, "--out", out)
    assert code == 0, err
    assert "3 images, top 7 rows given, 2 completions each" in text and out.is_file()
    with Image.open(out) as im:
        assert im.width > im.height                    # 4 columns (original, given, 2 samples) of 3 rows
    code, text, err = run(capsys, "complete", runs / "fvsbn", "--cols", 5, "--n", 2, "--samples", 1, "--out", out)
    assert code == 0 and "left 5 columns given" in text, err


def test_complete_refuses_rows_outside_the_image_and_other_models(runs, capsys):
    code, _, err = run(capsys, "complete", runs / "fvsbn", "--rows", 14)
    one_line_error(code, err, "--rows must lie in 1…13")
    code, _, err = run(capsys, "complete", runs / "fvsbn", "--cols", 0)
    one_line_error(code, err, "--cols must lie in 1…13")
    code, _, err = run(capsys, "complete", runs / "vqvae", "--rows", 3)
    one_line_error(code, err, "cannot complete images; train pixelcnn, gated-pixelcnn, made, nade or fvsbn")


def test_receptive_field_of_a_run_and_of_a_model_name(runs, capsys, tmp_path, monkeypatch):
    out = tmp_path / "rf.png"
    code, text, err = run(capsys, "receptive-field", runs / "fvsbn", "--pixel", "3,4", "--out", out)
    assert code == 0, err
    assert "pixel (3, 4): 46 of the 46 pixels before it" in text and "no blind spot" in text and out.is_file()
    monkeypatch.chdir(tmp_path)
    code, text, err = run(capsys, "receptive-field", "fvsbn", "--pixel", "0,1")
    assert code == 0 and "1 of the 1 pixels" in text and (tmp_path / "receptive_field_fvsbn.png").is_file(), err
    code, _, err = run(capsys, "receptive-field", runs / "fvsbn", "--pixel", "14,0")
    one_line_error(code, err, "outside the 14×14 image")
    code, _, err = run(capsys, "receptive-field", "vae", "--pixel", "1,1")
    one_line_error(code, err, "give pixelcnn")


def test_sample_a_vqvae_through_its_prior_and_refuse_without_one(runs, capsys, tmp_path):
    out = tmp_path / "prior.png"
    code, _, err = run(capsys, "sample", runs / "vqvae", "--prior", runs / "prior", "--n", 6, "--out", out)
    assert code == 0, err
    with Image.open(out) as im:
        assert im.width > 0
    code, _, err = run(capsys, "sample", runs / "vqvae")
    one_line_error(code, err, "genlab train pixelcnn --data codes:", "--prior")
    code, _, err = run(capsys, "sample", runs / "vqvae", "--prior", runs / "wrong-prior")
    one_line_error(code, err, "models 4 codes but the vq-vae has 8: train the prior on codes:")
    code, _, err = run(capsys, "sample", runs / "vqvae", "--prior", runs / "prior", "--label", "3")
    one_line_error(code, err, "takes no label")


def test_a_prior_of_another_vqvaes_codes_is_refused(runs, capsys, tmp_path):
    code, _, err = run(capsys, "sample", runs / "vqvae", "--prior", runs / "codes-prior", "--n", 2,
                       "--out", tmp_path / "same.png")
    assert code == 0, err
    code, _, err = run(capsys, "sample", runs / "other-vqvae", "--prior", runs / "codes-prior")
    one_line_error(code, err, "was trained on the codes of", "train the prior on codes:")
    moved = tmp_path / "moved-vqvae"      # the same weights in another folder: the same vq-vae
    shutil.copytree(runs / "vqvae", moved)
    code, _, err = run(capsys, "sample", moved, "--prior", runs / "codes-prior", "--n", 2, "--out", tmp_path / "m.png")
    assert code == 0, err


def test_eval_gives_nll_bits_per_dim_and_a_prior_nll(runs, capsys, tmp_path, tiny_judges):
    code, text, err = run(capsys, "eval", runs / "fvsbn", "--metrics", "nll", "--n", 50, "--json")
    assert code == 0, err
    metrics = json.loads(text)["metrics"]
    assert set(metrics) == {"nll", "bits_per_dim"}
    assert metrics["bits_per_dim"] == pytest.approx(metrics["nll"] / (196 * 0.6931471805599453))
    vq = Path(tmp_path / "vq")
    import shutil

    shutil.copytree(runs / "vqvae", vq)          # eval writes eval.json into the run
    code, text, err = run(capsys, "eval", vq, "--prior", runs / "prior", "--metrics", "prior,coverage", "--n", 40,
                          "--json")
    assert code == 0, err
    result = json.loads(text)
    assert 0 < result["metrics"]["prior_nll"] < 3 * result["metrics"]["log_k"]
    assert result["metrics"]["log_k"] == pytest.approx(2.0794, abs=1e-4) and "coverage" in result["metrics"]
    assert result["n_samples"] == 40 and result["prior"] == str(runs / "prior")
    code, text, err = run(capsys, "eval", vq, "--metrics", "prior")
    assert code == 0 and "genlab train pixelcnn --data codes:" in text, err
    code, _, err = run(capsys, "eval", vq, "--prior", runs / "wrong-prior", "--metrics", "prior")
    one_line_error(code, err, "models 4 codes but the vq-vae has 8")


def test_report_of_the_family(runs, tmp_path, capsys):
    import shutil

    fv = tmp_path / "fvsbn"
    shutil.copytree(runs / "fvsbn", fv)
    code, _, err = run(capsys, "report", fv)
    assert code == 0, err
    page = (fv / "report.html").read_text()
    for title in ("Likelihood", "bits/dim", "Samples by temperature", "Completions", "Receptive field",
                  "no blind spot"):
        assert title in page, title


def test_report_of_a_vqvae_without_a_prior_says_how_to_get_one(runs, tmp_path, capsys):
    import shutil

    vq = tmp_path / "vqvae"
    shutil.copytree(runs / "vqvae", vq)
    code, _, err = run(capsys, "report", vq)
    page = (vq / "report.html").read_text()
    assert code == 0 and "genlab train pixelcnn --data codes:vqvae" in page, err
    assert "Sampling through a prior" not in page


def test_report_of_a_vqvae_with_its_prior(runs, tmp_path, capsys):
    import shutil

    vq = tmp_path / "vqvae"
    shutil.copytree(runs / "vqvae", vq)
    code, _, err = run(capsys, "report", vq, "--prior", runs / "prior")
    page = (vq / "report.html").read_text()
    assert code == 0 and "Code maps drawn from the autoregressive prior" in page and "nats per code" in page, err
