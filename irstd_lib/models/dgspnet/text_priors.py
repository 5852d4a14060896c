"""DGSPNet's textual priors: coarse prompts shared by every image, and a fine-grained prompt made
for each image from the image itself, so that inference needs no annotation and no description.

- :class:`CoarsePrompts`: the fixed prompts ("infrared image", "small target") encoded once by
  the frozen CLIP text encoder when the model is built, and kept as a buffer (not saved in
  checkpoints: they are rebuilt from the same CLIP).
- :class:`VisualToTextMapping`: the "visual-to-textual mapping within the image space". The
  deepest CNN features, average- and max-pooled, go through a two-layer MLP to ``n_words``
  pseudo-word embeddings in the text encoder's token space (width ``W``). They replace the
  placeholder words of the template ``"an infrared image of X X X X"`` (the placeholders'
  token embeddings are swapped for the pseudo-words, as Pic2Word and CoOp put learned vectors
  into a sentence), the frozen text transformer reads the sentence, and the end-of-text token's
  feature, through CLIP's text projection, is the image's fine-grained text embedding. The text
  encoder is frozen, but not detached: the mapping network learns through it.

The fine prompt's source (``DGSPNet(fine_source=...)``): ``"bottom"`` (above: the deepest features),
or ``"stages_1_3"``, the reading of a third-party summary of the full text (``paper_settings.md``,
unverified: "per-image continuous token embeddings produced from the first three visual stages by
a visual-to-text inversion (the paper's Eqs. 4-5)"): each of the first three encoder levels
average- and max-pooled, concatenated, through the same MLP to the pseudo-words. The number of
pseudo-words is ``n_pseudo_words`` (the "number of fine tokens" the summary's ablation varies).
:data:`SCENE_COARSE_PROMPTS` are the summary's coarse prompts ("fixed scene templates (an
infrared target in sky / ground / ocean style scenes)"), in this package's words (the summary
gives none), for ``coarse_texts``.

The token sequence is cut just after the end-of-text token: CLIP's causal mask makes the padded
positions irrelevant to that token, so the result is the same as on 77 tokens, at a fraction of
the cost.
"""

from __future__ import annotations

from typing import Sequence

import torch
from torch import nn

from irstd_lib.models.frozen_clip import FrozenClip

__all__ = ["COARSE_PROMPTS", "FINE_TEMPLATE", "SCENE_COARSE_PROMPTS", "CoarsePrompts", "VisualToTextMapping"]

COARSE_PROMPTS: tuple[str, ...] = ("infrared image", "small target")
SCENE_COARSE_PROMPTS: tuple[str, ...] = ("an infrared small target in the sky", "an infrared small target on the ground",
                                         "an infrared small target on the sea")
FINE_TEMPLATE = "an infrared image of"
_PLACEHOLDER = "X"


class CoarsePrompts(nn.Module):
    """(K, E) embeddings of fixed prompts, computed once with the frozen CLIP."""

    def __init__(self, clip: FrozenClip, prompts: Sequence[str] = COARSE_PROMPTS) -> None:
        super().__init__()
        if not prompts or any(not p.strip() for p in prompts):
            raise ValueError(f"coarse prompts must be non-empty strings, got {list(prompts)}")
        self.prompts = tuple(prompts)
        self.register_buffer("embeddings", clip.encode_texts(list(self.prompts)).float().clone(), persistent=False)

    def forward(self, batch: int) -> torch.Tensor:
        return self.embeddings.unsqueeze(0).expand(batch, -1, -1)


class VisualToTextMapping(nn.Module):
    """Pooled image features -> pseudo-words -> frozen text encoder -> (B, E) text embedding."""

    def __init__(self, clip: FrozenClip, feature_channels: int, n_words: int = 4, template: str = FINE_TEMPLATE,
                 hidden: int | None = None) -> None:
        super().__init__()
        if n_words < 1:
            raise ValueError(f"n_words must be at least 1, got {n_words}")
        self.n_words = n_words
        self.width = clip.text_width
        hidden = hidden or max(self.width, 2 * feature_channels)
        self.mlp = nn.Sequential(nn.Linear(2 * feature_channels, hidden), nn.ReLU(inplace=True),
                                 nn.Linear(hidden, n_words * self.width))
        with torch.device("cpu"):  # token ids are read here, even when the model is built on the meta device
            tokens = clip.tokenizer([f"{template} " + " ".join([_PLACEHOLDER] * n_words)])[0]
            placeholder_id = int(clip.tokenizer([_PLACEHOLDER])[0, 1])
        end = int(tokens.argmax())  # the end-of-text token has the largest id
        slots = (tokens[: end + 1] == placeholder_id).nonzero().flatten()
        if len(slots) != n_words:
            raise ValueError(f"template {template!r} must not contain the placeholder word {_PLACEHOLDER!r}")
        self.register_buffer("tokens", tokens[: end + 1].clone(), persistent=False)
        self.register_buffer("slots", slots.clone(), persistent=False)
        self.end = end

    def pseudo_words(self, features: torch.Tensor | Sequence[torch.Tensor]) -> torch.Tensor:
        """(B, C, h, w) features (or several levels, each pooled and concatenated, ``C`` their
        widths' sum) -> (B, n_words, W) token embeddings."""
        levels = [features] if isinstance(features, torch.Tensor) else list(features)
        pooled = torch.cat([f.mean(dim=(2, 3)) for f in levels] + [f.amax(dim=(2, 3)) for f in levels], dim=1)
        return self.mlp(pooled).view(-1, self.n_words, self.width)

    def forward(self, clip: FrozenClip, features: torch.Tensor | Sequence[torch.Tensor]) -> torch.Tensor:
        words = self.pseudo_words(features)
        batch = words.shape[0]
        with torch.no_grad():
            embedded = clip.token_embeddings(self.tokens.unsqueeze(0)).expand(batch, -1, -1)
        embedded = embedded.to(words.dtype).clone()
        embedded[:, self.slots] = words
        text = clip.run_text_transformer(embedded)[:, self.end]
        return clip.project_text(text).float()
