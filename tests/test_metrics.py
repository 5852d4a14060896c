"""Tests of irstd_lib.metrics: hand-computed IoU/nIoU/Pd/Fa cases, the BasicIRSTD same-area quirk,
streaming, torch input, the Pd-Fa ROC, and a tiny run of the speed benchmark."""

from __future__ import annotations

import math

import numpy as np
import pytest

from irstd_lib.metrics import PdFaROC, SegmentationMetrics, match_targets, per_image_metrics


def blank(h: int = 32, w: int = 32) -> np.ndarray:
    return np.zeros((h, w), dtype=bool)


def metrics_of(pred, mask, **kw) -> dict:
    m = SegmentationMetrics(**kw)
    m.update(pred, mask)
    return m.compute()


# ---------------------------------------------------------------------------------------------
# Pd / Fa by hand
# ---------------------------------------------------------------------------------------------

def test_empty_prediction_gives_pd_0_fa_0():
    mask = blank()
    mask[10:13, 10:13] = True
    r = metrics_of(blank(), mask)
    assert r["n_targets"] == 1 and r["n_matched"] == 0
    assert r["Pd"] == 0.0
    assert r["Fa"] == 0.0
    assert r["IoU"] == 0.0 and r["nIoU"] == 0.0
    assert r["n_images"] == 1 and r["n_pixels"] == 1024


def test_empty_ground_truth_pd_is_nan_and_false_alarms_count():
    pred = blank()
    pred[3:5, 3:5] = True
    r = metrics_of(pred, blank())
    assert r["n_targets"] == 0
    assert math.isnan(r["Pd"])
    assert r["Fa"] == pytest.approx(4 / 1024 * 1e6)
    # In a dataset with targets elsewhere the image just adds no targets (its false alarm counts).
    mask2 = blank()
    mask2[20:22, 20:22] = True
    m = SegmentationMetrics()
    m.update(pred, blank())
    m.update(mask2, mask2)
    r2 = m.compute()
    assert r2["n_targets"] == 1 and r2["Pd"] == 100.0
    assert r2["Fa"] == pytest.approx(4 / 2048 * 1e6)


def test_diagonal_touch_is_one_target_with_8_connectivity_two_with_4():
    mask = blank()
    mask[4:6, 4:6] = True
    mask[6:8, 6:8] = True  # touches the first block only at the corner (5,5)-(6,6)
    r8 = metrics_of(mask, mask, connectivity=8)
    r4 = metrics_of(mask, mask, connectivity=4)
    assert r8["n_targets"] == 1 and r8["n_matched"] == 1
    assert r4["n_targets"] == 2 and r4["n_matched"] == 2
    # Only one of the two 4-connected blocks predicted: 8-connectivity sees a centroid shift of
    # 1.414 px (matched), 4-connectivity one target missed.
    pred = blank()
    pred[4:6, 4:6] = True
    assert metrics_of(pred, mask, connectivity=8)["Pd"] == 100.0
    assert metrics_of(pred, mask, connectivity=4)["Pd"] == 50.0
    assert match_targets(mask, mask, connectivity=8).n_targets == 1
    with pytest.raises(ValueError):
        SegmentationMetrics(connectivity=6)


def test_prediction_one_pixel_off_is_matched_and_far_false_alarm_counts_exactly():
    mask = blank()
    mask[10:13, 10:13] = True
    pred = blank()
    pred[11:14, 10:13] = True  # one pixel down
    pred[25:27, 25:28] = True  # far false alarm, 6 pixels
    r = metrics_of(pred, mask)
    assert r["n_targets"] == 1 and r["Pd"] == 100.0
    assert r["n_false_alarm_pixels"] == 6
    assert r["Fa"] == 6 / 1024 * 1e6  # 5859.375, exact in binary
    assert r["n_pred_components"] == 2 and r["n_false_alarm_components"] == 1
    # IoU: prediction 9 + 6 px, mask 9 px, intersection 6 -> union 18.
    assert r["IoU"] == pytest.approx(100 * 6 / 18)


