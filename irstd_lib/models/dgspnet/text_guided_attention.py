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

The readings of a third-party summary of the full text (``paper_settings.md``: "TGCA is channel
attention driven by the text embedding (Eqs. 2-3); TGSA is spatial modulation from token-feature
dot products (Eqs. 7-9)"; unverified, the equations themselves are not available here), each a
switch whose default is the design above:

- ``TextGuidedChannelAttention(inputs="text")``: the channel weights from the text embeddings
  alone (no image descriptor in the MLP's input);
- ``TextGuidedSpatialAttention(similarity="dot")``: the plain dot product of each projected pixel
  with each text embedding, scaled by ``1 / sqrt(E)`` as attention scales its logits, instead of
  the cosine times a learned temperature.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["TGCA_INPUTS", "TGSA_SIMILARITIES", "TextGuidedChannelAttention", "TextGuidedSpatialAttention"]


TGCA_INPUTS = ("text_and_image", "text")
TGSA_SIMILARITIES = ("cosine", "dot")


class TextGuidedChannelAttention(nn.Module):
    def __init__(self, channels: int, text_dim: int, reduction: int = 4, inputs: str = "text_and_image") -> None:
        super().__init__()
        if inputs not in TGCA_INPUTS:
            raise ValueError(f"TGCA inputs must be one of {TGCA_INPUTS}, got {inputs!r}")
        self.inputs = inputs
        hidden = max(4, channels // reduction)
        width = text_dim + (channels if inputs == "text_and_image" else 0)
        self.mlp = nn.Sequential(nn.Linear(width, hidden), nn.ReLU(inplace=True), nn.Linear(hidden, channels))

    def weights(self, x: torch.Tensor, text: torch.Tensor) -> torch.Tensor:
        """(B, C) channel weights in (0, 1)."""
        summary = F.normalize(text, dim=-1).mean(dim=1)
        if self.inputs == "text":
            return torch.sigmoid(self.mlp(summary))
        return torch.sigmoid(self.mlp(torch.cat([summary, x.mean(dim=(2, 3))], dim=1)))

    def forward(self, x: torch.Tensor, text: torch.Tensor) -> torch.Tensor:
        return x * (1.0 + self.weights(x, text)[:, :, None, None])


class TextGuidedSpatialAttention(nn.Module):
    def __init__(self, channels: int, text_dim: int, n_prompts: int, similarity: str = "cosine") -> None:
        super().__init__()
        if similarity not in TGSA_SIMILARITIES:
            raise ValueError(f"TGSA similarity must be one of {TGSA_SIMILARITIES}, got {similarity!r}")
        self.kind = similarity
        self.to_text_space = nn.Conv2d(channels, text_dim, 1)
        if similarity == "cosine":
            self.log_temperature = nn.Parameter(torch.tensor(math.log(10.0)))
        self.combine = nn.Conv2d(n_prompts, 1, 1)

    def similarity(self, x: torch.Tensor, text: torch.Tensor) -> torch.Tensor:
        """(B, K, H, W) similarity of each pixel's projected feature with each prompt: the cosine
        times the learned temperature, or the dot product over ``sqrt(E)``."""
        pixels = self.to_text_space(x)
        if self.kind == "dot":
            return torch.einsum("behw,bke->bkhw", pixels, text) / math.sqrt(text.shape[-1])
        cosine = torch.einsum("behw,bke->bkhw", F.normalize(pixels, dim=1), F.normalize(text, dim=-1))
        return cosine * self.log_temperature.exp()

    def weights(self, x: torch.Tensor, text: torch.Tensor) -> torch.Tensor:
        """(B, 1, H, W) spatial weights in (0, 1)."""
        return torch.sigmoid(self.combine(self.similarity(x, text)))

    def forward(self, x: torch.Tensor, text: torch.Tensor) -> torch.Tensor:
        return x * (1.0 + self.weights(x, text))
