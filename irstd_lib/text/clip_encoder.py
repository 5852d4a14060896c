"""CLIP text and image encoder for the language priors (open_clip; nothing is ever downloaded).

LGNet uses CLIP ViT-B-16 for both its text and image embeddings. This wrapper

- builds the architecture offline with ``open_clip.create_model(name, pretrained=None)``;
- loads weights only from a local file the user names (open_clip or OpenAI state dicts in
  ``.pt`` / ``.pth`` / ``.bin`` / ``.safetensors``, OpenAI's TorchScript archives too); a missing
  file raises ``FileNotFoundError``, one whose keys or shapes do not match ``CheckpointError``,
  both naming the file;
- without a checkpoint keeps a random initialisation drawn from ``seed`` (the ``smoke``
  profile), and ``ClipEncoder.tiny(seed)`` builds the small ``irstd-tiny-clip`` configuration
  (``configs/irstd-tiny-clip.json``: embed 64, 2-layer ViT width 64 with 16-pixel patches on
  64x64 inputs, 2-layer text transformer width 64, context 32) for tests;
- takes grayscale ``H x W`` float images in [0, 1] and does the preprocessing with torch ops:
  gray -> 3 channels, resize to the model's input size, normalise with the model's mean/std.

Choice: the whole image is resized to the square input (bicubic, antialiased) rather than
open_clip's resize-shorter-side + centre crop, because a small target may lie anywhere,
including the borders a centre crop would cut off.

``key`` names architecture + weights (``"ViT-B-16@sha256:<12 hex of the checkpoint file>"`` or
``"irstd-tiny-clip@random-seed0"``); embedding caches are keyed by it.
"""

from __future__ import annotations

import logging
import os
import warnings
from pathlib import Path
from typing import Sequence

import numpy as np
import torch
import torch.nn.functional as F

from irstd_lib.io import file_sha256

__all__ = ["ClipEncoder", "CheckpointError", "TINY_CLIP_NAME", "TINY_CLIP_CONFIG", "build_clip_model", "load_clip_weights",
           "preprocess_gray_batch",
           "register_tiny_config"]

TINY_CLIP_NAME = "irstd-tiny-clip"
TINY_CLIP_CONFIG = Path(__file__).resolve().parent / "configs" / f"{TINY_CLIP_NAME}.json"

_TORCHSCRIPT_EXTRA_KEYS = ("input_resolution", "context_length", "vocab_size")


class CheckpointError(ValueError):
    """A CLIP checkpoint file that cannot be used; the message starts with the file's path."""

    def __init__(self, path: str | os.PathLike, problem: str) -> None:
        self.path = Path(path)
        self.problem = problem
        super().__init__(f"{self.path}: {problem}")


def register_tiny_config() -> str:
    """Register ``configs/irstd-tiny-clip.json`` with open_clip (idempotent); returns its name."""
    import open_clip

    if TINY_CLIP_NAME not in open_clip.list_models():
        open_clip.add_model_config(TINY_CLIP_CONFIG)
    return TINY_CLIP_NAME


def _read_state_dict(path: Path) -> dict[str, torch.Tensor]:
    """Read a state dict from .safetensors, a torch pickle, or an OpenAI TorchScript archive."""
    if path.suffix == ".safetensors":
        from safetensors.torch import load_file

        try:
            state = load_file(str(path), device="cpu")
        except Exception as exc:  # noqa: BLE001 - any reader failure becomes a clear file error
            raise CheckpointError(path, f"not a readable safetensors file ({exc})") from exc
    else:
        try:
            with warnings.catch_warnings():
                # torch warns before refusing a TorchScript archive; it is handled just below.
                warnings.filterwarnings("ignore", message=".*TorchScript archive.*")
                state = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as pickle_error:  # noqa: BLE001
            try:  # OpenAI's released ViT-B-16.pt is a TorchScript archive
                state = torch.jit.load(str(path), map_location="cpu").state_dict()
            except Exception:  # noqa: BLE001
                raise CheckpointError(
                    path, f"not a readable checkpoint (torch.load failed: {pickle_error})"
                ) from pickle_error
            state = {k: v for k, v in state.items() if k not in _TORCHSCRIPT_EXTRA_KEYS}
    for wrapper in ("state_dict", "model", "model_state_dict"):
        if isinstance(state, dict) and wrapper in state and isinstance(state[wrapper], dict):
            state = state[wrapper]
            break
    if not isinstance(state, dict) or not state:
        raise CheckpointError(path, "does not contain a state dict (a mapping of parameter names to tensors)")
    if all(str(k).startswith("module.") for k in state):
        state = {k[len("module."):]: v for k, v in state.items()}
    return state


def load_clip_weights(model: torch.nn.Module, path: Path) -> None:
    from open_clip.convert import convert_state_dict
    from open_clip.model import convert_to_custom_text_state_dict

    state = convert_state_dict(model, _read_state_dict(path))
    if "positional_embedding" in state and not hasattr(model, "positional_embedding"):
        state = convert_to_custom_text_state_dict(state)
    logit_scale = state.get("logit_scale")
    if isinstance(logit_scale, torch.Tensor) and logit_scale.ndim != model.logit_scale.ndim:
        state["logit_scale"] = logit_scale.reshape(model.logit_scale.shape)
    # SigLIP-style bias is absent from CLIP checkpoints; zero is the neutral value.
    if getattr(model, "logit_bias", None) is not None and "logit_bias" not in state:
        state["logit_bias"] = torch.zeros_like(model.logit_bias)

    expected = model.state_dict()
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    mismatched = sorted(
        f"{k} {tuple(state[k].shape)} vs {tuple(expected[k].shape)}"
        for k in set(expected) & set(state)
        if isinstance(state[k], torch.Tensor) and state[k].shape != expected[k].shape
    )
    if missing or unexpected or mismatched:
        def few(items: list[str]) -> str:
            return ", ".join(items[:5]) + (f", ... ({len(items)} in all)" if len(items) > 5 else "")

        parts = []
        if missing:
            parts.append(f"missing keys: {few(missing)}")
        if unexpected:
            parts.append(f"unexpected keys: {few(unexpected)}")
        if mismatched:
            parts.append(f"shape mismatches: {few(mismatched)}")
        raise CheckpointError(
            path, f"does not match the {type(model).__name__} architecture; " + "; ".join(parts)
        )
    model.load_state_dict(state, strict=True)


