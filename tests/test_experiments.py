"""Experiment runs: trained once, recorded under their hash, reused afterwards."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from irstd_lib.experiments import RunConfig, find_run, prepare_run, run_experiment

pytestmark = pytest.mark.slow


def _config(**changes) -> RunConfig:
    base = RunConfig(
        model="lgnet",
        model_kwargs={"width": 4},
        synthetic={"n": 12, "seed": 0, "size": 48},
        language="train",
        descriptions="quadrant",
        train={"epochs": 1, "batch_size": 4, "val_size": 48, "warmup_epochs": 0, "scheduler": "constant"},
        train_size=32,
    )
    return replace(base, **changes)


def test_a_run_is_recorded_then_reused(tmp_path, monkeypatch):
    monkeypatch.setenv("IRSTD_CACHE", str(tmp_path / "cache"))
    results = tmp_path / "results"
    run = run_experiment(_config(), results_dir=results, progress=False)
    folder = results / "runs" / run.hash
    for name in ("config.json", "metrics.json", "history.csv", "preview.png"):
        assert (folder / name).is_file(), name
    record = json.loads((folder / "metrics.json").read_text())
    assert {"test_without_text", "test_with_text"} <= set(record) and record["epochs"] == 1
    assert record["test_without_text"]["n_images"] == len(prep_test_names(tmp_path))
    assert (run.checkpoint_dir / "last.pt").is_file()
    assert str(tmp_path / "cache") in str(run.checkpoint_dir)  # checkpoints never in results/

    stamp = (folder / "metrics.json").stat().st_mtime_ns
    again = run_experiment(_config(language="train_test"), results_dir=results, progress=False)
    assert again.hash == run.hash  # same trained model, the other evaluation
    assert (folder / "metrics.json").stat().st_mtime_ns == stamp  # reused, not retrained
    assert again.metrics == record["test_with_text"] and run.metrics == record["test_without_text"]
    assert find_run(run.hash, results_dir=results) == record


def prep_test_names(tmp_path):
    return prepare_run(_config(), results_dir=tmp_path / "results").test_set.names


def test_hash_changes_with_what_changes_the_numbers(tmp_path, monkeypatch):
    monkeypatch.setenv("IRSTD_CACHE", str(tmp_path / "cache"))
    h = prepare_run(_config()).hash
    assert prepare_run(_config(seed=1)).hash != h
    assert prepare_run(_config(descriptions="semantic")).hash != h
    assert prepare_run(_config(model_kwargs={"width": 4, "language_fusion": False}, language="never")).hash != h
    assert prepare_run(_config(train={**_config().train, "epochs": 2})).hash != h


def test_bad_configs_are_clear_errors(tmp_path):
    with pytest.raises(ValueError, match="language"):
        _config(language="sometimes")
    with pytest.raises(ValueError, match="data_root"):
        run_experiment(_config(dataset="NUAA-SIRST"), results_dir=tmp_path)
    with pytest.raises(FileNotFoundError, match="CLIP checkpoint"):
        prepare_run(_config(clip="ViT-B-16", clip_checkpoint=str(tmp_path / "missing.pt")))
