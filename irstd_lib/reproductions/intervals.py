"""How sure each table cell is: 95 % bootstrap intervals as table columns and figure error bars.

:func:`with_intervals` takes a table whose first rows are measured runs and, for each of those
rows, the per-image counts its metrics came from (a run record's ``details.json``, read by
:meth:`~irstd_lib.experiments.RunResult.details`), and adds:

- ``"<metric> 95% CI"`` right after each metric column: the percentile bootstrap interval over
  test images (:func:`irstd_lib.bootstrap.bootstrap_intervals`, 1000 resamples, seed 0), written
  ``low–high``; empty for rows not measured here (paper rows);
- with a ``reference`` row, ``"vs <reference>: beyond 95% paired CI"``: the metrics whose paired
  difference from the reference row (the same resampled images for both,
  :func:`irstd_lib.bootstrap.paired_difference`) has an interval that excludes zero, as
  ``IoU +7.46 [+1.20, +13.02]``; ``none`` when no difference does; ``reference`` on its own row.
  A measured row scored on other test images than the reference is refused (an error naming
  both rows and the first image where their lists part): a table's rows share one test set.

The intervals measure the test set's sampling only, not the spread between training seeds,
which on the small smoke runs is usually wider (see the README's determinism note): a difference
beyond its interval here is a difference on these test images for these trained weights.

:func:`error_bars` reads the interval columns back (from the table or its CSV) for the
figures' error bars.
"""

from __future__ import annotations

import re
from typing import Mapping, Sequence

import numpy as np
import pandas as pd

from irstd_lib.bootstrap import METRICS, bootstrap_intervals, check_same_images, image_names, paired_difference

__all__ = ["CI_SUFFIX", "DIFFERENCE_SUFFIX", "NO_DIFFERENCE", "N_RESAMPLES", "SEED", "with_intervals", "difference_column",
           "error_bars"]

CI_SUFFIX = "95% CI"
DIFFERENCE_SUFFIX = ": beyond 95% paired CI"
#: the difference-column entry of a row no metric of which differs beyond the interval
NO_DIFFERENCE = "none"
N_RESAMPLES = 1000
SEED = 0
_DASH = "–"


def difference_column(reference_label: str) -> str:
    return f"vs {reference_label}{DIFFERENCE_SUFFIX}"


def _fmt_interval(low: float, high: float) -> str:
    if not (np.isfinite(low) and np.isfinite(high)):
        return ""
    return f"{low:.2f}{_DASH}{high:.2f}"


def with_intervals(
    table: pd.DataFrame,
    per_image: Sequence[Sequence[Mapping] | None],
    reference: int | None = None,
    reference_label: str | None = None,
    metrics: Sequence[str] = METRICS,
    row_labels: Sequence[str] | None = None,
) -> pd.DataFrame:
    """``table`` with interval columns (see the module docstring). ``per_image[i]`` holds the
    per-image counts of row ``i`` (None: not measured here; one list per seed for a row trained
    at several seeds, whose cells are then the seed means); rows past its end get none.
    ``reference`` is the row position the differences are taken against; ``row_labels`` name
    the rows in errors (default: the table's first column)."""
    out = table.reset_index(drop=True).copy()
    names = [str(v) for v in (row_labels if row_labels is not None else out.iloc[:, 0])] if len(out.columns) else []
    names += [f"row {i}" for i in range(len(names), len(out))]
    rows = list(per_image) + [None] * (len(out) - len(per_image))
    present = [m for m in metrics if m in out.columns]
    cells: dict[str, list[str]] = {m: [""] * len(out) for m in present}
    for i, counts in enumerate(rows):
        if not counts:
            continue
        labels = [f"{names[i]} seed run {k}" for k in range(len(counts))] if not isinstance(counts[0], Mapping) else None
        intervals = bootstrap_intervals(counts, n_resamples=N_RESAMPLES, seed=SEED, labels=labels)
        for m in present:
            cells[m][i] = _fmt_interval(intervals[m]["low"], intervals[m]["high"])
    # each interval right after its metric column
    columns = list(out.columns)
    for m in present:
        out[f"{m} {CI_SUFFIX}"] = cells[m]
        columns.insert(columns.index(m) + 1, f"{m} {CI_SUFFIX}")
    out = out[columns]
    if reference is not None:
        base = rows[reference]
        if not base:
            raise ValueError(f"reference row {reference} has no per-image counts")
        label = reference_label or str(reference)
        column = []
        for i, counts in enumerate(rows):
            if i == reference:
                column.append("reference")
            elif not counts:
                column.append("")  # not measured here: no paired difference
            else:
                check_same_images(image_names(counts), image_names(base), f"row {names[i]!r}", f"reference row {names[reference]!r}",
                                  "a paired difference from the table's reference")
                diff = paired_difference(counts, base, n_resamples=N_RESAMPLES, seed=SEED)
                parts = [f"{m} {d['value']:+.2f} [{d['low']:+.2f}, {d['high']:+.2f}]"
                         for m, d in diff.items() if m in present and d["excludes_zero"]]
                column.append("; ".join(parts) if parts else NO_DIFFERENCE)
        out[difference_column(label)] = column
    return out


_INTERVAL = re.compile(rf"^\s*(-?[0-9.]+(?:e[+-]?\d+)?){_DASH}(-?[0-9.]+(?:e[+-]?\d+)?)\s*$")


def error_bars(table: pd.DataFrame, metric: str) -> np.ndarray | None:
    """``(2, n)`` distances below and above each row's value for matplotlib's ``yerr``/``xerr``
    (0 where a row has no interval), or None when the table has no interval column for
    ``metric``."""
    column = f"{metric} {CI_SUFFIX}"
    if column not in table:
        return None
    values = pd.to_numeric(table[metric], errors="coerce").to_numpy(dtype=float)
    err = np.zeros((2, len(table)))
    for i, (value, text) in enumerate(zip(values, table[column])):
        match = _INTERVAL.match(str(text)) if isinstance(text, str) else None
        if match and np.isfinite(value):
            low, high = float(match.group(1)), float(match.group(2))
            err[0, i], err[1, i] = max(value - low, 0.0), max(high - value, 0.0)
    return err
