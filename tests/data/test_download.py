"""The download code against a local HTTP server on 127.0.0.1 serving files the test writes."""
import gzip
import hashlib
import http.server
import socket
import struct
import threading

import numpy as np
import pytest

from genlab.data import load_data
from genlab.data.download import MANIFEST, fetch
from genlab.errors import DataError

FILES = ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
         "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")


def _idx(array):
    header = bytes([0, 0, 8, array.ndim]) + b"".join(struct.pack(">I", n) for n in array.shape)
    return gzip.compress(header + array.astype(np.uint8).tobytes())


@pytest.fixture
def server(tmp_path):
    root = tmp_path / "www"
    root.mkdir()
    rng = np.random.default_rng(0)
    for prefix, n in (("train", 12), ("t10k", 4)):
        (root / f"{prefix}-images-idx3-ubyte.gz").write_bytes(_idx(rng.integers(0, 256, (n, 28, 28))))
        (root / f"{prefix}-labels-idx1-ubyte.gz").write_bytes(_idx(np.arange(n) % 10))
    hits = []

    class Handler(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *a, **k):
            super().__init__(*a, directory=str(root), **k)

        def log_message(self, *args):
            hits.append(self.path)

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/", root, hits
    httpd.shutdown()


def _sums(root):
    return {f: "sha256:" + hashlib.sha256((root / f).read_bytes()).hexdigest() for f in FILES}


def test_download_once_then_cached(server, tmp_path, monkeypatch):
    url, root, hits = server
    monkeypatch.setenv("GENLAB_CACHE", str(tmp_path / "cache"))
    folder = fetch("mnist", base_url=url, checksums=_sums(root))
    assert sorted(p.name for p in folder.iterdir()) == sorted(FILES + (MANIFEST,))
    assert len(hits) == 4
    fetch("mnist", base_url=url, checksums=_sums(root))
    assert len(hits) == 4  # nothing fetched the second time
    # the data spec reads the cached files (published checksums do not apply to these small files,
    # so the cached ones, matching the recorded SHA-256, are used as they are)
    monkeypatch.setattr("genlab.data.download.SOURCES", {"mnist": {"mirrors": [url], "files": dict.fromkeys(FILES)}})
    train, test = load_data("mnist", "train"), load_data("mnist", "test")
    assert train.x.shape == (12, 1, 28, 28) and test.y.tolist() == [0, 1, 2, 3]
    # a corrupted cache file is noticed through the recorded SHA-256 and fetched again
    (folder / FILES[0]).write_bytes(b"broken")
    fetch("mnist", base_url=url)
    assert len(hits) == 5 and (folder / FILES[0]).read_bytes() == (root / FILES[0]).read_bytes()


def test_checksum_mismatch_leaves_nothing(server, tmp_path, monkeypatch):
    url, root, _ = server
    monkeypatch.setenv("GENLAB_CACHE", str(tmp_path / "cache"))
    sums = _sums(root)
    sums[FILES[1]] = "sha256:" + "0" * 64
    with pytest.raises(DataError, match="checksum mismatch for train-labels-idx1-ubyte.gz"):
        fetch("mnist", base_url=url, checksums=sums)
    folder = tmp_path / "cache" / "datasets" / "mnist"
    assert not (folder / FILES[1]).exists()
    assert not [p for p in folder.iterdir() if p.name.endswith(".part")]


def test_server_down_says_where_to_put_files(tmp_path, monkeypatch):
    monkeypatch.setenv("GENLAB_CACHE", str(tmp_path / "cache"))
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again: nothing listens there
    with pytest.raises(DataError, match="by hand into .*datasets/mnist") as info:
        fetch("mnist", base_url=f"http://127.0.0.1:{port}/", timeout=5)
    assert "GENLAB_MIRROR" in str(info.value)
    monkeypatch.setenv("GENLAB_MIRROR", f"http://127.0.0.1:{port}/")
    with pytest.raises(DataError, match="could not download"):
        load_data("fashion-mnist")
