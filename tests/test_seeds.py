"""The measured seed spread beside every table (irstd_lib.reproductions.seeds)."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from irstd_lib.reproductions.configs import RunContext
from irstd_lib.reproductions.seeds import SEPARATION_FACTOR, SeedSpread, reference_config, with_seed_spread


def _spread() -> SeedSpread:
    return SeedSpread("lgnet_baseline", (0, 1, 2), ("a", "b", "c"),
                      {"IoU": (30.0, 34.0, 38.0), "nIoU": (20.0, 20.0, 20.0), "Pd": (50.0, 60.0, 70.0), "Fa": (100.0, 110.0, 120.0)})


def test_sd_is_the_sample_sd_over_seeds():
    spread = _spread()
    assert spread.sd("IoU") == pytest.approx(4.0) and spread.sd("nIoU") == 0.0 and spread.mean("Pd") == pytest.approx(60.0)
    assert "seeds 0, 1, 2" in spread.note() and "IoU 4.00" in spread.note()
    assert SEPARATION_FACTOR == pytest.approx(1.96 * math.sqrt(2))


def test_rows_within_the_spread_are_marked_not_separable():
    table = pd.DataFrame({"setting": ["ref", "close", "far", "paper only"],
                          "IoU": [36.0, 40.0, 50.0, float("nan")], "nIoU": [20.0, 20.0, 20.0, float("nan")],
                          "Pd": [60.0, 61.0, 61.0, float("nan")], "Fa": [100.0, 90.0, 100.0, float("nan")]})
    out = with_seed_spread(table, _spread(), reference=0, reference_label="ref", measured_rows=3)
    column = out["vs ref: beyond seed spread"].tolist()
    # IoU: sd 4, threshold 11.1: +4 is not separable, +14 is; nIoU: sd 0, no difference; Pd within 27.7
    assert column == ["reference", "not separable", "IoU +14.00", ""]
    assert out.attrs["note"].startswith("Seed spread: lgnet_baseline") and "own sds" not in out.attrs["note"]


def test_the_spread_reuses_the_tables_reference_run_at_seed_zero():
    from irstd_lib.reproductions.comparison import method_config
    from irstd_lib.reproductions.lgnet import lgnet_config
    from irstd_lib.reproductions.saist import saist_config

    smoke = RunContext.of("smoke")
    assert reference_config("lgnet", smoke, 0) == lgnet_config("smoke", "baseline", "never")
    assert reference_config("saist", smoke, 0) == saist_config("smoke", "saist")
    for system in ("dgspnet", "ggl_net"):
        assert reference_config(system, smoke, 0) == method_config("smoke", system)
    assert reference_config("lgnet", smoke, 2).seed == 2


# ------------------------------------------------------------------------------------------------
# Several seeds per row


def _per_image(hits: list[int], n: int = 30, seed: int = 0) -> list[dict]:
    import numpy as np

    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        inter, false = hits[i % len(hits)], int(rng.integers(0, 3))
        rows.append({"name": f"img{i:02d}", "intersection": inter, "union": 10 + false, "n_targets": 1,
                     "n_matched": int(inter > 0), "n_false_alarm_pixels": false, "n_pixels": 64 * 64})
    return rows


def _recorded_run(tmp_path, name: str, seed: int, hits: list[int]):
    """A finished run record on disk (metrics, details), as run_experiment leaves it."""
    import json

    import numpy as np

    from irstd_lib.bootstrap import metrics_from_counts
    from irstd_lib.runs import RunResult
    from irstd_lib.reproductions.comparison import method_config

    rows = _per_image(hits, seed=seed)
    counts = {k: np.array([r[k] for r in rows], float) for k in rows[0] if k != "name"}
    metrics = {k: float(v[0]) for k, v in metrics_from_counts(counts).items()}
    run_dir = tmp_path / name
    run_dir.mkdir()
    roc = {"Pd": [metrics["Pd"], 0.0], "Fa": [metrics["Fa"], 0.0], "threshold": [0.25, 0.75], "pixel_auc": 0.5 + seed / 10}
    (run_dir / "details.json").write_text(json.dumps({"test": {"per_image": rows, "roc": roc}}))
    record = {"hash": name, "primary": "test", "evaluations": ["test"], "dataset": "synthetic", "test": {**metrics, "n_images": 30},
              "parameters": {"total": 10, "trainable": 5}, "train_seconds": 2.0}
    return RunResult(method_config("smoke", "acm", seed=seed), name, run_dir, run_dir, record)


def test_row_seeds_come_from_the_notebook_or_the_profile():
    from irstd_lib.reproductions.seeds import row_seeds

    assert row_seeds("smoke") == (0,) and row_seeds("paper") == (0, 1, 2)
    assert row_seeds("smoke", seed=4) == (4,) and row_seeds("paper", seed=4, seeds=[1, 2]) == (1, 2)
    assert row_seeds("smoke", seeds=3) == (3,)
    with pytest.raises(ValueError, match="each seed once"):
        row_seeds("smoke", seeds=[1, 1])
    with pytest.raises(ValueError, match="at least one"):
        row_seeds("smoke", seeds=[])


def test_a_row_at_several_seeds_reads_as_their_mean_with_its_sd(tmp_path):
    import numpy as np

    from irstd_lib.bootstrap import bootstrap_intervals
    from irstd_lib.reproductions.seeds import SD_SUFFIX, SeedRuns, seed_cells

    runs = [_recorded_run(tmp_path, f"h{s}", s, hits) for s, hits in ((0, [2, 3, 0, 4]), (1, [5, 6, 0, 7]), (2, [8, 9, 10, 9]))]
    row = SeedRuns(runs)
    ious = np.array([r.metrics["IoU"] for r in runs])
    assert row.metrics["IoU"] == pytest.approx(ious.mean()) and row.metrics[f"IoU{SD_SUFFIX}"] == pytest.approx(ious.std(ddof=1))
    assert row.hash == "h0+h1+h2" and row.seeds == (0, 1, 2) and row.record["train_seconds"] == 6.0
    assert row.config is runs[0].config and row.record["parameters"] == runs[0].record["parameters"]
    details = row.details("test")
    assert len(details["per_image"]) == 3 and details["roc"]["pixel_auc"] == pytest.approx(0.6)
    cells = seed_cells(row, "test")
    assert cells["seeds"] == "0, 1, 2" and cells[f"Pd{SD_SUFFIX}"] == pytest.approx(np.std([r.metrics["Pd"] for r in runs], ddof=1))
    assert seed_cells(runs[0]) == {}  # one seed: the table reads as before
    # the bootstrap of the seed mean: its point value is the mean, its interval holds it
    interval = bootstrap_intervals(details["per_image"])["IoU"]
    assert interval["value"] == pytest.approx(row.metrics["IoU"]) and interval["low"] < interval["value"] < interval["high"]
    # its lower end lies among the seeds' own lower ends
    lows = [bootstrap_intervals(d)["IoU"]["low"] for d in details["per_image"]]
    assert min(lows) <= interval["low"] <= max(lows)
    with pytest.raises(ValueError, match="two runs"):
        SeedRuns(runs[:1])


def test_seed_runs_on_other_images_are_refused(tmp_path):
    from irstd_lib.bootstrap import bootstrap_intervals

    a, b = _per_image([3]), _per_image([3])
    for r in b:
        r["name"] = "x" + r["name"]
    with pytest.raises(ValueError, match="same test images"):
        bootstrap_intervals([a, b])


def test_rows_with_their_own_seeds_are_compared_by_their_own_spread():
    from irstd_lib.reproductions.seeds import SD_SUFFIX

    nan = float("nan")
    table = pd.DataFrame({"setting": ["ref", "steady", "noisy", "one seed"],
                          "IoU": [36.0, 40.0, 40.0, 40.0], "nIoU": [20.0] * 4, "Pd": [60.0] * 4, "Fa": [100.0] * 4,
                          "seeds": ["0, 1, 2", "0, 1, 2", "0, 1, 2", ""],
                          f"IoU{SD_SUFFIX}": [0.5, 0.5, 6.0, nan], f"nIoU{SD_SUFFIX}": [0.0, 0.0, 0.0, nan],
                          f"Pd{SD_SUFFIX}": [1.0] * 3 + [nan], f"Fa{SD_SUFFIX}": [1.0] * 3 + [nan]})
    out = with_seed_spread(table, _spread(), reference=0, reference_label="ref")
    column = out["vs ref: beyond seed spread"].tolist()
    assert "compared by their own sds" in out.attrs["note"]
    # steady: 4 > 1.96 sqrt(0.25/3 + 0.25/3) = 0.80; noisy: 4 < 1.96 sqrt(36/3 + 0.25/3) = 6.81;
    # one seed: the system's spread (sd 4) stands in for its sd: 4 < 1.96 sqrt(16 + 0.25/3) = 7.86
    assert column == ["reference", "IoU +4.00", "not separable", "not separable"]
