"""ACM's asymmetric bi-directional fusion ("AsymBi"), the paper's core module, and the plain
additive fusion it is ablated against.

At every skip of the U-Net, ACM merges a deep, semantically strong map ``deep`` (the decoder's
upsampled feature) with a shallow, spatially precise map ``shallow`` (the encoder's skip):

- **top-down global channel attention** from the deep map: global average pool, a 1x1 bottleneck
  (ratio 4) and a sigmoid give one weight per channel, which re-weights the *shallow* map; the
  semantics of the deep layer decide which shallow channels matter;
- **bottom-up point-wise attention** from the shallow map: the same bottleneck applied at every
  pixel (1x1 convolutions, no pooling) gives a per-pixel, per-channel weight, which re-weights
  the *deep* map; small targets, which the deep map has almost lost, are brought back by the
  shallow layer's fine detail (pooling would average a few-pixel target away, hence no pooling);
- ``2 * shallow * w_topdown + 2 * deep * w_bottomup`` (the factor 2 keeps the scale of a plain
  sum when the sigmoids sit near 0.5), then a 3x3 convolution, BatchNorm and ReLU.

Layer details as in the BasicIRSTD toolbox's port of the authors' MXNet code: 1x1 convolutions
with bias, BatchNorm after each of them, a 3x3 convolution with bias after the merge. The toolbox
gives every BatchNorm here ``momentum=0.9`` (see ``bn_momentum`` in :mod:`.model`). The pooled
branch's BatchNorms see (B, C, 1, 1) maps, so they are :class:`ChannelBatchNorm`: a training batch
of one image is normalised with the running statistics instead of raising.
"""

from __future__ import annotations

import torch
from torch import nn

from irstd_lib.models.layers import ChannelBatchNorm

__all__ = ["AsymmetricBiFusion", "AdditiveFusion", "build_fusion", "FUSION_KINDS"]

FUSION_KINDS = ("asymbi", "add")


def _attention_bottleneck(channels: int, reduction: int, momentum: float, norm: type[nn.BatchNorm2d]) -> list[nn.Module]:
    """1x1 conv to channels/reduction, BN, ReLU, 1x1 conv back, BN, sigmoid."""
    hidden = max(1, channels // reduction)
    return [
        nn.Conv2d(channels, hidden, kernel_size=1),
        norm(hidden, momentum=momentum),
        nn.ReLU(inplace=True),
        nn.Conv2d(hidden, channels, kernel_size=1),
        norm(channels, momentum=momentum),
        nn.Sigmoid(),
    ]


class _MergeConv(nn.Sequential):
    """3x3 convolution (with bias), BatchNorm, ReLU applied after the two maps are merged."""

    def __init__(self, channels: int, momentum: float) -> None:
        super().__init__(
            nn.Conv2d(channels, channels, kernel_size=3, padding=1),
            nn.BatchNorm2d(channels, momentum=momentum),
            nn.ReLU(inplace=True),
        )


class AsymmetricBiFusion(nn.Module):
    """AsymBi fusion of a deep map and a shallow map of the same shape (B, C, H, W).

    ``forward(deep, shallow)``: ``deep`` is the decoder's upsampled map (the paper's X, "high
    level"), ``shallow`` the encoder's skip (Y, "low level").
    """

    def __init__(self, channels: int, reduction: int = 4, bn_momentum: float = 0.9) -> None:
        super().__init__()
        # Global context of the deep map: pooled first, so its BatchNorms see 1x1 maps.
        self.topdown_channel_weights = nn.Sequential(
            nn.AdaptiveAvgPool2d(1), *_attention_bottleneck(channels, reduction, bn_momentum, ChannelBatchNorm)
        )
        # Local context of the shallow map: the same bottleneck at every pixel.
        self.bottomup_pixel_weights = nn.Sequential(*_attention_bottleneck(channels, reduction, bn_momentum, nn.BatchNorm2d))
        self.merge = _MergeConv(channels, bn_momentum)

    def forward(self, deep: torch.Tensor, shallow: torch.Tensor) -> torch.Tensor:
        topdown = self.topdown_channel_weights(deep)  # (B, C, 1, 1)
        bottomup = self.bottomup_pixel_weights(shallow)  # (B, C, H, W)
        return self.merge(2 * shallow * topdown + 2 * deep * bottomup)


class AdditiveFusion(nn.Module):
    """Ablation baseline (the authors' "DirectAdd"): ``deep + shallow``, then the same 3x3 merge."""

    def __init__(self, channels: int, bn_momentum: float = 0.9) -> None:
        super().__init__()
        self.merge = _MergeConv(channels, bn_momentum)

    def forward(self, deep: torch.Tensor, shallow: torch.Tensor) -> torch.Tensor:
        return self.merge(deep + shallow)


def build_fusion(kind: str, channels: int, bn_momentum: float = 0.9) -> nn.Module:
    """``"asymbi"`` (ACM) or ``"add"`` (the ablation without attention)."""
    if kind == "asymbi":
        return AsymmetricBiFusion(channels, bn_momentum=bn_momentum)
    if kind == "add":
        return AdditiveFusion(channels, bn_momentum=bn_momentum)
    raise ValueError(f"fusion must be one of {FUSION_KINDS}, got {kind!r}")
