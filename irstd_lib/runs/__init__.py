"""Experiment runs: a config with a stable hash, trained once, reused by every notebook that asks.

- :mod:`~irstd_lib.runs.config`: the config schema (:class:`RunConfig`, :class:`DataConfig`);
- :mod:`~irstd_lib.runs.identity`: what makes a run's numbers (trained or classical) and the hash
  that names it;
- :mod:`~irstd_lib.runs.records`: the run folder's layout (``<results>/runs/<hash>/``), reading
  and writing records; nothing else knows it;
- :mod:`~irstd_lib.runs.data`: opening a run's dataset and splits;
- :mod:`~irstd_lib.runs.training` and :mod:`~irstd_lib.runs.execution`: preparing, training (one
  process or DDP) and evaluating a run, once (:func:`run_experiment`);
- :mod:`~irstd_lib.runs.verification`: training a recorded run again and comparing;
- :mod:`~irstd_lib.runs.ground_truth`: which inputs of a run read the test images' masks at test
  time (every record, table row and caption says so);
- :mod:`~irstd_lib.runs.classical`: classical methods scored once and recorded the same way.

This package imports nothing of the reproductions, profiles or command line above it.
"""

from irstd_lib.runs.classical import score_classical
from irstd_lib.runs.config import TRAIN_POLICIES, DataConfig, RunConfig
from irstd_lib.runs.data import open_split, resolve_data_root, synthetic_root, training_dataset
from irstd_lib.runs.execution import load_trained_model, run_experiment
from irstd_lib.runs.ground_truth import label_test_ground_truth
from irstd_lib.runs.identity import (
    RUN_FORMAT_VERSION,
    canonical_json,
    classical_identity,
    classical_settings,
    run_hash,
    run_identity,
    weights_by_content,
)
from irstd_lib.runs.records import (
    INSPECTED_IMAGES,
    PREVIEW_IMAGES,
    RunResult,
    ScoredRun,
    checkpoint_folder,
    find_run,
    finished_runs,
    load_run,
    read_history,
    record_file,
    run_folder,
    runs_root,
)
from irstd_lib.runs.training import PreparedRun, evaluate_run, fit_run, hardest_images, prepare_run
from irstd_lib.runs.verification import VERIFY_ENV, VERIFY_LOG_ENV, verification_status

__all__ = [
    "INSPECTED_IMAGES",
    "PREVIEW_IMAGES",
    "RUN_FORMAT_VERSION",
    "TRAIN_POLICIES",
    "VERIFY_ENV",
    "VERIFY_LOG_ENV",
    "DataConfig",
    "PreparedRun",
    "RunConfig",
    "RunResult",
    "ScoredRun",
    "canonical_json",
    "checkpoint_folder",
    "classical_identity",
    "classical_settings",
    "evaluate_run",
    "find_run",
    "finished_runs",
    "fit_run",
    "hardest_images",
    "label_test_ground_truth",
    "load_run",
    "load_trained_model",
    "open_split",
    "prepare_run",
    "read_history",
    "record_file",
    "resolve_data_root",
    "run_experiment",
    "run_folder",
    "run_hash",
    "run_identity",
    "runs_root",
    "score_classical",
    "synthetic_root",
    "training_dataset",
    "verification_status",
    "weights_by_content",
]
