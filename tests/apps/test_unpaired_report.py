"""The report sections of cyclegan and stargan (genlab.apps.sections.unpaired): the round-trip grids,
the cycle error mean |back − x| and the identity error mean |G(b) − b|, |F(a) − a| recomputed here
from the loaded model's own networks, the per-target grid and errors of stargan, the adversarial
terms read back from metrics.csv, and the reasons a section is not offered."""
import csv
import html
import re

import pytest
import torch

import genlab
from genlab.apps import sections
from genlab.apps.report import build_report
from genlab.apps.sections import unpaired as sec
from genlab.data import ImageData, load_data

pytestmark = pytest.mark.usefixtures("one_thread")

FAMILY = {"Unpaired translation", "Multi-domain translation", "Adversarial losses"}


def _by_domain(data, n):
    """The first ``n`` images of each domain."""
    return data.subset(torch.cat([(data.domain == k).nonzero().flatten()[:n] for k in (0, 1)]))


@pytest.fixture(scope="module")
def cyclegan_run(tmp_path_factory):
    torch.manual_seed(0)
    train = _by_domain(load_data("digits2mnist", "train", image_size=16), 16)
    held = _by_domain(load_data("digits2mnist", "test", image_size=16), 10)
    model = genlab.create("cyclegan", data=train, seed=0, width=4, blocks=1, d_width=8, patch=16)
    run = tmp_path_factory.mktemp("cyclegan") / "run"
    genlab.train(model, train, epochs=1, batch_size=16, out=run, progress=False)
    return run, genlab.load(run).eval(), held


@pytest.fixture(scope="module")
def stargan_run(tmp_path_factory):
    torch.manual_seed(0)
    train = load_data("attributes:digits", "train", image_size=16).spread(32)
    held = load_data("attributes:digits", "test", image_size=16).spread(12)
    model = genlab.create("stargan", data=train, seed=0, g_width=4, g_blocks=1, g_downs=1, d_width=4, d_layers=2,
                          d_steps=1)
    run = tmp_path_factory.mktemp("stargan") / "run"
    genlab.train(model, train, epochs=1, batch_size=16, out=run, progress=False)
    return run, genlab.load(run).eval(), held


def _sections(page: str) -> dict[str, str]:
    """heading -> the HTML between it and the next heading."""
    parts = re.split(r"<h2[^>]*>(.*?)</h2>", page)
    return {html.unescape(parts[i]): parts[i + 1] for i in range(1, len(parts), 2)}


def _table(block: str) -> list[dict]:
    """The first table of an HTML block as rows of {header: cell text}."""
    table = re.search(r"<table>(.*?)</table>", block, re.DOTALL).group(1)
    header = [html.unescape(h) for h in re.findall(r"<th>(.*?)</th>", table)]
    body = re.findall(r"<tr>(.*?)</tr>", table.split("<tbody>")[1], re.DOTALL)
    return [dict(zip(header, [html.unescape(c) for c in re.findall(r"<td[^>]*>(.*?)</td>", row)])) for row in body]


def _images(block: str) -> int:
    return len(re.findall(r"<img ", block))


# ------------------------------------------------------------------------------------------ cyclegan

