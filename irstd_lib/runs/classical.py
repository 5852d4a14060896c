"""Classical methods (Top-Hat, IPI) scored on a test split once and recorded like trained runs.

They have nothing to train, but scoring IPI on a test set takes minutes on a CPU:
:func:`score_classical` records them in a run folder (:mod:`irstd_lib.runs.records`) under the
hash of their identity (:func:`~irstd_lib.runs.identity.classical_identity`: the method, its
arguments, the test split's fingerprint and the evaluation settings).
"""

from __future__ import annotations

import os

from irstd_lib.progress import announce_task
import irstd_lib.runs.records as records
from irstd_lib.runs.config import DataConfig
from irstd_lib.runs.data import open_split, resolve_data_root
from irstd_lib.runs.identity import classical_identity, run_hash
from irstd_lib.runs.records import PREVIEW_IMAGES, ScoredRun, runs_root

__all__ = ["score_classical"]


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
