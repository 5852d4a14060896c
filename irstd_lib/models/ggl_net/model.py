"""GGL-Net (Zhao, Yu et al., "Gradient-Guided Learning Network for Infrared Small Target
Detection", IEEE GRSL 2023; arXiv 2512.09497), following the structure of the authors' public
model (``model/GGL_Net/model_GGL.py`` in YuChuang1205/MSDA-Net), written anew.

Architecture (widths ``w = base * (1, 2, 4, 8, 16)``, ``base = 16``)::

    image (3 ch, [0, 1]) --> gradient magnitude g1 (3 ch), g2..g5 = maxpool2(g_{k-1})   gradient.py
    stem: conv3x3-BN-ReLU (3 -> w1), conv3x3-BN-ReLU (w1 -> w1)                     full size
    level 1: ResidualBlock, 2 x SEResidualBlock, GSM(g1)                              full size
    level k = 2..5: DownsamplingResidualBlock, 2 x SEResidualBlock, GSM(g_k)          1/2^(k-1)
    skips: LocalContext on each level's output                                      local_context.py
    decoder: d4 = TGFM(s5, s4), d3 = TGFM(d4, s3), d2 = TGFM(d3, s2), d1 = TGFM(d2, s1)
    head: conv1x1 (w1 -> w1), ReLU, conv1x1 (w1 -> 1)                                logits

- ``gradient.py``: the gradient magnitude (central differences, zero padding) and its pyramid;
- ``residual_blocks.py``: the residual, downsampling and squeeze-excitation residual blocks;
- ``gradient_supplement.py``: the gradient supplementary module (GSM);
- ``local_context.py``: the skip connections' local-context layer;
- ``two_way_fusion.py``: the two-way guidance fusion module (TGFM) and its additive ablation;
- this file: the network, its switches, its sizes.

Size (3x512x512 input): 8,988,093 parameters, exactly the count of the authors' ``GGLNet()``
(instantiated from their definition; the paper's text gives no count).

Choices and departures, each deliberate:

- Output: logits. The authors end the head with a sigmoid and train SoftIoU on probabilities;
  here the loss and the evaluator apply the sigmoid (the same function, numerically safer).
- Input: the gray image replicated to 3 channels in [0, 1] (the authors read images as RGB and
  normalise with mean 0, std 1 after dividing by 255). Size multiple 16 (four halvings).
- Initialisation as the authors': Kaiming normal (fan_out, ReLU) for every convolution except
  those inside the decoder's channel and spatial attentions (left at PyTorch's default, as the
  authors never call their ``init_weights``), BatchNorm weight 1 and bias 0, linear layers default.
- ``base_channels`` scales the widths (16 = published). Below the published width the
  squeeze-excitation and channel-attention bottlenecks keep at least one channel.

Switches (the ablations the issue names; the paper's own ablation table is not public):

- ``gradient_branch=False``: no gradient image at all and no GSM: the encoder is the plain
  residual network.
- ``gsm=False``: the gradient is given only at the input (concatenated with the image: the stem
  takes 6 channels) and no GSM injects it at the levels.
- ``two_way_fusion=False``: each TGFM replaced by the addition of the upsampled, projected
  high-level map and the low-level map (:class:`~.two_way_fusion.AdditiveFusion`).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from irstd_lib.models.base import InputSpec, IRSTDModel
from irstd_lib.models.ggl_net.gradient import gradient_pyramid
from irstd_lib.models.ggl_net.gradient_supplement import GradientSupplement
from irstd_lib.models.ggl_net.local_context import LocalContext
from irstd_lib.models.ggl_net.residual_blocks import DownsamplingResidualBlock, ResidualBlock, SEResidualBlock, conv_bn
from irstd_lib.models.ggl_net.two_way_fusion import ChannelAttention, SpatialAttention, build_decoder_fusion

__all__ = ["GGLNet", "build_ggl_net"]

LEVELS = 5


class GGLNet(IRSTDModel):
    """GGL-Net (see the module docstring). Returns logits at the input size."""

    input_spec = InputSpec(channels=3, mean=(0.0,), std=(1.0,), size_multiple=2 ** (LEVELS - 1))

    def __init__(self, base_channels: int = 16, gradient_branch: bool = True, gsm: bool = True,
                 two_way_fusion: bool = True, in_channels: int = 3) -> None:
        super().__init__()
        if base_channels < 1:
            raise ValueError(f"base_channels must be positive, got {base_channels}")
        widths = [base_channels * 2 ** k for k in range(LEVELS)]
        self.widths = tuple(widths)
        self.in_channels = in_channels
        self.gradient_branch = bool(gradient_branch)
        self.gsm = bool(gradient_branch and gsm)
        self.gradient_at_input = bool(gradient_branch and not gsm)
        self.two_way_fusion = bool(two_way_fusion)

        stem_in = 2 * in_channels if self.gradient_at_input else in_channels
        self.stem = nn.Sequential(*conv_bn(stem_in, widths[0]), *conv_bn(widths[0], widths[0]))
        self.levels = nn.ModuleList()
        for k, width in enumerate(widths):
            first = ResidualBlock(width) if k == 0 else DownsamplingResidualBlock(widths[k - 1], width)
            self.levels.append(nn.Sequential(first, SEResidualBlock(width), SEResidualBlock(width)))
        self.gradient_supplements = (nn.ModuleList(GradientSupplement(in_channels, w) for w in widths) if self.gsm else None)
        self.local_context = nn.ModuleList(LocalContext(w) for w in widths)
        # fusions[k] merges the decoder map of level k+1 into level k (k = 3, 2, 1, 0)
        self.fusions = nn.ModuleList(build_decoder_fusion(two_way_fusion, widths[k + 1], widths[k]) for k in range(LEVELS - 1))
        self.head = nn.Sequential(nn.Conv2d(widths[0], widths[0], 1), nn.ReLU(inplace=True), nn.Conv2d(widths[0], 1, 1))
        self._init_weights()

    def _init_weights(self) -> None:
        default_init = {id(m) for a in self.modules() if isinstance(a, (ChannelAttention, SpatialAttention)) for m in a.modules()}
        for m in self.modules():
            if isinstance(m, nn.Conv2d) and id(m) not in default_init:
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
                if m.bias is not None:
                    nn.init.zeros_(m.bias)

    def encode(self, image: torch.Tensor) -> list[torch.Tensor]:
        """The five levels' features (full size down to 1/16), before the skip layers."""
        gradients = gradient_pyramid(image, LEVELS) if self.gradient_branch else None
        x = self.stem(torch.cat([image, gradients[0]], dim=1) if self.gradient_at_input else image)
        features = []
        for k, level in enumerate(self.levels):
            x = level(x)
            if self.gsm:
                x = self.gradient_supplements[k](x, gradients[k])
            features.append(x)
        return features

    def forward(self, image: torch.Tensor, condition: Any = None) -> dict[str, Any]:
        if image.ndim != 4 or image.shape[1] != self.in_channels:
            raise ValueError(f"image must be (B, {self.in_channels}, H, W), got {tuple(image.shape)}")
        self.input_spec.check_size(image.shape[-2], image.shape[-1])
        skips = [context(f) for context, f in zip(self.local_context, self.encode(image))]
        x = skips[-1]
        for k in reversed(range(LEVELS - 1)):
            x = self.fusions[k](x, skips[k])
        return {"logits": self.head(x), "aux_logits": [], "aux_losses": {}}


def build_ggl_net(base_channels: int = 16, gradient_branch: bool = True, gsm: bool = True, two_way_fusion: bool = True) -> GGLNet:
    """GGL-Net at the authors' widths (``base_channels=16``); the switches are its ablations."""
    return GGLNet(base_channels=base_channels, gradient_branch=gradient_branch, gsm=gsm, two_way_fusion=two_way_fusion)
