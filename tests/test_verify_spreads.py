"""Each table row by its own system's seed spread (SAIST's Table 1 mixes systems), and the plan
that trains those spreads."""

from __future__ import annotations

import math

import pandas as pd

from irstd_lib.reproductions.configs import RunContext
from irstd_lib.reproductions.seeds import DETERMINISTIC, NO_SPREAD, SeedSpread, row_spreads, with_seed_spread


def _spread(variant: str, iou: tuple[float, float, float]) -> SeedSpread:
    return SeedSpread(variant, (0, 1, 2), ("a", "b", "c"),
                      {"IoU": iou, "nIoU": (20.0, 20.0, 20.0), "Pd": (50.0, 50.0, 50.0), "Fa": (100.0, 100.0, 100.0)})


def test_rows_of_other_systems_take_their_own_spread():
    saist = _spread("saist", (10.0, 20.0, 30.0))  # IoU sd 10
    ggl = _spread("ggl_net", (33.0, 34.0, 35.0))  # IoU sd 1
    table = pd.DataFrame({"measured": ["SAIST", "GGL-Net", "DNA-Net", "SAM"],
                          "IoU": [20.0, 45.0, 60.0, 41.0], "nIoU": [20.0] * 4, "Pd": [50.0] * 4, "Fa": [100.0] * 4})
    out = with_seed_spread(table, saist, reference=0, reference_label="saist",
                           row_spreads=[saist, ggl, None, saist])
    column = out["vs saist: beyond seed spread"].tolist()
    # GGL-Net: +25 against 1.96 sqrt(1 + 100) = 19.7: separable; with SAIST's sd for both (27.7) it was not
    assert 1.96 * math.sqrt(1 + 100) < 25.0 < 1.96 * math.sqrt(2) * 10
    assert column[1] == "IoU +25.00"
    assert column[2] == NO_SPREAD  # DNA-Net: no reference, no spread; not judged by SAIST's
    assert column[3] == "not separable"  # SAM (SAIST's system): +21 within 27.7
    note = out.attrs["note"]
    assert note.startswith("Seed spread: saist") and "ggl_net trained with seeds 0, 1, 2" in note
    assert "No seed spread is recorded for the systems of DNA-Net" in note
    # the default (no row_spreads): every row takes the reference's, as before
    before = with_seed_spread(table, saist, reference=0, reference_label="saist")
    assert before["vs saist: beyond seed spread"].tolist()[1:] == ["not separable", "IoU +40.00", "not separable"]
    assert before.attrs["note"] == saist.note(("IoU", "nIoU", "Pd", "Fa"))


def test_row_spreads_by_system(monkeypatch):
    import irstd_lib.reproductions.seeds as seeds

    trained = []
    monkeypatch.setattr(seeds, "seed_spread", lambda system, context: trained.append(system) or _spread(system, (1.0, 2.0, 3.0)))
    saist = _spread("saist", (10.0, 20.0, 30.0))
    spreads = row_spreads(["sam", "acm", "dnanet", "lgnet", "ggl_net", "ggl_net_wo_gsm", "saist", "tophat"], saist,
                          RunContext.of("smoke"))
    assert spreads[0] is saist and spreads[6] is saist  # SAM is a variant of SAIST's package
    assert spreads[1] is None and spreads[2] is None
    assert spreads[3].variant == "lgnet" and spreads[4] is spreads[5]  # one spread per system
    assert spreads[7] == DETERMINISTIC
    assert trained == ["lgnet", "ggl_net"]


def test_saist_table1_plans_every_systems_spread():
    from irstd_lib.reproductions.plan import spec_plan
    from irstd_lib.reproductions.seeds import SEED_REFERENCES
    from irstd_lib.reproductions.specs import spec

    planned = spec_plan(spec("saist_table1_learned"), "smoke")
    models = sorted({(run.config.model, run.config.seed) for run in planned.spread})
    assert models == sorted((SEED_REFERENCES[s], seed) for s in ("saist", "lgnet", "dgspnet", "ggl_net") for seed in (0, 1, 2))
