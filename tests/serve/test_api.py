"""The explorer's HTTP API (genlab.serve.app) over tiny trained runs: every endpoint's good answer
(PNG signature and size, JSON shapes) and its refusals (404 unknown run, 422 out-of-range numbers,
400 bad images/hosts, 413 big bodies, no CORS), the live event stream, and `genlab serve`'s
refusals on the command line."""
from __future__ import annotations

import base64
import io
import json
import shutil
import socket
import struct
import time
import zlib

import httpx
import numpy as np
import pytest
from PIL import Image

from tests.cli_run import run
from tests.serve.conftest import append_metrics

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
CELL = 28 + 2                     # a digit and the grid's 2-px padding


def png_size(content: bytes) -> tuple[int, int]:
    assert content[:8] == PNG_MAGIC, content[:40]
    with Image.open(io.BytesIO(content)) as im:
        return im.size


def uri_size(uri: str) -> tuple[int, int]:
    assert uri.startswith("data:image/png;base64,"), uri[:40]
    return png_size(base64.b64decode(uri.split(",", 1)[1]))


def as_uri(image: Image.Image, fmt: str = "PNG") -> str:
    buf = io.BytesIO()
    (image.convert("RGB") if fmt == "JPEG" else image).save(buf, format=fmt)
    mime = "png" if fmt == "PNG" else "jpeg"
    return f"data:image/{mime};base64," + base64.b64encode(buf.getvalue()).decode()


