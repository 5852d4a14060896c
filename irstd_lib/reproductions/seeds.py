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
assumption, stated with every table. A table of one system may be measured at several seeds per
row at the paper profile later; this module then gives way to a mean and sd per row.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np
import pandas as pd

from irstd_lib.bootstrap import METRICS
from irstd_lib.profiles import get_profile

__all__ = ["SEED_REFERENCES", "SeedSpread", "SEPARATION_FACTOR", "SPREAD_SUFFIX", "NOT_SEPARABLE", "recorded_seed_sd", "seed_spread",
           "with_seed_spread"]

#: system -> the reference variant trained at every seed
SEED_REFERENCES = {"lgnet": "lgnet_baseline", "saist": "saist", "dgspnet": "dgspnet", "ggl_net": "ggl_net"}

#: a difference beyond this many seed sds separates two single-seed rows (1.96 * sqrt(2))
SEPARATION_FACTOR = 1.96 * math.sqrt(2.0)

#: the spread column is ``vs <reference>`` + this; a row within the spread on every metric reads NOT_SEPARABLE
SPREAD_SUFFIX = ": beyond seed spread"
NOT_SEPARABLE = "not separable"


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


def _reference_config(system: str, profile: str, data_root, seed: int, config_kwargs: dict):
    kwargs = {k: v for k, v in config_kwargs.items() if k != "seed"}
    if system == "lgnet":
        from irstd_lib.reproductions.lgnet import lgnet_config

        return lgnet_config(profile, "baseline", "never", data_root=data_root, seed=seed,
                            **{k: v for k, v in kwargs.items() if k in ("clip_checkpoint", "epochs")})
    if system == "saist":
        from irstd_lib.reproductions.saist import saist_config

        return saist_config(profile, SEED_REFERENCES[system], data_root=data_root, seed=seed, **kwargs)
    from irstd_lib.reproductions.comparison import method_config

    return method_config(profile, SEED_REFERENCES[system], data_root=data_root, seed=seed, **kwargs)


def seed_spread(system: str, profile: str = "smoke", data_root=None, device: str = "cpu", progress: bool = True,
                results_dir=None, seeds: Sequence[int] | None = None, **config_kwargs) -> SeedSpread:
    """Train (or read) ``system``'s reference model at each seed and return the spread."""
    from irstd_lib.experiments import run_experiment
    from irstd_lib.reproductions.comparison import comparison_evaluation

    if system not in SEED_REFERENCES:
        raise ValueError(f"no seed reference for system {system!r}; known: {sorted(SEED_REFERENCES)}")
    seeds = tuple(int(s) for s in (seeds if seeds is not None else get_profile(profile).spread_seeds))
    if len(seeds) < 2:
        raise ValueError(f"a seed spread needs at least two seeds, got {seeds}")
    runs, values = [], {m: [] for m in METRICS}
    for seed in seeds:
        config = _reference_config(system, profile, data_root, seed, config_kwargs)
        result = run_experiment(config, data_root=data_root, results_dir=results_dir, device=device, progress=progress)
        metrics = result.evaluation(comparison_evaluation(result))
        runs.append(result.hash)
        for m in METRICS:
            values[m].append(float(metrics[m]))
    return SeedSpread(SEED_REFERENCES[system], seeds, tuple(runs), {m: tuple(v) for m, v in values.items()})


def with_seed_spread(table: pd.DataFrame, spread: SeedSpread, reference: int, reference_label: str,
                     measured_rows: int | None = None) -> pd.DataFrame:
    """``table`` with the column ``vs <reference_label>: beyond seed spread`` over its first
    ``measured_rows`` rows (default: all) and ``attrs["note"]`` stating the spread."""
    out = table.copy()
    n = len(out) if measured_rows is None else measured_rows
    metrics = [m for m in METRICS if m in out.columns]
    # each metric's difference from the reference row, and the difference that separates
    deltas = {m: pd.to_numeric(out[m], errors="coerce").to_numpy(dtype=float) for m in metrics}
    deltas = {m: values - values[reference] for m, values in deltas.items()}
    bounds = {m: SEPARATION_FACTOR * spread.sd(m) for m in metrics}
    column = []
    for i in range(len(out)):
        if i == reference:
            column.append("reference")
            continue
        if i >= n:
            column.append("")
            continue
        parts = [f"{m} {deltas[m][i]:+.2f}" for m in metrics
                 if np.isfinite(deltas[m][i]) and np.isfinite(bounds[m]) and abs(deltas[m][i]) > bounds[m]]
        column.append("; ".join(parts) if parts else NOT_SEPARABLE)
    out[f"vs {reference_label}{SPREAD_SUFFIX}"] = column
    out.attrs["note"] = spread.note(metrics)
    return out


def planned_spread_runs(system: str, profile: str, notebooks: Sequence[str], data_root=None, **checkpoints) -> list:
    """The seed-spread runs of ``system`` as :class:`~irstd_lib.reproductions.plan.PlannedRun`
    entries of ``notebooks`` (``checkpoints``: the stand-ins or paths the module's plan uses)."""
    from irstd_lib.reproductions.plan import PlannedRun

    kwargs = {k: v for k, v in checkpoints.items() if v is not None}  # _reference_config keeps what the builder takes
    root = None if data_root is None else str(data_root)
    return [PlannedRun(_reference_config(system, profile, data_root, seed, kwargs), tuple(notebooks), root)
            for seed in get_profile(profile).spread_seeds]


def recorded_seed_sd(system: str, profile: str, results_dir) -> dict[str, float] | None:
    """The seed sd of ``system``'s reference, from the records under ``<results_dir>/runs/``
    alone (nothing is trained): the runs of its reference variant under ``profile`` at the
    profile's spread seeds. None when fewer than two of those seeds are recorded."""
    import json
    from pathlib import Path

    wanted = set(get_profile(profile).spread_seeds)
    by_seed: dict[int, dict] = {}
    for config_path in sorted(Path(results_dir, "runs").glob("*/config.json")):
        metrics_path = config_path.with_name("metrics.json")
        config = json.loads(config_path.read_text()).get("config")
        if not config or not metrics_path.is_file():
            continue
        if config.get("model") == SEED_REFERENCES.get(system) and config.get("profile") == profile and config.get("seed") in wanted:
            record = json.loads(metrics_path.read_text())
            by_seed[int(config["seed"])] = record[record["primary"]]
    if len(by_seed) < 2:
        return None
    return {m: float(np.std([by_seed[s][m] for s in sorted(by_seed)], ddof=1)) for m in METRICS}
