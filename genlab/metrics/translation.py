"""Metrics of unpaired and multi-domain translation (CycleGAN, Zhu et al. 2017; StarGAN, Choi et al. 2018).

For held-out inputs x_i of a source domain X translated to ŷ_i = G(x_i) in the target domain Y:

    judge-FID      FID(φ(ŷ), φ(y)) = ‖μ_ŷ − μ_y‖² + Tr(Σ_ŷ + Σ_y − 2(Σ_ŷ Σ_y)^½)  (Heusel et al. 2017), φ the
                   penultimate features of a judge classifier trained on Y's images, y held-out images of Y;
                   FID(φ(x), φ(y)), the untranslated inputs against Y, is the reference a translation must beat
    label kept     (1/N) Σ_i [argmax_c J_Y(ŷ_i)_c = label(x_i)]: the judge of Y reads the source's class
    cycle error    (1/N) Σ_i mean_pixels |F(G(x_i)) − x_i|   (in [0, 1] units; 0 = a perfect round trip)

For StarGAN, translations ŷ_i = G(x_i, c_i) to target vectors c_i whose exclusive attribute groups
(thin | normal | thick, ...) each hold one value, read back by an attribute classifier A trained on
real images (one softmax per group):

    attribute accuracy  (1/N) Σ_i Π_{g ∈ R_i} [argmax_{k∈g} A(ŷ_i)_k = argmax_{k∈g} c_ik]
                        R_i the groups translation i requested (its other groups ask to be kept)
    attributes kept     the same product over the groups not in R_i
    content kept        label kept, read by a judge of the classes trained on the attribute data's real
                        images (every stroke, tilt and polarity), so that a changed attribute alone is no error

Colour drift (the identity-loss ablation; the CycleGAN paper adds 0.5·λ·‖G(y) − y‖₁ to keep colours):

    colour drift   (1/N) Σ_i (1/C) Σ_ch |mean_hw ŷ_i,ch − mean_hw x_i,ch|   per-channel mean colour
    luma drift     (1/N) Σ_i |mean_hw L(ŷ_i) − mean_hw L(x_i)|,  L = 0.299 R + 0.587 G + 0.114 B (ITU-R 601):
                   the brightness a grey ↔ colour translation should keep (grey2colour's grey is that luma)

The attribute classifier is the judge's LeNet (``genlab.metrics.judge.Judge``) with K outputs, trained
like the judge but shifted only (a rotation or a scale would change tilt and stroke, the attributes it
reads), cached per data spec and image shape in the cache's ``attribute-judges`` folder.
"""
from __future__ import annotations

import math
import re
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor

from ..data.domains import ATTRIBUTES_VERSION
from ..errors import DataError, GenlabError
from ..io import save_tensors, write_json
from ..models.stargan import classification_loss, decide
from .judge import Judge, load_judge
from .paired import judged_agreement
from .sample import fid

LUMA = (0.299, 0.587, 0.114)


# ------------------------------------------------------------------------------------------- two domains

def judge_fids(target_features, translated_features, input_features) -> dict[str, float]:
    """``fid``: FID of the translations' features against the real target images'; ``input_fid``: the
    same for the untranslated inputs (the reference: a translation to the target domain lowers it)."""
    return {"fid": fid(target_features, translated_features), "input_fid": fid(target_features, input_features)}


def label_kept(probs_or_labels, labels) -> float:
    """Share of translations whose judged class (argmax of N×C scores, or N indices) is their source's label."""
    return judged_agreement(probs_or_labels, labels)


def cycle_error(x: Tensor, back: Tensor) -> float:
    """mean |back − x| over pixels and images: the cycle-reconstruction error in [0, 1] units."""
    if x.shape != back.shape:
        raise ValueError(f"the round trip changed the shape {tuple(x.shape)} to {tuple(back.shape)}; "
                         "compare images of one size")
    if len(x) == 0:
        raise ValueError("no images to compare; pass at least one")
    return float((back.double() - x.double()).abs().mean())