def test_centroid_distance_boundary_is_strict():
    mask = blank()
    mask[10, 10] = True
    pred = blank()
    pred[10, 13] = True  # distance exactly 3 -> not matched
    r = metrics_of(pred, mask)
    assert r["Pd"] == 0.0 and r["n_false_alarm_pixels"] == 1
    assert metrics_of(pred, mask, match_distance=3.01)["Pd"] == 100.0
    pred2 = blank()
    pred2[6:15, 13] = True  # 9 pixels, mean row 10
    pred2[10, 12] = True  # centroid column (9*13 + 12) / 10 = 12.9 -> distance 2.9
    t = match_targets(pred2, mask)
    assert t.pred_centroids[0] == pytest.approx([10.0, 12.9])
    assert t.n_matched == 1 and t.false_alarm_pixels == 0


def test_each_target_and_each_component_matched_at_most_once():
    # Two targets 2 px apart and one predicted pixel between them: one match, one miss.
    mask = blank()
    mask[10, 10] = True
    mask[10, 12] = True
    pred = blank()
    pred[12, 11] = True  # within 2.24 of both
    t = match_targets(pred, mask)
    assert t.n_targets == 2 and t.n_matched == 1
    assert list(t.matched_pred) == [0, -1]  # the first target in label order takes it
    # Two predicted components near one target: one matched, the other a false alarm.
    mask2 = blank()
    mask2[10, 10] = True
    pred2 = blank()
    pred2[10, 8] = True
    pred2[10, 12] = True
    t2 = match_targets(pred2, mask2)
    assert t2.n_matched == 1 and t2.false_alarm_pixels == 1 and list(t2.matched_pred) == [0]


def test_same_area_quirk_correct_vs_basicirstd():
    mask = blank()
    mask[5:7, 5:7] = True  # target, area 4
    pred = mask.copy()  # matched component, area 4
    pred[20:22, 20:22] = True  # false alarm, area 4 (same area as the matched one)
    pred[28, 5:8] = True  # false alarm, area 3
    correct = metrics_of(pred, mask)
    legacy = metrics_of(pred, mask, fa_mode="basicirstd")
    assert correct["Pd"] == legacy["Pd"] == 100.0
    assert correct["n_false_alarm_pixels"] == 7
    assert legacy["n_false_alarm_pixels"] == 3  # the area-4 false alarm is dropped by value
    assert correct["Fa"] == pytest.approx(7 / 1024 * 1e6)
    assert legacy["Fa"] == pytest.approx(3 / 1024 * 1e6)
    t = match_targets(pred, mask, fa_mode="basicirstd")
    assert t.false_alarm_pixels == 3 and t.false_alarm_pixels_correct == 7
    with pytest.raises(ValueError):
        SegmentationMetrics(fa_mode="nope")
    # Each mode under the toolbox version it reproduces, the old names as aliases.
    from irstd_lib.metrics import canonical_fa_mode

    assert metrics_of(pred, mask, fa_mode="basicirstd_b75ecc8")["n_false_alarm_pixels"] == 3
    assert metrics_of(pred, mask, fa_mode="basicirstd_6576e62")["n_false_alarm_pixels"] == 7
    assert canonical_fa_mode("basicirstd") == "basicirstd_b75ecc8" and canonical_fa_mode("basicirstd_6576e62") == "correct"
    with pytest.raises(ValueError, match="fa_mode must be one of"):
        canonical_fa_mode("basicirstd_2024")


def test_basicirstd_mode_equals_the_toolbox_loop_on_random_maps():
    pytest.importorskip("skimage")
    from irstd_lib.benchmarks.metrics_speed import ReferencePdFa

    rng = np.random.default_rng(1)
    for _ in range(40):
        pred = rng.random((24, 28)) < 0.1
        mask = rng.random((24, 28)) < 0.06
        ref = ReferencePdFa()
        ref.update(pred, mask, mask.shape)
        legacy = match_targets(pred, mask, fa_mode="basicirstd")
        correct = match_targets(pred, mask)
        assert (legacy.n_targets, legacy.n_matched, legacy.false_alarm_pixels) == (ref.target, ref.PD, int(ref.FA))
        assert correct.false_alarm_pixels == ref.correct_FA


# ---------------------------------------------------------------------------------------------
# IoU / nIoU, inputs, streaming
# ---------------------------------------------------------------------------------------------

