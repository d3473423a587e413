"""Report sections of the VAE family: digits on demand and restyling (cvae), the codebook and
sampling through an autoregressive prior over the code maps (vq-vae: k ~ p_θ(k), x = G(e_k), beside
uniform codes), the codes against the prior (wae)."""
from __future__ import annotations

import math
from pathlib import Path

import torch
import torch.nn.functional as F

from ...data.batches import batched
from ...viz.grids import labelled_rows
from ..needs import Need
from . import label_names, per_class, section


@section("Digits on demand", needs=("sample", "data"), models=("cvae",), label_space="classes")
@torch.no_grad()
def cvae_sections(report, model, data, run_dir) -> None:
    names = label_names(model, data)
    k, per_row = model.label_space.size, 10
    torch.manual_seed(0)
    y = torch.arange(k).repeat_interleave(per_row)
    images = model.sample(len(y), y=y).cpu().view(k, per_row, *model.image_shape)
    report.section("Digits on demand", f"Row = requested class: {per_row} samples each, z ~ N(0, I), "
                   "decoded with that label.")
    report.image(labelled_rows(list(images), names, min_cell=48))


@section("Restyle", needs=("labels",), models=("cvae",), label_space="classes")
@torch.no_grad()
def cvae_restyle(report, model, data, run_dir) -> None:
    names = label_names(model, data)
    k = model.label_space.size
    # the first held-out image of a few different classes, each redrawn as every class
    firsts = [int((data.y == c).nonzero()[0, 0]) for c in range(k) if (data.y == c).any()][:: max(1, k // 3)][:3]
    rows, labels = [], []
    for i in firsts:
        x = data.x[i:i + 1].to(model.device)
        own = int(data.y[i])
        restyled = model.restyle(x.expand(k, *x.shape[1:]), own, torch.arange(k)).cpu()
        rows.append(torch.cat([x.cpu(), restyled]))
        labels.append(f"a {names[own]} as " + ("0…9" if k == 10 else "each class"))
    report.section("Restyle", "First column: a held-out image; then the same code z = μ(x, its own label) "
                   "decoded with every label in turn: the digit changes, the handwriting style stays.")
    report.image(labelled_rows(rows, labels))


def _code_colours(indices: torch.Tensor, num_codes: int, size: tuple[int, int]) -> torch.Tensor:
    """An N×h×w index grid as N×3×H×W colours (one colour per code), upscaled to the image size."""
    from matplotlib import colormaps

    palette = torch.tensor(colormaps["turbo"](torch.linspace(0, 1, num_codes).numpy())[:, :3], dtype=torch.float32)
    # neighbouring indices get far-apart colours so that adjacent codes are told apart
    spread = torch.randperm(num_codes, generator=torch.Generator().manual_seed(0))
    rgb = palette[spread[indices]].permute(0, 3, 1, 2)
    return F.interpolate(rgb, size=size, mode="nearest")


@section("Codebook", needs=("data",), models=("vq-vae",))
@torch.no_grad()
def vqvae_sections(report, model, data, run_dir) -> None:
    from matplotlib.figure import Figure

    from ...nn import perplexity

    x = data.x[:2000]
    indices = batched(model.encode_indices, x, device=model.device)
    k = model.config.num_codes
    counts = torch.bincount(indices.flatten(), minlength=k)
    used = int((counts > 0).sum())
    share = counts.float() / counts.sum()
    report.section("Codebook", f"How often each of the K = {k} codes is chosen over the {len(x)}×{indices.shape[1]}×"
                   f"{indices.shape[2]} grid positions of held-out images, most used first. Codes used: {used}/{k} "
                   f"({used / k:.0%}); perplexity exp(−Σ p log p) = {float(perplexity(counts)):.1f} "
                   f"(K if every code were used equally); {model.code_bits():.0f} bits per image.")
    fig = Figure(figsize=(6.4, 3.0), dpi=100, layout="constrained")
    ax = fig.add_subplot()
    ax.bar(range(k), share.sort(descending=True).values.numpy(), width=1.0, color="#4477aa")
    ax.axhline(1 / k, color="#cc3311", linewidth=1, label="uniform use")
    ax.set_xlabel("code (by rank)")
    ax.set_ylabel("share of positions")
    ax.legend(frameon=False)
    report.image(fig)

    pick = per_class(data, 10).x.to(model.device)
    idx = model.encode_indices(pick)
    report.section("Code grids", f"Held-out images (top), their {idx.shape[1]}×{idx.shape[2]} grids of code indices "
                   "(middle, one colour per code) and the images decoded from those indices (bottom).")
    report.image(labelled_rows([pick.cpu(), _code_colours(idx.cpu(), k, tuple(pick.shape[2:])),
                                model.decode_indices(idx).cpu()], ["image", "codes", "decoded"]))
    report.code("\n".join(" ".join(f"{v:3d}" for v in row) for row in idx[0].tolist()))
    if getattr(model, "code_prior", None) is None:
        from ..prior import train_hint

        report.text(f"A VQ-VAE has no prior of its own over these code maps, so it cannot sample yet: "
                    f"{train_hint(Path(run_dir).name)} (`genlab sample RUN --prior PRIOR`, "
                    "`genlab report RUN --prior PRIOR`).")


# `genlab report RUN --prior PRIOR` hands the report the vq-vae with its prior (apps.prior.WithPrior)
CODE_PRIOR = Need("a prior over the codes", lambda model, data: getattr(model, "code_prior", None) is not None,
                  "needs a prior over the code maps (genlab report RUN --prior PRIOR)")


@section("Sampling through a prior", needs=(CODE_PRIOR,), models=("vq-vae",))
@torch.no_grad()
def vqvae_prior(report, model, data, run_dir) -> None:
    from ..prior import uniform_codes

    sampler = getattr(model, "code_prior", None)
    if sampler is None:
        return          # the Codebook section says how to get one
    n = 16
    uniform = uniform_codes(model, n, torch.Generator().manual_seed(0)).cpu()
    prior = sampler.sample(n, generator=torch.Generator().manual_seed(0)).cpu() if sampler.label_space is None \
        else sampler.sample(n, torch.arange(n) % sampler.label_space.size,
                            generator=torch.Generator().manual_seed(0)).cpu()
    report.section("Sampling through a prior", f"Code maps drawn from the autoregressive prior {sampler.prior_name} "
                   f"({sampler.prior.registry_name} over the {model.grid[0]}×{model.grid[1]} grid, K = "
                   f"{sampler.num_codes} codes) and decoded (top), beside code maps drawn uniformly and decoded "
                   "(bottom): the prior supplies the structure between positions that uniform codes lack.")
    report.image(labelled_rows([prior, uniform], ["prior", "uniform codes"], min_cell=40))
    if data is not None:
        x = data.x[:500]
        nll = sampler.code_nll(x, data.y[:500] if data.y is not None else None)
        report.text(f"Prior cross-entropy on the codes of {len(x)} held-out images: {nll:.3f} nats per code "
                    f"(log K = {math.log(sampler.num_codes):.3f} for uniform codes).")


@section("Codes against the prior", needs=("encode", "data"), models=("wae",))
@torch.no_grad()
def wae_sections(report, model, data, run_dir) -> None:
    from ...models.wae import mmd

    x = data.x[:500].to(model.device)
    z = model.encode(x)
    torch.manual_seed(0)
    gap = float(mmd(z, model.prior(len(z)), model.config.kernel, 2.0 * z.shape[1] * model.config.prior_std ** 2))
    report.section("Codes against the prior", f"MMD² ({model.config.kernel} kernel) between the codes of {len(z)} "
                   f"held-out images and as many draws from N(0, {model.config.prior_std:g}²I): {gap:.4f} "
                   "(≈ 0 when the aggregate code distribution matches the prior).")
    report.table([{"dimension": i, "mean": float(z[:, i].mean()), "std": float(z[:, i].std())}
                  for i in range(z.shape[1])])
