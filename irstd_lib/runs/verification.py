"""Verifying a recorded run: train it again here and compare the fresh metrics with the record.

:func:`~irstd_lib.runs.run_experiment` does it for a recorded run when asked (``verify=True``, or
the environment variable :data:`VERIFY_ENV` is ``1``, as ``reproduce --verify`` sets for its
notebooks). The fresh metrics are kept in the run's cache folder
(``$IRSTD_CACHE/runs/<hash>/fresh_metrics.json``), so a second check does not train again; each
comparison is appended as one JSON line to the file :data:`VERIFY_LOG_ENV` names, and
:func:`verification_status` classifies it. The record, and so every table, stays as committed.
"""

from __future__ import annotations

import json
import os

import numpy as np

from irstd_lib.bootstrap import METRICS
from irstd_lib.io import atomic_write_json
from irstd_lib.progress import announce_task
from irstd_lib.runs.records import RunResult
from irstd_lib.runs.training import PreparedRun, evaluate_run, fit_run, select_checkpoint

__all__ = ["VERIFY_ENV", "VERIFY_LOG_ENV", "verification_status"]

VERIFY_ENV = "IRSTD_VERIFY"
VERIFY_LOG_ENV = "IRSTD_VERIFY_LOG"

FRESH_METRICS_FILE = "fresh_metrics.json"
"""In the run's cache folder: the metrics of the run trained again here."""


def _verify(recorded: RunResult, prep: PreparedRun, device: str, progress: bool, channels_last: bool | None) -> dict:
    """Fresh metrics of a recorded run (trained again unless the cache holds them), logged."""
    fresh_path = prep.checkpoint_dir / FRESH_METRICS_FILE
    if fresh_path.is_file():
        fresh = json.loads(fresh_path.read_text())
    else:
        trainer, fit, condition, train_cfg = fit_run(recorded.config, prep, device, progress, channels_last)
        select_checkpoint(trainer, fit)  # the record's weights: the best validation epoch's, under a validation list
        announce_task(f"evaluating {recorded.config.model} (run {prep.hash}) to compare with its record")
        evaluations, _, _ = evaluate_run(trainer.module, prep.test_set, train_cfg, condition.evaluations,
                                         recorded.config.primary_evaluation, device, progress)
        fresh = {"hash": prep.hash, "model": recorded.config.model, "primary": recorded.config.primary_evaluation,
                 "evaluations": {name: {m: metrics[m] for m in METRICS} for name, metrics in evaluations.items()}}
        atomic_write_json(fresh_path, fresh)
    entry = {"hash": prep.hash, "model": recorded.config.model, "seed": recorded.config.seed, "primary": fresh["primary"],
             "recorded": {name: {m: recorded.record[name][m] for m in METRICS} for name in fresh["evaluations"]},
             "fresh": fresh["evaluations"]}
    log = os.environ.get(VERIFY_LOG_ENV)
    if log:
        with open(log, "a", encoding="utf-8") as f:  # one line per check; several notebooks append in turn
            f.write(json.dumps(entry, sort_keys=True) + "\n")
    return entry


def verification_status(entry: dict, seed_sd: dict[str, float] | None, factor: float) -> str:
    """``identical`` (every metric of every evaluation equal), ``within seed spread`` (every
    metric of the primary evaluation within ``factor`` seed sds of its record) or ``outside``
    (also when no seed spread is known for the run's system)."""
    if all(entry["fresh"][name][m] == entry["recorded"][name][m] for name in entry["fresh"] for m in METRICS):
        return "identical"
    if not seed_sd:
        return "outside"
    primary = entry["primary"]
    for m in METRICS:
        delta, sd = abs(entry["fresh"][primary][m] - entry["recorded"][primary][m]), seed_sd.get(m, float("nan"))
        if not (np.isfinite(delta) and np.isfinite(sd) and delta <= factor * sd):
            return "outside"
    return "within seed spread"
