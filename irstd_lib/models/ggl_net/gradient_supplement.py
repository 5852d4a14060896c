"""The gradient supplementary module (GSM, the authors' ``Res``): adds what the gradient image
says to one encoder level's features.

::

    g' = conv-BN-ReLU -> squeeze-excitation -> conv-BN-ReLU  (gradient image, C_g -> C)
    out = ReLU( x + conv-BN-ReLU -> squeeze-excitation -> conv-BN ( concat(x, g') ) )

The residual keeps the level's features as they were when the gradient adds nothing.
"""

from __future__ import annotations

import torch
from torch import nn

from irstd_lib.models.ggl_net.residual_blocks import SqueezeExcitation, conv_bn

__all__ = ["GradientSupplement"]


class GradientSupplement(nn.Module):
    def __init__(self, gradient_channels: int, channels: int) -> None:
        super().__init__()
        self.encode_gradient = nn.Sequential(*conv_bn(gradient_channels, channels), SqueezeExcitation(channels, 4),
                                             *conv_bn(channels, channels))
        self.merge = nn.Sequential(*conv_bn(2 * channels, channels), SqueezeExcitation(channels, 4),
                                   *conv_bn(channels, channels, relu=False))
        self.relu = nn.ReLU(inplace=True)

    def forward(self, features: torch.Tensor, gradient: torch.Tensor) -> torch.Tensor:
        merged = self.merge(torch.cat([features, self.encode_gradient(gradient)], dim=1))
        return self.relu(merged + features)
