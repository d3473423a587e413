"""One trained run opened for interactive use: the library behind ``genlab serve``'s panels.

The latent map places each held-out image x_i at a point u_i of the plane:

    2-D code        u_i = z_i = encode(x_i)                           (the latent itself)
    PCA             u_i = Vᵀ (z_i − μ),   back: z(u) = μ + V u          (V: the codes' top-2 principal axes)
    t-SNE           u_i minimise KL(P ‖ Q) over pairwise affinities (van der Maaten & Hinton 2008);
                    t-SNE has no inverse, so z(u) = Σ_k w_k z_k / Σ_k w_k, w_k = 1 / ‖u − u_k‖
                    over the 8 map points u_k nearest to u (and a new code lands at the same
                    weighted mean of the points of its 8 nearest codes)

A drawn image x is shown with decode(encode(x)), its point on the map, and its nearest training
images, argmin_i ‖encode(x) − encode(x_i)‖ (in pixel space ‖x − x_i‖ for models without an encoder).
Denoisers show x̃ = corrupt(x, noise) (their training corruption, seeded) beside denoise(x̃).

The translate panel shows an image x with its translation and the way back (genlab.apps.unpaired):
CycleGAN (Zhu et al. 2017) G(x) and F(G(x)) towards domain B (F(x), G(F(x)) towards A); StarGAN
(Choi et al. 2018) G(x, c) and G(G(x, c), c′), c the target attributes, c′ the image's own.

Everything here is a library call (``Explorer.open("runs/vae").samples(16)``); ``genlab.serve``
only turns HTTP requests into these calls and their tensors into PNG.
"""
from __future__ import annotations

import math
import operator
import random
import threading
from pathlib import Path

import torch
from torch import Tensor

from ..data import ImageData
from ..errors import CapabilityError, ConfigError, DataError, GenlabError
from .common import run_data, seeded
from .latent import class_decoder
from .latent import interpolate as latent_interpolate
from .needs import capability

# per-run panels, in page order
PANELS = ("samples", "map", "sliders", "interpolate", "draw", "complete", "translate", "quiz")
COMPLETIONS = 8          # the most completions drawn per request (each is a pixel-by-pixel sampling)
MAP_METHODS = ("auto", "latent", "pca", "tsne")
MAX_SIDE = 1024          # the largest drawn or uploaded picture accepted, per side
NEIGHBOURS = 8           # training images shown beside a drawing
NEIGHBOUR_POOL = 5000    # training images whose codes are kept for the nearest-neighbour search
TSNE_NEAREST = 8         # map points averaged to turn a t-SNE point back into a code
BATCH = 500


