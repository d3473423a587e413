"""The web explorer's HTTP API (`genlab serve`): a FastAPI app over runs opened with
genlab.apps.explore, in the spirit of GAN Lab (Kahng et al. 2018) and the Embedding Projector
(Smilkov et al. 2016).

Every answer is one of: a PNG (``Cache-Control: no-store``), JSON, or a server-sent event stream
(``event: progress`` / ``data: <JSON>``, W3C Server-Sent Events). The app only parses requests,
calls genlab.apps (explore, monitor, toygan) and encodes the results; no request parameter names a
file: the only folders read are the run folders given to :func:`create_app`, and the page's own
files, looked up by name in genlab/serve/static's listing.

Errors: a GenlabError (the user's mistake, e.g. a label the model does not know) → 400
``{"detail": "one line"}``; a malformed request (types, ranges, NaN/inf, bad JSON) → 422; an unknown
run, quiz round or toy game → 404; a body above ``max_body`` bytes → 413; an image that is not a
PNG/JPEG of at most 1024×1024 → 400; a Host header outside ``allowed_hosts`` → 400 (DNS rebinding).
No CORS headers are ever sent, so other web sites cannot read the answers.

Model calls take the run's ``Explorer.lock`` (one request at a time per model; different runs in
parallel, each request in FastAPI's thread pool).
"""
from __future__ import annotations

import asyncio
import inspect
import json
import math
import random
import secrets
import threading
import time
from collections import OrderedDict
from contextlib import ExitStack
from pathlib import Path
from typing import Annotated, Any, Literal

import torch
from fastapi import Body, FastAPI, HTTPException, Query, Request
from fastapi import Path as PathParam
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field, model_validator

from .._version import __version__
from ..apps.explore import PANELS, Explorer, side_by_side
from ..apps.monitor import preview_path, progress, watch
from ..apps.toygan import ToyGAN
from ..apps.toygan import options as toy_options
from ..errors import CapabilityError, ConfigError, GenlabError
from .images import data_uri, decode_image, png
from .security import LOOPBACK, BodyLimit, HostCheck

STATIC = Path(__file__).parent / "static"
MEDIA_TYPES = {".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8",
               ".css": "text/css; charset=utf-8", ".png": "image/png", ".svg": "image/svg+xml",
               ".ico": "image/x-icon", ".json": "application/json"}
SEED_MAX = 2 ** 31 - 1
MAX_GAMES = 8                   # live toy GANs; a new one drops the oldest
MAX_QUIZ = 256                  # remembered quiz rounds per run
REOPEN_AFTER = 5.0              # seconds between attempts to open a run that is still training
WEIGHTS = ("model.safetensors", "checkpoint.safetensors")
HEARTBEAT = 15.0                # seconds between SSE comments that keep an idle stream open
NO_STORE = {"Cache-Control": "no-store"}
PNG_ANSWER = {200: {"content": {"image/png": {}}, "description": "a PNG image"}}

Seed = Annotated[int, Query(ge=0, le=SEED_MAX, description="random seed")]
LabelQuery = Annotated[str | None, Query(max_length=100, description="class name or number (conditional models)")]
Run = Annotated[str, PathParam(max_length=200, description="a served run's name (its folder name)")]
# JSON bodies are typed strictly: true is no number and "3" no integer (a query string is all text, so
# query parameters convert)
Finite = Annotated[float, Field(strict=True, allow_inf_nan=False)]
Index = Annotated[int, Field(strict=True, ge=0, le=SEED_MAX)]
Label = Index | Annotated[str, Field(strict=True, max_length=100)] | None


# ----------------------------------------------------------------------------- request bodies

class Strict(BaseModel):
    """A body with an unknown key is refused (422), so a misspelt field is not silently ignored."""
    model_config = ConfigDict(extra="forbid")


class DecodeBody(Strict):
    code: list[Finite] = Field(min_length=1, max_length=4096, description="a flat latent code")
    label: Label = None


class Endpoint(Strict):
    """One end of an interpolation: a held-out image by index, or a picture as a data URI."""
    index: Index | None = None
    image: Annotated[str, Field(strict=True, max_length=2_000_000)] | None = None

    @model_validator(mode="after")
    def one_of(self):
        if (self.index is None) == (self.image is None):
            raise ValueError("give either index or image")
        return self


