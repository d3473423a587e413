"""Malformed requests, generated systematically, against the explorer's API: broken JSON, wrong
types, huge/negative/NaN/inf numbers, random bytes and truncated files as images, oversized
bodies, unknown run names, path traversal in run names and static paths, wrong methods, foreign
hosts. Every answer must be a 4xx (a 5xx is a bug: no request may break the server), and a valid
request still answers 200 afterwards."""
from __future__ import annotations

import base64
import io
import random
from collections import Counter

import pytest
from PIL import Image

RUN_PATHS = ["samples.png", "map", "point.png?u=0&v=0", "code", "data", "quiz", "monitor", "preview.png", "events"]
POSTS = ["decode.png", "interpolate.png", "draw", "quiz", "complete.png", "translate.png"]
BAD_NUMBERS = ["", "x", "-1", "1e400", "-1e400", "nan", "NaN", "inf", "-inf", "Infinity", "9" * 40, "0x10", "1.5e",
               "--1", "1,2", "%00", "true"]
BAD_JSON = [b"{", b"[", b"}", b"nul", b"{'code': [1]}", b'{"code": [1,]}', b"\xff\xfe\x00", b'"just a string"',
            b"[" * 50_000, b'{"code": [' + b"9" * 5000 + b"]}", b"\x00" * 64, b'{"a": {"index": 0}, "b":']
WRONG_TYPES = [[], "text", 7, None, True, {"code": None}, {"code": {"a": 1}}, {"code": [[1, 2]]},
               {"code": [True, False]}, {"code": ["0", "x"]}, {"image": 5}, {"image": ["data:"]},
               {"a": 1, "b": 2}, {"a": {"index": "first"}, "b": {"index": 0}}, {"round": 5, "guess": True},
               {"round": None, "guess": "real"}, {"code": [0, 0], "label": [1]}, {"code": [0, 0], "label": -4},
               {"code": [0, 0], "label": True}, {"code": ["0", "1"]}, {"steps": "2"}, {"steps": True},
               {"a": {"index": True}, "b": {"index": 0}}, {"code": [0, 0], "extra": 1}, {"los": "wgan"}]
NON_FINITE = [b'{"code": [NaN, 0]}', b'{"code": [Infinity, 0]}', b'{"code": [0, -Infinity]}',
              b'{"code": [1e400, 0]}', b'{"a": {"index": 1e400}, "b": {"index": 0}}',
              b'{"a": {"index": 0}, "b": {"index": 0}, "steps": NaN}',
              b'{"a": {"index": -1}, "b": {"index": 0}}', b'{"a": {"index": 99999999999999999999}, "b": {"index": 0}}']
TRAVERSAL = ["..%2F..%2Fetc%2Fpasswd", "%2e%2e%2f%2e%2e%2fetc%2fpasswd", "..%5C..%5Cwindows", "%2e%2e",
             "vae%00", "vae%2F..%2Fdcgan", "%252e%252e%252f", "x" * 300, "%C0%AE%C0%AE%2F", "~root"]
STATIC = ["..%2F__init__.py", "%2e%2e%2fapp.py", "..%2F..%2F..%2Fetc%2Fpasswd", "%2e%2e%5capp.py", "app.py",
          "..%252fapp.py", "index.html%00.js", "x" * 300, ".", "%2e", "static%2Fapp.js"]


def png(data_size: int = 32) -> bytes:
    buf = io.BytesIO()
    Image.new("L", (data_size, data_size), 128).save(buf, format="PNG")
    return buf.getvalue()


def image_payloads() -> list[str]:
    """Data URIs that are not acceptable pictures: random bytes, every truncation class of a PNG,
    wrong formats and types, non-base64."""
    rng = random.Random(17)
    good = png()
    jpeg = io.BytesIO()
    Image.new("RGB", (16, 16)).save(jpeg, format="JPEG")
    bmp = io.BytesIO()
    Image.new("RGB", (4, 4)).save(bmp, format="BMP")

    def uri(data: bytes, mime: str = "png") -> str:
        return f"data:image/{mime};base64," + base64.b64encode(data).decode()

    out = [uri(bytes(rng.randrange(256) for _ in range(n))) for n in (1, 8, 64, 700, 5000)]
    out += [uri(good[:cut]) for cut in (1, 8, 16, 30, 33, 45, len(good) - 13, len(good) - 1)]
    flipped = bytearray(good)
    flipped[40] ^= 0xFF                                         # inside IDAT: a checksum mismatch
    out += [uri(bytes(flipped)), uri(jpeg.getvalue()[:100], "jpeg"), uri(bmp.getvalue()),
            uri(b"<svg xmlns='http://www.w3.org/2000/svg'/>", "svg+xml"), uri(good, "gif"),
            "data:image/png;base64," + "%%%%", "data:image/png," + "x" * 20, "data:text/html;base64,PGI+",
            "http://127.0.0.1/x.png", "", "data:image/png;base64,====", "data:image/png;base64,QUJD\x00"]
    return out


