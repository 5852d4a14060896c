"""CLIP text and image encoder for the language priors (open_clip; nothing is ever downloaded).

LGNet uses CLIP ViT-B-16 for both its text and image embeddings. This wrapper

- gets its model from :func:`irstd_lib.text.clip_model.build_clip_model`, the package's one CLIP
  factory (offline build, weights only from a local file the user names, a missing or unfitting
  file an error naming it, random weights drawn from ``seed`` without one), and
  ``ClipEncoder.tiny(seed)`` builds the small ``irstd-tiny-clip`` configuration for tests;
- takes grayscale ``H x W`` float images in [0, 1] and does the preprocessing with torch ops:
  gray -> 3 channels, resize to the model's input size, normalise with the model's mean/std
  (the whole image resized, no centre crop: see :func:`~irstd_lib.text.clip_model.preprocess_gray_batch`).

``key`` names architecture + weights (``"ViT-B-16@sha256:<12 hex of the checkpoint file>"`` or
``"irstd-tiny-clip@random-seed0"``); embedding caches are keyed by it.

The factory's names (``build_clip_model``, ``CheckpointError``, ``TINY_CLIP_NAME``, ...) are
re-exported here because this module was their home before the factory had its own, and callers,
notebooks and tests import them from here.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Sequence

import numpy as np
import torch
import torch.nn.functional as F

from irstd_lib.text.clip_model import (
    TINY_CLIP_CONFIG,
    TINY_CLIP_NAME,
    CheckpointError,
    build_clip_model,
    clip_architecture,
    clip_image_settings,
    clip_tokenizer,
    load_clip_weights,
    preprocess_gray_batch,
    register_tiny_config,
)

__all__ = ["ClipEncoder", "CheckpointError", "TINY_CLIP_NAME", "TINY_CLIP_CONFIG", "build_clip_model", "load_clip_weights",
           "preprocess_gray_batch",
           "register_tiny_config"]


class ClipEncoder:
    """Frozen CLIP text/image encoder returning float32, L2-normalised embeddings (no grad).

    ``ClipEncoder(model_name="ViT-B-16", checkpoint=None, device="cpu", seed=0)``;
    ``model_name`` is an open_clip architecture or ``"tiny"``, ``checkpoint`` a local weights file
    (``None``: random weights drawn from ``seed``).
    """

    def __init__(
        self,
        model_name: str = "ViT-B-16",
        checkpoint: str | os.PathLike | None = None,
        device: str | torch.device = "cpu",
        seed: int = 0,
    ) -> None:
        model, self.key = build_clip_model(model_name, checkpoint, seed)
        self.model_name = clip_architecture(model_name)
        self.device = torch.device(device)
        self.seed = seed
        self.checkpoint = Path(checkpoint).expanduser() if checkpoint is not None else None
        model.eval().requires_grad_(False)
        self.model = model.to(self.device)
        self.tokenizer = clip_tokenizer(model_name)
        self.image_size: tuple[int, int]
        self.image_size, self.image_mean, self.image_std = clip_image_settings(model)
        self.embed_dim: int = int(model.text_projection.shape[1]) if getattr(model, "text_projection", None) is not None else int(
            self._probe_dim()
        )

    @classmethod
    def tiny(cls, seed: int = 0, device: str | torch.device = "cpu") -> "ClipEncoder":
        """The small random ``irstd-tiny-clip`` model (embed_dim 64) for tests and smoke runs."""
        return cls(TINY_CLIP_NAME, checkpoint=None, device=device, seed=seed)

    def __repr__(self) -> str:
        return f"ClipEncoder(key={self.key!r}, embed_dim={self.embed_dim}, device={str(self.device)!r})"

    def _probe_dim(self) -> int:
        with torch.no_grad():
            return int(self.model.encode_text(self.tokenizer(["a"]).to(self.device)).shape[-1])

    # --- text -------------------------------------------------------------------------------
    def encode_text(self, texts: Sequence[str], batch_size: int = 64) -> torch.Tensor:
        """(N, embed_dim) float32 unit-norm text embeddings. Empty or non-str texts raise ValueError."""
        if isinstance(texts, str):
            raise ValueError("encode_text takes a list of strings, not a single string")
        texts = list(texts)
        if not texts:
            raise ValueError("encode_text needs at least one text")
        for i, text in enumerate(texts):
            if not isinstance(text, str):
                raise ValueError(f"text {i} is {type(text).__name__}, not str")
            if not text.strip():
                raise ValueError(f"text {i} is empty; a description must contain words")
        out = []
        with torch.inference_mode():
            for start in range(0, len(texts), batch_size):
                tokens = self.tokenizer(texts[start : start + batch_size]).to(self.device)
                out.append(self.model.encode_text(tokens).float())
        return F.normalize(torch.cat(out), dim=-1).cpu()

    # --- images -----------------------------------------------------------------------------
    def preprocess(self, images: Sequence[np.ndarray | torch.Tensor]) -> torch.Tensor:
        """Grayscale H x W images in [0, 1] -> normalised (N, 3, S, S) float32 model inputs."""
        batch = []
        for i, image in enumerate(images):
            x = torch.as_tensor(np.asarray(image) if not isinstance(image, torch.Tensor) else image)
            if x.ndim == 3 and x.shape[0] == 1:
                x = x[0]
            if x.ndim != 2:
                raise ValueError(f"image {i}: expected a grayscale H x W array, got shape {tuple(x.shape)}")
            batch.append(preprocess_gray_batch(x.detach().to(torch.float32)[None, None], self.image_size, self.image_mean,
                                               self.image_std))
        return torch.cat(batch)

    def encode_image(self, images: Sequence[np.ndarray | torch.Tensor], batch_size: int = 32) -> torch.Tensor:
        """(N, embed_dim) float32 unit-norm image embeddings of grayscale H x W images in [0, 1]."""
        images = list(images)
        if not images:
            raise ValueError("encode_image needs at least one image")
        out = []
        with torch.inference_mode():
            for start in range(0, len(images), batch_size):
                pixels = self.preprocess(images[start : start + batch_size]).to(self.device)
                out.append(self.model.encode_image(pixels).float())
        return F.normalize(torch.cat(out), dim=-1).cpu()
