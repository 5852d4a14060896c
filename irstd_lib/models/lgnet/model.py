"""LGNet: language-prior infrared small target detection (Chib & Singh, "Leveraging Language Prior
for Infrared Small Target Detection", arXiv 2507.13113; dataset LangIR). No public code exists:
this module follows the paper's text; choices where it is silent are stated below and in each
block's file.

Architecture (the paper's numbering; U2-Net's shape)::

    image -> E1 (RSU7) -> pool -> E2 (RSU6) -> pool -> E3 (RSU5) -> pool -> E4 (RSU4)
          -> pool -> E5 (RSU4F) -> pool -> D6 (RSU4F, the bottom stage)
    D5 = RSU4F( LanguageFusion(E5, up(D6), TD) )
    D4 = RSU4 ( Fusion(E4, up(D5)) )      D3 = RSU5( Fusion(E3, up(D4)) )
    D2 = RSU6 ( Fusion(E2, up(D3)) )      D1 = RSU7( Fusion(E1, up(D2)) )
    logits, [S1..S6] = OutputBlock(D1..D6)

- Residual U-blocks (``rsu.py``) whose height shrinks with depth, a dilated RSU4F at the bottom,
  max-pool (ceil mode) between stages and bilinear upsampling to the skip's exact size, as in
  U2-Net, so any input size works (multiples of 32 and odd sizes alike).
- Fusion block at each encoder-decoder skip, language fusion block (target descriptor TD =
  CLIP text embedding + CLIP image embedding) at E5/D6, whose sum feeds D5; output block with
  shallow (D1-D3) and deep (D4-D6) side outputs: ``fusion_block.py``, ``language_fusion.py``,
  ``output_block.py``.
- Training (not in this module): BCE on the fused map and on every side output, Adan, lr 1e-3,
  wd 1e-4, 10 warm-up epochs, batch 8, 600 epochs, 512x512 inputs.

Channel plan (the paper gives no widths; chosen to match its size figures). Every stage outputs
``width`` channels (as U2-Net's light U2NETP does, whose stages all output 64); the RSU's inner
("mid") channels are ``3/4 width`` in the pooled blocks RSU7..RSU4, ``width`` in the flat RSU4F
blocks of the three 1/16-1/32 stages (E5, D6, D5), and ``5/8 width`` in D1, the full-resolution
decoder (U2-Net, too, gives its last decoder the narrowest inside). With fusion blocks every skip
is a sum, so each decoder receives ``width`` channels (2 x ``width`` with concatenation).

Size (full model, ``descriptor_dim=512``, one 512x512 image; FLOPs measured with
``torch.utils.flop_counter.FlopCounterMode``, which counts one multiply-add as 2 FLOPs):

=============  ==========  ==================  =================
width          parameters  FlopCounter GFLOPs  G multiply-adds
=============  ==========  ==================  =================
64 (default)   3,989,041   168.05              84.03
16 (smoke)       259,513    10.57               5.29
=============  ==========  ==================  =================

Paper: 4.04 M parameters, "85.68 GFLOPs". The 85.68 G is most plausibly a multiply-add (MAC)
count: the field's tools (``thop.profile``, used by BasicIRSTD's parameter/FLOP script) return
MACs and IRSTD papers print them as "FLOPs". A check: IRSTD comparison tables give UIU-Net
54.5 G at 256x256, while the U2-Net it contains has 74.7 G FLOPs = 37.4 G MACs there (measured
with this counter), so only the MAC reading is consistent. The plan above was tuned for
the MAC reading: ``width=64`` is within 1.3 % of the parameters and 1.9 % of the compute.
At ``width=16`` a forward+backward pass of a 4x1x128x128 batch takes about 0.4 s on a 2-core CPU.

Ablation switches:
- ``fusion_blocks=False``: the four skips E4..E1 concatenate [up(decoder), encoder] as U2-Net does
  (decoders D4..D1 then take 2 x width channels).
- ``language_fusion=False``: E5 and up(D6) are concatenated as in U2-Net (the baseline) and D5
  takes 2 x width channels; the model then takes no condition (``conditioning == "none"``).
Both off gives a U2-Net-style baseline with LGNet's channel plan and output block.

Readings of the paper kept behind switches (defaults follow the paper's equations and sizes;
the LGNet variants are at version 2 since these defaults changed):
- ``scaling_weights``: ``"single_map"`` (the paper's [1, H, W] scaling map) or
  ``"per_deep_output"`` (three maps), see ``output_block.py``;
- ``scaled_outputs``: ``"deep"`` (default: the map scales S4-S6) or ``"all"`` (all six side
  outputs; "we multiply each feature maps by the scaling weights" read as every map), see
  ``output_block.py``;
- ``d6_gate_pooling``: ``"e5"`` (Eq. 3: GAP(E5) feeds the D6 gate too) or ``"d6"``, see
  ``language_fusion.py``;
- ``prior_probability``: the output prior (0.01, kept by both profiles; ``None``: PyTorch's
  initialisation), see ``output_block.py``.

The CLIP text encoder: frozen by default, the descriptor then arrives precomputed (a (B, D)
tensor). With ``text_encoder`` (a :class:`~irstd_lib.models.lgnet.text_encoder.ClipTextEncoder`,
passed by the conditioning when ``clip_text="finetune"``) the model owns the text tower and
fine-tunes it end to end, as the paper's "fine-tuned CLIP text encoder": the condition is then
``{"image": (B, D) image embeddings, "tokens": (B, L) token ids, "use_text": (B,) bool}`` and
``TD = image + text_encoder(tokens)`` on the rows that use text. The text tower is its own
parameter group, ``"clip_text"``, whose learning rate is ``text_encoder_lr_scale`` times the
run's (the paper gives none; 0.01 by default, 1e-5 at the paper's lr 1e-3, the usual scale for
fine-tuning a pretrained CLIP next to a network trained from scratch).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

import torch
from torch import nn

from irstd_lib.models.base import NO_CONDITION, TARGET_DESCRIPTOR, IRSTDModel, ParamGroup
from irstd_lib.models.layers import upsample_like
from irstd_lib.models.lgnet.fusion_block import ConcatMerge, FusionBlock
from irstd_lib.models.lgnet.language_fusion import LanguageFusionBlock
from irstd_lib.models.lgnet.output_block import OutputBlock
from irstd_lib.models.lgnet.rsu import build_rsu

__all__ = ["LGNet", "StageSpec", "lgnet_channel_plan", "build_lgnet", "LGNET_PAPER_WIDTH", "LGNET_SMOKE_WIDTH"]

LGNET_PAPER_WIDTH = 64
"""Default width: about the paper's 4.04 M parameters."""

