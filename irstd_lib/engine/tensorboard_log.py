"""TensorBoard event files of a training run, so that a long run can be watched as it goes.

The papers say nothing about logging; this is a convenience of the package, and it changes no
number: it only reads what the trainer computed (losses, learning rate, validation metrics),
and the prediction maps it draws are computed in eval mode under ``torch.no_grad`` with every
random generator's state saved before and restored after (:func:`capture_rng_state` /
:func:`restore_rng_state`), so a run with the log and one without train bit-identical weights
(``tests/test_tensorboard.py`` checks it).

What is written, into ``<checkpoint_dir>/tensorboard/`` (beside ``last.pt``, i.e. the run's
cache folder ``$IRSTD_CACHE/runs/<hash>/tensorboard`` for runs of :mod:`irstd_lib.runs`):

- ``train/loss`` (the total loss of each optimizer step) and ``train/lr`` (the learning rate
  that step used), one point per step; ``train/loss/<part>`` per auxiliary part when the loss
  has several (deep supervision);
- per epoch: ``epoch/train_loss`` (the epoch's mean), ``epoch/time_s`` and every validation
  metric as ``val/<metric>`` (``val/IoU``, ``val/nIoU``, ``val/Pd``, ``val/Fa``...), at the step
  the epoch ended;
- at each validation, ``predictions/<name>``: the first :data:`N_PREDICTION_MAPS` validation
  images side by side with their ground-truth mask and the model's score map (image | mask |
  scores, one grey image). The ground truth shown is the validation split's, as the
  validation itself reads it.

When: ``Trainer(tensorboard=...)``: ``True`` / ``False`` force it; ``None`` (the default) reads
``$IRSTD_TENSORBOARD`` (``1`` on, ``0`` off) and otherwise writes the log for long runs only:
runs of at least :data:`LONG_RUN_STEPS` optimizer steps in all (every paper's run; the test
suite's tiny trainings are shorter, so they stay as fast as before). Only the process of rank
0 writes. Open the log with ``tensorboard --logdir $IRSTD_CACHE/runs`` (README, "Watching a
run").
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

__all__ = ["ENV_VAR", "LONG_RUN_STEPS", "N_PREDICTION_MAPS", "TensorBoardLog", "tensorboard_wanted", "LOG_FOLDER"]

ENV_VAR = "IRSTD_TENSORBOARD"
#: A run of at least this many optimizer steps in all writes its log by default.
LONG_RUN_STEPS = 500
#: How many validation images the prediction maps show.
N_PREDICTION_MAPS = 3
#: The log's folder inside the checkpoint folder.
LOG_FOLDER = "tensorboard"


def tensorboard_wanted(choice: bool | None, total_steps: int) -> bool:
    """Whether a run writes its log: ``choice`` when given, else ``$IRSTD_TENSORBOARD``, else
    whether it is a long run (``total_steps >= LONG_RUN_STEPS``)."""
    if choice is not None:
        return bool(choice)
    value = os.environ.get(ENV_VAR, "").strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    if value:
        raise ValueError(f"${ENV_VAR} must be 1 or 0 (on or off), got {value!r}")
    return int(total_steps) >= LONG_RUN_STEPS


def _grey(array: np.ndarray) -> np.ndarray:
    """An ``H x W`` array as uint8 in [0, 255] (values in [0, 1]; clipped)."""
    return (np.clip(np.asarray(array, dtype=np.float32), 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)


class TensorBoardLog:
    """The event files of one run (see the module docstring); every method is a no-op when the
    log is off, so the trainer calls them unconditionally."""

    def __init__(self, checkpoint_dir: str | os.PathLike, enabled: bool):
        self.enabled = bool(enabled)
        self.folder = Path(checkpoint_dir) / LOG_FOLDER
        self._writer = None
        if self.enabled:
            # Imported here: tensorboard (and protobuf) load only for runs that write a log.
            from torch.utils.tensorboard import SummaryWriter

            self.folder.mkdir(parents=True, exist_ok=True)
            self._writer = SummaryWriter(log_dir=str(self.folder))

    def step(self, step: int, parts: Mapping[str, float], lr: float) -> None:
        """One optimizer step: its losses (``parts["total"]`` and the auxiliary parts) and lr."""
        if self._writer is None:
            return
        self._writer.add_scalar("train/loss", float(parts["total"]), step)
        self._writer.add_scalar("train/lr", float(lr), step)
        for key, value in parts.items():
            if key != "total":
                self._writer.add_scalar(f"train/loss/{key}", float(value), step)

    def epoch(self, step: int, record: Mapping[str, Any]) -> None:
        """One finished epoch's record (the trainer's history entry): mean loss, time, ``val_*``."""
        if self._writer is None:
            return
        for key, value in record.items():
            if not isinstance(value, (int, float)) or isinstance(value, bool) or key in ("epoch", "samples", "lr"):
                continue
            if key.startswith("val_"):
                tag = f"val/{key[len('val_'):]}"
            elif key in ("train_loss", "time_s"):
                tag = f"epoch/{key}"
            else:
                continue
            if np.isfinite(value):
                self._writer.add_scalar(tag, float(value), step)
        self._writer.flush()

    def predictions(self, step: int, items: Sequence[tuple[str, np.ndarray, np.ndarray, np.ndarray]]) -> None:
        """``(name, image, mask, scores)`` per image, each ``H x W`` in [0, 1]: image | mask |
        scores side by side, one grey image per name."""
        if self._writer is None:
            return
        for name, image, mask, scores in items:
            gap = np.full((image.shape[0], 2), 255, np.uint8)
            panel = np.concatenate([_grey(image), gap, _grey(mask), gap, _grey(scores)], axis=1)
            self._writer.add_image(f"predictions/{name}", panel, step, dataformats="HW")
        self._writer.flush()

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None
