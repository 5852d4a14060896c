"""reproduce --verify: a recorded run trained again and compared with its record."""

from __future__ import annotations

import json

import pytest

from irstd_lib.runs import DataConfig, RunConfig, run_experiment, verification_status
from irstd_lib.reproduce import ReproduceReport, _verification_section, verification_rows

CONFIG = RunConfig(model="lgnet_baseline", model_kwargs={"width": 4},
                   data=DataConfig(synthetic={"n": 12, "seed": 0, "size": 48}, train_size=32, eval_size=48, train_policy="resize"),
                   train={"epochs": 1, "batch_size": 4, "warmup_epochs": 0, "scheduler": "constant"}, profile="smoke")


def _entry(fresh_iou: float, recorded_iou: float = 40.0) -> dict:
    base = {"IoU": recorded_iou, "nIoU": 30.0, "Pd": 50.0, "Fa": 100.0}
    return {"hash": "h", "model": "lgnet_baseline", "seed": 0, "primary": "test",
            "recorded": {"test": base}, "fresh": {"test": {**base, "IoU": fresh_iou}}}


def test_statuses():
    sd = {"IoU": 2.0, "nIoU": 1.0, "Pd": 1.0, "Fa": 1.0}
    assert verification_status(_entry(40.0), sd, 2.77) == "identical"
    assert verification_status(_entry(45.0), sd, 2.77) == "within seed spread"  # 5 <= 5.54
    assert verification_status(_entry(46.0), sd, 2.77) == "outside"
    assert verification_status(_entry(40.5), None, 2.77) == "outside"  # no spread recorded: nothing to be within


def test_a_recorded_run_is_trained_again_and_compared(tmp_path, monkeypatch):
    results = tmp_path / "results"
    monkeypatch.setenv("IRSTD_CACHE", str(tmp_path / "cache-a"))
    recorded = run_experiment(CONFIG, results_dir=results, progress=False)

    # another machine's cache: nothing there, so the run trains again; same CPU and threads: identical
    monkeypatch.setenv("IRSTD_CACHE", str(tmp_path / "cache-b"))
    log = tmp_path / "verify.jsonl"
    monkeypatch.setenv("IRSTD_VERIFY_LOG", str(log))
    again = run_experiment(CONFIG, results_dir=results, progress=False, verify=True)
    assert again.record == recorded.record  # the record stays as it was
    entry = json.loads(log.read_text().splitlines()[-1])
    assert entry["hash"] == recorded.hash and entry["fresh"] == entry["recorded"]
    assert (tmp_path / "cache-b" / "runs" / recorded.hash / "fresh_metrics.json").is_file()

    # a record that differs (another CPU made it): the cached fresh metrics are compared, not retrained
    metrics_path = recorded.run_dir / "metrics.json"
    record = json.loads(metrics_path.read_text())
    record["test"]["IoU"] += 3.0
    metrics_path.write_text(json.dumps(record))
    run_experiment(CONFIG, results_dir=results, progress=False, verify=True)
    lines = log.read_text().splitlines()
    assert len(lines) == 2
    rows = verification_rows(log, "smoke", results)  # no seed records here: no spread to be within
    assert [r["status"] for r in rows] == ["outside"] and rows[0]["fresh IoU"] == pytest.approx(rows[0]["recorded IoU"] - 3.0)

    report = ReproduceReport(profile="smoke", verification=rows)
    text = "\n".join(_verification_section(report))
    assert "0 identical, 0 within the recorded seed spread" in text and "1 outside it, of 1 runs" in text
    assert f"| {recorded.hash} | lgnet_baseline | 0 | outside |" in text
