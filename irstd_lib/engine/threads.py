"""The intra-op thread count a run computes with on the CPU.

PyTorch splits a CPU kernel's reductions over its threads, so the order of float sums, and with
it a run's last digits, depends on the thread count; a short, chaotic training turns those digits
into different final numbers (README, determinism). :func:`cpu_threads` pins the count for one
block (a run's training and evaluation, :func:`irstd_lib.runs.run_experiment`) and restores the
previous count afterwards, so a run whose config names ``train.cpu_threads`` gives the same
numbers on a 2-core laptop and a 64-core server of the same CPU type. A CUDA run ignores it.

Measured on the 2-core AMD EPYC Zen 3 machine (2026-12-07, the smoke profile's runs at 64 px):
one thread trains as fast as two (LGNet width 16: 4.1 against 3.9 s per epoch; DNA-Net 5.3
against 5.0; DGSPNet 1.4 both), and two one-thread runs side by side each keep that speed, so
the smoke profile pins 1 thread and ``reproduce`` trains its runs side by side
(:mod:`irstd_lib.reproductions.pool`).
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

import torch

__all__ = ["cpu_threads"]


@contextmanager
def cpu_threads(threads: int | None, device: str | torch.device = "cpu") -> Iterator[None]:
    """Run the block with ``threads`` intra-op threads when ``device`` is the CPU (None, or a
    CUDA device: the process's setting is left as it is)."""
    if threads is None or torch.device(device).type != "cpu":
        yield
        return
    if int(threads) < 1:
        raise ValueError(f"cpu_threads must be >= 1, got {threads}")
    previous = torch.get_num_threads()
    torch.set_num_threads(int(threads))
    try:
        yield
    finally:
        torch.set_num_threads(previous)
