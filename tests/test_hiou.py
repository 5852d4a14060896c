"""hIoU, OPDC matching and the error analysis (irstd_lib.metrics): hand-made cases with answers
worked out by hand, and the field's kit (PyIRSTDMetrics) as an oracle on perturbed NUAA-SIRST
masks, run in its own environment ($IRSTD_KIT_VENV, default ../scratch/venv-kit: it pins
numpy < 2) through a subprocess; skipped with the reason when the kit or the data is absent."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from irstd_lib.bootstrap import bootstrap_intervals, metrics_from_counts
from irstd_lib.metrics import HIOU_ERRORS, SegmentationMetrics, hiou_from_counts, hiou_image

REPO = Path(__file__).resolve().parents[1]


def _blank(h=20, w=20):
    return np.zeros((h, w), dtype=bool)


def test_perfect_prediction_has_hiou_100_and_no_error():
    mask = _blank()
    mask[2:5, 2:5] = True
    mask[10:12, 14:17] = True
    m = SegmentationMetrics()
    m.update(mask.astype(np.float32), mask)
    r = m.compute()
    assert (r["opdc_tp"], r["opdc_fp"], r["opdc_fn"]) == (2, 0, 0)
    assert r["hIoU"] == pytest.approx(100.0) and r["seg_IoU"] == pytest.approx(100.0) and r["loc_IoU"] == 100.0
    assert all(r[e] == 0 for e in HIOU_ERRORS)
    assert r["precision"] == r["recall"] == r["F1"] == pytest.approx(100.0)


def test_one_row_or_column_assignment_is_the_solvers_own_on_ties():
    """OPDC solves a single target (or a single component) as the first minimum of its distances:
    that must be the assignment scipy's solver returns, ties included, or the counts would move."""
    from scipy.optimize import linear_sum_assignment

    from irstd_lib.metrics import _assignment

    rng = np.random.default_rng(0)
    for _ in range(3000):
        k = int(rng.integers(1, 7))
        costs = rng.integers(0, 3, k).astype(float)  # few values: many ties
        for cost in (costs[None, :], costs[:, None]):
            got, want = _assignment(cost), linear_sum_assignment(cost)
            assert np.array_equal(got[0], want[0]) and np.array_equal(got[1], want[1]), cost
    square = rng.random((3, 4))
    assert all(np.array_equal(a, b) for a, b in zip(_assignment(square), linear_sum_assignment(square)))
    empty = _assignment(np.zeros((0, 2)))
    assert empty[0].size == 0 and empty[1].size == 0


def test_one_target_one_component_on_vectors_equals_the_matrix_path():
    """Most images hold one target and one component: OPDC takes them on the one-target vectors,
    which must give the matrix path's counts and pairs exactly (matched by IoU, by distance only,
    or not at all)."""
    from irstd_lib.metrics import Components, _OPDC_SUMS, _opdc_matrices, _opdc_one_target

    rng = np.random.default_rng(1)
    seen = set()
    for _ in range(4000):
        gt_area, pred_area = (int(v) for v in rng.integers(1, 40, 2))
        inter = int(rng.integers(0, min(gt_area, pred_area) + 1))
        gt = Components(np.array([gt_area]), rng.uniform(0, 50, (1, 2)))
        shift = rng.choice([0.0, 1.0, 2.5, 2.9999999, 3.0, 7.0]) * np.array([[np.cos(1.0), np.sin(1.0)]])
        pred = Components(np.array([pred_area]), gt.centroids + shift)
        labels = np.ones(inter, dtype=np.int64)
        fresh = lambda: {**dict.fromkeys(_OPDC_SUMS, 0), "opdc_iou_sum": 0.0, "seg_mrg_sum": 0.0, "seg_itf_sum": 0.0,
                         "seg_pcp_sum": 0.0}
        fast = _opdc_one_target(gt, pred, labels, 0.5, 3.0, fresh())
        full = _opdc_matrices(gt, pred, labels, labels, 0.5, 3.0, fresh())
        assert fast.counts == full.counts and all(type(fast.counts[k]) is type(full.counts[k]) for k in full.counts)
        assert np.array_equal(fast.pairs, full.pairs) and np.array_equal(fast.pair_iou, full.pair_iou)
        seen.add((inter / (gt_area + pred_area - inter) >= 0.5, full.counts["opdc_tp"]))
    assert seen == {(True, 1), (False, 1), (False, 0)}  # matched by IoU, by distance alone, not matched



