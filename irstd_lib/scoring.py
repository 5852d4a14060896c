"""Scoring any method's output against a dataset split, with the metrics of :mod:`irstd_lib.metrics`.

Two entry points, used by the CLI (``python -m irstd_lib score`` / ``evaluate``) and the notebooks:

- :func:`score_prediction_folder`: a folder of prediction files made by any method
  (see :mod:`irstd_lib.predictions`) against the masks of a split;
- :func:`evaluate_classical`: run a registered classical method (Top-Hat, IPI) on a split and
  score it, through the evaluation path learned models take
  (:func:`irstd_lib.engine.evaluate.evaluate`);
- :func:`evaluate_checkpoint`: a learned model's weights file, scored the same way.

Both score at each image's native size, as the field does. A prediction missing for an image of
the split, or of another size than its mask, is an error that names the file.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tqdm.auto import tqdm

from irstd_lib.data.errors import DatasetError
from irstd_lib.predictions import find_prediction, read_prediction, write_prediction_npy, write_prediction_png


def score_prediction_folder(pred_dir: str | Path, dataset, threshold: float = 0.5, progress: bool = True, **metric_kwargs: Any) -> dict:
    """Score the prediction files in ``pred_dir`` against every image of ``dataset``."""
    from irstd_lib.metrics import SegmentationMetrics

    pred_dir = Path(pred_dir)
    if not pred_dir.is_dir():
        raise DatasetError(pred_dir, "prediction folder does not exist")
    metrics = SegmentationMetrics(threshold=threshold, **metric_kwargs)
    # Check that every prediction exists before reading any, so a missing file fails fast.
    paths = [find_prediction(pred_dir, name) for name in dataset.names]
    for index, path in enumerate(tqdm(paths, desc="score", disable=not progress)):
        sample = dataset[index]
        scores = read_prediction(path)
        if scores.shape != sample.mask.shape:
            raise DatasetError(
                path,
                f"prediction is {scores.shape[1]}x{scores.shape[0]} (WxH) but mask {sample.mask_path} "
                f"is {sample.mask.shape[1]}x{sample.mask.shape[0]}",
            )
        metrics.update(scores, sample.mask)
    return metrics.compute()


def evaluate_classical(
    method: str,
    dataset,
    save_pred: str | Path | None = None,
    progress: bool = True,
    method_kwargs: dict | None = None,
    **metric_kwargs: Any,
) -> dict:
    """Run the registered classical method ``method`` on every image of ``dataset`` and score
    its detections (its own adaptive threshold) with :func:`irstd_lib.engine.evaluate.evaluate`.

    ``save_pred`` writes ``<name>.png`` (the binary detection, 0/255), which ``score`` reads back,
    and ``scores/<name>.npy`` (the raw score map, in the method's own units) for ROC curves.
    Returns the metrics with ``"method"`` added.
    """
    from irstd_lib.engine.evaluate import evaluate
    from irstd_lib.models import build_model, get_variant

    if get_variant(method).kind != "classical":
        raise ValueError(f"{method} is a learned model: train it (python -m irstd_lib train) and evaluate the run")
    out = Path(save_pred) if save_pred is not None else None

    def save(prediction) -> None:
        write_prediction_png(out / f"{prediction.sample.name}.png", prediction.detection)
        write_prediction_npy(out / "scores" / f"{prediction.sample.name}.npy", prediction.scores)

    result = evaluate(build_model(method, **(method_kwargs or {})), dataset, progress=progress,
                      on_prediction=save if out is not None else None, **metric_kwargs)["metrics"]
    result["method"] = method
    return result


def evaluate_checkpoint(
    method: str,
    checkpoint: str | Path,
    dataset,
    model_kwargs: dict | None = None,
    conditioning: dict | None = None,
    size: int | None = None,
    policy: str | None = None,
    device: str = "cpu",
    progress: bool = True,
) -> dict:
    """Score a trained model from its weights file on ``dataset``: the registered ``method`` built
    with ``model_kwargs`` (SAIST: ``sam_checkpoint``, ``clip_checkpoint``...) and the file's
    weights, its condition prepared by its conditioning kind with ``conditioning`` settings (the
    kind's defaults otherwise) on this dataset, the primary evaluation scored. ``size``/``policy``
    default to the model's recipe. Returns the metrics with ``"method"`` and ``"evaluation"``."""
    from irstd_lib.conditioning import ConditioningContext, get_kind
    from irstd_lib.engine.evaluate import evaluate
    from irstd_lib.engine.recipes import recipe
    from irstd_lib.models import build_model, get_variant

    variant = get_variant(method)
    if variant.kind != "learned":
        raise ValueError(f"{method} is a classical method: evaluate it with --method alone")
    model = build_model(method, checkpoint=str(checkpoint), **(model_kwargs or {}))
    kind = get_kind(model.conditioning)
    settings = kind.settings(conditioning or {})
    prepared = kind.prepare(settings, ConditioningContext(Path(dataset.root), {"train": dataset, "test": dataset}, 0, device, progress))
    evaluation = kind.primary_evaluation(settings)
    defaults = recipe(variant.recipe)
    result = evaluate(model.to(device), dataset, size=size if size is not None else defaults.get("val_size"),
                      policy=policy or defaults.get("eval_policy", "pad"), device=device,
                      conditioner=prepared.evaluations[evaluation], progress=progress)["metrics"]
    result.update(method=method, evaluation=evaluation)
    return result


#: A table cell whose run cannot give hIoU: its record predates hIoU (no per-image OPDC counts).
NOT_MEASURED = "—"
HIOU_NOTE = ("hIoU (PyIRSTDMetrics' hierarchical IoU: seg IoU of OPDC-matched targets x loc IoU TP/(TP+FP+FN), at the "
             "run's threshold, percent, with its 95 % bootstrap interval over test images): "
             f"'{NOT_MEASURED}' where the run's record predates hIoU (it holds no per-image OPDC counts and its "
             "weights are not kept, so it is not re-scored here; a new run records them).")


def with_hiou_column(table, per_image: list, decimals: int = 2):
    """``table`` with ``hIoU`` and ``hIoU 95% CI`` after its Fa columns: for each of the first
    ``len(per_image)`` rows (measured runs; one list of rows per seed for a seed mean), the hIoU
    of its per-image OPDC counts (:func:`irstd_lib.bootstrap.bootstrap_intervals`, as the other
    intervals: 1000 resamples, seed 0) rounded to ``decimals``, or :data:`NOT_MEASURED` where
    the record predates hIoU (and :data:`HIOU_NOTE` added to the caption, ``attrs["note"]``);
    empty for the other rows (the paper's). A table without an ``Fa`` column is returned as is."""
    from irstd_lib.bootstrap import bootstrap_intervals, measured_metrics

    if "Fa" not in table.columns:
        return table
    out = table.reset_index(drop=True).copy()
    values, intervals = [""] * len(out), [""] * len(out)
    missing = False
    for i, rows in enumerate(per_image[:len(out)]):
        if rows and "hIoU" in measured_metrics(rows):
            hiou = bootstrap_intervals(rows, n_resamples=1000, seed=0)["hIoU"]
            values[i] = round(hiou["value"], decimals)
            intervals[i] = f"{hiou['low']:.{decimals}f}–{hiou['high']:.{decimals}f}"
        elif rows is not None:
            values[i], missing = NOT_MEASURED, True
    columns = list(out.columns)
    at = columns.index("Fa") + 1
    while at < len(columns) and str(columns[at]).startswith("Fa "):
        at += 1  # after "Fa 95% CI", "Fa (paper)"
    out.insert(at, "hIoU", values)
    out.insert(at + 1, "hIoU 95% CI", intervals)
    out.attrs = dict(table.attrs)
    if missing:
        out.attrs["note"] = " ".join(part for part in (table.attrs.get("note", ""), HIOU_NOTE) if part)
    return out
