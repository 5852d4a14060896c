"""LGNet's output block: shallow and deep side outputs, scaling weights, 1x1 fusion."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["OutputBlock", "SCALED_OUTPUTS", "SCALING_WEIGHTS"]

SCALING_WEIGHTS = ("single_map", "per_deep_output")
"""The two readings of the paper's scaling weights (see :class:`OutputBlock`)."""

SCALED_OUTPUTS = ("deep", "all")
"""The two readings of which side outputs the scaling weights multiply (see :class:`OutputBlock`)."""


class OutputBlock(nn.Module):
    """LGNet's output block.

    Paper: 1x1 convolutions give side outputs of D1-D3 ("shallow") and D4-D6 ("deep"), upsampled
    to the input size; scaling weights of size [1, H, W] are computed from the concatenated
    shallow outputs and scale the deep ones; the maps are concatenated and fused by a 1x1
    convolution into the final map.

    ``scaling_weights`` (the paper's sentence can be read two ways; both are kept):

    - ``"single_map"`` (default, the paper's stated size [1, H, W]): one per-pixel map
      ``w = sigmoid(Conv1x1(cat(S1, S2, S3)))`` (3 -> 1 channel) multiplies each deep output,
      ``D4' = w * S4``, ``D5' = w * S5``, ``D6' = w * S6``;
    - ``"per_deep_output"`` (this package's first reading, before version 2 of the LGNet
      variants): three maps (3 -> 3 channels), one per deep output, ``D4' = w_1 * S4`` and so on.

    In both, the shallow maps, which keep the fine spatial detail, rescale the coarse deep maps;
    the fusion is ``Conv1x1(cat(S1, S2, S3, D4', D5', D6'))`` (6 -> 1). The six unscaled side
    outputs are returned for deep supervision (BCE on each).

    ``scaled_outputs`` (which maps the weights multiply; the paper: "Similarly, we obtain the
    output feature maps from the deep decoders after applying point-wise convolution followed by
    upsampling. Then, we multiply each feature maps by the scaling weights (of size
    R^[1,H,W])", where "each feature maps" may be the deep ones just named or all six):

    - ``"deep"`` (default, today's outputs): S4, S5, S6 are scaled, as above;
    - ``"all"``: every side output is scaled, ``S_i' = w * S_i`` for i = 1..6, and the fusion is
      ``Conv1x1(cat(S1', ..., S6'))``; the weights are still computed from the unscaled shallow
      outputs ("which we obtain by concatenating the shallow decoder outputs followed by
      point-wise convolution and applying a sigmoid function"). Only with ``"single_map"``
      (``"per_deep_output"`` has one map per deep output and none for the shallow ones).

    Initialisation (the paper is silent): with ``prior_probability`` p (default 0.01), the side
    convolutions start with bias ``log(p / (1 - p))``, the scaling weights start at 0.5 everywhere
    (zero weight and bias) and the fusion averages its six inputs, counting the halved deep maps
    twice, so the network starts out predicting "background" with probability about 1 - p everywhere, as
    RetinaNet initialises its classifier (Lin et al., 2017). Targets cover about 0.2 % of the
    pixels; from PyTorch's default initialisation (p about 0.5) the first hundreds of BCE steps
    only learn to push the background down, which a 600-epoch run does not notice and a short
    CPU run never gets past (measured: IoU 0 after 180 steps without this, 0.8 on the training
    batch after 60 steps with it). ``prior_probability=None`` keeps PyTorch's initialisation.
    Both profiles keep the prior: it only sets where training starts, the paper states no
    initialisation, and over 600 epochs its effect is expected to vanish.
    """

    def __init__(
        self,
        side_channels: list[int] | tuple[int, ...],
        prior_probability: float | None = 0.01,
        scaling_weights: str = "single_map",
        scaled_outputs: str = "deep",
    ) -> None:
        super().__init__()
        if len(side_channels) != 6:
            raise ValueError("the output block takes the six decoder maps D1..D6")
        if scaling_weights not in SCALING_WEIGHTS:
            raise ValueError(f"scaling_weights must be one of {SCALING_WEIGHTS}, got {scaling_weights!r}")
        if scaled_outputs not in SCALED_OUTPUTS:
            raise ValueError(f"scaled_outputs must be one of {SCALED_OUTPUTS}, got {scaled_outputs!r}")
        if scaled_outputs == "all" and scaling_weights != "single_map":
            raise ValueError("scaled_outputs='all' needs scaling_weights='single_map' (per_deep_output has no map for the "
                             "shallow outputs)")
        self.scaling_weights = scaling_weights
        self.scaled_outputs = scaled_outputs
        self.side_convs = nn.ModuleList([nn.Conv2d(c, 1, 1) for c in side_channels])
        self.scale_conv = nn.Conv2d(3, 1 if scaling_weights == "single_map" else 3, 1)
        self.fuse_conv = nn.Conv2d(6, 1, 1)
        if prior_probability is not None:
            if not 0 < prior_probability < 1:
                raise ValueError(f"prior_probability must be in (0, 1), got {prior_probability}")
            bias = math.log(prior_probability / (1 - prior_probability))
            with torch.no_grad():
                for conv in self.side_convs:
                    conv.bias.fill_(bias)
                self.scale_conv.weight.zero_()
                self.scale_conv.bias.zero_()  # sigmoid(0) = 0.5: the deep maps start halved
                # so that the fused map starts at the sides' mean: a halved (scaled) map counts twice
                self.fuse_conv.weight[:, :3].fill_(2 / 6 if scaled_outputs == "all" else 1 / 6)
                self.fuse_conv.weight[:, 3:].fill_(2 / 6)
                self.fuse_conv.bias.zero_()

    def forward(self, decoder_maps: list[torch.Tensor], size: tuple[int, int]) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """``decoder_maps`` = [D1, ..., D6]; returns (fused logits, [S1, ..., S6]) at ``size``."""
        sides = []
        for conv, feature in zip(self.side_convs, decoder_maps):
            side = conv(feature)
            if side.shape[-2:] != tuple(size):
                side = F.interpolate(side, size=size, mode="bilinear", align_corners=False)
            sides.append(side)
        shallow = torch.cat(sides[:3], dim=1)
        weights = torch.sigmoid(self.scale_conv(shallow))  # (B, 1, H, W) or (B, 3, H, W); broadcasts
        deep = torch.cat(sides[3:], dim=1) * weights
        if self.scaled_outputs == "all":
            shallow = shallow * weights
        fused = self.fuse_conv(torch.cat([shallow, deep], dim=1))
        return fused, sides
