"""How much a table row moves when only the training seed changes: the measured seed spread.

The bootstrap intervals of :mod:`~irstd_lib.reproductions.intervals` hold the test images'
sampling; they say nothing of training's own noise, which on short CPU runs is usually larger
(the same config trained on another CPU type moves IoU by several points). So each system's
reference model is trained with every seed of the profile's ``spread_seeds`` (smoke: 0, 1, 2;
seed 0 is the run the tables already hold, so the spread costs two extra runs per system), and
its standard deviation over seeds (sample sd, ``ddof=1``) is stated beside every table of that
system:

- the table's caption line (``table.attrs["note"]``, which :func:`irstd_lib.results.save_table`
  appends) gives the reference, its seeds and runs, and the sd of each metric;
- the column ``vs <reference>: beyond seed spread`` gives, for each row compared with the
  table's reference row, the metrics whose difference exceeds ``1.96 * sqrt(2) * sd`` (about
  2.8 sd: the 95 % band of the difference of two single-seed runs when each scatters by ``sd``
  with seed alone), and ``not separable`` when none does.

The reference models (:data:`SEED_REFERENCES`) are the rows the tables compare against: LGNet's
baseline (Tables 2 and 6, the description sources), SAIST, DGSPNet and GGL-Net. The spread of
one model stands in for its table's other rows (the same recipe, the same data); that is the
assumption, stated with every table.

**Several seeds per row.** Every table notebook takes ``seeds`` (None: the profile's
``row_seeds``: one seed at ``smoke``, whose budget the 30-minute reproduction cannot triple, and
0, 1, 2 at ``paper``). :func:`run_row` trains a row's config at each seed and returns a
:class:`SeedRuns` when there are several: it reads like a run record whose metrics are the
means over the seeds, with ``<metric> sd`` (sample sd) beside them, and whose per-image counts
are one list per seed (the bootstrap interval is then that of the seed mean, the same resampled
images for every seed). :func:`seed_cells` adds the ``seeds`` and ``<metric> sd`` columns to a
row; one seed adds nothing, so single-seed tables read as before. With a row's own sd known,
:func:`with_seed_spread` compares the row with its reference by their own spreads,
``|mean_row - mean_ref| > 1.96 * sqrt(sd_row^2 / n_row + sd_ref^2 / n_ref)``, a row with one seed
taking the reference system's spread as its sd; with one seed on both sides this is the
``1.96 * sqrt(2) * sd`` rule above.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np
import pandas as pd

from irstd_lib.bootstrap import METRICS
from irstd_lib.profiles import Profile, get_profile
from irstd_lib.reproductions.configs import RunContext

__all__ = ["SEED_REFERENCES", "SeedRuns", "SeedSpread", "SEPARATION_FACTOR", "SPREAD_SUFFIX", "NOT_SEPARABLE", "SD_SUFFIX",
           "comparison_evaluation", "recorded_seed_sd", "reference_config", "row_seeds", "run_row", "seed_cells", "seed_spread",
           "with_seed_spread"]

#: system -> the reference variant trained at every seed
SEED_REFERENCES = {"lgnet": "lgnet_baseline", "saist": "saist", "dgspnet": "dgspnet", "ggl_net": "ggl_net"}

_Z95 = 1.96  # the normal quantile of a two-sided 95 % band
#: a difference beyond this many seed sds separates two single-seed rows (1.96 * sqrt(2))
SEPARATION_FACTOR = _Z95 * math.sqrt(2.0)

#: the spread column is ``vs <reference>`` + this; a row within the spread on every metric reads NOT_SEPARABLE
SPREAD_SUFFIX = ": beyond seed spread"
NOT_SEPARABLE = "not separable"

#: a row trained at several seeds has ``<metric>`` + this beside each metric: the sd over its seeds
SD_SUFFIX = " sd over seeds"


# ------------------------------------------------------------------------------------------------
# Several seeds per row


def row_seeds(profile: "str | Profile", seed: int | None = None, seeds: Sequence[int] | None = None) -> tuple[int, ...]:
    """The seeds one table row is trained at (:meth:`RunContext.row_seeds
    <irstd_lib.reproductions.configs.RunContext.row_seeds>`)."""
    return RunContext.of(profile, seed=seed, seeds=seeds).row_seeds()


class SeedRuns:
    """One table row trained at several seeds, read like a run record
    (:class:`~irstd_lib.experiments.RunResult`): every evaluation's metrics are the means over
    the seeds, with ``<metric> sd over seeds`` beside them; ``details`` gives one list of
    per-image counts per seed and the mean ROC; ``hash`` joins the runs' hashes with ``+``;
    ``train_seconds`` is the seeds' total; the config, folder, parameters, maps, inspection and
    history are the first seed's (a figure shows one trained model)."""

    def __init__(self, runs: Sequence):
        if len(runs) < 2:
            raise ValueError("SeedRuns holds two runs or more; one run is its own record")
        self.runs = tuple(runs)
        first = self.runs[0]
        self.config, self.run_dir, self.checkpoint_dir = first.config, first.run_dir, first.checkpoint_dir
        self.seeds = tuple(int(r.config.seed) for r in self.runs)
        self.hash = "+".join(r.hash for r in self.runs)
        record = dict(first.record)
        for name in first.record.get("evaluations", [first.primary_evaluation]):
            values = {m: np.array([float(r.record[name][m]) for r in self.runs]) for m in METRICS}
            record[name] = {**first.record[name], **{m: float(v.mean()) for m, v in values.items()},
                            **{f"{m}{SD_SUFFIX}": float(v.std(ddof=1)) for m, v in values.items()}}
        record["seeds"], record["runs"] = list(self.seeds), [r.hash for r in self.runs]
        record["train_seconds"] = sum(float(r.record.get("train_seconds") or 0.0) for r in self.runs)
        self.record = record

    @property
    def primary_evaluation(self) -> str:
        return self.runs[0].primary_evaluation

    @property
    def metrics(self) -> dict:
        return self.record[self.primary_evaluation]

    def evaluation(self, name: str) -> dict:
        return self.record[name] if name in self.record else self.runs[0].evaluation(name)

    def details(self, evaluation: str | None = None) -> dict:
        """One list of per-image counts per seed (refused unless every seed was tested on the same
        images: the error names the runs) and the mean ROC."""
        each = [r.details(evaluation) for r in self.runs]
        _check_same_test_images(self.runs, [d["per_image"] for d in each])
        roc = {key: (np.mean([d["roc"][key] for d in each], axis=0).tolist() if isinstance(value, list)
                     else float(np.mean([d["roc"][key] for d in each])))
               for key, value in each[0]["roc"].items()}
        return {"per_image": [d["per_image"] for d in each], "roc": roc}

    def maps(self):
        return self.runs[0].maps()

    def inspection(self):
        return self.runs[0].inspection()

    def history(self):
        return self.runs[0].history()


