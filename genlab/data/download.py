"""Download-once data: official files fetched into a cache, checked, written atomically.

Cache: ``$GENLAB_CACHE`` or ``$XDG_CACHE_HOME/genlab`` (default ``~/.cache/genlab``); files live in
``datasets/NAME/``. Each file is checked against its published checksum where one is known, and its
SHA-256 is recorded in ``SHA256SUMS`` on first download and verified on every later use.
Offline, the error says where to put the files by hand.
"""
from __future__ import annotations

import hashlib
import os
import secrets
import urllib.error
import urllib.request
from pathlib import Path

from ..errors import DataError

_MNIST_FILES = ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
                "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")

# Published checksums ("md5:" values as distributed with torchvision's dataset classes); None means
# trust on first use: the SHA-256 seen then is recorded and enforced afterwards.
SOURCES = {
    "mnist": {
        "mirrors": ["https://ossci-datasets.s3.amazonaws.com/mnist/",
                    "https://storage.googleapis.com/cvdf-datasets/mnist/"],
        "files": dict(zip(_MNIST_FILES, ("md5:f68b3c2dcbeaaa9fbdd348bbdeb94873", "md5:d53e105ee54ea40749a09fcbcd1e9432",
                                         "md5:9fb629c4189551a2d022fa330f9573f3", "md5:ec29112dd5afa0611ce80d1b7f02629c"))),
    },
    "fashion-mnist": {
        "mirrors": ["http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"],
        "files": dict(zip(_MNIST_FILES, ("md5:8d4fb7e6c68d591d4c3dfef9ec88bf0d", "md5:25c81989df183df01b3e8a0aad5dffbe",
                                         "md5:bef4ecab320f06d8554ea6380940ec79", "md5:bb300cfdad3c16e7a12a480ee83cd310"))),
    },
    "kmnist": {
        "mirrors": ["http://codh.rois.ac.jp/kmnist/dataset/kmnist/"],
        "files": dict.fromkeys(_MNIST_FILES),
    },
    "cifar10": {
        "mirrors": ["https://www.cs.toronto.edu/~kriz/"],
        "files": {"cifar-10-binary.tar.gz": "md5:c32a1d4ab5d03f1284b67883e8d87530"},
    },
}

# The unpaired sets of the CycleGAN repository (Zhu et al. 2017), one zip each holding NAME/trainA, trainB,
# testA, testB; name -> the names of domains A and B. No checksums are published for them: the SHA-256
# seen on first download is recorded and enforced afterwards.
CYCLEGAN = {
    "horse2zebra": ("horse", "zebra"),
    "apple2orange": ("apple", "orange"),
    "summer2winter_yosemite": ("summer", "winter"),
    "monet2photo": ("monet", "photo"),
    "cezanne2photo": ("cezanne", "photo"),
    "ukiyoe2photo": ("ukiyoe", "photo"),
    "vangogh2photo": ("vangogh", "photo"),
    "iphone2dslr_flower": ("iphone", "dslr"),
    "maps": ("aerial", "map"),
}
CYCLEGAN_MIRRORS = ["https://efrosgans.eecs.berkeley.edu/cyclegan/datasets/",
                    "https://people.eecs.berkeley.edu/~taesung_park/CycleGAN/datasets/"]
SOURCES.update({f"cyclegan-{name}": {"mirrors": CYCLEGAN_MIRRORS, "files": {f"{name}.zip": None}}
                for name in CYCLEGAN})

CLASSES = {
    "mnist": [str(d) for d in range(10)],
    "fashion-mnist": ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag",
                      "Ankle boot"],
    "kmnist": ["o", "ki", "su", "tsu", "na", "ha", "ma", "ya", "re", "wo"],
    "cifar10": ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"],
}

MANIFEST = "SHA256SUMS"


def cache_dir() -> Path:
    if os.environ.get("GENLAB_CACHE"):
        return Path(os.environ["GENLAB_CACHE"]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "genlab"


def _digests(path: Path) -> dict[str, str]:
    sha, md5 = hashlib.sha256(), hashlib.md5()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            sha.update(chunk)
            md5.update(chunk)
    return {"sha256": sha.hexdigest(), "md5": md5.hexdigest()}


def _read_manifest(folder: Path) -> dict[str, str]:
    path = folder / MANIFEST
    if not path.is_file():
        return {}
    pairs = (line.split() for line in path.read_text().splitlines() if line.strip())
    return {name: digest for digest, name in pairs}


def _write_manifest(folder: Path, manifest: dict[str, str]) -> None:
    from ..io import atomic_write_bytes

    text = "".join(f"{digest}  {name}\n" for name, digest in sorted(manifest.items()))
    atomic_write_bytes(folder / MANIFEST, text.encode())


def _matches(expected: str | None, digests: dict[str, str]) -> bool:
    if not expected:
        return True
    kind, _, value = expected.partition(":")
    return digests.get(kind) == value.lower()


def fetch(name: str, base_url: str | None = None, timeout: float = 30,
          checksums: dict[str, str | None] | None = None) -> Path:
    """Make sure every file of ``name`` is in the cache and intact; return its folder.

    ``base_url`` replaces the mirror list (also ``$GENLAB_MIRROR``); ``checksums`` replaces the
    published ones (``{"file": "sha256:..."}``), which is how tests serve small files.
    """
    if name not in SOURCES:
        raise DataError(f"no download source for {name!r}; known: {', '.join(SOURCES)}")
    source = SOURCES[name]
    expected = dict(source["files"]) if checksums is None else dict(checksums)
    mirrors = [base_url] if base_url else source["mirrors"]
    folder = cache_dir() / "datasets" / name
    manifest = _read_manifest(folder)
    for filename in expected:
        target = folder / filename
        if target.is_file():
            digests = _digests(target)
            recorded = manifest.get(filename)
            if (recorded is None or recorded == digests["sha256"]) and _matches(expected[filename], digests):
                if recorded is None:
                    manifest[filename] = digests["sha256"]
                    _write_manifest(folder, manifest)
                continue
            target.unlink()  # corrupt or replaced: fetch it again
        manifest[filename] = _download(filename, mirrors, folder, expected[filename], timeout, list(expected))
        _write_manifest(folder, manifest)
    return folder


def _download(filename: str, mirrors: list[str], folder: Path, expected: str | None, timeout: float,
              all_files: list[str]) -> str:
    folder.mkdir(parents=True, exist_ok=True)
    problems = []
    for mirror in mirrors:
        url = mirror.rstrip("/") + "/" + filename
        tmp = folder / f".{filename}.{secrets.token_hex(6)}.part"
        try:
            with urllib.request.urlopen(url, timeout=timeout) as response, open(tmp, "wb") as out:
                for chunk in iter(lambda: response.read(1 << 20), b""):
                    out.write(chunk)
        except (urllib.error.URLError, OSError, TimeoutError) as exc:
            tmp.unlink(missing_ok=True)
            problems.append(f"{url}: {getattr(exc, 'reason', exc)}")
            continue
        digests = _digests(tmp)
        if not _matches(expected, digests):
            tmp.unlink(missing_ok=True)
            kind = expected.partition(":")[0]
            raise DataError(f"checksum mismatch for {filename} from {url}: expected {expected}, got "
                            f"{kind}:{digests[kind]}; the download is corrupt or the mirror serves another file")
        os.replace(tmp, folder / filename)
        return digests["sha256"]
    raise DataError(f"could not download {filename} ({'; '.join(problems)}); offline? put the files "
                    f"{', '.join(all_files)} by hand into {folder} or set GENLAB_MIRROR to a reachable copy")
