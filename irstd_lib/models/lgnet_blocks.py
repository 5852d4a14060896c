"""LGNet's blocks (Chib & Singh, "Leveraging Language Prior for Infrared Small Target Detection"):
the fusion block used at every encoder-decoder skip, the language fusion block at E5/D6, the
output block, and the plain concatenation merge of the U2-Net baseline (used by the ablations).

Every merge block has the same call signature, ``block(encoder_map, decoder_map, ...)`` with the
decoder map already resized to the encoder map, and an ``out_channels`` attribute (what the next
decoder receives), so LGNet can swap them for the ablations without special cases.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

__all__ = [
    "ChannelBatchNorm",
    "ConcatMerge",
    "FusionBlock",
    "LanguageFusionBlock",
    "OutputBlock",
    "interleave_channels",
]


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


def interleave_channels(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Stack two (B, C, ...) tensors alternately along channels: [a_0, b_0, a_1, b_1, ...]."""
    if a.shape != b.shape:
        raise ValueError(f"cannot interleave shapes {tuple(a.shape)} and {tuple(b.shape)}")
    return torch.stack([a, b], dim=2).flatten(1, 2)


class ConcatMerge(nn.Module):
    """U2-Net's skip: concatenate [decoder (upsampled), encoder] maps; ``2 * channels`` out."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.out_channels = 2 * channels

    def forward(self, encoder_map: torch.Tensor, decoder_map: torch.Tensor, descriptor: torch.Tensor | None = None) -> torch.Tensor:
        return torch.cat([decoder_map, encoder_map], dim=1)


class _ChannelGate(nn.Module):
    """GAP -> depth-wise 1x1 conv -> BN -> sigmoid: one weight in (0, 1) per channel."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.conv = nn.Conv2d(channels, channels, 1, groups=channels)
        self.bn = ChannelBatchNorm(channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.bn(self.conv(self.pool(x))))


class FusionBlock(nn.Module):
    """LGNet's fusion block at an encoder-decoder skip.

    Paper: global average pooling, a depth-wise convolution, BatchNorm and a sigmoid give channel
    weights for the encoder map and for the decoder map; the two weighted maps are added::

        F(E, D) = sigmoid(BN(DWConv(GAP(E)))) * E + sigmoid(BN(DWConv(GAP(D)))) * D

    Choices where the paper is silent: each map has its own gate (GAP, depth-wise conv, BN), as
    the two maps carry different information; the depth-wise convolution is 1x1 (on a 1x1 pooled
    map a larger kernel with zero padding only ever uses its centre weight), i.e. a per-channel
    scale and bias. Output channels = input channels (4 * channels parameters per gate).
    """

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.out_channels = channels
        self.encoder_gate = _ChannelGate(channels)
        self.decoder_gate = _ChannelGate(channels)

    def forward(self, encoder_map: torch.Tensor, decoder_map: torch.Tensor, descriptor: torch.Tensor | None = None) -> torch.Tensor:
        return self.encoder_gate(encoder_map) * encoder_map + self.decoder_gate(decoder_map) * decoder_map


