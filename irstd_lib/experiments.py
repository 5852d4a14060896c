"""Compatibility module: the public names of :mod:`irstd_lib.runs`, where experiment runs live now.

Kept for users' code and older notebooks that import ``irstd_lib.experiments``; the package
itself imports :mod:`irstd_lib.runs` (config schema in :mod:`irstd_lib.runs.config`, identity
and hashing in :mod:`irstd_lib.runs.identity`, the record layout in
:mod:`irstd_lib.runs.records`). Nothing is defined here.
"""

from irstd_lib.runs import (
    INSPECTED_IMAGES,
    PREVIEW_IMAGES,
    RUN_FORMAT_VERSION,
    TRAIN_POLICIES,
    VERIFY_ENV,
    VERIFY_LOG_ENV,
    DataConfig,
    PreparedRun,
    RunConfig,
    RunResult,
    ScoredRun,
    evaluate_run,
    find_run,
    hardest_images,
    load_run,
    load_trained_model,
    open_split,
    prepare_run,
    resolve_data_root,
    run_experiment,
    run_hash,
    run_identity,
    score_classical,
    synthetic_root,
    training_dataset,
    verification_status,
)

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
    "evaluate_run",
    "find_run",
    "hardest_images",
    "load_run",
    "load_trained_model",
    "open_split",
    "prepare_run",
    "resolve_data_root",
    "run_experiment",
    "run_hash",
    "run_identity",
    "score_classical",
    "synthetic_root",
    "training_dataset",
    "verification_status",
]