def test_iou_and_niou_by_hand_over_two_image_sizes():
    mask1 = blank(16, 16)
    mask1[4:8, 4:8] = True  # 16 px
    pred1 = blank(16, 16)
    pred1[4:8, 4:6] = True  # 8 px inside: IoU 8/16
    mask2 = blank(8, 10)
    mask2[2:4, 2:4] = True  # 4 px
    pred2 = blank(8, 10)
    pred2[2:4, 3:5] = True  # overlap 2, union 6: IoU 1/3
    m = SegmentationMetrics()
    m.update(pred1, mask1)
    m.update(pred2, mask2)
    r = m.compute()
    assert r["IoU"] == pytest.approx(100 * 10 / 22)
    assert r["nIoU"] == pytest.approx(100 * (0.5 + 1 / 3) / 2)
    assert r["n_pixels"] == 256 + 80 and r["n_images"] == 2
    # An image with empty mask and empty prediction counts 0 in nIoU (toolbox eps convention).
    m.update(blank(5, 5), blank(5, 5))
    r3 = m.compute()
    assert r3["nIoU"] == pytest.approx(100 * (0.5 + 1 / 3) / 3)
    assert r3["IoU"] == pytest.approx(100 * 10 / 22)
    one = per_image_metrics(pred2, mask2)
    assert one["IoU"] == pytest.approx(100 / 3) and one["intersection"] == 2 and one["union"] == 6


def test_float_scores_are_compared_strictly_above_threshold():
    mask = blank(8, 8)
    mask[2:4, 2:4] = True
    scores = np.zeros((8, 8), dtype=np.float32)
    scores[2:4, 2:4] = 0.5  # not > 0.5
    assert metrics_of(scores, mask)["Pd"] == 0.0
    assert metrics_of(scores, mask, threshold=0.4)["Pd"] == 100.0
    assert metrics_of(scores > 0.4, mask)["Pd"] == 100.0  # bool used as is
    assert metrics_of(scores, mask.astype(np.uint8) * 255, threshold=0.4)["IoU"] == pytest.approx(100.0)


def test_shape_mismatch_raises_naming_both_shapes():
    m = SegmentationMetrics()
    with pytest.raises(ValueError) as err:
        m.update(np.zeros((2, 8, 8)), np.zeros((2, 8, 9), dtype=bool))
    assert "(2, 8, 8)" in str(err.value) and "(2, 8, 9)" in str(err.value)
    with pytest.raises(ValueError):
        m.update(np.zeros((2, 3, 8, 8)), np.zeros((2, 3, 8, 8), dtype=bool))


def _random_batch(rng: np.random.Generator, n: int = 6, h: int = 32, w: int = 32):
    scores = (rng.random((n, h, w)) ** 8).astype(np.float32)
    masks = np.zeros((n, h, w), dtype=bool)
    for i in range(n):
        for _ in range(2):
            r, c = rng.integers(2, h - 4), rng.integers(2, w - 4)
            masks[i, r:r + 2, c:c + 3] = True
            scores[i, r:r + 2, c:c + 3] = rng.uniform(0.3, 1.0)
    return scores, masks


def test_streaming_two_batches_equals_one_batch_and_4d_input():
    scores, masks = _random_batch(np.random.default_rng(0))
    one = SegmentationMetrics(threshold=0.4)
    one.update(scores, masks)
    two = SegmentationMetrics(threshold=0.4)
    two.update(scores[:2], masks[:2])
    two.update(scores[2:], masks[2:])
    four_d = SegmentationMetrics(threshold=0.4)
    four_d.update(scores[:, None], masks[:, None])
    r = one.compute()
    assert r == two.compute() == four_d.compute()
    assert r["n_images"] == 6 and r["n_targets"] > 0
    one.reset()
    assert one.compute()["n_images"] == 0 and one.compute()["n_targets"] == 0


def test_torch_input_equals_numpy_input():
    torch = pytest.importorskip("torch")
    scores, masks = _random_batch(np.random.default_rng(2))
    a = SegmentationMetrics(threshold=0.3)
    a.update(scores, masks)
    b = SegmentationMetrics(threshold=0.3)
    b.update(torch.from_numpy(scores)[:, None], torch.from_numpy(masks).float()[:, None])
    assert a.compute() == b.compute()
    c = PdFaROC([0.3, 0.6])
    c.update(torch.from_numpy(scores), torch.from_numpy(masks))
    d = PdFaROC([0.3, 0.6])
    d.update(scores, masks)
    assert c.compute().equals(d.compute())


