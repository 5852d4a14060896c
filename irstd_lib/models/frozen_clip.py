"""The frozen CLIP that SAIST (SR-CLIP, the plain CLIP prompts, CoOp) and DGSPNet (its text priors) read (open_clip).

Built offline by :func:`irstd_lib.text.clip_model.build_clip_model`, the package's one CLIP factory
(an open_clip architecture such as ``ViT-B-16`` with weights from a local file, or the package's
tiny configuration; the same seed gives the same random weights as the other CLIP wrappers), every
weight frozen (the paper freezes the CLIP image encoder; the text encoder is frozen too, and
gradients still flow *through* it to the learnable inputs SR-CLIP and CoOp feed it).

What it offers:

- :meth:`FrozenClip.encode_images`: for grayscale [0, 1] images, the global image feature and the
  patch tokens, both in the joint embedding space (the tokens after ``ln_post``, through the same
  ``visual.proj`` as the global feature, as dense CLIP features are usually taken);
- :meth:`FrozenClip.encode_texts`: text embeddings of strings (memoised: the frozen encoder gives
  a string the same embedding every time, and descriptions repeat across epochs);
- :meth:`FrozenClip.run_text_transformer`: the text transformer on arbitrary token embeddings
  (positional embedding, causal mask, ``ln_final``), the way open_clip's ``encode_text`` runs it,
  for inputs that are not token ids.

Embeddings are not normalised here; callers normalise where cosine similarities are meant.
"""

from __future__ import annotations

import os

import torch
from torch import nn

# Cheap to import: the factory imports open_clip (many seconds) only when a model is built.
from irstd_lib.text.clip_model import build_clip_model, clip_image_settings, clip_tokenizer, preprocess_gray_batch

__all__ = ["FrozenClip"]


class FrozenClip(nn.Module):
    """A frozen open_clip model. ``name`` is an open_clip architecture or ``"tiny"``."""

    def __init__(self, name: str = "ViT-B-16", checkpoint: str | os.PathLike | None = None, seed: int = 0) -> None:
        super().__init__()
        model, self.key = build_clip_model(name, checkpoint, seed)
        model.requires_grad_(False)
        self.model = model
        self.tokenizer = clip_tokenizer(name)
        self.image_size, mean, std = clip_image_settings(model)
        # Buffers, not attributes: they follow the model to its device; not persistent, because
        # they come from the architecture, not from training.
        self.register_buffer("image_mean", mean, persistent=False)
        self.register_buffer("image_std", std, persistent=False)
        self.embed_dim = int(model.text_projection.shape[1])
        self.text_width = int(model.transformer.width)
        self.context_length = int(model.context_length)
        self._text_memo: dict[str, torch.Tensor] = {}

    def train(self, mode: bool = True) -> "FrozenClip":
        # Frozen: always in eval mode, whatever the enclosing model does.
        return super().train(False)

    # -- images ----------------------------------------------------------------------------------
    def encode_images(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(B, 1, H, W) grayscale in [0, 1] -> (global (B, E), patch tokens (B, N, E))."""
        visual = self.model.visual
        pixels = preprocess_gray_batch(images.float(), self.image_size, self.image_mean, self.image_std)
        with torch.no_grad():
            x = visual.transformer(visual._embeds(pixels))
            pooled, tokens = visual._pool(x)
            if visual.proj is not None:
                pooled, tokens = pooled @ visual.proj, tokens @ visual.proj
        return pooled, tokens

    # -- text ------------------------------------------------------------------------------------
    def tokenize(self, texts: list[str]) -> torch.Tensor:
        return self.tokenizer(list(texts)).to(self.model.token_embedding.weight.device)

    def encode_texts(self, texts: list[str]) -> torch.Tensor:
        """(N, E) text embeddings of ``texts`` (frozen, memoised)."""
        missing = sorted({t for t in texts if t not in self._text_memo})
        if missing:
            with torch.no_grad():
                encoded = self.model.encode_text(self.tokenize(missing))
            self._text_memo.update({t: row for t, row in zip(missing, encoded)})
        return torch.stack([self._text_memo[t] for t in texts]).to(self.model.token_embedding.weight.device)

    def token_embeddings(self, tokens: torch.Tensor) -> torch.Tensor:
        return self.model.token_embedding(tokens)

    def run_text_transformer(self, embeddings: torch.Tensor) -> torch.Tensor:
        """(B, L, W) token embeddings -> (B, L, W) features after ``ln_final`` (positional
        embedding of the first L positions, CLIP's causal mask), as ``encode_text`` runs it."""
        length = embeddings.shape[1]
        if length > self.context_length:
            raise ValueError(f"{length} tokens exceed CLIP's context length {self.context_length}")
        x = embeddings + self.model.positional_embedding[:length].to(embeddings.dtype)
        mask = self.model.attn_mask[:length, :length] if self.model.attn_mask is not None else None
        x = self.model.transformer(x, attn_mask=mask)
        return self.model.ln_final(x)

    def project_text(self, features: torch.Tensor) -> torch.Tensor:
        """Text features (..., W) through CLIP's text projection to (..., E)."""
        projection = self.model.text_projection
        return projection(features) if isinstance(projection, nn.Linear) else features @ projection
