"""Runs pinned to a CPU thread count, and a profile's runs trained side by side before its notebooks."""

from __future__ import annotations

import json

import pytest
import torch
from conftest import same_values

from irstd_lib.engine import TrainConfig, cpu_threads
from irstd_lib.reproductions import pool
from irstd_lib.reproductions.plan import PlannedRun
from irstd_lib.runs import DataConfig, RunConfig, prepare_run, run_experiment
from irstd_lib.runs.records import is_finished
from irstd_lib.runs.verification import FRESH_METRICS_FILE

TINY_DATA = {"synthetic": {"n": 12, "seed": 0, "size": 48}, "train_size": 32, "eval_size": 48, "train_policy": "resize"}
TINY_TRAIN = {"epochs": 1, "batch_size": 4, "warmup_epochs": 0, "scheduler": "constant", "cpu_threads": 1}


def _config(model="acm", seed=0, **train) -> RunConfig:
    return RunConfig(model=model, model_kwargs={}, data=DataConfig(**TINY_DATA), conditioning={},
                     train={**TINY_TRAIN, **train}, seed=seed)


def test_cpu_threads_pins_the_count_on_the_cpu_and_restores_it():
    before = torch.get_num_threads()
    other = 1 if before != 1 else 2
    with cpu_threads(other, "cpu"):
        assert torch.get_num_threads() == other
    assert torch.get_num_threads() == before
    with cpu_threads(None, "cpu"), cpu_threads(other, "cuda"):  # None, or a CUDA run: left alone
        assert torch.get_num_threads() == before
    with pytest.raises(ValueError, match="cpu_threads"):
        with cpu_threads(0, "cpu"):
            pass
    with pytest.raises(ValueError, match="cpu_threads"):
        TrainConfig(cpu_threads=0)


def test_cpu_threads_enters_the_identity_only_when_set(tmp_path, monkeypatch):
    monkeypatch.setenv("IRSTD_CACHE", str(tmp_path / "cache"))
    unset = {k: v for k, v in TINY_TRAIN.items() if k != "cpu_threads"}
    plain = RunConfig(model="acm", model_kwargs={}, data=DataConfig(**TINY_DATA), conditioning={}, train=unset)
    assert "cpu_threads" not in prepare_run(plain).identity["train"]  # records made before it keep their hashes
    assert prepare_run(_config()).identity["train"]["cpu_threads"] == 1
    assert prepare_run(_config()).hash != prepare_run(plain).hash != prepare_run(_config(cpu_threads=2)).hash


def test_a_run_trains_at_its_configs_thread_count(tmp_path, monkeypatch):
    monkeypatch.setenv("IRSTD_CACHE", str(tmp_path / "cache"))
    import irstd_lib.runs.execution as execution

    seen = []
    real_fit = execution.fit_run

    def fit(*args, **kwargs):
        seen.append(torch.get_num_threads())
        return real_fit(*args, **kwargs)

    monkeypatch.setattr(execution, "fit_run", fit)
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        run_experiment(_config(), results_dir=tmp_path / "results", progress=False)
        assert seen == [1] and torch.get_num_threads() == 2  # pinned for the run, restored after it
    finally:
        torch.set_num_threads(before)


def test_default_jobs_fill_the_cores_only_for_a_profile_that_pins_threads():
    assert pool.default_jobs("smoke", "cpu", cores=2) == 2  # smoke pins 1 thread a run
    assert pool.default_jobs("smoke", "cpu", cores=1) == 1
    assert pool.default_jobs("smoke", "cuda", cores=16) == 1
    assert pool.default_jobs("paper", "cpu", cores=16) == 1  # its runs take every core themselves


