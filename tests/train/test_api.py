"""The Python API beside the CLI: genlab.report, one-line reprs, refusals naming both spellings."""
import pytest

import genlab
from genlab.errors import RunFolderError

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def trained(mnist, tmp_path_factory):
    train, _ = mnist
    digits = train.subset(range(200))
    out = tmp_path_factory.mktemp("api") / "ae"
    model = genlab.create("ae", data=digits, latent_dim=8)
    result = genlab.train(model, digits, epochs=1, batch_size=50, out=out, progress=False)
    return result, digits, out


def test_report_builds_the_page_and_returns_its_path(trained):
    result, _, out = trained
    assert "report" in genlab.__all__
    (out / "report.html").unlink(missing_ok=True)
    path = genlab.report(out)
    assert path == out / "report.html" and path.is_file()
    assert "<html" in path.read_text(encoding="utf-8").lower()


def test_train_result_repr_is_one_line(trained):
    result, _, out = trained
    text = repr(result)
    assert "\n" not in text and len(text) < 300
    assert text.startswith(f"TrainResult('ae', run={str(out)!r}, ") and "images/s" in text and " s, " in text
    assert "Sequential" not in text and "Linear" not in text
    loss = next(k for k in result.metrics if "loss" in k)
    assert f"{loss}={result.metrics[loss]:.4g}" in text


def test_existing_run_folder_refusal_names_both_spellings(trained):
    _, digits, out = trained
    model = genlab.create("ae", data=digits, latent_dim=8)
    with pytest.raises(RunFolderError) as err:
        genlab.train(model, digits, epochs=1, out=out, progress=False)
    text = str(err.value)
    assert "\n" not in text
    assert "overwrite=True" in text and "--overwrite" in text
    assert f"genlab.resume({str(out)!r})" in text and f"--resume {out}" in text