LGNET_SMOKE_WIDTH = 16
"""CPU smoke width: under 0.3 M parameters."""


@dataclass(frozen=True)
class StageSpec:
    """One RSU stage: block height, whether it is the flat (dilated) RSU4F, mid and out channels."""

    name: str
    height: int
    flat: bool
    mid_channels: int
    out_channels: int


def _scaled(width: int, numerator: int, denominator: int) -> int:
    return max(1, int(round(width * numerator / denominator)))


def lgnet_channel_plan(width: int = LGNET_PAPER_WIDTH) -> dict[str, StageSpec]:
    """Stage specs E1..E5, D6, D5..D1 for a base ``width`` (see the module docstring)."""
    if width < 1:
        raise ValueError(f"width must be >= 1, got {width}")
    pooled_mid = _scaled(width, 3, 4)
    flat_mid = width
    d1_mid = _scaled(width, 5, 8)
    plan = [
        StageSpec("E1", 7, False, pooled_mid, width),
        StageSpec("E2", 6, False, pooled_mid, width),
        StageSpec("E3", 5, False, pooled_mid, width),
        StageSpec("E4", 4, False, pooled_mid, width),
        StageSpec("E5", 4, True, flat_mid, width),
        StageSpec("D6", 4, True, flat_mid, width),
        StageSpec("D5", 4, True, flat_mid, width),
        StageSpec("D4", 4, False, pooled_mid, width),
        StageSpec("D3", 5, False, pooled_mid, width),
        StageSpec("D2", 6, False, pooled_mid, width),
        StageSpec("D1", 7, False, d1_mid, width),
    ]
    return {spec.name: spec for spec in plan}


