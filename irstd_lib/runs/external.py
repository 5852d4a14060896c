"""Predictions made by another framework, scored on a test split and recorded like this package's runs.

A comparison with another code base (the field's toolbox, XinyiYing/BasicIRSTD, trained on the
same CPU) needs its numbers measured the way this package measures its own: the same masks, the
same metric code, per-image counts for bootstrap intervals. :func:`score_external_run` reads a
folder of the other framework's float score maps (``<name>.npy``, see :mod:`irstd_lib.predictions`;
8-bit PNGs lose the threshold's exactness, so ``.npy`` is what a parity check should export),
scores every image of the test split and records the result in a run folder
(:mod:`irstd_lib.runs.records`) under the hash of its identity: the predictions' contents (a
digest of every file's bytes), the split's settings and fingerprint, the threshold and the Fa
mode. Its ``config.json`` has ``method`` (so :func:`~irstd_lib.runs.load_run` returns a
:class:`~irstd_lib.runs.records.ScoredRun`), ``framework`` and the caller's ``provenance``
(commit, command, checkpoint: what a reader needs to redo it); ``metrics.json`` has
``kind: "external"``. The training history the other framework logged (its losses, its seconds
per epoch) is written as the record's ``history.csv`` when given.

Nothing here runs the other framework's code: the caller exports its predictions.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from irstd_lib.data.errors import DatasetError
from irstd_lib.progress import announce_task
import irstd_lib.runs.records as records
from irstd_lib.runs.config import DataConfig
from irstd_lib.runs.data import open_split, resolve_data_root
from irstd_lib.runs.identity import run_hash
from irstd_lib.runs.records import PREVIEW_IMAGES, ScoredRun, runs_root

__all__ = ["predictions_digest", "score_external_run"]

EXTERNAL_FORMAT_VERSION = 1
"""Bumped when what an external scoring records changes (it enters the identity)."""


def predictions_digest(paths: list[Path]) -> str:
    """12 hex digits over the file names and bytes of ``paths`` (in the order given)."""
    digest = hashlib.sha256()
    for path in paths:
        digest.update(path.name.encode() + b"\0" + hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()[:12]


def score_external_run(
    method: str,
    framework: str,
    pred_dir: str | os.PathLike,
    data: DataConfig,
    data_root: str | os.PathLike | None = None,
    results_dir: str | os.PathLike | None = None,
    provenance: dict | None = None,
    history: list[dict] | None = None,
    threshold: float = 0.5,
    fa_mode: str = "correct",
    progress: bool = False,
) -> ScoredRun:
    """Score ``framework``'s predictions of ``method`` (``pred_dir/<name>.npy`` per test image, the
    score map at the image's native size) on ``data``'s test split, ``score > threshold`` a target
    pixel, and record it under ``<results>/runs/<hash>/``; a later call with the same files reads
    the record. A missing file or a map of the wrong size is an error naming the file."""
    from irstd_lib.metrics import SegmentationMetrics
    from irstd_lib.predictions import read_prediction

    pred_dir = Path(pred_dir)
    if not pred_dir.is_dir():
        raise DatasetError(pred_dir, "prediction folder does not exist")
    root = resolve_data_root(data, data_root)
    test_set = open_split(data, root, data.test_split)
    paths = []
    for name in test_set.names:  # every file checked before any is read, so a missing one fails fast
        path = pred_dir / f"{name}.npy"
        if not path.is_file():
            raise DatasetError(path, f"no prediction for test image {name!r} (expected a float score map as .npy)")
        paths.append(path)
    identity = {"kind": "external", "format": EXTERNAL_FORMAT_VERSION, "method": method, "framework": framework,
                "predictions": predictions_digest(paths), "threshold": threshold, "fa_mode": fa_mode,
                "data": {"dataset": data.dataset, "split_dir": data.split_dir, "split_version": data.split_version,
                         "test_split": data.test_split, "on_size_mismatch": data.on_size_mismatch,
                         "fingerprint": test_set.fingerprint()}}
    digest = run_hash(identity)
    run_dir = runs_root(results_dir) / digest
    if records.is_finished(run_dir):
        return ScoredRun(method, digest, run_dir, records.read_record(run_dir))
    records.write_config(run_dir, {"hash": digest, "method": method, "framework": framework, "identity": identity,
                                   "provenance": dict(provenance or {})})
    announce_task(f"scoring {framework}'s {method} predictions on {data.dataset} (run {digest})")
    metrics = SegmentationMetrics(threshold=threshold, fa_mode=fa_mode, per_image=True)
    kept = {}
    for index, path in enumerate(paths):
        sample = test_set[index]
        scores = read_prediction(path)
        if scores.shape != sample.mask.shape:
            raise DatasetError(path, f"prediction is {scores.shape[1]}x{scores.shape[0]} (WxH) but the mask of "
                                     f"{sample.name} is {sample.mask.shape[1]}x{sample.mask.shape[0]}")
        metrics.update(scores, sample.mask)
        if index < PREVIEW_IMAGES:
            kept[sample.name] = scores
    result = metrics.compute()
    per_image = [{"name": name, **row} for name, row in zip(test_set.names, metrics.rows)]
    record = {"hash": digest, "model": method, "kind": "external", "framework": framework, "dataset": data.dataset,
              "issues": list(test_set.issues), "evaluations": ["test"], "primary": "test", "test": result,
              "preview": list(kept)}
    records.write_details(run_dir, {"test": {"per_image": per_image}})
    records.write_maps(run_dir, kept)
    if history:
        records.write_history(run_dir, history)
    records.write_record(run_dir, record)
    return ScoredRun(method, digest, run_dir, record)