# ---------------------------------------------------------------------------------------------
# ROC
# ---------------------------------------------------------------------------------------------

def test_roc_thresholds_from_int():
    assert np.allclose(PdFaROC(1).thresholds, [0.5])
    assert np.allclose(PdFaROC(3).thresholds, [0.25, 0.5, 0.75])
    assert np.allclose(PdFaROC([0.7, 0.2, 0.7]).thresholds, [0.2, 0.7])


def test_roc_pd_monotone_with_decreasing_threshold():
    h = w = 48
    y, x = np.mgrid[:h, :w]
    scores = np.full((h, w), 0.01, dtype=np.float32)
    mask = blank(h, w)
    for k, (r, c) in enumerate([(8, 8), (8, 30), (24, 18), (38, 8), (38, 38)]):
        amplitude = 0.15 + 0.18 * k
        scores = np.maximum(scores, amplitude * np.exp(-((y - r) ** 2 + (x - c) ** 2) / 4.0)).astype(np.float32)
        mask[r - 1:r + 2, c - 1:c + 2] = True
    roc = PdFaROC(19)
    roc.update(scores, mask)
    df = roc.compute()
    pd_desc = df.sort_values("threshold", ascending=False)["Pd"].to_numpy()
    assert np.all(np.diff(pd_desc) >= 0)
    assert pd_desc[0] < pd_desc[-1] == 100.0
    tpr = df.sort_values("threshold", ascending=False)["TPR"].to_numpy()
    assert np.all(np.diff(tpr) >= 0)


@pytest.mark.parametrize("fa_mode,connectivity", [("correct", 8), ("basicirstd", 8), ("correct", 4)])
def test_roc_at_each_threshold_equals_segmentation_metrics(fa_mode, connectivity):
    rng = np.random.default_rng(3)
    thresholds = [0.05, 0.2, 0.5, 0.8]
    roc = PdFaROC(thresholds, fa_mode=fa_mode, connectivity=connectivity)
    singles = [SegmentationMetrics(t, fa_mode=fa_mode, connectivity=connectivity) for t in thresholds]
    for size in [(32, 32), (20, 36)]:  # successive updates of different sizes
        scores, masks = _random_batch(rng, n=3, h=size[0], w=size[1])
        scores = np.maximum(scores, (rng.random(scores.shape) < 0.15) * rng.random(scores.shape)).astype(np.float32)
        roc.update(scores, masks)
        for s in singles:
            s.update(scores, masks)
    df = roc.compute()
    for row, single in zip(df.itertuples(), singles):
        r = single.compute()
        assert row.n_matched == r["n_matched"]
        assert row.n_false_alarm_pixels == r["n_false_alarm_pixels"]
        assert row.Pd == pytest.approx(r["Pd"]) and row.Fa == pytest.approx(r["Fa"])
        assert row.IoU == pytest.approx(r["IoU"]) and row.nIoU == pytest.approx(r["nIoU"])


@pytest.mark.parametrize("fa_mode,connectivity", [("correct", 8), ("basicirstd_b75ecc8", 8), ("correct", 4)])
def test_roc_with_dense_thresholds_equals_segmentation_metrics(fa_mode, connectivity):
    # The kit's thresholds (0 first) on sigmoid-like maps, every pixel above 0: the dense
    # thresholds are labelled by ndimage, the rest by the sparse union-find; every count must be
    # what SegmentationMetrics gives at that threshold. Densities vary so the split moves.
    rng = np.random.default_rng(5)
    thresholds = np.linspace(0, 1, 20, endpoint=False)
    roc = PdFaROC(thresholds, fa_mode=fa_mode, connectivity=connectivity)
    singles = [SegmentationMetrics(t, fa_mode=fa_mode, connectivity=connectivity) for t in thresholds]
    for power in (0.5, 2.0, 8.0):
        scores, masks = _random_batch(rng, n=2, h=24, w=30)
        scores = (np.clip(scores, 0, 1) ** power + np.float32(1e-6)).astype(np.float32)
        roc.update(scores, masks)
        for single in singles:
            single.update(scores, masks)
    df = roc.compute()
    assert df["n_matched"].tolist() == [s.compute()["n_matched"] for s in singles]
    assert df["n_false_alarm_pixels"].tolist() == [s.compute()["n_false_alarm_pixels"] for s in singles]
    assert df["IoU"].to_numpy() == pytest.approx([s.compute()["IoU"] for s in singles])
    assert df["nIoU"].to_numpy() == pytest.approx([s.compute()["nIoU"] for s in singles])


