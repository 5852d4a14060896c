"""SAM's mask decoder run on a batch of images, each with its own prompts.

``MaskDecoder.predict_masks`` repeats one image's embedding once per prompt set (SAM segments one
image with several prompts). SAIST has one image and one prompt set per batch element, so
:func:`two_way_pass` calls the same modules batch-wise instead: output tokens (IoU token, mask
tokens, any extra tokens a head adds) and the image's sparse prompt tokens go through SAM's
two-way transformer with the image embedding plus the dense prompt (SAM's "no mask" embedding),
and the result is upscaled by SAM's ``output_upscaling``. With no sparse prompt at all (SAIST's
SAM rows without text) the output tokens attend to the image alone. The position encoding is
computed for the embedding's own size, so any input size works.
"""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["TwoWayResult", "sam_mask", "two_way_pass"]


class TwoWayResult:
    """Token outputs ``tokens`` (B, T, C) in the order [IoU, mask tokens, extra tokens, prompts],
    the upscaled embedding ``upscaled`` (B, C/8, 4h, 4w) and the number of mask tokens."""

    def __init__(self, tokens: torch.Tensor, upscaled: torch.Tensor, n_mask_tokens: int, n_extra: int) -> None:
        self.tokens, self.upscaled, self.n_mask_tokens, self.n_extra = tokens, upscaled, n_mask_tokens, n_extra

    def mask_token(self, i: int) -> torch.Tensor:
        return self.tokens[:, 1 + i]

    def extra_token(self, i: int) -> torch.Tensor:
        return self.tokens[:, 1 + self.n_mask_tokens + i]


def two_way_pass(decoder: nn.Module, prompt_encoder: nn.Module, embeddings: torch.Tensor, sparse: torch.Tensor,
                 extra_tokens: torch.Tensor | None = None) -> TwoWayResult:
    """SAM's two-way transformer and upscaling for (B, C, h, w) embeddings and (B, N, C) prompts."""
    b, c, h, w = embeddings.shape
    output_tokens = [decoder.iou_token.weight, decoder.mask_tokens.weight]
    if extra_tokens is not None:
        output_tokens.append(extra_tokens)
    tokens = torch.cat(output_tokens, dim=0).unsqueeze(0).expand(b, -1, -1)
    tokens = torch.cat([tokens, sparse.to(tokens.dtype)], dim=1)
    dense = prompt_encoder.no_mask_embed.weight.reshape(1, -1, 1, 1)
    position = prompt_encoder.pe_layer((h, w)).unsqueeze(0).expand(b, -1, -1, -1)
    hs, src = decoder.transformer(embeddings + dense, position, tokens)
    upscaled = decoder.output_upscaling(src.transpose(1, 2).reshape(b, c, h, w))
    return TwoWayResult(hs, upscaled, decoder.num_mask_tokens, 0 if extra_tokens is None else extra_tokens.shape[0])


def sam_mask(decoder: nn.Module, result: TwoWayResult) -> torch.Tensor:
    """SAM's single-mask output (mask token 0 through its hypernetwork): (B, 1, 4h, 4w) logits."""
    weights = decoder.output_hypernetworks_mlps[0](result.mask_token(0))  # (B, C/8)
    return torch.einsum("bc,bchw->bhw", weights, result.upscaled)[:, None]
