"""Command-line options shared by the commands that build a model (``profile``, ``train``,
``evaluate``): the backbones and weights files of the models built on pretrained encoders
(SAIST's ``sam``, ``sam_checkpoint``, ``clip``, ``clip_checkpoint``). Kept free of torch so that
the command line parses without importing it."""

from __future__ import annotations

import argparse
from typing import Any

__all__ = ["WEIGHTS_OPTIONS", "add_weights_arguments", "weights_kwargs"]

# (flag, model keyword argument, argparse settings)
WEIGHTS_OPTIONS: tuple[tuple[str, str, dict[str, Any]], ...] = (
    ("--sam", "sam", dict(help="SAM configuration for SAIST's variants: tiny, vit_b, vit_l, vit_h")),
    ("--sam-checkpoint", "sam_checkpoint", dict(metavar="PATH", help="local SAM weights (e.g. sam_vit_b_01ec64.pth)")),
    ("--clip", "clip", dict(help="CLIP architecture for SAIST's and DGSPNet's variants: tiny or an open_clip name (ViT-B-16)")),
    ("--clip-checkpoint", "clip_checkpoint", dict(metavar="PATH", help="local open_clip weights file")),
)


def add_weights_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the options to ``parser`` (each defaults to None: the builder's own default)."""
    for flag, _, settings in WEIGHTS_OPTIONS:
        parser.add_argument(flag, default=None, **settings)


def weights_kwargs(args: argparse.Namespace) -> dict[str, Any]:
    """The model keyword arguments those options set (only the ones given)."""
    return {key: getattr(args, key) for _, key, _ in WEIGHTS_OPTIONS if getattr(args, key, None) is not None}