class _quiet_open_clip_random_init_warning:
    """open_clip logs "No pretrained weights loaded" on the root logger whenever
    ``pretrained=None``; here that is the intended path (weights come from a local file or are
    random on purpose, as ``key`` records), so the message is dropped while the model is built."""

    class _Filter(logging.Filter):
        def filter(self, record: logging.LogRecord) -> bool:
            return "No pretrained weights loaded" not in record.getMessage()

    def __enter__(self) -> None:
        self._filter = self._Filter()
        logging.getLogger().addFilter(self._filter)

    def __exit__(self, *exc: object) -> None:
        logging.getLogger().removeFilter(self._filter)


def preprocess_gray_batch(images: torch.Tensor, size: tuple[int, int], mean: torch.Tensor, std: torch.Tensor) -> torch.Tensor:
    """(N, 1, H, W) grayscale images in [0, 1] -> normalised (N, 3, S, S) CLIP inputs: the whole
    image resized (bicubic, antialiased; see the module docstring), clamped, replicated to three
    channels, normalised with the model's mean and std ((1, 3, 1, 1) tensors)."""
    x = F.interpolate(images, size=size, mode="bicubic", align_corners=False, antialias=True).clamp(0.0, 1.0)
    x = x.expand(-1, 3, -1, -1)
    return (x - mean.to(x.device, x.dtype)) / std.to(x.device, x.dtype)


def build_clip_model(model_name: str = "ViT-B-16", checkpoint: str | os.PathLike | None = None, seed: int = 0):
    """An open_clip model built offline, with weights from a local file or random ones drawn from
    ``seed``; returns ``(model, key)``. The architecture must be known to open_clip (or be the
    package's tiny one); a missing file is ``FileNotFoundError`` and one that does not fit is a
    :class:`CheckpointError`, both naming the file. The caller's global RNG is left untouched."""
    import open_clip

    if model_name == TINY_CLIP_NAME:
        register_tiny_config()
    if model_name.startswith(("hf-hub:", "local-dir:")):
        raise ValueError(
            f"model_name {model_name!r}: schemas are not supported (nothing is downloaded); "
            "pass an architecture name and a local checkpoint file"
        )
    if model_name not in open_clip.list_models():
        raise ValueError(f"unknown open_clip architecture {model_name!r}")
    checkpoint_path = None
    if checkpoint is not None:
        checkpoint_path = Path(checkpoint).expanduser()
        if not checkpoint_path.is_file():
            raise FileNotFoundError(
                f"{checkpoint_path}: CLIP checkpoint file not found (weights are never "
                "downloaded; name a local .pt/.pth/.bin/.safetensors file)"
            )
    # A private RNG scope: building the model must not disturb the caller's global seed.
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        with _quiet_open_clip_random_init_warning():
            # Built where tensors are being made: the CPU, or the meta device when only shapes are
            # wanted (the model catalogue counts parameters that way).
            device = "meta" if torch.empty(0).device.type == "meta" else "cpu"
            model = open_clip.create_model(model_name, pretrained=None, device=device)
    if checkpoint_path is not None:
        load_clip_weights(model, checkpoint_path)
        return model, f"{model_name}@sha256:{file_sha256(checkpoint_path)[:12]}"
    return model, f"{model_name}@random-seed{seed}"


class ClipEncoder:
    """Frozen CLIP text/image encoder returning float32, L2-normalised embeddings (no grad).

    ``ClipEncoder(model_name="ViT-B-16", checkpoint=None, device="cpu", seed=0)``;
    ``checkpoint`` is a local weights file (``None``: random weights drawn from ``seed``).
    """

    def __init__(
        self,
        model_name: str = "ViT-B-16",
        checkpoint: str | os.PathLike | None = None,
        device: str | torch.device = "cpu",
        seed: int = 0,
    ) -> None:
        import open_clip

        model, self.key = build_clip_model(model_name, checkpoint, seed)
        self.model_name = model_name
        self.device = torch.device(device)
        self.seed = seed
        self.checkpoint = Path(checkpoint).expanduser() if checkpoint is not None else None
        model.eval().requires_grad_(False)
        self.model = model.to(self.device)
        self.tokenizer = open_clip.get_tokenizer(model_name)

        visual = model.visual
        cfg = getattr(visual, "preprocess_cfg", {})
        mean = cfg.get("mean", getattr(visual, "image_mean", None))
        std = cfg.get("std", getattr(visual, "image_std", None))
        size = visual.image_size
        self.image_size: tuple[int, int] = (int(size[0]), int(size[1])) if isinstance(size, (tuple, list)) else (int(size), int(size))
        self.image_mean = torch.tensor(mean, dtype=torch.float32).view(1, 3, 1, 1)
        self.image_std = torch.tensor(std, dtype=torch.float32).view(1, 3, 1, 1)
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
