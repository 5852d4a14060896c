"""SR-CLIP's cross-modal interaction (the paper's eqs. 5-6): the text decoder and the visual
decoder.

- text decoder: **Text-to-Text** (self-attention among the text-side description tokens), then
  **Visual-to-Text** (the text tokens attend to the visual tokens), then a feed-forward layer:
  the text prompt;
- visual decoder: **Visual-to-Visual**, then **Text-to-Visual**, then a feed-forward layer: the
  visual prompt.

Both are one :class:`CrossModalDecoder`, a standard pre-norm transformer-decoder layer
(``nn.MultiheadAttention``, residual connections, an MLP of ratio 4 with GELU), given its own
stream and the other one. The paper gives the order of the attentions; the pre-norm layout, the
MLP and one layer per decoder are choices.
"""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["CrossModalDecoder"]


class CrossModalDecoder(nn.Module):
    """``decoder(own (B, N, d), other (B, M, d)) -> (B, N, d)``: self-attention on ``own``, then
    cross-attention from ``own`` to ``other``, then an MLP, each residual and pre-normalised."""

    def __init__(self, dim: int, heads: int = 8, mlp_ratio: float = 4.0) -> None:
        super().__init__()
        if dim % heads:
            raise ValueError(f"width {dim} is not divisible by {heads} heads")
        self.self_norm = nn.LayerNorm(dim)
        self.self_attention = nn.MultiheadAttention(dim, heads, batch_first=True)
        self.cross_norm = nn.LayerNorm(dim)
        self.other_norm = nn.LayerNorm(dim)
        self.cross_attention = nn.MultiheadAttention(dim, heads, batch_first=True)
        self.mlp_norm = nn.LayerNorm(dim)
        hidden = int(dim * mlp_ratio)
        self.mlp = nn.Sequential(nn.Linear(dim, hidden), nn.GELU(), nn.Linear(hidden, dim))

    def forward(self, own: torch.Tensor, other: torch.Tensor) -> torch.Tensor:
        h = self.self_norm(own)
        own = own + self.self_attention(h, h, h, need_weights=False)[0]
        other = self.other_norm(other)
        own = own + self.cross_attention(self.cross_norm(own), other, other, need_weights=False)[0]
        return own + self.mlp(self.mlp_norm(own))
