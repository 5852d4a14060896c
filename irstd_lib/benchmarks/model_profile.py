"""Size and speed of any registered method: parameters, FLOPs, inference latency, training throughput.

``profile_model("lgnet", size=512, width=64)`` ->
``{"params", "trainable_params", "gflops", "gmacs", "flop_convention", "latency_ms",
"train_img_per_s", "published", "device", ...}``.

- ``gflops``: one forward pass of ONE image at ``size x size``, counted by
  ``torch.utils.flop_counter.FlopCounterMode``, which counts a multiply-add as 2 FLOPs
  (convolutions and matrix products; element-wise ops, pooling, BatchNorm and interpolation are
  not counted). ``gmacs = gflops / 2`` is the number most papers print as "FLOPs" (thop's MACs).
- ``latency_ms``: median wall time of ``repeats`` forward passes of a ``batch`` after
  ``warmup`` passes, eval mode, no grad (CUDA is synchronised around each pass).
- ``train_img_per_s``: images per second over ``train_steps`` training steps (forward, BCE on
  the final and auxiliary logits plus the model's own losses, backward, Adam step over the
  model's parameter groups) on a random batch of ``train_batch`` images, after one warm-up step.
- ``published``: what the variant's paper (or toolbox) reports, from the registry.

The benchmark reads only the model contract (:mod:`irstd_lib.models.base`): inputs are random
[0, 1] images through ``input_spec.prepare``, the condition is ``model.example_condition``.
Classical methods (no parameters, no training) report their latency on one random image and
``None`` for FLOPs and training.

CLI: ``python -m irstd_lib.benchmarks.model_profile --model lgnet --width 16 --size 256``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from typing import Any, Sequence

import numpy as np
import torch

from irstd_lib.benchmarks.timing import timed_calls as _timed
from irstd_lib.engine.evaluate import move_to_device
from irstd_lib.model_options import add_weights_arguments, weights_kwargs
from irstd_lib.models.base import ClassicalMethod, IRSTDModel, grouped_parameters

__all__ = ["profile_model", "count_parameters", "count_flops", "main"]

FLOP_CONVENTION = "torch.utils.flop_counter.FlopCounterMode: 1 multiply-add = 2 FLOPs; forward, one image"


def count_parameters(model: Any) -> int:
    return sum(p.numel() for p in model.parameters())


def _inputs(model: IRSTDModel, batch: int, size: int, device: torch.device, generator: torch.Generator):
    image = model.input_spec.prepare(torch.rand(batch, 1, size, size, generator=generator)).to(device)
    return image, move_to_device(model.example_condition(batch, generator), device)


def count_flops(model: IRSTDModel, size: int, device: str | torch.device = "cpu", seed: int = 0) -> int:
    """FLOPs (FlopCounterMode convention) of one forward pass of one ``size x size`` image."""
    from torch.utils.flop_counter import FlopCounterMode

    generator = torch.Generator().manual_seed(seed)
    image, condition = _inputs(model, 1, size, torch.device(device), generator)
    was_training = model.training
    model.eval()
    try:
        with FlopCounterMode(display=False) as counter, torch.no_grad():
            model(image, condition)
    finally:
        model.train(was_training)
    return int(counter.get_total_flops())


def _profile_classical(name: str, method: ClassicalMethod, size: int, repeats: int, warmup: int, seed: int) -> dict[str, Any]:
    image = np.random.default_rng(seed).random((size, size), dtype=np.float32)
    times = _timed(lambda: method.segment(image), repeats, warmup, torch.device("cpu"))
    return {"params": 0, "trainable_params": 0, "gflops": None, "gmacs": None, "flop_convention": None,
            "latency_ms": 1e3 * statistics.median(times), "train_img_per_s": None, "batch": 1, "device": "cpu"}


def profile_model(
    name: str,
    size: int = 512,
    batch: int = 1,
    device: str = "cpu",
    repeats: int = 5,
    warmup: int = 2,
    train_batch: int = 2,
    train_steps: int = 3,
    train_size: int | None = None,
    measure_training: bool = True,
    seed: int = 0,
    **model_kwargs: Any,
) -> dict[str, Any]:
    """Profile the registered method ``name`` built with ``model_kwargs`` (see the module docstring)."""
    from irstd_lib.engine.losses import DeepSupervisionLoss
    from irstd_lib.models import build_model, get_variant

    variant = get_variant(name)
    torch_device = torch.device(device)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = build_model(name, **model_kwargs)
    common = {"model": name, "model_kwargs": dict(model_kwargs), "kind": variant.kind, "size": size,
              "published": dict(variant.published), "torch_threads": torch.get_num_threads()}
    if isinstance(model, ClassicalMethod):
        return {**common, **_profile_classical(name, model, size, repeats, warmup, seed)}

    model = model.to(torch_device).eval()
    generator = torch.Generator().manual_seed(seed)
    image, condition = _inputs(model, batch, size, torch_device, generator)
    with torch.no_grad():
        times = _timed(lambda: model(image, condition), repeats, warmup, torch_device)

    train_img_per_s = None
    if measure_training:
        train_size = train_size or size
        model.train()
        groups = grouped_parameters(model)
        optimizer = torch.optim.Adam([{"params": g.params} for g in groups], lr=1e-4)
        loss_fn = DeepSupervisionLoss("bce")
        image, condition = _inputs(model, train_batch, train_size, torch_device, generator)
        target = (torch.rand(train_batch, 1, train_size, train_size, generator=generator) > 0.99).float().to(torch_device)

        def step() -> None:
            optimizer.zero_grad(set_to_none=True)
            loss_fn(model(image, condition), target)[0].backward()
            optimizer.step()

        elapsed = sum(_timed(step, train_steps, 1, torch_device))
        train_img_per_s = train_batch * train_steps / elapsed
        model.eval()

    # Counted last: the timings above must not depend on the counter's dispatch-mode bookkeeping.
    flops = count_flops(model, size, torch_device, seed)

    return {
        **common,
        "params": count_parameters(model),
        "trainable_params": model.trainable_parameters(),
        "modules": {name: {"params": total, "trainable_params": trainable}
                    for name, (total, trainable) in model.parameter_breakdown().items()},
        "gflops": flops / 1e9,
        "gmacs": flops / 2e9,
        "flop_convention": FLOP_CONVENTION,
        "batch": batch,
        "latency_ms": 1e3 * statistics.median(times),
        "train_img_per_s": train_img_per_s,
        "train_batch": train_batch if measure_training else None,
        "train_size": (train_size or size) if measure_training else None,
        "device": str(torch_device) if torch_device.type != "cuda" else f"cuda ({torch.cuda.get_device_name(torch_device)})",
    }


def parse_kwarg(text: str) -> tuple[str, Any]:
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"expected key=value, got {text!r}")
    try:
        return key, json.loads(value)
    except json.JSONDecodeError:
        return key, value


def add_profile_arguments(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """The options of ``python -m irstd_lib profile`` (and of this module run as a script)."""
    parser.add_argument("--model", default="lgnet", help="registered model name (default lgnet; `python -m irstd_lib models` lists them)")
    parser.add_argument("--width", type=int, default=None, help="model width (passed as width=...)")
    add_weights_arguments(parser)
    parser.add_argument("--size", type=int, default=512, help="square input size (default 512)")
    parser.add_argument("--batch", type=int, default=1, help="batch for the latency measurement")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--repeats", type=int, default=5, help="timed forward passes (median reported)")
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--train-batch", type=int, default=2)
    parser.add_argument("--train-steps", type=int, default=3)
    parser.add_argument("--train-size", type=int, default=None, help="input size for the training measurement (default --size)")
    parser.add_argument("--no-train", action="store_true", help="skip the training-throughput measurement")
    parser.add_argument("--kw", action="append", type=parse_kwarg, default=[], metavar="KEY=VALUE",
                        help="extra model keyword (JSON value), e.g. --kw language_fusion=false")
    parser.add_argument("--json", action="store_true",
                        help="print one JSON object (params, gflops, latency_ms, train_img_per_s, ...) instead of a sentence")
    parser.add_argument("--out", default=None, metavar="PATH", help="also write the result as JSON to PATH")
    return parser


def run_profile(args: argparse.Namespace) -> int:
    """Run the benchmark from parsed arguments and print its figures."""

    kwargs = dict(args.kw)
    kwargs.update(weights_kwargs(args))
    if args.width is not None:
        kwargs["width"] = args.width
    result = profile_model(
        args.model,
        size=args.size,
        batch=args.batch,
        device=args.device,
        repeats=args.repeats,
        warmup=args.warmup,
        train_batch=args.train_batch,
        train_steps=args.train_steps,
        train_size=args.train_size,
        measure_training=not args.no_train,
        **kwargs,
    )
    if args.out:
        from irstd_lib.io import atomic_write_json

        atomic_write_json(args.out, result)
    if args.json:
        print(json.dumps(result, sort_keys=True))
        return 0
    if result["kind"] == "classical":
        print(f"{args.model} {kwargs}: classical method, no parameters; latency {result['latency_ms']:.1f} ms "
              f"on one {args.size}x{args.size} image (CPU)")
        return 0
    train = f"{result['train_img_per_s']:.2f} img/s" if result["train_img_per_s"] is not None else "not measured"
    published = result["published"]
    paper = ""
    if published:
        facts = [f"{published['params'] / 1e6:.3f} M parameters" + (f" ({published['params_kind']})" if "params_kind" in published else "")]
        if "gflops" in published:
            facts.append(f"{published['gflops']} G ({published.get('flops_convention')})")
        if "latency_s" in published:
            facts.append(f"{published['latency_s']} s per image")
        paper = f"; published at {published.get('size')} px: {', '.join(facts)} [{published.get('source')}]"
    print(
        f"{args.model} {kwargs}: {result['params']:,} parameters ({result['trainable_params']:,} trainable), "
        f"{result['gflops']:.3f} GFLOPs ({result['gmacs']:.3f} GMACs) at {args.size}x{args.size}; latency "
        f"{result['latency_ms']:.1f} ms (batch {args.batch}, {result['device']}); training {train}{paper}"
    )
    for name, counts in result["modules"].items():
        print(f"  {name:<42} {counts['params']:>13,} parameters, {counts['trainable_params']:>11,} trainable")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m irstd_lib.benchmarks.model_profile", description=__doc__.split("\n\n")[0])
    return run_profile(add_profile_arguments(parser).parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