def _colour_means(x: Tensor, name: str) -> Tensor:
    if not torch.is_tensor(x) or x.dim() != 4 or len(x) == 0:
        shape = tuple(x.shape) if torch.is_tensor(x) else type(x).__name__
        raise ValueError(f"{name} must be N×C×H×W images (N ≥ 1), got {shape}")
    return x.double().mean(dim=(2, 3))           # N×C


def colour_drift(translated: Tensor, inputs: Tensor) -> float:
    """(1/N) Σ_i (1/C) Σ_ch |mean ŷ_i,ch − mean x_i,ch|: how far each image's mean colour moved."""
    a, b = _colour_means(translated, "translated"), _colour_means(inputs, "inputs")
    if a.shape != b.shape:
        raise ValueError(f"{tuple(translated.shape)} translations for {tuple(inputs.shape)} inputs; pass one each")
    return float((a - b).abs().mean())


def luma(x: Tensor) -> Tensor:
    """ITU-R 601 luma of N×3×H×W images (grey images are their own luma), N×1×H×W."""
    if x.shape[1] == 1:
        return x
    if x.shape[1] != 3:
        raise ValueError(f"luma needs grey or RGB images, got {x.shape[1]} channels")
    return (x * torch.tensor(LUMA, dtype=x.dtype, device=x.device).view(1, 3, 1, 1)).sum(1, keepdim=True)


def luma_drift(translated: Tensor, inputs: Tensor) -> float:
    """(1/N) Σ_i |mean L(ŷ_i) − mean L(x_i)|: how far each image's mean brightness moved."""
    return colour_drift(luma(translated.double()), luma(inputs.double()))


# ------------------------------------------------------------------------------------------- attributes

def all_groups(groups, k: int) -> list[list[int]]:
    """The exclusive groups, with each attribute in none of them as a group of its own (a yes/no)."""
    groups = [list(g) for g in groups]
    grouped = {i for g in groups for i in g}
    return groups + [[i] for i in range(k) if i not in grouped]


def group_values(v: Tensor, groups) -> Tensor:
    """N×G: per group the value each row holds: the index within the group of its largest score (for a
    one-attribute group: 1 when the score is ≥ 0.5, else 0). ``v``: N×K 0/1 vectors or probabilities."""
    v = torch.as_tensor(v).double()
    if v.dim() != 2:
        raise ValueError(f"attribute vectors must be N×K, got shape {tuple(v.shape)}")
    cols = []
    for g in all_groups(groups, v.shape[1]):
        part = v[:, g]
        cols.append((part[:, 0] >= 0.5).long() if len(g) == 1 else part.argmax(1))
    return torch.stack(cols, 1)


def attribute_hits(read, target, groups) -> Tensor:
    """N×G bool: whether the value read in each group is the target's."""
    read, target = torch.as_tensor(read), torch.as_tensor(target)
    if read.shape != target.shape:
        raise ValueError(f"read attributes {tuple(read.shape)} and targets {tuple(target.shape)} differ in shape")
    return group_values(read, groups) == group_values(target, groups)


def _group_mask(mask, n: int, g: int) -> Tensor:
    mask = torch.as_tensor(mask, dtype=torch.bool)
    if mask.shape != (n, g):
        raise ValueError(f"requested must be N×G = {(n, g)} booleans (one column per group), got {tuple(mask.shape)}")
    return mask


def attribute_accuracy(read, target, groups, requested=None) -> float:
    """Share of rows whose requested groups (N×G bool, columns as :func:`all_groups`; None: every group)
    all read as the target's values. Rows that request nothing are left out."""
    hits = attribute_hits(read, target, groups)
    mask = torch.ones_like(hits) if requested is None else _group_mask(requested, *hits.shape)
    rows = mask.any(1)
    if not bool(rows.any()):
        raise ValueError("no row requests any group; nothing to score")
    return float((hits | ~mask)[rows].all(1).double().mean())


def attributes_kept(read, target, groups, requested) -> float:
    """Share of rows whose groups not requested all read as the target's (there: the source's) values."""
    hits = attribute_hits(read, target, groups)
    mask = _group_mask(requested, *hits.shape)
    return attribute_accuracy(read, target, groups, ~mask)


