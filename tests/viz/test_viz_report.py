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


# --------------------------------------------------------------------------- the run report's declared sections

def _headings(html: str) -> list[str]:
    return re.findall(r"<h2[^>]*>(.*?)</h2>", html)


def _run(tmp_path, name, data, spec="mnist5k", **config):
    import genlab
    from genlab import runs

    model = genlab.create(name, data=data, **config).eval()
    runs.write_config(tmp_path / name, model, {"spec": spec}, {"epochs": 0})
    return model, tmp_path / name


def test_a_declared_section_is_drawn_exactly_for_models_that_can_encode(small, tmp_path, monkeypatch):
    import genlab
    from genlab.apps import sections
    from genlab.apps.report import build_report
    from genlab.registry import names

    _, test = small
    drawn = []

    def draw(report, model, data, run_dir):
        drawn.append(model.registry_name)
        report.section("Fake codes", f"{len(data)} images")

    sections.load_families()           # before the list is swapped: the families' declarations stay
    fake = sections.Section("Fake codes", draw, needs=("encode",))
    by_class = sections.Section("Fake classes", draw, label_space="classes")
    monkeypatch.setattr(sections, "SECTIONS", [*sections.SECTIONS, fake, by_class])

    encoders = []
    for name in names():
        model = genlab.create(name)
        assert fake in sections.page(model)                      # declared for any model ...
        assert fake.applies(model, test) == model.can("encode")  # ... drawn only where it can encode
        encoders += [name] if fake.applies(model, test) else []
    assert {"ae", "vae", "pca", "cvae"} <= set(encoders) and not {"gan", "dcgan", "cgan", "infogan"} & set(encoders)
    # a label space of kind "classes": the class-conditional models, not infogan's code
    assert by_class.applies(genlab.create("cvae"), test) and by_class.applies(genlab.create("cgan"), test)
    assert not by_class.applies(genlab.create("infogan"), test) and not by_class.applies(genlab.create("vae"), test)

    ae, ae_dir = _run(tmp_path, "conv-ae", test)
    gan, gan_dir = _run(tmp_path, "gan", test)
    html_ae = build_report(ae_dir, data=test, model=ae).read_text()
    html_gan = build_report(gan_dir, data=test, model=gan).read_text()
    assert drawn == ["conv-ae"]
    assert "Fake codes" in _headings(html_ae) and "Fake codes" not in _headings(html_gan)
    # between the image sections and the evaluation, in page order
    assert _headings(html_ae)[:5] == ["Configuration", "Reconstructions", "Latent space", "Interpolation",
                                      "Latent manifold"]
    assert _headings(html_ae)[5] == "Fake codes"
    assert _headings(html_gan)[:3] == ["Configuration", "Samples", "Latent manifold"]


def test_report_sections_follow_the_page_order_and_skip_what_needs_missing_data(small, tmp_path):
    from genlab.apps.report import build_report

    _, test = small
    vae, vae_dir = _run(tmp_path, "vae", test, latent_dim=2)
    html = build_report(vae_dir, data=test, model=vae).read_text()
    assert _headings(html) == ["Configuration", "Reconstructions", "Samples", "Latent space", "Interpolation",
                               "Latent manifold"]
    assert "Morphing through several digits" in html and "seed 0" not in html
    # data that cannot be loaded: one note, the sections of held-out images are left out, samples stay
    vae, gone = _run(tmp_path / "gone", "vae", test, spec="npz:" + str(tmp_path / "missing.npz"), latent_dim=2)
    html = build_report(gone, model=vae).read_text()
    assert html.count("Held-out data could not be loaded") == 1
    assert _headings(html) == ["Configuration", "Samples"]


def test_family_sections_are_found_by_name_and_class():
    from genlab.apps import sections
    from genlab.apps.sections.gan import gan_training
    from genlab.apps.sections.vae_family import cvae_restyle, cvae_sections

    assert sections.sections_for("cvae") == [cvae_sections, cvae_restyle]
    assert gan_training in sections.sections_for("infogan") and gan_training not in sections.sections_for("vae")
    assert sections.sections_for("conv-ae") == []
