"""Loading model weights from a file, with errors that name the file and the first bad keys.

Accepted files: the engine's training checkpoints (a dict with ``format="irstd-lang-checkpoint"``
and a ``"model"`` state_dict), a bare ``state_dict``, or a dict holding one under ``"state_dict"``
or ``"model"`` (as other toolboxes save). A ``module.`` prefix (DistributedDataParallel) is
stripped. Lives with the models, below the engine, so that ``build_model(..., checkpoint=)``
needs no training code.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Mapping

import torch
import torch.nn as nn

__all__ = ["CHECKPOINT_FORMAT", "CheckpointError", "apply_state_dict", "checkpoint_state", "load_weights", "torch_load",
           "unwrap_model"]

CHECKPOINT_FORMAT = "irstd-lang-checkpoint"
_SHOW = 5  # how many offending keys an error message lists


class CheckpointError(RuntimeError):
    """A weights or checkpoint file that cannot be used; the message starts with the file's path."""

    def __init__(self, path: str | os.PathLike, problem: str):
        self.path = Path(path)
        self.problem = problem
        super().__init__(f"{self.path}: {problem}")


def unwrap_model(model: nn.Module) -> nn.Module:
    """The module inside a DistributedDataParallel/DataParallel wrapper (or the model itself)."""
    return model.module if isinstance(model, (nn.parallel.DistributedDataParallel, nn.DataParallel)) else model


def checkpoint_state(model: nn.Module) -> dict[str, torch.Tensor]:
    """What a checkpoint of ``model`` holds: its ``checkpoint_state_dict()`` when it has one (the
    model contract: a model around frozen encoders keeps only its trainable part), else its
    ``state_dict()``."""
    model = unwrap_model(model)
    getter = getattr(model, "checkpoint_state_dict", None)
    return getter() if callable(getter) else model.state_dict()


def torch_load(path: str | os.PathLike) -> Any:
    """``torch.load(weights_only=True)`` on CPU; a missing, truncated or foreign file is a
    :class:`CheckpointError` naming it."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(path, "checkpoint file not found")
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - any failure means "not a usable torch file"
        raise CheckpointError(path, f"not a readable torch checkpoint ({type(exc).__name__}: {exc})") from exc


def _strip_prefix(state: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    if state and all(k.startswith("module.") for k in state):
        return {k[len("module."):]: v for k, v in state.items()}
    return dict(state)


def apply_state_dict(path: str | os.PathLike, model: nn.Module, state: Mapping[str, Any], strict: bool = True) -> dict[str, list[str]]:
    """Load ``state`` into ``model``; every problem is reported at once, naming ``path``.
    Shape mismatches are always errors; missing and unexpected keys only when ``strict``."""
    path = Path(path)
    if not isinstance(state, Mapping) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise CheckpointError(path, "the model weights are not a state_dict of tensors")
    state = _strip_prefix(state)
    target = unwrap_model(model)
    own = checkpoint_state(target)
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


def load_weights(path: str | os.PathLike, model: nn.Module, strict: bool = True) -> nn.Module:
    """Load only the model weights from ``path`` (see the module docstring); returns ``model``."""
    obj = torch_load(path)
    if isinstance(obj, dict) and obj.get("format") == CHECKPOINT_FORMAT:
        state = obj["model"]
    elif isinstance(obj, dict) and isinstance(obj.get("state_dict"), Mapping):
        state = obj["state_dict"]
    elif isinstance(obj, dict) and isinstance(obj.get("model"), Mapping):
        state = obj["model"]
    else:
        state = obj
    apply_state_dict(path, model, state, strict)
    return model
