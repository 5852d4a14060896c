"""DNA-Net's feature pyramid fusion module (FPFM).

The last node of every level of the nested network (L(4,0), L(3,1), L(2,2), L(1,3), L(0,4):
the outputs of the final decoding path) is brought to the width of the top level by a 1x1
convolution (with bias; the top level itself needs none), upsampled bilinearly to full
resolution (``align_corners=True``, as the toolbox's ``nn.Upsample``), and the five maps are
concatenated, deepest first, and merged by one residual CBAM block back to the top level's width.
Deep levels carry the context, the top level the detail; the merge keeps both at full resolution.
"""

from __future__ import annotations

from typing import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from irstd_lib.models.dnanet.res_cbam import ResCBAMBlock

__all__ = ["FeaturePyramidFusion"]


class FeaturePyramidFusion(nn.Module):
    """``forward([top, level1, ..., deepest])`` -> (B, channels[0], H, W) at the top level's size."""

    def __init__(self, channels: Sequence[int]) -> None:
        super().__init__()
        top = int(channels[0])
        # One 1x1 projection per level below the top, indexed by level - 1.
        self.projections = nn.ModuleList(nn.Conv2d(int(c), top, kernel_size=1) for c in channels[1:])
        self.merge = ResCBAMBlock(top * len(channels), top)

    def forward(self, levels: Sequence[torch.Tensor]) -> torch.Tensor:
        top = levels[0]
        size = top.shape[-2:]
        upsampled = [
            F.interpolate(project(x), size=size, mode="bilinear", align_corners=True)
            for project, x in zip(self.projections, levels[1:])
        ]
        return self.merge(torch.cat([*reversed(upsampled), top], dim=1))
