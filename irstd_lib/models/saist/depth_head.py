"""CG-SAM's depth network d(z): a small ResNet (timm) regressing a non-negative depth map.

The imaging equation needs the depth of every pixel. The paper asks for d = ResNet(I); how the
depth is read out is a choice: **regression** (not classification into depth bins as Cao et al.
do), with no depth supervision, since no IRSTD dataset has depth: the head only has to give the
equation a smooth, positive ``d`` that training shapes through the segmentation loss. So: timm's
``ResNet`` with basic blocks (one per stage by default), one input channel (the [0, 1] image),
no classifier; its last feature map (1/32) through a 1x1 convolution, bilinearly upsampled to
the input size, through a softplus (d > 0). ``width`` sets the stem and first stage; the stages
double it. The default, 42 (2.12 M parameters), brings what SAIST adds to SAM + CLIP near the
paper's 6.29 M (see :mod:`.model`).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["DepthHead"]


class DepthHead(nn.Module):
    def __init__(self, width: int = 42, blocks: tuple[int, int, int, int] = (1, 1, 1, 1)) -> None:
        super().__init__()
        from timm.models.resnet import BasicBlock, ResNet

        channels = tuple(width * 2**i for i in range(4))
        self.backbone = ResNet(BasicBlock, list(blocks), num_classes=0, in_chans=1, global_pool="", stem_width=width,
                               channels=channels)
        self.readout = nn.Conv2d(channels[-1], 1, 1)

    def forward(self, image01: torch.Tensor) -> torch.Tensor:
        """(B, 1, H, W) image in [0, 1] -> (B, 1, H, W) depth > 0."""
        coarse = self.readout(self.backbone.forward_features(image01))
        return F.softplus(F.interpolate(coarse, size=image01.shape[-2:], mode="bilinear", align_corners=False))
