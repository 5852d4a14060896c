"""The one way this package builds an open_clip model (nothing is ever downloaded).

Every CLIP in the package comes from :func:`build_clip_model`: the frozen text/image encoder of
the language priors (:class:`irstd_lib.text.clip_encoder.ClipEncoder`), the frozen CLIP that SAIST
and DGSPNet read (:class:`irstd_lib.models.frozen_clip.FrozenClip`) and the text tower LGNet
fine-tunes (:class:`irstd_lib.models.lgnet.text_encoder.ClipTextEncoder`). Each wrapper then keeps
what it needs of the model (frozen or not, with or without the image tower).

- the architecture is an open_clip name (``ViT-B-16``) or ``"tiny"``, the package's small
  ``irstd-tiny-clip`` configuration (``configs/irstd-tiny-clip.json``: embed 64, 2-layer ViT width
  64 with 16-pixel patches on 64x64 inputs, 2-layer text transformer width 64, context 32) for
  tests and the ``smoke`` profile; ``hf-hub:``/``local-dir:`` schemas are refused, as they would
  fetch or read configurations this package does not control;
- weights come only from a local file the caller names (open_clip or OpenAI state dicts in
  ``.pt`` / ``.pth`` / ``.bin`` / ``.safetensors``, OpenAI's TorchScript archives too); a missing
  file raises ``FileNotFoundError``, one whose keys or shapes do not match :class:`CheckpointError`,
  both naming the file;
- without a checkpoint the model keeps a random initialisation drawn from ``seed`` in a private
  RNG scope, so the same seed gives the same weights whichever wrapper asks, and the caller's
  global RNG is untouched;
- ``key`` (:func:`clip_weights_key`) names architecture + weights
  (``"ViT-B-16@sha256:<12 hex of the checkpoint file>"`` or ``"irstd-tiny-clip@random-seed0"``);
  embedding caches and run identities are keyed by it.

It lives in :mod:`irstd_lib.text` because that is the lower layer: :mod:`irstd_lib.models` already
imports :mod:`irstd_lib.text` (scene vocabulary, this factory) and nothing in ``text`` imports
``models``. It imports open_clip only inside the functions (the import takes many seconds), so that
importing the module stays cheap.
"""

from __future__ import annotations

import logging
import os
import warnings
from pathlib import Path

import torch
import torch.nn.functional as F

from irstd_lib.io import file_sha256

__all__ = ["CheckpointError", "TINY_CLIP_NAME", "TINY_CLIP_CONFIG", "build_clip_model", "clip_architecture",
           "clip_image_settings", "clip_tokenizer", "clip_weights_key", "load_clip_weights", "preprocess_gray_batch",
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


def clip_architecture(name: str) -> str:
    """The open_clip architecture ``name`` stands for: ``"tiny"`` is the package's
    ``irstd-tiny-clip`` (the short spelling the models' and the profiles' ``clip`` keyword uses);
    any other name is returned as is."""
    return TINY_CLIP_NAME if name == "tiny" else name


def clip_weights_key(name: str, checkpoint: str | os.PathLike | None, seed: int) -> str:
    """The identity of a CLIP's weights: the architecture with the checkpoint file's content hash,
    or with the seed its random initialisation was drawn from."""
    arch = clip_architecture(name)
    if checkpoint is None:
        return f"{arch}@random-seed{seed}"
    return f"{arch}@sha256:{file_sha256(Path(checkpoint).expanduser())[:12]}"


def clip_tokenizer(name: str):
    """open_clip's tokenizer of architecture ``name`` (``"tiny"`` included)."""
    import open_clip

    arch = clip_architecture(name)
    if arch == TINY_CLIP_NAME:
        register_tiny_config()
    return open_clip.get_tokenizer(arch)


def clip_image_settings(model) -> tuple[tuple[int, int], torch.Tensor, torch.Tensor]:
    """``(input size (H, W), mean (1, 3, 1, 1), std (1, 3, 1, 1))`` of a model's image tower, as
    :func:`preprocess_gray_batch` takes them (open_clip's ``preprocess_cfg``; the older
    ``image_mean``/``image_std`` attributes where it has none)."""
    visual = model.visual
    cfg = getattr(visual, "preprocess_cfg", {})
    mean = cfg.get("mean", getattr(visual, "image_mean", None))
    std = cfg.get("std", getattr(visual, "image_std", None))
    size = visual.image_size
    image_size = (int(size[0]), int(size[1])) if isinstance(size, (tuple, list)) else (int(size), int(size))
    return (image_size, torch.tensor(mean, dtype=torch.float32).view(1, 3, 1, 1),
            torch.tensor(std, dtype=torch.float32).view(1, 3, 1, 1))


def preprocess_gray_batch(images: torch.Tensor, size: tuple[int, int], mean: torch.Tensor, std: torch.Tensor) -> torch.Tensor:
    """(N, 1, H, W) grayscale images in [0, 1] -> normalised (N, 3, S, S) CLIP inputs: the whole
    image resized (bicubic, antialiased), clamped, replicated to three channels, normalised with
    the model's mean and std ((1, 3, 1, 1) tensors).

    The whole image is resized to the square input rather than open_clip's resize-shorter-side +
    centre crop, because a small target may lie anywhere, including the borders a centre crop
    would cut off."""
    x = F.interpolate(images, size=size, mode="bicubic", align_corners=False, antialias=True).clamp(0.0, 1.0)
    x = x.expand(-1, 3, -1, -1)
    return (x - mean.to(x.device, x.dtype)) / std.to(x.device, x.dtype)


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
    """Load the checkpoint file ``path`` into ``model`` strictly (after open_clip's conversions of
    OpenAI and older open_clip layouts); keys or shapes that do not fit are a
    :class:`CheckpointError` naming the file and the first offending keys."""
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


def build_clip_model(model_name: str = "ViT-B-16", checkpoint: str | os.PathLike | None = None, seed: int = 0):
    """An open_clip model built offline, with weights from a local file or random ones drawn from
    ``seed``; returns ``(model, key)``. ``model_name`` is an architecture known to open_clip or
    ``"tiny"`` (the package's ``irstd-tiny-clip``, also accepted by its full name). A missing file
    is ``FileNotFoundError`` and one that does not fit is a :class:`CheckpointError`, both naming
    the file. The caller's global RNG is left untouched."""
    import open_clip

    model_name = clip_architecture(model_name)
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
    return model, clip_weights_key(model_name, checkpoint_path, seed)
