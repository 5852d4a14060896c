"""DNA-Net's channel and spatial attention module (CSAM), CBAM's two attention maps.

- :class:`ChannelAttention`: the map is pooled to one value per channel twice, by its mean and by
  its maximum; both descriptors go through the same two-layer bottleneck (1x1 convolutions
  without bias, reduction 16, ReLU between) and the sum of the two results, through a sigmoid,
  is a (B, C, 1, 1) weight per channel. Max pooling is the part that matters for small targets:
  a few bright pixels barely move a channel's mean but set its maximum.
- :class:`SpatialAttention`: the map is reduced across channels to its per-pixel mean and
  maximum, the (B, 2, H, W) pair goes through a 7x7 convolution (no bias) and a sigmoid: a
  (B, 1, H, W) weight per pixel.

Both return the *weights* (in (0, 1)); the caller multiplies, channel attention first
(:mod:`.res_cbam`). Neither has a BatchNorm, so a batch of one image is no special case.

Where the toolbox leaves no room for narrower models: its bottleneck has ``C // 16`` channels,
zero below 16 channels. Here it has ``max(1, C // 16)``, identical at the published widths (the
narrowest stage has 16 channels), so that ``base_channels < 16`` still builds.
"""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["ChannelAttention", "SpatialAttention"]


class ChannelAttention(nn.Module):
    """Per-channel weights from average- and max-pooled descriptors through a shared bottleneck."""

    def __init__(self, channels: int, reduction: int = 16) -> None:
        super().__init__()
        hidden = max(1, channels // reduction)
        self.avg_pool = nn.AdaptiveAvgPool2d(1)
        self.max_pool = nn.AdaptiveMaxPool2d(1)
        self.bottleneck = nn.Sequential(
            nn.Conv2d(channels, hidden, 1, bias=False),
            nn.ReLU(inplace=True),
            nn.Conv2d(hidden, channels, 1, bias=False),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.bottleneck(self.avg_pool(x)) + self.bottleneck(self.max_pool(x)))


class SpatialAttention(nn.Module):
    """Per-pixel weights from the channel-wise mean and maximum through a ``kernel_size`` convolution."""

    def __init__(self, kernel_size: int = 7) -> None:
        super().__init__()
        if kernel_size % 2 != 1:
            raise ValueError(f"the spatial attention kernel must be odd, got {kernel_size}")
        self.conv = nn.Conv2d(2, 1, kernel_size, padding=kernel_size // 2, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        descriptors = torch.cat([x.mean(dim=1, keepdim=True), x.amax(dim=1, keepdim=True)], dim=1)
        return torch.sigmoid(self.conv(descriptors))
