"""Running a config: trained once (one process or DDP), recorded, then reused by every notebook
that asks (:func:`run_experiment`); the trained model itself (:func:`load_trained_model`)."""

from __future__ import annotations

import os
from typing import Any

from irstd_lib.progress import announce_task
import irstd_lib.runs.records as records
from irstd_lib.runs.config import RunConfig
from irstd_lib.runs.ground_truth import label_test_ground_truth
from irstd_lib.runs.records import INSPECTED_IMAGES, RunResult
from irstd_lib.runs.training import condition_for, evaluate_run, fit_run, prepare_run, select_checkpoint
from irstd_lib.runs.verification import VERIFY_ENV, _verify

__all__ = ["load_trained_model", "run_experiment"]


def run_experiment(
    config: RunConfig,
    data_root: str | os.PathLike | None = None,
    results_dir: str | os.PathLike | None = None,
    device: str = "cpu",
    progress: bool = True,
    retrain: bool = False,
    channels_last: bool | None = None,
    verify: bool | None = None,
) -> RunResult:
    """Train and evaluate ``config`` once; later calls return the recorded run.

    ``verify`` (default: the environment variable ``IRSTD_VERIFY`` is ``1``, which ``reproduce
    --verify`` sets for its notebooks): when the run is recorded already, train it again unless
    the local cache holds its fresh metrics (``$IRSTD_CACHE/runs/<hash>/fresh_metrics.json``;
    a finished ``last.pt`` there is evaluated, not retrained), and append the comparison of the
    fresh metrics with the record to the file ``IRSTD_VERIFY_LOG`` names (:func:`~irstd_lib.runs.verification_status`
    classifies it). The record, and so every table, stays as committed. One process only.

    The run folder is ``<results>/runs/<hash>/`` (:mod:`irstd_lib.runs.records`); its
    ``metrics.json`` is written last, so a run counts as finished only when everything else is
    in place. An interrupted run resumes from
    the last checkpoint in ``$IRSTD_CACHE/runs/<hash>/``. The final weights are evaluated (no
    selection on the test split), unless the config names a validation list
    (``data.val_split``): then the weights of the best validation epoch are, and the record says
    which epoch (``"checkpoint"``) and the split's scheme and seed (``"split"``).
    ``channels_last`` is a runtime option of the trainer (not part of the run's identity); None
    (the default) turns it on for CUDA devices, where cuDNN's NHWC kernels are the fast ones, and
    off on the CPU, where it measured within noise (LGNet width 16, 64 px, batch 8: 0.12 s a step
    against 0.14 s, two cores shared with other work).

    Under DDP (a process group initialised, as ``torchrun ... -m irstd_lib train`` does), every
    process calls this with the same arguments: rank 0 opens the data and prepares the condition
    first (writing the synthetic dataset and caches), then the others (reading them); all train
    their shards (:class:`~irstd_lib.engine.Trainer`); rank 0 alone writes the run folder
    (``config.json`` and, once, the finished record) and evaluates on the test split, while the
    others wait at a barrier and then return the record rank 0 wrote. A record made by N > 1
    processes says so (``"world_size"``, also in its identity, hence its hash): ``batch_size``
    is per process.
    """
    from irstd_lib.engine import cpu_threads

    # The whole run (training, evaluation, a verification's retraining) at the thread count its
    # config pins (train.cpu_threads; irstd_lib.engine.threads), whatever the caller's setting.
    with cpu_threads(config.train_config().cpu_threads, device):
        return _run_experiment(config, data_root, results_dir, device, progress, retrain, channels_last, verify)


