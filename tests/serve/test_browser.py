"""The explorer page in a real browser (Playwright driving Debian's chromium) against the live server.

Each test does what a user does (move a slider, draw a stroke, press play, guess) and checks what the
page shows afterwards: a new image's bytes, a point marked on the map, a growing point count, a score.
A screenshot of every test's final page goes to tests/serve/artifacts/ (git-ignored); with
GENLAB_SCREENSHOT=1 the map+draw view is also saved as docs/img/explorer.png for the docs.
"""
import os
import re
import shutil
from pathlib import Path

import pytest

CHROMIUM = os.environ.get("GENLAB_CHROMIUM") or shutil.which("chromium")
if not CHROMIUM:
    pytest.skip("no chromium found (install it, or set GENLAB_CHROMIUM to its path)", allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api")

from tests.serve.conftest import append_metrics

ARTIFACTS = Path(__file__).parent / "artifacts"
DOCS_SHOT = Path(__file__).parents[2] / "docs" / "img" / "explorer.png"


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield b
        b.close()


class Watch:
    """What went wrong while the page ran: console errors, script errors, failed or 4xx/5xx requests."""

    def __init__(self, page, base):
        self.console, self.failed, self.bad_status, self.dialogs, self.foreign = [], [], [], [], []
        # works offline: nothing is fetched from anywhere but the explorer itself (no CDN, no fonts)
        page.on("request", lambda r: r.url.startswith((base + "/", "data:", "blob:", "about:")) or self.foreign.append(r.url))
        page.on("console", lambda m: m.type == "error" and self.console.append(m.text))
        page.on("pageerror", lambda e: self.console.append(f"uncaught: {e}"))
        # an event stream or image the page itself dropped (closing the stream, replacing a src) is aborted, not failed
        page.on("requestfailed", lambda r: r.failure != "net::ERR_ABORTED" and self.failed.append(f"{r.url} {r.failure}"))
        page.on("response", lambda r: r.status >= 400 and self.bad_status.append(f"{r.status} {r.url}"))
        page.on("dialog", lambda d: (self.dialogs.append(d.message), d.dismiss()))

    def problems(self):
        return self.console + self.failed + self.bad_status + self.dialogs + self.foreign


@pytest.fixture
def page(browser, request, live_server):
    context = browser.new_context(viewport={"width": 1280, "height": 960})
    pg = context.new_page()
    pg.set_default_timeout(20_000)
    pg.watch = Watch(pg, live_server)
    yield pg
    ARTIFACTS.mkdir(parents=True, exist_ok=True)                # git-ignored
    try:
        pg.screenshot(path=str(ARTIFACTS / f"{request.node.name}.png"), full_page=True)
    finally:
        context.close()


def open_page(page, base, run="vae", tab=None):
    page.goto(f"{base}/#run={run}" + (f"&tab={tab}" if tab else ""))
    page.wait_for_function("window.genlab && window.genlab.ready")
    if tab:
        assert page.evaluate("window.genlab.tab") == tab


def wait_image(page, selector):
    page.wait_for_function("sel => { const i = document.querySelector(sel); "
                           "return !!(i && i.getAttribute('src') && i.complete && i.naturalWidth > 0); }", arg=selector)


def stroke(page, selector, points):
    """One pen stroke through canvas-relative points: mouse down at the first, up at the last."""
    box = page.locator(selector).bounding_box()
    (x0, y0), rest = points[0], points[1:]
    page.mouse.move(box["x"] + x0, box["y"] + y0)
    page.mouse.down()
    for x, y in rest:
        page.mouse.move(box["x"] + x, box["y"] + y)
    page.mouse.up()


# ---------------------------------------------------------------------------------------------- tests

def test_page_loads_every_panel_without_errors(page, live_server, served_runs):
    open_page(page, live_server)
    names = page.eval_on_selector_all("#runs option", "os => os.map(o => o.value)")
    assert set(served_runs) <= set(names) and "training" in names
    tabs = page.eval_on_selector_all("#tabs button", "bs => bs.map(b => b.dataset.tab)")
    assert tabs[:6] == ["samples", "map", "sliders", "interpolate", "draw", "quiz"]    # the 2-D vae offers all
    assert {"compare", "monitor", "toygan"} <= set(tabs)
    assert page.is_visible("#panel-samples") and not page.is_visible("#panel-map")   # one panel at a time
    wait_image(page, "#samples-img")
    # the samples image is shown scaled up by a whole factor, never smoothed
    w = page.eval_on_selector("#samples-img", "i => [i.naturalWidth, i.getBoundingClientRect().width]")
    assert w[1] >= 2 * w[0] and w[1] % w[0] == 0
    for tab, ready in [("map", "window.genlab.map"), ("sliders", "window.genlab.code"),
                       ("interpolate", "window.genlab.gallery"), ("quiz", "window.genlab.quiz.round"),
                       ("toygan", "window.genlab.toy.state")]:
        page.click(f"#tabs button[data-tab={tab}]")
        assert page.is_visible(f"#panel-{tab}") and page.evaluate("window.genlab.tab") == tab
        page.wait_for_function(f"!!({ready})")
    # a run without an encoder lists the panels it cannot offer, with the reasons
    page.select_option("#runs", "dcgan")
    unavailable = page.inner_text("#unavailable")
    why_not = page.evaluate("window.genlab.info.why_not")
    assert "map" in why_not and "Latent map" in unavailable
    assert all(reason in unavailable for reason in why_not.values())
    # an image-to-image model has no per-run panel: only the global ones (the open one stays open)
    page.select_option("#runs", "unet")
    assert page.eval_on_selector_all("#tabs button.run", "bs => bs.length") == 0
    assert page.is_visible("#panel-toygan")
    page.click("#tabs button[data-tab=monitor]")
    assert page.input_value("#monitor-run") == "unet"
    page.wait_for_function("window.genlab.monitor.progress && window.genlab.monitor.progress.state === 'finished'")
    wait_image(page, "#monitor-preview")
    assert page.eval_on_selector_all("#tabs button[data-tab=map]", "bs => bs.length") == 0
    page.wait_for_timeout(300)
    assert page.watch.problems() == []
    assert page.is_hidden("#error")


def test_moving_a_slider_decodes_a_new_image(page, live_server):
    open_page(page, live_server, "vae", "sliders")
    wait_image(page, "#slider-img")
    n = page.eval_on_selector_all("#sliders input.slider[type=range]", "s => s.length")
    assert n == page.evaluate("window.genlab.info.latent_dim") == 2
    before = page.get_attribute("#slider-img", "src")          # a data-URI: equal src = equal bytes
    slider = page.locator("#sliders input.slider").first
    lo, hi, value = float(slider.get_attribute("min")), float(slider.get_attribute("max")), float(slider.input_value())
    slider.fill(str(hi if value < (lo + hi) / 2 else lo))       # to the far end of its range
    page.wait_for_function("src => { const i = document.querySelector('#slider-img'); "
                           "return i.getAttribute('src') !== src && i.complete && i.naturalWidth > 0; }", arg=before)
    assert page.get_attribute("#slider-img", "src") != before
    assert page.watch.problems() == []


def test_a_drawn_stroke_is_reconstructed_and_marked_on_the_map(page, live_server):
    open_page(page, live_server, "vae", "draw")
    page.wait_for_function("!!window.genlab.map")
    assert page.is_visible("#map-canvas")                       # the map sits beside the drawing
    stroke(page, "#draw-canvas", [(80 + 10 * i, 140 + 3 * i) for i in range(13)])   # a "-" across
    page.wait_for_function("!!window.genlab.drawPoint")
    wait_image(page, "#draw-reconstruction")
    # clearing forgets the drawing and its point
    page.click("#draw-clear")
    assert page.evaluate("[window.genlab.drawPoint, window.genlab.drawImage]") == [None, None]
    assert page.get_attribute("#draw-reconstruction", "src") is None
    stroke(page, "#draw-canvas", [(150 - i, 50 + 15 * i) for i in range(13)])   # a "1" down the middle
    page.wait_for_function("!!window.genlab.drawPoint")
    wait_image(page, "#draw-reconstruction")
    point = page.evaluate("window.genlab.drawPoint")
    assert len(point) == 2 and all(isinstance(c, (int, float)) for c in point)
    assert page.eval_on_selector_all("#draw-neighbours img", "is => is.length") >= 1
    assert re.fullmatch(r"judge: \S+ \(\d+%\)", page.inner_text("#draw-judge"))
    # the marker (an orange star) is drawn on the map canvas where the drawing's code lies
    rgb = page.evaluate("""() => { const [x, y] = window.genlab.mapToCanvas(...window.genlab.drawPoint);
        const c = document.querySelector('#map-canvas');
        return Array.from(c.getContext('2d').getImageData(Math.round(x), Math.round(y), 1, 1).data.slice(0, 3)); }""")
    assert abs(rgb[0] - 0xE8) < 30 and abs(rgb[1] - 0x59) < 30 and abs(rgb[2] - 0x0C) < 30, rgb
    if os.environ.get("GENLAB_SCREENSHOT") == "1":
        DOCS_SHOT.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(DOCS_SHOT), full_page=True)
    # the drawing is then offered as an interpolation end
    page.click("#tabs button[data-tab=interpolate]")
    page.wait_for_function("document.querySelectorAll('#interp-a option').length > 1")
    assert page.eval_on_selector("#interp-a option[value=drawing]", "o => o.disabled") is False
    page.click("#tabs button[data-tab=draw]")
    assert page.watch.problems() == []


