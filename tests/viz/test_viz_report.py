import base64
import io
import re

import numpy as np
import torch
from PIL import Image

from genlab.viz.plots import latent_scatter
from genlab.viz.report import Report


def _report(tmp_path):
    Image.new("L", (30, 10), 200).save(tmp_path / "preview.png")
    r = Report("VAE run <one>", subtitle="model vae & data mnist5k")
    r.section("Samples", "Generated <script>alert('x')</script> digits.")
    r.image(torch.rand(16, 1, 28, 28), caption="samples")
    r.image(Image.new("RGB", (40, 20)))
    r.image(latent_scatter(np.random.default_rng(0).normal(size=(40, 2))), caption="codes")
    r.image(tmp_path / "preview.png", caption="epoch 1")
    r.section("Config").table([{"key": "lr", "value": 1e-3}, {"key": "<b>", "value": 2}])
    r.table([[1, 2.5], ["a", None]], header=["x", "y"])
    r.text("first paragraph\n\nsecond & last").code("genlab train vae --epochs 5 > log")
    return r


def test_report_html_is_self_contained_and_escaped(tmp_path):
    html = _report(tmp_path).html()
    assert "<title>VAE run &lt;one&gt;</title>" in html and "model vae &amp; data mnist5k" in html
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in html
    assert "<script" not in html and 'src="http' not in html and "href=\"http" not in html
    srcs = re.findall(r'<img [^>]*src="([^"]+)"', html)
    assert len(srcs) == 4 and all(s.startswith("data:image/png;base64,") for s in srcs)
    for s in srcs:
        assert Image.open(io.BytesIO(base64.b64decode(s.split(",", 1)[1]))).format == "PNG"
    assert "image-rendering:pixelated" in html and 'class="pixels"' in html and 'class="plot"' in html
    assert "<th>key</th><th>value</th>" in html and "<td>&lt;b&gt;</td>" in html and ">0.001<" in html
    assert "<p>first paragraph</p>" in html and "<p>second &amp; last</p>" in html
    assert "<pre><code>genlab train vae --epochs 5 &gt; log</code></pre>" in html
    assert "<figcaption>samples</figcaption>" in html


def test_report_write(tmp_path):
    out = tmp_path / "run" / "report.html"
    assert _report(tmp_path).write(out) == out
    text = out.read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>") and text.rstrip().endswith("</html>")
    assert sorted(p.name for p in out.parent.iterdir()) == ["report.html"]


def test_gallery_puts_figures_in_one_row():
    html = Report("runs").gallery([(torch.rand(4, 1, 8, 8), "a: samples"), (Image.new("L", (20, 10)), "b <x>")]).html()
    row = re.search(r'<div class="gallery">(.*?)</div>', html).group(1)
    assert row.count("<figure>") == 2 and "<figcaption>a: samples</figcaption>" in row
    assert "<figcaption>b &lt;x&gt;</figcaption>" in row and ".gallery{display:flex" in html
