"""Classical methods (Top-Hat, IPI) scored on a test split once and recorded like trained runs.

They have nothing to train, but scoring IPI on a test set takes minutes on a CPU:
:func:`score_classical` records them in a run folder (:mod:`irstd_lib.runs.records`) under the
hash of their identity (:func:`~irstd_lib.runs.identity.classical_identity`: the method, its
arguments, the test split's fingerprint and the evaluation settings).

:func:`score_classical_rules` scores one method's maps under several segmentation rules and Fa
counts at once (the map is the slow part, the rules are cheap): ``segmentation="basicirstd"`` with
``fa_mode="basicirstd_b75ecc8"`` is the toolbox's scoring of its classical rows (per-image min-max,
``> 0.5``; :mod:`irstd_lib.models.classical.threshold`), ``"dnanet"`` the DNA-Net paper's
threshold, ``"adaptive"`` this package's. Command line (CSV of one row per rule and Fa count)::

    python -m irstd_lib.runs.classical --method tophat --data <NUAA-SIRST> --protocol toolbox \
        --csv parity/classical_tophat.csv
"""

from __future__ import annotations

import os
from pathlib import Path

from irstd_lib.progress import announce_task
import irstd_lib.runs.records as records
from irstd_lib.runs.config import DataConfig
from irstd_lib.runs.data import open_split, resolve_data_root
from irstd_lib.runs.identity import classical_identity, run_hash
from irstd_lib.runs.records import PREVIEW_IMAGES, ScoredRun, runs_root

__all__ = ["CLASSICAL_FA_MODES", "score_classical", "score_classical_rules"]

#: Fa counts a rules scoring reports: the correct count (the toolbox's from 6576e62 on) and the
#: by-value count of the toolbox's code up to b75ecc8 (its README rows were scored before the fix).
CLASSICAL_FA_MODES = ("correct", "basicirstd_b75ecc8")


def score_classical(
    method: str,
    data: DataConfig,
    data_root: str | os.PathLike | None = None,
    results_dir: str | os.PathLike | None = None,
    size: int | None = None,
    policy: str = "pad",
    progress: bool = False,
    method_kwargs: dict | None = None,
) -> ScoredRun:
    """Score the classical ``method`` on ``data``'s test split once (``size`` and ``policy`` as in
    :func:`irstd_lib.engine.evaluate.evaluate`; the default is each image's native size) and
    record it under ``<results>/runs/<hash>/``; later calls read the record."""
    from irstd_lib.engine.evaluate import ROC_THRESHOLDS, evaluate
    from irstd_lib.models import build_model, get_variant

    variant = get_variant(method)
    if variant.kind != "classical":
        raise ValueError(f"{method} is a learned model: train it with run_experiment")
    root = resolve_data_root(data, data_root)
    test_set = open_split(data, root, data.test_split)
    identity = classical_identity(method, data, test_set.fingerprint(), size, policy, method_kwargs)
    digest = run_hash(identity)
    run_dir = runs_root(results_dir) / digest
    if records.is_finished(run_dir):
        return ScoredRun(method, digest, run_dir, records.read_record(run_dir))
    records.write_config(run_dir, {"hash": digest, "method": method, "identity": identity})
    announce_task(f"scoring {method} on {data.dataset} (run {digest})")
    first = list(test_set.names[:PREVIEW_IMAGES])
    result = evaluate(build_model(method, **(method_kwargs or {})), test_set, size=size, policy=policy, progress=progress,
                      per_image=True, roc_thresholds=ROC_THRESHOLDS, keep_maps=first)
    record = {"hash": digest, "model": method, "kind": "classical", "dataset": data.dataset, "issues": list(test_set.issues),
              "evaluations": ["test"], "primary": "test", "test": result["metrics"], "preview": first}
    records.write_details(run_dir, {"test": {"per_image": result["per_image"], "roc": result["roc"]}})
    records.write_maps(run_dir, result["maps"])
    records.write_record(run_dir, record)
    return ScoredRun(method, digest, run_dir, record)


