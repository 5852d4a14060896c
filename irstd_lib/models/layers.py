"""Layers shared by several systems: U2-Net's conv-BN-ReLU and resize-to-reference, and a
BatchNorm for globally pooled channel descriptors."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["ChannelBatchNorm", "ConvBNReLU", "upsample_like"]


def upsample_like(x: torch.Tensor, reference: torch.Tensor) -> torch.Tensor:
    """Bilinearly resize ``x`` to the spatial size of ``reference`` (U2-Net's ``_upsample_like``)."""
    if x.shape[-2:] == reference.shape[-2:]:
        return x
    return F.interpolate(x, size=reference.shape[-2:], mode="bilinear", align_corners=False)


class ConvBNReLU(nn.Module):
    """3x3 convolution (dilation ``dilation``, 'same' padding) + BatchNorm + ReLU (U2-Net's REBNCONV)."""

    def __init__(self, in_channels: int, out_channels: int, dilation: int = 1) -> None:
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, 3, padding=dilation, dilation=dilation)
        self.bn = nn.BatchNorm2d(out_channels)
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.relu(self.bn(self.conv(x)))


class ChannelBatchNorm(nn.BatchNorm2d):
    """BatchNorm over (B, C, 1, 1) channel descriptors.

    On globally pooled maps BatchNorm normalises over the batch alone, and PyTorch refuses a
    training batch of one (a single value per channel). Rather than crash on a trailing batch of
    size 1, such a batch is normalised with the running statistics (as in eval mode) and leaves
    them unchanged. Same parameters as ``nn.BatchNorm2d``.
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.training and x.shape[0] * x.shape[2] * x.shape[3] == 1:
            return F.batch_norm(x, self.running_mean, self.running_var, self.weight, self.bias, False, 0.0, self.eps)
        return super().forward(x)
