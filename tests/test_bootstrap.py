"""Bootstrap intervals over test images: equal to a slow loop over the same draws, seeded,
point estimates equal to the metrics of the whole set, paired differences."""

from __future__ import annotations

import numpy as np
import pytest

from irstd_lib.bootstrap import METRICS, bootstrap_intervals, metrics_from_counts, paired_difference, resample_weights
from irstd_lib.metrics import SegmentationMetrics


def random_rows(n: int, seed: int) -> list[dict]:
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        targets = int(rng.integers(0, 4))  # some images without any target
        union = int(rng.integers(0, 60))
        rows.append({"name": f"img{i}", "intersection": int(rng.integers(0, union + 1)), "union": union,
                     "n_targets": targets, "n_matched": int(rng.integers(0, targets + 1)),
                     "n_false_alarm_pixels": int(rng.integers(0, 30)), "n_pixels": 64 * 64})
    return rows


def slow_metrics(rows: list[dict]) -> dict[str, float]:
    """The definitions, image by image, on an explicit list of (possibly repeated) images."""
    inter = sum(r["intersection"] for r in rows)
    union = sum(r["union"] for r in rows)
    targets = sum(r["n_targets"] for r in rows)
    return {"IoU": 100.0 * inter / (union + np.spacing(1)),
            "nIoU": 100.0 * sum(r["intersection"] / (r["union"] + np.spacing(1)) for r in rows) / len(rows),
            "Pd": 100.0 * sum(r["n_matched"] for r in rows) / targets if targets else np.nan,
            "Fa": 1e6 * sum(r["n_false_alarm_pixels"] for r in rows) / sum(r["n_pixels"] for r in rows)}


def test_intervals_equal_a_slow_loop_over_the_same_draws():
    rows = random_rows(15, seed=1)
    weights = resample_weights(len(rows), 200, seed=3)
    slow = {m: [] for m in METRICS}
    for draw in weights:
        images = [row for row, times in zip(rows, draw.astype(int)) for _ in range(times)]
        assert len(images) == len(rows)
        for m, value in slow_metrics(images).items():
            slow[m].append(value)
    counts = {k: np.array([r[k] for r in rows], dtype=float) for k in rows[0] if k != "name"}
    fast = metrics_from_counts(counts, weights)
    for m in METRICS:
        np.testing.assert_allclose(fast[m], slow[m], rtol=1e-12, equal_nan=True)
    intervals = bootstrap_intervals(rows, n_resamples=200, seed=3)
    for m in METRICS:
        low, high = np.nanpercentile(slow[m], [2.5, 97.5])
        assert intervals[m]["low"] == pytest.approx(low) and intervals[m]["high"] == pytest.approx(high)
        assert intervals[m]["low"] <= intervals[m]["value"] <= intervals[m]["high"]


def test_point_estimates_are_the_whole_set_metrics():
    rng = np.random.default_rng(0)
    metrics = SegmentationMetrics(per_image=True)
    for i in range(6):
        mask = np.zeros((32, 32), bool)
        if i % 3:
            mask[5 + i: 8 + i, 10:13] = True
        scores = rng.random((32, 32)) * 0.6
        scores[mask] = 0.9
        metrics.update(scores, mask)
    whole = metrics.compute()
    intervals = bootstrap_intervals(metrics.rows, n_resamples=50)
    for m in METRICS:
        assert intervals[m]["value"] == pytest.approx(whole[m])


def test_intervals_are_seeded():
    rows = random_rows(40, seed=2)
    assert bootstrap_intervals(rows, seed=7) == bootstrap_intervals(rows, seed=7)
    assert bootstrap_intervals(rows, seed=7) != bootstrap_intervals(rows, seed=8)


def test_paired_difference_of_a_method_with_itself_is_zero_and_a_clear_gain_excludes_zero():
    rows = random_rows(30, seed=4)
    same = paired_difference(rows, rows)
    assert all(same[m]["value"] == 0 and same[m]["low"] == 0 == same[m]["high"] for m in METRICS)
    better = [dict(r, intersection=r["union"]) for r in rows]  # every image segmented perfectly
    gain = paired_difference(better, rows)
    assert gain["IoU"]["excludes_zero"] and gain["IoU"]["low"] > 0
    with pytest.raises(ValueError, match="same test images"):
        paired_difference(rows[:-1], rows[1:])
