"""The measured seed spread beside every table (irstd_lib.reproductions.seeds)."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from irstd_lib.reproductions.seeds import SEPARATION_FACTOR, SeedSpread, _reference_config, with_seed_spread


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
    assert out.attrs["note"].startswith("Seed spread: lgnet_baseline")


def test_the_spread_reuses_the_tables_reference_run_at_seed_zero():
    from irstd_lib.reproductions.comparison import method_config
    from irstd_lib.reproductions.lgnet import lgnet_config
    from irstd_lib.reproductions.saist import saist_config

    assert _reference_config("lgnet", "smoke", None, 0, {"seed": None}) == lgnet_config("smoke", "baseline", "never")
    assert _reference_config("saist", "smoke", None, 0, {}) == saist_config("smoke", "saist")
    for system in ("dgspnet", "ggl_net"):
        assert _reference_config(system, "smoke", None, 0, {}) == method_config("smoke", system)
    assert _reference_config("lgnet", "smoke", None, 2, {}).seed == 2
