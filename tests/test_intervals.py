"""Interval columns in tables, error bars in figures, and REPORT.md's list of differences that
exceed their interval (irstd_lib.reproductions.intervals)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from irstd_lib.bootstrap import bootstrap_intervals, metrics_from_counts
from irstd_lib.reproduce import _differences_section
from irstd_lib.reproductions.intervals import difference_column, error_bars, with_intervals


def _rows(hits: list[int], n: int = 40, seed: int = 0) -> list[dict]:
    """Per-image counts of ``n`` images, each with one 10-pixel target; ``hits[i]`` pixels of it found."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        inter = hits[i % len(hits)]
        false = int(rng.integers(0, 3))
        rows.append({"name": f"img{i:02d}", "intersection": inter, "union": 10 + false, "n_targets": 1,
                     "n_matched": int(inter > 0), "n_false_alarm_pixels": false, "n_pixels": 64 * 64})
    return rows


def _table(per_image: list[list[dict]], extra_rows: int = 0) -> pd.DataFrame:
    rows = []
    for i, counts in enumerate(per_image):
        point = {k: float(v[0]) for k, v in metrics_from_counts(
            {k: np.array([r[k] for r in counts], float) for k in counts[0] if k != "name"}).items()}
        rows.append({"setting": f"row {i}", **point, "run": f"h{i}"})
    rows += [{"setting": "", "IoU": np.nan, "nIoU": np.nan, "Pd": np.nan, "Fa": np.nan, "run": ""}] * extra_rows
    return pd.DataFrame(rows)


def test_interval_columns_follow_their_metric_and_hold_the_value():
    weak, same, strong = _rows([2, 3, 0, 4]), _rows([2, 3, 0, 4]), _rows([9, 10, 8, 10], seed=1)
    table = with_intervals(_table([weak, same, strong], extra_rows=1), [weak, same, strong], reference=0, reference_label="row 0")
    columns = list(table.columns)
    for m in ("IoU", "nIoU", "Pd", "Fa"):
        assert columns[columns.index(m) + 1] == f"{m} 95% CI"
    low, high = (float(x) for x in table.loc[0, "IoU 95% CI"].split("–"))
    assert low <= table.loc[0, "IoU"] <= high
    expected = bootstrap_intervals(weak)["IoU"]
    assert table.loc[0, "IoU 95% CI"] == f"{expected['low']:.2f}–{expected['high']:.2f}"
    assert table.loc[3, "IoU 95% CI"] == ""  # a paper row: nothing measured
    diff = table[difference_column("row 0")].tolist()
    assert diff[0] == "reference" and diff[1] == "none" and diff[3] == ""
    assert diff[2].startswith("IoU +") and "Pd +" in diff[2]  # the strong row is better beyond the interval

    bars = error_bars(table, "IoU")
    assert bars.shape == (2, 4) and (bars >= 0).all() and bars[:, 3].tolist() == [0.0, 0.0]
    assert np.isclose(table.loc[0, "IoU"] - bars[0, 0], low, atol=0.006)
    assert error_bars(table.drop(columns=["IoU 95% CI"]), "IoU") is None


def test_rows_on_other_test_images_are_refused_naming_both():
    # issue 20: a table's rows share one test set; a row on other images is an error, not a blank
    a, b = _rows([5]), _rows([5])
    for row in b:
        row["name"] = "other-" + row["name"]
    with pytest.raises(ValueError, match=r"row 'row 1'.*reference row 'row 0'.*'other-img00' against 'img00'"):
        with_intervals(_table([a, b]), [a, b], reference=0, reference_label="a")
    table = with_intervals(_table([a, a]), [a, None], reference=0, reference_label="a")  # a row not measured here
    assert table[difference_column("a")].tolist() == ["reference", ""]


def test_report_lists_the_differences_beyond_their_interval(tmp_path):
    weak, same, strong = _rows([2, 3, 0, 4]), _rows([2, 3, 0, 4]), _rows([9, 10, 8, 10], seed=1)
    table = with_intervals(_table([weak, same, strong]), [weak, same, strong], reference=0, reference_label="row 0")
    table.to_csv(tmp_path / "ablation.csv", index=False)
    lines = _differences_section(tmp_path)
    text = "\n".join(lines)
    assert "1 of 2 rows compared" in text
    assert "| ablation | row 2 | row 0 | IoU +" in text
    assert _differences_section(tmp_path / "nothing") == []
