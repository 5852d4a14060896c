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
one model stands in for the other rows of its system (the same recipe, the same data); that is
the assumption, stated with every table. A table whose rows are other systems (SAIST's Table 1)
gives each row its own system's spread (:func:`row_spreads`); ACM and DNA-Net have no reference
and so no spread (their rows say so: :data:`NO_SPREAD`), and a classical method is deterministic
(sd 0). Until 2026-12-01 every row of SAIST's Table 1 took SAIST's spread, ACM's and DNA-Net's
included.

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

__all__ = ["DETERMINISTIC", "NO_SPREAD", "SEED_REFERENCES", "SeedRuns", "SeedSpread", "SEPARATION_FACTOR", "SPREAD_SUFFIX", "NOT_SEPARABLE", "SD_SUFFIX",
           "comparison_evaluation", "recorded_seed_sample", "recorded_seed_sd", "reference_config", "row_seeds", "row_spreads", "run_row", "seed_cells", "seed_spread",
           "with_seed_spread"]

#: system -> the reference variant trained at every seed
SEED_REFERENCES = {"lgnet": "lgnet_baseline", "saist": "saist", "dgspnet": "dgspnet", "ggl_net": "ggl_net"}

_Z95 = 1.96  # the normal quantile of a two-sided 95 % band
#: a difference beyond this many seed sds separates two single-seed rows (1.96 * sqrt(2))
SEPARATION_FACTOR = _Z95 * math.sqrt(2.0)

#: the spread column is ``vs <reference>`` + this; a row within the spread on every metric reads NOT_SEPARABLE
SPREAD_SUFFIX = ": beyond seed spread"
NOT_SEPARABLE = "not separable"

#: a row whose system has no recorded seed spread reads this in the spread column
NO_SPREAD = "no seed spread for its system"
#: a classical row's spread (deterministic: sd 0), in :func:`row_spreads`
DETERMINISTIC = "deterministic"

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


def row_spreads(variants: Sequence[str], reference_spread: SeedSpread, context: RunContext) -> list:
    """Each row's own system's spread, for :func:`with_seed_spread`: the reference's for a row of
    the reference's system, :func:`seed_spread` of the row's system where it has a reference
    (:data:`SEED_REFERENCES`; trained or read once per system), :data:`DETERMINISTIC` for a
    classical method, None where the system has none (ACM, DNA-Net: not compared by a spread)."""
    from irstd_lib.models import get_variant
    from irstd_lib.reproductions.configs import system_of

    spreads: dict[str, object] = {}
    out = []
    for variant in variants:
        if get_variant(variant).kind == "classical":
            out.append(DETERMINISTIC)
            continue
        system = system_of(variant)
        if system not in spreads:
            spreads[system] = (reference_spread if SEED_REFERENCES.get(system) == reference_spread.variant
                               else seed_spread(system, context) if system in SEED_REFERENCES else None)
        out.append(spreads[system])
    return out


def with_seed_spread(table: pd.DataFrame, spread: SeedSpread, reference: int, reference_label: str,
                     measured_rows: int | None = None, row_spreads: Sequence | None = None) -> pd.DataFrame:
    """``table`` with the column ``vs <reference_label>: beyond seed spread`` over its first
    ``measured_rows`` rows (default: all) and ``attrs["note"]`` stating the spread. Rows trained
    at several seeds (a ``seeds`` column and ``<metric> sd over seeds`` columns, from
    :func:`seed_cells`) are compared by their own sds (see the module docstring).

    ``row_spreads`` (one per measured row, from :func:`row_spreads`; default: every row takes
    ``spread``, as a table of one system does): a table whose rows are other systems (SAIST's
    Table 1) gives each single-seed row its own system's spread, ``|difference| > 1.96
    sqrt(sd_row^2 + sd_ref^2)``; a row whose system has no recorded spread (ACM, DNA-Net) reads
    :data:`NO_SPREAD` instead of being judged by another system's; a classical row
    (:data:`DETERMINISTIC`) has sd 0. The note states every spread used."""
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
        fallback = np.array([_row_sd(row_spreads, i, spread, m) for i in range(len(out))], dtype=float)
        sds[m] = np.where(np.isfinite(own) & (counts > 1), own, fallback)
    column = []
    for i in range(len(out)):
        if i == reference:
            column.append("reference")
            continue
        if i >= n:
            column.append("")
            continue
        if metrics and not any(np.isfinite(sds[m][i]) for m in metrics) and row_spreads is not None and i < len(row_spreads) \
                and row_spreads[i] is None:
            column.append(NO_SPREAD)
            continue
        parts = []
        for m in metrics:
            bound = _Z95 * math.sqrt(sds[m][i] ** 2 / counts[i] + sds[m][reference] ** 2 / counts[reference])
            if np.isfinite(deltas[m][i]) and np.isfinite(bound) and abs(deltas[m][i]) > bound:
                parts.append(f"{m} {deltas[m][i]:+.2f}")
        column.append("; ".join(parts) if parts else NOT_SEPARABLE)
    out[f"vs {reference_label}{SPREAD_SUFFIX}"] = column
    out.attrs["note"] = spread.note(metrics)
    others = [] if row_spreads is None else list(row_spreads[:n])
    own: list[SeedSpread] = []  # the other systems' spreads, each once (by identity: a SeedSpread holds dicts)
    for x in others:
        if isinstance(x, SeedSpread) and x is not spread and all(x is not y for y in own):
            own.append(x)
    if own or any(x is None or x is DETERMINISTIC for x in others):
        out.attrs["note"] += (" Rows of other systems are compared by their own system's spread: separable when "
                              "|difference| > 1.96 sqrt(sd_row^2 + sd_ref^2).")
        out.attrs["note"] += "".join(" " + r.note(metrics).split(";")[0] + "." for r in own)
        missing = sorted({str(table.iloc[i, 0]) for i, x in enumerate(others) if x is None})
        if missing:
            out.attrs["note"] += f" No seed spread is recorded for the systems of {', '.join(missing)}: {NO_SPREAD}."
    if (counts[:n] > 1).any():
        out.attrs["note"] += (" Rows trained at several seeds are compared by their own sds instead: separable when "
                              "|difference| > 1.96 sqrt(sd_row^2 / n_row + sd_ref^2 / n_ref), a row with one seed "
                              "taking the reference's spread.")
    return out


def _row_sd(row_spreads, i: int, spread: SeedSpread, metric: str) -> float:
    """Row ``i``'s single-seed sd of ``metric``: its own system's spread where given, else ``spread``'s."""
    if row_spreads is None or i >= len(row_spreads):
        return spread.sd(metric)
    own = row_spreads[i]
    return 0.0 if own is DETERMINISTIC else float("nan") if own is None else own.sd(metric)


def recorded_seed_sample(system: str, profile: str, results_dir, dataset: str | None = None):
    """The recorded seed runs of ``system``'s reference (:data:`SEED_REFERENCES`), from the
    records under ``<results_dir>/runs/`` alone (nothing is trained): the runs of its reference
    variant under ``profile`` at the profile's spread seeds (on ``dataset`` when given), as a
    :class:`~irstd_lib.runs.verification.SeedSample` of their primary evaluations. None when the
    system has no reference (ACM, DNA-Net and the classical methods have none) or fewer than two
    of those seeds are recorded: the verification then says ``no spread recorded``."""
    from irstd_lib.runs import finished_runs
    from irstd_lib.runs.verification import SeedSample

    variant = SEED_REFERENCES.get(system)
    if variant is None:
        return None
    wanted = set(get_profile(profile).spread_seeds)
    by_seed: dict[int, dict] = {}
    for saved, record in finished_runs(results_dir):
        config = saved.get("config")
        if config and config.get("model") == variant and config.get("profile") == profile \
                and config.get("seed") in wanted \
                and (dataset is None or (config.get("data") or {}).get("dataset") == dataset):
            by_seed[int(config["seed"])] = record[record["primary"]]
    if len(by_seed) < 2:
        return None
    seeds = tuple(sorted(by_seed))
    return SeedSample(variant, seeds, {m: tuple(float(by_seed[s][m]) for s in seeds) for m in METRICS})


def recorded_seed_sd(system: str, profile: str, results_dir) -> dict[str, float] | None:
    """The seed sd of each metric of :func:`recorded_seed_sample` (None where it is None)."""
    sample = recorded_seed_sample(system, profile, results_dir)
    return None if sample is None else {m: sample.sd(m) for m in METRICS}