def _check_same_test_images(runs: Sequence, per_image: Sequence[Sequence[dict]]) -> None:
    """Refuse seeds tested on different images (an error naming the runs and the first image
    where their lists part): a seed mean or spread over two test sets would mix the sets'
    difficulty into the seeds' spread."""
    from irstd_lib.bootstrap import check_same_images

    first = [row.get("name") for row in per_image[0]]
    for run, rows in zip(runs[1:], per_image[1:]):
        check_same_images(first, [row.get("name") for row in rows], f"run {runs[0].hash} (seed {runs[0].config.seed})",
                          f"run {run.hash} (seed {run.config.seed})", "the seeds of one model")


def run_row(context: RunContext, variant: str, **options):
    """Train (or read) one table row, ``variant`` with its ``options``, at each of the context's
    row seeds: the run itself for one seed, a :class:`SeedRuns` for several."""
    from irstd_lib.runs import run_experiment

    results = [run_experiment(context.config(variant, seed=seed, **options), data_root=context.data_root,
                              results_dir=context.results_dir, device=context.device, progress=context.progress)
               for seed in context.row_seeds()]
    return results[0] if len(results) == 1 else SeedRuns(results)


def comparison_evaluation(result) -> str:
    """The evaluation a comparison (and a seed spread) reads: LGNet's image-only descriptor at test
    when the run has one (no annotation at inference, as every other method), else the run's
    primary evaluation."""
    return "test_without_text" if "test_without_text" in result.record else result.primary_evaluation


def seed_cells(result, evaluation: str | None = None) -> dict:
    """A table row's seed columns: ``seeds`` and ``<metric> sd over seeds`` of a
    :class:`SeedRuns`; nothing for a single run."""
    if not isinstance(result, SeedRuns):
        return {}
    metrics = result.evaluation(evaluation or result.primary_evaluation)
    return {"seeds": ", ".join(map(str, result.seeds)),
            **{f"{m}{SD_SUFFIX}": metrics[f"{m}{SD_SUFFIX}"] for m in METRICS if f"{m}{SD_SUFFIX}" in metrics}}


@dataclass(frozen=True)
class SeedSpread:
    """One reference model measured at several seeds: ``values[metric]`` in seed order."""

    variant: str
    seeds: tuple[int, ...]
    runs: tuple[str, ...]
    values: dict[str, tuple[float, ...]]

    def sd(self, metric: str) -> float:
        values = np.asarray(self.values[metric], dtype=float)
        values = values[np.isfinite(values)]
        return float(np.std(values, ddof=1)) if len(values) > 1 else float("nan")

    def mean(self, metric: str) -> float:
        return float(np.nanmean(np.asarray(self.values[metric], dtype=float)))

    def note(self, metrics: Sequence[str] = METRICS) -> str:
        sds = ", ".join(f"{m} {self.sd(m):.2f}" for m in metrics)
        means = ", ".join(f"{m} {self.mean(m):.2f}" for m in metrics)
        return (f"Seed spread: {self.variant} trained with seeds {', '.join(map(str, self.seeds))} "
                f"(runs {', '.join(self.runs)}) has sd {sds} (mean {means}); rows whose difference from the "
                f"reference is within {SEPARATION_FACTOR:.2f} sd are not separable from it by these runs.")


