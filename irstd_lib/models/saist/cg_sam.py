"""CG-SAM: CLIP-guided SAM, the segmenter of SAIST, with the three mask decoders Table 5 compares.

- SAM's image encoder (:mod:`.sam_backbone`: vit_b/l/h or tiny, an official checkpoint or random
  weights), LoRA on its attention, everything else in it frozen (the paper; ``train_encoder=True``
  trains every encoder weight too, for random weights, which hold no features to adapt); its
  early (first global block) and late (neck) features;
- the guidance's prompt tokens enter SAM's mask decoder as sparse prompt embeddings (at the
  decoder's width; no point or box prompt is needed, and none is used), with SAM's "no mask"
  dense embedding (:mod:`.mask_decoding`);
- the decoder, by ``decoder``:

  - ``"sam"``: SAM's own single-mask output (mask token 0);
  - ``"hq"``: SAM's mask plus an HQ-SAM high-quality token's mask on the early/late fused map
    (:mod:`.hq_decoder`);
  - ``"cg"``: the imaging-equation decoder (:mod:`.imaging_decoder`): I, A, d, beta and the
    recovered J, which is the output. Its switches (``imaging_tokens``, ``depth_input``,
    ``depth_readout``, ``depth_bins``, ``depth_range``) are described there: with
    ``imaging_tokens="sam"`` (the paper's 3.3.2) A comes from the prompt tokens' outputs and I
    from SAM's own output token, and SAM's mask-token-0 hypernetwork trains.

Logits come at 4x the embedding's resolution and are upsampled bilinearly to the input size.
A learnable output bias starts them at the target prior (``prior_probability``, 0.01; ``None``
for none), as LGNet's output block and RetinaNet's classifier start (the paper is silent):
targets cover about 0.2 % of the pixels, and from p = 0.5 the first hundreds of steps only push
the background down and leave the decoder stuck in an all-background state (measured on the tiny
SAM: 200 steps of no progress on four images).
SAM's IoU head is never used, so it is frozen, as are the hypernetworks of the mask tokens a
decoder does not read (all four for ``"cg"``; tokens 1-3 otherwise) and the prompt encoder's
point, box and mask embeddings (only its "no mask" embedding is used): frozen parts never reach
the optimizer. The mask tokens themselves still take part in the two-way attention and train.
"""

from __future__ import annotations

import math
import os

import torch
import torch.nn.functional as F
from torch import nn

from irstd_lib.models.saist.hq_decoder import HQHead
from irstd_lib.models.saist.imaging_decoder import ImagingDecoder
from irstd_lib.models.saist.mask_decoding import sam_mask, two_way_pass
from irstd_lib.models.saist.sam_backbone import add_lora, build_sam_parts, encode_image, load_sam_checkpoint

__all__ = ["CGSAM", "DECODERS"]

DECODERS = ("cg", "sam", "hq")


class CGSAM(nn.Module):
    def __init__(self, sam: str = "vit_b", checkpoint: str | os.PathLike | None = None, decoder: str = "cg", lora_rank: int = 4,
                 depth_width: int = 42, train_encoder: bool = False, prior_probability: float | None = 0.01,
                 imaging_tokens: str = "extra", depth_input: str = "image", depth_readout: str = "regression",
                 depth_bins: int = 16, depth_range: tuple[float, float] = (0.1, 10.0)) -> None:
        super().__init__()
        if decoder not in DECODERS:
            raise ValueError(f"decoder must be one of {DECODERS}, got {decoder!r}")
        parts = build_sam_parts(sam)
        if checkpoint is not None:
            load_sam_checkpoint(checkpoint, parts)  # before LoRA renames the qkv weights
        self.config = parts.config
        self.decoder_kind = decoder
        self.image_encoder = add_lora(parts.image_encoder, lora_rank)
        if train_encoder:
            # A departure for randomly initialised encoders (the smoke profile): random weights are
            # no pretrained features for LoRA to adapt, so every encoder weight trains too.
            self.image_encoder.requires_grad_(True)
        self.prompt_encoder = parts.prompt_encoder
        self.mask_decoder = parts.mask_decoder
        dim, vit_dim = self.config.prompt_dim, self.config.embed_dim
        self.head: nn.Module | None = None
        if decoder == "hq":
            self.head = HQHead(vit_dim, dim)
        elif decoder == "cg":
            self.head = ImagingDecoder(vit_dim, dim, depth_width=depth_width, tokens=imaging_tokens, depth_input=depth_input,
                                       depth_readout=depth_readout, depth_bins=depth_bins, depth_range=tuple(depth_range))
        # Of the prompt encoder only the "no mask" dense embedding is used (no point, box or mask prompt).
        self.prompt_encoder.requires_grad_(False)
        self.prompt_encoder.no_mask_embed.requires_grad_(True)
        self.mask_decoder.iou_prediction_head.requires_grad_(False)
        self.output_bias: nn.Parameter | None = None
        if prior_probability is not None:
            if not 0 < prior_probability < 1:
                raise ValueError(f"prior_probability must be in (0, 1), got {prior_probability}")
            self.output_bias = nn.Parameter(torch.tensor(math.log(prior_probability / (1 - prior_probability))))
        # The imaging decoder with tokens="sam" reads I through mask token 0's hypernetwork.
        reads_sam_token = decoder != "cg" or imaging_tokens == "sam"
        unused = range(1, 4) if reads_sam_token else range(4)
        for i in unused:
            self.mask_decoder.output_hypernetworks_mlps[i].requires_grad_(False)

    def forward(self, image: torch.Tensor, image01: torch.Tensor, prompts: torch.Tensor | None) -> dict[str, torch.Tensor]:
        """``image``: (B, 3, H, W) SAM-normalised; ``image01``: (B, 1, H, W) in [0, 1] (for the depth
        head); ``prompts``: (B, N, d) or None. Returns ``{"logits": (B, 1, H, W)}`` and, for the
        imaging decoder, its maps ``I``, ``A``, ``d`` and ``beta``."""
        features = encode_image(self.image_encoder, image, self.config.global_attn_indexes)
        late = features["late"]
        if prompts is None:
            prompts = late.new_zeros(late.shape[0], 0, late.shape[1])
        extra = self.head.extra_tokens if self.head is not None else None
        result = two_way_pass(self.mask_decoder, self.prompt_encoder, late, prompts, extra)
        size = image.shape[-2:]
        bias = self.output_bias if self.output_bias is not None else 0.0
        if self.decoder_kind == "cg" and self.head.tokens_from == "sam":
            n_prompts = prompts.shape[1]
            if n_prompts == 0:
                raise ValueError("CG-SAM with imaging_tokens='sam' reads A from the prompt tokens, and got none (no guidance)")
            background_token = result.tokens[:, -n_prompts:].mean(dim=1)  # the prompt tokens' outputs
            maps = self.head(result.mask_token(0), background_token, result.upscaled, features["early"], late, image01,
                             image_mlp=self.mask_decoder.output_hypernetworks_mlps[0])
            return {"logits": maps.pop("J") + bias, **maps}
        if self.decoder_kind == "cg":
            maps = self.head(result.extra_token(0), result.extra_token(1), result.upscaled, features["early"], late, image01)
            return {"logits": maps.pop("J") + bias, **maps}
        low = sam_mask(self.mask_decoder, result)
        if self.decoder_kind == "hq":
            low = low + self.head(result.extra_token(0), result.upscaled, features["early"], late)
        return {"logits": F.interpolate(low, size=size, mode="bilinear", align_corners=False) + bias}
