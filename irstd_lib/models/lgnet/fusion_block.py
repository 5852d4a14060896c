"""LGNet's fusion block at every encoder-decoder skip, and U2-Net's concatenation that the
ablations put in its place.

Every merge block has the same call signature, ``block(encoder_map, decoder_map, descriptor)``
with the decoder map already resized to the encoder map, and an ``out_channels`` attribute (what
the next decoder receives), so LGNet swaps them for the ablations without special cases.
"""

from __future__ import annotations

import torch
from torch import nn

from irstd_lib.models.layers import ChannelBatchNorm

__all__ = ["ConcatMerge", "FusionBlock"]


class ConcatMerge(nn.Module):
    """U2-Net's skip: concatenate [decoder (upsampled), encoder] maps; ``2 * channels`` out."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.out_channels = 2 * channels

    def forward(self, encoder_map: torch.Tensor, decoder_map: torch.Tensor, descriptor: torch.Tensor | None = None) -> torch.Tensor:
        return torch.cat([decoder_map, encoder_map], dim=1)


class _ChannelGate(nn.Module):
    """GAP -> depth-wise 1x1 conv -> BN -> sigmoid: one weight in (0, 1) per channel."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.conv = nn.Conv2d(channels, channels, 1, groups=channels)
        self.bn = ChannelBatchNorm(channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.bn(self.conv(self.pool(x))))


class FusionBlock(nn.Module):
    """LGNet's fusion block at an encoder-decoder skip.

    Paper: global average pooling, a depth-wise convolution, BatchNorm and a sigmoid give channel
    weights for the encoder map and for the decoder map; the two weighted maps are added::

        F(E, D) = sigmoid(BN(DWConv(GAP(E)))) * E + sigmoid(BN(DWConv(GAP(D)))) * D

    Choices where the paper is silent: each map has its own gate (GAP, depth-wise conv, BN), as
    the two maps carry different information; the depth-wise convolution is 1x1 (on a 1x1 pooled
    map a larger kernel with zero padding only ever uses its centre weight), i.e. a per-channel
    scale and bias. Output channels = input channels (4 * channels parameters per gate).
    """

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.out_channels = channels
        self.encoder_gate = _ChannelGate(channels)
        self.decoder_gate = _ChannelGate(channels)

    def forward(self, encoder_map: torch.Tensor, decoder_map: torch.Tensor, descriptor: torch.Tensor | None = None) -> torch.Tensor:
        return self.encoder_gate(encoder_map) * encoder_map + self.decoder_gate(decoder_map) * decoder_map
