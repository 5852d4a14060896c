"""Residual U-blocks (RSU), the building block of U2-Net (Qin et al., Pattern Recognition 2020)
and of LGNet's encoders and decoders.

An ``RSU-L`` block is a small U-Net of height ``L`` wrapped in a residual connection::

    x_in = ConvBNReLU(in -> out)(x)
    U(x_in): ConvBNReLU(out -> mid), then L-2 levels of [max-pool 2x2, ConvBNReLU(mid -> mid)],
             a dilated (d=2) ConvBNReLU at the bottom, and L-1 decoder ConvBNReLUs on
             [upsampled, skip] concatenations (2*mid -> mid, the last 2*mid -> out)
    RSU(x) = U(x_in) + x_in

``RSU4F`` ("F" for flat) replaces pooling and upsampling with dilations 1, 2, 4, 8, so the
deepest stages, whose maps are already small, keep their resolution.

As in U2-Net's reference code: 3x3 convolutions with bias, then BatchNorm and ReLU; max-pooling
with ``ceil_mode=True`` and bilinear upsampling to the exact skip size, so any input size works
(odd sizes included), not only multiples of 32.
"""

from __future__ import annotations

import torch
from torch import nn

from irstd_lib.models.layers import ConvBNReLU, upsample_like

__all__ = ["RSU", "RSU4F", "build_rsu"]


class RSU(nn.Module):
    """Residual U-block of height ``height`` (RSU7, RSU6, RSU5, RSU4 for heights 7..4).

    ``height`` levels of encoder convolutions (``height - 2`` max-pools, the last level dilated
    by 2) and ``height - 1`` decoder convolutions; the output has ``out_channels`` channels and the
    input's spatial size.
    """

    def __init__(self, height: int, in_channels: int, mid_channels: int, out_channels: int) -> None:
        super().__init__()
        if height < 3:
            raise ValueError(f"RSU height must be >= 3, got {height}")
        self.height = height
        self.in_channels, self.mid_channels, self.out_channels = in_channels, mid_channels, out_channels
        self.conv_in = ConvBNReLU(in_channels, out_channels)
        encoders = [ConvBNReLU(out_channels, mid_channels)]
        encoders += [ConvBNReLU(mid_channels, mid_channels) for _ in range(height - 2)]
        self.encoders = nn.ModuleList(encoders)
        self.bottom = ConvBNReLU(mid_channels, mid_channels, dilation=2)
        decoders = [ConvBNReLU(2 * mid_channels, mid_channels) for _ in range(height - 2)]
        decoders.append(ConvBNReLU(2 * mid_channels, out_channels))
        self.decoders = nn.ModuleList(decoders)
        self.pool = nn.MaxPool2d(2, stride=2, ceil_mode=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x_in = self.conv_in(x)
        skips = []
        h = x_in
        for level, encoder in enumerate(self.encoders):
            if level > 0:
                h = self.pool(h)
            h = encoder(h)
            skips.append(h)
        h = self.bottom(h)
        for decoder, skip in zip(self.decoders, reversed(skips)):
            h = decoder(torch.cat([upsample_like(h, skip), skip], dim=1))
        return h + x_in


class RSU4F(nn.Module):
    """Flat residual U-block: the RSU4 shape with dilations 1, 2, 4, 8 instead of pooling."""

    dilations = (1, 2, 4, 8)

    def __init__(self, in_channels: int, mid_channels: int, out_channels: int) -> None:
        super().__init__()
        self.height = 4
        self.in_channels, self.mid_channels, self.out_channels = in_channels, mid_channels, out_channels
        self.conv_in = ConvBNReLU(in_channels, out_channels)
        d1, d2, d4, d8 = self.dilations
        self.encoders = nn.ModuleList(
            [
                ConvBNReLU(out_channels, mid_channels, d1),
                ConvBNReLU(mid_channels, mid_channels, d2),
                ConvBNReLU(mid_channels, mid_channels, d4),
            ]
        )
        self.bottom = ConvBNReLU(mid_channels, mid_channels, d8)
        self.decoders = nn.ModuleList(
            [
                ConvBNReLU(2 * mid_channels, mid_channels, d4),
                ConvBNReLU(2 * mid_channels, mid_channels, d2),
                ConvBNReLU(2 * mid_channels, out_channels, d1),
            ]
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x_in = self.conv_in(x)
        skips = []
        h = x_in
        for encoder in self.encoders:
            h = encoder(h)
            skips.append(h)
        h = self.bottom(h)
        for decoder, skip in zip(self.decoders, reversed(skips)):
            h = decoder(torch.cat([h, skip], dim=1))
        return h + x_in


def build_rsu(height: int, in_channels: int, mid_channels: int, out_channels: int, flat: bool = False) -> nn.Module:
    """``RSU4F`` when ``flat`` else ``RSU`` of the given height."""
    if flat:
        if height != 4:
            raise ValueError("only the height-4 flat block (RSU4F) is defined")
        return RSU4F(in_channels, mid_channels, out_channels)
    return RSU(height, in_channels, mid_channels, out_channels)