class InterpolateBody(Strict):
    a: Endpoint
    b: Endpoint
    steps: int = Field(8, strict=True, ge=2, le=32)
    mode: Literal["linear", "spherical"] = "linear"


class CompleteBody(Endpoint):
    """A held-out image (index) or a picture (image) to complete given its top rows."""
    rows: int = Field(14, strict=True, ge=1, le=4095, description="the top rows given")
    samples: int = Field(4, strict=True, ge=1, le=8, description="completions to draw")
    seed: int = Field(0, strict=True, ge=0, le=SEED_MAX)
    label: Label = None


class TranslateBody(Endpoint):
    """A held-out image (index) or a picture (image) and its target: ``to`` a cyclegan's domain (null:
    a held-out image's other domain, a picture's second domain), ``domains`` a stargan's attribute
    names ("thick,inverted"; the groups not named keep the image's own values)."""
    to: Annotated[str, Field(strict=True, max_length=100)] | None = None
    domains: Annotated[str, Field(strict=True, max_length=1000)] | None = None


class DrawBody(Strict):
    image: str = Field(strict=True, max_length=2_000_000, description="data:image/png;base64,...")


class QuizAnswer(Strict):
    round: str = Field(strict=True, max_length=64)
    guess: Literal["real", "generated"]


class ToyNew(Strict):
    target: str = Field("ring", strict=True, max_length=40)
    loss: str = Field("nonsaturating", strict=True, max_length=40)
    optimizer: str = Field("adam", strict=True, max_length=40)
    lr: Annotated[float, Field(strict=True, gt=0, le=1, allow_inf_nan=False)] | None = None
    seed: int = Field(0, strict=True, ge=0, le=SEED_MAX)


class ToyStep(Strict):
    player: Literal["both", "d", "g"] = "both"
    steps: int = Field(1, strict=True, ge=1, le=200)


# ----------------------------------------------------------------------------- JSON

