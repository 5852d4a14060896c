"""The command line: ``python -m irstd_lib describe ...``.

:func:`add_describe_arguments` adds the sub-command's options to a parser and
:func:`run_describe` runs :func:`~irstd_lib.text.descriptions.writer.describe_dataset` from the
parsed arguments (the source's options mapped to its keyword arguments).
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from irstd_lib.data.errors import DatasetError
from irstd_lib.text.descriptions.writer import describe_dataset


def add_describe_arguments(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Add the ``describe`` sub-command's options to ``parser``."""
    parser.add_argument("--source", default="semantic", choices=["files", "quadrant", "semantic", "scene", "vlm"],
                        help="description source (quadrant/semantic/scene read the ground-truth mask: oracle, training/ablation only)")
    parser.add_argument("--data", required=True, help="dataset folder (images/, masks/, split lists)")
    parser.add_argument("--out", default=None,
                        help="folder to write the description files into (default: DATA/descriptions or DATA/scene_descriptions)")
    parser.add_argument("--split", default="all", help="split name(s), comma-separated (default: all)")
    parser.add_argument("--split-dir", default=None, help="folder of the split lists (default: found automatically)")
    parser.add_argument("--layout", default="auto", help="dataset layout (default: auto)")
    parser.add_argument("--on-size-mismatch", default="error",
                        help="what the dataset reader does with a mask whose size differs from its image (e.g. error, resize)")
    parser.add_argument("--overwrite", action="store_true", help="rewrite descriptions that already exist")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.add_argument("--workers", type=int, default=None, help="images described at once (default: the source's)")
    parser.add_argument("--max-words", type=int, default=None, help="word limit (default 50 for semantic and vlm)")
    g = parser.add_argument_group("quadrant source")
    g.add_argument("--quadrant-multi", default="all", choices=["all", "largest"], help="several targets: name all quadrants, or the largest target's")
    g = parser.add_argument_group("scene source")
    g.add_argument("--clip-model", default=None, help="open_clip architecture for CLIP ranking (default: statistics, no model)")
    g.add_argument("--clip-checkpoint", default=None, help="local CLIP checkpoint file")
    g.add_argument("--clip-tiny", action="store_true", help="use the tiny random CLIP (tests, smoke profile)")
    g.add_argument("--no-mask-target", action="store_true", help="describe the image without masking the target out")
    g = parser.add_argument_group("vlm source (API key only from $IRSTD_VLM_API_KEY)")
    g.add_argument("--vlm-endpoint", default=None, help="OpenAI-compatible base URL, e.g. http://localhost:8000/v1 (else $IRSTD_VLM_ENDPOINT)")
    g.add_argument("--vlm-model", default=None, help="model name (else $IRSTD_VLM_MODEL)")
    g.add_argument("--vlm-timeout", type=float, default=None, help="seconds per request")
    g.add_argument("--vlm-retries", type=int, default=None, help="retries on 429/5xx/timeouts")
    g.add_argument("--vlm-cache-dir", default=None, help="answer cache folder (default: the package cache)")
    g = parser.add_argument_group("files source")
    g.add_argument("--files-kind", default="target", choices=["target", "scene"], help="which files to copy")
    return parser


def _source_kwargs_from_args(args: argparse.Namespace) -> dict[str, Any]:
    kw: dict[str, Any] = {}
    if args.source == "quadrant":
        kw["multi"] = args.quadrant_multi
    elif args.source == "semantic":
        if args.max_words is not None:
            kw["max_words"] = args.max_words
    elif args.source == "files":
        kw["kind"] = args.files_kind
        if args.max_words is not None:
            kw["max_words"] = args.max_words
    elif args.source == "scene":
        kw["mask_target"] = not args.no_mask_target
        if args.clip_tiny or args.clip_model or args.clip_checkpoint:
            from irstd_lib.text.clip_encoder import ClipEncoder

            if args.clip_tiny:
                kw["encoder"] = ClipEncoder.tiny()
            else:
                kw["encoder"] = ClipEncoder(model_name=args.clip_model or "ViT-B-16", checkpoint=args.clip_checkpoint)
    elif args.source == "vlm":
        for opt, key in (("vlm_endpoint", "endpoint"), ("vlm_model", "model"), ("vlm_timeout", "timeout"),
                         ("vlm_retries", "max_retries"), ("vlm_cache_dir", "cache_dir"), ("max_words", "max_words")):
            value = getattr(args, opt)
            if value is not None:
                kw[key] = value
    return kw


def run_describe(args: argparse.Namespace) -> int:
    """Run ``describe`` from parsed arguments; prints a summary, returns the exit status (0 ok,
    2 on a configuration, dataset or service error, with the message on stderr)."""
    from irstd_lib.text.vlm_client import VLMError

    try:
        summary = describe_dataset(
            args.data,
            args.source,
            split=args.split,
            overwrite=args.overwrite,
            progress=not args.no_progress,
            out_dir=args.out,
            layout=args.layout,
            split_dir=args.split_dir,
            on_size_mismatch=args.on_size_mismatch,
            workers=args.workers,
            **_source_kwargs_from_args(args),
        )
    except (DatasetError, VLMError, FileNotFoundError, ValueError) as exc:
        print(f"describe: error: {exc}", file=sys.stderr)
        return 2
    print(
        f"describe[{summary['source']}]: {summary['n_written']} written, {summary['n_skipped']} skipped (already there), "
        f"{summary['n_truncated']} truncated to the word limit, of {summary['n_images']} images -> {summary['out_dir']}"
    )
    if summary["uses_ground_truth"]:
        print("note: this source reads the ground-truth masks (oracle descriptions): use them for training or ablations, "
              "not as test-time input.")
    for issue in summary["issues"]:
        print(f"note: {issue}")
    return 0
