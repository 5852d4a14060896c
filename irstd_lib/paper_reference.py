"""The papers' reported numbers (``irstd_lib/reference/paper_tables.csv``), for tables that show our
measured figures beside them.

Every value read from here is a *reported* value: tables built with :func:`side_by_side` put it in
columns suffixed ``(paper)`` so that no reader mistakes it for a number this package measured.
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources

import pandas as pd

METRIC_COLUMNS = ("IoU", "nIoU", "Pd", "Fa")


@lru_cache(maxsize=1)
def _load() -> pd.DataFrame:
    with resources.files("irstd_lib").joinpath("reference/paper_tables.csv").open("r", encoding="utf-8") as handle:
        table = pd.read_csv(handle, dtype={"table": str})
    return table.rename(columns={"Fa_e-6": "Fa"})


def reported(paper: str, table: str | None = None, dataset: str | None = None) -> pd.DataFrame:
    """Rows of the papers' tables: ``reported("LGNet", "2")``; columns paper, table, dataset,
    method, setting, IoU, nIoU, Pd, Fa (x1e-6), notes. Empty cells are NaN (not reported)."""
    rows = _load()
    rows = rows[rows["paper"] == paper]
    if table is not None:
        rows = rows[rows["table"] == str(table)]
    if dataset is not None:
        rows = rows[rows["dataset"] == dataset]
    if rows.empty:
        raise KeyError(f"no reported rows for paper={paper!r} table={table!r} dataset={dataset!r}")
    return rows.reset_index(drop=True).copy()


def side_by_side(measured: pd.DataFrame, paper_rows: pd.DataFrame, on: str, metrics=METRIC_COLUMNS) -> pd.DataFrame:
    """Join our measured metrics with the paper's on the key column ``on`` (e.g. ``setting``).

    Output columns: ``on``, then for each metric ``<metric>`` (ours) and ``<metric> (paper)``,
    then whatever other columns ``measured`` carries (profile, run hash...). Rows of ours with
    no paper counterpart keep NaN in the paper columns, and the other way round.
    """
    paper = paper_rows[[on, *[m for m in metrics if m in paper_rows]]].rename(columns={m: f"{m} (paper)" for m in metrics})
    merged = measured.merge(paper, on=on, how="left")
    # Paper rows we did not measure come last, in the paper's order (an outer merge would sort).
    missing = paper[~paper[on].isin(measured[on])]
    if not missing.empty:
        merged = pd.concat([merged, missing], ignore_index=True)
    ordered = [on]
    for metric in metrics:
        for column in (metric, f"{metric} (paper)"):
            if column in merged:
                ordered.append(column)
    ordered += [c for c in merged.columns if c not in ordered]
    return merged[ordered]
