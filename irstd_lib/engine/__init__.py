"""Training and evaluation engine: losses, optimizers and schedules, named recipes, checkpoints,
the trainer, the evaluation path and minimal torchrun support. It reads models only through the
contract of :mod:`irstd_lib.models.base`; conditions come in through a ``conditioner(batch,
phase)`` hook."""

from __future__ import annotations

from irstd_lib.engine.checkpoint import (
    CheckpointError,
    load_checkpoint,
    load_model_weights,
    read_checkpoint,
    save_checkpoint,
)
from irstd_lib.engine.distributed import cleanup_distributed, setup_distributed
from irstd_lib.engine.evaluate import Prediction, evaluate, evaluate_model, predict, predict_scores
from irstd_lib.engine.losses import BCEWithLogitsLoss, DeepSupervisionLoss, SoftIoULoss, bce_with_logits
from irstd_lib.engine.optim import build_optimizer, build_scheduler
from irstd_lib.engine.recipes import RECIPES, recipe
from irstd_lib.engine.threads import cpu_threads
from irstd_lib.engine.trainer import TrainConfig, Trainer, seed_everything

__all__ = [
    "BCEWithLogitsLoss",
    "CheckpointError",
    "DeepSupervisionLoss",
    "Prediction",
    "RECIPES",
    "SoftIoULoss",
    "TrainConfig",
    "Trainer",
    "bce_with_logits",
    "build_optimizer",
    "build_scheduler",
    "cleanup_distributed",
    "cpu_threads",
    "evaluate",
    "evaluate_model",
    "load_checkpoint",
    "load_model_weights",
    "predict",
    "predict_scores",
    "read_checkpoint",
    "recipe",
    "save_checkpoint",
    "seed_everything",
    "setup_distributed",
]
