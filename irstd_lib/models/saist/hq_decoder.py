"""The HQ-SAM-style decoder of Table 5 (Ke et al., "Segment Anything in High Quality", NeurIPS
2023): an extra high-quality output token with its own hypernetwork reads the early/late fused
map (:mod:`.feature_fusion`); its mask is added to SAM's own (HQ-SAM's default output,
``hq_token_only=False``)."""

from __future__ import annotations

import torch
from torch import nn

from irstd_lib.models.saist.feature_fusion import EarlyLateFusion

__all__ = ["HQHead"]


class HQHead(nn.Module):
    """One extra token (``token``), its hypernetwork (``mlp``, 3 layers as SAM's) and the fusion."""

    def __init__(self, vit_dim: int, dim: int) -> None:
        super().__init__()
        from segment_anything.modeling.mask_decoder import MLP

        self.token = nn.Embedding(1, dim)
        self.mlp = MLP(dim, dim, dim // 8, 3)
        self.fusion = EarlyLateFusion(vit_dim, dim)

    @property
    def extra_tokens(self) -> torch.Tensor:
        return self.token.weight

    def forward(self, token: torch.Tensor, upscaled: torch.Tensor, early: torch.Tensor, late: torch.Tensor) -> torch.Tensor:
        """(B, 1, 4h, 4w) logits of the high-quality token."""
        return torch.einsum("bc,bchw->bhw", self.mlp(token), self.fusion(upscaled, early, late))[:, None]
