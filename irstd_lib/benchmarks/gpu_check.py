"""The paper profile on a GPU, in one prepared check: for each system's paper variant, training
steps of the paper's batch at the paper's size and an inference latency, in fp32 and in the
profile's bf16, beside the papers' own figures.

``python -m irstd_lib.benchmarks.gpu_check --out DIR`` (a CUDA device) writes ``DIR/gpu_check.json``
and ``DIR/gpu_check.md`` and prints each system's lines as they finish, so that a run cut short
still reports. ``--device cpu --tiny`` runs the same code end to end in seconds (the test suite's
dry run). ``benchmarks/gpu_check.sh`` runs it on a bare GPU machine.

What is measured, per system and precision (``fp32``; ``bf16``: the trainer's autocast, CUDA only):

- the run config is the ``paper`` profile's (:func:`irstd_lib.reproductions.configs.run_config`):
  its model arguments, its batch, its training size, its optimizer and loss, so LGNet runs at
  width 64 and 512 px with the CLIP text tower trainable, SAIST and SAM + CLIP with SAM ViT-B and
  CLIP ViT-B-16 at 1024 px, the CNNs at 512 px. ``--tiny``: the variant's tiny widths, random
  tiny SAM and CLIP, the smoke profile's sizes, batch 2;
- SAM's and CLIP's weights are random, saved in the official formats (segment-anything's
  ``sam_vit_b`` state dict; open_clip's state dict in half precision, as OpenAI's ViT-B-16 ships)
  and loaded through the model's own loading path (nothing is downloaded);
- the training step is the trainer's own (:meth:`~irstd_lib.engine.Trainer.optimisation_step`: its
  optimizer over the model's parameter groups, its loss, ``grad_clip``, its ``amp`` and, on CUDA,
  channels-last; the scheduler is not stepped) on a random
  batch whose condition is the model's ``example_condition`` (random descriptors, token ids or
  scene prompts); ``--warmup`` untimed steps, then ``--steps`` timed ones (fewer when the budget
  says so), giving images per second and seconds per epoch of the paper's training set: the
  profile's NUAA-SIRST list (341 images; SAIST's 50 %: 214), or the images the paper's own figure
  counts (LGNet's 30 s per epoch: IRSTD-1k's 800);
- inference: the median of ``--repeats`` forward passes of one image (eval, no grad);
- memory: the peak CUDA memory allocated over both (``torch.cuda.max_memory_allocated``).

One process and one device: SyncBatchNorm and DDP are exercised by ``tests/test_distributed.py``,
not here. ``--budget-s`` (420 s by default, sized for an H200 under a 540 s command limit) bounds
the whole check: a system whose turn comes with too little time left is skipped with a line that
says so, and the timed steps are cut to what fits. ``--size`` and ``--batch`` replace every
system's (a dry run of the paper builds on a CPU: ``--device cpu --size 256 --batch 1``); the
report records them. The papers' figures are on other GPUs (LGNet:
an RTX A5000; SAIST: an A800), so a ratio to them compares machines as much as code.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable, Sequence

import torch

from irstd_lib.benchmarks.timing import autocast, device_name as _device_name, sync as _sync, timed_calls

__all__ = ["SYSTEMS", "SystemCheck", "main", "run_check"]

#: training images per epoch of the paper profile's dataset (NUAA-SIRST, 427 images): the
#: authors' idx_427 trainval list, and SAIST's 50 % (rounded as irstd_lib.data.splits rounds)
PROFILE_TRAIN_IMAGES = {"standard": 341, "saist_50_30_20": 214}


@dataclass(frozen=True)
class SystemCheck:
    """One line of the check: a system's paper variant and its paper's own speed figures."""

    system: str
    variant: str
    paper: dict[str, Any] = field(default_factory=dict)


# SAIST first (the centrepiece), then the costly SAM-based and text-tower systems, the CNNs last,
# so that a short budget drops the cheapest lines.
SYSTEMS: tuple[SystemCheck, ...] = (
    SystemCheck("SAIST", "saist", {"latency_ms": 81.0, "gpu": "A800", "source": "SAIST Table 3: 0.081 s per image"}),
    SystemCheck("LGNet", "lgnet", {"train_s_per_epoch": 30.0, "epoch_images": 800, "latency_ms": 25.0, "gpu": "RTX A5000",
                                   "source": "LGNet 4.1: 30 s per epoch, 25 ms per image"}),
    SystemCheck("SAM + CLIP", "clip_sam", {"latency_ms": 79.0, "gpu": "A800", "source": "SAIST Table 3: 0.079 s per image"}),
    SystemCheck("DGSPNet", "dgspnet"),
    SystemCheck("GGL-Net", "ggl_net"),
    SystemCheck("DNA-Net", "dnanet"),
    SystemCheck("ACM", "acm"),
)


def official_weights(folder: Path, sam: bool, clip: bool) -> dict[str, str]:
    """Random SAM ViT-B and CLIP ViT-B-16 weights written in their official formats under
    ``folder`` (made once): ``{"sam_checkpoint": path, "clip_checkpoint": path}``, the ones asked for."""
    out: dict[str, str] = {}
    folder.mkdir(parents=True, exist_ok=True)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        if sam:
            path = folder / "sam_vit_b_random.pth"
            if not path.is_file():
                from segment_anything import sam_model_registry

                torch.save(sam_model_registry["vit_b"](checkpoint=None).state_dict(), path)
            out["sam_checkpoint"] = str(path)
        if clip:
            path = folder / "open_clip_ViT-B-16_random.pt"
            if not path.is_file():
                import open_clip

                model = open_clip.create_model("ViT-B-16", pretrained=None)
                torch.save({k: v.half() if v.is_floating_point() else v for k, v in model.state_dict().items()}, path)
            out["clip_checkpoint"] = str(path)
    return out


def _configs(check: SystemCheck, tiny: bool, weights: dict[str, str], size: int | None = None, batch: int | None = None):
    """``(run config, training size, batch)``: the paper profile's, or at ``tiny`` its model
    arguments with the variant's tiny ones over them, the smoke profile's size and batch 2."""
    from irstd_lib.models import get_variant
    from irstd_lib.reproductions.configs import run_config

    # (at tiny the paper config is built with placeholder weights paths, dropped below: nothing is read)
    config = run_config("paper", check.variant, **(weights or {"sam_checkpoint": "-", "clip_checkpoint": "-"}))
    if not tiny:
        return config, size or config.data.train_size, batch or int(config.train_config().batch_size)
    variant = get_variant(check.variant)
    kwargs = {k: v for k, v in {**config.model_kwargs, **variant.tiny}.items() if not k.endswith("checkpoint")}
    conditioning = {k: v for k, v in config.conditioning.items() if k != "clip_checkpoint"}
    if "clip" in conditioning:
        conditioning["clip"] = "tiny"
    size = size or run_config("smoke", check.variant).data.train_size
    return replace(config, model_kwargs=kwargs, conditioning=conditioning), size, batch or 2


def _condition_kwargs(config) -> dict[str, Any]:
    """What the run's condition would hand the model (LGNet's descriptor width and, with the text
    tower trained, the tower itself), built without data."""
    if config.conditioning_kind != "target_descriptor":
        return {}
    from irstd_lib.conditioning.target_descriptor import KIND
    from irstd_lib.models.lgnet.text_encoder import ClipTextEncoder

    settings = config.condition_settings
    encoder = ClipTextEncoder(settings.clip, settings.clip_checkpoint, config.seed)
    return KIND.model_kwargs(settings, encoder.embed_dim, encoder if settings.clip_text == "finetune" else None)


def measure_system(check: SystemCheck, precision: str, device: torch.device, tiny: bool, weights: dict[str, str],
                   warmup: int, steps: int, repeats: int, seconds_left: Callable[[], float], size: int | None = None,
                   batch: int | None = None) -> dict[str, Any]:
    """One system at one precision (see the module docstring): a row of figures, or a row that
    says why it was skipped."""
    from irstd_lib.engine import Trainer
    from irstd_lib.engine.evaluate import move_to_device
    from irstd_lib.models import build_model

    config, size, batch = _configs(check, tiny, weights, size, batch)
    row: dict[str, Any] = {"system": check.system, "variant": check.variant, "precision": precision, "size": size,
                           "batch": batch, "device": _device_name(device), "paper": dict(check.paper)}
    if precision == "bf16" and device.type != "cuda":
        return {**row, "skipped": "bf16 autocast is CUDA only (the trainer ignores amp='bf16' on a CPU)"}
    if device.type == "cuda":
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats(device)
    started = time.perf_counter()
    torch.manual_seed(config.seed)
    model = build_model(config.model, **{**_condition_kwargs(config), **config.model_kwargs})
    train_cfg = config.train_config(str(device), progress=False)
    train_cfg = replace(train_cfg, amp="bf16" if precision == "bf16" else "none", channels_last=device.type == "cuda",
                        batch_size=batch, train_size=size, epochs=1, pretrain_epochs=0)
    generator = torch.Generator().manual_seed(0)
    images = torch.rand(batch, 1, size, size, generator=generator)
    masks = (torch.rand(batch, 1, size, size, generator=generator) > 0.998).float()
    condition = model.example_condition(batch, generator)

    def conditioner(batch_: dict, phase: str) -> Any:
        # as the scene-prompt conditioner does in training: the batch's mask rides along (SAIST
        # removes the targets from CLIP's view of a training image)
        return {**condition, "target_mask": batch_["mask"]} if isinstance(condition, dict) else condition

    with tempfile.TemporaryDirectory() as scratch:
        trainer = Trainer(model, train_cfg, [{"image": images[i], "mask": masks[i]} for i in range(batch)], None,
                          Path(scratch), conditioner=conditioner)
    batch_dict = {"image": images, "mask": masks}
    model_s = time.perf_counter() - started

    def train_step() -> None:
        trainer.optimisation_step(batch_dict)

    trainer.module.train()
    for _ in range(warmup):
        train_step()
    _sync(device)
    one = time.perf_counter()
    train_step()
    _sync(device)
    step_s = time.perf_counter() - one
    # the timed steps that fit in half of what is left (the other half: inference and later systems)
    timed = max(1, min(steps, int(0.5 * seconds_left() / max(step_s, 1e-6))))
    t0 = time.perf_counter()
    for _ in range(timed):
        train_step()
    _sync(device)
    step_s = (time.perf_counter() - t0) / timed

    trainer.module.eval()
    image = trainer.module.input_spec.prepare(images[:1].to(device))
    if train_cfg.channels_last:
        image = image.contiguous(memory_format=torch.channels_last)
    one_condition = move_to_device(model.example_condition(1, generator), device)
    def forward() -> None:
        with autocast(device, precision == "bf16"):
            trainer.module(image, one_condition)

    with torch.no_grad():
        latencies = timed_calls(forward, repeats, warmup, device)
    epoch_images = check.paper.get("epoch_images") or PROFILE_TRAIN_IMAGES.get(config.data.split_scheme,
                                                                               PROFILE_TRAIN_IMAGES["standard"])
    images_per_s = batch / step_s
    row.update({
        "params": sum(p.numel() for p in trainer.module.parameters()), "trainable": trainer.module.trainable_parameters(),
        "timed_steps": timed, "train_images_per_s": images_per_s, "epoch_images": epoch_images,
        "train_s_per_epoch": epoch_images / images_per_s, "latency_ms": 1e3 * statistics.median(latencies),
        "build_s": model_s, "peak_memory_gib": torch.cuda.max_memory_allocated(device) / 2 ** 30 if device.type == "cuda" else None,
    })
    del trainer, model
    return row


def describe(row: dict[str, Any]) -> str:
    """One printed line of a row."""
    head = f"{row['system']:<11} {row['precision']:<4} {row['size']:>4} px, batch {row['batch']}"
    if "skipped" in row:
        return f"{head}: skipped: {row['skipped']}"
    memory = f", peak {row['peak_memory_gib']:.1f} GiB" if row.get("peak_memory_gib") is not None else ""
    paper = row["paper"]
    beside = []
    if "train_s_per_epoch" in paper:
        beside.append(f"{paper['train_s_per_epoch']:g} s per epoch")
    if "latency_ms" in paper:
        beside.append(f"{paper['latency_ms']:g} ms per image")
    said = f"; paper ({paper['gpu']}): {', '.join(beside)}" if beside else ""
    return (f"{head}: {row['train_images_per_s']:.3g} img/s training ({row['timed_steps']} steps), "
            f"{row['train_s_per_epoch']:.1f} s per epoch of {row['epoch_images']}, {row['latency_ms']:.1f} ms per image{memory}{said}")


def markdown(report: dict[str, Any]) -> str:
    """The report as a Markdown table with its header facts."""
    lines = [f"# GPU check of the paper profile ({report['device']}, torch {report['torch']}, {report['date']})", "",
             f"Budget {report['budget_s']:.0f} s, used {report['seconds']:.0f} s; weights: {report['weights']}"
             + (f"; every system at {report['overrides']} instead of its profile's" if report.get("overrides") else "") + ".", "",
             "| system | precision | size | batch | train img/s | s per epoch (images) | ms per image | peak GiB | paper |",
             "|---|---|---|---|---|---|---|---|---|"]
    for row in report["rows"]:
        paper = row["paper"].get("source", "")
        if "skipped" in row:
            lines.append(f"| {row['system']} | {row['precision']} | {row['size']} | {row['batch']} | skipped: {row['skipped']} | | | | {paper} |")
            continue
        memory = f"{row['peak_memory_gib']:.1f}" if row.get("peak_memory_gib") is not None else ""
        lines.append(f"| {row['system']} | {row['precision']} | {row['size']} | {row['batch']} | {row['train_images_per_s']:.3g} | "
                     f"{row['train_s_per_epoch']:.1f} ({row['epoch_images']}) | {row['latency_ms']:.1f} | {memory} | {paper} |")
    return "\n".join(lines) + "\n"


def run_check(device: str = "cuda", tiny: bool = False, budget_s: float = 420.0, warmup: int = 3, steps: int = 10,
              repeats: int = 20, systems: Sequence[str] | None = None, weights_dir: str | Path | None = None,
              out: str | Path | None = None, echo: Callable[[str], None] = print, size: int | None = None,
              batch: int | None = None) -> dict[str, Any]:
    """The whole check (see the module docstring); returns the report, written to ``out`` as
    ``gpu_check.json`` and ``gpu_check.md`` after every row when ``out`` is given."""
    from datetime import datetime, timezone

    from irstd_lib.io import atomic_write_json, atomic_write_text

    dev = torch.device(device)
    known = {c.variant for c in SYSTEMS} | {c.system for c in SYSTEMS}
    unknown = sorted(set(systems or ()) - known)
    if unknown:
        raise ValueError(f"unknown systems {unknown}; choose among {', '.join(c.variant for c in SYSTEMS)}")
    chosen = [c for c in SYSTEMS if systems is None or c.variant in systems or c.system in systems]
    start = time.perf_counter()
    left = lambda: budget_s - (time.perf_counter() - start)  # noqa: E731
    report: dict[str, Any] = {"device": _device_name(dev), "torch": torch.__version__,
                              "date": datetime.now(timezone.utc).strftime("%Y-%m-%d"), "tiny": tiny,
                              "budget_s": budget_s, "rows": [], "seconds": 0.0,
                              "overrides": {k: v for k, v in {"size": size, "batch": batch}.items() if v is not None}}
    weights: dict[str, str] = {}
    if not tiny:
        folder = Path(weights_dir) if weights_dir else Path(tempfile.mkdtemp(prefix="irstd-gpu-check-"))
        weights = official_weights(folder, sam=True, clip=True)
    report["weights"] = "random, in the official formats (SAM ViT-B, CLIP ViT-B-16)" if weights else "random tiny builds"
    precisions = ("fp32", "bf16")
    for check in chosen:
        for precision in precisions:
            # a system's turn needs about a tenth of the budget; with less, say so and go on
            if left() < 0.1 * budget_s:
                row = {"system": check.system, "variant": check.variant, "precision": precision, "size": None, "batch": None,
                       "paper": dict(check.paper), "skipped": f"budget: {max(left(), 0):.0f} s of {budget_s:.0f} s left"}
                row["size"], row["batch"] = "-", "-"
            else:
                try:
                    row = measure_system(check, precision, dev, tiny, weights, warmup, steps, repeats, left, size, batch)
                except torch.cuda.OutOfMemoryError as error:  # a line, not the end of the check
                    row = {"system": check.system, "variant": check.variant, "precision": precision, "size": "-", "batch": "-",
                           "paper": dict(check.paper), "skipped": f"out of memory ({str(error).splitlines()[0]})"}
                    torch.cuda.empty_cache()
            report["rows"].append(row)
            report["seconds"] = time.perf_counter() - start
            echo(describe(row))
            if out is not None:
                atomic_write_json(Path(out) / "gpu_check.json", report)
                atomic_write_text(Path(out) / "gpu_check.md", markdown(report))
    return report


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m irstd_lib.benchmarks.gpu_check", description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--tiny", action="store_true", help="tiny random models at the smoke sizes, batch 2 (a dry run)")
    parser.add_argument("--budget-s", type=float, default=420.0, help="the whole check's time limit in seconds (default 420)")
    parser.add_argument("--warmup", type=int, default=3, help="untimed steps and forward passes before timing (default 3; 0 allowed)")
    parser.add_argument("--steps", type=int, default=10, help="timed training steps, at most (default 10)")
    parser.add_argument("--repeats", type=int, default=20, help="timed forward passes of one image (default 20)")
    parser.add_argument("--systems", nargs="*", default=None, help="variants or system names to check (default: all)")
    parser.add_argument("--weights-dir", default=None, help="where the random official-format weights are written (default: a temporary folder)")
    parser.add_argument("--out", default=None, help="folder for gpu_check.json and gpu_check.md (written after every line)")
    parser.add_argument("--size", type=int, default=None,
                        help="every system at this size instead of its profile's (a CPU dry run of the paper builds)")
    parser.add_argument("--batch", type=int, default=None, help="every system at this batch instead of its profile's")
    args = parser.parse_args(argv)
    report = run_check(args.device, args.tiny, args.budget_s, args.warmup, args.steps, args.repeats, args.systems,
                       args.weights_dir, args.out, echo=lambda line: print(line, flush=True), size=args.size, batch=args.batch)
    measured = sum("skipped" not in r for r in report["rows"])
    print(f"{measured} of {len(report['rows'])} lines measured in {report['seconds']:.0f} s on {report['device']}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