def test_one_target_several_components_on_vectors_equals_the_matrix_path():
    """An image of one target and a few components (one target, false alarms) is taken on vectors;
    it must give the matrix path's counts, types and pairs exactly, ties in distance included."""
    from irstd_lib.metrics import Components, _OPDC_SUMS, _opdc_matrices, _opdc_one_target

    rng = np.random.default_rng(2)
    seen = set()
    for _ in range(3000):
        n = int(rng.integers(2, 6))
        gt_area = int(rng.integers(1, 40))
        pred_areas = rng.integers(1, 40, n)
        inters = np.array([int(rng.integers(0, min(gt_area, a) + 1)) if rng.random() < 0.5 else 0 for a in pred_areas])
        if inters.sum() > gt_area:  # the components are disjoint: their overlaps fit in the target
            inters = (inters * gt_area) // inters.sum()
        gt = Components(np.array([gt_area]), rng.uniform(0, 50, (1, 2)))
        radius = rng.choice([0.0, 1.0, 2.5, 2.9999999, 3.0, 7.0], n)
        angle = rng.choice([0.0, 1.0, 2.0], n)  # equal radii at several angles: ties in distance
        pred = Components(pred_areas.astype(np.int64), gt.centroids + radius[:, None] * np.stack([np.cos(angle), np.sin(angle)], 1))
        pred_labels = np.repeat(np.arange(1, n + 1), inters)
        fresh = lambda: {**dict.fromkeys(_OPDC_SUMS, 0), "opdc_iou_sum": 0.0, "seg_mrg_sum": 0.0, "seg_itf_sum": 0.0,
                         "seg_pcp_sum": 0.0}
        fast = _opdc_one_target(gt, pred, pred_labels, 0.5, 3.0, fresh())
        full = _opdc_matrices(gt, pred, np.ones_like(pred_labels), pred_labels, 0.5, 3.0, fresh())
        assert fast.counts == full.counts and all(type(fast.counts[k]) is type(full.counts[k]) for k in full.counts)
        assert np.array_equal(fast.pairs, full.pairs) and fast.pairs.dtype == full.pairs.dtype
        assert np.array_equal(fast.pair_iou, full.pair_iou)
        seen.add((full.counts["opdc_tp"], full.counts["loc_m2s"] > 0, full.counts["loc_s2m"]))
    # Matched as the only candidate, matched among several, missed with no candidate, and missed
    # because the nearest component is no candidate while a farther one overlaps (single-to-merge).
    assert {(1, False, 0), (1, True, 0), (0, False, 0), (0, True, 1)} <= seen, seen


