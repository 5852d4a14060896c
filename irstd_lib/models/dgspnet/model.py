"""DGSPNet (Wang et al., arXiv 2511.19306): dual-granularity semantic prompts guiding a CNN.

No code is public and only the abstract is known; this is the simplest design that does all of
what the abstract says, each choice written down and swappable (see ``text_priors.py`` and
``text_guided_attention.py``)::

    image (1 ch, [0, 1])
    e1 = ConvBlock(1 -> w1)              full size        low level  --TGCA--> skip1
    e2 = ConvBlock(maxpool e1, w2)       1/2              low level  --TGCA--> skip2
    e3 = ConvBlock(maxpool e2, w3)       1/4              high level --TGSA--> skip3
    e4 = ConvBlock(maxpool e3, w4)       1/8 (bottom)     high level --TGSA--> b
    text (B, K, E) = [coarse prompts ("infrared image", "small target")]  (cached once)
                   + [fine prompt: visual-to-text mapping of pooled e4 through the frozen
                      CLIP text encoder]                                  (per image)
    d3 = Up(b, skip3), d2 = Up(d3, skip2), d1 = Up(d2, skip1); logits = conv1x1(d1)

Widths ``w = base * (1, 2, 4, 8)``, ``base = 16``. The text is computed from the image alone,
so the model's conditioning kind is ``none``: inference needs no annotation or description.

Choices (the abstract is silent on each):

- Backbone: a four-level residual U-Net (``unet.py``); TGCA on the two shallow skips (the
  "low-level features"), TGSA on the 1/4 skip and the bottom (the "high-level features").
- The fine-grained prompt reads the bottom features (pooled), the most semantic the CNN has.
- CLIP: frozen (the text encoder as well; gradients pass through it to the mapping network).
  ``clip="tiny"`` builds the package's tiny CLIP with random weights (smoke, tests); an open_clip
  architecture (``ViT-B-16``) with ``clip_checkpoint`` reads real weights from a local file
  (without one its weights are random; the comparison's ``paper`` profile refuses to run so).
  Checkpoints hold the trainable parts and buffers only, not CLIP.
- Output: logits with a bias prior p = ``prior_probability`` (0.01 by default: starts training
  from "almost no target", as LGNet's smoke models do; ``None`` for a zero bias).

The full text's reading (a third-party summary, unverified; ``FIDELITY.md`` beside this file
compares it with the code line by line): ``fine_source="stages_1_3"`` (fine tokens from "the
first three visual stages"), ``tgca_inputs="text"`` (TGCA "driven by the text embedding"),
``tgsa_similarity="dot"`` ("token-feature dot products"), ``coarse_texts=SCENE_COARSE_PROMPTS``
("fixed scene templates"). Defaults keep the design above (the smoke runs);
:data:`FULL_TEXT_READING` holds the four together (the variant ``dgspnet_full_text_reading``).

Switches (the ablations): ``coarse_prompts`` / ``fine_prompts`` (which granularities the text
holds; at least one when an attention is on), ``tgca``, ``tgsa``. Swappable without code:
``coarse_texts`` (the coarse prompts), ``fine_template`` and ``n_pseudo_words`` (the sentence the
pseudo-words complete), ``base_channels``, ``clip``; in code, each attention and the mapping
are one class in their own file.
"""

from __future__ import annotations

import math
import os
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from irstd_lib.models.base import InputSpec, IRSTDModel, ParamGroup
from irstd_lib.models.dgspnet.text_guided_attention import TextGuidedChannelAttention, TextGuidedSpatialAttention
from irstd_lib.models.dgspnet.text_priors import (COARSE_PROMPTS, FINE_TEMPLATE, SCENE_COARSE_PROMPTS, CoarsePrompts,
                                                   VisualToTextMapping)
from irstd_lib.models.dgspnet.unet import ConvBlock, UpBlock
from irstd_lib.models.frozen_clip import FrozenClip

__all__ = ["DGSPNet", "FINE_SOURCES", "FULL_TEXT_READING", "build_dgspnet"]

LEVELS = 4
LOW_LEVELS = (0, 1)   # TGCA
HIGH_LEVELS = (2, 3)  # TGSA
#: where the fine-grained prompt reads the image: ``fine_source`` -> encoder levels
FINE_SOURCES = {"bottom": (LEVELS - 1,), "stages_1_3": (0, 1, 2)}


#: the four switches of the full text's reading together (see the module docstring)
FULL_TEXT_READING = {"fine_source": "stages_1_3", "tgca_inputs": "text", "tgsa_similarity": "dot",
                     "coarse_texts": SCENE_COARSE_PROMPTS}