def test_cyclegan_report_shows_both_round_trips_with_the_errors_of_its_networks(cyclegan_run):
    run, model, held = cyclegan_run
    page = _sections(build_report(run, data=held, model=model).read_text())
    assert "Unpaired translation" in page and "Multi-domain translation" not in page
    block = page["Unpaired translation"]
    assert _images(block) == 2
    text = html.unescape(block)
    assert "digits → mnist → digits" in text and "mnist → digits → mnist" in text

    a, b = held.x[held.domain == 0], held.x[held.domain == 1]
    G, F = model.generator_ab, model.generator_ba
    unit = lambda s: ((s + 1) / 2).clamp(0, 1)
    err = lambda u, v: float((u - v).abs().mean())
    with torch.no_grad():
        g_a, f_b = unit(G(a * 2 - 1)), unit(F(b * 2 - 1))
        # (cycle error, identity error of the row's generator): F(G(a)) vs a with G(b) vs b; G(F(b)) vs b with F(a) vs a
        expected = {"digits": (err(unit(F(g_a * 2 - 1)), a), err(unit(G(b * 2 - 1)), b)),
                    "mnist": (err(unit(G(f_b * 2 - 1)), b), err(unit(F(a * 2 - 1)), a))}
    rows = _table(block)
    assert [r["round trip"] for r in rows] == ["digits → mnist → digits", "mnist → digits → mnist"]
    for row, source in zip(rows, ("digits", "mnist")):
        cycle, identity = expected[source]
        assert row["images"] == "10"
        assert float(row["cycle error"]) == pytest.approx(cycle, abs=6e-5)
        assert float(row["identity error"]) == pytest.approx(identity, abs=6e-5)
    assert rows[0]["identity of"].startswith("G: digits → mnist") and rows[1]["identity of"].startswith("F:")

    # the figures themselves, at full precision; and the 8 images drawn of each domain
    trips = sec.domain_round_trips(model, held)
    assert [t["cycle_error"] for t in trips] == pytest.approx([expected["digits"][0], expected["mnist"][0]], rel=1e-5)
    identities = [expected["digits"][1], expected["mnist"][1]]
    assert [t["identity_error"] for t in trips] == pytest.approx(identities, rel=1e-5)
    assert all(len(t["shown"]) == 8 and t["translated"].shape == t["x"].shape for t in trips)
    assert torch.allclose(trips[0]["translated"], g_a, atol=1e-6)


def test_cyclegan_errors_are_taken_over_at_most_n_eval_images_and_one_domain_alone_is_shown(cyclegan_run):
    _, model, held = cyclegan_run
    trips = sec.domain_round_trips(model, held, n=3, n_eval=4)
    assert [t["n"] for t in trips] == [4, 4] and [len(t["shown"]) for t in trips] == [3, 3]
    picked = held.subset((held.domain == 0).nonzero().flatten()).spread(4).x
    assert torch.equal(trips[0]["x"], picked)
    only_b = held.subset((held.domain == 1).nonzero().flatten())
    trips = sec.domain_round_trips(model, only_b)
    assert [(t["source"], t["target"]) for t in trips] == [("mnist", "digits")]
    assert trips[0]["identity_n"] == 0 and trips[0]["identity_error"] != trips[0]["identity_error"]   # NaN: no a


def test_domain_names_of_the_data_are_matched_to_the_models(cyclegan_run):
    _, model, held = cyclegan_run
    swapped = ImageData(held.x, domain=1 - held.domain, meta={"domains": ["mnist", "digits"]}, name="swapped")
    assert torch.equal(sec.domains_of(model, swapped), held.domain)


def test_the_cyclegan_section_is_not_offered_without_domains_and_says_why(cyclegan_run):
    _, model, held = cyclegan_run
    entry = next(s for s in sections.page(model) if s.title == "Unpaired translation")
    assert entry.applies(model, held)
    plain = ImageData(held.x, name="plain")
    assert entry.unmet(model, plain) is sec.DOMAINS
    assert "domains:SPEC_A,SPEC_B" in sec.DOMAINS.reason(model, plain)
    other = ImageData(held.x, domain=held.domain, meta={"domains": ["horse", "zebra"]}, name="other")
    assert entry.unmet(model, other) is sec.DOMAINS
    assert "digits, mnist" in sec.DOMAINS.reason(model, other) and "horse, zebra" in sec.DOMAINS.reason(model, other)
    assert not any(s.title == "Multi-domain translation" for s in sections.page(model))