def cases(body_limit: int = 1_000_000) -> list[tuple[str, str, dict]]:
    """(method, url, httpx keyword arguments) of every malformed request."""
    out: list[tuple[str, str, dict]] = []
    add = out.append
    # numbers out of range or not numbers, in every numeric query parameter
    for value in BAD_NUMBERS:
        for name in ("n", "seed", "temperature"):
            add(("GET", f"/api/runs/vae/samples.png?{name}={value}", {}))
        if value != "-1":                                       # a negative map coordinate is fine
            add(("GET", f"/api/runs/vae/point.png?u={value}&v=0", {}))
        add(("GET", f"/api/runs/vae/data?count={value}", {}))
        add(("GET", f"/api/compare?runs=vae,dcgan&n={value}", {}))
    for params in ("n=0", "n=65", "seed=-5", "seed=2147483648", "temperature=0", "temperature=10.01",
                   "temperature=-1", "label=" + "a" * 101, "label=giraffe"):
        add(("GET", f"/api/runs/cvae/samples.png?{params}", {}))
    for params in ("offset=-1", "count=0", "count=65", "offset=1e3"):
        add(("GET", f"/api/runs/vae/data?{params}", {}))
    for params in ("index=-1", "index=99999999", "index=x", "seed=-1"):
        add(("GET", f"/api/runs/vae/code?{params}", {}))
    for params in ("", "u=0", "v=0", "u=1e7&v=0", "u=0&v=nan", "u=0&v=0&label=3"):
        add(("GET", f"/api/runs/vae/point.png?{params}", {}))
    for runs in ("", "vae", "vae,vae", "vae,nope", "a,b,c,d,e", "vae,dcgan,dae,cvae,unet", ",,,", "x" * 1001):
        add(("GET", f"/api/compare?runs={runs}", {}))
    # broken JSON, wrong types and non-finite numbers in every JSON endpoint
    json_posts = [f"/api/runs/vae/{p}" for p in POSTS] + ["/api/toygan"]
    for url in json_posts:
        for raw in BAD_JSON:
            add(("POST", url, {"content": raw, "headers": {"content-type": "application/json"}}))
        for body in WRONG_TYPES:
            if body is not None or url != "/api/toygan":        # no body starts a default toy game
                add(("POST", url, {"json": body}))
        add(("POST", url, {"content": b"code=1", "headers": {"content-type": "application/x-www-form-urlencoded"}}))
    for raw in NON_FINITE:
        for url in ("/api/runs/vae/decode.png", "/api/runs/vae/interpolate.png"):
            add(("POST", url, {"content": raw, "headers": {"content-type": "application/json"}}))
    for body in ({"index": 3, "rows": -1}, {"index": 3, "samples": 100000}, {"index": 99999, "rows": 14},
                 {"index": 0, "rows": 14, "seed": -5}, {"index": 0, "rows": 27, "samples": 0}, {"rows": 14}):
        add(("POST", "/api/runs/pixelcnn/complete.png", {"json": body}))
    for body in ({"index": 0, "to": 5}, {"index": 0, "to": ["mnist"]}, {"index": 0, "domains": {"thick": 1}},
                 {"index": 0, "to": "x" * 101}, {"index": 0, "to": "\u0000"}, {"index": 0, "to": "-1"},
                 {"index": 0, "to": "9" * 40}, {"index": 0, "domains": ",,,"}, {"index": 0, "domains": "thick,thick"},
                 {"index": 2 ** 31 - 1, "to": "A"}, {"image": "data:image/png;base64,", "to": "B"}):
        for run in ("cyclegan", "stargan"):
            add(("POST", f"/api/runs/{run}/translate.png", {"json": body}))
    for body in ({"lr": "NaN"}, {"lr": -1}, {"lr": 1e9}, {"seed": -1}, {"loss": "hinge"}, {"target": "x" * 41},
                 {"optimizer": "lbfgs"}, {"target": None}):
        add(("POST", "/api/toygan", {"json": body}))
    # random bytes, truncated files and non-images as pictures, to draw and to interpolate
    for image in image_payloads():
        add(("POST", "/api/runs/vae/draw", {"json": {"image": image}}))
        add(("POST", "/api/runs/vae/interpolate.png", {"json": {"a": {"image": image}, "b": {"index": 0}}}))
        add(("POST", "/api/runs/pixelcnn/complete.png", {"json": {"image": image, "rows": 14}}))
        add(("POST", "/api/runs/cyclegan/translate.png", {"json": {"image": image, "to": "mnist"}}))
    # oversized bodies: declared, and streamed without a length
    for url in json_posts + ["/api/toygan/0123456789abcdef/step"]:
        add(("POST", url, {"json": {"image": "A" * (body_limit + 10)}}))
        add(("POST", url, {"content": iter([b"[" + b"1," * 300_000] * 2),
                           "headers": {"content-type": "application/json"}}))
    # unknown runs and traversal attempts as run names
    for name in ["nope", "VAE", "vae ", "training2"] + TRAVERSAL:
        for path in RUN_PATHS:
            add(("GET", f"/api/runs/{name}/{path}", {}))
        add(("POST", f"/api/runs/{name}/decode.png", {"json": {"code": [0, 0]}}))
    for name in STATIC:
        add(("GET", f"/static/{name}", {}))
    # unknown toy games and quiz rounds
    for game in ("nope", "0" * 16, "../options", "x" * 65, "%2e%2e"):
        add(("GET", f"/api/toygan/{game}", {}))
        add(("POST", f"/api/toygan/{game}/step", {"json": {"steps": 1}}))
    for token in ("", "0" * 16, "x" * 65, "../../etc/passwd"):
        add(("POST", "/api/runs/vae/quiz", {"json": {"round": token, "guess": "real"}}))
    # wrong methods
    for path in RUN_PATHS[:3] + ["code", "data", "monitor", "events"]:
        for method in ("POST", "PUT", "DELETE", "PATCH"):
            add((method, f"/api/runs/vae/{path.split('?')[0]}", {}))
    for path in POSTS[:3]:
        add(("GET", f"/api/runs/vae/{path}", {}))
        add(("DELETE", f"/api/runs/vae/{path}", {}))
    for url in ("/api/runs", "/api/toygan/options", "/api/compare", "/"):
        add(("POST", url, {"json": {}}))
    add(("PUT", "/api/toygan", {"json": {}}))
    # hosts a DNS-rebinding page would send
    for host in ("evil.example", "evil.example:8000", "localhost.evil.example", "127.0.0.1.nip.io", "0.0.0.0",
                 "[::2]:8000", "", " "):
        add(("GET", "/api/runs", {"headers": {"host": host}}))
    return out


