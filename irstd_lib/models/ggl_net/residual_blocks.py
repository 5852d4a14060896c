"""GGL-Net's encoder blocks (the authors' ``Resnet1``, ``Resnet2``, ``Resnet3`` and ``SEAttention``).

- :class:`SqueezeExcitation`: global average pool, two bias-free linear layers (reduction 4 in
  every GGL-Net block), sigmoid, channel re-weighting;
- :class:`ResidualBlock`: two 3x3 conv-BN with an identity shortcut (the first block of level 1);
- :class:`DownsamplingResidualBlock`: conv-BN-ReLU, max-pool /2, conv-BN, with a strided 3x3
  conv-BN-ReLU shortcut (the first block of levels 2-5; the shortcut keeps its ReLU, as the
  authors wrote it);
- :class:`SEResidualBlock`: conv-BN-ReLU, squeeze-excitation, conv-BN, identity shortcut (the
  two further blocks of every level).

Every block ends with a ReLU after the sum.
"""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["DownsamplingResidualBlock", "ResidualBlock", "SEResidualBlock", "SqueezeExcitation", "conv_bn"]


def conv_bn(in_channels: int, out_channels: int, stride: int = 1, relu: bool = True) -> list[nn.Module]:
    """3x3 convolution (with bias, as the authors' layers) + BatchNorm (+ ReLU)."""
    layers: list[nn.Module] = [nn.Conv2d(in_channels, out_channels, 3, stride=stride, padding=1), nn.BatchNorm2d(out_channels)]
    if relu:
        layers.append(nn.ReLU(inplace=True))
    return layers


class SqueezeExcitation(nn.Module):
    """Channel re-weighting by a squeeze (global average) and an excitation (two linear layers)."""

    def __init__(self, channels: int, reduction: int = 4) -> None:
        super().__init__()
        hidden = max(1, channels // reduction)  # = channels // 4 at every published width
        self.excitation = nn.Sequential(nn.Linear(channels, hidden, bias=False), nn.ReLU(inplace=True),
                                        nn.Linear(hidden, channels, bias=False), nn.Sigmoid())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        weights = self.excitation(x.mean(dim=(2, 3)))
        return x * weights[:, :, None, None]


class ResidualBlock(nn.Module):
    def __init__(self, channels: int) -> None:
        super().__init__()
        self.body = nn.Sequential(*conv_bn(channels, channels), *conv_bn(channels, channels, relu=False))
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.relu(self.body(x) + x)


class DownsamplingResidualBlock(nn.Module):
    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        self.body = nn.Sequential(*conv_bn(in_channels, out_channels), nn.MaxPool2d(2, 2),
                                  *conv_bn(out_channels, out_channels, relu=False))
        self.shortcut = nn.Sequential(*conv_bn(in_channels, out_channels, stride=2))
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.relu(self.body(x) + self.shortcut(x))


class SEResidualBlock(nn.Module):
    def __init__(self, channels: int) -> None:
        super().__init__()
        self.conv1 = nn.Sequential(*conv_bn(channels, channels))
        self.conv2 = nn.Sequential(*conv_bn(channels, channels, relu=False))
        self.excite = SqueezeExcitation(channels, reduction=4)  # between conv1 and conv2 in forward
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.relu(self.conv2(self.excite(self.conv1(x))) + x)
