"""The CLIP text encoder LGNet fine-tunes (the paper feeds its language prior to "the fine-tuned
CLIP text encoder").

:class:`ClipTextEncoder` holds the text tower of an open_clip model (token embedding, positional
embedding, transformer, final norm, projection) and maps token ids to L2-normalised embeddings,
trainable. The image tower is dropped: LGNet's image embedding comes from the frozen CLIP image
encoder and is computed once per image, before training (see
:mod:`irstd_lib.conditioning.target_descriptor`). ``logit_scale`` (and ``logit_bias``) belong to
CLIP's contrastive loss, which LGNet does not use: they are frozen so that no optimizer decays them.
"""

from __future__ import annotations

import os

import torch
import torch.nn.functional as F
from torch import nn

# Cheap to import: the factory imports open_clip (many seconds) only when a model is built.
from irstd_lib.text.clip_model import build_clip_model, clip_architecture, clip_tokenizer

__all__ = ["ClipTextEncoder"]


class ClipTextEncoder(nn.Module):
    """Trainable CLIP text tower: ``forward(tokens (B, L) int64) -> (B, embed_dim)`` unit-norm."""

    def __init__(self, name: str = "ViT-B-16", checkpoint: str | os.PathLike | None = None, seed: int = 0) -> None:
        super().__init__()
        # The package's one CLIP factory: the same seed gives the same random text tower as the
        # frozen CLIP wrappers, and a checkpoint is checked the same way.
        arch = clip_architecture(name)
        model, self.key = build_clip_model(arch, checkpoint, seed)
        del model.visual  # the frozen image tower lives elsewhere; encode_text never reads it
        for frozen in ("logit_scale", "logit_bias"):
            if isinstance(getattr(model, frozen, None), nn.Parameter):
                getattr(model, frozen).requires_grad_(False)
        self.clip = model
        self.arch = arch
        self.embed_dim = int(model.text_projection.shape[1])
        self.context_length = int(model.context_length)
        self.vocab_size = int(model.vocab_size)

    def tokenize(self, texts: list[str]) -> torch.Tensor:
        """(N, context_length) token ids of ``texts`` (open_clip's tokenizer of the architecture)."""
        return clip_tokenizer(self.arch)(list(texts))

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        return F.normalize(self.clip.encode_text(tokens).float(), dim=-1)
