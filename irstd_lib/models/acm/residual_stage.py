"""ACM's backbone stages: stacks of ResNet basic blocks (two 3x3 convolutions and a shortcut).

ACM's encoder (three stages) and decoder (two stages) are ResNet-18-style basic blocks, the
authors' ``CIFARBasicBlockV1`` (MXNet) which BasicIRSTD replaces by torchvision's ``BasicBlock``:

    x -> conv3x3(stride) -> BN -> ReLU -> conv3x3 -> BN -> (+ shortcut(x)) -> ReLU

with bias-free convolutions. The first block of a stage changes the width and/or halves the size;
its shortcut is then a strided 1x1 convolution (bias-free) and a BatchNorm, otherwise the identity.

BatchNorm momentum, kept as the toolbox has it: the blocks' own two BatchNorms use PyTorch's
default (0.1), while the shortcut's BatchNorm gets the network's ``bn_momentum`` (0.9 in the
toolbox, a literal copy of the MXNet value; see :mod:`.model`).
"""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["ResidualBlock", "ResidualStage"]


class ResidualBlock(nn.Module):
    """One basic residual block; ``stride=2`` halves the spatial size."""

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1, shortcut_bn_momentum: float = 0.9) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(out_channels)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_channels)
        self.relu = nn.ReLU(inplace=True)
        self.shortcut: nn.Module = nn.Identity()
        if stride != 1 or in_channels != out_channels:
            self.shortcut = nn.Sequential(
                nn.Conv2d(in_channels, out_channels, 1, stride=stride, bias=False),
                nn.BatchNorm2d(out_channels, momentum=shortcut_bn_momentum),
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + self.shortcut(x))


class ResidualStage(nn.Sequential):
    """``blocks`` residual blocks; the first maps ``in_channels`` to ``out_channels`` with ``stride``."""

    def __init__(self, in_channels: int, out_channels: int, blocks: int, stride: int = 1, bn_momentum: float = 0.9) -> None:
        if blocks < 1:
            raise ValueError(f"a residual stage needs at least one block, got {blocks}")
        layers = [ResidualBlock(in_channels, out_channels, stride, bn_momentum)]
        layers += [ResidualBlock(out_channels, out_channels, 1, bn_momentum) for _ in range(blocks - 1)]
        super().__init__(*layers)
