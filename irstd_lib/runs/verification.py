"""Verifying a recorded run: train it again here and compare the fresh metrics with the record.

:func:`~irstd_lib.runs.run_experiment` does it for a recorded run when asked (``verify=True``, or
the environment variable :data:`VERIFY_ENV` is ``1``, as ``reproduce --verify`` sets for its
notebooks). The fresh metrics are kept in the run's cache folder
(``$IRSTD_CACHE/runs/<hash>/fresh_metrics.json``), so a second check does not train again; each
comparison is appended as one JSON line to the file :data:`VERIFY_LOG_ENV` names, and
:func:`verification_status` classifies it by a rule whose false-alarm rate is stated (5 % for
the whole verification; derived there). The record, and so every table, stays as committed.

Before issue 22 a run was "within seed spread" when every metric lay within 1.96 x sqrt(2) sd
(the normal band, as if the sd of 3 seeds were known), and a run of a system without a seed
reference (ACM, DNA-Net) was called "outside" for want of a spread; classical scorings are not
re-scored by ``--verify`` (they never enter the log; an entry of one is judged deterministic).
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass

import numpy as np

from irstd_lib.bootstrap import METRICS
from irstd_lib.io import atomic_write_json
from irstd_lib.progress import announce_task
from irstd_lib.runs.records import RunResult
from irstd_lib.runs.training import PreparedRun, evaluate_run, fit_run, select_checkpoint

__all__ = ["FAILING_STATUSES", "FAMILY_FALSE_ALARM", "STATUSES", "SeedSample", "VERIFY_ENV", "VERIFY_LOG_ENV", "spread_quantile",
           "verification_status", "verification_verdict"]

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
             "profile": recorded.config.profile, "dataset": recorded.config.data.dataset,
             "recorded": {name: {m: recorded.record[name][m] for m in METRICS} for name in fresh["evaluations"]},
             "fresh": fresh["evaluations"]}
    log = os.environ.get(VERIFY_LOG_ENV)
    if log:
        with open(log, "a", encoding="utf-8") as f:  # one line per check; several notebooks append in turn
            f.write(json.dumps(entry, sort_keys=True) + "\n")
    return entry


#: the verification's false-alarm rate as a whole: the chance that a verification whose every
#: fresh run is a seed-like draw fails anyway (see :func:`verification_status`)
FAMILY_FALSE_ALARM = 0.05

#: every status, passing ones first; ``FAILING_STATUSES`` make the verification fail
STATUSES = ("identical", "within seed spread", "no spread recorded", "outside seed spread", "differs (deterministic)")
FAILING_STATUSES = ("outside seed spread", "differs (deterministic)")


@dataclass(frozen=True)
class SeedSample:
    """The recorded seed runs of a system's reference model: ``values[metric]`` in seed order
    (the primary evaluation of each run), measured on one dataset under one profile."""

    variant: str
    seeds: tuple[int, ...]
    values: dict[str, tuple[float, ...]]

    @property
    def n(self) -> int:
        return len(self.seeds)

    def sd(self, metric: str) -> float:
        return float(np.std(self.values[metric], ddof=1)) if self.n > 1 else float("nan")

    def mean(self, metric: str) -> float:
        return float(np.mean(self.values[metric]))


def spread_quantile(seeds: int, runs_judged: int, family_false_alarm: float = FAMILY_FALSE_ALARM,
                    metrics: int = len(METRICS)) -> float:
    """The t quantile a standardised difference must exceed to fail one metric of one run:
    ``t(1 - a / 2, seeds - 1)`` with ``a = family_false_alarm / (metrics * runs_judged)``
    (Bonferroni over the metrics and the runs; see :func:`verification_status`)."""
    from scipy import stats

    if seeds < 2:
        raise ValueError(f"a seed spread needs at least two seeds, got {seeds}")
    if runs_judged < 1:
        raise ValueError(f"runs_judged counts the runs judged by a spread: at least 1, got {runs_judged}")
    if not 0.0 < family_false_alarm < 1.0:
        raise ValueError(f"family_false_alarm is a probability in (0, 1), got {family_false_alarm}")
    per_test = family_false_alarm / (metrics * runs_judged)
    return float(stats.t.ppf(1.0 - per_test / 2.0, df=seeds - 1))


def verification_verdict(entry: dict, spread: SeedSample | None, runs_judged: int, deterministic: bool = False,
                         family_false_alarm: float = FAMILY_FALSE_ALARM) -> dict:
    """The status of one verification log entry (:func:`verification_status`) with what it was
    judged by: ``bounds`` (per metric, the largest difference from ``centre`` that passes),
    ``centre`` (per metric: the record, or the reference's seed mean) and ``spread`` (which
    variant's seeds, ``deterministic`` or None)."""
    primary = entry["primary"]
    fresh, recorded = entry["fresh"], entry["recorded"]
    out = {"status": None, "bounds": None, "centre": None,
           "spread": "deterministic" if deterministic else (None if spread is None else
                                                            f"{spread.variant} seeds {', '.join(map(str, spread.seeds))}")}
    if all(fresh[name][m] == recorded[name][m] for name in fresh for m in METRICS):
        out["status"] = "identical"
        return out
    if deterministic:
        out["status"] = "differs (deterministic)"
        return out
    if spread is None or spread.n < 2:
        out["status"] = "no spread recorded"
        return out
    q = spread_quantile(spread.n, runs_judged, family_false_alarm)
    of_reference = entry["model"] == spread.variant and entry.get("seed") in spread.seeds
    centre = {m: spread.mean(m) if of_reference else float(recorded[primary][m]) for m in METRICS}
    scale = math.sqrt(1.0 + 1.0 / spread.n) if of_reference else math.sqrt(2.0)
    bounds = {m: q * scale * spread.sd(m) for m in METRICS}
    out["centre"], out["bounds"] = centre, bounds
    inside = True
    for m in METRICS:
        delta = abs(float(fresh[primary][m]) - centre[m])
        # a metric whose seeds all agree (sd 0) passes only unchanged: the rule has nothing wider
        if not (np.isfinite(delta) and np.isfinite(bounds[m]) and delta <= bounds[m]):
            inside = False
    out["status"] = "within seed spread" if inside else "outside seed spread"
    return out


def verification_status(entry: dict, spread: SeedSample | None, runs_judged: int, deterministic: bool = False,
                        family_false_alarm: float = FAMILY_FALSE_ALARM) -> str:
    """Whether a run trained again here reproduces its record (an entry of the verification log),
    one of :data:`STATUSES`:

    - ``identical``: every metric of every evaluation equal to the record;
    - ``differs (deterministic)``: a deterministic scoring (a classical method: no training, no
      seed) that is not identical; nothing but identical passes;
    - ``no spread recorded``: not identical, and the run's system has no recorded seed spread
      (``spread`` None): the rule cannot judge it, and says so (it neither passes nor fails);
    - ``within seed spread`` / ``outside seed spread``: the rule below.

    **The rule.** The hypothesis a verification tests is that a run trained on another machine is
    one more draw of training's own noise: a fresh run with the same seed on another CPU parts
    from its record in the last digits at epoch 1 and then drifts, chaotically (README,
    determinism). Let the system's reference model be recorded at ``n`` seeds with values
    ``x_1..x_n`` of a metric, mean ``xbar`` and sample sd ``s`` (``n - 1`` degrees of freedom);
    a single run scatters by ``sigma`` with the seed. For one metric of one run, with ``f`` the
    fresh value:

    - a run of the reference model at one of those seeds is compared with the seeds' mean:
      ``f - xbar ~ N(0, sigma^2 (1 + 1/n))``, independent of ``s`` (normal theory), so
      ``T = (f - xbar) / (s sqrt(1 + 1/n)) ~ t(n - 1)``, exactly: the t prediction interval for
      one new observation;
    - any other run of the system (an ablation row, another seed) is compared with its own
      record ``r``: ``f - r ~ N(0, 2 sigma^2)`` when its seed sd equals the reference's (the
      assumption every table of the system states), so ``T = (f - r) / (s sqrt 2) ~ t(n - 1)``.

    The metric passes when ``|T| <= t(1 - a/2, n - 1)`` (:func:`spread_quantile`), with
    ``a = family_false_alarm / (4 K)``: Bonferroni over the 4 metrics and over the ``K =
    runs_judged`` runs of the verification judged by a spread (fixed by the runs checked, not by
    their outcome; identical runs count, deterministic and unspread ones do not). A run passes
    when its 4 metrics pass. So, whatever the correlation of the metrics and of the runs (they
    share ``s`` within a system), the false-alarm rate is at most ``4a = family_false_alarm / K``
    per run and at most ``family_false_alarm`` (5 %) for the whole verification; with independent
    metrics and runs it is about that (``1 - (1 - a)^(4K)``). Where the same seed keeps part of
    its path on another CPU, ``f - r`` scatters by less than ``sqrt 2 sigma`` and the rates are
    lower still: upper bounds, never optimistic.

    The price of three seeds: at ``n = 3`` (2 degrees of freedom) and ``K = 33`` the quantile is
    about 51, so a run fails only beyond about 73 seed sds from its record (59 for a reference
    run). That is the honest width of a 5 % family-wise test resting on two degrees of freedom;
    at ``n = 10`` it is 7.8 sds, at ``n = 20`` 6.1 (README, verification). The rule names its
    bounds (:func:`verification_verdict`) so a report can print them beside the differences.
    A metric whose seeds all agree (``s = 0``) passes only unchanged."""
    return verification_verdict(entry, spread, runs_judged, deterministic, family_false_alarm)["status"]
