"""SAM's image encoder, prompt encoder and mask decoder as CG-SAM uses them, built from
segment-anything's own modules so that the official checkpoints load unchanged.

Configurations (:data:`SAM_CONFIGS`): ``vit_b``, ``vit_l``, ``vit_h`` exactly as
``segment_anything.build_sam`` builds them (1024 px, 16-pixel patches, window 14, 256-wide
prompts and decoder), and ``tiny``: the same classes at toy sizes for tests and the CPU smoke
profile (embedding 64, 2 blocks, the second global, window 4, 8-pixel patches so that a 128 px
image still gives a 16x16 token grid, 32-wide prompts and decoder).

Other input sizes. An official checkpoint is trained at 1024 px: its absolute position embedding
is a 64x64 grid and the relative-position tables of its global-attention blocks have
``2 * 64 - 1`` rows. The encoder is always built at the checkpoint's size, so the file loads
strictly, and adapts at run time to the input it gets (any multiple of the patch size):

- the absolute position embedding is resized to the token grid by bilinear interpolation
  (``align_corners=False``, as SAMed and SAM-Med2D resize it when fine-tuning at 512);
- the relative-position tables are resized by segment-anything itself: ``get_rel_pos`` linearly
  interpolates a table whose length differs from ``2 * tokens - 1`` (the same values an offline
  bilinear resize gives); windowed blocks always see 14x14 windows and need nothing.

So an official vit_b checkpoint runs at 1024, 512 and 256 px with the same weights.

:func:`encode_image` returns the early and the late features CG-SAM fuses: the output of the
first global-attention block (what HQ-SAM takes as its early feature, ``interm_embeddings[0]``)
and the neck's output (the usual 256-channel image embedding).

LoRA (:func:`add_lora`): peft's ``LoraConfig(target_modules=["qkv"])`` on every block's fused
qkv projection, rank 4 and ``lora_alpha`` equal to the rank (scale 1, as SAMed's default), no
dropout; every other encoder weight is frozen. peft renames the adapted layers' weights
(``attn.qkv.base_layer.weight``), so checkpoints are loaded before the adapters are added.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from irstd_lib.models.weights import CheckpointError, apply_state_dict, torch_load

__all__ = ["SAM_CONFIGS", "SamConfig", "SamParts", "add_lora", "build_sam_parts", "encode_image", "load_sam_checkpoint"]

# SAM's image normalisation (build_sam.py, on 0-255), and on the package's [0, 1] scale.
SAM_PIXEL_MEAN = tuple(v / 255.0 for v in (123.675, 116.28, 103.53))
SAM_PIXEL_STD = tuple(v / 255.0 for v in (58.395, 57.12, 57.375))


@dataclass(frozen=True)
class SamConfig:
    embed_dim: int
    depth: int
    num_heads: int
    global_attn_indexes: tuple[int, ...]
    image_size: int = 1024
    patch_size: int = 16
    window_size: int = 14
    prompt_dim: int = 256
    decoder_mlp_dim: int = 2048
    decoder_heads: int = 8
    iou_hidden: int = 256


SAM_CONFIGS: dict[str, SamConfig] = {
    "vit_b": SamConfig(768, 12, 12, (2, 5, 8, 11)),
    "vit_l": SamConfig(1024, 24, 16, (5, 11, 17, 23)),
    "vit_h": SamConfig(1280, 32, 16, (7, 15, 23, 31)),
    "tiny": SamConfig(64, 2, 2, (1,), image_size=128, patch_size=8, window_size=4, prompt_dim=32,
                      decoder_mlp_dim=64, decoder_heads=2, iou_hidden=32),
}


@dataclass
class SamParts:
    image_encoder: nn.Module
    prompt_encoder: nn.Module
    mask_decoder: nn.Module
    config: SamConfig


def build_sam_parts(name: str) -> SamParts:
    """SAM's three modules for a configuration, randomly initialised (as ``build_sam`` does)."""
    from segment_anything.modeling import ImageEncoderViT, MaskDecoder, PromptEncoder, TwoWayTransformer

    try:
        cfg = SAM_CONFIGS[name]
    except KeyError:
        raise ValueError(f"unknown SAM configuration {name!r}; choose one of {', '.join(SAM_CONFIGS)}") from None
    grid = cfg.image_size // cfg.patch_size
    encoder = ImageEncoderViT(
        img_size=cfg.image_size, patch_size=cfg.patch_size, embed_dim=cfg.embed_dim, depth=cfg.depth,
        num_heads=cfg.num_heads, mlp_ratio=4, out_chans=cfg.prompt_dim, qkv_bias=True,
        norm_layer=partial(nn.LayerNorm, eps=1e-6), use_rel_pos=True, global_attn_indexes=cfg.global_attn_indexes,
        window_size=cfg.window_size,
    )
    prompt_encoder = PromptEncoder(embed_dim=cfg.prompt_dim, image_embedding_size=(grid, grid),
                                   input_image_size=(cfg.image_size, cfg.image_size), mask_in_chans=16)
    decoder = MaskDecoder(
        num_multimask_outputs=3,
        transformer=TwoWayTransformer(depth=2, embedding_dim=cfg.prompt_dim, mlp_dim=cfg.decoder_mlp_dim, num_heads=cfg.decoder_heads),
        transformer_dim=cfg.prompt_dim, iou_head_depth=3, iou_head_hidden_dim=cfg.iou_hidden,
    )
    return SamParts(encoder, prompt_encoder, decoder, cfg)


