"""Pd/Fa by the shooting rule (irstd_lib.metrics.ShootingRulePdFa and SegmentationMetrics'
Pd_shooting / Fa_shooting): hand-made cases with known answers, a brute-force reading of the
rule's words on random maps, every threshold against the one-threshold path, and the field's
kit (PyIRSTDMetrics' ShootingRuleBasedProbabilityDetectionAndFalseAlarmRate) as an oracle on
perturbed NUAA-SIRST maps in its own environment (skipped with the reason when absent)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from irstd_lib.metrics import ShootingRulePdFa, SegmentationMetrics

from test_hiou import _perturbed_nuaa, run_kit_script


def _one(pred: np.ndarray, mask: np.ndarray) -> dict:
    m = SegmentationMetrics(0.5)
    m.update(pred.astype(np.float32), mask)
    return m.compute()


def test_a_prediction_within_one_pixel_hits_and_within_four_is_no_false_alarm():
    mask = np.zeros((20, 20), dtype=bool)
    mask[10, 10] = True
    near = np.zeros_like(mask)
    near[11, 11] = True  # Chebyshev distance 1: inside the 3 x 3 box
    r = _one(near, mask)
    assert (r["Pd_shooting"], r["n_shooting_false_alarm_pixels"]) == (100.0, 0)
    two_away = np.zeros_like(mask)
    two_away[12, 12] = True  # distance 2: a miss, but inside the 9 x 9 box, so not a false alarm
    r = _one(two_away, mask)
    assert (r["Pd_shooting"], r["n_shooting_false_alarm_pixels"]) == (0.0, 0)
    # The centroid rule matches it (distance 2.83 < 3): the two rules differ here.
    assert r["Pd"] == 100.0
    far = np.zeros_like(mask)
    far[15, 10] = True  # distance 5: outside the outer box
    r = _one(far, mask)
    assert (r["Pd_shooting"], r["n_shooting_false_alarm_pixels"]) == (0.0, 1)
    assert r["Fa_shooting"] == pytest.approx(1e6 / 400)


def test_a_large_blob_hits_its_target_and_only_its_far_pixels_are_false_alarms():
    mask = np.zeros((32, 32), dtype=bool)
    mask[5, 5] = True
    blob = np.zeros_like(mask)
    blob[4:20, 4:6] = True  # 32 pixels, rows 4..19; the outer box covers rows 1..9
    r = _one(blob, mask)
    assert r["Pd_shooting"] == 100.0
    assert r["n_shooting_false_alarm_pixels"] == 2 * (19 - 9)
    # The centroid rule misses it (centroid 6.5 rows away) and counts the whole blob.
    assert r["Pd"] == 0.0 and r["n_false_alarm_pixels"] == 32


def test_boxes_are_clipped_at_the_image_border():
    mask = np.zeros((8, 8), dtype=bool)
    mask[0, 0] = True
    pred = np.zeros_like(mask)
    pred[0, 1] = True
    pred[7, 7] = True
    r = _one(pred, mask)
    assert r["n_shooting_hit"] == 1 and r["n_shooting_false_alarm_pixels"] == 1


def test_no_target_gives_nan_pd_and_counts_every_pixel_as_a_false_alarm():
    mask = np.zeros((10, 10), dtype=bool)
    pred = np.zeros_like(mask)
    pred[2:4, 2:4] = True
    r = _one(pred, mask)
    assert np.isnan(r["Pd_shooting"]) and r["n_shooting_false_alarm_pixels"] == 4


def _brute_force(prob: np.ndarray, mask: np.ndarray, t: float, r1: int = 1, r2: int = 4) -> tuple[int, int, int]:
    """The rule in its words, pixel by pixel: (targets, hit targets, false-alarm pixels)."""
    labels, n = ndimage.label(mask, structure=np.ones((3, 3)))
    pred = prob > t
    h, w = mask.shape
    guarded = np.zeros_like(mask)
    hit = 0
    for k in range(1, n + 1):
        found = False
        for r, c in zip(*np.nonzero(labels == k)):
            guarded[max(r - r2, 0):r + r2 + 1, max(c - r2, 0):c + r2 + 1] = True
            found = found or bool(pred[max(r - r1, 0):r + r1 + 1, max(c - r1, 0):c + r1 + 1].any())
        hit += found
    return n, hit, int(np.count_nonzero(pred & ~guarded))


@pytest.mark.parametrize("seed", range(6))
def test_every_threshold_equals_the_rule_read_pixel_by_pixel(seed):
    rng = np.random.default_rng(seed)
    thresholds = [0.1, 0.3, 0.5, 0.7, 0.9]
    multi = ShootingRulePdFa(thresholds)
    expected = np.zeros((len(thresholds), 3), dtype=np.int64)
    for _ in range(3):
        mask = rng.random((24, 30)) > 0.97
        mask[0, :2] = seed % 2 == 0  # a target on the border
        prob = ndimage.gaussian_filter(rng.random((24, 30)), 0.7).astype(np.float32)
        prob = (prob - prob.min()) / (prob.max() - prob.min())
        multi.update(prob, mask)
        for i, t in enumerate(thresholds):
            expected[i] += _brute_force(prob, mask, t)
    table = multi.compute()
    assert multi.n_targets == expected[0, 0] > 0
    assert table["n_hit"].tolist() == expected[:, 1].tolist()
    assert table["n_false_alarm_pixels"].tolist() == expected[:, 2].tolist()
    assert 0 < table["n_hit"].iloc[0] and table["n_false_alarm_pixels"].iloc[0] > 0
    # And each threshold equals SegmentationMetrics at that threshold (its Pd_shooting/Fa_shooting).
    rng = np.random.default_rng(seed)
    for i, t in enumerate(thresholds):
        one = SegmentationMetrics(t)
        rng = np.random.default_rng(seed)
        for _ in range(3):
            mask = rng.random((24, 30)) > 0.97
            mask[0, :2] = seed % 2 == 0
            prob = ndimage.gaussian_filter(rng.random((24, 30)), 0.7).astype(np.float32)
            prob = (prob - prob.min()) / (prob.max() - prob.min())
            one.update(prob, mask)
        r = one.compute()
        assert r["n_shooting_hit"] == table["n_hit"].iloc[i]
        assert r["Fa_shooting"] == pytest.approx(table["Fa"].iloc[i], rel=1e-12)


def test_box_maximum_equals_scipys_maximum_filter():
    """The rule's box maxima (shifted slices) are scipy's maximum filter with a constant border,
    exactly, for float, integer and bool maps and every radius the rule may be given."""
    from scipy import ndimage

    from irstd_lib.metrics import _box_max

    rng = np.random.default_rng(0)
    for trial in range(240):
        h, w = (int(v) for v in rng.integers(1, 30, 2))
        radius = int(rng.integers(1, 6))
        kind = trial % 3
        if kind == 0:
            values, low = rng.random((h, w)) > 0.9, np.array(False)
        elif kind == 1:
            values, low = rng.random((h, w), dtype=np.float32), np.array(-np.inf, dtype=np.float32)
        else:
            values, low = rng.integers(0, 255, (h, w)).astype(np.uint8), np.array(0, dtype=np.uint8)
        want = ndimage.maximum_filter(values, size=2 * radius + 1, mode="constant", cval=low)
        got = _box_max(values, radius, low)
        assert got.dtype == want.dtype and np.array_equal(got, want), (trial, h, w, radius)


def test_radii_are_checked():
    with pytest.raises(ValueError, match="radii"):
        ShootingRulePdFa(radii=(4, 1))


KIT_SCRIPT = r'''
import json, sys
import numpy as np
from py_irstd_metrics import ShootingRuleBasedProbabilityDetectionAndFalseAlarmRate as Shooting
data = np.load(sys.argv[1])
out = {}
for bins in (1, 10):
    metric = Shooting(num_bins=bins)
    for p, m in zip(data["probs"], data["masks"]):
        metric.update(p, m)
    out[str(bins)] = {"tp": metric.tp_objs.tolist(), "fp": metric.fp_area.tolist(),
                      "targets": int(metric.total_objs), "area": int(metric.total_area),
                      "thresholds": metric.thresholds.tolist()}
print(json.dumps(out))
'''


def test_agrees_with_the_kit_on_perturbed_nuaa_sirst(nuaa_root, tmp_path):
    probs, masks = _perturbed_nuaa(nuaa_root)
    kit = run_kit_script(KIT_SCRIPT, probs, masks, tmp_path)
    for bins, result in kit.items():
        ours = ShootingRulePdFa(result["thresholds"])
        ours.update(probs, masks)
        table = ours.compute()
        assert ours.n_targets == result["targets"] and ours.n_pixels == result["area"]
        assert table["n_hit"].tolist() == result["tp"], bins
        assert table["n_false_alarm_pixels"].tolist() == result["fp"], bins
    # The maps reach both a miss and a false alarm at 0.5, so the comparison has something to catch.
    one = kit["1"]
    assert 0 < one["tp"][0] < one["targets"] and one["fp"][0] > 0
    single = SegmentationMetrics(0.5)
    single.update(probs, masks)
    r = single.compute()
    assert (r["n_shooting_hit"], r["n_shooting_false_alarm_pixels"]) == (one["tp"][0], one["fp"][0])
