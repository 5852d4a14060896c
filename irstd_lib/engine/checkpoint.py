"""Training checkpoints: one ``torch.save`` file holding everything needed to resume exactly.

Content (a plain dict, loadable with ``torch.load(..., weights_only=True)``)::

    {"format": "irstd-lang-checkpoint", "version": 1,
     "model": state_dict, "optimizer": state_dict | None, "scheduler": state_dict | None,
     "epoch": completed epochs, "step": optimizer steps done, "best_metric": float | None,
     "config": JSON-like dict (the run's configuration, model name/kwargs included by the caller),
     "rng_state": {"python", "numpy", "torch", "cuda"}, "history": list of per-epoch dicts,
     "extra": dict}

Files are written atomically (:func:`irstd_lib.io.atomic_save`): a crash mid-write leaves the
previous checkpoint intact. Model weights are always stored without a ``DistributedDataParallel``
``module.`` prefix, and loading strips one if a foreign checkpoint has it.

Errors (:class:`CheckpointError`, a ``RuntimeError``) always name the file: not a file, not a
torch file, not one of our checkpoints (a bare state_dict is accepted by
:func:`load_model_weights`), missing/unexpected keys (a few of each listed) or shape mismatches.
"""

from __future__ import annotations

import json
import os
import random
from pathlib import Path
from typing import Any, Mapping

import numpy as np
import torch
import torch.nn as nn

from irstd_lib.io import atomic_save
from irstd_lib.models.weights import (
    CHECKPOINT_FORMAT,
    CheckpointError,
    apply_state_dict,
    checkpoint_state,
    load_weights,
    torch_load,
    unwrap_model,
)

__all__ = [
    "CHECKPOINT_FORMAT",
    "CheckpointError",
    "save_checkpoint",
    "load_checkpoint",
    "read_checkpoint",
    "load_model_weights",
    "capture_rng_state",
    "restore_rng_state",
    "unwrap_model",
]

CHECKPOINT_VERSION = 1


# ------------------------------------------------------------------------------------------
# RNG state
# ------------------------------------------------------------------------------------------
def capture_rng_state() -> dict[str, Any]:
    """Python ``random``, numpy's global generator, torch CPU and (if present) CUDA generators,
    in types that ``torch.load(weights_only=True)`` accepts."""
    kind, key, pos, has_gauss, gauss = np.random.get_state()
    state: dict[str, Any] = {
        "python": random.getstate(),
        "numpy": {"kind": str(kind), "key": torch.from_numpy(np.asarray(key, dtype=np.int64)),
                  "pos": int(pos), "has_gauss": int(has_gauss), "gauss": float(gauss)},
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None,
    }
    return state


def restore_rng_state(state: Mapping[str, Any]) -> None:
    """Inverse of :func:`capture_rng_state` (CUDA states restored only when CUDA is present and
    the device count matches)."""
    py = state["python"]
    random.setstate((py[0], tuple(py[1]), py[2]))
    n = state["numpy"]
    np.random.set_state((n["kind"], n["key"].numpy().astype(np.uint32), n["pos"], n["has_gauss"], n["gauss"]))
    torch.set_rng_state(state["torch"].cpu())
    cuda = state.get("cuda")
    if cuda is not None and torch.cuda.is_available() and len(cuda) == torch.cuda.device_count():
        torch.cuda.set_rng_state_all([c.cpu() for c in cuda])


def _plain(obj: Any) -> Any:
    """A JSON round trip: configs and histories become plain dict/list/str/number/bool/None."""
    def default(o: Any) -> Any:
        if hasattr(o, "item") and getattr(o, "ndim", 1) == 0:
            return o.item()
        if hasattr(o, "tolist"):
            return o.tolist()
        return str(o)

    return json.loads(json.dumps(obj, default=default))


# ------------------------------------------------------------------------------------------
# save / load
# ------------------------------------------------------------------------------------------
def save_checkpoint(
    path: str | os.PathLike,
    model: nn.Module,
    optimizer: torch.optim.Optimizer | None = None,
    scheduler: Any | None = None,
    epoch: int = 0,
    step: int = 0,
    best_metric: float | None = None,
    config: Mapping[str, Any] | None = None,
    rng_state: Mapping[str, Any] | None = None,
    history: list[Mapping[str, Any]] | None = None,
    extra: Mapping[str, Any] | None = None,
) -> Path:
    """Write a checkpoint atomically; returns the path. ``rng_state`` defaults to the current
    global state (:func:`capture_rng_state`)."""
    obj = {
        "format": CHECKPOINT_FORMAT,
        "version": CHECKPOINT_VERSION,
        "model": checkpoint_state(model),
        "optimizer": optimizer.state_dict() if optimizer is not None else None,
        "scheduler": scheduler.state_dict() if scheduler is not None else None,
        "epoch": int(epoch),
        "step": int(step),
        "best_metric": None if best_metric is None else float(best_metric),
        "config": _plain(dict(config or {})),
        "rng_state": dict(rng_state) if rng_state is not None else capture_rng_state(),
        "history": _plain(list(history or [])),
        "extra": _plain(dict(extra or {})),
    }
    return atomic_save(path, lambda f: torch.save(obj, f))


def read_checkpoint(path: str | os.PathLike) -> dict[str, Any]:
    """Load and validate the checkpoint dict (on CPU) without applying it to anything."""
    path = Path(path)
    obj = torch_load(path)
    if not isinstance(obj, dict) or obj.get("format") != CHECKPOINT_FORMAT:
        raise CheckpointError(
            path,
            f"not an irstd-lang training checkpoint (expected a dict with format={CHECKPOINT_FORMAT!r}; "
            "use load_model_weights for a bare state_dict)",
        )
    if obj.get("version", 0) > CHECKPOINT_VERSION:
        raise CheckpointError(path, f"checkpoint version {obj['version']} is newer than this code ({CHECKPOINT_VERSION})")
    return obj


def load_checkpoint(
    path: str | os.PathLike,
    model: nn.Module,
    optimizer: torch.optim.Optimizer | None = None,
    scheduler: Any | None = None,
    strict: bool = True,
) -> dict[str, Any]:
    """Load weights into ``model`` (and optimizer/scheduler state when given); returns the
    checkpoint dict (epoch, step, best_metric, config, rng_state, history, ...). RNG state is
    *not* restored here; call :func:`restore_rng_state` for that. With ``strict=False`` missing
    and unexpected keys are tolerated (listed in the returned ``"load_report"``), shape
    mismatches never are."""
    path = Path(path)
    ckpt = read_checkpoint(path)
    ckpt["load_report"] = apply_state_dict(path, model, ckpt["model"], strict)
    if optimizer is not None:
        if ckpt.get("optimizer") is None:
            raise CheckpointError(path, "has no optimizer state to resume from")
        try:
            optimizer.load_state_dict(ckpt["optimizer"])
        except (ValueError, KeyError) as exc:
            raise CheckpointError(path, f"optimizer state does not fit this optimizer: {exc}") from exc
    if scheduler is not None:
        if ckpt.get("scheduler") is None:
            raise CheckpointError(path, "has no scheduler state to resume from")
        scheduler.load_state_dict(ckpt["scheduler"])
    return ckpt


# Kept under its engine name: the trainer and older callers load weights through it.
load_model_weights = load_weights
