"""What the benchmarks share for timing on any device: waiting for CUDA's queued work before a
clock is read, timed calls, the device's name as the reports print it, and bf16 autocast when
asked for."""

from __future__ import annotations

import contextlib
import time
from typing import Callable

import torch

__all__ = ["autocast", "device_name", "sync", "timed_calls"]


def sync(device: torch.device) -> None:
    """Wait for the device's queued work (CUDA kernels run asynchronously; a CPU needs nothing)."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def device_name(device: torch.device) -> str:
    """``"cuda (<GPU name>)"`` or ``"cpu (<n> threads)"``."""
    if device.type == "cuda":
        return f"cuda ({torch.cuda.get_device_name(device)})"
    return f"cpu ({torch.get_num_threads()} threads)"


def autocast(device: torch.device, bf16: bool):
    """bf16 autocast on ``device`` when ``bf16``, else a context that does nothing."""
    return torch.autocast(device.type, dtype=torch.bfloat16) if bf16 else contextlib.nullcontext()


def timed_calls(fn: Callable[[], object], repeats: int, warmup: int, device: torch.device) -> list[float]:
    """Seconds of each of ``repeats`` calls of ``fn`` after ``warmup`` untimed ones, the device
    synchronised around every call."""
    times = []
    for i in range(warmup + repeats):
        sync(device)
        start = time.perf_counter()
        fn()
        sync(device)
        if i >= warmup:
            times.append(time.perf_counter() - start)
    return times
