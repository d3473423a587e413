"""Training curves: a few panels by what they show, display names, epochs counted from 1."""
import pytest

from genlab.train.diagnostics import Thresholds
from genlab.train.names import display, fmt
from genlab.viz.plots import training_curves

GAN_COLUMNS = ["train/discriminator_loss_epoch", "train/generator_loss_epoch", "val/discriminator_loss",
               "train/discriminator_d_real_epoch", "train/discriminator_d_fake_epoch",
               "train/discriminator_grad_norm_epoch", "train/generator_grad_norm_epoch",
               "diag/duplicate_rate_epoch", "diag/classes_covered_epoch", "diag/classes_found_epoch",
               "diag/class_entropy_epoch", "diag/class_kl_uniform_epoch", "diag/mode_collapse_epoch",
               "diag/vanishing_gradient_epoch"]


@pytest.fixture
def gan_csv(tmp_path):
    """A GAN's metrics.csv as Lightning writes it: epochs from 0, one row per log call."""
    lines = ["epoch,step," + ",".join(GAN_COLUMNS)]
    for e in range(3):
        values = [1.0 - 0.1 * e, 2.0 + 0.1 * e, 1.1, 0.8, 0.2, 3.0, 5.0 - e, 0.2 * e, 10 - e, 10, 2.3, 0.0, 0, 0]
        lines.append(f"{e},{10 * e + 9}," + ",".join(str(v) for v in values))
    path = tmp_path / "metrics.csv"
    path.write_text("\n".join(lines) + "\n")
    return path


def panels(fig):
    # the diagnostics panel's right-hand axis (classes covered) has no title of its own
    return {ax.get_title(): ax for ax in fig.axes if ax.get_title()}


def test_gan_curves_are_four_named_panels_counted_from_epoch_one(gan_csv):
    fig = training_curves(gan_csv)
    shown = panels(fig)
    assert list(shown) == ["losses", "D(x) and D(G(z))", "gradient norms", "diagnostics: coverage and near-duplicates"]
    losses = {line.get_label(): line for line in shown["losses"].get_lines()}
    assert set(losses) == {"D loss", "G loss", "held-out D loss"}           # train and held-out on one panel
    assert list(losses["D loss"].get_xdata()) == [1, 2, 3]                   # Lightning's epoch 0 is epoch 1
    assert all(ax.get_xlabel() == "epoch" for ax in shown.values())
    assert {line.get_label() for line in shown["D(x) and D(G(z))"].get_lines()} == {"D(x)", "D(G(z))"}
    assert shown["gradient norms"].get_yscale() == "log"
    diag = shown["diagnostics: coverage and near-duplicates"]
    labels = {line.get_label(): line for line in diag.get_lines()}
    warning = labels["near-duplicate warning level"]
    assert list(warning.get_ydata()) == [Thresholds().max_duplicate_rate] * 2
    assert "near-duplicates" in labels and "diag/mode_collapse_epoch" not in str(labels)
    twin = [ax for ax in fig.axes if not ax.get_title()]
    assert len(twin) == 1 and twin[0].get_ylabel() == "classes covered"
    assert [line.get_label() for line in twin[0].get_lines()] == ["classes covered"]
    # no raw key left in any title or legend
    text = " ".join([ax.get_title() for ax in fig.axes] + [l.get_label() for ax in fig.axes for l in ax.get_lines()])
    assert "/" not in text.replace("D(G(z))", "") and "_" not in text


def test_autoencoder_curves_keep_loss_terms_apart_with_names(tmp_path):
    path = tmp_path / "metrics.csv"
    path.write_text("epoch,step,train/loss_epoch,train/recon_epoch,train/kl_epoch,val/loss\n"
                    "0,9,3.0,2.5,0.5,3.2\n1,19,2.0,1.6,0.4,2.1\n")
    shown = panels(training_curves(path))
    assert list(shown) == ["losses", "reconstruction loss ↓", "KL divergence"]
    assert {line.get_label() for line in shown["losses"].get_lines()} == {"loss", "held-out loss"}
    held_out = next(line for line in shown["losses"].get_lines() if line.get_label() == "held-out loss")
    assert held_out.get_linestyle() == "--" and list(held_out.get_xdata()) == [1, 2]


def test_display_names_and_no_negative_zero():
    assert display("val/loss").title == "held-out loss ↓"
    assert display("train/discriminator_d_fake_epoch").label == "D(G(z))"
    assert display("diag/duplicate_rate_epoch").title == "near-duplicates ↓"
    assert display("train/discriminator_acc_real_epoch").label == "acc real (D)"      # unknown keys read too
    assert display("d_real").label == "D(x)"                                         # diagnostics' short keys
    assert fmt(-0.0, ".4f") == "0.0000" and fmt(-1e-9, "12.4f") == "      0.0000"
    assert fmt(-0.0004, ".1%") == "0.0%" and fmt(-2.5) == "-2.5" and fmt(-1e-5) == "-1e-05"
    assert fmt(None) == "n/a" and fmt(float("nan")) == "n/a"