def _run_experiment(config: RunConfig, data_root, results_dir, device: str, progress: bool, retrain: bool,
                    channels_last: bool | None, verify: bool | None) -> RunResult:
    from irstd_lib.engine.distributed import barrier, get_world_size, is_main_process, main_process_first

    is_main = is_main_process()
    with main_process_first():
        prep = prepare_run(config, data_root, results_dir, device)
    if records.is_finished(prep.run_dir) and not retrain:
        recorded = RunResult(config, prep.hash, prep.run_dir, prep.checkpoint_dir, records.read_record(prep.run_dir))
        if (verify if verify is not None else os.environ.get(VERIFY_ENV) == "1") and is_main:
            _verify(recorded, prep, device, progress, channels_last)
        return recorded
    # Derived before training, so that a config whose test-time inputs cannot be labelled fails now.
    ground_truth = label_test_ground_truth(config)
    if is_main:  # the other ranks are waiting in the next main_process_first
        if retrain and prep.checkpoint_dir.is_dir():
            import shutil

            shutil.rmtree(prep.checkpoint_dir)
            prep.checkpoint_dir.mkdir(parents=True)
        records.write_config(prep.run_dir, {"hash": prep.hash, "config": config.to_dict(), "identity": prep.identity})
    trainer, fit, condition, train_cfg = fit_run(config, prep, device, progress, channels_last, is_main)
    model = trainer.module
    if getattr(model, "reads_test_ground_truth", False) and not ground_truth["reads_test_ground_truth"]:
        raise RuntimeError(f"{config.model} reads test ground truth (reads_test_ground_truth), but its config's label "
                           "says no input does: see irstd_lib.runs.ground_truth")
    selected = select_checkpoint(trainer, fit) if is_main else None
    if not is_main:
        barrier()  # while rank 0 evaluates and writes the record
        return RunResult(config, prep.hash, prep.run_dir, prep.checkpoint_dir, records.read_record(prep.run_dir))

    announce_task(f"evaluating {config.model} (run {prep.hash})")
    evaluations, details, maps = evaluate_run(model, prep.test_set, train_cfg, condition.evaluations,
                                              config.primary_evaluation, device, progress)
    from irstd_lib.engine.evaluate import inspect

    inspection = inspect(model, prep.test_set, prep.test_set.names[:INSPECTED_IMAGES], train_cfg.val_size, train_cfg.eval_policy,
                         device, condition.evaluations[config.primary_evaluation])
    history = fit.get("history", [])
    record: dict[str, Any] = {
        "hash": prep.hash, "profile": config.profile, "model": config.model, "dataset": config.data.dataset,
        "issues": list(prep.train_set.issues) + list(prep.test_set.issues),
        "evaluations": list(evaluations), "primary": config.primary_evaluation, **evaluations, **ground_truth,
        "parameters": {"total": sum(p.numel() for p in model.parameters()), "trainable": model.trainable_parameters()},
        "epochs": len(history), "train_seconds": round(sum(h.get("time_s", 0.0) for h in history), 1),
        "preview": list(maps),
    }
    if selected is not None or config.data.split_scheme != "standard":
        record["split"] = {"scheme": config.data.split_scheme, "seed": config.data.split_seed, "train": config.data.train_split,
                           "val": config.data.val_split, "test": config.data.test_split}
    if selected is not None:
        record["checkpoint"] = {"chosen_on": config.data.val_split, **selected}
    if get_world_size() > 1:
        record["world_size"] = get_world_size()
    records.write_details(prep.run_dir, details)
    records.write_maps(prep.run_dir, maps)
    if inspection:
        records.write_inspection(prep.run_dir, inspection)
    records.write_history(prep.run_dir, history)
    records.write_preview(prep.run_dir, prep.test_set, maps)
    records.write_record(prep.run_dir, record)
    barrier()  # the other ranks read the record now
    return RunResult(config, prep.hash, prep.run_dir, prep.checkpoint_dir, record)


def load_trained_model(config: RunConfig, data_root=None, results_dir=None, device: str = "cpu", progress: bool = False):
    """The trained model of ``config`` (trained first if needed; retrained when its checkpoint
    is gone from the cache, deterministically), its prepared run and its prepared condition."""
    from irstd_lib.engine import load_model_weights

    run = run_experiment(config, data_root, results_dir, device, progress)
    weights = run.checkpoint_dir / ("best.pt" if config.data.val_split else "last.pt")
    if not weights.is_file():
        run = run_experiment(config, data_root, results_dir, device, progress, retrain=True)
    prep = prepare_run(config, data_root, results_dir, device)
    condition = prep.prepare_condition(progress)
    model = prep.build_model(condition.model_kwargs)
    condition = condition_for(model, condition)
    load_model_weights(weights, model)
    model.eval()
    return model, prep, condition