def _scene(rng: np.random.Generator, h: int, w: int) -> tuple[np.ndarray, np.ndarray]:
    """Float scores and a bool mask: targets of 1 px to large blobs (some on the border), scores
    near them, false blobs, and sometimes a nearly full map (many pixels near the targets)."""
    mask = np.zeros((h, w), dtype=bool)
    scores = (rng.random((h, w)) * 0.4).astype(np.float32)
    for _ in range(int(rng.integers(0, 4))):
        r, c = int(rng.integers(0, h)), int(rng.integers(0, w))
        dh, dw = (int(v) for v in rng.integers(1, max(2, min(h, w) // 2), 2))
        mask[r:r + dh, c:c + dw] |= rng.random((min(dh, h - r), min(dw, w - c))) < 0.8
        sr, sc = r + int(rng.integers(-2, 3)), c + int(rng.integers(-2, 3))
        sr, sc = min(max(sr, 0), h - 1), min(max(sc, 0), w - 1)
        scores[sr:sr + dh, sc:sc + dw] = rng.uniform(0.3, 1.0)
    for _ in range(int(rng.integers(0, 5))):
        r, c = int(rng.integers(0, h)), int(rng.integers(0, w))
        scores[r:r + int(rng.integers(1, 4)), c:c + int(rng.integers(1, 4))] = rng.uniform(0.4, 1.0)
    if rng.random() < 0.1:
        scores = np.maximum(scores, np.float32(rng.uniform(0.45, 0.6)))
    return scores, mask


@pytest.mark.parametrize("connectivity,fa_mode,opdc_empty", [(8, "correct", "correct"), (4, "basicirstd_b75ecc8", "pyirstdmetrics_1.0.2")])
def test_one_pass_equals_each_measure_on_its_own_path(connectivity, fa_mode, opdc_empty, monkeypatch):
    """SegmentationMetrics takes every measure of an image from its two maps' pixel lists, labelled
    together on a compressed grid (_pixel_pair); each must equal what its own path gives: labels
    and components as ndimage labels each whole map (label_components), the centroid rule from
    them (match_targets), OPDC on the label images, the shooting rule on the window around the
    targets (ShootingRulePdFa), on scenes from single pixels to large blobs and full maps."""
    from irstd_lib.metrics import ShootingRulePdFa, _pixel_pair, label_components, match_targets, opdc_match

    import irstd_lib.metrics as metrics

    window_calls = []
    on_window = metrics._shooting_parts
    monkeypatch.setattr(metrics, "_shooting_parts", lambda *a: window_calls.append(1) or on_window(*a))
    rng = np.random.default_rng(connectivity)
    fallback = 0
    for _ in range(400):
        h, w = (int(v) for v in rng.integers(1, 200 if rng.random() < 0.1 else 48, 2))
        scores, mask = _scene(rng, h, w)
        pred = scores > np.float32(0.5)
        pair = _pixel_pair(pred, mask, connectivity)
        target_image, targets = label_components(mask, connectivity)
        pred_image, components = label_components(pred, connectivity)
        assert np.array_equal(pair.target_labels, target_image.ravel()[pair.target_index])
        assert np.array_equal(pair.pred_labels, pred_image.ravel()[pair.pred_index])
        for got, want in ((pair.targets, targets), (pair.components, components)):
            assert np.array_equal(got.areas, want.areas) and np.array_equal(got.centroids, want.centroids)

        one = SegmentationMetrics(0.5, connectivity=connectivity, fa_mode=fa_mode, opdc_empty=opdc_empty, per_image=True)
        calls = len(window_calls)
        one.update(scores, mask)
        fallback += len(window_calls) > calls
        got = one.compute()
        inter, union = int(np.count_nonzero(pred & mask)), int(np.count_nonzero(pred | mask))
        assert (got["intersection"], got["union"]) == (inter, union)
        match = match_targets(pred, mask, connectivity=connectivity, fa_mode=fa_mode)
        assert (got["n_matched"], got["n_false_alarm_pixels"], got["n_false_alarm_components"]) == (
            match.n_matched, match.false_alarm_pixels, match.n_false_alarm_components)
        both = pred & mask
        opdc = opdc_match(targets, components, target_image[both], pred_image[both], 0.5, 3.0, opdc_empty).counts
        assert {k: one.opdc[k] for k in opdc} == opdc
        shooting = ShootingRulePdFa([0.5], connectivity=connectivity)
        shooting.update(scores, mask)
        assert (got["n_shooting_hit"], got["n_shooting_false_alarm_pixels"]) == (
            int(shooting.n_hit[0]), int(shooting.false_alarm_pixels[0]))
    assert fallback > 0  # some scenes took the shooting rule on the window (many pixel pairs near the targets)

def test_hand_made_image_seg_and_loc_iou_and_their_errors():
    # Target A: 3x3 at rows 2-4, cols 2-4 (9 px). Prediction on A: rows 2-4, cols 3-5 (9 px):
    # overlap 6, union 12 -> IoU 0.5 (>= 0.5: matched in the overlap stage); of the union 3 px
    # predicted on background (itf 3/12) and 3 px missed (pcp 3/12).
    # Target B: 1 px at (10, 10), predicted 1 px at (11, 11): no overlap, centroid distance
    # sqrt(2) < 3 -> matched by distance, IoU 0; its union 2: 1 itf, 1 pcp.
    # Target C: 2 px at (15, 2-3), nothing near: missed (pcp, loc). A false blob at (17, 17): itf.
    mask, pred = _blank(), _blank()
    mask[2:5, 2:5] = True
    pred[2:5, 3:6] = True
    mask[10, 10] = True
    pred[11, 11] = True
    mask[15, 2:4] = True
    pred[17, 17] = True
    match = hiou_image(pred, mask)
    c = match.counts
    assert (c["opdc_tp"], c["opdc_fp"], c["opdc_fn"]) == (2, 1, 1)
    assert match.pairs.tolist() == [[0, 0], [1, 1]]
    assert match.pair_iou.tolist() == [0.5, 0.0]
    r = hiou_from_counts(c)
    assert r["seg_IoU"] == pytest.approx(100 * 0.5 / 2)
    assert r["loc_IoU"] == pytest.approx(100 * 2 / 4)
    assert r["hIoU"] == pytest.approx(100 * 0.25 * 0.5)
    assert r["seg_itf_err"] == pytest.approx(100 * (3 / 12 + 1 / 2) / 2)
    assert r["seg_pcp_err"] == pytest.approx(100 * (3 / 12 + 1 / 2) / 2)
    assert r["seg_mrg_err"] == 0
    assert r["loc_itf_err"] == pytest.approx(100 * 1 / 4) and r["loc_pcp_err"] == pytest.approx(100 * 1 / 4)
    assert r["loc_m2s_err"] == r["loc_s2m_err"] == 0
    # The fractions of each budget add up: seg IoU + seg errors = 1, loc IoU + loc errors = 1.
    assert r["seg_IoU"] + r["seg_mrg_err"] + r["seg_itf_err"] + r["seg_pcp_err"] == pytest.approx(100)
    assert r["loc_IoU"] + sum(r[k] for k in ("loc_itf_err", "loc_pcp_err", "loc_m2s_err", "loc_s2m_err")) == pytest.approx(100)


def test_one_blob_over_two_targets_is_one_match_a_merge_error_and_a_single_to_merge_miss():
    # Two 2x2 targets joined by a predicted 2x5 bar: the bar (10 px) overlaps target A (4 px)
    # with IoU 4/10 < 0.5, so no overlap-stage pair; both targets' centroids lie within 3 px of
    # the bar's, so the distance stage gives the bar to one target only (one to one): the other
    # is a target lost to the merge (s2m), and 4 px of the matched pair sit on the other target.
    mask, pred = _blank(), _blank()
    mask[5:7, 5:7] = True
    mask[5:7, 8:10] = True
    pred[5:7, 5:10] = True
    match = hiou_image(pred, mask)
    c = match.counts
    assert (c["opdc_tp"], c["opdc_fp"], c["opdc_fn"]) == (1, 0, 1)
    assert c["loc_s2m"] == 1 and c["loc_pcp"] == 0 and c["loc_itf"] == 0 and c["loc_m2s"] == 0
    assert match.pair_iou.tolist() == [0.4]
    assert c["seg_mrg_sum"] == pytest.approx(4 / 10) and c["seg_itf_sum"] == pytest.approx(2 / 10)
    r = hiou_from_counts(c)
    assert r["hIoU"] == pytest.approx(100 * 0.4 * 0.5)


def test_two_pieces_of_one_target_one_matched_the_other_a_split_false_alarm():
    # One 1x7 target (cols 4-10, centroid col 7) predicted in two pieces: cols 4-7 (IoU 4/7,
    # 1.5 px off) and cols 9-10 (2.5 px off, so a candidate by distance). One to one keeps the
    # first; the second is a component lost to the split (m2s), not an interference.
    mask, pred = _blank(), _blank()
    mask[8, 4:11] = True
    pred[8, 4:8] = True
    pred[8, 9:11] = True
    c = hiou_image(pred, mask).counts
    assert (c["opdc_tp"], c["opdc_fp"], c["opdc_fn"]) == (1, 1, 0)
    assert c["loc_m2s"] == 1 and c["loc_itf"] == 0
    assert hiou_from_counts(c)["hIoU"] == pytest.approx(100 * 4 / 7 * 0.5)


def test_overlap_stage_comes_before_distance():
    # One predicted 3x3 block P (rows 4-6, cols 4-6, centroid (5, 5)). Target A: P's left two
    # columns (IoU 6/9), target B: one pixel at (3, 7), 2.83 px from P's centroid, first in
    # raster order. The toolbox's greedy distance matching gives P to B (first target within
    # 3 px); OPDC gives it to A (the overlap stage), and B is missed.
    from irstd_lib.metrics import match_targets

    mask, pred = _blank(), _blank()
    pred[4:7, 4:7] = True
    mask[4:7, 4:6] = True
    mask[3, 7] = True
    assert match_targets(pred, mask).matched_pred.tolist() == [0, -1]
    match = hiou_image(pred, mask)
    assert match.pairs.tolist() == [[1, 0]] and match.pair_iou.tolist() == [6 / 9]
    assert match.counts["opdc_fn"] == 1 and match.counts["loc_s2m"] == 1
    # Now a case where only the distance stage can match: a 1-px prediction 2 px from a 1-px target.
    mask3, pred3 = _blank(), _blank()
    mask3[10, 10] = True
    pred3[10, 12] = True
    c = hiou_image(pred3, mask3).counts
    assert (c["opdc_tp"], c["opdc_iou_sum"]) == (1, 0.0)
    pred3[:] = False
    pred3[10, 13] = True  # distance 3: not strictly below 3
    assert hiou_image(pred3, mask3).counts["opdc_tp"] == 0


def test_empty_images_counted_correctly_or_as_the_kit_does():
    mask = _blank()
    mask[2:4, 2:4] = True
    empty = _blank()
    # A target-free image with one false blob, and an image predicted empty.
    blob = _blank()
    blob[10:12, 10:12] = True
    correct = SegmentationMetrics()
    kit = SegmentationMetrics(opdc_empty="pyirstdmetrics_1.0.2")
    for metric in (correct, kit):
        metric.update(blob, empty)
        metric.update(empty, mask)
        metric.update(empty, empty)
    c, k = correct.compute(), kit.compute()
    assert (c["opdc_tp"], c["opdc_fp"], c["opdc_fn"]) == (0, 1, 1)
    assert (k["opdc_tp"], k["opdc_fp"], k["opdc_fn"]) == (0, 3, 3)  # a phantom per empty side
    assert c["hIoU"] == 0 and math.isnan(c["seg_IoU"])
    with pytest.raises(ValueError, match="opdc_empty"):
        SegmentationMetrics(opdc_empty="kit")


def test_old_metrics_unchanged_by_hiou():
    rng = np.random.default_rng(0)
    scores = rng.random((3, 32, 32)).astype(np.float32) ** 4
    masks = rng.random((3, 32, 32)) > 0.97
    m = SegmentationMetrics(per_image=True)
    m.update(scores, masks)
    r = m.compute()
    assert r["IoU"] == pytest.approx(100 * r["intersection"] / r["union"])
    assert set(m.rows[0]) >= {"intersection", "union", "opdc_tp", "opdc_fp", "opdc_fn", "opdc_iou_sum"}


def test_bootstrap_hiou_from_per_image_rows_and_old_rows_without_it():
    rows = [{"name": f"i{i}", "intersection": 3, "union": 5, "n_targets": 2, "n_matched": 1, "n_false_alarm_pixels": 2,
             "n_pixels": 100, "opdc_tp": 1 + i % 2, "opdc_fp": i % 3, "opdc_fn": 1, "opdc_iou_sum": 0.6 * (1 + i % 2)}
            for i in range(8)]
    point = metrics_from_counts({k: np.array([r[k] for r in rows], dtype=float) for k in rows[0] if k != "name"})
    summed = {k: sum(r[k] for r in rows) for k in ("opdc_tp", "opdc_fp", "opdc_fn", "opdc_iou_sum")}
    assert point["hIoU"][0] == pytest.approx(hiou_from_counts(summed)["hIoU"])
    out = bootstrap_intervals(rows, n_resamples=200)
    assert out["hIoU"]["low"] <= out["hIoU"]["value"] <= out["hIoU"]["high"]
    old = [{k: v for k, v in r.items() if not k.startswith("opdc")} for r in rows]
    assert "hIoU" not in bootstrap_intervals(old, n_resamples=50)


# ----------------------------------------------------------------------------------------------
# The kit as an oracle
# ----------------------------------------------------------------------------------------------

KIT_SCRIPT = r'''
import json, sys
import numpy as np
from py_irstd_metrics import CMMetrics, FmeasureHandler, HierarchicalIoUBasedErrorAnalysis, PrecisionHandler, RecallHandler
data = np.load(sys.argv[1])
probs, masks = data["probs"], data["masks"]
whole = HierarchicalIoUBasedErrorAnalysis(num_bins=1)
cm = CMMetrics(threshold=0.5, metric_handlers={
    "precision": PrecisionHandler(with_dynamic=False, with_binary=True, sample_based=False),
    "recall": RecallHandler(with_dynamic=False, with_binary=True, sample_based=False),
    "f1": FmeasureHandler(with_dynamic=False, with_binary=True, sample_based=False, beta=1.0)})
per_image = []
for p, m in zip(probs, masks):
    one = HierarchicalIoUBasedErrorAnalysis(num_bins=1)
    one.update(p, m)
    whole.update(p, m)
    cm.update(p, m)
    per_image.append([int(one.tp_objs[0]), int(one.fp_objs[0]), int(one.fn_objs[0]), float(one.tp_ious[0])])
out = {k: float(np.asarray(v).ravel()[0]) for k, v in whole.get().items()}
for name, handler in cm._metric_handlers.items():
    b = handler.binary_results
    out[name] = float(handler(b["tp"], b["fp"], b["tn"], b["fn"]))
out["per_image"] = per_image
print(json.dumps(out))
'''


def _kit_python() -> Path:
    venv = Path(os.environ.get("IRSTD_KIT_VENV", REPO.parent / "scratch" / "venv-kit"))
    python = venv / "bin" / "python"
    if not python.is_file():
        pytest.skip(f"the kit's environment is not at {venv} (set IRSTD_KIT_VENV to a venv with pyirstdmetrics: "
                    f"uv venv {venv} && uv pip install --python {venv} pyirstdmetrics)")
    probe = subprocess.run([str(python), "-c", "import py_irstd_metrics"], capture_output=True, text=True)
    if probe.returncode != 0:
        pytest.skip(f"pyirstdmetrics is not importable in {venv}: {probe.stderr.strip()[-200:]}")
    return python


def _perturbed_nuaa(root: Path, n: int = 64, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``n`` NUAA-SIRST masks (cropped to 128 x 128 around their targets) and predictions made
    from them by seeded perturbations: shifts, dilation and erosion, dropped targets, false blobs,
    blobs bridging or splitting targets, soft (blurred) maps; one predicted empty."""
    from PIL import Image
    from scipy import ndimage

    rng = np.random.default_rng(seed)
    files = sorted((root / "masks").glob("*.png"))[:n]
    probs, masks = [], []
    for i, path in enumerate(files):
        full = np.asarray(Image.open(path).convert("L")) > 0
        rows, cols = np.nonzero(full) if full.any() else (np.array([64]), np.array([64]))
        r0 = int(np.clip(rows.min() - 20, 0, max(full.shape[0] - 128, 0)))
        c0 = int(np.clip(cols.min() - 20, 0, max(full.shape[1] - 128, 0)))
        mask = np.zeros((128, 128), dtype=bool)
        crop = full[r0:r0 + 128, c0:c0 + 128]
        mask[:crop.shape[0], :crop.shape[1]] = crop
        pred = mask.copy()
        kind = i % 8
        if kind == 0:
            pred = np.roll(pred, (int(rng.integers(-3, 4)), int(rng.integers(-3, 4))), axis=(0, 1))
        elif kind == 1:
            pred = ndimage.binary_dilation(pred, iterations=int(rng.integers(1, 3)))
        elif kind == 2:
            pred = ndimage.binary_erosion(pred)
        elif kind == 3:
            labels, k = ndimage.label(pred, structure=np.ones((3, 3)))
            if k:
                pred[labels == int(rng.integers(1, k + 1))] = False
        elif kind == 4:
            for _ in range(int(rng.integers(1, 4))):
                r, c = rng.integers(0, 124, 2)
                pred[r:r + int(rng.integers(1, 4)), c:c + int(rng.integers(1, 4))] = True
        elif kind == 5:
            # A one-pixel second target 3 columns right of the first, and a prediction that
            # bridges the two (the first's match then holds a merge error).
            tr, tc = np.nonzero(mask) if mask.any() else (np.array([60]), np.array([60]))
            mask[int(np.median(tr)), min(int(tc.max()) + 4, 127)] = True
            pred = ndimage.binary_dilation(mask, structure=np.ones((1, 5), dtype=bool))
        elif kind == 6:
            pred[:, ::3] = False  # cut every target into strips
        elif kind == 7 and i == 7:
            pred[:] = False
        elif kind == 7 and mask.any():
            # The target replaced by two one-pixel targets either side of its centre and one
            # 1x3 prediction over both: both candidates by distance, one lost to the one-to-one
            # assignment (s2m).
            tr, tc = np.nonzero(mask)
            r, c = int(np.median(tr)), int(np.clip(np.median(tc), 1, 126))
            mask[tr, tc] = False
            mask[r, [c - 1, c + 1]] = True
            pred[:] = False
            pred[r, c - 1:c + 2] = True
        prob = ndimage.gaussian_filter(pred.astype(np.float64), sigma=float(rng.uniform(0.3, 1.2)))
        prob = np.clip(prob * rng.uniform(0.8, 1.6), 0.0, 1.0)
        probs.append(prob)
        masks.append(mask)
    return np.stack(probs), np.stack(masks)


def run_kit_script(script: str, probs: np.ndarray, masks: np.ndarray, folder: Path) -> dict:
    """``script`` run by the kit's python on ``probs``/``masks`` (an .npz, its first argument):
    the JSON it prints (skips when the kit's environment is absent)."""
    python = _kit_python()
    data = folder / "maps.npz"
    np.savez(data, probs=probs, masks=masks)
    path = folder / "kit_oracle.py"
    path.write_text(script)
    done = subprocess.run([str(python), str(path), str(data)], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout)


def test_agrees_with_the_kit_on_perturbed_nuaa_sirst(nuaa_root, tmp_path):
    probs, masks = _perturbed_nuaa(nuaa_root)
    kit = run_kit_script(KIT_SCRIPT, probs, masks, tmp_path)

    ours = SegmentationMetrics(0.5, opdc_empty="pyirstdmetrics_1.0.2", per_image=True)
    for p, m in zip(probs, masks):
        ours.update(p, m)
    r = ours.compute()
    got = [[row["opdc_tp"], row["opdc_fp"], row["opdc_fn"]] for row in ours.rows]
    assert got == [row[:3] for row in kit["per_image"]]
    assert [row["opdc_iou_sum"] for row in ours.rows] == pytest.approx([row[3] for row in kit["per_image"]], abs=1e-12)
    # The perturbations reach every kind of error, so each term below is compared where it is not 0.
    assert r["opdc_tp"] > 0 and r["opdc_fp"] > 0 and r["opdc_fn"] > 0
    for name in ("seg_IoU", "loc_IoU") + HIOU_ERRORS:
        assert r[name] / 100 == pytest.approx(kit[name.replace("IoU", "iou")], abs=1e-12), name
    for name in ("seg_mrg_err", "loc_s2m_err", "loc_m2s_err", "loc_itf_err", "loc_pcp_err"):
        assert kit[name] > 0, name
    assert r["hIoU"] / 100 == pytest.approx(kit["seg_iou"] * kit["loc_iou"], abs=1e-12)
    for ours_name, kit_name in (("precision", "precision"), ("recall", "recall"), ("F1", "f1")):
        assert r[ours_name] / 100 == pytest.approx(kit[kit_name], abs=1e-12), ours_name


def test_benchmark_against_the_kit_agrees_on_tiny_maps():
    python = _kit_python()
    from irstd_lib.benchmarks.metrics_speed import make_dataset, run_kit_comparison

    scores, masks = make_dataset(6, 48, 0)
    result = run_kit_comparison(scores, masks, python, repeats=1, rounds=2)
    assert result["rounds"] == 2
    assert result["agree"] == {"thresholds": True, "pdfa20": True, "pdfa1": True, "pdfa1_only": True, "shoot20": True,
                               "shoot1": True, "hiou": True}
    assert {row["measure"] for row in result["rows"]} == {"pdfa20", "pdfa1", "pdfa1_only", "shoot20", "shoot1", "hiou", "pdfa1_same"}
    rows = {row["measure"]: row for row in result["rows"]}
    # the like-for-like row: the kit's three passes for the measures our one pass takes
    kit_three = sum(len(scores) / rows[k]["kit_images_per_s"] for k in ("pdfa1", "shoot1", "hiou"))
    assert rows["pdfa1_same"]["kit_images_per_s"] == pytest.approx(len(scores) / kit_three)
    assert rows["pdfa1_same"]["ours_images_per_s"] == rows["pdfa1"]["ours_images_per_s"] and rows["pdfa1_same"]["agree"]


def test_table_column_measures_new_records_and_marks_old_ones_not_measured():
    import pandas as pd

    from irstd_lib.scoring import HIOU_NOTE, NOT_MEASURED, with_hiou_column

    new = [{"name": f"i{i}", "intersection": 3, "union": 5, "n_targets": 1, "n_matched": 1, "n_false_alarm_pixels": 0,
            "n_pixels": 100, "opdc_tp": 1, "opdc_fp": i % 2, "opdc_fn": 0, "opdc_iou_sum": 0.5} for i in range(6)]
    old = [{k: v for k, v in row.items() if not k.startswith("opdc")} for row in new]
    table = pd.DataFrame({"method": ["new run", "old run", "paper row"], "IoU": [1.0, 2.0, 3.0], "Fa": [1.0, 2.0, 3.0],
                          "Fa 95% CI": ["", "", ""], "Fa (paper)": [None, None, 9.0]})
    out = with_hiou_column(table, [new, old])
    assert list(out.columns) == ["method", "IoU", "Fa", "Fa 95% CI", "Fa (paper)", "hIoU", "hIoU 95% CI"]
    # 6 images, TP 6, FP 3, FN 0, summed IoU 3: seg 0.5 x loc 6/9.
    assert out["hIoU"][0] == pytest.approx(round(100 * 0.5 * 6 / 9, 2))
    assert out["hIoU"][1] == NOT_MEASURED and out["hIoU"][2] == "" and out["hIoU 95% CI"][1] == ""
    assert HIOU_NOTE in out.attrs["note"]
    assert "note" not in with_hiou_column(table, [new]).attrs