@pytest.fixture
def fuzz_client(explorer_app):
    """A client that reports a server error as a 500 answer instead of raising it."""
    from fastapi.testclient import TestClient

    with TestClient(explorer_app, base_url="http://127.0.0.1", raise_server_exceptions=False) as c:
        yield c


def test_malformed_requests_are_all_4xx(fuzz_client):
    statuses: Counter = Counter()
    bad = []
    for method, url, kwargs in cases():
        r = fuzz_client.request(method, url, **kwargs)
        statuses[r.status_code] += 1
        if not 400 <= r.status_code < 500:
            bad.append((r.status_code, method, url[:120], repr(kwargs)[:200], r.text[:100]))
        else:
            assert r.headers["content-type"].startswith("application/json"), (method, url[:120])
    print("\nfuzz answers by status:", dict(sorted(statuses.items())), "total", sum(statuses.values()))
    assert not bad, [b[:4] for b in bad]
    assert sum(statuses.values()) >= 200
    assert {400, 404, 405, 413, 422} <= set(statuses)
    # the server still serves
    assert fuzz_client.get("/api/runs/vae/samples.png", params={"n": 2}).status_code == 200
    assert fuzz_client.post("/api/runs/vae/decode.png", json={"code": [0.1, -0.2]}).status_code == 200
