"""The GPU check's dry run (issue 25): ``--device cpu --tiny`` runs the same code end to end, every
system reports a line with positive throughput, and a budget too small skips with a message."""

from __future__ import annotations

import json

import pytest

from irstd_lib.benchmarks import gpu_check

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def test_the_tiny_cpu_run_reports_every_system(tmp_path):
    lines: list[str] = []
    report = gpu_check.run_check("cpu", tiny=True, warmup=0, steps=1, repeats=1, out=tmp_path, echo=lines.append)
    measured = [r for r in report["rows"] if "skipped" not in r]
    assert {r["variant"] for r in measured} == {c.variant for c in gpu_check.SYSTEMS}
    for row in measured:
        assert row["precision"] == "fp32" and row["train_images_per_s"] > 0 and row["latency_ms"] > 0, row
        assert row["train_s_per_epoch"] == pytest.approx(row["epoch_images"] / row["train_images_per_s"])
    # bf16 is the CUDA autocast: on a CPU its lines say why they were not measured
    assert all("CUDA only" in r["skipped"] for r in report["rows"] if r["precision"] == "bf16")
    saist = next(r for r in measured if r["variant"] == "saist")
    assert saist["epoch_images"] == 214 and saist["size"] == 128  # SAIST's 50 %; the tiny SAM's smoke size
    lgnet = next(r for r in measured if r["variant"] == "lgnet")
    assert lgnet["epoch_images"] == 800 and "30 s per epoch" in lines[[r["variant"] for r in report["rows"]].index("lgnet")]
    written = json.loads((tmp_path / "gpu_check.json").read_text())
    assert len(written["rows"]) == len(report["rows"]) == 2 * len(gpu_check.SYSTEMS)
    assert (tmp_path / "gpu_check.md").read_text().count("| SAIST |") == 2


def test_a_budget_too_small_skips_with_a_message(tmp_path, capsys):
    assert gpu_check.main(["--device", "cpu", "--tiny", "--budget-s", "0", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert out.count("skipped: budget: 0 s of 0 s left") == 2 * len(gpu_check.SYSTEMS)
    assert f"0 of {2 * len(gpu_check.SYSTEMS)} lines measured" in out


def test_an_unknown_system_is_named():
    with pytest.raises(ValueError, match=r"unknown systems \['lgnett'\]; choose among saist, lgnet"):
        gpu_check.run_check("cpu", tiny=True, systems=["lgnett"])
