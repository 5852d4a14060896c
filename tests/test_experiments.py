"""Experiment runs: trained once, recorded under their hash, reused afterwards."""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import same_values

from irstd_lib.runs import DataConfig, RunConfig, find_run, prepare_run, run_experiment

pytestmark = pytest.mark.slow

TINY_DATA = {"synthetic": {"n": 12, "seed": 0, "size": 48}, "train_size": 32, "eval_size": 48, "train_policy": "resize"}
TINY_TRAIN = {"epochs": 1, "batch_size": 4, "warmup_epochs": 0, "scheduler": "constant"}


def _config(model="lgnet", conditioning=None, data=None, train=None, **changes) -> RunConfig:
    if conditioning is None:
        conditioning = {"language": "train", "descriptions": "quadrant"} if model == "lgnet" else {}
    return RunConfig(model=model, model_kwargs=changes.pop("model_kwargs", {"width": 4}),
                     data=DataConfig(**{**TINY_DATA, **(data or {})}), conditioning=conditioning,
                     train={**TINY_TRAIN, **(train or {})}, **changes)


def test_a_run_is_recorded_then_reused(tmp_path, monkeypatch):
    monkeypatch.setenv("IRSTD_CACHE", str(tmp_path / "cache"))
    results = tmp_path / "results"
    run = run_experiment(_config(), results_dir=results, progress=False)
    folder = results / "runs" / run.hash
    for name in ("config.json", "metrics.json", "details.json", "maps.npz", "history.csv", "preview.png"):
        assert (folder / name).is_file(), name
    record = json.loads((folder / "metrics.json").read_text())
    assert record["evaluations"] == ["test_without_text", "test_with_text"] and record["primary"] == "test_without_text"
    assert record["epochs"] == 1 and record["parameters"]["trainable"] == record["parameters"]["total"] > 0
    test_names = prepare_run(_config(), results_dir=results).test_set.names
    assert record["test_without_text"]["n_images"] == len(test_names)
    assert (run.checkpoint_dir / "last.pt").is_file()
    assert str(tmp_path / "cache") in str(run.checkpoint_dir)  # checkpoints never in results/

    # The record holds what tables and figures need: per-image counts that add up to the
    # set-level metrics, the Pd-Fa curve, and score maps of the first and hardest images.
    details = run.details()
    rows = details["per_image"]
    assert [r["name"] for r in rows] == list(test_names)
    metrics = run.metrics
    assert sum(r["intersection"] for r in rows) == metrics["intersection"]
    assert sum(r["n_matched"] for r in rows) == metrics["n_matched"]
    assert sum(r["n_false_alarm_pixels"] for r in rows) == metrics["n_false_alarm_pixels"]
    roc = details["roc"]
    assert len(roc["threshold"]) == 20 and 0.0 <= roc["pixel_auc"] <= 1.0 and roc["Pd"] == sorted(roc["Pd"], reverse=True)
    maps = run.maps()
    assert set(maps) == set(record["preview"]) and set(test_names[:4]) <= set(maps)
    for name, score in maps.items():
        assert score.dtype == np.float32 and 0.0 <= score.min() and score.max() <= 1.0
        assert score.shape == (48, 48)

    stamp = (folder / "metrics.json").stat().st_mtime_ns
    again = run_experiment(_config(conditioning={"language": "train_test", "descriptions": "quadrant"}), results_dir=results,
                           progress=False)
    assert again.hash == run.hash  # same trained model, the other evaluation
    assert (folder / "metrics.json").stat().st_mtime_ns == stamp  # reused, not retrained
    assert same_values(again.metrics, record["test_with_text"]) and same_values(run.metrics, record["test_without_text"])
    assert same_values(find_run(run.hash, results_dir=results), record)


def test_hash_changes_with_what_changes_the_numbers(tmp_path, monkeypatch):
    monkeypatch.setenv("IRSTD_CACHE", str(tmp_path / "cache"))
    h = prepare_run(_config()).hash
    assert prepare_run(_config(seed=1)).hash != h
    assert prepare_run(_config(conditioning={"language": "train", "descriptions": "semantic"})).hash != h
    assert prepare_run(_config(model="lgnet_fusion")).hash != h
    assert prepare_run(_config(train={"epochs": 2})).hash != h
    assert prepare_run(_config(data={"train_size": 16})).hash != h
    # A label is not an identity: the profile that asked for a run does not change it.
    assert prepare_run(_config(profile="paper")).hash == h
    # One model through two names is one run; the language mode's text-at-test does not train anything else.
    assert prepare_run(_config(model="lgnet_baseline")).hash == prepare_run(
        _config(model="lgnet", model_kwargs={"width": 4, "fusion_blocks": False, "language_fusion": False}, conditioning={})).hash
    # Training settings resolve over the model's recipe: stating a recipe's own value changes nothing.
    assert prepare_run(_config(train={"weight_decay": 1e-4})).hash == h


def test_every_learned_model_runs_through_the_same_layer(tmp_path, monkeypatch):
    """An image-only CNN baseline is prepared, trained, evaluated and recorded by the same run
    layer as LGNet: one evaluation, its own recipe's loss, no conditioning."""
    monkeypatch.setenv("IRSTD_CACHE", str(tmp_path / "cache"))
    config = _config(model="acm", model_kwargs={})
    assert config.conditioning_kind == "none" and config.train_config().loss == "softiou"
    run = run_experiment(config, results_dir=tmp_path / "results", progress=False)
    assert run.record["evaluations"] == ["test"] and run.metrics["n_images"] > 0


def test_bad_configs_are_clear_errors(tmp_path):
    with pytest.raises(ValueError, match="language"):
        _config(conditioning={"language": "sometimes"})
    with pytest.raises(ValueError, match="unknown conditioning settings for kind 'none': language"):
        _config(model="lgnet_baseline", conditioning={"language": "train"})
    with pytest.raises(ValueError, match="classical"):
        _config(model="tophat", conditioning={})
    with pytest.raises(ValueError, match="set by the run"):
        _config(train={"val_size": 64})
    with pytest.raises(ValueError, match="unknown training settings"):
        _config(train={"learning_rate": 1.0})
    with pytest.raises(ValueError, match="data_root"):
        run_experiment(_config(data={"dataset": "NUAA-SIRST"}), results_dir=tmp_path)
    with pytest.raises(FileNotFoundError, match="CLIP checkpoint"):
        prepare_run(_config(conditioning={"clip": "ViT-B-16", "clip_checkpoint": str(tmp_path / "missing.pt")}))
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"model": "lgnet", "language": "train"}))
    with pytest.raises(ValueError, match="bad.json.*unknown run config keys: language"):
        RunConfig.from_file(bad)


def test_config_files_round_trip(tmp_path):
    config = _config()
    path = tmp_path / "run.json"
    path.write_text(json.dumps(config.to_dict()))
    assert RunConfig.from_file(path) == config
