"""One process of the 2-process gloo job that tests/test_distributed.py launches with torchrun.

    python -m torch.distributed.run --nproc_per_node 2 ... tests/distributed_worker.py OUT RESULTS CONFIG [SECONDS]

A worker still running after ``SECONDS`` (default 120) prints every thread's stack and exits, so
that a hung collective fails the test with a trace instead of hanging it.

Two parts, in the one process group that the command line sets up (a second group in the same
job would reuse the first one's store keys, and the ranks could meet at stale addresses):

1. ``python -m irstd_lib train --config CONFIG --results RESULTS`` through the real command line
   (``irstd_lib.__main__.main``, which sets the group up from torchrun's environment and tears it
   down). Every file the library writes through :mod:`irstd_lib.io` is listed per rank, and the
   final weights, the fit result and the returned record of each rank are saved.
2. Once ``run_experiment`` has returned, before the command destroys the group: the Trainer alone, on a BatchNorm-free model (CPU processes normalise with per-rank statistics,
   so a model with BatchNorm would not match one process) and SGD (whose step is proportional to
   the gradient, so a sum of the ranks' gradients would not pass for their mean):
   ``steps``: 8 samples, batch 2 per rank, one epoch; the indices each rank trained on are saved.
   ``one_step``: 4 samples, batch 2 per rank: a single step on the global batch of all 4.
   ``resume``: 2 epochs straight, and 2 epochs killed after the first and resumed from ``last.pt``.

Everything goes to ``OUT/<part>-rank<R>.*`` by plain writes of this script, not the library's.
"""

from __future__ import annotations

import faulthandler
import json
import os
import sys
from pathlib import Path

import torch
import torch.nn as nn

from irstd_lib.models.base import IRSTDModel

SAMPLES_STEPS = 8
SAMPLES_ONE_STEP = 4
BATCH_PER_RANK = 2
SIDE = 16


class TwoConvNet(IRSTDModel):
    """Two 3x3 convolutions, no normalisation: one process and N give the same step."""

    def __init__(self, width: int = 4):
        super().__init__()
        self.conv1 = nn.Conv2d(1, width, 3, padding=1)
        self.conv2 = nn.Conv2d(width, 1, 3, padding=1)

    def forward(self, image: torch.Tensor, condition=None) -> dict:
        return {"logits": self.conv2(torch.relu(self.conv1(image)))}


class IndexedImages(torch.utils.data.Dataset):
    """``n`` fixed random images with a bright 3x3 target each; items carry their index."""

    def __init__(self, n: int):
        generator = torch.Generator().manual_seed(1)
        self.images = 0.2 + 0.1 * torch.rand(n, 1, SIDE, SIDE, generator=generator)
        self.masks = torch.zeros(n, 1, SIDE, SIDE)
        for i in range(n):
            row, col = 2 + (3 * i) % (SIDE - 5), 2 + (5 * i) % (SIDE - 5)
            self.masks[i, 0, row:row + 3, col:col + 3] = 1.0
        self.images = self.images + 0.6 * self.masks

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, index: int) -> dict:
        return {"image": self.images[index], "mask": self.masks[index], "index": index}


def sgd_config(batch_size: int, **overrides):
    from irstd_lib.engine import TrainConfig

    settings = dict(epochs=1, batch_size=batch_size, optimizer="sgd", lr=0.5, weight_decay=0.0, scheduler="constant",
                    warmup_epochs=0, loss="bce", seed=3, val_size=None, progress=False)
    return TrainConfig(**{**settings, **overrides})


def train_two_conv(n: int, batch_size: int, checkpoint_dir: Path, seen: list | None = None, epochs: int = 1,
                   stop_after_epoch: int | None = None) -> tuple[dict, dict]:
    """Fit a freshly seeded :class:`TwoConvNet` on ``n`` samples (resuming from
    ``checkpoint_dir/last.pt`` when it exists); returns (fit result, weights). ``seen`` collects
    the sample indices of every training batch."""
    from irstd_lib.engine import Trainer

    def record_indices(batch, phase):
        if seen is not None:
            seen.extend(int(i) for i in batch["index"])
        return None

    torch.manual_seed(0)
    trainer = Trainer(TwoConvNet(), sgd_config(batch_size, epochs=epochs), IndexedImages(n), None, checkpoint_dir,
                      conditioner=record_indices)
    result = trainer.fit(stop_after_epoch=stop_after_epoch)
    return result, {k: v.detach().clone() for k, v in trainer.module.state_dict().items()}