def _int(value, name: str, low: int, high: int) -> int:
    """``value`` as an int in low…high (a whole float such as 3.0 counts; True, 2.5 or "3" do not)."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    try:
        if isinstance(value, bool):
            raise TypeError
        value = operator.index(value)
    except TypeError:
        raise ConfigError(f"{name} must be an integer in {low}…{high}, got {value!r}") from None
    if not low <= value <= high:
        raise ConfigError(f"{name} must lie in {low}…{high}, got {value}")
    return value


def _float(value, name: str) -> float:
    try:
        value = float(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{name} must be a number, got {value!r}") from None
    if not math.isfinite(value):
        raise ConfigError(f"{name} must be a finite number, got {value}")
    return value


def frame_digit(image, size: tuple[int, int], require_dark_border: bool = True, fill: float = 20 / 28):
    """A grey drawing framed as the MNIST digits are (LeCun et al. 1998): the ink's bounding box
    scaled to ``fill`` of the frame (20 of 28 pixels) keeping its aspect ratio, placed so that its
    centre of mass is the frame's centre. A 280-pixel canvas drawn edge to edge would otherwise
    arrive as a digit larger than any the model saw. None when there is no ink, or (with
    ``require_dark_border``) when the border is not dark, i.e. the picture is no drawing on black."""
    import numpy as np
    from PIL import Image

    a = np.asarray(image.convert("L"), dtype=np.float32) / 255
    if a.max() <= 0.1:
        return None
    if require_dark_border:
        bw = max(1, min(a.shape) // 50)
        border = np.concatenate([a[:bw].ravel(), a[-bw:].ravel(), a[:, :bw].ravel(), a[:, -bw:].ravel()])
        if border.max() > 0.1:
            return None
    rows, cols = np.nonzero(a > 0.1)
    ink = image.convert("L").crop((cols.min(), rows.min(), cols.max() + 1, rows.max() + 1))
    w, h = size
    scale = fill * min(w, h) / max(ink.size)
    ink = ink.resize((max(1, round(ink.size[0] * scale)), max(1, round(ink.size[1] * scale))), Image.LANCZOS)
    b = np.asarray(ink, dtype=np.float32)
    total = b.sum()
    ys, xs = np.mgrid[0:b.shape[0], 0:b.shape[1]]
    cy, cx = (ys * b).sum() / total, (xs * b).sum() / total
    left = round(float(w / 2 - cx - 0.5)), round(float(h / 2 - cy - 0.5))
    left = (min(max(left[0], 0), w - ink.size[0]), min(max(left[1], 0), h - ink.size[1]))
    out = Image.new("L", (w, h), 0)
    out.paste(ink, left)
    return out


class Explorer:
    """A loaded model with its run's held-out (``data``) and training (``train``) images, answering
    the explorer's panels. Methods raise CapabilityError when the model cannot do what is asked and
    ConfigError for arguments out of range. The server holds ``lock`` around every call."""

    def __init__(self, model, data: ImageData | None = None, train: ImageData | None = None, *, name: str = "",
                 judge=None, map_limit: int = 1000, map_method: str = "auto", seed: int = 0):
        if map_method not in MAP_METHODS:
            raise ConfigError(f"unknown map_method {map_method!r}; use one of {', '.join(MAP_METHODS)}")
        self.model = model.eval()
        self.data = data if data is not None and len(data) else None
        self.train = train if train is not None and len(train) else None
        self.name = name or model.registry_name
        self.judge = judge
        self.map_limit = _int(map_limit, "map_limit", 3, 1_000_000)
        self.map_method_asked = map_method
        self.seed = int(seed)
        self.lock = threading.Lock()
        self.notes: dict[str, str] = {}          # why data is missing, said in why_not
        space = model.label_space
        # class-conditional encoders (cvae) code the style z given the class: the map and the
        # sliders show z, and decoding takes a class again
        self._by_class = space is not None and space.kind == "classes" and model.can("encode")
        self._code_size, self._code_shape = self._code_layout()
        self._continuous = not callable(getattr(model, "encode_indices", None))   # VQ-VAE: codebook indices
        self._map: dict | None = None
        self._map_codes: Tensor | None = None
        self._map_xy: Tensor | None = None
        self._pca = None
        self._pool: tuple[ImageData, Tensor] | None = None
        self._range: tuple[float, float] | None = None

    # ------------------------------------------------------------------------------ opening
    @classmethod
    def open(cls, run_dir, *, name: str | None = None, judge="auto", **options) -> Explorer:
        """A run folder opened: its model, the held-out and training splits of its data (None, with
        the reason in ``notes``, when they cannot be loaded) and, with ``judge="auto"``, the cached
        judge classifier of its data (None when none is cached: none is trained here)."""
        from .. import runs

        run_dir = Path(run_dir)
        model = runs.load(run_dir)
        splits, notes = {}, {}
        for split in ("test", "train"):
            try:
                splits[split] = run_data(model, None, split)
            except GenlabError as exc:
                splits[split], notes[split] = None, str(exc).splitlines()[0]
        if judge == "auto":
            judge = _cached_judge(model)
        out = cls(model, splits["test"], splits["train"], name=name or run_dir.name, judge=judge, **options)
        out.notes.update(notes)
        return out

    # ------------------------------------------------------------------------------ what it offers
    @property
    def latent_dim(self) -> int | None:
        """The size of a flat code that ``decode_code`` takes (None: no continuous decodable code)."""
        if not (self.model.can("decode") and self._continuous) or not self._code_size:
            return None
        return self._code_size

    @property
    def map_method(self) -> str | None:
        """How the map is drawn: "latent" (a 2-D code), "pca" or "tsne"; None when it is not offered."""
        if self._why_not_map():
            return None
        if self._code_size == 2 and self.map_method_asked in ("auto", "latent", "tsne"):
            return "latent"
        return "tsne" if self.map_method_asked == "tsne" else "pca"

    def _has_prior(self) -> bool:
        """Whether the flat code is the N(0, I) prior the model samples from (VAEs, GANs)."""
        size = getattr(self.model.config, "latent_dim", None)
        return self.model.can("sample") and self.latent_dim is not None and size == self._code_size

    def _data_note(self) -> str:
        note = self.notes.get("test")
        return f"the run's held-out images could not be loaded ({note})" if note else "no held-out images were given"

    def _need(self, cap: str, what: str) -> str:
        return "" if self.model.can(cap) else capability(cap, what).reason(self.model, None)

    def _why_not_map(self) -> str:
        why = self._need("encode", "codes of images to place on a map")
        if why:
            return why
        if not self._continuous:
            return (f"{self.model.registry_name}'s codes are grids of codebook indices, not points of a continuous "
                    "space: there is no map of them")
        if (self._code_size or 0) < 2:
            return f"a {self._code_size}-D code has no 2-D map"
        if self.data is None:
            return "the map places held-out images: " + self._data_note()
        return ""

    def _why_not_sliders(self) -> str:
        why = self._need("decode", "decoding a code set by sliders")
        if why:
            return why
        if not self._continuous:
            return (f"{self.model.registry_name}'s codes are grids of codebook indices: sliders over their values "
                    "would decode vectors that are no code")
        if not self._code_size:
            return f"{self.model.registry_name} has no flat code of known size (no latent_dim and no encoder)"
        return ""

    def _why_not_draw(self) -> str:
        from .translate import task_name

        m = self.model
        if not (m.can("reconstruct") or m.can("translate") or self.judge is not None):
            return (f"a drawing is reconstructed, translated or classified; {m.registry_name} can "
                    f"{', '.join(m.capabilities()) or 'nothing'} and no judge classifier is cached for its data "
                    "(`genlab judge train --data SPEC`)")
        if m.can("translate") and task_name(m) == "inpaint":
            return "an inpainting model needs a hole as well as the image: use `genlab inpaint RUN --image FILE --box`"
        if self._input_channels() not in (1, 3):
            return f"drawings feed models of 1 or 3 channels; {m.registry_name} takes {self._input_channels()}"
        return ""

    def _why_not_complete(self) -> str:
        from ..models.autoregressive import Autoregressive
        from .autoregressive import FAMILY

        if not isinstance(self.model, Autoregressive):
            return (f"completing an image pixel by pixel needs an autoregressive model ({FAMILY}); "
                    f"{self.model.registry_name} is not one")
        return ""

    def _why_not_translate(self) -> str:
        from .unpaired import unpaired_kind

        m = self.model
        if unpaired_kind(m) is not None:
            return ""
        if m.can("translate"):
            return (f"{m.registry_name} translates without a target (its inputs to its outputs: see Draw); choosing a "
                    "target domain or attributes needs a cyclegan or stargan run")
        return (f"translating to a chosen domain or attributes needs a cyclegan or stargan run; {m.registry_name} "
                f"can {', '.join(m.capabilities()) or 'nothing'}")

    def why_not(self) -> dict[str, str]:
        """A one-line reason for each panel of :data:`PANELS` this run does not offer."""
        reasons = {
            "samples": self._need("sample", "generated samples"),
            "map": self._why_not_map(),
            "sliders": self._why_not_sliders(),
            "interpolate": self._need("encode", "codes of the two images") or self._need("decode", "decoding the path"),
            "draw": self._why_not_draw(),
            "complete": self._why_not_complete(),
            "translate": self._why_not_translate(),
            "quiz": self._need("sample", "generated images to mix with real ones")
            or ("" if self.data is not None else "the quiz mixes held-out images in: " + self._data_note()),
        }
        return {k: v for k, v in reasons.items() if v}

    def info(self) -> dict:
        from .translate import task_name

        m = self.model
        space = m.label_space
        labels = None if space is None else {
            "kind": space.kind, "size": space.size, "meaning": space.meaning,
            "names": list(space.names) if space.names else None}
        why = self.why_not()
        return {"name": self.name, "model": m.registry_name, "capabilities": m.capabilities(),
                "image_shape": list(m.image_shape), "latent_dim": self.latent_dim, "labels": labels,
                "task": (task_name(m) or None) if m.can("translate") else None, "denoiser": self._noise() is not None,
                "n_held_out": len(self.data) if self.data is not None else 0,
                "panels": [p for p in PANELS if p not in why], "why_not": why, "map_method": self.map_method,
                "class_names": self.class_names(), "translate": self.translation_targets()}

    # ------------------------------------------------------------------------------ codes
    def _code_layout(self) -> tuple[int | None, tuple]:
        """(flat code size, the shape decode takes): from one encoded blank image for encoders,
        latent_dim for decoders without one."""
        m = self.model
        if m.can("encode"):
            with torch.no_grad():
                x0 = torch.zeros(1, *m.image_shape, device=m.device)
                z = self._encode_raw(x0)
            return int(z[0].numel()), tuple(z.shape[1:])
        size = getattr(m.config, "latent_dim", None)
        if m.can("decode") and size:
            return int(size), (int(size),)
        return None, ()

    def _encode_raw(self, x: Tensor, y: Tensor | None = None) -> Tensor:
        m = self.model
        if not self._by_class:
            return m.encode(x)
        if y is None:
            classify = getattr(m, "classify", None)
            if classify is None:
                raise CapabilityError(f"model {m.registry_name!r} encodes an image together with its class and cannot "
                                      "guess the class of an unlabelled image")
            y = classify(x)
        return m.encode(x, y.to(x.device))

    @torch.no_grad()
    def _codes(self, x: Tensor, y: Tensor | None = None) -> Tensor:
        """Flat codes (N×D, CPU) of images ``x``; ``y`` their classes for class-conditional encoders."""
        dev = self.model.device
        parts = []
        for i in range(0, len(x), BATCH):
            yb = None if y is None or not self._by_class else y[i:i + BATCH].to(dev)
            parts.append(self._encode_raw(x[i:i + BATCH].to(dev), yb).flatten(1).float().cpu())
        return torch.cat(parts) if parts else torch.zeros(0, self._code_size or 0)

    def _as_code(self, code) -> Tensor:
        size = self.latent_dim
        try:
            z = torch.as_tensor(code, dtype=torch.float32).flatten()
        except (TypeError, ValueError, RuntimeError):
            raise ConfigError(f"a code is a list of {size} numbers, got {type(code).__name__}") from None
        if len(z) != size:
            raise ConfigError(f"{self.model.registry_name} decodes codes of {size} numbers, got {len(z)}")
        if not torch.isfinite(z).all():
            raise ConfigError("a code must hold finite numbers (no NaN or infinity)")
        return z

    @torch.no_grad()
    def _decode(self, z: Tensor, label=None) -> Tensor:
        """Images of flat codes ``z`` (N×D); a model with a label space draws ``label`` (default 0:
        the first class, or value of infogan's categorical code)."""
        m = self.model
        if m.label_space is not None and label is None:
            label = 0
        decode = class_decoder(m, "decoding a code", label)
        return decode(z.view(-1, *self._code_shape).to(m.device)).float().cpu().clamp(0, 1)

    def _require_sliders(self) -> None:
        why = self._why_not_sliders()
        if why:
            raise CapabilityError(why)

    def _require_map(self) -> None:
        why = self._why_not_map()
        if why:
            raise (DataError if self.model.can("encode") and self._continuous and (self._code_size or 0) >= 2
                   else CapabilityError)(why)

    # ------------------------------------------------------------------------------ samples and data
    def samples(self, n: int = 16, seed: int = 0, temperature: float = 1.0, label=None) -> Tensor:
        """``n`` generated images (n×C×H×W in [0, 1]) of prior draws seeded by ``seed``, z scaled by
        ``temperature``; a model with a label space draws ``label`` (None: every value in turn)."""
        m = self.model
        m.require("sample", "generated samples")
        n = _int(n, "n", 1, 64)
        seed = _int(seed, "seed", 0, 2**63 - 1)
        temperature = _float(temperature, "temperature")
        if not 0 < temperature <= 10:
            raise ConfigError(f"temperature must lie in (0, 10], got {temperature:g}")
        y = None
        if label is not None:
            y = m.label_index(label) if m.label_space is not None else m.labels(label, n)
        with torch.no_grad(), seeded(m, seed):
            g = torch.Generator().manual_seed(seed)
            return m.sample(n, y, temperature=temperature, generator=g).float().cpu().clamp(0, 1)

    def _require_data(self) -> ImageData:
        if self.data is None:
            raise DataError(self._data_note()[0].upper() + self._data_note()[1:])
        return self.data

    def held_out(self, index: int) -> tuple[Tensor, int | None]:
        """Held-out image ``index`` (1×C×H×W) and its label (None for unlabelled data)."""
        data = self._require_data()
        index = _int(index, "index", 0, len(data) - 1)
        return data.x[index:index + 1].clone(), (int(data.y[index]) if data.y is not None else None)

    def class_names(self) -> list[str] | None:
        names = self.model.class_names or (self.data.classes if self.data is not None else None)
        return [str(c) for c in names] if names else None

    # ------------------------------------------------------------------------------ the map
    def latent_map(self) -> dict:
        """The held-out images' codes as 2-D points (computed once, then cached)."""
        if self._map is not None:
            return self._map
        self._require_map()
        data = self.data
        indices = torch.linspace(0, len(data) - 1, min(self.map_limit, len(data))).round().long().unique()
        y = data.y[indices] if data.y is not None else None
        z = self._codes(data.x[indices], y)
        if not torch.isfinite(z).all():
            raise DataError(f"{self.model.registry_name}'s codes of the held-out images hold NaN or infinite values "
                            "(did its training diverge?); there is no map of them")
        method = self.map_method
        if method == "latent":
            xy, axes = z.clone(), ["z1", "z2"]
        elif method == "pca":
            from sklearn.decomposition import PCA

            self._pca = PCA(2, random_state=self.seed).fit(z.double().numpy())
            xy, axes = torch.from_numpy(self._pca.transform(z.double().numpy())).float(), ["PC1", "PC2"]
        else:
            from sklearn.manifold import TSNE

            perplexity = float(min(30.0, max(2.0, (len(z) - 1) / 3)))
            tsne = TSNE(2, perplexity=perplexity, init="pca", random_state=self.seed)
            xy, axes = torch.from_numpy(tsne.fit_transform(z.double().numpy())).float(), ["t-SNE 1", "t-SNE 2"]
        self._map_codes, self._map_xy = z, xy
        lo, hi = xy.min(0).values, xy.max(0).values
        pad = ((hi - lo) * 0.05).clamp(min=1e-3)
        lo, hi = lo - pad, hi + pad
        self._map = {"method": method, "points": xy.tolist(), "labels": y.tolist() if y is not None else None,
                     "indices": indices.tolist(), "bounds": [float(lo[0]), float(hi[0]), float(lo[1]), float(hi[1])],
                     "axes": axes, "class_names": self.class_names()}
        return self._map

    def _nearest_mean(self, query: Tensor, keys: Tensor, values: Tensor) -> Tensor:
        """Σ w_k values_k / Σ w_k, w_k = 1/‖query − keys_k‖ over the nearest keys (an exact hit: its value)."""
        d = torch.cdist(query.view(1, -1).double(), keys.double())[0]
        k = min(TSNE_NEAREST, len(keys))
        dist, idx = d.topk(k, largest=False)
        if dist[0] < 1e-9:
            return values[idx[0]].clone()
        w = 1.0 / dist
        return ((w[:, None] * values[idx].double()).sum(0) / w.sum()).float()

    def code_at(self, u: float, v: float) -> Tensor:
        """The flat code at map point (u, v): the point itself (2-D code), its PCA inverse, or for
        t-SNE the inverse-distance mean of the codes of the 8 nearest map points."""
        u, v = _float(u, "u"), _float(v, "v")
        method = self.latent_map()["method"]
        if method == "latent":
            return torch.tensor([u, v], dtype=torch.float32)
        if method == "pca":
            import numpy as np

            return torch.from_numpy(self._pca.inverse_transform(np.array([[u, v]], dtype=np.float64))[0]).float()
        return self._nearest_mean(torch.tensor([u, v]), self._map_xy, self._map_codes)

    def point_of(self, code: Tensor) -> list[float]:
        """Where a flat code lies on the map (the inverse of :meth:`code_at`)."""
        method = self.latent_map()["method"]
        code = torch.as_tensor(code, dtype=torch.float32).flatten()
        if method == "latent":
            return [float(code[0]), float(code[1])]
        if method == "pca":
            return [float(c) for c in self._pca.transform(code.double().numpy()[None])[0]]
        return [float(c) for c in self._nearest_mean(code, self._map_codes, self._map_xy)]

    def decode_point(self, u: float, v: float, label=None) -> Tensor:
        """The image of the code at map point (u, v), 1×C×H×W."""
        self.model.require("decode", "decoding a point of the map")
        return self._decode(self.code_at(u, v)[None], label)

    # ------------------------------------------------------------------------------ sliders
    def base_code(self, index: int | None = None, seed: int = 0) -> list[float]:
        """A starting code for the sliders: held-out image ``index``'s code; without an index a prior
        draw (seeded) for models with an N(0, I) prior, else the code of held-out image seed mod N."""
        self._require_sliders()
        seed = _int(seed, "seed", 0, 2**63 - 1)
        if index is None and self._has_prior():
            g = torch.Generator().manual_seed(seed)
            return torch.randn(self._code_size, generator=g).tolist()
        self.model.require("encode", "the code of a held-out image")
        data = self._require_data()
        x, label = self.held_out(seed % len(data) if index is None else index)
        y = torch.tensor([label]) if label is not None else None
        return self._codes(x, y)[0].tolist()

    def code_range(self) -> tuple[float, float]:
        """The sliders' range: ±3 for an N(0, I) prior (99.7% of each coordinate), else the span
        of the held-out (or training) codes with a 10% margin each side."""
        self._require_sliders()
        if self._range is None:
            source = self.data if self.data is not None else self.train
            if self._has_prior() or source is None or not self.model.can("encode"):
                self._range = (-3.0, 3.0)
            else:
                if self._map_codes is not None:
                    z = self._map_codes
                else:
                    picked = source.spread(self.map_limit)
                    z = self._codes(picked.x, picked.y)
                lo, hi = float(z.min()), float(z.max())
                pad = max((hi - lo) * 0.1, 1e-3)
                self._range = (lo - pad, hi + pad)
        return self._range

    def decode_code(self, code, label=None) -> Tensor:
        """The image of a flat code (a list of :attr:`latent_dim` numbers), 1×C×H×W; a model with a
        label space draws ``label`` (default 0)."""
        self._require_sliders()
        return self._decode(self._as_code(code)[None], label)

    # ------------------------------------------------------------------------------ images in
    def _input_channels(self) -> int:
        return int(getattr(self.model, "in_channels", self.model.image_shape[0]))

    def _image(self, x: Tensor, name: str = "image") -> Tensor:
        if not isinstance(x, Tensor):
            raise DataError(f"{name} must be a tensor of shape 1×C×H×W, got {type(x).__name__}")
        x = x.unsqueeze(0) if x.dim() == 3 else x
        if x.dim() != 4 or len(x) != 1:
            raise DataError(f"{name} must be one image, 1×C×H×W or C×H×W; got shape {tuple(x.shape)}")
        self.model.check_input(x)
        return x.float()

    def interpolate(self, a: Tensor, b: Tensor, steps: int = 8, mode: str = "linear") -> Tensor:
        """Decoded codes on the path from image ``a``'s code to ``b``'s (ends included): steps×C×H×W."""
        steps = _int(steps, "steps", 2, 64)
        if mode not in ("linear", "spherical"):
            raise ConfigError(f"unknown interpolation mode {mode!r}; use linear or spherical")
        m = self.model
        m.require("encode", "interpolation needs the codes of both images")
        m.require("decode", "interpolation decodes the path between codes")
        a, b = self._image(a, "a"), self._image(b, "b")
        with torch.no_grad():
            return latent_interpolate(m, a[0], b[0], steps, mode).float().cpu().clamp(0, 1)

    def as_input(self, image, frame: bool | str = "auto") -> Tensor:
        """A drawn or uploaded picture as the model's input, 1×C×H×W in [0, 1]: transparency over
        black, grey (L) for 1-channel models or RGB for 3, resized to the model's H×W (box area
        averaging when shrinking, Lanczos when enlarging). ``frame``: a grey drawing is framed as
        MNIST frames its digits (:func:`frame_digit`); "auto" does so only for a white-on-black
        drawing (a dark border all round), so photographs keep their framing."""
        from PIL import Image

        if not isinstance(image, Image.Image):
            raise DataError(f"expected a PIL image, got {type(image).__name__}")
        w0, h0 = image.size
        if w0 < 1 or h0 < 1 or w0 > MAX_SIDE or h0 > MAX_SIDE:
            raise DataError(f"pictures must be 1…{MAX_SIDE} pixels a side, got {w0}×{h0}; send a smaller one")
        c = self._input_channels()
        if c not in (1, 3):
            raise CapabilityError(f"drawings feed models of 1 or 3 channels; {self.model.registry_name} takes {c}")
        _, h, w = self.model.image_shape
        im = image
        if im.mode in ("RGBA", "LA", "PA", "La", "RGBa") or (im.mode == "P" and "transparency" in im.info):
            im = im.convert("RGBA")
            im = Image.alpha_composite(Image.new("RGBA", im.size, (0, 0, 0, 255)), im)
        im = im.convert("L" if c == 1 else "RGB")
        if c == 1 and frame in (True, "auto"):
            framed = frame_digit(im, (w, h), require_dark_border=frame == "auto")
            if framed is not None:
                im = framed
        if im.size != (w, h):
            im = im.resize((w, h), Image.BOX if w <= w0 and h <= h0 else Image.LANCZOS)
        pixels = torch.frombuffer(bytearray(im.tobytes()), dtype=torch.uint8)
        return pixels.view(h, w, c).permute(2, 0, 1).float().div(255).unsqueeze(0)

    # ------------------------------------------------------------------------------ draw
    def _noise(self):
        """The corruption a denoiser was trained with (a dae's ``noise``), or None."""
        from ..data.corrupt import parse_noise

        spec = getattr(self.model.config, "noise", None)
        if not self.model.can("reconstruct") or not isinstance(spec, str):
            return None
        try:
            noise = parse_noise(spec)
        except ConfigError:
            return None
        return None if noise.kind == "none" or noise.level == 0 else noise

    def _neighbour_pool(self) -> tuple[ImageData, Tensor] | None:
        """The training images searched for neighbours (at most 5,000, spread over the split) and
        their keys: codes for encoders, pixels otherwise. Computed once."""
        if self._pool is None:
            source = self.train if self.train is not None else self.data
            if source is None:
                return None
            picked = source.spread(NEIGHBOUR_POOL)
            if self.model.can("encode"):
                keys = self._codes(picked.x, picked.y)
            else:
                keys = picked.x.flatten(1).float()
            self._pool = (picked, keys)
        return self._pool

    def neighbours(self, x: Tensor, code: Tensor | None = None, k: int = NEIGHBOURS) -> tuple[Tensor, list]:
        """The ``k`` training images nearest to ``x`` (in code space for encoders, pixel space
        otherwise) and their labels (None each for unlabelled data)."""
        pool = self._neighbour_pool()
        if pool is None:
            return torch.zeros(0, *self.model.image_shape), []
        picked, keys = pool
        if self.model.can("encode"):
            query = self._codes(x) if code is None else code.view(1, -1)
        else:
            query = x.flatten(1).float()
        d = torch.cdist(query.double(), keys.double())[0]
        idx = d.topk(min(k, len(keys)), largest=False).indices
        labels = picked.y[idx].tolist() if picked.y is not None else [None] * len(idx)
        return picked.x[idx].clone(), labels

    def _judged(self, x: Tensor) -> dict | None:
        if self.judge is None:
            return None
        with torch.no_grad():
            _, probs = self.judge.embed(x)
        p = probs[0].float().cpu()
        k = int(p.argmax())
        names = self.class_names()
        return {"label": names[k] if names and k < len(names) else str(k), "probability": float(p[k]),
                "probabilities": [float(v) for v in p]}

    def draw(self, x: Tensor) -> dict:
        """What the model makes of one image (1×C×H×W, e.g. from :meth:`as_input`): reconstruction,
        code and map point, nearest training images, the judge's class, the denoiser's noisy and
        cleaned versions, the translation. Entries a model cannot give are None."""
        from .denoise import denoise

        m = self.model
        why = self._why_not_draw()
        if why:
            raise CapabilityError(why)
        x = self._image(x)
        out = {"reconstruction": None, "point": None, "code": None, "neighbours": None, "neighbour_labels": [],
               "judge": None, "noisy": None, "cleaned": None, "translated": None}
        dev = m.device
        code = None
        with torch.no_grad():
            if m.can("reconstruct"):
                out["reconstruction"] = m.reconstruct(x.to(dev)).float().cpu().clamp(0, 1)
            if m.can("encode"):
                code = self._codes(x)[0]
                if not torch.isfinite(code).all():
                    raise DataError(f"{m.registry_name}'s code of this image holds NaN or infinite values "
                                    "(did its training diverge?)")
                if self.latent_dim is not None:
                    out["code"] = code.tolist()
                if self.map_method is not None:
                    out["point"] = self.point_of(code)
            out["neighbours"], out["neighbour_labels"] = self.neighbours(x, code)
            out["judge"] = self._judged(x)
            noise = self._noise()
            if noise is not None:
                from ..data.corrupt import corrupt

                noisy = corrupt(x, noise, torch.Generator().manual_seed(self.seed))
                out["noisy"], out["cleaned"] = noisy, denoise(m, noisy)
            if m.can("translate"):
                out["translated"] = self._translated(x)
        return out

    def _translated(self, x: Tensor) -> Tensor | None:
        from .translate import colorize_image, task_name, translate_image

        name = task_name(self.model)
        if name == "colorize":
            return colorize_image(self.model, x).float().cpu().clamp(0, 1)
        if name == "segment":
            return None          # class indices per pixel, not an image
        space = self.model.label_space
        if space is not None and space.kind == "attributes":
            return None          # a multi-domain translation needs target attributes a drawing does not give
        y = translate_image(self.model, x)
        return y.float().clamp(0, 1) if y.dim() == 4 and y.shape[1] in (1, 3) else None

    # ------------------------------------------------------------------------------ translate
    def translation_targets(self) -> dict | None:
        """What the translate panel offers as targets: {"kind": "domains", "domains": [A, B]} (cyclegan)
        or {"kind": "attributes", "attributes": names, "groups": exclusive groups of indices} (stargan);
        None for other models."""
        from .unpaired import (
            attribute_groups,
            attribute_names,
            domain_names,
            unpaired_kind,
        )

        kind = unpaired_kind(self.model)
        if kind == "domains":
            return {"kind": kind, "domains": domain_names(self.model)}
        if kind == "attributes":
            return {"kind": kind, "attributes": attribute_names(self.model), "groups": attribute_groups(self.model)}
        return None

    def held_out_source(self, index: int):
        """Held-out image ``index``'s own domain (cyclegan: its name) or attributes (stargan: a K-vector),
        as the data records them; None when the data does not, or names them unlike the model."""
        from .unpaired import attribute_names, domain_names, unpaired_kind

        data = self._require_data()
        index = _int(index, "index", 0, len(data) - 1)
        kind = unpaired_kind(self.model)
        if kind == "domains" and data.domain is not None:
            have = list(data.meta.get("domains") or [])
            name = have[int(data.domain[index])] if int(data.domain[index]) < len(have) else None
            return name if name in domain_names(self.model) else None
        if (kind == "attributes" and data.attributes is not None
                and list(data.meta.get("attributes") or []) == attribute_names(self.model)):
            return data.attributes[index].float().clone()
        return None

    def translate(self, x: Tensor, to=None, domains=None, source=None) -> dict:
        """Image ``x`` (1×C×H×W) translated and brought back: {"translated", "back" (1×C×H×W each),
        "source", "target", "cycle_error" (mean |back − x|)}.

        cyclegan: ``to`` names the target domain (its name, or 0/1); ``source`` the image's own domain
        (default: the domain other than ``to``); without either, A → B. stargan: ``domains`` names
        the target attributes ("thick,inverted", or a list): each named one sets its group, the other
        groups keep the image's own values, ``source`` (a K-vector or names; default: as the model's
        attribute classifier reads the image)."""
        from .unpaired import (
            attribute_indices,
            attribute_names,
            attribute_targets,
            cycle_error,
            domain_index,
            domain_names,
            source_attributes,
            translate_attributes,
            translate_domains,
            unpaired_kind,
        )

        why = self._why_not_translate()
        if why:
            raise CapabilityError(why)
        m = self.model
        kind = unpaired_kind(m)
        x = self._image(x)
        if kind == "domains":
            names = domain_names(m)
            if domains is not None:
                raise ConfigError(f"domains names target attributes of a stargan run; this {m.registry_name} run "
                                  f"translates between {' and '.join(names)}: give to (one of {', '.join(names)})")
            if to is None and source is not None:
                target = 1 - domain_index(m, source)     # a held-out image goes to the other domain
            else:
                target = domain_index(m, to)
            translated, back = translate_domains(m, x, target)
            out = {"source": names[1 - target], "target": names[target]}
        else:
            names = attribute_names(m)
            example = ",".join(names[g[-1]] for g in self.translation_targets()["groups"][:2])
            if to is not None:
                raise ConfigError(f"to names a domain of a cyclegan run; this {m.registry_name} run translates to "
                                  f"target attributes: give domains, e.g. {example!r} (its attributes: "
                                  f"{', '.join(names)})")
            if domains is None or (isinstance(domains, str) and not domains.strip()):
                raise ConfigError(f"{m.registry_name} translates to target attributes: name them in domains, e.g. "
                                  f"{example!r} (its attributes: {', '.join(names)})")
            attribute_indices(m, domains, "domains")     # unknown names, two of one group: one line
            own = source_attributes(m, source, 1, x)
            translated, back = translate_attributes(m, x, domains, own)
            c = attribute_targets(m, domains, own, 1)
            out = {"source": [names[i] for i in range(len(names)) if own[0, i] > 0.5],
                   "target": [names[i] for i in range(len(names)) if c[0, i] > 0.5]}
        return {"translated": translated, "back": back, **out, "cycle_error": cycle_error(x, back)}

    # ------------------------------------------------------------------------------ complete
    def complete(self, x: Tensor, rows: int, samples: int = 4, seed: int = 0, label=None) -> dict:
        """An autoregressive model's completions of ``x`` (1×C×H×W, a held-out image or a drawing)
        given its top ``rows`` rows: {"original", "given" (the hidden part dimmed), "completions":
        samples×C×H×W}. Each completion samples the hidden pixels one by one in raster order from
        p(x_i | x_<i), the given pixels fixed (van den Oord et al. 2016's image completions)."""
        from .autoregressive import complete_images

        why = self._why_not_complete()
        if why:
            raise CapabilityError(why)
        samples = _int(samples, "samples", 1, COMPLETIONS)
        rows = _int(rows, "rows", 1, self.model.image_shape[1] - 1)
        seed = _int(seed, "seed", 0, 2**31 - 1)
        x = self._image(x)
        y = None if label is None or self.model.label_space is None else self.model.labels(label, 1)
        out = complete_images(self.model, x, rows=rows, samples=samples, y=y, seed=seed)
        return {"original": out.original, "given": out.given, "completions": out.completions[0]}

    # ------------------------------------------------------------------------------ quiz
    def quiz_round(self, rng: random.Random) -> tuple[Tensor, bool]:
        """(1×C×H×W image, is_real): a held-out image or a generated one, each with probability 1/2;
        a generated image of a model with a label space draws a random value of it."""
        m = self.model
        m.require("sample", "the quiz mixes generated images with real ones")
        data = self._require_data()
        if rng.random() < 0.5:
            return self.held_out(rng.randrange(len(data)))[0], True
        space = m.label_space
        label = rng.randrange(space.size) if space is not None else None
        return self.samples(1, seed=rng.randrange(2**31), label=label), False


def _cached_judge(model):
    """The judge cached for the run's data and image shape, or None: the explorer never trains one."""
    from ..metrics import judge as judges

    spec = ((getattr(model, "run_info", None) or {}).get("data") or {}).get("spec")
    if not spec:
        return None
    try:
        return judges.get_judge(spec, tuple(model.image_shape), train_if_missing=False)[0]
    except GenlabError:
        return None


def side_by_side(explorers: list[Explorer], seed: int = 0, n: int = 8) -> dict:
    """The same prior seed and the same held-out inputs for each run: their samples and their
    reconstructions of the inputs (evenly spread over the first run with held-out data), with the
    reason for each that a run cannot give."""
    explorers = list(explorers)
    if not explorers:
        raise ConfigError("side_by_side compares runs: give at least one explorer")
    n = _int(n, "n", 1, 64)
    seed = _int(seed, "seed", 0, 2**63 - 1)
    source = next((e.data for e in explorers if e.data is not None), None)
    picked = source.spread(n) if source is not None else None
    inputs = picked.x.clone() if picked is not None else None
    runs = {}
    for ex in explorers:
        m = ex.model
        why = {}
        samples = recon = None
        if m.can("sample"):
            samples = ex.samples(n, seed)
        else:
            why["samples"] = capability("sample", "generated samples").reason(m, None)
        if not m.can("reconstruct"):
            why["reconstructions"] = capability("reconstruct", "reconstructions").reason(m, None)
        elif inputs is None:
            why["reconstructions"] = "no run has held-out images to reconstruct"
        elif tuple(inputs.shape[1:]) != tuple(m.image_shape):
            why["reconstructions"] = (f"the inputs are {tuple(inputs.shape[1:])} images but {ex.name} takes "
                                      f"{tuple(m.image_shape)}")
        else:
            space = m.label_space
            y = picked.y if space is not None and space.kind == "classes" and picked.y is not None else None
            with torch.no_grad():
                recon = m.reconstruct(inputs.to(m.device), None if y is None else y.to(m.device))
            recon = recon.float().cpu().clamp(0, 1)
        runs[ex.name] = {"samples": samples, "reconstructions": recon, "why_not": why}
    return {"inputs": inputs, "runs": runs}


__all__ = ["MAP_METHODS", "PANELS", "Explorer", "side_by_side"]
