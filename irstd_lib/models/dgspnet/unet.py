"""DGSPNet's U-shaped CNN: the simplest encoder-decoder that carries its text guidance.

- :class:`ConvBlock`: two 3x3 conv-BN-ReLU with a 1x1 projection shortcut when the width changes
  (a residual double convolution, the block most IRSTD U-Nets use);
- :class:`UpBlock`: bilinear x2 of the deeper map, concatenation with the skip, a ConvBlock.

Four levels (full size, 1/2, 1/4, 1/8), widths ``base * (1, 2, 4, 8)``; max-pooling between them.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["ConvBlock", "UpBlock"]


class ConvBlock(nn.Module):
    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(in_channels, out_channels, 3, padding=1, bias=False), nn.BatchNorm2d(out_channels), nn.ReLU(inplace=True),
            nn.Conv2d(out_channels, out_channels, 3, padding=1, bias=False), nn.BatchNorm2d(out_channels),
        )
        self.shortcut = (nn.Identity() if in_channels == out_channels else
                         nn.Sequential(nn.Conv2d(in_channels, out_channels, 1, bias=False), nn.BatchNorm2d(out_channels)))
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.relu(self.body(x) + self.shortcut(x))


class UpBlock(nn.Module):
    def __init__(self, deep_channels: int, skip_channels: int, out_channels: int) -> None:
        super().__init__()
        self.block = ConvBlock(deep_channels + skip_channels, out_channels)

    def forward(self, deep: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
        deep = F.interpolate(deep, size=skip.shape[-2:], mode="bilinear", align_corners=False)
        return self.block(torch.cat([deep, skip], dim=1))
