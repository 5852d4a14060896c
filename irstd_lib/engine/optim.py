"""Optimizers and per-step learning-rate schedules.

Papers:

- LGNet: Adan, lr 1e-3, weight decay 1e-4, 10 warm-up epochs, 600 epochs, batch 8. The paper's
  words are "The Adan optimizer [...] was employed, incorporating 10 warm-up epochs and a
  learning rate of 1e-3": the shape of the warm-up and what follows it are not stated.
  ``"warmup_linear"`` is the simplest reading (this package's choice, not the paper's word): the
  lr rises linearly over the warm-up and then stays constant. ``"warmup_cosine"`` (warm-up, then
  cosine decay to ``min_lr``) is the common alternative and can be chosen.
  Adan's betas are timm's defaults ``(0.98, 0.92, 0.99)`` and its ``eps`` 1e-8 (the paper gives
  none); timm's Adan uses decoupled weight decay (``no_prox=False``).
- SAIST: Adam, lr 1e-4, cosine decay over 400 epochs -> ``"cosine"``.
- BasicIRSTD: Adam 5e-4 with a step decay (x ``gamma`` at each milestone epoch) -> ``"multistep"``.

All schedules are :class:`torch.optim.lr_scheduler.LambdaLR` stepped once per optimizer step,
with a picklable factor object, so ``scheduler.state_dict()`` restores them exactly on resume.

Warm-up: at optimizer step ``s`` (0-based) the factor is ``(s + 1) / warmup_steps`` for
``s < warmup_steps`` (the first step already uses ``lr / warmup_steps``, never 0, so no step is
wasted), then 1. Cosine: ``f = r + (1 - r) * (1 + cos(pi * t / T)) / 2`` with ``r = min_lr / lr``,
``t`` the steps after warm-up and ``T`` the total steps after warm-up (clamped at ``T``).
Multistep: ``f = gamma ** (number of milestones <= the epoch of step s)``, milestones in epochs
(as ``torch.optim.lr_scheduler.MultiStepLR`` stepped per epoch).
"""

from __future__ import annotations

import math
from typing import Any, Iterable

import torch

__all__ = ["build_optimizer", "build_scheduler", "ScheduleFactor", "OPTIMIZERS", "SCHEDULERS"]

OPTIMIZERS = ("adan", "adam", "adamw", "sgd")
SCHEDULERS = ("constant", "warmup_linear", "warmup_cosine", "cosine", "multistep")


def build_optimizer(
    name: str,
    params: Iterable[Any],
    lr: float = 1e-3,
    weight_decay: float = 1e-4,
    betas: tuple[float, ...] | None = None,
    eps: float | None = None,
    momentum: float = 0.9,
    **kwargs: Any,
) -> torch.optim.Optimizer:
    """``"adan"`` (timm.optim.Adan), ``"adam"`` (L2 weight decay, as torch.optim.Adam does),
    ``"adamw"`` (decoupled), ``"sgd"`` (momentum 0.9). ``betas``/``eps`` default to each
    optimizer's own defaults."""
    name = name.lower()
    extra: dict[str, Any] = dict(kwargs)
    if betas is not None:
        extra["betas"] = tuple(betas)
    if eps is not None:
        extra["eps"] = eps
    if name == "adan":
        from timm.optim import Adan

        # timm's multi-tensor path: the same arithmetic per tensor, bit for bit (tests/test_engine.py),
        # in a few fused calls instead of ~6 small ones per parameter tensor (LGNet width 16 has 464);
        # timm leaves it off on the CPU by default.
        extra.setdefault("foreach", True)
        return Adan(params, lr=lr, weight_decay=weight_decay, **extra)
    if name == "adam":
        return torch.optim.Adam(params, lr=lr, weight_decay=weight_decay, **extra)
    if name == "adamw":
        return torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay, **extra)
    if name == "sgd":
        extra.pop("betas", None)
        extra.pop("eps", None)
        return torch.optim.SGD(params, lr=lr, momentum=momentum, weight_decay=weight_decay, **extra)
    raise ValueError(f"optimizer must be one of {OPTIMIZERS}, got {name!r}")


class ScheduleFactor:
    """Multiplicative lr factor as a function of the optimizer step (picklable, see module doc)."""

    def __init__(self, kind: str, total_steps: int, warmup_steps: int, min_ratio: float,
                 milestone_steps: tuple[int, ...] = (), gamma: float = 0.1):
        if kind not in SCHEDULERS:
            raise ValueError(f"scheduler must be one of {SCHEDULERS}, got {kind!r}")
        self.kind = kind
        self.total_steps = max(1, int(total_steps))
        self.warmup_steps = max(0, int(warmup_steps)) if kind.startswith("warmup") else 0
        self.min_ratio = float(min_ratio)
        self.milestone_steps = tuple(int(m) for m in milestone_steps)
        self.gamma = float(gamma)

    def __call__(self, step: int) -> float:
        if self.kind == "constant":
            return 1.0
        if self.kind == "multistep":
            return self.gamma ** sum(step >= m for m in self.milestone_steps)
        if step < self.warmup_steps:
            return (step + 1) / self.warmup_steps
        if self.kind == "warmup_linear":
            return 1.0
        span = max(1, self.total_steps - self.warmup_steps)
        t = min(step - self.warmup_steps, span)
        return self.min_ratio + (1.0 - self.min_ratio) * 0.5 * (1.0 + math.cos(math.pi * t / span))


def build_scheduler(
    name: str,
    optimizer: torch.optim.Optimizer,
    epochs: int,
    steps_per_epoch: int,
    warmup_epochs: float = 0,
    min_lr: float = 0.0,
    milestones: tuple[int, ...] = (),
    gamma: float = 0.1,
) -> torch.optim.lr_scheduler.LambdaLR:
    """A per-step :class:`LambdaLR` (call ``scheduler.step()`` after every ``optimizer.step()``).

    ``min_lr`` is relative to the first param group's lr (``min_ratio = min_lr / lr``).
    """
    name = name.lower()
    base_lr = float(optimizer.param_groups[0]["lr"])
    min_ratio = (float(min_lr) / base_lr) if base_lr > 0 else 0.0
    if not 0.0 <= min_ratio <= 1.0:
        raise ValueError(f"min_lr {min_lr} must lie in [0, lr={base_lr}]")
    factor = ScheduleFactor(
        name,
        total_steps=int(epochs) * int(steps_per_epoch),
        warmup_steps=int(round(float(warmup_epochs) * int(steps_per_epoch))),
        min_ratio=min_ratio,
        milestone_steps=tuple(int(m) * int(steps_per_epoch) for m in milestones),
        gamma=gamma,
    )
    return torch.optim.lr_scheduler.LambdaLR(optimizer, lr_lambda=factor)