def test_roc_single_threshold_equals_segmentation_metrics():
    scores, masks = _random_batch(np.random.default_rng(4))
    roc = PdFaROC([0.5])
    roc.update(scores, masks)
    r = metrics_of(scores, masks)
    row = roc.compute().iloc[0]
    assert row["Pd"] == pytest.approx(r["Pd"]) and row["Fa"] == pytest.approx(r["Fa"])
    assert row["IoU"] == pytest.approx(r["IoU"])


def test_auc_perfect_map_is_1_and_constant_map_is_half():
    mask = blank(16, 16)
    mask[4:7, 4:7] = True
    perfect = PdFaROC(20)
    perfect.update(mask.astype(np.float32), mask)
    assert perfect.auc() == pytest.approx(1.0)
    df = perfect.compute()
    assert np.all(df["TPR"] == 1.0) and np.all(df["FPR"] == 0.0) and np.all(df["Pd"] == 100.0)
    constant = PdFaROC(20)
    constant.update(np.full((16, 16), 0.6, dtype=np.float32), mask)
    assert constant.auc() == pytest.approx(0.5)
    assert 0.0 <= perfect.pd_fa_auc(max_fa=10.0) <= 1.0


# ---------------------------------------------------------------------------------------------
# Benchmark smoke test (no timing assertions)
# ---------------------------------------------------------------------------------------------

def test_benchmark_runs_tiny(capsys):
    pytest.importorskip("skimage")
    from irstd_lib.benchmarks.metrics_speed import main

    result = main(["--n", "4", "--size", "64", "--repeats", "1", "--json"])
    for key in ("ours_images_per_s", "reference_images_per_s", "speed_ratio", "roc_images_per_s", "roc_cost_ratio", "ours", "reference"):
        assert key in result
    assert result["agree_basicirstd_exact"] and result["agree_correct_with_leftover_regions"]
    assert result["agree_iou"] and result["agree_roc_single_threshold"]
    assert '"speed_ratio"' in capsys.readouterr().out


def test_pd_fa_step_area_counts_every_curve_in_one_fixed_range():
    from irstd_lib.metrics import pd_fa_area

    # Step: 0 on [0, 10), 0.5 on [10, 20), 1 on [20, 40) -> (0 + 5 + 20) / 40.
    assert pd_fa_area([10, 20], [50, 100], 40, mode="step") == pytest.approx(0.625)
    # A curve right of another's range still counts when the range covers it; the trapezoid
    # reading with a window ending before its first point gave it 0.
    assert pd_fa_area([200, 400], [70, 95], 30) == 0.0
    assert pd_fa_area([200, 400], [70, 95], 500, mode="step") == pytest.approx((0.7 * 200 + 0.95 * 100) / 500)
    # The best Pd within the budget: a later point with a lower Pd does not lower the step.
    assert pd_fa_area([1, 2], [80, 60], 4, mode="step") == pytest.approx(0.8 * 3 / 4)
    with pytest.raises(ValueError, match="mode"):
        pd_fa_area([1], [1], 2, mode="log")


def test_pd_fa_figure_names_its_range_and_every_area_is_positive():
    pytest.importorskip("matplotlib")
    import matplotlib

    matplotlib.use("Agg")
    from irstd_lib.figures import nice_ceiling, pd_fa_figure

    assert [nice_ceiling(x) for x in (0.3, 1.0, 1.5, 4.0, 7.0, 400.0)] == [0.5, 1.0, 2.0, 5.0, 10.0, 500.0]
    fig, table = pd_fa_figure({"near": (np.array([2.0, 5.0, 30.0]), np.array([60.0, 80.0, 90.0]), None),
                               "far": (np.array([200.0, 400.0]), np.array([70.0, 95.0]), None)}, "t")
    assert (table["Fa range"] == 500.0).all() and (table["Pd-Fa area"] > 0).all()
    assert "0-500e-6" in fig.axes[0].get_title()
