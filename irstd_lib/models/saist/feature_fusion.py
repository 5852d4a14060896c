"""Early and late ViT features fused into the decoder's upscaled embedding, as HQ-SAM does
(Ke et al., NeurIPS 2023, ``mask_decoder_hq.py``); HQ-SAM's head and CG-SAM's imaging decoder
both read the fused map.

``fused = maskfeature(upscaled) + compress(early) + encode(late)``, all (B, C/8, 4h, 4w):

- ``compress`` (HQ's ``compress_vit_feat``): the first global-attention block's output (the ViT's
  width) through two stride-2 transposed convolutions (to C, LayerNorm2d, GELU, then to C/8);
- ``encode`` (HQ's ``embedding_encoder``): the neck's image embedding the same way (C -> C/4 -> C/8);
- ``maskfeature`` (HQ's ``embedding_maskfeature``): the decoder's upscaled embedding through two 3x3
  convolutions (C/8 -> C/4, LayerNorm2d, GELU, -> C/8).

At SAM's widths (C = 256) this adds HQ-SAM's figures: 820,000 parameters for ``compress`` with
ViT-B (768 wide), 73,952 for ``encode`` and 37,088 for ``maskfeature``.
"""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["EarlyLateFusion"]


class EarlyLateFusion(nn.Module):
    def __init__(self, vit_dim: int, dim: int) -> None:
        super().__init__()
        from segment_anything.modeling.common import LayerNorm2d

        self.compress = nn.Sequential(
            nn.ConvTranspose2d(vit_dim, dim, 2, stride=2), LayerNorm2d(dim), nn.GELU(), nn.ConvTranspose2d(dim, dim // 8, 2, stride=2))
        self.encode = nn.Sequential(
            nn.ConvTranspose2d(dim, dim // 4, 2, stride=2), LayerNorm2d(dim // 4), nn.GELU(), nn.ConvTranspose2d(dim // 4, dim // 8, 2, stride=2))
        self.maskfeature = nn.Sequential(
            nn.Conv2d(dim // 8, dim // 4, 3, padding=1), LayerNorm2d(dim // 4), nn.GELU(), nn.Conv2d(dim // 4, dim // 8, 3, padding=1))

    def forward(self, upscaled: torch.Tensor, early: torch.Tensor, late: torch.Tensor) -> torch.Tensor:
        return self.maskfeature(upscaled) + self.compress(early) + self.encode(late)