def per_attribute_accuracy(read, target, groups, requested) -> dict[int, float]:
    """{attribute k: share of the rows that requested k's group with value k that read k back}."""
    hits = attribute_hits(read, target, groups)
    mask = _group_mask(requested, *hits.shape)
    values = group_values(target, groups)
    out = {}
    for j, g in enumerate(all_groups(groups, torch.as_tensor(target).shape[1])):
        for pos, k in enumerate(g if len(g) > 1 else [g[0]]):
            rows = mask[:, j] & (values[:, j] == (pos if len(g) > 1 else 1))
            if bool(rows.any()):
                out[k] = float(hits[rows, j].double().mean())
    return out


def changed_targets(source: Tensor, groups) -> tuple[Tensor, Tensor, Tensor]:
    """Every single-group change of each source vector: (rows, targets, requested), where ``rows`` (M)
    indexes the source of each target, ``targets`` (M×K) is that source with one group set to another
    value, ``requested`` (M×G bool) marks that group. A yes/no attribute outside groups is flipped."""
    source = torch.as_tensor(source).float()
    k = source.shape[1]
    full = all_groups(groups, k)
    values = group_values(source, groups)
    rows, targets, requested = [], [], []
    for j, g in enumerate(full):
        options = range(len(g)) if len(g) > 1 else range(2)
        for pos in options:
            keep = (values[:, j] != pos).nonzero().flatten()
            if len(keep) == 0:
                continue
            t = source[keep].clone()
            if len(g) > 1:
                t[:, g] = 0
                t[:, g[pos]] = 1
            else:
                t[:, g[0]] = float(pos)
            r = torch.zeros(len(keep), len(full), dtype=torch.bool)
            r[:, j] = True
            rows.append(keep), targets.append(t), requested.append(r)
    if not rows:
        return torch.zeros(0, dtype=torch.long), source[:0], torch.zeros(0, len(full), dtype=torch.bool)
    return torch.cat(rows), torch.cat(targets), torch.cat(requested)


# ------------------------------------------------------------------------------- the attribute classifier

def _shift(x: Tensor, g: torch.Generator, pixels: float = 2.0) -> Tensor:
    """Each image shifted by up to ±``pixels`` (border values fill in): changes no attribute."""
    n, _, h, w = x.shape
    shift = (torch.rand(n, 2, generator=g) - 0.5) * 2 * pixels * torch.tensor([2 / w, 2 / h])
    theta = torch.zeros(n, 2, 3)
    theta[:, 0, 0] = theta[:, 1, 1] = 1
    theta[:, :, 2] = shift
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, align_corners=False, padding_mode="border")


def train_attribute_classifier(data, groups, epochs: int = 10, seed: int = 0, width: int = 64,
                               progress: bool = False) -> Judge:
    """A Judge with K logits trained on ``data.attributes`` (N×K 0/1) with StarGAN's classification loss:
    a cross-entropy per exclusive group (+ BCE for attributes in none); Adam, one-cycle rate, batch 64,
    random shifts of ±2 px."""
    if data.attributes is None:
        raise DataError(f"{data.name or 'the data'} carries no attributes to train a classifier on; use "
                        "attributes:SPEC data")
    torch.manual_seed(seed)
    g = torch.Generator().manual_seed(seed)
    k = data.attributes.shape[1]
    net = Judge(tuple(data.shape), k, width=width)
    opt = torch.optim.Adam(net.parameters(), lr=2e-3)
    batch = 64
    steps = max(1, epochs * math.ceil(len(data) / batch))
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=3e-3, total_steps=steps)
    groups = [list(gr) for gr in groups]
    net.train()
    with torch.enable_grad():   # evaluate() runs under no_grad
        for epoch in range(epochs):
            order = torch.randperm(len(data), generator=g)
            for i in range(0, len(data), batch):
                idx = order[i:i + batch]
                loss = classification_loss(net(_shift(data.x[idx].float(), g)), data.attributes[idx], groups)
                opt.zero_grad()
                loss.backward()
                opt.step()
                sched.step()
            if progress:
                print(f"attribute classifier epoch {epoch + 1}/{epochs}: loss {loss.item():.4f}", flush=True)
    return net.eval().to(memory_format=torch.channels_last)


