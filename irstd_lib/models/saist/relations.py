"""SR-CLIP's relation modules: the object-object similarity matrix and the scene-object
correlation vector (the paper's eqs. 1-2), applied to a description set (a scene feature and K
object features, text or visual alike).

- **Object-to-Object**: ``S = softmax_j(cos(o_i, o_j) / tau)`` (K x K, rows sum to 1); each
  object gathers what its similar objects say, kept residually: ``o_i <- o_i + sum_j S_ij o_j``.
- **Scene-to-Object**: ``r = softmax_j(cos(s, o_j) / tau)`` (K); objects are re-weighted by how
  much the scene concerns them, around 1 on average: ``o_j <- K r_j o_j``.

Choices where the paper is silent: the residual form and the mean-one re-weighting (both keep
the feature scale a frozen encoder produced). Temperature: by default one learnable temperature
per module, initialised at CLIP's 0.07, stored as a log so that it stays positive (a departure:
eqs. 1-2 write ``exp(cos)`` with none); ``learnable_temperature=False`` with ``temperature=1``
is the equations as written (a fixed buffer; SR-CLIP's ``relation_temperature="equation"``).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["ObjectToObject", "SceneToObject", "cosine_softmax"]


def cosine_softmax(queries: torch.Tensor, keys: torch.Tensor, log_temperature: torch.Tensor) -> torch.Tensor:
    """``softmax_j(cos(q_i, k_j) / tau)`` for (B, M, D) queries and (B, K, D) keys: (B, M, K)."""
    cos = F.normalize(queries, dim=-1) @ F.normalize(keys, dim=-1).transpose(1, 2)
    return torch.softmax(cos / log_temperature.exp(), dim=-1)


def _set_log_temperature(module: nn.Module, temperature: float, learnable: bool) -> None:
    value = torch.tensor(math.log(temperature))
    if learnable:
        module.log_temperature = nn.Parameter(value)
    else:
        module.register_buffer("log_temperature", value, persistent=False)  # fixed by the setting: no checkpoint overrides it


class ObjectToObject(nn.Module):
    """Objects (B, K, D) refined by their similarity matrix (eq. 1)."""

    def __init__(self, temperature: float = 0.07, learnable_temperature: bool = True) -> None:
        super().__init__()
        _set_log_temperature(self, temperature, learnable_temperature)

    def similarity(self, objects: torch.Tensor) -> torch.Tensor:
        return cosine_softmax(objects, objects, self.log_temperature)

    def forward(self, objects: torch.Tensor) -> torch.Tensor:
        return objects + self.similarity(objects) @ objects


class SceneToObject(nn.Module):
    """Objects (B, K, D) re-weighted by their correlation with the scene (B, D) (eq. 2)."""

    def __init__(self, temperature: float = 0.07, learnable_temperature: bool = True) -> None:
        super().__init__()
        _set_log_temperature(self, temperature, learnable_temperature)

    def correlation(self, scene: torch.Tensor, objects: torch.Tensor) -> torch.Tensor:
        return cosine_softmax(scene[:, None], objects, self.log_temperature)[:, 0]  # (B, K)

    def forward(self, scene: torch.Tensor, objects: torch.Tensor) -> torch.Tensor:
        return objects * (objects.shape[1] * self.correlation(scene, objects))[..., None]
