"""The command line, run in-process through ``irstd_lib.__main__.main``."""

from __future__ import annotations

import json

import numpy as np
import pytest

from irstd_lib.__main__ import build_parser, main
from irstd_lib.data import IRSTDDataset
from irstd_lib.predictions import write_prediction_npy, write_prediction_png


def test_every_command_has_help(capsys):
    parser = build_parser()
    commands = parser._subparsers._group_actions[0].choices
    assert {"score", "evaluate", "train", "reproduce", "synth", "describe", "profile", "models"} <= set(commands)
    for name in commands:
        with pytest.raises(SystemExit) as exit_info:
            main([name, "--help"])
        assert exit_info.value.code == 0
        assert "usage:" in capsys.readouterr().out


def test_the_shared_dataset_options_are_the_same_on_every_command():
    from irstd_lib.model_options import DATASET_OPTIONS

    commands = build_parser()._subparsers._group_actions[0].choices
    shared = {key: settings for _, key, settings in DATASET_OPTIONS}
    for name, keys in {"score": set(shared), "evaluate": set(shared), "datasets": {"layout", "split_dir", "split_version"}}.items():
        actions = {a.dest: a for a in commands[name]._actions}
        for key in keys:
            assert actions[key].default == shared[key].get("default"), (name, key)
            assert actions[key].type == shared[key].get("type"), (name, key)
            assert actions[key].choices == shared[key].get("choices"), (name, key)
    assert {a.dest: a for a in commands["score"]._actions}["data"].required
    assert not {a.dest: a for a in commands["evaluate"]._actions}["data"].required


def _perfect_predictions(root, out, as_npy_for=()):
    ds = IRSTDDataset(root, "test", descriptions=None)
    for i, name in enumerate(ds.names):
        mask = ds[i].mask
        if name in as_npy_for:
            write_prediction_npy(out / f"{name}.npy", mask.astype(np.float32) * 0.9)
        else:
            write_prediction_png(out / f"{name}.png", mask)
    return ds


