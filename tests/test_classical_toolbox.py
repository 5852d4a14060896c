"""The toolbox's scoring of the classical rows (issue 21 item 4): segmentation rules of Top-Hat and
IPI, and the rules scoring that reports them from one pass of score maps."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

from irstd_lib.models import build_model
from irstd_lib.models.classical.threshold import SEGMENTATIONS, segment_by_rule, segmentation_threshold

NUAA = Path(__file__).resolve().parents[2] / "shared" / "data" / "NUAA-SIRST"


def test_minmax_rule_cuts_halfway_between_the_map_extremes():
    scores = np.array([[0.0, 0.2, 0.5], [0.51, 0.9, 1.0]], dtype=np.float32) * 4.0 + 1.0  # 1 .. 5
    assert segment_by_rule(scores, "basicirstd").tolist() == [[False, False, False], [True, True, True]]
    assert segmentation_threshold(scores, "basicirstd") == pytest.approx(3.0)
    # 8-bit route: floor(255 * 0.502) = 128 passes, floor(255 * 0.5019) = 127 does not
    edge = np.array([[0.0, 0.5019, 0.502, 1.0]], dtype=np.float32)
    assert segment_by_rule(edge, "basicirstd_png").tolist() == [[False, False, True, True]]
    assert segment_by_rule(edge, "basicirstd").tolist() == [[False, True, True, True]]


def test_constant_map_gives_no_detection_under_every_rule():
    flat = np.full((8, 8), 0.3, dtype=np.float32)
    for rule in SEGMENTATIONS:
        assert not segment_by_rule(flat, rule).any(), rule


def test_dnanet_rule_is_the_larger_of_its_two_cuts():
    rng = np.random.default_rng(0)
    scores = rng.random((32, 32)).astype(np.float32) * 0.1
    scores[4, 4] = 1.0  # one bright pixel: 0.7 max dominates
    assert segment_by_rule(scores, "dnanet").sum() == 1
    assert segmentation_threshold(scores, "dnanet") == pytest.approx(0.7)
    spread = np.linspace(0, 1, 100, dtype=np.float32).reshape(10, 10)  # mean + 0.5 std < 0.7 max
    assert segmentation_threshold(spread, "dnanet") == pytest.approx(0.7)


def test_default_rule_keeps_the_adaptive_threshold_and_bad_names_are_refused():
    rng = np.random.default_rng(1)
    image = rng.random((40, 40)).astype(np.float32)
    default, explicit = build_model("tophat"), build_model("tophat", segmentation="adaptive")
    scores = default.score(image)
    assert np.array_equal(default.segment_scores(scores), scores > scores.astype(np.float64).mean() + 3 * scores.std())
    assert np.array_equal(default.segment_scores(scores), explicit.segment_scores(scores))
    assert repr(default) == "TopHat(radius=5, shape='disk', k=3.0, min_value=0.0)"
    assert build_model("tophat", segmentation="basicirstd").segment_scores(scores).sum() != default.segment_scores(scores).sum()
    with pytest.raises(ValueError, match="segmentation must be one of"):
        build_model("ipi", segmentation="otsu")


class _Sample:
    def __init__(self, name, image, mask):
        self.name, self.image, self.mask = name, image, mask


def _toy_set(n=3, size=48):
    rng = np.random.default_rng(2)
    out = []
    for i in range(n):
        image = rng.random((size, size)).astype(np.float32) * 0.2
        mask = np.zeros((size, size), dtype=bool)
        r, c = 10 + 7 * i, 30 - 5 * i
        image[r : r + 3, c : c + 3] = 1.0
        mask[r : r + 3, c : c + 3] = True
        out.append(_Sample(f"toy_{i}", image, mask))
    return out


def test_rules_scoring_scores_each_rule_as_a_separate_evaluation_would(tmp_path):
    from irstd_lib.engine.evaluate import evaluate
    from irstd_lib.runs.classical import CLASSICAL_FA_MODES, score_classical_rules

    toy = _toy_set()
    store = tmp_path / "maps"
    rows = score_classical_rules("tophat", toy, scores_dir=store)
    assert len(rows) == len(SEGMENTATIONS) * len(CLASSICAL_FA_MODES)
    for row in rows:
        if (row["segmentation"], row["fa_mode"]) not in {("basicirstd", "correct"), ("basicirstd", "basicirstd_b75ecc8"),
                                                         ("adaptive", "correct")}:
            continue  # three separate evaluations suffice (each costs a pass)
        alone = evaluate(build_model("tophat", segmentation=row["segmentation"]), toy, fa_mode=row["fa_mode"])["metrics"]
        for key in ("IoU", "nIoU", "Pd", "Fa"):
            assert row[key] == pytest.approx(alone[key], abs=1e-9), (row["segmentation"], key)
    # the stored maps are reused: the same rows come back without scoring again (seconds 0)
    assert sorted(p.name for p in store.iterdir()) == ["toy_0.npy", "toy_1.npy", "toy_2.npy"]
    again = score_classical_rules("tophat", toy, scores_dir=store)
    assert [r["IoU"] for r in again] == [r["IoU"] for r in rows] and all(r["seconds"] == 0 for r in again)
    tail = score_classical_rules("tophat", toy, start=1, limit=5, scores_dir=store)
    assert all(r["images"] == 2 for r in tail)
    (store / "toy_1.npy").unlink()
    partial = score_classical_rules("tophat", toy, scores_dir=store, cached_only=True)
    assert all(r["images"] == 2 for r in partial) and not (store / "toy_1.npy").exists()


@pytest.mark.skipif(not (NUAA / "img_idx" / "test_NUAA-SIRST.txt").is_file(), reason="real NUAA-SIRST (toolbox split) absent")
def test_command_line_writes_the_rows_on_the_toolbox_split(tmp_path):
    from irstd_lib.runs.classical import _main

    out = tmp_path / "rows.csv"
    _main(["--method", "tophat", "--data", str(NUAA), "--limit", "3", "--csv", str(out)])
    rows = list(csv.DictReader(out.open()))
    assert {r["segmentation"] for r in rows} == set(SEGMENTATIONS) and all(r["images"] == "3" for r in rows)