class LGNet(IRSTDModel):
    """LGNet (see the module docstring).

    ``forward(image (B, in_channels, H, W), condition)`` with ``condition`` the target
    descriptor (B, descriptor_dim) (ignored, and may be None, without the language fusion block)
    returns ``{"logits": (B,1,H,W), "aux_logits": [S1..S6 each (B,1,H,W)], "aux_losses": {}}``.
    Input: the [0, 1] grayscale image as it is (the paper gives no normalisation), any size.
    """

    def __init__(
        self,
        width: int = LGNET_PAPER_WIDTH,
        in_channels: int = 1,
        descriptor_dim: int = 512,
        fusion_blocks: bool = True,
        language_fusion: bool = True,
        prior_probability: float | None = 0.01,
        scaling_weights: str = "single_map",
        d6_gate_pooling: str = "e5",
        text_encoder: nn.Module | None = None,
        text_encoder_lr_scale: float = 0.01,
        scaled_outputs: str = "deep",
    ) -> None:
        super().__init__()
        self.width = width
        self.in_channels = in_channels
        self.descriptor_dim = descriptor_dim
        self.fusion_blocks = fusion_blocks
        self.language_fusion = language_fusion
        self.conditioning = TARGET_DESCRIPTOR if language_fusion else NO_CONDITION
        self.plan = lgnet_channel_plan(width)
        p = self.plan

        def rsu(spec: StageSpec, cin: int) -> nn.Module:
            return build_rsu(spec.height, cin, spec.mid_channels, spec.out_channels, flat=spec.flat)

        self.pool = nn.MaxPool2d(2, stride=2, ceil_mode=True)
        encoders, cin = [], in_channels
        for name in ("E1", "E2", "E3", "E4", "E5"):
            encoders.append(rsu(p[name], cin))
            cin = p[name].out_channels
        self.encoders = nn.ModuleList(encoders)
        self.bottom = rsu(p["D6"], cin)  # D6

        # The merge in front of D5 (E5 with D6), then those in front of D4..D1 (E4..E1).
        c5 = p["E5"].out_channels
        if p["D6"].out_channels != c5:
            raise ValueError("E5 and D6 must have equal channels to be fused")
        self.language_merge = (LanguageFusionBlock(c5, descriptor_dim, d6_gate_pooling) if language_fusion
                               else ConcatMerge(c5))
        merges, decoders = [], [rsu(p["D5"], self.language_merge.out_channels)]
        previous = p["D5"]
        for enc_name, dec_name in (("E4", "D4"), ("E3", "D3"), ("E2", "D2"), ("E1", "D1")):
            channels = p[enc_name].out_channels
            if previous.out_channels != channels:
                raise ValueError(f"{previous.name} and {enc_name} must have equal channels to be fused")
            merge = FusionBlock(channels) if fusion_blocks else ConcatMerge(channels)
            merges.append(merge)
            decoders.append(rsu(p[dec_name], merge.out_channels))
            previous = p[dec_name]
        self.skip_merges = nn.ModuleList(merges)  # in front of D4, D3, D2, D1
        self.decoders = nn.ModuleList(decoders)  # D5, D4, D3, D2, D1
        self.output = OutputBlock([p[n].out_channels for n in ("D1", "D2", "D3", "D4", "D5", "D6")], prior_probability,
                                  scaling_weights, scaled_outputs)
        if text_encoder is not None:
            if not language_fusion:
                raise ValueError("text_encoder needs the language fusion block (language_fusion=True)")
            if int(text_encoder.embed_dim) != descriptor_dim:
                raise ValueError(f"text_encoder embeds to {text_encoder.embed_dim}, but descriptor_dim is {descriptor_dim}")
        self.text_encoder = text_encoder
        self.text_encoder_lr_scale = float(text_encoder_lr_scale)

    def parameter_groups(self) -> list[ParamGroup]:
        """One group, ``"model"``; with a fine-tuned text encoder also ``"clip_text"`` at its own lr."""
        if self.text_encoder is None:
            return super().parameter_groups()
        text = {id(p) for p in self.text_encoder.parameters()}
        return [
            ParamGroup("model", [p for p in self.parameters() if p.requires_grad and id(p) not in text]),
            ParamGroup("clip_text", [p for p in self.text_encoder.parameters() if p.requires_grad],
                       lr_scale=self.text_encoder_lr_scale),
        ]

    def target_descriptor(self, condition: torch.Tensor | Mapping[str, Any]) -> torch.Tensor:
        """The (B, D) target descriptor: the condition itself (frozen CLIP, precomputed), or the
        image embedding plus the fine-tuned text encoder's embedding of the tokens on the rows
        that use text."""
        if not isinstance(condition, Mapping):
            return condition
        if self.text_encoder is None:
            raise ValueError("a token condition needs the model built with text_encoder (clip_text='finetune')")
        descriptor = condition["image"].float()
        use_text = condition["use_text"].to(torch.bool)
        if bool(use_text.any()):
            descriptor = descriptor.clone()
            descriptor[use_text] = descriptor[use_text] + self.text_encoder(condition["tokens"][use_text])
        return descriptor

    def example_condition(self, batch: int, generator: torch.Generator | None = None) -> torch.Tensor | None:
        """A random unit-norm descriptor per image (the CLIP embeddings are L2-normalised)."""
        if not self.language_fusion:
            return None
        image = torch.nn.functional.normalize(torch.randn(batch, self.descriptor_dim, generator=generator), dim=-1)
        if self.text_encoder is None:
            return image
        tokens = torch.randint(1, self.text_encoder.vocab_size, (batch, self.text_encoder.context_length), generator=generator)
        return {"image": image, "tokens": tokens, "use_text": torch.ones(batch, dtype=torch.bool)}

    def forward(self, image: torch.Tensor, condition: torch.Tensor | None = None) -> dict:
        descriptor = condition
        if image.ndim != 4 or image.shape[1] != self.in_channels:
            raise ValueError(f"image must be (B, {self.in_channels}, H, W), got {tuple(image.shape)}")
        if self.language_fusion and descriptor is None:
            raise ValueError(
                "LGNet with language_fusion=True needs a target descriptor (B, "
                f"{self.descriptor_dim}) (CLIP image embedding, plus the text embedding when text "
                "is used); build it with irstd_lib.text.target_descriptor.TargetDescriptorBank"
            )
        descriptor = self.target_descriptor(descriptor) if self.language_fusion else None

        skips = []
        h = image
        for level, encoder in enumerate(self.encoders):
            if level > 0:
                h = self.pool(h)
            h = encoder(h)
            skips.append(h)  # E1..E5
        d6 = self.bottom(self.pool(h))

        e5 = skips[-1]
        h = self.decoders[0](self.language_merge(e5, upsample_like(d6, e5), descriptor))  # D5
        decoder_maps = [d6, h]
        for merge, decoder, skip in zip(self.skip_merges, self.decoders[1:], reversed(skips[:-1])):
            h = decoder(merge(skip, upsample_like(h, skip)))
            decoder_maps.append(h)  # D4, D3, D2, D1
        d6, d5, d4, d3, d2, d1 = decoder_maps
        logits, sides = self.output([d1, d2, d3, d4, d5, d6], tuple(image.shape[-2:]))
        return {"logits": logits, "aux_logits": sides, "aux_losses": {}}


def build_lgnet(
    width: int = LGNET_PAPER_WIDTH,
    fusion_blocks: bool = True,
    language_fusion: bool = True,
    descriptor_dim: int = 512,
    in_channels: int = 1,
    prior_probability: float | None = 0.01,
    scaling_weights: str = "single_map",
    d6_gate_pooling: str = "e5",
    text_encoder: nn.Module | None = None,
    text_encoder_lr_scale: float = 0.01,
    scaled_outputs: str = "deep",
) -> LGNet:
    """The registry's builder (``build_model("lgnet", width=..., fusion_blocks=..., language_fusion=...)``)."""
    return LGNet(
        width=width,
        in_channels=in_channels,
        descriptor_dim=descriptor_dim,
        fusion_blocks=fusion_blocks,
        language_fusion=language_fusion,
        prior_probability=prior_probability,
        scaling_weights=scaling_weights,
        d6_gate_pooling=d6_gate_pooling,
        text_encoder=text_encoder,
        text_encoder_lr_scale=text_encoder_lr_scale,
        scaled_outputs=scaled_outputs,
    )
