"""Segmentation losses for IRSTD training, with deep supervision.

- :func:`bce_with_logits` / :class:`BCEWithLogitsLoss`: binary cross-entropy on logits, averaged
  over all pixels of the batch (``torch.nn.functional.binary_cross_entropy_with_logits``,
  numerically stable; no pos_weight: LGNet specifies plain BCE).
- :class:`SoftIoULoss`: ``1 - (sum(p m) + smooth) / (sum(p) + sum(m) - sum(p m) + smooth)`` with
  ``p = sigmoid(logits)`` and ``smooth = 1``, the sums taken over the whole batch, as the
  BasicIRSTD toolbox does (its models apply the sigmoid themselves; ours return logits, so the
  sigmoid is applied here). ``per_sample=True`` averages per-image soft IoUs instead: the loss
  kind ``"softiou_per_image"``, as GGL-Net's authors' training script computes it.
- :class:`DeepSupervisionLoss`: ``loss(logits) + aux_weight * R(loss(aux_k) for each side output)
  + sum(model-reported losses)`` (the model contract's ``aux_logits`` and ``aux_losses``).

Deep supervision, and the choice of ``R``: LGNet says "BCE at every decoder output" and follows
U2-Net, whose training loss is the plain **sum** of the fused-output loss and the six side-output
losses, each weighted 1. That is the default here (``aux_reduction="sum"``, ``aux_weight=1``).
``aux_reduction="mean"`` averages the side losses instead; ``"mean_all"`` averages the final and
the side losses together, ``(loss(logits) + sum_k loss(aux_k)) / (1 + K)``, which is what the
BasicIRSTD toolbox does for models that return a list of maps (DNA-Net's deep supervision).
Extra losses a model computes itself (``out["aux_losses"]``, e.g. SAIST's MMD term) are added
with weight 1; the model weights them.
"""

from __future__ import annotations

from typing import Callable, Mapping

import torch
import torch.nn as nn
import torch.nn.functional as F

__all__ = ["bce_with_logits", "BCEWithLogitsLoss", "SoftIoULoss", "DeepSupervisionLoss", "LOSS_KINDS", "AUX_REDUCTIONS"]

LOSS_KINDS = ("bce", "softiou", "softiou_per_image", "bce+softiou")
AUX_REDUCTIONS = ("sum", "mean", "mean_all")


def bce_with_logits(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean binary cross-entropy over every pixel of the batch."""
    return F.binary_cross_entropy_with_logits(logits.float(), target.float())


class BCEWithLogitsLoss(nn.Module):
    def forward(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return bce_with_logits(logits, target)


class SoftIoULoss(nn.Module):
    """``1 - soft IoU`` of ``sigmoid(logits)`` against a {0,1} mask (see the module docstring)."""

    def __init__(self, smooth: float = 1.0, per_sample: bool = False):
        super().__init__()
        self.smooth = float(smooth)
        self.per_sample = bool(per_sample)

    def forward(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        p = torch.sigmoid(logits.float())
        m = target.float()
        if self.per_sample:
            dims = tuple(range(1, p.dim()))
            inter = (p * m).sum(dims)
            union = p.sum(dims) + m.sum(dims) - inter
            return 1.0 - ((inter + self.smooth) / (union + self.smooth)).mean()
        inter = (p * m).sum()
        union = p.sum() + m.sum() - inter
        return 1.0 - (inter + self.smooth) / (union + self.smooth)


def _base_loss(kind: str) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:
    if kind == "bce":
        return bce_with_logits
    if kind == "softiou":
        return SoftIoULoss()
    if kind == "softiou_per_image":
        return SoftIoULoss(per_sample=True)
    if kind == "bce+softiou":
        soft = SoftIoULoss()
        return lambda logits, target: bce_with_logits(logits, target) + soft(logits, target)
    raise ValueError(f"loss kind must be one of {LOSS_KINDS}, got {kind!r}")


class DeepSupervisionLoss(nn.Module):
    """Loss on the final map plus the deep-supervision side outputs plus model-reported losses.

    Called as ``loss_fn(outputs: dict, target (B,1,H,W)) -> (total tensor, parts dict of floats)``
    where ``outputs`` is a model's forward dict (``logits``, optional ``aux_logits``, optional
    ``aux_losses``). ``parts`` has ``"main"``, ``"aux"`` (already weighted and reduced; 0 when there
    are no side outputs), one ``"model/<name>"`` per model loss and ``"total"``.
    """

    def __init__(self, kind: str = "bce", aux_weight: float = 1.0, aux_reduction: str = "sum"):
        super().__init__()
        if aux_reduction not in AUX_REDUCTIONS:
            raise ValueError(f"aux_reduction must be one of {AUX_REDUCTIONS}, got {aux_reduction!r}")
        self.kind = kind
        self.base = _base_loss(kind)
        self.aux_weight = float(aux_weight)
        self.aux_reduction = aux_reduction

    def forward(self, outputs: Mapping[str, object], target: torch.Tensor) -> tuple[torch.Tensor, dict[str, float]]:
        logits = outputs["logits"]
        if not isinstance(logits, torch.Tensor):
            raise TypeError("model outputs must contain a 'logits' tensor")
        if logits.shape != target.shape:
            raise ValueError(f"logits {tuple(logits.shape)} and target {tuple(target.shape)} differ in shape")
        main = self.base(logits, target)
        total = main
        parts: dict[str, float] = {"main": float(main.detach())}

        aux_list = list(outputs.get("aux_logits") or [])
        aux_value = 0.0
        if aux_list and self.aux_weight != 0.0:
            side = torch.stack([self.base(a, target) for a in aux_list])
            if self.aux_reduction == "mean_all":
                total = (main + self.aux_weight * side.sum()) / (1 + side.numel())
                aux_value = float((total - main).detach())  # what deep supervision adds to the final map's loss
            else:
                aux = side.sum() if self.aux_reduction == "sum" else side.mean()
                total = main + self.aux_weight * aux
                aux_value = float(self.aux_weight * aux.detach())
        parts["aux"] = aux_value

        for name, value in dict(outputs.get("aux_losses") or {}).items():
            value = torch.as_tensor(value, device=logits.device).float()
            if value.dim() != 0:
                raise ValueError(f"model loss {name!r} must be a scalar, got shape {tuple(value.shape)}")
            total = total + value
            parts[f"model/{name}"] = float(value.detach())
        parts["total"] = float(total.detach())
        return total, parts
