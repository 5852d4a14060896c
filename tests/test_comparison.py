"""The cross-method harness: one protocol for every learned method, classical methods recorded
like runs, the comparison table's reported columns."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from conftest import same_values

from irstd_lib.runs import DataConfig, score_classical
from irstd_lib.profiles import get_profile
from irstd_lib.reproductions import comparison
from irstd_lib.reproductions.lgnet import lgnet_config
from irstd_lib.reproductions.saist import saist_config


def test_every_learned_method_shares_one_protocol():
    p = get_profile("smoke")
    configs = {v: comparison.method_config("smoke", v) for v in comparison.LEARNED}
    # SAIST is trained as its own tables train it (its size, optimizer, lr), on the same splits:
    # at smoke its row is the SAIST tables' run.
    saist = configs.pop("saist")
    assert saist == saist_config("smoke", "saist")
    assert (saist.data.train_split, saist.data.test_split, saist.data.split_scheme) == ("trainval", "test", "standard")
    paper_saist = comparison.method_config("paper", "saist", data_root="/data/NUAA-SIRST", sam_checkpoint="s.pth",
                                           clip_checkpoint="c.pt")
    assert paper_saist.data.split_scheme == "standard" and paper_saist.data.train_size == 1024
    for variant, config in configs.items():
        assert config.model == variant
        # the protocol's budget, with the profile's stated per-system departures only
        assert config.train == {**p.train, **p.protocol(variant).train}, variant
        assert config.data == p.data_config("synthetic"), variant
        assert config.seed == p.seed
    # The LGNet row is LGNet's own Table 6 run (no second training).
    assert configs["lgnet"] == lgnet_config("smoke", "full", "train")
    # Each keeps the loss of its own recipe, but for the smoke departure GGL-Net's batch SoftIoU;
    # the paper profile keeps every recipe's own.
    losses = {v: c.train_config().loss for v, c in configs.items()}
    assert losses["ggl_net"] == "softiou" and losses["lgnet"] == "bce" and losses["acm"] == "softiou"
    assert configs["dnanet"].train_config().lr == 1e-2 and configs["dgspnet"].train_config().lr == p.train["lr"]
    paper_ggl = comparison.method_config("paper", "ggl_net", data_root="/data/NUAA-SIRST")
    assert paper_ggl.train_config().loss == "softiou_per_image"
    assert comparison.method_config("smoke", "dgspnet_wo_tgca").model_kwargs == p.protocol("dgspnet").model_kwargs


def test_paper_widths_need_local_weights():
    with pytest.raises(ValueError, match="clip_checkpoint"):
        comparison.method_config("paper", "dgspnet", data_root="/data/NUAA-SIRST")
    with pytest.raises(ValueError, match="classical"):
        comparison.method_config("smoke", "ipi")


def test_classical_scores_are_recorded_once_and_read_back(tiny_synthetic_root, tmp_path, monkeypatch):
    from irstd_lib.data import IRSTDDataset
    import importlib

    evaluate_module = importlib.import_module("irstd_lib.engine.evaluate")
    from irstd_lib.scoring import evaluate_classical

    data = DataConfig(dataset="tiny", eval_size=None, eval_policy="pad")
    first = score_classical("tophat", data, tiny_synthetic_root, tmp_path)
    assert (first.run_dir / "metrics.json").is_file() and first.run_dir.parent == tmp_path / "runs"
    details = json.loads((first.run_dir / "details.json").read_text())["test"]
    assert len(details["per_image"]) == first.metrics["n_images"] and len(details["roc"]["threshold"]) == 20
    expected = evaluate_classical("tophat", IRSTDDataset(tiny_synthetic_root, "test"), progress=False)
    assert first.metrics["IoU"] == pytest.approx(expected["IoU"]) and first.metrics["Fa"] == pytest.approx(expected["Fa"])

    def no_scoring(*args, **kwargs):
        raise AssertionError("a recorded classical score was computed again")

    monkeypatch.setattr(evaluate_module, "evaluate", no_scoring)
    again = score_classical("tophat", data, tiny_synthetic_root, tmp_path)
    assert again.hash == first.hash and same_values(again.metrics, first.metrics)
    with pytest.raises(AssertionError, match="computed again"):  # other evaluation settings: another record
        score_classical("tophat", data, tiny_synthetic_root, tmp_path, size=32, policy="resize")


def test_reported_columns_name_their_table_and_dataset():
    dataset, tables = comparison._reported_columns("synthetic")
    assert dataset == "NUAA-SIRST" and [label for label, _, _ in tables] == ["LGNet Tab. 5, NUAA-SIRST", "SAIST Tab. 1, NUAA-SIRST"]
    dataset, tables = comparison._reported_columns("NUDT-SIRST")
    assert dataset == "NUDT-SIRST" and [paper for _, paper, _ in tables] == ["SAIST"]
    # On IRSTD-1k, LGNet's section 5.6.3 stands beside GroundingDINO + SAM (its one row).
    dataset, tables = comparison._reported_columns("IRSTD-1k")
    (rows,) = [rows for label, _, rows in tables if label == "LGNet 5.6.3, IRSTD-1k"]
    name = dict((v, lgnet) for v, _, lgnet, _ in comparison.METHODS)["grounding_sam"]
    assert rows.loc[rows["method"] == name, ["IoU", "nIoU"]].values.tolist() == [[66.2, 65.4]]


def test_a_comparison_renders_from_committed_records_without_data():
    """The NUAA-SIRST CPU runs in results/runs: the table comes from their records (no data, no
    checkpoint), the reported columns hold the named table's row for the same method."""
    from pathlib import Path

    from irstd_lib.runs import find_run
    from irstd_lib.paper_reference import reported

    results = Path(__file__).resolve().parents[1] / "results"
    runs = {"acm": "bf79f2797511", "dgspnet": "f38b7628de0b"}
    table, curves = comparison.recorded_comparison(runs, results_dir=results, size=64, repeats=1)
    assert list(table["method"]) == ["ACM", "DGSPNet"] and set(curves) == {"ACM", "DGSPNet"}
    for (_, row), h in zip(table.iterrows(), runs.values()):
        assert row["IoU"] == find_run(h, results)["test"]["IoU"] and row["dataset"] == "NUAA-SIRST"
    acm_reported = reported("LGNet", "5", "NUAA-SIRST").set_index("method").loc["ACM"]
    assert table.loc[0, "IoU (LGNet Tab. 5, NUAA-SIRST)"] == acm_reported["IoU"]
    assert pd.isna(table.loc[1, "IoU (LGNet Tab. 5, NUAA-SIRST)"])  # no paper reports DGSPNet here
    assert table.loc[0, "GFLOPs at 64 px"] > 0
