import base64

import numpy as np
import pytest
import torch
from matplotlib.figure import Figure

from genlab.viz.plots import (figure_data_uri, figure_to_png, histogram, interpolation_strip, latent_scatter,
                              manifold_grid, read_metrics_csv, training_curves)

# Lightning CSVLogger style: one row per log call, cells empty where a metric was not logged
CSV = """epoch,step,train/total_epoch,train/total_step,train/recon_epoch,train/kl_epoch,val/total,note
0,9,,3.0,,,,
0,19,,2.5,,,,
0,19,,,,,2.4,
0,19,2.8,,2.0,0.8,,x
1,29,,2.0,,,,
1,39,,,,,1.9,
1,39,2.1,,1.5,0.6,,
"""


@pytest.fixture
def metrics_csv(tmp_path):
    path = tmp_path / "metrics.csv"
    path.write_text(CSV)
    return path


def test_read_metrics_csv_keeps_non_empty_cells(metrics_csv):
    m = read_metrics_csv(metrics_csv)
    assert set(m) == {"train/total_epoch", "train/total_step", "train/recon_epoch", "train/kl_epoch", "val/total"}
    assert m["train/total_step"] == [(9.0, 3.0), (19.0, 2.5), (29.0, 2.0)]        # x = step
    assert m["train/total_epoch"] == [(0.0, 2.8), (1.0, 2.1)]                       # x = epoch
    assert m["train/kl_epoch"] == [(0.0, 0.8), (1.0, 0.6)]
    assert m["val/total"] == [(0.0, 2.4), (1.0, 1.9)]


def test_training_curves_group_the_losses_and_name_each_panel(metrics_csv):
    fig = training_curves(metrics_csv)
    assert isinstance(fig, Figure)
    assert [ax.get_title() for ax in fig.axes] == ["losses", "reconstruction loss ↓", "KL divergence"]
    assert all(ax.get_xlabel() == "epoch" for ax in fig.axes)
    total = fig.axes[0]
    assert {line.get_label() for line in total.get_lines()} == {"loss", "held-out loss"}
    assert len(training_curves(metrics_csv, names=["kl", "val/*"]).axes) == 2
    with pytest.raises(ValueError):
        training_curves(metrics_csv, names=["nonexistent"])


def test_training_curves_from_dict_and_single_epoch():
    fig = training_curves({"train/loss_step": [(1, 3.0), (2, 2.0), (3, 1.5)], "train/loss_epoch": [(0, 2.2)],
                           "train/kl_step": [(1, 0.1), (2, 0.2), (3, 0.3)]})
    assert len(fig.axes) == 2 and all(ax.get_xlabel() == "step" for ax in fig.axes)   # one epoch: per step
    assert len(training_curves({}).axes) == 1


def test_latent_scatter_2d_and_pca():
    rng = np.random.default_rng(0)
    labels = np.repeat(np.arange(10), 20)
    fig = latent_scatter(rng.normal(size=(200, 2)), labels)
    ax = fig.axes[0]
    assert ax.get_xlabel() == "z1" and ax.get_ylabel() == "z2"
    assert len(ax.get_legend().get_texts()) == 10
    z16 = rng.normal(size=(200, 16)) * np.linspace(3, 0.1, 16)
    ax16 = latent_scatter(torch.tensor(z16), torch.tensor(labels), title="codes").axes[0]
    assert ax16.get_xlabel().startswith("PC1 (") and ax16.get_xlabel().endswith("% var)")
    assert ax16.get_ylabel().startswith("PC2 (")
    assert len(latent_scatter(rng.normal(size=(50, 1))).axes) == 1                  # D = 1
    assert len(latent_scatter(rng.normal(size=(50, 2)), rng.random(50)).axes) == 2  # colourbar
    with pytest.raises(ValueError):
        latent_scatter(rng.normal(size=(50, 2)), labels)


def test_figure_output(tmp_path):
    fig = histogram({"layer1": np.random.randn(500), "layer2": np.random.randn(500) + 1}, bins=20, title="acts")
    assert len(fig.axes[0].get_legend().get_texts()) == 2
    path = figure_to_png(fig, tmp_path / "f" / "hist.png")
    assert path.read_bytes().startswith(b"\x89PNG") and [p.name for p in path.parent.iterdir()] == ["hist.png"]
    uri = figure_data_uri(fig)
    assert uri.startswith("data:image/png;base64,") and base64.b64decode(uri[22:]).startswith(b"\x89PNG")


def test_interpolation_strip_and_manifold_ticks():
    ax = interpolation_strip(torch.rand(5, 1, 8, 8), ts=[0, 0.25, 0.5, 0.75, 1]).axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["0", "0.25", "0.5", "0.75", "1"]
    xs, ys = np.linspace(-1, 1, 3), np.array([2.0, -2.0])
    ax = manifold_grid(torch.rand(6, 1, 8, 8), xs, ys).axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["-1", "0", "1"]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["2", "-2"]
    assert ax.get_xticks()[0] == pytest.approx(3.5) and ax.get_yticks()[1] == pytest.approx(11.5)  # cell centres
    with pytest.raises(ValueError):
        manifold_grid(torch.rand(5, 1, 8, 8), xs, ys)
