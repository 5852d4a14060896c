"""``torchrun`` support: data-parallel training on several GPUs or CPU processes.

Usage::

    torchrun --nproc_per_node=4 -m irstd_lib train --config CFG.json --device cuda
    python -m torch.distributed.run --nproc_per_node=2 -m irstd_lib train --config CFG.json  # CPU, gloo

:func:`setup_distributed` reads ``RANK``, ``WORLD_SIZE`` and ``LOCAL_RANK`` (set by torchrun),
initialises the default process group when ``WORLD_SIZE > 1`` (``nccl`` with CUDA, ``gloo``
otherwise) and returns ``(rank, world_size, device)``; ``device="cuda"`` becomes
``cuda:<LOCAL_RANK>``. Without those variables it returns ``(0, 1, device)`` and initialises
nothing, so single-process code paths are unchanged. ``python -m irstd_lib train`` calls it, and
:func:`cleanup_distributed` when it is done (also after an error).

With a process group initialised:

- :class:`~irstd_lib.engine.trainer.Trainer` wraps the model in ``DistributedDataParallel``
  (gradients averaged over the processes), shards every epoch with a ``DistributedSampler``
  (seeded from the run seed, ``set_epoch`` every epoch; every rank gets the same number of
  samples, hence of steps), and only rank 0 validates, shows progress, logs and writes
  checkpoints. ``batch_size`` is per process: N processes train on a global batch of
  ``N * batch_size`` and take 1/N of the single-process steps per epoch. BatchNorm layers become
  ``SyncBatchNorm`` on CUDA only; this torch's ``SyncBatchNorm`` refuses CPU tensors, so CPU
  processes normalise with their own batch statistics (see the Trainer's docstring).
- :func:`~irstd_lib.runs.run_experiment` prepares data and conditions on rank 0 first
  (the others then read what it cached), and only rank 0 writes the run folder and evaluates on
  the test split; the others wait at a barrier and return the record rank 0 wrote.
- Resuming reads ``last.pt`` on every rank; the checkpoint folder must therefore be shared by
  all processes (one machine, or a shared file system), and a checkpoint resumes only with the
  number of processes that wrote it.

The test-suite (``tests/test_distributed.py``) runs 2 CPU processes with gloo: each rank takes
half the steps, one step equals the single-process step on the same global batch, the ranks end
with identical weights, and one record is written, by rank 0 alone. ``nccl`` is not exercised.
"""

from __future__ import annotations

import os
from contextlib import contextmanager
from datetime import timedelta
from typing import Iterator

import torch
import torch.distributed as dist

__all__ = ["setup_distributed", "cleanup_distributed", "is_distributed", "get_rank", "get_world_size",
           "is_main_process", "barrier", "main_process_first"]


def setup_distributed(device: str | None = None, backend: str | None = None,
                      timeout: timedelta | None = None) -> tuple[int, int, torch.device]:
    """Initialise from torchrun's environment; returns ``(rank, world_size, device)``.

    ``device`` defaults to ``cuda:<LOCAL_RANK>`` when CUDA is available, else ``cpu``; a
    ``cuda`` device without an index becomes ``cuda:<LOCAL_RANK>`` (an explicit index is kept).
    ``timeout`` bounds every collective, barriers included (torch's default when ``None``).
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
                                rank=rank, world_size=world_size, timeout=timeout)
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


@contextmanager
def main_process_first() -> Iterator[None]:
    """Run the block on rank 0 first, then on the other ranks (which wait for it at a barrier):
    rank 0 writes shared files (a synthetic dataset, cached descriptions or embeddings) that the
    others then find in place instead of writing them concurrently. A no-op in one process."""
    if not is_main_process():
        barrier()
    yield
    if is_main_process():
        barrier()
