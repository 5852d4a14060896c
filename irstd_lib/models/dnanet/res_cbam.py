"""DNA-Net's building block, the residual CBAM block (``Res_CBAM_block``), and stacks of it.

Every node of the dense nested network is one or more of these blocks::

    x -> conv3x3 -> BN -> ReLU -> conv3x3 -> BN -> * channel attention -> * spatial attention
      -> (+ shortcut(x)) -> ReLU

The two 3x3 convolutions have a bias (as in the authors' and the toolbox's code, although a
BatchNorm follows). The shortcut is the identity when the width does not change, otherwise a 1x1
convolution (with bias) and a BatchNorm. The attention is applied to the residual branch before
the sum, as in CBAM's ResNet integration. Stride is always 1: DNA-Net downsamples by max-pooling
between nodes.
"""

from __future__ import annotations

import torch
from torch import nn

from irstd_lib.models.dnanet.attention import ChannelAttention, SpatialAttention

__all__ = ["ResCBAMBlock", "ResCBAMStack"]


class ResCBAMBlock(nn.Module):
    """Residual block with channel-then-spatial attention on its residual branch."""

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, padding=1)
        self.bn1 = nn.BatchNorm2d(out_channels)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, padding=1)
        self.bn2 = nn.BatchNorm2d(out_channels)
        self.relu = nn.ReLU(inplace=True)
        self.channel_attention = ChannelAttention(out_channels)
        self.spatial_attention = SpatialAttention()
        self.shortcut: nn.Module = nn.Identity()
        if in_channels != out_channels:
            self.shortcut = nn.Sequential(nn.Conv2d(in_channels, out_channels, 1), nn.BatchNorm2d(out_channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        out = out * self.channel_attention(out)
        out = out * self.spatial_attention(out)
        return self.relu(out + self.shortcut(x))


class ResCBAMStack(nn.Sequential):
    """``blocks`` residual CBAM blocks, the first mapping ``in_channels`` to ``out_channels``."""

    def __init__(self, in_channels: int, out_channels: int, blocks: int = 1) -> None:
        if blocks < 1:
            raise ValueError(f"a node needs at least one block, got {blocks}")
        super().__init__(ResCBAMBlock(in_channels, out_channels),
                         *(ResCBAMBlock(out_channels, out_channels) for _ in range(blocks - 1)))
