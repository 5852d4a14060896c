"""DGSPNet's text-guided attentions: how the text embeddings make CNN features sensitive to
potential targets.

- :class:`TextGuidedChannelAttention` (TGCA, on low-level features): channel weights from the
  text. The text embeddings (L2-normalised, averaged over the prompts) and the features' own
  average-pooled descriptor are concatenated and go through a two-layer MLP and a sigmoid to one
  weight per channel: ``x' = x * (1 + a)``. The image descriptor is there so the weights can
  differ between images when the text does not (coarse prompts only). The ``1 +`` keeps the
  features when the attention says nothing, so an untrained TGCA is harmless.
- :class:`TextGuidedSpatialAttention` (TGSA, on high-level features): a spatial map from the
  similarity between pixel features and the text. Pixel features are projected into the text
  space by a 1x1 convolution; the cosine similarity of each pixel with each text embedding, times
  a learnable temperature, gives one map per prompt; a 1x1 convolution over those maps and a
  sigmoid give the spatial weight: ``x' = x * (1 + s)``.

Both take the text as ``(B, K, E)``: K prompts per image (coarse and/or fine).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["TextGuidedChannelAttention", "TextGuidedSpatialAttention"]


class TextGuidedChannelAttention(nn.Module):
    def __init__(self, channels: int, text_dim: int, reduction: int = 4) -> None:
        super().__init__()
        hidden = max(4, channels // reduction)
        self.mlp = nn.Sequential(nn.Linear(text_dim + channels, hidden), nn.ReLU(inplace=True), nn.Linear(hidden, channels))

    def weights(self, x: torch.Tensor, text: torch.Tensor) -> torch.Tensor:
        """(B, C) channel weights in (0, 1)."""
        summary = F.normalize(text, dim=-1).mean(dim=1)
        return torch.sigmoid(self.mlp(torch.cat([summary, x.mean(dim=(2, 3))], dim=1)))

    def forward(self, x: torch.Tensor, text: torch.Tensor) -> torch.Tensor:
        return x * (1.0 + self.weights(x, text)[:, :, None, None])


class TextGuidedSpatialAttention(nn.Module):
    def __init__(self, channels: int, text_dim: int, n_prompts: int) -> None:
        super().__init__()
        self.to_text_space = nn.Conv2d(channels, text_dim, 1)
        self.log_temperature = nn.Parameter(torch.tensor(math.log(10.0)))
        self.combine = nn.Conv2d(n_prompts, 1, 1)

    def similarity(self, x: torch.Tensor, text: torch.Tensor) -> torch.Tensor:
        """(B, K, H, W) cosine similarity of each pixel's projected feature with each prompt."""
        pixels = F.normalize(self.to_text_space(x), dim=1)
        return torch.einsum("behw,bke->bkhw", pixels, F.normalize(text, dim=-1))

    def weights(self, x: torch.Tensor, text: torch.Tensor) -> torch.Tensor:
        """(B, 1, H, W) spatial weights in (0, 1)."""
        return torch.sigmoid(self.combine(self.similarity(x, text) * self.log_temperature.exp()))

    def forward(self, x: torch.Tensor, text: torch.Tensor) -> torch.Tensor:
        return x * (1.0 + self.weights(x, text))
