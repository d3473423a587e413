"""Report sections of the conditional GANs: digits on demand judged by a classifier (cgan, acgan),
and InfoGAN's code traversals with the categorical code matched to classes."""
from __future__ import annotations

import torch

from ...data.batches import batched
from ...errors import GenlabError
from ...metrics.sample import matched_code_agreement, requested_class_accuracy
from ...viz.grids import labelled_rows
from . import label_names, section


def cached_judge(run_dir, model):
    """The cached judge for the run's data and image shape, or (None, why): a report never trains one."""
    from ... import runs
    from ...metrics.judge import get_judge

    try:
        spec = (runs.read_config(run_dir).get("data") or {}).get("spec")
        if not spec:
            return None, "the run records no data spec"
        return get_judge(spec, model.image_shape, train_if_missing=False)[0], ""
    except GenlabError as exc:
        return None, str(exc)


@torch.no_grad()
def judged_samples(model, judge, per_class: int = 100, seed: int = 0, batch: int = 500) -> dict:
    """``per_class`` samples of each value of the model's label space (classes: cgan, acgan; a
    categorical code: infogan), labelled by ``judge``. Returns the requested labels, the judge's
    labels and the figure: ``accuracy`` (requested-class accuracy) for labels that are classes,
    ``agreement`` (matched code agreement) for a code, whose values carry no class names."""
    space = model.label_space
    k = space.size
    torch.manual_seed(seed)
    requested = torch.arange(k).repeat_interleave(per_class)
    images = batched(lambda y: model.sample(len(y), y=y), requested, batch)
    judged = judge.predict(images).cpu()
    out = {"requested": requested, "judged": judged, "n": len(requested),
           "classes_found": int(judged.unique().numel())}
    if space.kind == "classes":
        out.update(requested_class_accuracy(requested, judged, k))
    else:
        out.update(matched_code_agreement(requested, judged, k, judge.num_classes))
    return out


@torch.no_grad()
def code_reading(model, x, y, batch: int = 500) -> dict:
    """Q's categorical code of labelled images matched to their labels (``matched_code_agreement``):
    infogan's Q as an unsupervised classifier; the labels only score it."""
    codes = batched(lambda images: model.infer_codes(images)[0], x, batch, device=model.device)
    return matched_code_agreement(codes, y, model.label_space.size, max(int(y.max()) + 1, 1))


@section("Digits on demand", needs=("sample", "data"), models=("cgan", "acgan"), label_space="classes")
@torch.no_grad()
def conditional_sections(report, model, data, run_dir) -> None:
    names = label_names(model, data)
    k, per_row = model.label_space.size, 10
    torch.manual_seed(0)
    images = model.sample(k * per_row, y=torch.arange(k).repeat_interleave(per_row)).cpu()
    report.section("Digits on demand", f"Row = requested class: {per_row} samples each, z ~ N(0, I), generated "
                   "with that label.")
    report.image(labelled_rows(list(images.view(k, per_row, *model.image_shape)), names, min_cell=48))
    judge, why = cached_judge(run_dir, model)
    if judge is None:
        report.text(f"No cached judge, so the share of samples drawn as the requested class is not measured ({why}).")
        return
    got = judged_samples(model, judge)
    report.text(f"The cached judge classifier labels {got['accuracy']:.1%} of {got['n']} samples ({got['n'] // k} per "
                f"class) as the requested class; classes it finds among them: {got['classes_found']}/{k}.")
    report.table([{"class": names[c], "judged as requested": "n/a" if a is None else f"{a:.1%}"}
                  for c, a in enumerate(got["per_class"])])


@section("Auxiliary classifier", needs=("labels",), models=("acgan",))
@torch.no_grad()
def auxiliary_classifier(report, model, data, run_dir) -> None:
    x, y = data.x[:1000], data.y[:1000]
    acc = float((batched(model.classify, x, device=model.device) == y).float().mean())
    report.text(f"AC-GAN's own auxiliary classifier on {len(x)} held-out images: {acc:.1%} correct.")


@section("Categorical code", needs=("data",), models=("infogan",), label_space="code")
@torch.no_grad()
def infogan_sections(report, model, data, run_dir) -> None:
    k = model.label_space.size
    walk = model.traverse_codes(n_noise=10, steps=10)
    report.section("Categorical code", f"Row = value of c1 (0…{k - 1}); columns = different noise z, the same in "
                   "every row; continuous codes 0. Trained without labels: if c1 captured the digit class, each "
                   "row is one digit (in an order of its own).")
    report.image(labelled_rows(list(walk["categorical"].cpu()), [f"c1={c}" for c in range(k)]))
    for j in range(model.config.continuous):
        report.section(f"Continuous code c{j + 2}", f"Row = value of c1; columns: c{j + 2} from −2 to 2 (trained on "
                       "−1…1), one z, the other continuous codes 0. The paper's MNIST codes came out as slant and "
                       "width.")
        report.image(labelled_rows(list(walk[f"continuous_{j + 1}"].cpu()), [f"c1={c}" for c in range(k)]))
    judge, why = cached_judge(run_dir, model)
    lines = []
    if judge is not None:
        got = judged_samples(model, judge)
        lines.append(f"Generated: the judge's labels of {got['n']} samples ({got['n'] // k} per value of c1) agree "
                     f"with c1 on {got['agreement']:.1%} after matching code values to classes one to one "
                     f"(Hungarian algorithm); c1 = 0…{k - 1} → class {got['mapping']}. Counting each value's most "
                     f"common class instead (purity, many to one): {got['purity']:.1%}; the gap is classes split "
                     "over two values of c1 or sharing one.")
    else:
        lines.append(f"No cached judge, so the generated images' classes are not measured ({why}).")
    if data.y is not None:
        read = code_reading(model, data.x[:1000], data.y[:1000])
        lines.append(f"Held-out images read by Q: its c1 matches their labels on {read['agreement']:.1%} after the "
                     "same matching (an unsupervised classifier).")
    report.section("Does c1 mean the class?", " ".join(lines))
