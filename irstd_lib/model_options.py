"""Command-line options shared by several commands, each declared once as a table of
``(flag, keyword, argparse settings)``:

- :data:`WEIGHTS_OPTIONS`, for the commands that build a model (``profile``, ``train``,
  ``evaluate``): the backbones and weights files of the models built on pretrained encoders
  (SAIST's ``sam``, ``sam_checkpoint``, ``clip``, ``clip_checkpoint``; GroundingDINO + SAM's
  ``detector_checkpoint``);
- :data:`DATASET_OPTIONS`, for the commands that open a dataset (``score``, ``evaluate``,
  ``datasets``): root, split, layout and the reader's choices.

Tables rather than functions that add arguments, so that a command can take some of the options
(or reword one's help for its use) without declaring the option a second time. Kept free of torch
so that the command line parses without importing it."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

__all__ = ["DATASET_OPTIONS", "WEIGHTS_OPTIONS", "add_weights_arguments", "weights_kwargs"]

# (flag, model keyword argument, argparse settings)
WEIGHTS_OPTIONS: tuple[tuple[str, str, dict[str, Any]], ...] = (
    ("--sam", "sam", dict(help="SAM configuration for SAIST's variants: tiny, vit_b, vit_l, vit_h")),
    ("--sam-checkpoint", "sam_checkpoint", dict(metavar="PATH", help="local SAM weights (e.g. sam_vit_b_01ec64.pth)")),
    ("--clip", "clip", dict(help="CLIP architecture for SAIST's and DGSPNet's variants: tiny or an open_clip name (ViT-B-16)")),
    ("--clip-checkpoint", "clip_checkpoint", dict(metavar="PATH", help="local open_clip weights file")),
    ("--detector-checkpoint", "detector_checkpoint",
     dict(metavar="PATH", help="GroundingDINO + SAM's detector: the model.safetensors of a local save_pretrained folder "
                               "(beside its config.json and tokenizer files)")),
)

# (flag, IRSTDDataset keyword argument, argparse settings)
DATASET_OPTIONS: tuple[tuple[str, str, dict[str, Any]], ...] = (
    ("--data", "data", dict(required=True, type=Path, default=None, help="dataset root (images/, masks/, split lists)")),
    ("--split", "split", dict(default="test", help="split to use: train, val, trainval, test or all, or a list's file name such as test_v1 (default: test)")),
    ("--split-version", "split_version", dict(default=None, help="version of versioned split lists, <split>_<version>.txt (SIRST v2: full, v1, v1fullv2target; default: the layout's)")),
    ("--layout", "layout", dict(default="auto", help="folder layout: auto, nuaa, irstd1k, nudt, plain, sirst_v2, voc (default: auto)")),
    ("--split-dir", "split_dir", dict(default=None, help="folder of split lists inside the root, e.g. idx_320 (default: idx_427 for SIRST, else the root)")),
    ("--mask-dir", "mask_dir", dict(default=None, help="mask folder, relative to the root or absolute (default: the layout's; DenseSIRST: SIRST/BinaryMask, its targets, not SkySeg/BinaryMask, its sky)")),
    (
        "--on-size-mismatch",
        "on_size_mismatch",
        dict(
            default="error",
            choices=["error", "resize"],
            help="a mask whose size differs from its image (NUAA-SIRST's Misc_111): fail (default) or resize the mask by nearest neighbour, with a warning",
        ),
    ),
)


def add_weights_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the options to ``parser`` (each defaults to None: the builder's own default)."""
    for flag, _, settings in WEIGHTS_OPTIONS:
        parser.add_argument(flag, default=None, **settings)


def weights_kwargs(args: argparse.Namespace) -> dict[str, Any]:
    """The model keyword arguments those options set (only the ones given)."""
    return {key: getattr(args, key) for _, key, _ in WEIGHTS_OPTIONS if getattr(args, key, None) is not None}