def test_an_uploaded_picture_is_reconstructed(page, live_server):
    import io

    from PIL import Image, ImageDraw

    picture = Image.new("L", (64, 64), 0)
    ImageDraw.Draw(picture).ellipse([14, 8, 50, 56], outline=255, width=6)     # a "0", as a file
    buffer = io.BytesIO()
    picture.save(buffer, "PNG")
    open_page(page, live_server, "vae", "draw")
    page.set_input_files("#draw-upload", files=[{"name": "zero.png", "mimeType": "image/png",
                                                  "buffer": buffer.getvalue()}])
    page.wait_for_function("!!window.genlab.drawPoint")
    wait_image(page, "#draw-reconstruction")
    assert page.evaluate("window.genlab.drawImage").startswith("data:image/png;base64,")   # the file as sent
    # the picture is shown on the canvas: its centre column holds the ring's white pixels
    lit = page.evaluate("""() => { const c = document.querySelector('#draw-canvas');
        const d = c.getContext('2d').getImageData(c.width / 2, 0, 1, c.height).data;
        let n = 0; for (let i = 0; i < d.length; i += 4) n += d[i] > 128; return n; }""")
    assert lit > 0
    assert page.watch.problems() == []


def test_an_autoregressive_run_completes_an_image(page, live_server):
    open_page(page, live_server, "pixelcnn", "complete")
    tabs = page.eval_on_selector_all("#tabs button.run", "bs => bs.map(b => b.dataset.tab)")
    assert "complete" in tabs and "map" not in tabs
    page.fill("#complete-samples", "3")
    page.click("#complete-go")
    wait_image(page, "#complete-img")
    w, h = page.eval_on_selector("#complete-img", "i => [i.naturalWidth, i.naturalHeight]")
    assert (w, h) == (5 * 30 + 2, 30 + 2)                       # original, given, 3 completions
    assert page.inner_text("#complete-status") == ""
    assert page.watch.problems() == []


