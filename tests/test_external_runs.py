"""Another framework's predictions scored and recorded like this package's runs (runs.external)."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import same_values

from irstd_lib.data import IRSTDDataset
from irstd_lib.data.errors import DatasetError
from irstd_lib.metrics import SegmentationMetrics
from irstd_lib.runs import load_run, read_history
from irstd_lib.runs.config import DataConfig
from irstd_lib.runs.external import score_external_run


def _data() -> DataConfig:
    return DataConfig(dataset="tiny", test_split="test")


def _write_predictions(root, out, shift: float = 0.0):
    """Score maps that are the masks blurred a little, so IoU is neither 0 nor 100."""
    test_set = IRSTDDataset(root, split="test")
    out.mkdir(parents=True, exist_ok=True)
    for i in range(len(test_set)):
        sample = test_set[i]
        scores = np.clip(sample.mask.astype(np.float32) * 0.8 + np.roll(sample.mask, 1, axis=1) * 0.6 + shift, 0, 1)
        np.save(out / f"{sample.name}.npy", scores)
    return test_set


def test_external_predictions_are_recorded_with_per_image_counts(tiny_synthetic_root, tmp_path):
    test_set = _write_predictions(tiny_synthetic_root, tmp_path / "pred")
    run = score_external_run("acm", "OtherToolbox", tmp_path / "pred", _data(), tiny_synthetic_root,
                             results_dir=tmp_path / "results", provenance={"commit": "abc"},
                             history=[{"epoch": 1, "train_loss": 0.9, "time_s": 3.0}])
    expected = SegmentationMetrics()
    for i in range(len(test_set)):
        expected.update(np.load(tmp_path / "pred" / f"{test_set.names[i]}.npy"), test_set[i].mask)
    want = expected.compute()
    assert run.metrics["IoU"] == pytest.approx(want["IoU"]) and 0 < want["IoU"] < 100
    assert run.record["kind"] == "external" and run.record["framework"] == "OtherToolbox"
    rows = run.details()["per_image"]
    assert [r["name"] for r in rows] == list(test_set.names)
    assert sum(r["intersection"] for r in rows) == want["intersection"]
    again = load_run(run.hash, tmp_path / "results")
    assert same_values(again.metrics, run.metrics) and list(read_history(run.hash, tmp_path / "results")["train_loss"]) == [0.9]
    # other predictions are another identity
    _write_predictions(tiny_synthetic_root, tmp_path / "pred2", shift=0.2)
    other = score_external_run("acm", "OtherToolbox", tmp_path / "pred2", _data(), tiny_synthetic_root,
                               results_dir=tmp_path / "results")
    assert other.hash != run.hash


def test_a_missing_or_misshapen_prediction_names_the_file(tiny_synthetic_root, tmp_path):
    test_set = _write_predictions(tiny_synthetic_root, tmp_path / "pred")
    (tmp_path / "pred" / f"{test_set.names[1]}.npy").unlink()
    with pytest.raises(DatasetError, match=test_set.names[1]):
        score_external_run("acm", "T", tmp_path / "pred", _data(), tiny_synthetic_root, results_dir=tmp_path / "r")
    np.save(tmp_path / "pred" / f"{test_set.names[1]}.npy", np.zeros((3, 3), np.float32))
    with pytest.raises(DatasetError, match="3x3"):
        score_external_run("acm", "T", tmp_path / "pred", _data(), tiny_synthetic_root, results_dir=tmp_path / "r")
    assert not any((tmp_path / "r").glob("runs/*/metrics.json"))