def run_cli(out: Path, results: str, config: str, rank: int) -> None:
    import irstd_lib.engine.trainer as trainer_module
    import irstd_lib.runs as runs
    import irstd_lib.io as io
    from irstd_lib.__main__ import main

    writes = out / f"cli-writes-rank{rank}.txt"
    original_write, original_fit, original_run = io._atomic_write, trainer_module.Trainer.fit, runs.run_experiment

    def logged_write(path, write, mode):
        with open(writes, "a", encoding="utf-8") as log:
            log.write(f"{os.fspath(path)}\n")
        return original_write(path, write, mode)

    def fit_and_keep(self, *args, **kwargs):
        result = original_fit(self, *args, **kwargs)
        torch.save({"state": self.module.state_dict(), "steps": result["steps"], "history": result["history"]},
                   out / f"cli-fit-rank{rank}.pt")
        return result

    def run_and_keep(*args, **kwargs):
        run = original_run(*args, **kwargs)
        (out / f"cli-record-rank{rank}.json").write_text(json.dumps(run.record, sort_keys=True))
        # the Trainer part's fits and checkpoints are not the command's
        io._atomic_write, trainer_module.Trainer.fit = original_write, original_fit
        run_trainer(out, rank)
        return run

    writes.write_text("")
    io._atomic_write, trainer_module.Trainer.fit, runs.run_experiment = logged_write, fit_and_keep, run_and_keep
    try:
        code = main(["train", "--config", config, "--results", results, "--no-progress", "--json"])
    finally:
        io._atomic_write, trainer_module.Trainer.fit, runs.run_experiment = original_write, original_fit, original_run
    group_left = not torch.distributed.is_initialized()
    (out / f"cli-exit-rank{rank}.json").write_text(json.dumps({"code": code, "group_destroyed": group_left}))


def run_trainer(out: Path, rank: int) -> None:
    from irstd_lib.engine.distributed import get_world_size

    seen: list[int] = []
    result, weights = train_two_conv(SAMPLES_STEPS, BATCH_PER_RANK, out / "ckpt-steps", seen)
    torch.save({"steps": result["steps"], "seen": seen, "world_size": get_world_size(), "weights": weights,
                "history": result["history"]}, out / f"steps-rank{rank}.pt")
    result, weights = train_two_conv(SAMPLES_ONE_STEP, BATCH_PER_RANK, out / "ckpt-one-step")
    torch.save({"steps": result["steps"], "weights": weights}, out / f"one_step-rank{rank}.pt")
    _, straight = train_two_conv(SAMPLES_STEPS, BATCH_PER_RANK, out / "ckpt-straight", epochs=2)
    killed, _ = train_two_conv(SAMPLES_STEPS, BATCH_PER_RANK, out / "ckpt-resumed", epochs=2, stop_after_epoch=1)
    torch.manual_seed(999)  # whatever happened in between must not matter
    resumed, weights = train_two_conv(SAMPLES_STEPS, BATCH_PER_RANK, out / "ckpt-resumed", epochs=2)
    torch.save({"straight": straight, "resumed": weights, "killed_epochs": killed["epochs_completed"],
                "resumed_steps": resumed["steps"]}, out / f"resume-rank{rank}.pt")


def main(argv: list[str]) -> int:
    out, results, config = Path(argv[0]), argv[1], argv[2]
    faulthandler.dump_traceback_later(float(argv[3]) if len(argv) > 3 else 120.0, exit=True)
    rank = int(os.environ["RANK"])
    torch.set_num_threads(1)
    run_cli(out, results, config, rank)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
