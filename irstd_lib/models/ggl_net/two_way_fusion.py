"""The two-way guidance fusion module (TGFM, the authors' ``Sbam``) of GGL-Net's decoder, and the
plain addition it is ablated against.

::

    h  = ReLU(BN(conv1x1(bilinear x2 (high))))         high-level map at the low level's size
    out = low * ChannelAttention(h)  +  h * SpatialAttention(low)

- :class:`ChannelAttention`: max- and average-pooled descriptors through one shared bottleneck
  (1x1 convs, reduction 8, no bias), summed, sigmoid: (B, C, 1, 1). Computed from the
  *high*-level map, it re-weights the *low*-level map (semantics pick the channels).
- :class:`SpatialAttention`: channel-wise max and mean, a 7x7 conv, sigmoid: (B, 1, H, W).
  Computed from the *low*-level map, it re-weights the *high*-level map (detail picks the places).

The x2 upsampling is ``nn.UpsamplingBilinear2d`` in the authors' code, i.e. ``align_corners=True``;
kept. :class:`AdditiveFusion` (switch ``two_way_fusion=False``) keeps the same upsampling and
1x1 conv-BN-ReLU (the widths must meet) and returns ``low + h``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["AdditiveFusion", "ChannelAttention", "SpatialAttention", "TwoWayGuidanceFusion", "build_decoder_fusion"]


class ChannelAttention(nn.Module):
    def __init__(self, channels: int, reduction: int = 8) -> None:
        super().__init__()
        hidden = max(1, channels // reduction)  # = channels // 8 at every published width
        self.bottleneck = nn.Sequential(nn.Conv2d(channels, hidden, 1, bias=False), nn.ReLU(),
                                        nn.Conv2d(hidden, channels, 1, bias=False))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.bottleneck(F.adaptive_max_pool2d(x, 1)) + self.bottleneck(F.adaptive_avg_pool2d(x, 1)))


class SpatialAttention(nn.Module):
    def __init__(self, kernel_size: int = 7) -> None:
        super().__init__()
        self.conv = nn.Conv2d(2, 1, kernel_size, padding=kernel_size // 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pooled = torch.cat([x.amax(dim=1, keepdim=True), x.mean(dim=1, keepdim=True)], dim=1)
        return torch.sigmoid(self.conv(pooled))


class _UpsampleProject(nn.Sequential):
    """Bilinear x2 (align_corners=True, as ``nn.UpsamplingBilinear2d``), 1x1 conv, BN, ReLU."""

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__(nn.UpsamplingBilinear2d(scale_factor=2), nn.Conv2d(in_channels, out_channels, 1),
                         nn.BatchNorm2d(out_channels), nn.ReLU(inplace=True))


class TwoWayGuidanceFusion(nn.Module):
    def __init__(self, high_channels: int, low_channels: int) -> None:
        super().__init__()
        self.project_high = _UpsampleProject(high_channels, low_channels)
        self.channel_attention = ChannelAttention(low_channels)
        self.spatial_attention = SpatialAttention(7)

    def forward(self, high: torch.Tensor, low: torch.Tensor) -> torch.Tensor:
        high = self.project_high(high)
        return low * self.channel_attention(high) + high * self.spatial_attention(low)


class AdditiveFusion(nn.Module):
    def __init__(self, high_channels: int, low_channels: int) -> None:
        super().__init__()
        self.project_high = _UpsampleProject(high_channels, low_channels)

    def forward(self, high: torch.Tensor, low: torch.Tensor) -> torch.Tensor:
        return low + self.project_high(high)


def build_decoder_fusion(two_way: bool, high_channels: int, low_channels: int) -> nn.Module:
    return (TwoWayGuidanceFusion if two_way else AdditiveFusion)(high_channels, low_channels)