def reference_config(system: str, context: RunContext, seed: int):
    """The run config of ``system``'s reference model at ``seed`` (:data:`SEED_REFERENCES`)."""
    if system not in SEED_REFERENCES:
        raise ValueError(f"no seed reference for system {system!r}; known: {sorted(SEED_REFERENCES)}")
    return context.config(SEED_REFERENCES[system], seed=seed)


def seed_spread(system: str, context: RunContext, seeds: Sequence[int] | None = None) -> SeedSpread:
    """Train (or read) ``system``'s reference model at each seed (default: the profile's
    ``spread_seeds``) and return the spread."""
    from irstd_lib.runs import run_experiment

    seeds = tuple(int(s) for s in (seeds if seeds is not None else context.profile.spread_seeds))
    if len(seeds) < 2:
        raise ValueError(f"a seed spread needs at least two seeds, got {seeds}")
    runs, values = [], {m: [] for m in METRICS}
    for seed in seeds:
        result = run_experiment(reference_config(system, context, seed), data_root=context.data_root,
                                results_dir=context.results_dir, device=context.device, progress=context.progress)
        metrics = result.evaluation(comparison_evaluation(result))
        runs.append(result)
        for m in METRICS:
            values[m].append(float(metrics[m]))
    _check_same_test_images(runs, [r.details(comparison_evaluation(r))["per_image"] for r in runs])
    runs = [r.hash for r in runs]
    return SeedSpread(SEED_REFERENCES[system], seeds, tuple(runs), {m: tuple(v) for m, v in values.items()})


def with_seed_spread(table: pd.DataFrame, spread: SeedSpread, reference: int, reference_label: str,
                     measured_rows: int | None = None) -> pd.DataFrame:
    """``table`` with the column ``vs <reference_label>: beyond seed spread`` over its first
    ``measured_rows`` rows (default: all) and ``attrs["note"]`` stating the spread. Rows trained
    at several seeds (a ``seeds`` column and ``<metric> sd over seeds`` columns, from
    :func:`seed_cells`) are compared by their own sds (see the module docstring)."""
    out = table.copy()
    n = len(out) if measured_rows is None else measured_rows
    metrics = [m for m in METRICS if m in out.columns]
    # each metric's difference from the reference row, and each row's (sd, number of seeds)
    deltas = {m: pd.to_numeric(out[m], errors="coerce").to_numpy(dtype=float) for m in metrics}
    deltas = {m: values - values[reference] for m, values in deltas.items()}
    counts = np.array([len(str(v).split(",")) if isinstance(v, str) and v else 1
                       for v in (out["seeds"] if "seeds" in out else [""] * len(out))], dtype=float)
    sds = {}
    for m in metrics:
        own = (pd.to_numeric(out[f"{m}{SD_SUFFIX}"], errors="coerce").to_numpy(dtype=float) if f"{m}{SD_SUFFIX}" in out
               else np.full(len(out), np.nan))
        sds[m] = np.where(np.isfinite(own) & (counts > 1), own, spread.sd(m))
    column = []
    for i in range(len(out)):
        if i == reference:
            column.append("reference")
            continue
        if i >= n:
            column.append("")
            continue
        parts = []
        for m in metrics:
            bound = _Z95 * math.sqrt(sds[m][i] ** 2 / counts[i] + sds[m][reference] ** 2 / counts[reference])
            if np.isfinite(deltas[m][i]) and np.isfinite(bound) and abs(deltas[m][i]) > bound:
                parts.append(f"{m} {deltas[m][i]:+.2f}")
        column.append("; ".join(parts) if parts else NOT_SEPARABLE)
    out[f"vs {reference_label}{SPREAD_SUFFIX}"] = column
    out.attrs["note"] = spread.note(metrics)
    if (counts[:n] > 1).any():
        out.attrs["note"] += (" Rows trained at several seeds are compared by their own sds instead: separable when "
                              "|difference| > 1.96 sqrt(sd_row^2 / n_row + sd_ref^2 / n_ref), a row with one seed "
                              "taking the reference's spread.")
    return out


def recorded_seed_sd(system: str, profile: str, results_dir) -> dict[str, float] | None:
    """The seed sd of ``system``'s reference, from the records under ``<results_dir>/runs/``
    alone (nothing is trained): the runs of its reference variant under ``profile`` at the
    profile's spread seeds. None when fewer than two of those seeds are recorded."""
    from irstd_lib.runs import finished_runs

    wanted = set(get_profile(profile).spread_seeds)
    by_seed: dict[int, dict] = {}
    for saved, record in finished_runs(results_dir):
        config = saved.get("config")
        if config and config.get("model") == SEED_REFERENCES.get(system) and config.get("profile") == profile \
                and config.get("seed") in wanted:
            by_seed[int(config["seed"])] = record[record["primary"]]
    if len(by_seed) < 2:
        return None
    return {m: float(np.std([by_seed[s][m] for s in sorted(by_seed)], ddof=1)) for m in METRICS}