def score_classical_rules(
    method: str,
    test_set,
    segmentations=None,
    fa_modes=CLASSICAL_FA_MODES,
    method_kwargs: dict | None = None,
    limit: int | None = None,
    scores_dir: str | os.PathLike | None = None,
    progress: bool = False,
    start: int = 0,
    cached_only: bool = False,
) -> list[dict]:
    """One row per (segmentation rule, Fa count) of ``method`` on ``test_set`` (each image's
    native size), from one pass of score maps. Rows: ``method``, ``segmentation``, ``fa_mode``,
    ``images``, ``IoU``, ``nIoU``, ``Pd`` (percent), ``Fa`` (x1e-6), ``targets``, ``matched``,
    ``false_alarm_pixels``, ``pixels``, ``seconds`` (score maps only). ``start`` and ``limit``
    score the images ``start .. start + limit - 1`` only (timing, or one share of a long job);
    ``scores_dir`` keeps each image's map as ``<name>.npy`` (written atomically as soon as it is
    scored, so a killed job loses one image) and reuses the maps found there; ``cached_only``
    scores only the images whose maps are there (a partial result of a job still running)."""
    import time

    import numpy as np

    from irstd_lib.metrics import SegmentationMetrics
    from irstd_lib.models import build_model, get_variant
    from irstd_lib.models.classical.threshold import SEGMENTATIONS, segment_by_rule

    variant = get_variant(method)
    if variant.kind != "classical":
        raise ValueError(f"{method} is a learned model, not a classical method")
    segmentations = tuple(segmentations or SEGMENTATIONS)
    model = build_model(method, **(method_kwargs or {}))
    start = max(0, int(start))
    stop = len(test_set) if limit is None else min(start + int(limit), len(test_set))
    count = 0
    store = Path(scores_dir) if scores_dir is not None else None
    if cached_only and store is None:
        raise ValueError("cached_only needs scores_dir")
    if store is not None:
        store.mkdir(parents=True, exist_ok=True)
    metrics = {(rule, fa): SegmentationMetrics(threshold=0.5, fa_mode=fa) for rule in segmentations for fa in fa_modes}
    seconds = 0.0
    from tqdm.auto import tqdm

    for i in tqdm(range(start, stop), desc=method, disable=not progress, leave=False):
        sample = test_set[i]
        stored = store / f"{sample.name}.npy" if store is not None else None
        if cached_only and not stored.is_file():
            continue
        count += 1
        if stored is not None and stored.is_file():
            scores = np.load(stored)
        else:
            begin = time.perf_counter()
            scores = np.asarray(model.score(sample.image), dtype=np.float32)
            seconds += time.perf_counter() - begin
            if stored is not None:
                tmp = stored.with_name(stored.name + ".tmp.npy")
                np.save(tmp, scores)
                os.replace(tmp, stored)
        mask = np.asarray(sample.mask, dtype=bool)
        for rule in segmentations:
            detection = segment_by_rule(scores, rule, getattr(model, "k", 3.0), getattr(model, "min_value", 0.0))
            for fa in fa_modes:
                metrics[(rule, fa)].update(detection, mask)
    rows = []
    for (rule, fa), metric in metrics.items():
        result = metric.compute()
        rows.append({"method": method, "segmentation": rule, "fa_mode": fa, "images": count,
                     **{key: result[key] for key in ("IoU", "nIoU", "Pd", "Fa")},
                     **{key: result[f"n_{key}"] for key in ("targets", "matched", "false_alarm_pixels", "pixels")},
                     "seconds": round(seconds, 2)})
    return rows


def _main(argv=None) -> None:
    import argparse
    import csv

    from irstd_lib.runs.toolbox_protocol import toolbox_data

    parser = argparse.ArgumentParser(description="Score a classical method under several segmentation rules (CSV).")
    parser.add_argument("--method", required=True, choices=("tophat", "ipi"))
    parser.add_argument("--data", required=True, help="dataset folder (e.g. NUAA-SIRST)")
    parser.add_argument("--protocol", default="toolbox", choices=("toolbox",),
                        help="split: the toolbox's img_idx/test_<name>.txt")
    parser.add_argument("--dataset", default="NUAA-SIRST")
    parser.add_argument("--start", type=int, default=0, help="first test image (index in the list)")
    parser.add_argument("--limit", type=int, default=None, help="score only N test images from --start (timing)")
    parser.add_argument("--scores", default=None, help="folder of the score maps (<name>.npy, kept, reused)")
    parser.add_argument("--cached-only", action="store_true", help="score only the images whose maps are in --scores")
    parser.add_argument("--kwargs", default="{}", help='method arguments as JSON, e.g. \'{"radius": 1, "shape": "square"}\'')
    parser.add_argument("--csv", required=True)
    args = parser.parse_args(argv)
    import json

    method_kwargs = json.loads(args.kwargs)
    data = DataConfig(**toolbox_data(args.dataset))
    test_set = open_split(data, resolve_data_root(data, args.data), data.test_split)
    rows = score_classical_rules(args.method, test_set, method_kwargs=method_kwargs, limit=args.limit, scores_dir=args.scores,
                                 start=args.start, cached_only=args.cached_only,
                                 progress=True)
    for row in rows:
        row["method_kwargs"] = json.dumps(method_kwargs, sort_keys=True)
    os.makedirs(os.path.dirname(os.path.abspath(args.csv)), exist_ok=True)
    tmp = f"{args.csv}.tmp"
    with open(tmp, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    os.replace(tmp, args.csv)
    for row in rows:
        print(f"{row['method']:7s} {row['method_kwargs']} {row['segmentation']:15s} {row['fa_mode']:19s} IoU {row['IoU']:7.3f} nIoU {row['nIoU']:7.3f} "
              f"Pd {row['Pd']:7.3f} Fa {row['Fa']:10.3f} ({row['images']} images, {row['seconds']} s of maps)")


if __name__ == "__main__":
    _main()