class DGSPNet(IRSTDModel):
    """DGSPNet (see the module docstring). Returns logits at the input size."""

    input_spec = InputSpec(channels=1, size_multiple=2 ** (LEVELS - 1))

    def __init__(self, base_channels: int = 16, coarse_prompts: bool = True, fine_prompts: bool = True,
                 tgca: bool = True, tgsa: bool = True, clip: str = "ViT-B-16",
                 clip_checkpoint: str | os.PathLike | None = None, n_pseudo_words: int = 4,
                 prior_probability: float | None = 0.01, clip_seed: int = 0,
                 coarse_texts: tuple[str, ...] = COARSE_PROMPTS, fine_template: str = FINE_TEMPLATE,
                 fine_source: str = "bottom", tgca_inputs: str = "text_and_image", tgsa_similarity: str = "cosine",
                 pretrain_reconstruction_weight: float = 1.0) -> None:
        super().__init__()
        if fine_source not in FINE_SOURCES:
            raise ValueError(f"fine_source must be one of {tuple(FINE_SOURCES)}, got {fine_source!r}")
        if base_channels < 1:
            raise ValueError(f"base_channels must be positive, got {base_channels}")
        if (tgca or tgsa) and not (coarse_prompts or fine_prompts):
            raise ValueError("DGSPNet's text-guided attentions need at least one prompt granularity "
                             "(coarse_prompts or fine_prompts)")
        widths = [base_channels * 2 ** k for k in range(LEVELS)]
        self.widths = tuple(widths)
        self.pretrain_reconstruction_weight = float(pretrain_reconstruction_weight)
        self.use_coarse, self.use_fine = bool(coarse_prompts), bool(fine_prompts)
        self.use_tgca, self.use_tgsa = bool(tgca), bool(tgsa)
        self.fine_levels = FINE_SOURCES[fine_source]
        uses_text = self.use_tgca or self.use_tgsa

        self.encoder = nn.ModuleList(ConvBlock(1 if k == 0 else widths[k - 1], w) for k, w in enumerate(widths))
        self.clip: FrozenClip | None = None
        self.coarse: CoarsePrompts | None = None
        self.fine: VisualToTextMapping | None = None
        self.tgca = self.tgsa = None
        if uses_text:
            self.clip = FrozenClip(clip, clip_checkpoint, seed=clip_seed)
            text_dim = self.clip.embed_dim
            n_prompts = (len(coarse_texts) if self.use_coarse else 0) + (1 if self.use_fine else 0)
            if self.use_coarse:
                self.coarse = CoarsePrompts(self.clip, tuple(coarse_texts))
            if self.use_fine:
                self.fine = VisualToTextMapping(self.clip, sum(widths[k] for k in self.fine_levels), n_words=n_pseudo_words,
                                                template=fine_template)
            if self.use_tgca:
                self.tgca = nn.ModuleDict({str(k): TextGuidedChannelAttention(widths[k], text_dim, inputs=tgca_inputs)
                                           for k in LOW_LEVELS})
            if self.use_tgsa:
                self.tgsa = nn.ModuleDict({str(k): TextGuidedSpatialAttention(widths[k], text_dim, n_prompts,
                                                                              similarity=tgsa_similarity)
                                           for k in HIGH_LEVELS})
        self.decoder = nn.ModuleList(UpBlock(widths[k + 1], widths[k], widths[k]) for k in reversed(range(LEVELS - 1)))
        self.head = nn.Conv2d(widths[0], 1, 1)
        if prior_probability is not None:
            nn.init.constant_(self.head.bias, -math.log((1 - prior_probability) / prior_probability))

    # -- the text --------------------------------------------------------------------------------
    def text_embeddings(self, features: list[torch.Tensor]) -> torch.Tensor:
        """(B, K, E): the coarse prompts' embeddings, then the image's fine-grained one (read from
        the encoder levels ``fine_source`` names: the bottom, or the first three)."""
        bottom = features[-1]
        parts = []
        if self.coarse is not None:
            parts.append(self.coarse(bottom.shape[0]).to(bottom.dtype))
        if self.fine is not None:
            parts.append(self.fine(self.clip, self._fine_source(features)).unsqueeze(1).to(bottom.dtype))
        return torch.cat(parts, dim=1)

    def _fine_source(self, features: list[torch.Tensor]) -> torch.Tensor | list[torch.Tensor]:
        """The encoder levels the fine-grained prompt reads (``fine_source``)."""
        return features[-1] if self.fine_levels == (LEVELS - 1,) else [features[k] for k in self.fine_levels]

    # -- the pre-training stage (TrainConfig.pretrain_epochs) ------------------------------------------
    def pretraining_losses(self, image: torch.Tensor, condition: Any = None) -> dict[str, torch.Tensor]:
        """The pre-training stage of the full text's third-party reading (``paper_settings.md``,
        unverified): "a pre-training stage with an image-text contrastive loss plus a
        reconstruction MSE (Eq. 10)". The reading names neither the pairs nor the target of the
        reconstruction; the simplest design that does what it says, as Pic2Word trains its
        visual-to-text inversion: each image's fine-grained text embedding (its pseudo-words
        through the frozen text encoder) is paired with the frozen CLIP image encoder's global
        embedding of the same image, so that the inversion learns to say what CLIP sees.

        - ``contrastive``: symmetric InfoNCE over the batch between the L2-normalised text and
          image embeddings, at the frozen CLIP's own temperature (``logit_scale``), the other
          images of the batch the negatives;
        - ``reconstruction``: the MSE between the normalised text embedding and the normalised
          image embedding (the image's embedding reconstructed from the text), times
          ``pretrain_reconstruction_weight`` (1 by default: the reading gives no weight).

        What trains: the encoder levels the fine prompt reads and the mapping; the decoder, the
        head, TGCA and TGSA get no gradient. Needs ``fine_prompts=True``; the masks are not read."""
        if self.fine is None:
            raise ValueError("DGSPNet's pre-training stage aligns the fine-grained prompt with the image: "
                             "it needs fine_prompts=True")
        features = self.encode(image)
        text = F.normalize(self.fine(self.clip, self._fine_source(features)), dim=-1)
        visual = F.normalize(self.clip.encode_images(image)[0].float(), dim=-1)
        logits = self.clip.model.logit_scale.exp().float() * text @ visual.t()
        pairs = torch.arange(image.shape[0], device=image.device)
        contrastive = (F.cross_entropy(logits, pairs) + F.cross_entropy(logits.t(), pairs)) / 2
        reconstruction = F.mse_loss(text, visual)
        return {"contrastive": contrastive, "reconstruction": self.pretrain_reconstruction_weight * reconstruction}

    def encode(self, image: torch.Tensor) -> list[torch.Tensor]:
        """The four encoder levels' features (full size down to 1/8), before any text guidance."""
        features, x = [], image
        for k, block in enumerate(self.encoder):
            x = block(x if k == 0 else F.max_pool2d(x, 2))
            features.append(x)
        return features

    def forward(self, image: torch.Tensor, condition: Any = None) -> dict[str, Any]:
        if image.ndim != 4 or image.shape[1] != 1:
            raise ValueError(f"image must be (B, 1, H, W), got {tuple(image.shape)}")
        self.input_spec.check_size(image.shape[-2], image.shape[-1])
        features = self.encode(image)
        if self.tgca is not None or self.tgsa is not None:
            text = self.text_embeddings(list(features))
            for k in range(LEVELS):
                if self.tgca is not None and str(k) in self.tgca:
                    features[k] = self.tgca[str(k)](features[k], text)
                if self.tgsa is not None and str(k) in self.tgsa:
                    features[k] = self.tgsa[str(k)](features[k], text)
        x = features[-1]
        for up, k in zip(self.decoder, reversed(range(LEVELS - 1))):
            x = up(x, features[k])
        return {"logits": self.head(x), "aux_logits": [], "aux_losses": {}}

    def inspection_maps(self, image: torch.Tensor, condition: Any = None) -> dict[str, torch.Tensor]:
        """TGSA's spatial weights at the 1/4 level (where the text says targets may be), upsampled
        to the input size."""
        if self.tgsa is None:
            return {}
        with torch.no_grad():
            features = self.encode(image)
            level = HIGH_LEVELS[0]  # TGCA acts on the low levels only: this level reaches TGSA as encoded
            weights = self.tgsa[str(level)].weights(features[level], self.text_embeddings(features))
        return {"tgsa": F.interpolate(weights, size=image.shape[-2:], mode="bilinear", align_corners=False)}

    # -- what trains, and what a checkpoint holds ----------------------------------------------------
    def parameter_groups(self) -> list[ParamGroup]:
        text = [p for n, p in self.named_parameters() if p.requires_grad and n.startswith(("fine.", "tgca.", "tgsa."))]
        ids = {id(p) for p in text}
        cnn = [p for p in self.parameters() if p.requires_grad and id(p) not in ids]
        return [ParamGroup("cnn", cnn)] + ([ParamGroup("text_guidance", text)] if text else [])

    def checkpoint_state_dict(self) -> dict[str, torch.Tensor]:
        """The trainable parameters and the buffers: not the frozen CLIP."""
        return {k: v for k, v in self.state_dict().items() if not k.startswith("clip.")}

    def parameter_breakdown(self) -> dict[str, tuple[int, int]]:
        def count(module) -> tuple[int, int]:
            params = list(module.parameters()) if module is not None else []
            return sum(p.numel() for p in params), sum(p.numel() for p in params if p.requires_grad)

        out = {"U-Net encoder": count(self.encoder), "U-Net decoder and head": (count(self.decoder)[0] + count(self.head)[0],
                                                                              count(self.decoder)[1] + count(self.head)[1])}
        if self.clip is not None:
            out["CLIP (frozen)"] = count(self.clip)
        for name, module in (("visual-to-text mapping", self.fine), ("TGCA", self.tgca), ("TGSA", self.tgsa)):
            if module is not None:
                out[name] = count(module)
        return out


def build_dgspnet(checkpoint: str | os.PathLike | None = None, **kwargs: Any) -> DGSPNet:
    """The registry's builder. ``checkpoint``: a trained DGSPNet checkpoint (its trainable parts),
    loaded after the frozen CLIP is built from ``clip``/``clip_checkpoint``."""
    model = DGSPNet(**kwargs)
    if checkpoint is not None:
        from irstd_lib.models.weights import load_weights

        load_weights(checkpoint, model)
    return model
