"""Minimal ``torchrun`` support (data-parallel training on several GPUs or CPU processes).

Usage::

    torchrun --nproc_per_node=4 -m irstd_lib ...   # or any script that builds a Trainer

:func:`setup_distributed` reads ``RANK``, ``WORLD_SIZE`` and ``LOCAL_RANK`` (set by torchrun),
initialises the default process group when ``WORLD_SIZE > 1`` (``nccl`` with CUDA, ``gloo``
otherwise) and returns ``(rank, world_size, device)``. Without those variables it returns
``(0, 1, device)`` and does nothing, so single-process code paths are unchanged.

:class:`~irstd_lib.engine.trainer.Trainer` detects an initialised process group: it wraps the
model in ``DistributedDataParallel``, shards the training set with a ``DistributedSampler``
(``set_epoch`` every epoch, seeded from the run seed), and only rank 0 shows progress, evaluates
and writes checkpoints (the others wait at a barrier). ``batch_size`` is per process. Resuming
reads ``last.pt`` on every rank. Only ``world_size == 1`` is exercised by the test-suite.
"""

from __future__ import annotations

import os

import torch
import torch.distributed as dist

__all__ = ["setup_distributed", "cleanup_distributed", "is_distributed", "get_rank", "get_world_size",
           "is_main_process", "barrier"]


def setup_distributed(device: str | None = None, backend: str | None = None) -> tuple[int, int, torch.device]:
    """Initialise from torchrun's environment; returns ``(rank, world_size, device)``.

    ``device`` defaults to ``cuda:<LOCAL_RANK>`` when CUDA is available, else ``cpu``.
    """
    rank = int(os.environ.get("RANK", 0))
    world_size = int(os.environ.get("WORLD_SIZE", 1))
    local_rank = int(os.environ.get("LOCAL_RANK", 0))
    if device is None:
        dev = torch.device(f"cuda:{local_rank}") if torch.cuda.is_available() else torch.device("cpu")
    else:
        dev = torch.device(device)
        if dev.type == "cuda" and dev.index is None:
            dev = torch.device(f"cuda:{local_rank}")
    if dev.type == "cuda":
        torch.cuda.set_device(dev)
    if world_size > 1 and not dist.is_initialized():
        dist.init_process_group(backend=backend or ("nccl" if dev.type == "cuda" else "gloo"),
                                rank=rank, world_size=world_size)
    return rank, world_size, dev


def cleanup_distributed() -> None:
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


def is_distributed() -> bool:
    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


def get_rank() -> int:
    return dist.get_rank() if is_distributed() else 0


def get_world_size() -> int:
    return dist.get_world_size() if is_distributed() else 1


def is_main_process() -> bool:
    return get_rank() == 0


def barrier() -> None:
    if is_distributed():
        dist.barrier()
