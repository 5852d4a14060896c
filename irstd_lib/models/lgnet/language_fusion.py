"""LGNet's language fusion block: the target descriptor gates E5 and D6 (see the class)."""

from __future__ import annotations

import torch
from torch import nn

from irstd_lib.models.layers import ChannelBatchNorm

__all__ = ["LanguageFusionBlock", "interleave_channels", "D6_GATE_POOLING"]

D6_GATE_POOLING = ("e5", "d6")
"""Which map's GAP the D6 gate reads (see :class:`LanguageFusionBlock`)."""


def interleave_channels(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Stack two (B, C, ...) tensors alternately along channels: [a_0, b_0, a_1, b_1, ...]."""
    if a.shape != b.shape:
        raise ValueError(f"cannot interleave shapes {tuple(a.shape)} and {tuple(b.shape)}")
    return torch.stack([a, b], dim=2).flatten(1, 2)


class _LanguageGate(nn.Module):
    """[v1, v2] stacked alternately -> group conv (groups of 2) -> BN -> sigmoid (one weight per channel)."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        # groups=channels on 2*channels inputs: each pair (v1_c, v2_c) gives one weight w_c.
        self.conv = nn.Conv2d(2 * channels, channels, 1, groups=channels)
        self.bn = ChannelBatchNorm(channels)

    def forward(self, v1: torch.Tensor, v2: torch.Tensor) -> torch.Tensor:
        """``v1``: (B, C, 1, 1) pooled features; ``v2``: (B, C, 1, 1) from the descriptor."""
        return torch.sigmoid(self.bn(self.conv(interleave_channels(v1, v2))))


class LanguageFusionBlock(nn.Module):
    """LGNet's language fusion block, applied to E5 (last encoder) and D6 (bottom decoder).

    Paper: v1 = GAP of a feature map, v2 = an MLP of the target descriptor TD (CLIP text + image
    embedding) projected to the same size; v1 and v2 are stacked alternately and a group
    convolution with groups of two channels maps each pair (v1_c, v2_c) to one weight, followed by
    BatchNorm and a sigmoid; the weights multiply the map. E5 and D6 are weighted this way and the
    two weighted maps are added; the sum feeds D5::

        v1 = GAP(E5),  v2 = MLP(TD)
        L(E5, D6, TD) = gate_E(v1, v2) * E5 + gate_D(v1, v2) * D6        (Eq. 3, d6_gate_pooling="e5")

    ``d6_gate_pooling`` (Eq. 3 and the text differ; both readings are kept):

    - ``"e5"`` (default): Eq. 3 as printed, ``v1 = GAP(E5)`` feeds both gates, so the D6 weights
      are ``gate_D(GAP(E5), v2)``. The default follows the equation because it is the paper's one
      formal statement of the block;
    - ``"d6"``: each gate pools the map it weights, ``gate_D(GAP(D6), v2)`` (this package's first
      reading, before version 2 of the LGNet variants; the text's "GAP of a feature map").

    Choices where the paper is silent: the MLP is Linear(descriptor_dim, C) -> ReLU ->
    Linear(C, C), computed once and shared by both gates (it encodes one prior for the image);
    E5 and D6 each have their own group conv and BN. The group conv is 1x1 with bias.
    Parameters: MLP (D*C + C + C*C + C) + 2 gates x (group conv 2C + C, BN 2C).
    """

    def __init__(self, channels: int, descriptor_dim: int, d6_gate_pooling: str = "e5") -> None:
        super().__init__()
        if d6_gate_pooling not in D6_GATE_POOLING:
            raise ValueError(f"d6_gate_pooling must be one of {D6_GATE_POOLING}, got {d6_gate_pooling!r}")
        self.d6_gate_pooling = d6_gate_pooling
        self.pool = nn.AdaptiveAvgPool2d(1)
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
        v1_encoder = self.pool(encoder_map)
        v1_decoder = v1_encoder if self.d6_gate_pooling == "e5" else self.pool(decoder_map)
        return self.encoder_gate(v1_encoder, v2) * encoder_map + self.decoder_gate(v1_decoder, v2) * decoder_map