def test_interpolation_strip_appears(page, live_server):
    open_page(page, live_server, "vae", "interpolate")
    page.wait_for_function("document.querySelectorAll('#interp-a option').length > 1")
    page.select_option("#interp-mode", "spherical")
    page.fill("#interp-steps", "6")
    page.click("#interp-go")
    wait_image(page, "#interp-strip")
    w, h = page.eval_on_selector("#interp-strip", "i => [i.naturalWidth, i.naturalHeight]")
    assert w >= 6 * h * 0.9 > 0                                 # one row of 6 images
    assert page.watch.problems() == []


def test_training_monitor_plots_a_new_point(page, live_server, training_run):
    open_page(page, live_server, "training", "monitor")         # a run without weights: monitor only
    assert page.eval_on_selector_all("#tabs button.run", "bs => bs.length") == 0
    count = "(parseInt(document.querySelector('#monitor-points').textContent) || 0)"
    page.wait_for_function(f"{count} >= 2")
    before = page.evaluate(count)
    assert page.inner_text("#monitor-state") in ("waiting", "training")
    last = page.evaluate("Math.max(...window.genlab.monitor.progress.metrics['train/loss_step'].map(p => p[0]))")
    append_metrics(training_run, int(last) + 10, 180.0)
    page.wait_for_function(f"{count} > {before}", timeout=15_000)
    assert re.fullmatch(r"\d+ points", page.inner_text("#monitor-points"))
    assert page.watch.problems() == []


def test_toy_gan_steps_while_playing_and_stops_on_pause(page, live_server):
    open_page(page, live_server, "vae", "toygan")
    page.wait_for_function("!!window.genlab.toy.state")
    steps = "(parseInt(document.querySelector('#toy-step-count').textContent.replace(/^\\D+/, '')))"
    assert page.evaluate(steps) == 0
    page.click("#toy-play")
    page.wait_for_function(f"{steps} >= 10")
    page.click("#toy-pause")
    page.wait_for_function("!window.genlab.toy.playing")
    page.wait_for_timeout(400)                                  # the request in flight lands
    settled = page.evaluate(steps)
    page.wait_for_timeout(400)
    assert page.evaluate(steps) == settled >= 10                # paused: no more steps
    page.click("#toy-step-g")                                   # a single G step
    page.wait_for_function(f"{steps} == {settled + 1}")
    assert page.watch.problems() == []