def plain(obj: Any) -> Any:
    """JSON-ready: tensors and numpy values as lists/numbers, NaN and ±inf as null (a diverged loss
    in metrics.csv must not break the answer), tuples as lists, keys as strings."""
    if obj is None or isinstance(obj, (bool, int, str)):
        return obj
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {str(k): plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [plain(v) for v in obj]
    if hasattr(obj, "tolist"):                   # torch tensors, numpy arrays and scalars
        return plain(obj.tolist())
    return str(obj)


class SafeJSON(JSONResponse):
    """JSON that stays valid whatever the content: non-finite numbers become null."""

    def render(self, content: Any) -> bytes:
        return json.dumps(plain(content), allow_nan=False, ensure_ascii=False, separators=(",", ":")).encode()


def png_answer(images, nrow: int | None = None) -> Response:
    return Response(png(images, nrow), media_type="image/png", headers=NO_STORE)


def one_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


# ----------------------------------------------------------------------------- the served runs

def weights_stamp(folder: Path) -> tuple | None:
    """(name, size, mtime) of the weights a run folder holds now, or None before its first epoch."""
    for name in WEIGHTS:
        try:
            st = (folder / name).stat()
        except OSError:
            continue
        return name, st.st_size, st.st_mtime_ns
    return None


class Runs:
    """The served runs: their explorers (None while a run is still training), folders, quiz rounds."""

    def __init__(self, explorers, run_dirs, open_run):
        if isinstance(explorers, dict):
            self.explorers = dict(explorers)
        else:
            self.explorers = {}
            for ex in explorers:
                if ex.name in self.explorers:
                    raise ValueError(f"two explorers are named {ex.name!r}; pass a dict of unique names")
                self.explorers[ex.name] = ex
        self.run_dirs = {str(name): Path(path) for name, path in (run_dirs or {}).items()}
        self.names = list(self.run_dirs) + [n for n in self.explorers if n not in self.run_dirs]
        self.open_run = open_run
        self.reasons: dict[str, str] = {}        # why a run without an explorer could not be opened
        self.next_try: dict[str, float] = {}
        self.lock = threading.Lock()              # guards the quiz rounds and random generators
        self.open_lock = threading.Lock()         # one lazy opening at a time (it takes seconds)
        self.rngs = {name: random.Random(secrets.randbits(64)) for name in self.names}
        # the weights each explorer was opened from: a run that goes on training is opened again when
        # they change (checked at most every REOPEN_AFTER seconds), so the panels follow the training
        self.stamps = {name: weights_stamp(self.run_dirs[name]) for name in self.explorers if name in self.run_dirs}
        self.next_look: dict[str, float] = {}
        self.rounds: dict[str, OrderedDict[str, bool]] = {name: OrderedDict() for name in self.names}

    def check(self, name: str) -> None:
        if name not in self.names:
            shown = ", ".join(self.names[:20])
            raise HTTPException(404, f"no run named {name[:80]!r}; this explorer serves: {shown}")

    def run_dir(self, name: str) -> Path:
        self.check(name)
        if name not in self.run_dirs:
            raise HTTPException(404, f"run {name!r} was given without its folder, so it has no training monitor")
        return self.run_dirs[name]

    def explorer(self, name: str) -> Explorer:
        """The run's explorer; a run still training is opened once its weights appear."""
        self.check(name)
        ex = self._fresh(name) or self._try_open(name)
        if ex is None:
            raise CapabilityError(f"run {name!r}: {self.why_pending(name)}")
        return ex

    def _fresh(self, name: str) -> Explorer | None:
        """The run's explorer, opened again when its weights have changed since (a run still training
        writes them after every epoch); the old one serves until the new one is ready."""
        ex = self.explorers.get(name)
        folder = self.run_dirs.get(name)
        if ex is None or folder is None or time.monotonic() < self.next_look.get(name, 0.0):
            return ex
        self.next_look[name] = time.monotonic() + REOPEN_AFTER
        stamp = weights_stamp(folder)
        if stamp is None or stamp == self.stamps.get(name):
            return ex
        with self.open_lock:
            if stamp == self.stamps.get(name):
                return self.explorers[name]
            try:
                fresh = self.open_run(folder, name)
            except Exception:  # noqa: BLE001  (weights being written: keep serving the last good ones, retry later)
                return ex
            self.explorers[name], self.stamps[name] = fresh, stamp
            return fresh

    def _try_open(self, name: str) -> Explorer | None:
        folder = self.run_dirs.get(name)
        if folder is None or weights_stamp(folder) is None:
            return None
        with self.open_lock:
            if name in self.explorers:
                return self.explorers[name]
            if time.monotonic() < self.next_try.get(name, 0.0):
                return None
            stamp = weights_stamp(folder)
            try:
                ex = self.open_run(folder, name)
            except Exception as exc:  # noqa: BLE001  (a folder being written fails in many ways: retry later)
                self.reasons[name] = f"it could not be opened yet ({one_line(exc)[:200]}); it is tried again"
                self.next_try[name] = time.monotonic() + REOPEN_AFTER
                return None
            self.explorers[name], self.stamps[name] = ex, stamp
            self.next_look[name] = time.monotonic() + REOPEN_AFTER
            return ex

    def why_pending(self, name: str) -> str:
        return self.reasons.get(name) or ("its training has not finished an epoch yet (no model.safetensors); "
                                          "only its training monitor is served until then")

    def info(self, name: str) -> dict:
        ex = self._fresh(name) or self._try_open(name)
        if ex is not None:       # info() reads attributes only: no lock, so a long model call elsewhere cannot stall it
            return {**plain(ex.info()), "name": name, "monitor": name in self.run_dirs}
        model = None
        try:
            from ..runs import read_config

            model = read_config(self.run_dirs[name]).get("model")
        except (GenlabError, OSError, ValueError):
            pass
        reason = self.why_pending(name)
        return {"name": name, "model": model, "capabilities": [], "image_shape": None, "latent_dim": None,
                "labels": None, "task": None, "denoiser": False, "n_held_out": 0, "panels": [],
                "why_not": {panel: reason for panel in PANELS}, "map_method": None, "class_names": None,
                "translate": None, "monitor": True}

    def remember(self, name: str, token: str, is_real: bool) -> None:
        with self.lock:
            rounds = self.rounds.setdefault(name, OrderedDict())
            rounds[token] = is_real
            while len(rounds) > MAX_QUIZ:
                rounds.popitem(last=False)

    def answer(self, name: str, token: str) -> bool:
        with self.lock:
            is_real = self.rounds.setdefault(name, OrderedDict()).pop(token, None)
        if is_real is None:
            raise HTTPException(404, "unknown or already answered quiz round; ask for a new one (GET .../quiz)")
        return is_real

    def rng(self, name: str) -> random.Random:
        with self.lock:
            return self.rngs.setdefault(name, random.Random(secrets.randbits(64)))


class Games:
    """The live toy GANs (at most MAX_GAMES; the oldest is dropped), each with its own lock."""

    def __init__(self):
        self.games: OrderedDict[str, tuple[ToyGAN, threading.Lock]] = OrderedDict()
        self.lock = threading.Lock()

    def add(self, game: ToyGAN) -> str:
        token = secrets.token_hex(8)
        with self.lock:
            self.games[token] = (game, threading.Lock())
            while len(self.games) > MAX_GAMES:
                self.games.popitem(last=False)
        return token

    def get(self, token: str) -> tuple[ToyGAN, threading.Lock]:
        with self.lock:
            found = self.games.get(token)
        if found is None:
            raise HTTPException(404, f"no such toy GAN (only the last {MAX_GAMES} games are kept); "
                                     "start one with POST /api/toygan")
        return found


# ----------------------------------------------------------------------------- server-sent events

async def progress_events(run_dir: Path, request: Request, interval: float, live: dict):
    """``event: progress`` each time monitor.watch sees the run change. watch (blocking file polls)
    runs in its own thread and hands its results over a queue; the loop checks for a departed
    client every ``interval`` and stops the thread when the client goes, the stream is cancelled or
    the server closes (``live["closing"]``), within one more poll."""
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue = asyncio.Queue()
    stop = threading.Event()
    done = object()

    def hand_over(item) -> None:
        try:
            loop.call_soon_threadsafe(queue.put_nowait, item)
        except RuntimeError:                       # the loop has closed: nobody listens any more
            stop.set()

    def pump() -> None:
        try:
            for item in watch(run_dir, interval=interval, stop=stop):
                if stop.is_set():
                    break
                hand_over(item)
        except Exception as exc:  # noqa: BLE001  (a folder that vanished: say so, end the stream)
            hand_over(GenlabError(one_line(exc)))
        finally:
            hand_over(done)

    thread = threading.Thread(target=pump, name=f"genlab-watch-{run_dir.name}", daemon=True)
    with live["lock"]:
        live["streams"] += 1
    thread.start()
    quiet = 0.0
    closing = live["closing"]
    try:
        while not (stop.is_set() or closing.is_set()):
            try:
                item = await asyncio.wait_for(queue.get(), timeout=interval)
            except asyncio.TimeoutError:
                item = None
            if await request.is_disconnected():
                break
            if item is done:
                break
            if isinstance(item, GenlabError):
                yield f"event: error\ndata: {json.dumps({'detail': str(item)})}\n\n"
                break
            if item is None:
                quiet += interval
                if quiet >= HEARTBEAT:             # a comment line: keeps proxies and browsers from timing out
                    quiet = 0.0
                    yield ": still watching\n\n"
                continue
            quiet = 0.0
            data = json.dumps(plain(item), allow_nan=False, separators=(",", ":"))
            yield f"event: progress\ndata: {data}\n\n"
    finally:
        stop.set()
        with live["lock"]:
            live["streams"] -= 1


# ----------------------------------------------------------------------------- the app

def create_app(explorers, run_dirs, *, allowed_hosts=LOOPBACK, max_body: int = 1_000_000,
               open_run=None, poll_interval: float = 0.5, static_dir: Path | None = None) -> FastAPI:
    """The explorer's app over ``explorers`` ({name: Explorer} or a list, named by ``Explorer.name``)
    and ``run_dirs`` ({name: run folder} of every served run; a run there without an explorer is
    served for its training monitor only, and opened with ``open_run(folder, name)`` (default
    ``Explorer.open``) once its weights appear). ``allowed_hosts``: the Host header values accepted
    (port ignored); ``max_body``: the largest request body in bytes; ``poll_interval``: seconds
    between the event stream's looks at a run folder."""
    if open_run is None:
        def open_run(folder, name):
            return Explorer.open(folder, name=name)
    runs = Runs(explorers, run_dirs, open_run)
    games = Games()
    static = Path(static_dir) if static_dir is not None else STATIC
    # the open event streams, and the event that ends them all when the server shuts down (uvicorn
    # would otherwise wait for them and then cancel them with a traceback)
    live = {"streams": 0, "lock": threading.Lock(), "closing": threading.Event()}

    options = {}
    if "telemetry" in inspect.signature(FastAPI).parameters:    # FastAPI's OpenTelemetry hooks: off, all local
        options["telemetry"] = {"tracing": False, "metrics": False, "logs": False}
    # docs_url/redoc_url: Swagger UI and ReDoc load scripts from a CDN; the schema stays at /openapi.json
    app = FastAPI(title="genlab explorer", version=__version__, default_response_class=SafeJSON,
                  docs_url=None, redoc_url=None, **options)
    app.state.runs, app.state.games, app.state.live = runs, games, live
    app.add_middleware(BodyLimit, max_body=max_body)
    app.add_middleware(HostCheck, allowed_hosts=tuple(allowed_hosts))     # outermost: runs first

    @app.exception_handler(GenlabError)
    async def user_mistake(request: Request, exc: GenlabError):
        return SafeJSON({"detail": one_line(exc)}, status_code=400)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError):
        # without the echoed input: it may hold NaN (not JSON) or a megabyte of base64
        errors = [{"loc": [str(p) for p in e.get("loc", ())], "msg": str(e.get("msg", "")),
                   "type": str(e.get("type", ""))} for e in exc.errors()]
        return SafeJSON({"detail": errors}, status_code=422)

    # ------------------------------------------------------------------ the page
    def static_file(name: str) -> Path | None:
        """The page's file called ``name``: a look-up in the static folder's listing, so a request's
        text never becomes a path."""
        try:
            listing = {p.name: p for p in static.iterdir() if p.suffix in MEDIA_TYPES and p.is_file()}
        except OSError:
            return None
        return listing.get(name)

    def file_answer(path: Path | None, what: str) -> Response:
        try:
            content = path.read_bytes() if path is not None else None
        except OSError:
            content = None
        if content is None:
            raise HTTPException(404, f"{what} is missing from this install ({static})")
        return Response(content, media_type=MEDIA_TYPES[path.suffix], headers={"Cache-Control": "no-cache"})

    @app.get("/", response_class=Response, responses={200: {"content": {"text/html": {}}}})
    def index():
        """The explorer's page."""
        return file_answer(static_file("index.html"), "the page (index.html)")

    @app.get("/static/{file}", response_class=Response)
    def static_asset(file: Annotated[str, PathParam(max_length=200)]):
        """The page's scripts and style (app.js, style.css)."""
        return file_answer(static_file(file), f"static file {file[:80]!r}")

    # ------------------------------------------------------------------ runs
    @app.get("/api/runs")
    def list_runs():
        """Every served run's info: model, capabilities, the panels that apply and why the others do not."""
        return {"runs": [runs.info(name) for name in runs.names]}

    @app.get("/api/runs/{run}/samples.png", response_class=Response, responses=PNG_ANSWER)
    def samples(run: Run, n: Annotated[int, Query(ge=1, le=64)] = 16, seed: Seed = 0,
                temperature: Annotated[float, Query(gt=0, le=10, allow_inf_nan=False)] = 1.0,
                label: LabelQuery = None):
        """A grid of n samples (8 per row)."""
        ex = runs.explorer(run)
        with ex.lock:
            x = ex.samples(n=n, seed=seed, temperature=temperature, label=label or None)
        return png_answer(x, nrow=8)

    @app.get("/api/runs/{run}/map")
    def latent_map(run: Run):
        """The held-out set's codes in 2-D (the latent itself, PCA or t-SNE), with labels."""
        ex = runs.explorer(run)
        with ex.lock:
            return plain(ex.latent_map())

    @app.get("/api/runs/{run}/point.png", response_class=Response, responses=PNG_ANSWER)
    def point(run: Run, u: Annotated[float, Query(ge=-1e6, le=1e6, allow_inf_nan=False)],
              v: Annotated[float, Query(ge=-1e6, le=1e6, allow_inf_nan=False)], label: LabelQuery = None):
        """The image decoded at the map point (u, v)."""
        ex = runs.explorer(run)
        with ex.lock:
            x = ex.decode_point(u, v, label=label or None)
        return png_answer(x)

    @app.get("/api/runs/{run}/code")
    def code(run: Run, index: Annotated[int | None, Query(ge=0, le=SEED_MAX)] = None, seed: Seed = 0):
        """A starting code for the sliders (a held-out image's code, or a prior draw) and their range."""
        ex = runs.explorer(run)
        with ex.lock:
            return {"code": plain(ex.base_code(index, seed)), "range": plain(list(ex.code_range()))}

    @app.post("/api/runs/{run}/decode.png", response_class=Response, responses=PNG_ANSWER)
    def decode(run: Run, body: DecodeBody):
        """The image a code decodes to."""
        ex = runs.explorer(run)
        with ex.lock:
            x = ex.decode_code(list(body.code), label=body.label)
        return png_answer(x)

    @app.get("/api/runs/{run}/data")
    def data(run: Run, offset: Annotated[int, Query(ge=0, le=SEED_MAX)] = 0,
             count: Annotated[int, Query(ge=1, le=64)] = 16):
        """A page of held-out images (native size, as data URIs) with their labels."""
        ex = runs.explorer(run)
        total = len(ex.data) if ex.data is not None else 0
        items = []
        with ex.lock:
            for i in range(offset, min(total, offset + count)):
                x, label = ex.held_out(i)
                items.append({"index": i, "label": plain(label), "image": data_uri(x)})
        return {"total": total, "items": items}

    @app.post("/api/runs/{run}/interpolate.png", response_class=Response, responses=PNG_ANSWER)
    def interpolate(run: Run, body: InterpolateBody):
        """steps images from a to b (ends included) in one row."""
        ex = runs.explorer(run)
        pictures = [decode_image(e.image) if e.image is not None else None for e in (body.a, body.b)]
        with ex.lock:
            a, b = (ex.held_out(e.index)[0] if pic is None else ex.as_input(pic)
                    for e, pic in zip((body.a, body.b), pictures))
            x = ex.interpolate(a, b, steps=body.steps, mode=body.mode)
        return png_answer(x, nrow=body.steps)

    @app.post("/api/runs/{run}/complete.png", response_class=Response, responses=PNG_ANSWER)
    def complete(run: Run, body: CompleteBody):
        """An autoregressive model's completions of an image given its top rows, in one row:
        original | given (the hidden part dimmed) | completion 1 … samples."""
        ex = runs.explorer(run)
        picture = decode_image(body.image) if body.image is not None else None
        with ex.lock:
            x = ex.held_out(body.index)[0] if picture is None else ex.as_input(picture)
            out = ex.complete(x, rows=body.rows, samples=body.samples, seed=body.seed, label=body.label)
        images = torch.cat([out["original"], out["given"], out["completions"]])
        return png_answer(images, nrow=len(images))

    @app.post("/api/runs/{run}/translate.png", response_class=Response, responses=PNG_ANSWER)
    def translate(run: Run, body: TranslateBody):
        """A cyclegan's or stargan's translation of an image, in one row: input | translated | back. A
        held-out image goes back to its own domain or attributes as the data records them."""
        ex = runs.explorer(run)
        picture = decode_image(body.image) if body.image is not None else None
        with ex.lock:
            why = ex.why_not().get("translate")
            if why:                                    # before the image is looked at
                raise CapabilityError(why)
            if picture is None:
                x, source = ex.held_out(body.index)[0], ex.held_out_source(body.index)
            else:
                x, source = ex.as_input(picture), None
            out = ex.translate(x, to=body.to, domains=body.domains, source=source)
        return png_answer(torch.cat([x, out["translated"], out["back"]]), nrow=3)

    @app.post("/api/runs/{run}/draw")
    def draw(run: Run, body: DrawBody):
        """What the model makes of a drawn or uploaded picture: reconstruction, map point, nearest
        training images, the judge's reading, denoised/translated versions."""
        ex = runs.explorer(run)
        picture = decode_image(body.image)
        with ex.lock:
            x = ex.as_input(picture)
            out = ex.draw(x)
        neighbours = out.get("neighbours")
        return {"input": data_uri(x),
                **{key: data_uri(out.get(key)) for key in ("reconstruction", "noisy", "cleaned", "translated")},
                "point": plain(out.get("point")),
                "neighbours": [data_uri(t) for t in neighbours] if neighbours is not None else [],
                "neighbour_labels": plain(out.get("neighbour_labels") or []),
                "judge": plain(out.get("judge"))}

    @app.get("/api/compare")
    def compare(runs_: Annotated[str, Query(alias="runs", max_length=1000, description="a,b: 2 to 4 run names")],
                seed: Seed = 0, n: Annotated[int, Query(ge=1, le=16)] = 8):
        """The same prior seed and held-out inputs through 2 to 4 runs, side by side."""
        names = [name.strip() for name in runs_.split(",") if name.strip()]
        if not 2 <= len(names) <= 4:
            raise ConfigError(f"compare takes 2 to 4 runs (runs=a,b), got {len(names)}")
        if len(set(names)) != len(names):
            raise ConfigError("name each run once in runs=a,b")
        chosen = [runs.explorer(name) for name in names]
        with ExitStack() as stack:                 # one order for every request: no deadlock
            for ex in sorted({id(ex): ex for ex in chosen}.values(), key=lambda ex: ex.name):
                stack.enter_context(ex.lock)
            out = side_by_side(chosen, seed=seed, n=n)
        return {"inputs": data_uri(out["inputs"], nrow=n),
                "runs": {name: {"samples": data_uri(r.get("samples"), nrow=n),
                                "reconstructions": data_uri(r.get("reconstructions"), nrow=n),
                                "why_not": plain(r.get("why_not") or {})}
                         for name, r in out["runs"].items()}}

    @app.get("/api/runs/{run}/quiz")
    def quiz_round(run: Run):
        """A held-out or a generated image (½ each); the server keeps which, for the answer."""
        ex = runs.explorer(run)
        rng = runs.rng(run)
        with ex.lock:
            x, is_real = ex.quiz_round(rng)
        token = secrets.token_hex(8)
        runs.remember(run, token, bool(is_real))
        return {"round": token, "image": data_uri(x)}

    @app.post("/api/runs/{run}/quiz")
    def quiz_answer(run: Run, body: QuizAnswer):
        """Whether the guess was right; each round answers once."""
        runs.check(run)
        truth = "real" if runs.answer(run, body.round) else "generated"
        return {"correct": body.guess == truth, "truth": truth}

    # ------------------------------------------------------------------ training monitor
    @app.get("/api/runs/{run}/monitor")
    def monitor(run: Run):
        """The run's progress read from its folder: state, epoch, metrics, newest preview."""
        return plain(progress(runs.run_dir(run)))

    @app.get("/api/runs/{run}/preview.png", response_class=Response, responses=PNG_ANSWER)
    def preview(run: Run):
        """The newest per-epoch preview grid (404 before the first epoch ends)."""
        path = preview_path(runs.run_dir(run))
        try:
            content = path.read_bytes() if path is not None else None
        except OSError:                            # replaced between the listing and the read
            content = None
        if content is None:
            raise HTTPException(404, f"run {run!r} has no preview yet: one is written after each epoch")
        media = "image/jpeg" if path.suffix.lower() in (".jpg", ".jpeg") else "image/png"
        return Response(content, media_type=media, headers=NO_STORE)

    @app.get("/api/runs/{run}/events", response_class=StreamingResponse,
             responses={200: {"content": {"text/event-stream": {}}}})
    async def events(run: Run, request: Request):
        """Server-sent events: ``event: progress`` with the monitor's JSON whenever the run changes."""
        folder = runs.run_dir(run)
        return StreamingResponse(progress_events(folder, request, poll_interval, live),
                                 media_type="text/event-stream",
                                 headers={**NO_STORE, "X-Accel-Buffering": "no"})

    # ------------------------------------------------------------------ toy GAN
    @app.get("/api/toygan/options")
    def toygan_options():
        """The targets, losses and optimisers a toy GAN takes."""
        return toy_options()

    @app.post("/api/toygan")
    def toygan_new(body: Annotated[ToyNew, Body()] = None):
        """Start a toy GAN (the oldest of more than 8 is dropped): its id and first state."""
        body = body or ToyNew()
        game = ToyGAN(target=body.target, loss=body.loss, optimizer=body.optimizer, lr=body.lr, seed=body.seed)
        token = games.add(game)
        return {"id": token, "state": plain(game.state())}

    @app.post("/api/toygan/{game}/step")
    def toygan_step(game: Annotated[str, PathParam(max_length=64)], body: ToyStep):
        """Play ``steps`` rounds (D, G or both) and return the new state."""
        toy, lock = games.get(game)
        with lock:
            toy.step(body.player, body.steps)
            return plain(toy.state())

    @app.get("/api/toygan/{game}")
    def toygan_state(game: Annotated[str, PathParam(max_length=64)]):
        """The game's state: real and fake points, D's field, the losses."""
        toy, lock = games.get(game)
        with lock:
            return plain(toy.state())

    return app


__all__ = ["create_app", "plain", "Runs", "Games"]