def test_adversarial_losses_are_the_columns_of_metrics_csv(cyclegan_run):
    run, model, held = cyclegan_run
    rows = sec.game_rows(run / "metrics.csv", "cyclegan")
    with open(run / "metrics.csv", newline="") as f:
        last = [r for r in csv.DictReader(f) if r.get("train/generators_cycle_epoch")][-1]
    assert len(rows) == 1 and rows[0]["epoch"] == 1
    assert rows[0]["cycle"] == pytest.approx(float(last["train/generators_cycle_epoch"]))
    assert rows[0]["D_B(G(a))"] == pytest.approx(float(last["train/discriminator_b_d_fake_epoch"]))
    page = _sections(build_report(run, data=held, model=model).read_text())
    assert list(page).index("Adversarial losses") == list(page).index("Training curves") + 1
    assert float(_table(page["Adversarial losses"])[0]["identity"]) == pytest.approx(
        float(last["train/generators_identity_epoch"]), rel=1e-3)


# ------------------------------------------------------------------------------------------ stargan

def test_stargan_report_has_one_row_per_target_and_the_cycle_error_back_to_the_source(stargan_run):
    run, model, held = stargan_run
    page = _sections(build_report(run, data=held, model=model).read_text())
    assert "Multi-domain translation" in page and "Unpaired translation" not in page
    block = page["Multi-domain translation"]
    assert _images(block) == 1
    names = list(model.config.attributes)
    rows = _table(block)
    assert [r["target"] for r in rows] == [f"→ {a}" for a in names] + ["all"]

    x, own = held.x, held.attributes.float()
    errors = []
    with torch.no_grad():
        for k, name in enumerate(names):
            c = model.attribute_vector([name], base=own)
            fake = model.generator(x * 2 - 1, c)
            back = ((model.generator(((fake + 1) / 2).clamp(0, 1) * 2 - 1, own) + 1) / 2).clamp(0, 1)
            errors.append(float((back - x).abs().mean()))
            assert float(rows[k]["cycle error"]) == pytest.approx(errors[-1], abs=6e-5)
            assert rows[k]["already had it"] == f"{float(own[:, k].mean()):.1%}"
            assert rows[k]["images"] == "12"
    assert float(rows[-1]["cycle error"]) == pytest.approx(sum(errors) / len(errors), abs=6e-5)

    trips = sec.attribute_round_trips(model, held)
    assert [t["cycle_error"] for t in trips["targets"]] == pytest.approx(errors, rel=1e-4)
    assert len(trips["shown"]) == 8 and all(t["translated"].shape == x.shape for t in trips["targets"])
    # "D_cls reads it after": the share of translations the model's classifier reads as the target
    k = names.index("inverted")
    seen = model.read_attributes(trips["targets"][k]["translated"])
    assert trips["targets"][k]["reached"] == pytest.approx(float(seen[:, k].mean()))


def test_the_stargan_section_is_not_offered_without_the_runs_attributes(stargan_run):
    run, model, held = stargan_run
    entry = next(s for s in sections.page(model) if s.title == "Multi-domain translation")
    assert entry.applies(model, held)
    plain = ImageData(held.x, name="plain")
    assert entry.unmet(model, plain) is sec.ATTRIBUTES and "attributes:SPEC" in sec.ATTRIBUTES.reason(model, plain)
    renamed = ImageData(held.x, attributes=held.attributes, meta={**held.meta, "attributes": list("abcdefg")})
    assert entry.unmet(model, renamed) is sec.ATTRIBUTES
    rows = sec.game_rows(run / "metrics.csv", "stargan")
    assert {"D_src(x)", "W estimate", "L_rec", "L_cls^r"} <= set(rows[0])
    assert rows[0]["W estimate"] == pytest.approx(rows[0]["D_src(x)"] - rows[0]["D_src(G(x, c))"], abs=1e-4)


# ------------------------------------------------------------------------------------------ other models

def test_a_vae_report_has_none_of_these_sections(trained_runs, tmp_path, small):
    assert not FAMILY & {s.title for s in sections.page("vae")}
    assert FAMILY - {"Multi-domain translation"} <= {s.title for s in sections.page("cyclegan")}
    run = trained_runs.copy("vae", tmp_path)
    headings = set(_sections(build_report(run, data=small[1]).read_text()))
    assert "Reconstructions" in headings and not FAMILY & headings
