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

CHECKPOINT_FORMAT = "irstd-lang-checkpoint"
CHECKPOINT_VERSION = 1
_SHOW = 5  # how many offending keys an error message lists


class CheckpointError(RuntimeError):
    """A checkpoint file that cannot be used; the message starts with the file's path."""

    def __init__(self, path: str | os.PathLike, problem: str):
        self.path = Path(path)
        self.problem = problem
        super().__init__(f"{self.path}: {problem}")


def unwrap_model(model: nn.Module) -> nn.Module:
    """The module inside a DistributedDataParallel/DataParallel wrapper (or the model itself)."""
    return model.module if isinstance(model, (nn.parallel.DistributedDataParallel, nn.DataParallel)) else model


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
        "model": unwrap_model(model).state_dict(),
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


def _torch_load(path: Path) -> Any:
    if not path.is_file():
        raise CheckpointError(path, "checkpoint file not found")
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - any failure means "not a usable torch file"
        raise CheckpointError(path, f"not a readable torch checkpoint ({type(exc).__name__}: {exc})") from exc


def read_checkpoint(path: str | os.PathLike) -> dict[str, Any]:
    """Load and validate the checkpoint dict (on CPU) without applying it to anything."""
    path = Path(path)
    obj = _torch_load(path)
    if not isinstance(obj, dict) or obj.get("format") != CHECKPOINT_FORMAT:
        raise CheckpointError(
            path,
            f"not an irstd-lang training checkpoint (expected a dict with format={CHECKPOINT_FORMAT!r}; "
            "use load_model_weights for a bare state_dict)",
        )
    if obj.get("version", 0) > CHECKPOINT_VERSION:
        raise CheckpointError(path, f"checkpoint version {obj['version']} is newer than this code ({CHECKPOINT_VERSION})")
    return obj


def _strip_prefix(state: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    if state and all(k.startswith("module.") for k in state):
        return {k[len("module."):]: v for k, v in state.items()}
    return dict(state)


def _apply_state(path: Path, model: nn.Module, state: Mapping[str, Any], strict: bool) -> dict[str, list[str]]:
    if not isinstance(state, Mapping) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise CheckpointError(path, "the model weights are not a state_dict of tensors")
    state = _strip_prefix(state)
    target = unwrap_model(model)
    own = target.state_dict()
    missing = [k for k in own if k not in state]
    unexpected = [k for k in state if k not in own]
    mismatched = [
        f"{k}: checkpoint {tuple(state[k].shape)} vs model {tuple(own[k].shape)}"
        for k in own if k in state and tuple(state[k].shape) != tuple(own[k].shape)
    ]
    problems = []
    if strict and missing:
        problems.append(f"{len(missing)} missing key(s) (e.g. {', '.join(missing[:_SHOW])})")
    if strict and unexpected:
        problems.append(f"{len(unexpected)} unexpected key(s) (e.g. {', '.join(unexpected[:_SHOW])})")
    if mismatched:
        problems.append(f"{len(mismatched)} shape mismatch(es) (e.g. {'; '.join(mismatched[:_SHOW])})")
    if problems:
        raise CheckpointError(
            path,
            f"weights do not fit {type(target).__name__}: " + "; ".join(problems)
            + " (was it saved from a model built with other arguments?)",
        )
    target.load_state_dict({k: v for k, v in state.items() if k in own}, strict=False)
    return {"missing": missing, "unexpected": unexpected}


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
    ckpt["load_report"] = _apply_state(path, model, ckpt["model"], strict)
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


def load_model_weights(path: str | os.PathLike, model: nn.Module, strict: bool = True) -> nn.Module:
    """Load only the model weights, from one of our checkpoints or a bare ``state_dict`` file
    (or a dict with a ``"state_dict"``/``"model"`` entry, as other toolboxes save)."""
    path = Path(path)
    obj = _torch_load(path)
    if isinstance(obj, dict) and obj.get("format") == CHECKPOINT_FORMAT:
        state = obj["model"]
    elif isinstance(obj, dict) and isinstance(obj.get("state_dict"), Mapping):
        state = obj["state_dict"]
    elif isinstance(obj, dict) and isinstance(obj.get("model"), Mapping):
        state = obj["model"]
    else:
        state = obj
    _apply_state(path, model, state, strict)
    return model
