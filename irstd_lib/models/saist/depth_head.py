"""CG-SAM's depth network d(z) = F(.) = ResNet(.) (the paper's eqs. 11-12): a small timm ResNet
(random initialisation, nothing downloaded) whose last feature map is read out as a non-negative
depth map, by one of two readings of "Cao et al. treated the depth estimation problem as a
pixel-level classification task":

- ``readout="regression"`` (default; the reading the smoke runs were made with): a 1x1 convolution
  to one channel, bilinearly upsampled to the input size, through a softplus (d > 0). Not
  classification, but the simplest smooth positive depth.
- ``readout="bins"`` (the paper's words, after Cao et al., "Estimating Depth from Monocular
  Images as Classification Using Deep Fully Convolutional Residual Networks", TCSVT 2018): a 1x1
  convolution to ``bins`` logits per pixel of the feature map, a softmax over them, and the
  **expected depth** ``d = sum_k p_k c_k`` (a soft-argmax, so that d stays differentiable), then
  bilinearly upsampled. Bin centres ``c_k``: ``bins`` values spaced uniformly in log depth over
  ``depth_range`` (Cao et al. discretise in log space). Defaults: 16 bins over [0.1, 10]. Units
  are arbitrary: no IRSTD dataset has depth, so nothing supervises ``d`` but the segmentation
  loss through the imaging equation, and only ``beta d`` matters (beta is learnt); [0.1, 10]
  with beta's initial 0.1 gives transmissions from 0.99 to 0.37.

What the ResNet reads is the caller's choice (:mod:`.imaging_decoder`: the observed image, or
the decoder's degraded image I as eq. 11 writes it): one input channel either way. timm's
``ResNet`` with basic blocks (one per stage by default), no classifier; ``width`` sets the stem
and first stage and the stages double it. The default, 42 (2.12 M parameters), brings what SAIST
adds to SAM + CLIP near the paper's 6.29 M (see :mod:`.model`).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["DEPTH_READOUTS", "DepthHead"]

DEPTH_READOUTS = ("regression", "bins")


class DepthHead(nn.Module):
    def __init__(self, width: int = 42, blocks: tuple[int, int, int, int] = (1, 1, 1, 1), readout: str = "regression",
                 bins: int = 16, depth_range: tuple[float, float] = (0.1, 10.0)) -> None:
        super().__init__()
        from timm.models.resnet import BasicBlock, ResNet

        if readout not in DEPTH_READOUTS:
            raise ValueError(f"depth readout must be one of {DEPTH_READOUTS}, got {readout!r}")
        low, high = (float(v) for v in depth_range)
        if readout == "bins" and (int(bins) < 2 or not 0 < low < high):
            raise ValueError(f"depth bins need bins >= 2 and 0 < low < high, got bins={bins}, depth_range={depth_range}")
        self.readout_kind = readout
        channels = tuple(width * 2**i for i in range(4))
        self.backbone = ResNet(BasicBlock, list(blocks), num_classes=0, in_chans=1, global_pool="", stem_width=width,
                               channels=channels)
        self.readout = nn.Conv2d(channels[-1], 1 if readout == "regression" else int(bins), 1)
        if readout == "bins":
            centres = torch.exp(torch.linspace(math.log(low), math.log(high), int(bins)))
            self.register_buffer("bin_centres", centres, persistent=False)  # from the settings, not trained

    def forward(self, source: torch.Tensor) -> torch.Tensor:
        """(B, 1, H, W) map (the image in [0, 1], or the degraded image I) -> (B, 1, H, W) depth > 0."""
        coarse = self.readout(self.backbone.forward_features(source))
        size = source.shape[-2:]
        if self.readout_kind == "regression":
            return F.softplus(F.interpolate(coarse, size=size, mode="bilinear", align_corners=False))
        expected = torch.einsum("bkhw,k->bhw", coarse.softmax(dim=1), self.bin_centres.to(coarse.dtype))[:, None]
        return F.interpolate(expected, size=size, mode="bilinear", align_corners=False)
