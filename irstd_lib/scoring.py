"""Scoring any method's output against a dataset split, with the metrics of :mod:`irstd_lib.metrics`.

Two entry points, used by the CLI (``python -m irstd_lib score`` / ``evaluate``) and the notebooks:

- :func:`score_prediction_folder`: a folder of prediction files made by any method
  (see :mod:`irstd_lib.predictions`) against the masks of a split;
- :func:`evaluate_classical`: run a classical baseline (Top-Hat, IPI) on a split and score it.

Both score at each image's native size, as the field does. A prediction missing for an image of
the split, or of another size than its mask, is an error that names the file.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
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
    """Run a classical baseline on every image of ``dataset`` and score its segmentation.

    The binary prediction is the method's own adaptive threshold (``segment``); ``save_pred``
    writes ``<name>.png`` (that binary mask, 0/255), which ``score`` reads back, and
    ``scores/<name>.npy`` (the raw score map, in the method's own units) for ROC curves.
    """
    from irstd_lib.metrics import SegmentationMetrics
    from irstd_lib.models.classical import build_classical

    detector = build_classical(method, **(method_kwargs or {}))
    metrics = SegmentationMetrics(**metric_kwargs)
    out = Path(save_pred) if save_pred is not None else None
    for index in tqdm(range(len(dataset)), desc=method, disable=not progress):
        sample = dataset[index]
        scores = detector.score(sample.image)
        prediction = detector.segment_scores(scores) if hasattr(detector, "segment_scores") else detector.segment(sample.image)
        metrics.update(np.asarray(prediction, dtype=bool), sample.mask)
        if out is not None:
            write_prediction_png(out / f"{sample.name}.png", np.asarray(prediction, dtype=bool))
            write_prediction_npy(out / "scores" / f"{sample.name}.npy", scores)
    result = metrics.compute()
    result["method"] = method
    return result