_PARTS = ("image_encoder", "prompt_encoder", "mask_decoder")


def load_sam_checkpoint(path: str | os.PathLike, parts: SamParts) -> None:
    """Load an official SAM checkpoint (``sam_vit_b_01ec64.pth`` and the like: one state_dict with
    ``image_encoder.``, ``prompt_encoder.`` and ``mask_decoder.`` keys) into ``parts``, strictly.
    A missing, truncated or foreign file, or one of another architecture, is a
    :class:`~irstd_lib.models.weights.CheckpointError` naming the file and the first bad keys."""
    path = Path(path).expanduser()
    state = torch_load(path)
    if isinstance(state, dict) and isinstance(state.get("model"), dict):
        state = state["model"]
    if not isinstance(state, dict) or not state or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise CheckpointError(path, "not a SAM checkpoint (expected a state_dict of tensors)")
    foreign = [k for k in state if not k.startswith(tuple(f"{p}." for p in _PARTS))]
    if foreign:
        raise CheckpointError(path, f"not a SAM checkpoint: {len(foreign)} key(s) outside {', '.join(_PARTS)} "
                                    f"(e.g. {', '.join(foreign[:5])})")
    for part in _PARTS:
        prefix = f"{part}."
        sub = {k[len(prefix):]: v for k, v in state.items() if k.startswith(prefix)}
        apply_state_dict(path, getattr(parts, part), sub, strict=True)


def add_lora(encoder: nn.Module, rank: int = 4, alpha: float | None = None) -> nn.Module:
    """LoRA adapters on every block's ``attn.qkv`` (peft); every other encoder weight frozen."""
    from peft import LoraConfig, inject_adapter_in_model

    if rank < 1:
        raise ValueError(f"LoRA rank must be >= 1, got {rank}")
    config = LoraConfig(r=rank, lora_alpha=rank if alpha is None else alpha, lora_dropout=0.0, target_modules=["qkv"])
    return inject_adapter_in_model(config, encoder)  # freezes the base weights, adapters trainable


def _position_embedding(encoder: nn.Module, grid: tuple[int, int]) -> torch.Tensor:
    """The absolute position embedding resized to the token grid (see the module docstring)."""
    pos = encoder.pos_embed  # (1, H0, W0, C)
    if tuple(pos.shape[1:3]) == tuple(grid):
        return pos
    resized = F.interpolate(pos.permute(0, 3, 1, 2), size=grid, mode="bilinear", align_corners=False)
    return resized.permute(0, 2, 3, 1)


def encode_image(encoder: nn.Module, image: torch.Tensor, global_attn_indexes: tuple[int, ...]) -> dict[str, Any]:
    """``{"early": (B, embed_dim, h, w), "late": (B, prompt_dim, h, w)}`` for normalised RGB images
    whose sides are multiples of the patch size. The same computation as
    ``ImageEncoderViT.forward`` plus the resized position embedding and the early tap."""
    x = encoder.patch_embed(image)  # (B, h, w, C)
    if encoder.pos_embed is not None:
        x = x + _position_embedding(encoder, tuple(x.shape[1:3]))
    early = None
    first_global = min(global_attn_indexes)
    for index, block in enumerate(encoder.blocks):
        x = block(x)
        if index == first_global:
            early = x.permute(0, 3, 1, 2)
    late = encoder.neck(x.permute(0, 3, 1, 2))
    return {"early": early, "late": late}