def test_score_perfect_predictions_png_and_npy_as_json(tiny_synthetic_root, tmp_path, capsys):
    ds = _perfect_predictions(tiny_synthetic_root, tmp_path)
    first = ds.names[0]
    (tmp_path / f"{first}.png").unlink()
    write_prediction_npy(tmp_path / f"{first}.npy", ds[0].mask.astype(np.float32) * 0.9)
    assert main(["score", "--pred", str(tmp_path), "--data", str(tiny_synthetic_root), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert set(result) == {"IoU", "nIoU", "Pd", "Fa", "hIoU", "Pd_shooting", "Fa_shooting", "n_images"}
    assert result["IoU"] == pytest.approx(100.0) and result["Pd"] == 100.0 and result["Fa"] == 0.0
    assert result["hIoU"] == pytest.approx(100.0)
    assert result["Pd_shooting"] == 100.0 and result["Fa_shooting"] == 0.0
    assert result["n_images"] == len(ds)


def test_score_names_the_missing_prediction(tiny_synthetic_root, tmp_path, capsys):
    ds = _perfect_predictions(tiny_synthetic_root, tmp_path)
    missing = ds.names[-1]
    (tmp_path / f"{missing}.png").unlink()
    assert main(["score", "--pred", str(tmp_path), "--data", str(tiny_synthetic_root)]) == 2
    err = capsys.readouterr().err
    assert missing in err


def test_score_names_a_prediction_of_the_wrong_size(tiny_synthetic_root, tmp_path, capsys):
    ds = _perfect_predictions(tiny_synthetic_root, tmp_path)
    wrong = ds.names[0]
    write_prediction_png(tmp_path / f"{wrong}.png", np.zeros((10, 12), bool))
    assert main(["score", "--pred", str(tmp_path), "--data", str(tiny_synthetic_root)]) == 2
    err = capsys.readouterr().err
    assert f"{wrong}.png" in err and "12x10" in err


def test_score_names_a_missing_prediction_folder(tiny_synthetic_root, tmp_path, capsys):
    assert main(["score", "--pred", str(tmp_path / "nope"), "--data", str(tiny_synthetic_root)]) == 2
    assert "nope" in capsys.readouterr().err


def test_evaluate_tophat_and_score_its_saved_predictions(tiny_synthetic_root, tmp_path, capsys):
    out = tmp_path / "pred"
    assert main(["evaluate", "--method", "tophat", "--data", str(tiny_synthetic_root), "--save-pred", str(out), "--json"]) == 0
    direct = json.loads(capsys.readouterr().out)
    assert 0 <= direct["IoU"] <= 100 and direct["n_images"] == len(IRSTDDataset(tiny_synthetic_root, "test"))
    assert (out / "scores").is_dir()
    assert main(["score", "--pred", str(out), "--data", str(tiny_synthetic_root), "--json"]) == 0
    rescored = json.loads(capsys.readouterr().out)
    assert rescored == pytest.approx(direct)


def test_evaluate_needs_exactly_one_of_method_and_run(tiny_synthetic_root, capsys):
    assert main(["evaluate", "--data", str(tiny_synthetic_root)]) == 2
    assert "exactly one" in capsys.readouterr().err


def test_evaluate_unknown_run_is_a_clear_error(tmp_path, capsys):
    assert main(["evaluate", "--run", str(tmp_path / "abc123")]) == 2
    assert "no finished run" in capsys.readouterr().err


def test_synth_writes_and_refuses_to_clobber(tmp_path, capsys):
    out = tmp_path / "syn"
    assert main(["synth", "--out", str(out), "--n", "4", "--size", "32"]) == 0
    assert len(list((out / "images").glob("*.png"))) == 4
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "keep.txt").write_text("x")
    assert main(["synth", "--out", str(tmp_path / "other"), "--n", "4", "--size", "32"]) == 2
    assert "not empty" in capsys.readouterr().err


def test_bad_dataset_is_named(tmp_path, capsys):
    assert main(["evaluate", "--method", "tophat", "--data", str(tmp_path / "missing")]) == 2
    assert "missing" in capsys.readouterr().err


def test_models_lists_every_variant_on_one_line(capsys):
    assert main(["models"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    by_name = {line.split()[0]: line for line in lines}
    assert {"lgnet", "lgnet_baseline", "lgnet_fusion", "acm", "dnanet", "tophat", "ipi"} <= set(by_name)
    assert "conditioning target_descriptor" in by_name["lgnet"] and "Chib & Singh" in by_name["lgnet"]
    assert "conditioning none" in by_name["lgnet_baseline"] and "no parameters" in by_name["tophat"]
    assert main(["models", "--json"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.strip().splitlines()]
    acm = next(r for r in rows if r["name"] == "acm")
    assert abs(acm["params"] - acm["published_params"]) <= 0.05 * acm["published_params"]


@pytest.mark.parametrize("name", ["acm", "dnanet"])
def test_profile_reproduces_the_published_sizes_of_the_cnn_baselines(name, capsys):
    """BasicIRSTD's figures at 256x256: parameters within 5 %. Its "GFLOPs" are thop's
    multiply-accumulates, which the profile prints as ``gmacs``: DNA-Net's within 5 %. ACM's
    published figure also counts its two transposed convolutions at their output resolution (four
    times their cost, see acm/model.py): the profile gives the true count, 0.343 G."""
    assert main(["profile", "--model", name, "--size", "256", "--json", "--no-train", "--repeats", "1", "--warmup", "0"]) == 0
    result = json.loads(capsys.readouterr().out)
    published = result["published"]
    assert abs(result["params"] - published["params"]) <= 0.05 * published["params"]
    assert result["gflops"] == pytest.approx(2 * result["gmacs"])
    if name == "dnanet":
        assert abs(result["gmacs"] - published["gflops"]) <= 0.05 * published["gflops"]
    else:
        assert result["gmacs"] == pytest.approx(0.3433, rel=1e-3)


def test_profile_and_evaluate_take_classical_methods(tiny_synthetic_root, capsys):
    assert main(["profile", "--model", "ipi", "--size", "64", "--json", "--repeats", "1", "--warmup", "0"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["kind"] == "classical" and result["params"] == 0 and result["latency_ms"] > 0
    assert main(["evaluate", "--method", "lgnet", "--data", str(tiny_synthetic_root)]) == 2
    assert "learned model" in capsys.readouterr().err
    assert main(["evaluate", "--method", "hough", "--data", str(tiny_synthetic_root)]) == 2
    assert "unknown model 'hough'" in capsys.readouterr().err