def test_quiz_score_counts_guesses(page, live_server):
    open_page(page, live_server, "vae", "quiz")
    assert page.inner_text("#quiz-score") == "0 / 0 right (chance: 50%)"
    page.wait_for_function("!!window.genlab.quiz.round")
    wait_image(page, "#quiz-img")
    first = page.evaluate("window.genlab.quiz.round")
    page.click("#quiz-real")
    page.wait_for_function("document.querySelector('#quiz-score').textContent.includes('/ 1 right')")
    score = page.inner_text("#quiz-score")
    assert re.fullmatch(r"[01] / 1 right \(chance: 50%\)", score)
    feedback = page.inner_text("#quiz-feedback")                # "right: that one was real", or "wrong: ..."
    assert re.fullmatch(r"(right|wrong): that one was (real|generated)", feedback)
    assert score.startswith("1 /") == feedback.startswith("right")
    assert feedback.endswith("real") == feedback.startswith("right")   # the guess was "real"
    page.wait_for_function("r => window.genlab.quiz.round && window.genlab.quiz.round !== r", arg=first)
    page.click("#quiz-generated")
    page.wait_for_function("document.querySelector('#quiz-score').textContent.includes('/ 2 right')")
    assert page.watch.problems() == []


def test_compare_shows_runs_side_by_side(page, live_server):
    open_page(page, live_server, "vae", "compare")
    for box in page.query_selector_all("#compare-runs input"):
        box.set_checked(box.get_attribute("value") in ("vae", "dcgan"))
    page.click("#compare-go")
    page.wait_for_function("document.querySelectorAll('#compare-out .run').length === 3")
    titles = page.eval_on_selector_all("#compare-out h3", "hs => hs.map(h => h.textContent)")
    assert titles == ["held-out inputs", "vae", "dcgan"]
    # the dcgan has no encoder: its reconstructions say why instead of showing an image
    assert page.eval_on_selector_all("#compare-out .run:nth-child(3) img", "is => is.length") == 1
    assert page.watch.problems() == []


def test_an_api_error_is_one_line_in_the_page(page, live_server):
    open_page(page, live_server, "vae", "quiz")
    page.wait_for_function("!!window.genlab.quiz.round")
    page.evaluate("window.genlab.quiz.round = 'no-such-round'")   # a token the server never issued
    page.click("#quiz-real")
    page.wait_for_selector("#error:not([hidden])")
    text = page.inner_text("#error-text")
    assert text and "\n" not in text
    assert page.watch.dialogs == []                             # never an alert()
    assert page.inner_text("#quiz-score") == "0 / 0 right (chance: 50%)"   # a failed guess is not scored
    page.wait_for_function("!!window.genlab.quiz.round")        # and a new round is ready


def test_a_cyclegan_and_a_stargan_translate_a_held_out_image(page, live_server):
    open_page(page, live_server, "cyclegan", "translate")
    tabs = page.eval_on_selector_all("#tabs button.run", "bs => bs.map(b => b.dataset.tab)")
    assert tabs == ["draw", "translate"]
    options = page.eval_on_selector_all("#translate-to option", "os => os.map(o => o.value)")
    assert options == ["", "digits", "mnist"] and page.is_hidden("#translate-attributes")
    page.select_option("#translate-to", "mnist")
    page.click("#translate-go")
    wait_image(page, "#translate-img")
    size = page.eval_on_selector("#translate-img", "i => [i.naturalWidth, i.naturalHeight]")
    assert size == [3 * 30 + 2, 30 + 2]                          # input | translated | back
    first = page.get_attribute("#translate-img", "src")
    page.select_option("#translate-to", "digits")
    page.click("#translate-go")
    page.wait_for_function("src => document.querySelector('#translate-img').getAttribute('src') !== src", arg=first)
    # a stargan: one box of exclusive checkboxes per attribute group
    page.select_option("#runs", "stargan")
    page.click("#tabs button[data-tab=translate]")
    assert page.is_visible("#translate-attributes") and page.is_hidden("#translate-to-wrap")
    legends = page.eval_on_selector_all("#translate-attributes legend", "ls => ls.map(l => l.textContent)")
    assert legends == ["thin / normal / thick", "upright / tilted", "plain / inverted"]
    page.check("#translate-attributes input[value=thin]")
    page.check("#translate-attributes input[value=thick]")      # ticking thick unticks thin
    page.check("#translate-attributes input[value=inverted]")
    checked = page.eval_on_selector_all("#translate-attributes input:checked", "cs => cs.map(c => c.value)")
    assert checked == ["thick", "inverted"]
    page.select_option("#translate-source", index=3)
    page.click("#translate-go")
    wait_image(page, "#translate-img")
    assert page.eval_on_selector("#translate-img", "i => [i.naturalWidth, i.naturalHeight]") == [3 * 10 + 2, 12]
    assert page.watch.problems() == [] and page.is_hidden("#error")
