"""The prompts SAIST's ablations put where SR-CLIP stands (Table 4's rows), and the per-image text
they read.

Every guidance module takes ``(clip, image01 (B, 1, H, W) in [0, 1], condition)``: the model's
frozen CLIP (owned by the model, shared) and the scene prompt of each image
(:func:`scene_condition`): ``{"prompt": [str], "scene": [str], "objects": [[str] * K]}``; it
returns ``(tokens (B, N, d), aux_losses)``: the sparse prompt embeddings CG-SAM's mask decoder
reads, at its width ``d``.

- :class:`ClipPrompts` ("w/o SR-CLIP", Table 4's CLIP row): CLIP's embedding of the whole scene
  prompt and of the image, each through a learnable linear map to ``d``: two prompt tokens.
- :class:`CoOpPrompts` (Table 4's CoOp row): CoOp's prompt learner (Zhou et al., IJCV 2022)
  on the scene prompt: ``n_context`` learnable context vectors, initialised N(0, 0.02) and
  shared by all images (CoOp's unified context), replace the template "a photo of"; the start
  token's embedding (prefix) and those of the rest of the prompt and the end token (suffix) come
  from CLIP's frozen token embedding; the frozen text transformer runs on the sequence and the
  end-of-text token is pooled (the argmax of the token ids, as CLIP does) and projected. The
  context vectors are the prompt learner's only trainable parameters (:class:`CoOpContext`); the
  text and image features then go through the same two linear maps as :class:`ClipPrompts`.
"""

from __future__ import annotations

from typing import Any, Sequence

import torch
from torch import nn

from irstd_lib.models.frozen_clip import FrozenClip

__all__ = ["ClipPrompts", "CoOpContext", "CoOpPrompts", "TEMPLATE_PREFIX", "scene_condition"]

TEMPLATE_PREFIX = "a photo of "  # the hand-written part of SAIST's template, which CoOp learns instead


def scene_condition(scenes: Sequence[str], objects: Sequence[Sequence[str]]) -> dict[str, Any]:
    """The condition of a batch: each image's scene and objects, and its scene prompt
    "a photo of [scene] with [object], [object], and [object]"
    (:func:`irstd_lib.text.scene_vocabulary.format_scene_prompt`)."""
    from irstd_lib.text.scene_vocabulary import format_scene_prompt

    prompts = [format_scene_prompt(s, o) for s, o in zip(scenes, objects)]
    return {"prompt": prompts, "scene": list(scenes), "objects": [list(o) for o in objects]}


class _ToPrompt(nn.Module):
    """A text feature and an image feature (E) mapped to two prompt tokens of width ``d``."""

    def __init__(self, embed_dim: int, prompt_dim: int) -> None:
        super().__init__()
        self.text_to_prompt = nn.Linear(embed_dim, prompt_dim)
        self.image_to_prompt = nn.Linear(embed_dim, prompt_dim)

    def forward(self, text: torch.Tensor, image: torch.Tensor) -> torch.Tensor:
        return torch.stack([self.text_to_prompt(text), self.image_to_prompt(image)], dim=1)


class ClipPrompts(nn.Module):
    """Plain CLIP guidance ("w/o SR-CLIP"); see the module docstring."""

    def __init__(self, clip: FrozenClip, prompt_dim: int, train_text: bool = False) -> None:
        super().__init__()
        self.to_prompt = _ToPrompt(clip.embed_dim, prompt_dim)
        self.train_text = bool(train_text)  # a fine-tuned text encoder: encode with gradients

    def forward(self, clip: FrozenClip, image01: torch.Tensor, condition: dict) -> tuple[torch.Tensor, dict]:
        from irstd_lib.models.saist.sr_clip import encode_texts

        text = encode_texts(clip, condition["prompt"], self.train_text)
        image, _ = clip.encode_images(image01)
        return self.to_prompt(text.float(), image.float()), {}


class CoOpContext(nn.Module):
    """CoOp's learnable context: ``n_context`` vectors of the text transformer's width."""

    def __init__(self, n_context: int, width: int, std: float = 0.02) -> None:
        super().__init__()
        self.vectors = nn.Parameter(torch.empty(n_context, width).normal_(0.0, std))


class CoOpPrompts(nn.Module):
    """CoOp guidance; see the module docstring."""

    def __init__(self, clip: FrozenClip, prompt_dim: int, n_context: int = 16) -> None:
        super().__init__()
        self.context = CoOpContext(n_context, clip.text_width)
        self.to_prompt = _ToPrompt(clip.embed_dim, prompt_dim)

    def encode_prompts(self, clip: FrozenClip, prompts: Sequence[str]) -> torch.Tensor:
        """(B, E) text features of the prompts with the template replaced by the context."""
        n = self.context.vectors.shape[0]
        bodies = [p[len(TEMPLATE_PREFIX):] if p.startswith(TEMPLATE_PREFIX) else p for p in prompts]
        tokens = clip.tokenize([" ".join(["X"] * n) + " " + body for body in bodies])
        with torch.set_grad_enabled(clip.model.token_embedding.weight.requires_grad):  # a fine-tuned text tower
            embedded = clip.token_embeddings(tokens)
        prefix, suffix = embedded[:, :1], embedded[:, 1 + n:]
        context = self.context.vectors.to(embedded.dtype).expand(len(bodies), -1, -1)
        features = clip.run_text_transformer(torch.cat([prefix, context, suffix], dim=1))
        end_of_text = features[torch.arange(len(bodies)), tokens.argmax(dim=-1)]
        return clip.project_text(end_of_text)

    def forward(self, clip: FrozenClip, image01: torch.Tensor, condition: dict) -> tuple[torch.Tensor, dict]:
        image, _ = clip.encode_images(image01)
        return self.to_prompt(self.encode_prompts(clip, condition["prompt"]).float(), image.float()), {}