class _LanguageGate(nn.Module):
    """[GAP(x), v2] stacked alternately -> group conv (groups of 2) -> BN -> sigmoid."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.pool = nn.AdaptiveAvgPool2d(1)
        # groups=channels on 2*channels inputs: each pair (v1_c, v2_c) gives one weight w_c.
        self.conv = nn.Conv2d(2 * channels, channels, 1, groups=channels)
        self.bn = ChannelBatchNorm(channels)

    def forward(self, x: torch.Tensor, v2: torch.Tensor) -> torch.Tensor:
        v1 = self.pool(x)
        return torch.sigmoid(self.bn(self.conv(interleave_channels(v1, v2))))


class LanguageFusionBlock(nn.Module):
    """LGNet's language fusion block, applied to E5 (last encoder) and D6 (bottom decoder).

    Paper: v1 = GAP of a feature map, v2 = an MLP of the target descriptor TD (CLIP text + image
    embedding) projected to the same size; v1 and v2 are stacked alternately and a group
    convolution with groups of two channels maps each pair (v1_c, v2_c) to one weight, followed by
    BatchNorm and a sigmoid; the weights multiply the map. E5 and D6 are weighted this way and the
    two weighted maps are added; the sum feeds D5::

        v2 = MLP(TD)
        L(E5, D6, TD) = gate_E(GAP(E5), v2) * E5 + gate_D(GAP(D6), v2) * D6

    Choices where the paper is silent: the MLP is Linear(descriptor_dim, C) -> ReLU ->
    Linear(C, C), computed once and shared by both gates (it encodes one prior for the image);
    E5 and D6 each have their own group conv and BN. The group conv is 1x1 with bias.
    Parameters: MLP (D*C + C + C*C + C) + 2 gates x (group conv 2C + C, BN 2C).
    """

    def __init__(self, channels: int, descriptor_dim: int) -> None:
        super().__init__()
        self.out_channels = channels
        self.descriptor_dim = descriptor_dim
        self.mlp = nn.Sequential(
            nn.Linear(descriptor_dim, channels),
            nn.ReLU(inplace=True),
            nn.Linear(channels, channels),
        )
        self.encoder_gate = _LanguageGate(channels)
        self.decoder_gate = _LanguageGate(channels)

    def forward(self, encoder_map: torch.Tensor, decoder_map: torch.Tensor, descriptor: torch.Tensor | None = None) -> torch.Tensor:
        if descriptor is None:
            raise ValueError("LanguageFusionBlock needs the target descriptor (B, descriptor_dim)")
        if descriptor.ndim != 2 or descriptor.shape[1] != self.descriptor_dim or descriptor.shape[0] != encoder_map.shape[0]:
            raise ValueError(
                f"descriptor must have shape (B={encoder_map.shape[0]}, {self.descriptor_dim}), "
                f"got {tuple(descriptor.shape)}"
            )
        v2 = self.mlp(descriptor.to(encoder_map.dtype))[:, :, None, None]
        return self.encoder_gate(encoder_map, v2) * encoder_map + self.decoder_gate(decoder_map, v2) * decoder_map


class OutputBlock(nn.Module):
    """LGNet's output block.

    Paper: 1x1 convolutions give side outputs of D1-D3 ("shallow") and D4-D6 ("deep"), upsampled
    to the input size; scaling weights computed from the concatenated shallow outputs scale them;
    the maps are concatenated and fused by a 1x1 convolution into the final map.

    Choices where the paper is silent: the weights are per pixel, three maps
    ``sigmoid(Conv1x1(cat(S1, S2, S3)))`` (3 -> 3 channels), one per deep output: the shallow
    maps, which keep the fine spatial detail, rescale the coarse deep maps
    (``D4' = w_1 * S4`` and so on). The fusion is ``Conv1x1(cat(S1, S2, S3, D4', D5', D6'))``
    (6 -> 1). The six unscaled side outputs are returned for deep supervision (BCE on each).

    Initialisation (the paper is silent): with ``prior_probability`` p (default 0.01), the side
    convolutions start with bias ``log(p / (1 - p))`` and the fusion averages its six inputs, so
    the network starts out predicting "background" with probability about 1 - p everywhere, as
    RetinaNet initialises its classifier (Lin et al., 2017). Targets cover about 0.2 % of the
    pixels; from PyTorch's default initialisation (p about 0.5) the first hundreds of BCE steps
    only learn to push the background down, which a 600-epoch run does not notice and a short
    CPU run never gets past (measured: IoU 0 after 180 steps without this, 0.8 on the training
    batch after 60 steps with it). ``prior_probability=None`` keeps PyTorch's initialisation.
    """

    def __init__(self, side_channels: list[int] | tuple[int, ...], prior_probability: float | None = 0.01) -> None:
        super().__init__()
        if len(side_channels) != 6:
            raise ValueError("the output block takes the six decoder maps D1..D6")
        self.side_convs = nn.ModuleList([nn.Conv2d(c, 1, 1) for c in side_channels])
        self.scale_conv = nn.Conv2d(3, 3, 1)
        self.fuse_conv = nn.Conv2d(6, 1, 1)
        if prior_probability is not None:
            if not 0 < prior_probability < 1:
                raise ValueError(f"prior_probability must be in (0, 1), got {prior_probability}")
            bias = math.log(prior_probability / (1 - prior_probability))
            with torch.no_grad():
                for conv in self.side_convs:
                    conv.bias.fill_(bias)
                self.fuse_conv.weight.fill_(1 / 6)
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
        weights = torch.sigmoid(self.scale_conv(shallow))
        deep = torch.cat(sides[3:], dim=1) * weights
        fused = self.fuse_conv(torch.cat([shallow, deep], dim=1))
        return fused, sides
