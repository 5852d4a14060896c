"""The local-context layer on each skip connection (the authors' ``LCL``): a 1x1 conv + ReLU,
then a 3x3 conv + ReLU, same width in and out."""

from __future__ import annotations

from torch import nn

__all__ = ["LocalContext"]


class LocalContext(nn.Sequential):
    def __init__(self, channels: int) -> None:
        super().__init__(nn.Conv2d(channels, channels, 1), nn.ReLU(inplace=True),
                         nn.Conv2d(channels, channels, 3, padding=1), nn.ReLU(inplace=True))
