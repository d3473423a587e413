"""Report sections of the baselines and the masked autoencoder: masked / reconstructed / ground
truth (mae), the learned atoms (sparse-coding, psd), the mean and eigen-images (pca, gaussian)."""
from __future__ import annotations

import torch

from ...viz.grids import grid_image, labelled_rows
from . import per_class, section


@section("Masked reconstruction", needs=("data",), models=("mae",))
@torch.no_grad()
def mae_sections(report, model, data, run_dir) -> None:
    x = per_class(data, 10).x.to(model.device)
    masked, recon, mask = model.mask_and_reconstruct(x, torch.Generator().manual_seed(0))
    hidden = int(mask[0].sum())
    report.section("Masked reconstruction",
                   f"Each held-out image is cut into {mask[0].numel()} patches of {model.config.patch_size}×"
                   f"{model.config.patch_size} pixels and {hidden} of them ({model.config.mask_ratio:.0%}) are hidden "
                   "(grey); the encoder sees the rest, the decoder fills in the hidden ones, and the visible "
                   "patches are pasted back.")
    report.image(labelled_rows([masked.cpu(), recon.cpu(), x.cpu()], ["masked", "reconstructed", "ground truth"]))


@section("Dictionary atoms", needs=("decode", "data"), models=("sparse-coding", "psd"))
@torch.no_grad()
def atoms_section(report, model, data, run_dir) -> None:
    atoms = model.atoms().cpu()
    c = model.config
    where = f"{c.patch_size}×{c.patch_size} patches" if c.patch_size else "whole images"
    dc = ", zero-mean (brightness is coded apart)" if c.dc else ""
    report.section("Dictionary atoms",
                   f"The {len(atoms)} columns of the dictionary D learned on {where}, unit norm{dc}; grey is "
                   f"zero. Sparse codes use λ = {c.lam} ({c.solver}, {c.iterations} iterations).")
    report.image(grid_image(atoms, nrow=min(16, len(atoms))))
    x = per_class(data, 10).x.to(model.device)
    rows, labels = [x.cpu(), model.decode(model.sparse_code(x)).cpu()], ["original", "sparse code a*"]
    if model.registry_name == "psd":
        rows.append(model.reconstruct(x).cpu())
        labels.append("fast encoder")
    codes = model.sparse_code(x).view(len(x), -1, model.code_size)[..., :c.atoms]
    report.section("Sparse reconstructions",
                   f"x̂ = D a with {float((codes != 0).float().mean()):.1%} of the atoms' coefficients non-zero "
                   "(per tile)." + (" The last row decodes the encoder's one-step codes." if len(rows) > 2 else ""))
    report.image(labelled_rows(rows, labels))


@section("Mean and eigen-images", models=("pca", "gaussian"))
@torch.no_grad()
def eigen_section(report, model, data, run_dir) -> None:
    k = min(15, int(model.rank))
    ratio = model.explained_variance_ratio()
    share = float(ratio[:k].sum())
    report.section("Mean and eigen-images",
                   f"The mean image μ̂ and the top {k} eigenvectors of the training covariance (grey is zero), "
                   f"which together explain {share:.1%} of the variance; "
                   f"the first explains {float(ratio[0]):.1%}.")
    images = torch.cat([model.mean_image()[None].clamp(0, 1), model.eigen_images(k)]).cpu()
    report.image(grid_image(images, nrow=8))
