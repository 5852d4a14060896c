"""The parity table's pieces: the toolbox's log read as it prints it, rows from records, the README row."""

from __future__ import annotations

import math

import numpy as np
import pytest

from irstd_lib.data import IRSTDDataset
from irstd_lib.reproductions.toolbox_parity import (PACKAGE, TOOLBOX_README, TOOLBOX_RUN, ParityRow, parity_caption, parity_table,
                                                    read_toolbox_log, training_curves_figure)
from irstd_lib.runs.config import DataConfig
from irstd_lib.runs.external import score_external_run

LOG = """=== 2026-12-01T15:18:30+00:00 start/resume on vm, Model name: AMD EPYC
NUAA-SIRST\tACM
[resume patch] epoch 9 done in 30.0 s, lr 0.0005
[resume patch] epoch 10 done in 31.5 s, lr 0.0005
Dec  1 15:25:07 Epoch---10, total_loss---0.998146,
=== 2026-12-01T16:00:00+00:00 start/resume on vm, Model name: AMD EPYC
[resume patch] epoch 10 done in 29.0 s, lr 0.0005
Dec  1 16:00:30 Epoch---10, total_loss---0.998100,
pixAcc, mIoU:\t(0.9689638614654541, np.float64(0.10661559436473414))
PD, FA:\t(0.9201520912547528, 0.002761047100648284)
[resume patch] epoch 11 done in 28.0 s, lr 5e-05
"""


def test_the_toolbox_log_is_read_with_redone_epochs_keeping_their_last_line(tmp_path):
    path = tmp_path / "toolbox.log"
    path.write_text(LOG)
    log = read_toolbox_log(path)
    assert log.starts == 2
    assert [r["epoch"] for r in log.history] == [9, 10, 11]
    by_epoch = {r["epoch"]: r for r in log.history}
    assert by_epoch[10]["train_loss"] == 0.9981 and by_epoch[10]["time_s"] == 29.0
    assert math.isnan(by_epoch[9]["train_loss"]) and by_epoch[11]["time_s"] == 28.0
    assert log.tests == [{"epoch": 10, "IoU": pytest.approx(10.661559436), "Pd": pytest.approx(92.01520912),
                          "Fa": pytest.approx(2761.047100648)}]
    assert [r["epoch"] for r in log.upto(10)] == [9, 10]
    (tmp_path / "empty.log").write_text("nothing here\n")
    with pytest.raises(ValueError, match="empty.log"):
        read_toolbox_log(tmp_path / "empty.log")


def _scored(root, tmp_path, label, shift):
    test_set = IRSTDDataset(root, split="test")
    out = tmp_path / label
    out.mkdir()
    for i in range(len(test_set)):
        mask = test_set[i].mask.astype(np.float32)
        np.save(out / f"{test_set.names[i]}.npy", np.clip(mask * 0.8 + np.roll(mask, shift, axis=0) * 0.6, 0, 1))
    return score_external_run("acm", label, out, DataConfig(dataset="tiny", test_split="test"), root,
                              results_dir=tmp_path / "results",
                              history=[{"epoch": e, "train_loss": 1.0 / e, "time_s": 2.0 * e} for e in (1, 2, 3)])


def test_parity_rows_come_from_records_and_the_readme_row_from_the_reference(tiny_synthetic_root, tmp_path):
    a, b, c = (_scored(tiny_synthetic_root, tmp_path, f"run{k}", k) for k in (1, 2, 3))
    table = parity_table([ParityRow(PACKAGE, (a.hash, b.hash), 3, (42, 43)), ParityRow(TOOLBOX_RUN, (c.hash,), 3, (42,), 7.5)],
                         tmp_path / "results")
    assert list(table["source"]) == [PACKAGE, TOOLBOX_RUN, TOOLBOX_README]
    assert table.loc[0, "IoU"] == pytest.approx((a.metrics["IoU"] + b.metrics["IoU"]) / 2)
    assert table.loc[0, "IoU seed sd"] == pytest.approx(np.std([a.metrics["IoU"], b.metrics["IoU"]], ddof=1))
    assert table.loc[0, "s per epoch"] == 4.0 and table.loc[1, "s per epoch"] == 7.5  # median of the history; given
    assert table.loc[0, "s per epoch by seed"] == "42: 4.00; 43: 4.00" and table.loc[1, "s per epoch by seed"] == ""
    caption = parity_caption(table, note="Seed 43 ran elsewhere.")
    assert "sd over the seeds" in caption and caption.endswith("Seed 43 ran elsewhere.")
    assert math.isnan(table.loc[1, "IoU seed sd"]) and "–" in table.loc[1, "IoU 95% CI"]
    readme = table.iloc[2]
    assert (readme["IoU"], readme["Pd"], readme["Fa"]) == pytest.approx((69.44, 92.015, 22.707))
    assert math.isnan(readme["nIoU"]) and readme["IoU 95% CI"] == ""
    fig = training_curves_figure({"a": __import__("pandas").DataFrame(a.details() and [{"epoch": 1, "train_loss": 0.9, "time_s": 1.0}])})
    assert len(fig.axes) == 2


def test_the_parity_notebook_renders_from_the_committed_records(tmp_path):
    """The committed notebook's default rows name committed records; it renders without training."""
    import papermill as pm
    import pandas as pd
    from pathlib import Path

    repo = Path(__file__).resolve().parents[1]
    pm.execute_notebook(str(repo / "notebooks" / "toolbox_parity_nuaa.ipynb"), str(tmp_path / "out.ipynb"),
                        parameters={"results_dir": str(tmp_path)}, progress_bar=False, kernel_name="python3")
    table = pd.read_csv(tmp_path / "cpu-nuaa" / "tables" / "toolbox_parity.csv")
    assert TOOLBOX_README in set(table["source"]) and PACKAGE in set(table["source"])
    assert (tmp_path / "cpu-nuaa" / "figures" / "toolbox_parity_curves.png").stat().st_size > 10_000
    committed = pd.read_csv(repo / "results" / "cpu-nuaa" / "tables" / "toolbox_parity.csv")
    pd.testing.assert_frame_equal(table, committed)