def drawn_digit(size: int = 280) -> Image.Image:
    """A white "1" stroke on black, as the page's canvas draws it (RGBA)."""
    im = Image.new("RGBA", (size, size), (0, 0, 0, 255))
    for y in range(size // 5, size - size // 5):
        for x in range(size // 2 - size // 20, size // 2 + size // 20):
            im.putpixel((x, y), (255, 255, 255, 255))
    return im


def chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def png_claiming(width: int, height: int) -> bytes:
    """A PNG whose header claims width×height (gray, 8 bit) with a few bytes of data: a decompression
    bomb's shape, refused before any pixel is decoded."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return PNG_MAGIC + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")


def one_line_400(r) -> str:
    assert r.status_code == 400, (r.status_code, r.text[:300])
    detail = r.json()["detail"]
    assert isinstance(detail, str) and detail and "\n" not in detail
    return detail


# ------------------------------------------------------------------------------ schema, page, runs

ENDPOINTS = {
    ("get", "/"), ("get", "/static/{file}"), ("get", "/api/runs"), ("get", "/api/runs/{run}/samples.png"),
    ("get", "/api/runs/{run}/map"), ("get", "/api/runs/{run}/point.png"), ("get", "/api/runs/{run}/code"),
    ("post", "/api/runs/{run}/decode.png"), ("get", "/api/runs/{run}/data"),
    ("post", "/api/runs/{run}/interpolate.png"), ("post", "/api/runs/{run}/draw"),
    ("post", "/api/runs/{run}/complete.png"), ("post", "/api/runs/{run}/translate.png"), ("get", "/api/compare"),
    ("get", "/api/runs/{run}/quiz"), ("post", "/api/runs/{run}/quiz"), ("get", "/api/runs/{run}/monitor"),
    ("get", "/api/runs/{run}/preview.png"), ("get", "/api/runs/{run}/events"), ("post", "/api/toygan"),
    ("post", "/api/toygan/{game}/step"), ("get", "/api/toygan/{game}"), ("get", "/api/toygan/options"),
}


def test_openapi_lists_every_endpoint(client):
    schema = client.get("/openapi.json").json()
    listed = {(method, path) for path, methods in schema["paths"].items() for method in methods}
    assert ENDPOINTS <= listed, ENDPOINTS - listed
    assert client.get("/docs").status_code == 404          # Swagger UI would load scripts from a CDN


def test_page_and_its_files(client):
    r = client.get("/")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    assert b"<html" in r.content.lower()
    js = client.get("/static/app.js")
    assert js.status_code == 200 and "javascript" in js.headers["content-type"]
    css = client.get("/static/style.css")
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")
    # a file name is looked up in the folder's listing, never joined into a path
    for name in ("missing.js", "..%2F__init__.py", "%2e%2e%2fapp.py", "%2e%2e", "app.py", "__init__.py"):
        assert client.get(f"/static/{name}").status_code == 404, name


def test_runs_lists_every_served_run_with_its_panels(client):
    runs = {r["name"]: r for r in client.get("/api/runs").json()["runs"]}
    assert list(runs) == ["vae", "cvae", "dcgan", "dae", "unet", "pixelcnn", "cyclegan", "stargan", "training"]
    vae = runs["vae"]
    assert vae["model"] == "vae" and vae["latent_dim"] == 2 and vae["image_shape"] == [1, 28, 28]
    assert {"samples", "map", "sliders", "interpolate", "draw", "quiz"} <= set(vae["panels"])
    assert vae["monitor"] is True and vae["map_method"] == "latent"
    assert runs["cvae"]["labels"]["kind"] == "classes" and runs["cvae"]["labels"]["size"] == 10
    assert "map" not in runs["dcgan"]["panels"] and runs["dcgan"]["why_not"]["map"]
    assert runs["dae"]["denoiser"] is True
    # still in its first epoch: served for its monitor only, every panel says why not
    training = runs["training"]
    assert training["panels"] == [] and training["monitor"] is True and training["model"] == "vae"
    assert set(training["why_not"]) == {"samples", "map", "sliders", "interpolate", "draw", "complete", "translate",
                                        "quiz"}
    assert runs["cyclegan"]["panels"] == ["draw", "translate"] and runs["vae"]["translate"] is None
    assert runs["stargan"]["translate"]["groups"] == [[0, 1, 2], [3, 4], [5, 6]]
    assert "epoch" in training["why_not"]["samples"]


def test_complete_an_image_given_its_top_rows(client):
    body = {"index": 3, "rows": 14, "samples": 3, "seed": 1}
    r = client.post("/api/runs/pixelcnn/complete.png", json=body)
    assert r.status_code == 200 and r.headers["content-type"] == "image/png"
    assert png_size(r.content) == (5 * CELL + 2, CELL + 2)          # original | given | 3 completions
    assert client.post("/api/runs/pixelcnn/complete.png", json=body).content == r.content   # seeded
    with Image.open(io.BytesIO(r.content)) as im:
        row = np.asarray(im.convert("L"))
    cells = [row[2:30, 2 + k * CELL:30 + k * CELL] for k in range(5)]           # original, given, 3 samples
    for done in cells[2:]:
        assert np.array_equal(done[:14], cells[0][:14])                         # the given rows are kept
    assert len({done.tobytes() for done in cells[2:]}) > 1                     # and the rest sampled
    drawn = client.post("/api/runs/pixelcnn/complete.png", json={"image": as_uri(drawn_digit()), "rows": 10,
                                                                 "samples": 2})
    assert drawn.status_code == 200 and png_size(drawn.content) == (4 * CELL + 2, CELL + 2)
    assert "autoregressive" in one_line_400(client.post("/api/runs/vae/complete.png", json=body))
    for bad in ({"rows": 14}, {"index": 3, "image": as_uri(drawn_digit())}, {"index": 3, "samples": 9},
                {"index": 3, "rows": 0}, {"index": 3, "rows": "14"}):
        assert client.post("/api/runs/pixelcnn/complete.png", json=bad).status_code == 422, bad
    assert "rows" in one_line_400(client.post("/api/runs/pixelcnn/complete.png", json={"index": 3, "rows": 28}))


# ------------------------------------------------------------------------------ samples, map, sliders

def test_samples_grid(client):
    r = client.get("/api/runs/vae/samples.png", params={"n": 16, "seed": 3})
    assert r.status_code == 200 and r.headers["content-type"] == "image/png"
    assert r.headers["cache-control"] == "no-store"
    assert png_size(r.content) == (8 * CELL + 2, 2 * CELL + 2)          # 8 per row, native size
    again = client.get("/api/runs/vae/samples.png", params={"n": 16, "seed": 3})
    other = client.get("/api/runs/vae/samples.png", params={"n": 16, "seed": 4})
    assert again.content == r.content and other.content != r.content    # the seed decides
    assert png_size(client.get("/api/runs/dcgan/samples.png", params={"n": 3}).content) == (3 * CELL + 2, CELL + 2)
    assert client.get("/api/runs/cvae/samples.png", params={"n": 4, "label": "3"}).status_code == 200


@pytest.mark.parametrize("params", [{"n": 0}, {"n": 65}, {"n": "many"}, {"seed": -1}, {"seed": 2 ** 31},
                                    {"temperature": 0}, {"temperature": 10.5}, {"temperature": "nan"},
                                    {"temperature": "inf"}])
def test_samples_refuses_out_of_range_numbers(client, params):
    assert client.get("/api/runs/vae/samples.png", params=params).status_code == 422


def test_samples_label_mistakes_are_one_line_400s(client):
    assert "label" in one_line_400(client.get("/api/runs/vae/samples.png", params={"label": "3"}))
    assert "unknown" in one_line_400(client.get("/api/runs/cvae/samples.png", params={"label": "giraffe"}))
    assert "out of range" in one_line_400(client.get("/api/runs/cvae/samples.png", params={"label": "12"}))


def test_unknown_run_is_404_everywhere(client):
    for method, path in [("get", "samples.png"), ("get", "map"), ("get", "point.png?u=0&v=0"), ("get", "code"),
                         ("get", "data"), ("get", "quiz"), ("get", "monitor"), ("get", "preview.png"),
                         ("get", "events")]:
        r = client.request(method, f"/api/runs/nosuchrun/{path}")
        assert r.status_code == 404 and "nosuchrun" in r.json()["detail"], path
    assert client.post("/api/runs/nosuchrun/decode.png", json={"code": [0, 0]}).status_code == 404
    assert client.post("/api/runs/nosuchrun/quiz", json={"round": "ab", "guess": "real"}).status_code == 404
    assert client.get("/api/compare", params={"runs": "vae,nosuchrun"}).status_code == 404


def test_map_point_and_sliders(client):
    m = client.get("/api/runs/vae/map").json()
    assert m["method"] == "latent" and m["axes"] == ["z1", "z2"]
    assert len(m["points"]) == len(m["labels"]) == len(m["indices"]) > 10
    assert all(len(p) == 2 for p in m["points"]) and len(m["bounds"]) == 4
    u, v = m["points"][0]
    r = client.get("/api/runs/vae/point.png", params={"u": u, "v": v})
    assert r.status_code == 200 and png_size(r.content) == (28, 28)
    assert r.headers["cache-control"] == "no-store"
    code = client.get("/api/runs/vae/code", params={"index": 5}).json()
    assert len(code["code"]) == 2 and code["range"][0] < code["range"][1]
    d = client.post("/api/runs/vae/decode.png", json={"code": code["code"], "label": None})
    assert d.status_code == 200 and png_size(d.content) == (28, 28)
    # the map point of a code decodes to the same picture as the code itself
    same = client.get("/api/runs/vae/point.png", params={"u": code["code"][0], "v": code["code"][1]})
    assert same.content == d.content
    one_line_400(client.get("/api/runs/dcgan/map"))                   # no encoder: no map of codes


@pytest.mark.parametrize("params", [{"u": "nan", "v": 0}, {"u": "inf", "v": 0}, {"u": 0, "v": "-inf"},
                                    {"u": 0}, {"u": "x", "v": 0}, {"u": 1e7, "v": 0}])
def test_point_refuses_non_finite_numbers(client, params):
    assert client.get("/api/runs/vae/point.png", params=params).status_code == 422


def test_decode_refusals(client):
    assert "code" in one_line_400(client.post("/api/runs/vae/decode.png", json={"code": [0.0, 0.0, 0.0]}))
    for body in ({"code": []}, {"code": "0,0"}, {"code": [0, "x"]}, {}, {"code": [0, 0], "label": 1.5}):
        assert client.post("/api/runs/vae/decode.png", json=body).status_code == 422, body
    # NaN and Infinity literals (Python's json reads them) are refused, and the 422 stays valid JSON
    for literal in ("NaN", "Infinity", "-Infinity", "1e400"):
        r = client.post("/api/runs/vae/decode.png", content=f'{{"code": [0, {literal}]}}',
                        headers={"content-type": "application/json"})
        assert r.status_code == 422 and json.loads(r.text)["detail"], literal
    assert "label" in one_line_400(client.post("/api/runs/vae/decode.png", json={"code": [0, 0], "label": 2}))


def test_data_pages(client):
    total = client.get("/api/runs").json()["runs"][0]["n_held_out"]
    page = client.get("/api/runs/vae/data", params={"offset": 2, "count": 3}).json()
    assert page["total"] == total > 5
    assert [item["index"] for item in page["items"]] == [2, 3, 4]
    assert all(uri_size(item["image"]) == (28, 28) and isinstance(item["label"], int) for item in page["items"])
    assert client.get("/api/runs/vae/data", params={"offset": total}).json()["items"] == []
    for params in ({"count": 0}, {"count": 65}, {"offset": -1}):
        assert client.get("/api/runs/vae/data", params=params).status_code == 422


# ------------------------------------------------------------------------------ interpolate, draw

def test_interpolate_strip(client):
    r = client.post("/api/runs/vae/interpolate.png", json={"a": {"index": 0}, "b": {"index": 1}, "steps": 5})
    assert r.status_code == 200 and png_size(r.content) == (5 * CELL + 2, CELL + 2)
    spherical = client.post("/api/runs/vae/interpolate.png",
                            json={"a": {"index": 0}, "b": {"image": as_uri(drawn_digit())}, "mode": "spherical"})
    assert spherical.status_code == 200 and png_size(spherical.content) == (8 * CELL + 2, CELL + 2)


@pytest.mark.parametrize("body", [
    {"a": {"index": 0}, "b": {"index": 1}, "steps": 1}, {"a": {"index": 0}, "b": {"index": 1}, "steps": 33},
    {"a": {"index": 0}, "b": {"index": 1}, "mode": "cubic"}, {"a": {"index": 0}},
    {"a": {"index": 0, "image": "data:image/png;base64,"}, "b": {"index": 1}}, {"a": {}, "b": {"index": 1}},
    {"a": {"index": -3}, "b": {"index": 1}}])
def test_interpolate_refuses_bad_bodies(client, body):
    assert client.post("/api/runs/vae/interpolate.png", json=body).status_code == 422


def test_interpolate_index_outside_the_held_out_set(client):
    one_line_400(client.post("/api/runs/vae/interpolate.png", json={"a": {"index": 0}, "b": {"index": 10 ** 6}}))


def test_draw_answers_every_view(client):
    uri = as_uri(drawn_digit())
    out = client.post("/api/runs/vae/draw", json={"image": uri}).json()
    assert uri_size(out["input"]) == (28, 28) and uri_size(out["reconstruction"]) == (28, 28)
    assert len(out["point"]) == 2 and all(isinstance(v, float) for v in out["point"])
    assert out["neighbours"] and all(uri_size(u) == (28, 28) for u in out["neighbours"])
    assert len(out["neighbour_labels"]) == len(out["neighbours"])
    assert set(out["judge"]) >= {"label", "probability", "probabilities"} and len(out["judge"]["probabilities"]) == 10
    assert out["noisy"] is None and out["cleaned"] is None and out["translated"] is None
    dae = client.post("/api/runs/dae/draw", json={"image": as_uri(drawn_digit(), "JPEG")}).json()
    assert uri_size(dae["noisy"]) == (28, 28) and uri_size(dae["cleaned"]) == (28, 28)
    # an inpainting U-Net takes the image and its hole (2 channels): no draw panel, a one-line 400
    assert "draw" not in client.get("/api/runs").json()["runs"][4]["panels"]
    one_line_400(client.post("/api/runs/unet/draw", json={"image": uri}))


def bad_images() -> dict[str, str]:
    good = io.BytesIO()
    drawn_digit(64).save(good, format="PNG")
    png = good.getvalue()
    gif = io.BytesIO()
    Image.new("L", (8, 8)).save(gif, format="GIF")

    def uri(data: bytes, mime: str = "png") -> str:
        return f"data:image/{mime};base64," + base64.b64encode(data).decode()

    return {
        "not a data URI": "hello",
        "another scheme": "file:///etc/passwd",
        "not base64": "data:image/png;base64,@@@@",
        "bad padding": "data:image/png;base64,abc",
        "empty": "data:image/png;base64,",
        "random bytes": uri(bytes(range(256)) * 4),
        "truncated PNG": uri(png[: len(png) // 2]),
        "PNG header only": uri(png[:33]),
        "a GIF": uri(gif.getvalue(), "png"),
        "too wide": as_uri(Image.new("L", (1025, 4))),
        "a bomb's header": uri(png_claiming(30000, 30000)),
        "zero-sized": uri(png_claiming(0, 10)),
    }


@pytest.mark.parametrize("what", list(bad_images()))
def test_draw_refuses_bad_images_in_one_line(client, what):
    detail = one_line_400(client.post("/api/runs/vae/draw", json={"image": bad_images()[what]}))
    assert "image" in detail


def test_a_run_still_training_answers_its_panels_with_400(client):
    assert "epoch" in one_line_400(client.post("/api/runs/training/draw", json={"image": as_uri(drawn_digit())}))
    assert "epoch" in one_line_400(client.get("/api/runs/training/samples.png"))


# ------------------------------------------------------------------------------ compare, quiz

def test_compare_side_by_side(client):
    out = client.get("/api/compare", params={"runs": "vae,dcgan", "n": 4, "seed": 1}).json()
    assert uri_size(out["inputs"]) == (4 * CELL + 2, CELL + 2)
    assert list(out["runs"]) == ["vae", "dcgan"]
    assert uri_size(out["runs"]["vae"]["samples"]) == uri_size(out["runs"]["vae"]["reconstructions"])
    assert out["runs"]["dcgan"]["reconstructions"] is None and out["runs"]["dcgan"]["why_not"]["reconstructions"]
    for runs in ("vae", "vae,vae", "vae,dcgan,dae,cvae,unet", ""):
        assert client.get("/api/compare", params={"runs": runs}).status_code in (400, 422), runs
    assert client.get("/api/compare", params={"runs": "vae,dcgan", "n": 17}).status_code == 422


def test_quiz_rounds_answer_once(client):
    truths = []
    for _ in range(12):
        q = client.get("/api/runs/vae/quiz").json()
        assert len(q["round"]) == 16 and uri_size(q["image"]) == (28, 28)
        a = client.post("/api/runs/vae/quiz", json={"round": q["round"], "guess": "real"}).json()
        assert a["correct"] == (a["truth"] == "real")
        truths.append(a["truth"])
        again = client.post("/api/runs/vae/quiz", json={"round": q["round"], "guess": "real"})
        assert again.status_code == 404
    assert set(truths) == {"real", "generated"}                         # 2^-11 chance of failing by luck
    assert client.post("/api/runs/vae/quiz", json={"round": "0" * 16, "guess": "real"}).status_code == 404
    assert client.post("/api/runs/vae/quiz", json={"round": "x", "guess": "maybe"}).status_code == 422


def test_quiz_remembers_the_last_256_rounds(client):
    first = client.get("/api/runs/dcgan/quiz").json()["round"]
    for _ in range(256):
        last = client.get("/api/runs/dcgan/quiz").json()["round"]
    assert client.post("/api/runs/dcgan/quiz", json={"round": first, "guess": "real"}).status_code == 404
    assert client.post("/api/runs/dcgan/quiz", json={"round": last, "guess": "real"}).status_code == 200


# ------------------------------------------------------------------------------ monitor

def test_monitor_and_preview(client, training_run):
    finished = client.get("/api/runs/vae/monitor").json()
    assert finished["state"] == "finished" and finished["epoch"] >= 1 and finished["preview"]
    r = client.get("/api/runs/vae/preview.png")
    assert r.status_code == 200 and r.content[:8] == PNG_MAGIC and r.headers["cache-control"] == "no-store"
    training = client.get("/api/runs/training/monitor").json()
    assert training["state"] in ("waiting", "training") and training["metrics"]
    assert client.get("/api/runs/training/preview.png").status_code == 404


def test_events_stream_reports_a_growing_metrics_file(live_server, explorer_app, training_run):
    def events(lines):
        """(event, data) pairs of an SSE line stream."""
        name = None
        for line in lines:
            if line.startswith("event: "):
                name = line[7:]
            elif line.startswith("data: ") and name:
                yield name, json.loads(line[6:])
                name = None

    with httpx.Client(base_url=live_server, timeout=20) as http:
        with http.stream("GET", "/api/runs/training/events") as r:
            assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
            stream = events(r.iter_lines())
            kind, first = next(stream)
            assert kind == "progress" and first["stamp"]
            step = 1000 + int(time.time() * 1000) % 1000
            append_metrics(training_run, step, 123.0)
            kind, second = next(stream)
            assert kind == "progress" and second["stamp"] != first["stamp"]
            steps = [x for column in second["metrics"].values() for x, _ in column]
            assert step in steps or len(json.dumps(second)) > len(json.dumps(first))
        # the client has gone: the server ends the stream and its watcher
        deadline = time.monotonic() + 10
        while explorer_app.state.live["streams"] and time.monotonic() < deadline:
            time.sleep(0.1)
        assert explorer_app.state.live["streams"] == 0


def test_a_training_run_opens_once_its_weights_appear(served_runs, tmp_path, mnist):
    from fastapi.testclient import TestClient

    from genlab.apps.explore import Explorer
    from genlab.serve.app import create_app
    from tests.conftest import MeanJudge

    folder = tmp_path / "growing"
    folder.mkdir()
    shutil.copy(served_runs["vae"] / "config.json", folder)
    app = create_app({}, {"growing": folder},
                     open_run=lambda path, name: Explorer.open(path, name=name, judge=MeanJudge(mnist[0])))
    with TestClient(app, base_url="http://127.0.0.1") as c:
        assert c.get("/api/runs").json()["runs"][0]["panels"] == []
        assert "epoch" in one_line_400(c.get("/api/runs/growing/samples.png"))
        shutil.copy(served_runs["vae"] / "model.safetensors", folder)
        assert "samples" in c.get("/api/runs").json()["runs"][0]["panels"]
        assert c.get("/api/runs/growing/samples.png", params={"n": 2}).status_code == 200


def test_a_run_that_goes_on_training_is_opened_again_when_its_weights_change(served_runs, tmp_path, mnist,
                                                                              monkeypatch):
    from fastapi.testclient import TestClient

    from genlab.apps.explore import Explorer
    from genlab.serve import app as served
    from tests.conftest import MeanJudge

    monkeypatch.setattr(served, "REOPEN_AFTER", 0.0)         # look at the weights on every request
    folder = tmp_path / "going-on"
    shutil.copytree(served_runs["vae"], folder)
    opened = []

    def open_run(path, name):
        opened.append(name)
        return Explorer.open(path, name=name, judge=MeanJudge(mnist[0]))

    app = served.create_app({"going-on": open_run(folder, "going-on")}, {"going-on": folder}, open_run=open_run)
    with TestClient(app, base_url="http://127.0.0.1") as c:
        before = c.post("/api/runs/going-on/decode.png", json={"code": [0.5, -0.5]}).content
        assert c.post("/api/runs/going-on/decode.png", json={"code": [0.5, -0.5]}).content == before
        assert opened == ["going-on"]                          # unchanged weights: not opened again
        # the next epoch writes new weights (here: the same ones scaled)
        from genlab.io import load_tensors, save_tensors

        state = load_tensors(folder / "model.safetensors")
        save_tensors({k: v * 1.5 if v.is_floating_point() else v for k, v in state.items()}, folder / "model.safetensors")
        after = c.post("/api/runs/going-on/decode.png", json={"code": [0.5, -0.5]}).content
        assert opened == ["going-on", "going-on"] and after != before


# ------------------------------------------------------------------------------ toy GAN

def test_toy_gan_plays_and_keeps_eight_games(client):
    options = client.get("/api/toygan/options").json()
    assert "ring" in options["targets"] and "wgan-gp" in options["losses"] and "adam" in options["optimizers"]
    new = client.post("/api/toygan", json={"target": "moons", "loss": "wgan", "optimizer": "rmsprop", "seed": 2}).json()
    game, state = new["id"], new["state"]
    assert len(game) == 16 and int(game, 16) >= 0
    assert state["step"] == 0 and state["target"] == "moons" and len(state["fake"]) == len(state["real"]) == 512
    assert len(state["field"]) == 32 and all(len(row) == 32 for row in state["field"])
    after = client.post(f"/api/toygan/{game}/step", json={"player": "both", "steps": 3}).json()
    assert after["step"] == 3 and after["d_steps"] == 15                     # 5 critic steps per G step
    assert after["fake"] != state["fake"]
    assert client.get(f"/api/toygan/{game}").json()["step"] == 3
    d_only = client.post(f"/api/toygan/{game}/step", json={"player": "d"}).json()
    assert d_only["step"] == 3 and d_only["d_steps"] == 16
    # at most 8 live games: the oldest goes
    for _ in range(8):
        client.post("/api/toygan", json={})
    assert client.get(f"/api/toygan/{game}").status_code == 404
    assert client.post(f"/api/toygan/{game}/step", json={}).status_code == 404


def test_toy_gan_refusals(client):
    assert "loss" in one_line_400(client.post("/api/toygan", json={"loss": "hinge"}))
    assert "target" in one_line_400(client.post("/api/toygan", json={"target": "spiral"}))
    for body in ({"lr": 0}, {"lr": 2}, {"seed": -1}, {"target": 3}):
        assert client.post("/api/toygan", json=body).status_code == 422, body
    game = client.post("/api/toygan", json={}).json()["id"]
    for body in ({"steps": 0}, {"steps": 201}, {"player": "x"}):
        assert client.post(f"/api/toygan/{game}/step", json=body).status_code == 422, body


# ------------------------------------------------------------------------------ hosts, bodies, CORS

@pytest.mark.parametrize("host", ["evil.example", "evil.example:8000", "127.0.0.1.evil.example", "", "192.168.1.4"])
def test_foreign_hosts_are_refused(client, host):
    r = client.get("/api/runs", headers={"host": host})
    assert r.status_code == 400 and r.json() == {"detail": "host not allowed"}


@pytest.mark.parametrize("host", ["127.0.0.1:8000", "localhost", "LOCALHOST:1234", "[::1]:8000"])
def test_loopback_hosts_are_served_whatever_the_port(client, host):
    assert client.get("/api/toygan/options", headers={"host": host}).status_code == 200


def test_big_bodies_are_413(client):
    big = {"image": "data:image/png;base64," + "A" * 1_000_100}
    assert client.post("/api/runs/vae/draw", json=big).status_code == 413
    # no Content-Length (chunked): counted while read

    def chunks():
        for _ in range(11):
            yield b"x" * 100_000

    r = client.post("/api/runs/vae/draw", content=chunks(), headers={"content-type": "application/json"})
    assert r.status_code == 413
    assert client.post("/api/runs/vae/draw", content=b"{}", headers={"content-length": "abc"}).status_code == 400


def test_no_cors_headers(client):
    origin = {"origin": "http://evil.example"}
    for r in (client.get("/api/runs", headers=origin),
              client.options("/api/runs", headers={**origin, "access-control-request-method": "GET"}),
              client.post("/api/toygan", json={}, headers=origin)):
        assert not [h for h in r.headers if h.lower().startswith("access-control-")], r.headers
        assert r.headers["x-frame-options"] == "DENY"


# ------------------------------------------------------------------------------ naming, hosts, CLI

def test_runs_are_named_by_folder_with_suffixes(tmp_path):
    from genlab.serve import name_runs

    a, b = tmp_path / "x" / "vae", tmp_path / "y" / "vae"
    assert list(name_runs([a, b, tmp_path / "gan", tmp_path / "z" / "vae"])) == ["vae", "vae-2", "gan", "vae-3"]


def test_allowed_hosts_follow_the_listening_host():
    from genlab.serve import allowed_hosts

    assert allowed_hosts("127.0.0.1") == ("127.0.0.1", "localhost", "::1")
    assert "10.0.0.5" in allowed_hosts("10.0.0.5")
    everywhere = allowed_hosts("0.0.0.0")
    assert "0.0.0.0" in everywhere and socket.gethostname().lower() in everywhere


def test_cli_refuses_a_missing_folder(capsys, tmp_path):
    code, _, err = run(capsys, "serve", tmp_path / "nope")
    assert code == 2 and err.count("\n") == 1 and "does not exist" in err


def test_cli_refuses_a_folder_that_is_no_run(capsys, tmp_path):
    code, _, err = run(capsys, "serve", tmp_path)
    assert code == 2 and err.count("\n") == 1 and "not a genlab run folder" in err


@pytest.mark.parametrize("port", [0, 65536, -1])
def test_cli_refuses_a_bad_port(capsys, training_run, port):
    code, _, err = run(capsys, "serve", training_run, "--port", port)
    assert code == 2 and err.count("\n") == 1 and "--port" in err


def test_cli_refuses_a_busy_port(capsys, training_run):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        code, _, err = run(capsys, "serve", training_run, "--port", port)
    assert code == 2 and err.strip() == f"genlab: error: port {port} is in use; pass --port N"


# ------------------------------------------------------------------------------ translate

def cells(content: bytes, side: int) -> list[np.ndarray]:
    """The images of a one-row grid (2-px padding), as floats in [0, 1]."""
    with Image.open(io.BytesIO(content)) as im:
        row = np.asarray(im.convert("L"), dtype=np.float32) / 255
    return [row[2:2 + side, 2 + k * (side + 2):2 + side + k * (side + 2)] for k in range(row.shape[1] // (side + 2))]


def test_translate_row_is_input_translated_back(client, explorer_app):
    ex = explorer_app.state.runs.explorers["cyclegan"]
    first_mnist = int((ex.data.domain == 1).nonzero()[0])
    r = client.post("/api/runs/cyclegan/translate.png", json={"index": first_mnist, "to": None})
    assert r.status_code == 200 and r.headers["content-type"] == "image/png"
    assert r.headers["cache-control"] == "no-store"
    assert png_size(r.content) == (3 * CELL + 2, CELL + 2)
    # a held-out mnist image goes to digits (F) and back (G): the cells are the library's answer
    x = ex.held_out(first_mnist)[0]
    want = ex.translate(x, to="digits")
    got = cells(r.content, 28)
    for cell, image in zip(got, (x, want["translated"], want["back"])):
        assert np.abs(cell - image[0, 0].numpy()).max() <= 1 / 255 + 1e-6
    same = client.post("/api/runs/cyclegan/translate.png", json={"index": first_mnist, "to": "digits"})
    other = client.post("/api/runs/cyclegan/translate.png", json={"index": first_mnist, "to": "mnist"})
    assert same.content == r.content and other.content != r.content          # the target decides
    drawn = client.post("/api/runs/cyclegan/translate.png", json={"image": as_uri(drawn_digit()), "to": "mnist"})
    assert drawn.status_code == 200 and png_size(drawn.content) == (3 * CELL + 2, CELL + 2)
    star = client.post("/api/runs/stargan/translate.png", json={"index": 0, "domains": "thick,inverted"})
    assert star.status_code == 200 and png_size(star.content) == (3 * 10 + 2, 12)      # 8×8 digits
    tilted = client.post("/api/runs/stargan/translate.png", json={"index": 0, "domains": "tilted"})
    assert tilted.content != star.content
    assert client.post("/api/runs/stargan/translate.png",
                       json={"image": as_uri(drawn_digit(64), "JPEG"), "domains": "thin"}).status_code == 200


def test_translate_refusals(client):
    url = "/api/runs/{}/translate.png"
    for name, body, words in [
            ("cyclegan", {"index": 0, "to": "giraffe"}, "unknown domain"),
            ("cyclegan", {"index": 0, "domains": "thick"}, "give to"),
            ("stargan", {"index": 0, "to": "mnist"}, "give domains"),
            ("stargan", {"index": 0}, "name them in domains"),
            ("stargan", {"index": 0, "domains": "thick,thin"}, "exclude each other"),
            ("stargan", {"index": 10 ** 6, "domains": "thick"}, "index"),
            ("vae", {"index": 0, "to": "mnist"}, "cyclegan or stargan"),
            ("unet", {"image": as_uri(drawn_digit()), "to": None}, "without a target"),
            ("training", {"index": 0}, "epoch")]:
        assert words in one_line_400(client.post(url.format(name), json=body)), (name, body)
    for body in ({}, {"index": 0, "image": as_uri(drawn_digit())}, {"index": 0, "to": 1}, {"index": "0"},
                 {"index": 0, "domains": ["thick"]}, {"index": 0, "to": "x" * 101}, {"index": 0, "domains": "x" * 1001},
                 {"index": 0, "label": 3}, {"index": -1}):
        assert client.post(url.format("cyclegan"), json=body).status_code == 422, body
    assert "image" in one_line_400(client.post(url.format("cyclegan"), json={"image": "data:image/png;base64,@@"}))
    assert client.post(url.format("nosuchrun"), json={"index": 0}).status_code == 404