def test_runs_to_train_skips_finished_runs_and_puts_the_longest_first(tmp_path, monkeypatch):
    monkeypatch.setenv("IRSTD_CACHE", str(tmp_path / "cache"))
    results = tmp_path / "results"
    quick, long_, new = _config(seed=0), _config(seed=1), _config(seed=2)
    for config, seconds in ((quick, 1.0), (long_, 9.0)):
        run = run_experiment(config, results_dir=results, progress=False)
        record = json.loads((run.run_dir / "metrics.json").read_text())
        (run.run_dir / "metrics.json").write_text(json.dumps({**record, "train_seconds": seconds}))
    planned = [PlannedRun(c, ("nb",)) for c in (quick, new, long_)]
    assert [r.config.seed for r, _, _ in pool.runs_to_train(planned, results)] == [2]  # only the unrecorded one
    # to verify: every recorded run without fresh metrics, the longest recorded first
    order = pool.runs_to_train(planned, results, verify=True)
    assert [r.config.seed for r, _, _ in order] == [1, 0, 2]
    (prepare_run(long_, results_dir=results).checkpoint_dir / FRESH_METRICS_FILE).write_text("{}")
    assert [r.config.seed for r, _, _ in pool.runs_to_train(planned, results, verify=True)] == [0, 2]


@pytest.mark.slow
def test_runs_trained_side_by_side_equal_runs_trained_here(tmp_path, monkeypatch):
    """Two worker processes train two runs; each record equals the same run trained in this
    process (the thread count is the config's, the seed the run's), and the notebooks' call then
    finds the record instead of training."""
    monkeypatch.setenv("IRSTD_CACHE", str(tmp_path / "cache"))
    configs = [_config(seed=0), _config(seed=1)]
    monkeypatch.setattr("irstd_lib.reproductions.plan.planned_runs",
                        lambda *a, **k: [PlannedRun(c, ("nb_a",)) for c in configs] + [PlannedRun(_config(seed=5), ("nb_b",))])
    lines = []
    result = pool.train_planned("smoke", ["nb_a"], results_dir=tmp_path / "side", jobs=2, log=lines.append)
    assert len(result.trained) == 2 and not result.failed and result.jobs == 2
    assert lines[0].startswith("training 2 runs, 2 side by side") and len(lines) == 3
    for config in configs:
        prep = prepare_run(config, results_dir=tmp_path / "side")
        assert is_finished(prep.run_dir) and prep.hash in result.trained
        side = json.loads((prep.run_dir / "metrics.json").read_text())
        monkeypatch.setenv("IRSTD_CACHE", str(tmp_path / "cache-here"))
        here = run_experiment(config, results_dir=tmp_path / "here", progress=False).record
        monkeypatch.setenv("IRSTD_CACHE", str(tmp_path / "cache"))
        primary = here["primary"]
        assert same_values(side[primary], here[primary])
    # the run of the notebook not chosen was not trained; a second call finds nothing to do
    assert not is_finished(prepare_run(_config(seed=5), results_dir=tmp_path / "side").run_dir)
    again = pool.train_planned("smoke", ["nb_a"], results_dir=tmp_path / "side", jobs=2, log=lines.append)
    assert again.trained == {} and again.done_already == 2

    # --verify: the recorded runs are trained again side by side into the cache, each logged as identical
    log = tmp_path / "verify.jsonl"
    monkeypatch.setenv("IRSTD_VERIFY_LOG", str(log))
    checked = pool.train_planned("smoke", ["nb_a"], results_dir=tmp_path / "side", jobs=2, verify=True, log=lines.append)
    assert len(checked.trained) == 2 and not checked.failed
    entries = [json.loads(line) for line in log.read_text().splitlines()]
    assert sorted(e["hash"] for e in entries) == sorted(checked.trained)
    assert all(e["fresh"] == e["recorded"] for e in entries)
    for config in configs:
        assert (prepare_run(config, results_dir=tmp_path / "side").checkpoint_dir / FRESH_METRICS_FILE).is_file()
    assert pool.train_planned("smoke", ["nb_a"], results_dir=tmp_path / "side", jobs=2, verify=True).trained == {}
