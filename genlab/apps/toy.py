"""The manifold demo: an autoencoder with a 1-D code trained on 2-D points near an ellipse
learns that valid points lie on the curve; points from anywhere in the plane are then brought
back onto (its version of) the curve by encode → decode.

The model is genlab's ``ae`` on 1×1×2 "images": hidden ReLU layers, a linear 1-D code, squared
error, trained by the ordinary engine. Its decoder ends in a sigmoid, so the plane is the unit
square and the ellipse sits inside it. A closed curve cannot be traced by one continuous 1-D code,
so the learned curve has a gap somewhere: the price of the bottleneck.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import Tensor

from ..data import ImageData
from ..errors import ConfigError
from ..io import write_json
from .common import fit

DEFAULT_EPOCHS = 200


@dataclass(frozen=True)
class Ellipse:
    centre: tuple[float, float] = (0.5, 0.5)
    a: float = 0.32                  # semi-axes
    b: float = 0.16
    angle: float = 30.0              # degrees, anticlockwise

    def at(self, t: Tensor) -> Tensor:
        """Points at parameters ``t`` (radians): N×2."""
        c, s = math.cos(math.radians(self.angle)), math.sin(math.radians(self.angle))
        u, v = self.a * torch.cos(t), self.b * torch.sin(t)
        return torch.stack([self.centre[0] + c * u - s * v, self.centre[1] + s * u + c * v], 1)

    def sample(self, n: int, noise: float = 0.01, generator: torch.Generator | None = None) -> Tensor:
        t = torch.rand(n, generator=generator) * 2 * math.pi
        return self.at(t) + noise * torch.randn(n, 2, generator=generator)

    def distance(self, points: Tensor, resolution: int = 4096) -> Tensor:
        """Distance of each point (N×2) to the curve, against a dense polyline (error < 1e-3)."""
        curve = self.at(torch.linspace(0, 2 * math.pi, resolution))
        return torch.cdist(points.double(), curve.double()).min(1).values.float()


def plane_grid(n: int = 15, low: float = 0.05, high: float = 0.95) -> Tensor:
    """n×n points spread over the plane (the unit square): N×2."""
    axis = torch.linspace(low, high, n)
    return torch.stack(torch.meshgrid(axis, axis, indexing="xy"), -1).reshape(-1, 2)


@dataclass
class ManifoldResult:
    model: object
    train: Tensor
    queries: Tensor
    pulled: Tensor
    curve: Tensor
    ellipse: Ellipse
    figures: dict = field(default_factory=dict)


def as_images(points: Tensor) -> Tensor:
    return points.view(-1, 1, 1, 2)


def manifold_demo(epochs: int = DEFAULT_EPOCHS, n: int = 1000, noise: float = 0.01, grid: int = 15,
                  hidden: tuple[int, ...] = (64, 64), lr: float = 1e-2, batch_size: int = 100, seed: int = 0,
                  ellipse: Ellipse = Ellipse(), progress: bool = False) -> ManifoldResult:
    """Train the 1-D-code autoencoder on ``n`` noisy ellipse points and pull a ``grid``×``grid``
    lattice of the plane through it."""
    from ..runs import create

    if epochs < 1 or n < 2 or grid < 2:
        raise ConfigError(f"need --epochs ≥ 1, at least 2 points and a grid of at least 2×2 "
                          f"(got epochs={epochs}, n={n}, grid={grid})")
    g = torch.Generator().manual_seed(seed)
    points = ellipse.sample(n, noise, g).clamp(0, 1)
    data = ImageData(as_images(points), name="ellipse")
    model = create("ae", seed=seed, image_shape=(1, 1, 2), latent_dim=1, hidden=tuple(hidden), activation="relu",
                          code_activation="linear", loss="mse", lr=lr)
    fit(model, data, epochs, batch_size, seed, progress)
    queries = plane_grid(grid)
    with torch.no_grad():
        pulled = model.reconstruct(as_images(queries)).view(-1, 2)
        recon = model.reconstruct(data.x).view(-1, 2)
        z = model.encode(data.x).flatten()
        sweep = torch.linspace(float(z.min()), float(z.max()), 400)
        curve = model.decode(sweep[:, None]).view(-1, 2)
    before, after = ellipse.distance(queries), ellipse.distance(pulled)
    figures = {
        "ellipse": {"centre": list(ellipse.centre), "a": ellipse.a, "b": ellipse.b, "angle_degrees": ellipse.angle},
        "train_points": n, "noise": noise, "epochs": epochs, "grid_points": len(queries),
        "grid_mean_distance_before": float(before.mean()), "grid_mean_distance_after": float(after.mean()),
        "distance_ratio": float(after.mean() / before.mean().clamp_min(1e-12)),
        "train_mean_distance": float(ellipse.distance(points).mean()),
        "train_reconstruction_mean_distance": float(ellipse.distance(recon).mean()),
        "train_reconstruction_mse": float(((recon - points) ** 2).sum(1).mean()),
        "curve_mean_distance": float(ellipse.distance(curve).mean()),
        "code_range": [float(z.min()), float(z.max())],
    }
    return ManifoldResult(model, points, queries, pulled, curve, ellipse, figures)


def write_manifold(result: ManifoldResult, out: str | Path) -> dict:
    """manifold.png (the pull-back picture) and manifold.json."""
    from ..viz.charts import pullback
    from ..viz.plots import figure_to_png

    out = Path(out)
    f = result.figures
    truth = result.ellipse.at(torch.linspace(0, 2 * math.pi, 400))
    title = (f"1-D code autoencoder: mean distance to the ellipse "
             f"{f['grid_mean_distance_before']:.3f} → {f['grid_mean_distance_after']:.3f}")
    figure_to_png(pullback(result.train, result.queries, result.pulled, result.curve, truth, title=title),
                  out / "manifold.png")
    write_json(out / "manifold.json", f)
    return f


__all__ = ["Ellipse", "plane_grid", "ManifoldResult", "manifold_demo", "write_manifold", "DEFAULT_EPOCHS"]
