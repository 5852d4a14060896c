"""Data-parallel training for real: 2 CPU processes under torchrun (gloo).

One launch of ``tests/distributed_worker.py`` (see its docstring) runs the ``train`` command
line on a tiny LGNet config and the Trainer on a BatchNorm-free model; this module compares
what each rank saved with one process doing the same work.
"""

from __future__ import annotations

import importlib.util
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
import torch.distributed as dist

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not (dist.is_available() and dist.is_gloo_available()),
                       reason="torch.distributed with the gloo backend is not available in this torch build"),
]

HERE = Path(__file__).resolve().parent
WORKER = HERE / "distributed_worker.py"
WORKER_LIMIT_S = 150  # a worker still running then dumps its stacks and exits
LAUNCH_TIMEOUT_S = WORKER_LIMIT_S + 30

# LGNet's image-only baseline, tiny: 10 trainval images, 5 per rank in one batch of 5.
CLI_CONFIG = {
    "model": "lgnet_baseline", "model_kwargs": {"width": 4},
    "data": {"synthetic": {"n": 12, "seed": 0, "size": 32}, "train_size": 32, "eval_size": 32},
    "train": {"epochs": 2, "batch_size": 5, "warmup_epochs": 0, "scheduler": "constant"},
}


def _worker_module():
    spec = importlib.util.spec_from_file_location("distributed_worker", WORKER)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def two_ranks(tmp_path_factory):
    """Launch the 2-process job once; returns (out folder, results folder, seconds it took)."""
    root = tmp_path_factory.mktemp("ddp")
    out, results = root / "out", root / "results"
    out.mkdir()
    config = root / "config.json"
    config.write_text(json.dumps(CLI_CONFIG))
    repo = HERE.parent
    env = {**os.environ, "OMP_NUM_THREADS": "1", "IRSTD_CACHE": str(root / "cache"),
           "PYTHONPATH": os.pathsep.join(filter(None, [str(repo), os.environ.get("PYTHONPATH")]))}
    command = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_addr", "127.0.0.1",
               "--master_port", str(_free_port()), str(WORKER), str(out), str(results), str(config), str(WORKER_LIMIT_S)]
    log_path = root / "torchrun.log"
    started = time.perf_counter()
    # The output goes to a file, not a pipe: workers outliving torchrun would keep a pipe open.
    with open(log_path, "w") as log:
        process = subprocess.Popen(command, cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            process.wait(timeout=LAUNCH_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            process.send_signal(signal.SIGTERM)  # torchrun passes it on to its workers
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
    seconds = time.perf_counter() - started
    output = log_path.read_text(errors="replace")
    assert process.returncode == 0, f"torchrun exited with {process.returncode} after {seconds:.0f} s:\n{output[-8000:]}"
    return out, results, seconds


def test_each_rank_takes_half_the_steps_on_its_own_shard(two_ranks, tmp_path):
    out, _, _ = two_ranks
    worker = _worker_module()
    ranks = [torch.load(out / f"steps-rank{r}.pt", weights_only=False) for r in (0, 1)]
    single, _ = worker.train_two_conv(worker.SAMPLES_STEPS, worker.BATCH_PER_RANK, tmp_path / "single")
    assert single["steps"] == worker.SAMPLES_STEPS // worker.BATCH_PER_RANK == 4
    for rank in ranks:
        assert rank["world_size"] == 2
        assert rank["steps"] == single["steps"] // 2
    # the shards of the epoch are disjoint and cover the data
    seen0, seen1 = ranks[0]["seen"], ranks[1]["seen"]
    assert len(seen0) == len(seen1) == worker.SAMPLES_STEPS // 2
    assert sorted(seen0 + seen1) == list(range(worker.SAMPLES_STEPS))
    # the epoch's record (losses all-reduced) is the same on both ranks
    assert ranks[0]["history"][0]["samples"] == ranks[1]["history"][0]["samples"] == worker.SAMPLES_STEPS
    assert ranks[0]["history"][0]["train_loss"] == ranks[1]["history"][0]["train_loss"]


def test_one_step_on_two_ranks_equals_one_step_on_the_global_batch(two_ranks, tmp_path):
    out, _, _ = two_ranks
    worker = _worker_module()
    ranks = [torch.load(out / f"one_step-rank{r}.pt", weights_only=False) for r in (0, 1)]
    assert [r["steps"] for r in ranks] == [1, 1]
    # one process, one step on all 4 samples (the two ranks' batches of 2 together)
    single, expected = worker.train_two_conv(worker.SAMPLES_ONE_STEP, 2 * worker.BATCH_PER_RANK, tmp_path / "single")
    assert single["steps"] == 1
    torch.manual_seed(0)
    initial = worker.TwoConvNet().state_dict()
    for key, value in expected.items():
        moved = (value - initial[key]).abs().max()
        assert moved > 1e-4, key  # the step did something measurable
        for rank in ranks:
            torch.testing.assert_close(rank["weights"][key], value, rtol=1e-5, atol=1e-6, msg=key)


def test_ranks_end_with_identical_weights(two_ranks):
    out, _, _ = two_ranks
    for part in ("steps", "cli-fit"):
        states = [torch.load(out / f"{part}-rank{r}.pt", weights_only=False) for r in (0, 1)]
        weights = [s["weights"] if part == "steps" else s["state"] for s in states]
        assert weights[0].keys() == weights[1].keys()
        for key in weights[0]:
            assert torch.equal(weights[0][key], weights[1][key]), (part, key)  # buffers too


def test_the_train_command_writes_one_record_from_rank_zero(two_ranks):
    out, results, seconds = two_ranks
    print(f"2-process job: {seconds:.1f} s")
    exits = [json.loads((out / f"cli-exit-rank{r}.json").read_text()) for r in (0, 1)]
    assert exits == [{"code": 0, "group_destroyed": True}] * 2
    runs = [p for p in (results / "runs").iterdir() if p.is_dir()]
    assert len(runs) == 1
    run = runs[0]
    assert sorted(p.name for p in run.rglob("metrics.json")) == ["metrics.json"]
    record = json.loads((run / "metrics.json").read_text())
    assert record["world_size"] == 2 and record["epochs"] == 2
    # the hash says 2 processes (twice the batch): the one-process run of the same config has another folder
    from irstd_lib.runs import RunConfig, run_identity, run_hash

    identity = json.loads((run / "config.json").read_text())["identity"]
    assert identity["world_size"] == 2 and run_hash(identity) == run.name
    one_process = {key: value for key, value in identity.items() if key != "world_size"}
    assert run_hash(one_process) != run.name
    config = RunConfig.from_dict(CLI_CONFIG)
    assert "world_size" not in run_identity(config, identity["data"]["fingerprints"])
    assert run_identity(config, identity["data"]["fingerprints"], world_size=2) == identity
    for name in ("config.json", "details.json", "maps.npz", "history.csv", "preview.png"):
        assert (run / name).is_file(), name

    rank0_writes = (out / "cli-writes-rank0.txt").read_text().split()
    assert (out / "cli-writes-rank1.txt").read_text() == ""  # rank 1 wrote nothing at all
    written = [Path(p).name for p in rank0_writes if Path(p).parent == run]
    assert written.count("metrics.json") == 1 and written.count("config.json") == 1
    assert written[-1] == "metrics.json"  # the record last: the run counts as finished only then

    # both ranks return the record that rank 0 wrote
    for r in (0, 1):
        assert json.loads((out / f"cli-record-rank{r}.json").read_text()) == record
    # each rank: 5 of the 10 training images per epoch, one batch of 5 (one process: 2 steps)
    fits = [torch.load(out / f"cli-fit-rank{r}.pt", weights_only=False) for r in (0, 1)]
    assert [f["steps"] for f in fits] == [2, 2]
    assert fits[0]["history"] == fits[1]["history"]
    checkpoint = torch.load(out.parent / "cache" / "runs" / run.name / "last.pt", weights_only=False)
    assert checkpoint["config"]["world_size"] == 2 and checkpoint["step"] == 2


def test_a_killed_two_process_job_resumes_where_it_stopped(two_ranks, tmp_path):
    from irstd_lib.engine import CheckpointError

    out, _, _ = two_ranks
    ranks = [torch.load(out / f"resume-rank{r}.pt", weights_only=False) for r in (0, 1)]
    for rank in ranks:
        assert rank["killed_epochs"] == 1 and rank["resumed_steps"] == 2 * 2
        for key, value in rank["straight"].items():
            assert torch.equal(rank["resumed"][key], value), key
    # a checkpoint of 2 processes does not resume in 1 (the global batch would change)
    worker = _worker_module()
    with pytest.raises(CheckpointError, match="2 process"):
        worker.train_two_conv(worker.SAMPLES_STEPS, worker.BATCH_PER_RANK, out / "ckpt-resumed", epochs=2)
