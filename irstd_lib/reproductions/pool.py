"""Training a profile's runs side by side, before its notebooks render them.

``reproduce`` executes its notebooks one after another, and a notebook trains the runs it needs
when it finds no record of them, so without this module every run of a profile trains in turn,
in one process. A profile that pins each run to few CPU threads (``train.cpu_threads``: the
smoke profile's 1, :mod:`irstd_lib.engine.threads`) leaves the other cores idle meanwhile.
:func:`train_planned` trains the runs of the selected notebooks first, ``jobs`` at a time in
worker processes (the plan's runs, :func:`~irstd_lib.reproductions.plan.planned_runs`: the very
configs the notebooks build, so the notebooks then find every record and train nothing); with
``verify`` it trains the recorded runs again into the cache the same way, so the notebooks find
their fresh metrics. A run's numbers do not depend on which process trained it: its thread count
is its config's, and each process seeds the run from its config.

The longest runs start first (their recorded ``train_seconds`` where a record exists, the plan's
order otherwise), so that the last run to finish is a short one. A run that fails in a worker is
reported and left to its notebook, which trains it again and fails with the full error in the
report. Measured on the 2-core AMD EPYC Zen 3 machine (2026-12-07): two one-thread workers each
train as fast as one two-thread process, so the smoke profile's training takes about half the
wall time of training in the notebooks.
"""

from __future__ import annotations

import os
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from multiprocessing import get_context
from typing import Iterable, Sequence

from irstd_lib.profiles import get_profile

__all__ = ["PoolResult", "default_jobs", "runs_to_train", "train_planned"]


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def default_jobs(profile, device: str = "cpu", cores: int | None = None) -> int:
    """How many runs train side by side: on the CPU, when the profile pins a run's threads, as
    many as the cores hold (``cores // cpu_threads``, at least 1); otherwise 1 (a GPU, or runs
    that take every core themselves)."""
    threads = get_profile(profile).train.get("cpu_threads")
    if threads is None or not str(device).startswith("cpu"):
        return 1
    return max(1, (cores if cores is not None else _cores()) // int(threads))


@dataclass(frozen=True)
class PoolResult:
    """What :func:`train_planned` did: the runs it trained (hash -> seconds), those that failed
    (hash -> error), those it found done already, and its wall time."""

    trained: dict
    failed: dict
    done_already: int
    jobs: int
    seconds: float


def runs_to_train(planned: Iterable, results_dir=None, verify: bool = False, device: str = "cpu") -> list[tuple]:
    """``(planned run, hash, expected seconds)`` of each run that still needs training, longest
    first: a run without a finished record; with ``verify``, a recorded run whose fresh metrics
    are not in the cache yet (:mod:`irstd_lib.runs.verification`)."""
    from irstd_lib.runs import prepare_run
    from irstd_lib.runs.records import is_finished, read_record
    from irstd_lib.runs.verification import FRESH_METRICS_FILE

    todo = []
    for order, run in enumerate(planned):
        prep = prepare_run(run.config, run.data_root, results_dir, device)
        seconds = 0.0
        if is_finished(prep.run_dir):
            if not verify or (prep.checkpoint_dir / FRESH_METRICS_FILE).is_file():
                continue
            seconds = float(read_record(prep.run_dir).get("train_seconds") or 0.0)
        todo.append((run, prep.hash, seconds, order))
    todo.sort(key=lambda item: (-item[2], item[3]))
    return [(run, digest, seconds) for run, digest, seconds, _ in todo]


def _train_one(config_dict: dict, data_root, results_dir, device: str, verify: bool) -> tuple[str, float]:
    """In a worker process: train (or, with ``verify``, train again) one run; its hash and seconds."""
    from irstd_lib.runs import RunConfig, run_experiment

    start = time.perf_counter()
    result = run_experiment(RunConfig.from_dict(config_dict), data_root=data_root, results_dir=results_dir, device=device,
                            progress=False, verify=verify)
    return result.hash, time.perf_counter() - start


def train_planned(profile, notebooks: Sequence[str] | None = None, *, data_root=None, results_dir=None, device: str = "cpu",
                  jobs: int | None = None, verify: bool = False, clip_checkpoint=None, sam_checkpoint=None,
                  detector_checkpoint=None, log=print) -> PoolResult:
    """Train the runs of ``profile``'s notebooks (``notebooks``: those named; None: all) that
    need it, ``jobs`` at a time (None: :func:`default_jobs`), before the notebooks render them;
    ``log`` gets one line per run finished. With ``jobs`` 1 nothing is trained here: the
    notebooks train their runs as before."""
    from irstd_lib.reproductions.plan import planned_runs

    start = time.perf_counter()
    jobs = default_jobs(profile, device) if jobs is None else int(jobs)
    if jobs < 1:
        raise ValueError(f"jobs must be >= 1, got {jobs}")
    if jobs == 1:  # the notebooks train their runs; no plan to build
        return PoolResult({}, {}, 0, 1, time.perf_counter() - start)
    planned = planned_runs(profile, data_root, clip_checkpoint, sam_checkpoint, detector_checkpoint=detector_checkpoint)
    if notebooks is not None:
        chosen = set(notebooks)
        planned = [run for run in planned if chosen & set(run.notebooks)]
    todo = runs_to_train(planned, results_dir, verify, device)
    done_already = len(planned) - len(todo)
    trained, failed = {}, {}
    if todo:
        log(f"training {len(todo)} runs, {jobs} side by side ({done_already} done already)")
        # spawn: a fresh interpreter per worker, no forked torch thread pools or open files
        with ProcessPoolExecutor(max_workers=min(jobs, len(todo)), mp_context=get_context("spawn")) as pool:
            futures = {pool.submit(_train_one, run.config.to_dict(), run.data_root,
                                   None if results_dir is None else str(results_dir), device, verify): (run, digest)
                       for run, digest, _ in todo}
            for n, future in enumerate(as_completed(futures), 1):
                run, digest = futures[future]
                try:
                    _, seconds = future.result()
                except Exception as error:  # noqa: BLE001 - the notebook trains it again and reports the error
                    failed[digest] = f"{type(error).__name__}: {error}"
                    log(f"[{n}/{len(todo)}] {run.config.model} (run {digest}) failed here, left to its notebook: {failed[digest]}")
                    continue
                trained[digest] = round(seconds, 1)
                log(f"[{n}/{len(todo)}] {run.config.model} seed {run.config.seed} (run {digest}): {seconds:.0f} s")
    return PoolResult(trained, failed, done_already, jobs, time.perf_counter() - start)
