"""Fixtures of the web explorer's tests: tiny trained runs, a run still "training", the app over them
(FastAPI's test client) and the same app on a real port (for the browser)."""
import json
import shutil
import socket
import threading
import time
from pathlib import Path

import pytest

from tests.conftest import MeanJudge

# served run name -> the session's trained run (tests/conftest.py RECIPES)
SERVED = {"vae": "vae", "cvae": "cvae", "dcgan": "dcgan", "dae": "dae", "unet": "unet-inpaint", "pixelcnn": "pixelcnn",
          "cyclegan": "cyclegan", "stargan": "stargan"}

METRICS_HEADER = "epoch,step,train/loss_step,train/loss_epoch,val/loss\n"


@pytest.fixture(scope="session")
def served_runs(trained_runs):
    """{name: run folder}: a 2-D vae, a cvae, a dcgan, a dae, an inpainting unet, a pixelcnn, a cyclegan
    (digits ↔ mnist) and a stargan (8×8 digits with attributes)."""
    return {name: trained_runs.get(recipe) for name, recipe in SERVED.items()}


@pytest.fixture(scope="session")
def training_run(tmp_path_factory, served_runs):
    """A run folder as it looks during its first epoch: config.json and a metrics.csv that the tests
    append to (``append_metrics``), no weights yet."""
    folder = tmp_path_factory.mktemp("monitor") / "training"
    folder.mkdir()
    shutil.copy(served_runs["vae"] / "config.json", folder / "config.json")
    (folder / "metrics.csv").write_text(METRICS_HEADER + "0,9,300.0,,\n0,19,250.0,,\n")
    return folder


def append_metrics(folder: Path, step: int, loss: float) -> None:
    """One more logged step, as Lightning's CSV logger appends it."""
    with open(folder / "metrics.csv", "a") as f:
        f.write(f"0,{step},{loss},,\n")


@pytest.fixture(scope="session")
def explorer_app(served_runs, training_run, mnist):
    """The explorer's app over every served run and the training one; the judge is the stand-in
    nearest-class-mean judge (a judge cached on this machine is neither used nor trained)."""
    from genlab.apps.explore import Explorer
    from genlab.serve.app import create_app

    judge = MeanJudge(mnist[0])          # of 28×28 digits: the stargan's 8×8 digits get none
    explorers = {name: Explorer.open(path, name=name, judge=None if name == "stargan" else judge)
                 for name, path in served_runs.items()}
    run_dirs = {**served_runs, "training": training_run}
    return create_app(explorers, run_dirs)


@pytest.fixture(scope="session")
def client(explorer_app):
    from fastapi.testclient import TestClient

    with TestClient(explorer_app, base_url="http://127.0.0.1") as c:
        yield c


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def live_server(explorer_app):
    """The app on a free port of 127.0.0.1 (uvicorn in a thread): its base URL."""
    import uvicorn

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(explorer_app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            pytest.fail("the explorer did not start within 30 s")
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


def read_json(path: Path):
    return json.loads(Path(path).read_text())