def read_attributes(classifier: Judge, x: Tensor, groups) -> Tensor:
    """N×K 0/1 attributes of images ``x`` as the classifier reads them (the argmax of each group)."""
    from ..data.batches import batched

    was = classifier.training
    classifier.eval()
    with torch.no_grad():
        logits = batched(lambda b: classifier(b.float().contiguous(memory_format=torch.channels_last)), x, 500)
    classifier.train(was)
    return decide(logits, [list(g) for g in groups])


def group_accuracy(classifier: Judge, data, groups, names=None) -> dict[str, float]:
    """The classifier's accuracy on ``data`` per group (named by its values, "thin/normal/thick")."""
    hits = attribute_hits(read_attributes(classifier, data.x, groups), data.attributes, groups)
    k = data.attributes.shape[1]
    names = list(names) if names else [str(i) for i in range(k)]
    return {"/".join(names[i] for i in g): float(hits[:, j].double().mean())
            for j, g in enumerate(all_groups(groups, k))}


def attribute_classifier_path(data_spec: str, image_shape) -> Path:
    """Where the classifier of ``data_spec``'s attributes at ``image_shape`` is cached (beside the judges,
    in a folder of its own: a digit judge of the same spec and shape is another network)."""
    from ..data.download import cache_dir

    key = (re.sub(r"[^A-Za-z0-9._-]+", "_", data_spec).strip("_") + "-" + "x".join(map(str, image_shape))
           + f"-v{ATTRIBUTES_VERSION}")   # a classifier of older attribute data reads other transforms
    return cache_dir() / "attribute-judges" / key


def load_attribute_classifier(folder: Path) -> tuple[Judge, dict]:
    return load_judge(folder, "attribute classifier", "delete the folder and it is trained again")


def get_attribute_classifier(data_spec: str, image_shape, train_if_missing: bool = True, epochs: int = 10,
                             seed: int = 0, log=None) -> tuple[Judge, dict]:
    """The cached attribute classifier of ``data_spec`` (attributes:SPEC) at ``image_shape``, trained on
    its training split and scored on its test split on first use (``log`` hears of it first)."""
    from ..data import load_data

    folder = attribute_classifier_path(data_spec, image_shape)
    if (folder / "judge.json").is_file():
        return load_attribute_classifier(folder)
    if not train_if_missing:
        raise GenlabError(f"no attribute classifier for {data_spec} {tuple(image_shape)} in {folder.parent}")
    c, h, w = image_shape
    train = load_data(data_spec, "train", image_size=(h, w), channels=c)
    test = load_data(data_spec, "test", image_size=(h, w), channels=c)
    if train.attributes is None:
        raise DataError(f"{data_spec} carries no attributes, so no attribute classifier can be trained on it; "
                        "use attributes:SPEC data")
    groups = [list(g) for g in train.meta.get("attribute_groups") or []]
    names = list(train.meta.get("attributes") or [])
    if log is not None:
        log(f"training the attribute classifier for {data_spec} once; cached at {folder}")
    started = time.perf_counter()
    net = train_attribute_classifier(train, groups, epochs, seed)
    accuracy = group_accuracy(net, test, groups, names) if len(test) else {}
    info = {"data": data_spec, "image_shape": list(image_shape), "attributes": names, "attribute_groups": groups,
            "test_accuracy": accuracy, "epochs": epochs, "seed": seed,
            "seconds": round(time.perf_counter() - started, 1), "arch": net.arch}
    save_tensors(net.state_dict(), folder / "model.safetensors")
    write_json(folder / "judge.json", info)
    return net, info


__all__ = ["all_groups", "attribute_accuracy", "attribute_classifier_path", "attribute_hits", "attributes_kept",
           "changed_targets", "colour_drift", "cycle_error", "get_attribute_classifier", "group_accuracy",
           "group_values", "judge_fids", "label_kept", "luma", "luma_drift", "per_attribute_accuracy",
           "read_attributes", "train_attribute_classifier"]
