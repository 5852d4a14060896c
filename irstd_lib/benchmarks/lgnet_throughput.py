"""LGNet's paper-profile speed: training throughput and inference latency, with and without bf16
autocast and channels_last, beside the paper's figures.

The paper (RTX A5000): 30 s per training epoch and 25 ms per image at inference, for the
full-width model at 512x512, batch 8. The epoch is read as one pass over IRSTD-1k's 800 training
images (100 steps of 8), the dataset of its tables; ``--train-images`` changes it.

For each setting (fp32 or bf16 autocast; contiguous or channels_last memory format) it measures,
after ``--warmup`` untimed steps:

- training: ``--steps`` steps of the paper's step (forward of a random batch, BCE on the fused and
  the six side outputs, backward, an Adan step over the model's parameter groups), giving
  images per second and seconds per epoch of ``--train-images`` images;
- inference: the median of ``--repeats`` forward passes of one image (eval mode, no grad).

The target descriptor is a random unit vector per image (the frozen-CLIP path, whose embeddings
are computed once before training); ``--finetune-text`` adds the trainable CLIP text tower
(``--clip`` architecture, random weights) and feeds it token ids, as the paper profile trains.
CUDA is synchronised around every timed call. The figures are printed (and written with
``--json``), never asserted: speed targets live here, not in tests.

Usage (a GPU)::

    python -m irstd_lib.benchmarks.lgnet_throughput --device cuda
    python -m irstd_lib.benchmarks.lgnet_throughput --device cpu --size 128 --batch 2 --steps 2   # a check
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from typing import Any, Sequence

import torch

from irstd_lib.benchmarks.timing import autocast as _autocast, device_name as _device_name, sync as _sync, timed_calls

__all__ = ["measure", "main", "PAPER"]

PAPER = {"train_s_per_epoch": 30.0, "latency_ms": 25.0, "gpu": "RTX A5000", "size": 512, "batch": 8,
         "source": "LGNet paper, implementation details"}


def measure(
    device: str = "cuda",
    size: int = 512,
    batch: int = 8,
    steps: int = 20,
    warmup: int = 3,
    repeats: int = 20,
    train_images: int = 800,
    width: int = 64,
    finetune_text: bool = False,
    clip: str = "ViT-B-16",
    settings: Sequence[tuple[bool, bool]] = ((False, False), (True, False), (False, True), (True, True)),
    seed: int = 0,
) -> list[dict[str, Any]]:
    """One row per (bf16, channels_last) setting; see the module docstring."""
    from irstd_lib.engine.losses import DeepSupervisionLoss
    from irstd_lib.engine.optim import build_optimizer
    from irstd_lib.models import build_model
    from irstd_lib.models.base import grouped_parameters

    dev = torch.device(device)
    rows = []
    for bf16, channels_last in settings:
        torch.manual_seed(seed)
        kwargs: dict[str, Any] = {"width": width}
        if finetune_text:
            from irstd_lib.models.lgnet.text_encoder import ClipTextEncoder

            encoder = ClipTextEncoder(clip, seed=seed)
            kwargs.update(text_encoder=encoder, descriptor_dim=encoder.embed_dim)
        model = build_model("lgnet", **kwargs).to(dev)
        memory_format = torch.channels_last if channels_last else torch.contiguous_format
        model = model.to(memory_format=memory_format)
        generator = torch.Generator().manual_seed(seed)
        image = torch.rand(batch, 1, size, size, generator=generator).to(dev).contiguous(memory_format=memory_format)
        target = (torch.rand(batch, 1, size, size, generator=generator) > 0.998).float().to(dev)
        from irstd_lib.engine.evaluate import move_to_device

        condition = move_to_device(model.example_condition(batch, generator), dev)
        groups = grouped_parameters(model)
        optimizer = build_optimizer("adan", [{"params": g.params, "lr": 1e-3 * g.lr_scale, "weight_decay": 1e-4}
                                             for g in groups], lr=1e-3, weight_decay=1e-4)
        loss_fn = DeepSupervisionLoss("bce")
        model.train()

        def step() -> None:
            optimizer.zero_grad(set_to_none=True)
            with _autocast(dev, bf16):
                out = model(image, condition)
            loss_fn(out, target)[0].backward()
            optimizer.step()

        for _ in range(warmup):
            step()
        _sync(dev)
        started = time.perf_counter()
        for _ in range(steps):
            step()
        _sync(dev)
        step_s = (time.perf_counter() - started) / steps

        model.eval()
        one = image[:1]
        one_condition = move_to_device(model.example_condition(1, generator), dev)
        def forward() -> None:
            with _autocast(dev, bf16):
                model(one, one_condition)

        with torch.no_grad():
            times = timed_calls(forward, repeats, warmup, dev)
        images_per_s = batch / step_s
        rows.append({
            "bf16": bf16, "channels_last": channels_last, "device": _device_name(dev), "size": size, "batch": batch,
            "width": width, "finetune_text": finetune_text, "train_images_per_s": images_per_s,
            "train_s_per_epoch": train_images / images_per_s, "train_images_per_epoch": train_images,
            "latency_ms": 1e3 * statistics.median(times),
            "vs_paper_train": PAPER["train_s_per_epoch"] / (train_images / images_per_s),
            "vs_paper_latency": PAPER["latency_ms"] / (1e3 * statistics.median(times)),
        })
        del model, optimizer
        if dev.type == "cuda":
            torch.cuda.empty_cache()
    return rows


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--train-images", type=int, default=800, help="images per epoch (IRSTD-1k trainval: 800)")
    parser.add_argument("--width", type=int, default=64)
    parser.add_argument("--finetune-text", action="store_true", help="train the CLIP text tower too (paper profile)")
    parser.add_argument("--clip", default="ViT-B-16", help="open_clip architecture of the text tower, or 'tiny'")
    parser.add_argument("--json", action="store_true", help="print one JSON object per setting")
    args = parser.parse_args(argv)
    rows = measure(args.device, args.size, args.batch, args.steps, args.warmup, args.repeats, args.train_images,
                   args.width, args.finetune_text, args.clip)
    if args.json:
        for row in rows:
            print(json.dumps(row, sort_keys=True))
        return 0
    print(f"LGNet width {args.width}, {args.size}x{args.size}, batch {args.batch}, {rows[0]['device']}; "
          f"paper: {PAPER['train_s_per_epoch']:.0f} s per epoch, {PAPER['latency_ms']:.0f} ms per image on an {PAPER['gpu']}")
    print(f"{'bf16':>5} {'ch_last':>7} {'img/s':>9} {'s/epoch':>9} {'x paper':>8} {'ms/img':>8} {'x paper':>8}")
    for r in rows:
        print(f"{str(r['bf16']):>5} {str(r['channels_last']):>7} {r['train_images_per_s']:9.1f} {r['train_s_per_epoch']:9.1f} "
              f"{r['vs_paper_train']:8.2f} {r['latency_ms']:8.1f} {r['vs_paper_latency']:8.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
