"""The training loop: seeded, resumable, checkpointed, model-agnostic.

``Trainer(model, TrainConfig(...), train_data, val_data, checkpoint_dir).fit()`` trains for
``config.epochs`` epochs and returns the final validation metrics and the per-epoch history.

What it does, and the choices made where the papers are silent:

- **Seeding**: ``fit`` seeds Python ``random``, numpy's global generator and torch (CPU and
  CUDA) from ``config.seed``. The model itself is built (and initialised) by the caller, so seed
  before building it. The DataLoader's shuffling generator is re-seeded every epoch from
  ``SeedSequence([seed, epoch])`` and ``train_data.set_epoch(epoch)`` is called when the dataset
  has it (:class:`~irstd_lib.data.transforms.TorchIRSTDDataset` seeds its augmentation from
  ``(seed, epoch, index)``), so an epoch's batches do not depend on what happened before.
- **Batches**: shuffled; the last incomplete batch is dropped (``drop_last=True``) when the
  dataset holds more than one batch, because BatchNorm cannot train on a single sample whose
  deepest feature map is 1x1 (tiny inputs) and because equal-size batches keep step counts
  fixed for the scheduler. Under DDP this holds per process (below).
- **Loss**: :class:`~irstd_lib.engine.losses.DeepSupervisionLoss` (``config.loss``,
  ``aux_weight``, ``aux_reduction``); LGNet: BCE at every decoder output, summed.
- **Model**: any :class:`~irstd_lib.models.base.IRSTDModel`; the trainer reads only the contract:
  ``input_spec.prepare`` turns the batch's [0, 1] grayscale images into the model's input,
  ``forward(image, condition)`` returns ``logits``/``aux_logits``/``aux_losses``.
- **Optimizer / schedule**: :func:`~irstd_lib.engine.optim.build_optimizer` over the model's
  ``parameter_groups()`` (frozen parameters are in no group and never reach the optimizer; each
  group's lr is ``lr * lr_scale`` and its weight decay the group's or the run's, and
  ``config.param_groups`` overrides both by group name), and a per-step
  :func:`~irstd_lib.engine.optim.build_scheduler`. Defaults are LGNet's (Adan, lr 1e-3,
  wd 1e-4, "10 warm-up epochs" in the paper's words, linear being our choice, 600 epochs, batch 8); :meth:`TrainConfig.from_recipe`
  gives the other papers' (:mod:`irstd_lib.engine.recipes`).
- **Pre-training stage** (``pretrain_epochs``, 0 by default): the first ``pretrain_epochs`` of the
  ``epochs`` minimise the model's own :meth:`~irstd_lib.models.base.IRSTDModel.pretraining_losses`
  (summed) instead of the detection loss, under the same optimizer and one schedule over all
  epochs; there is no validation in them, so no checkpoint is chosen from them, and their
  history rows say ``"stage": "pretrain"``. A stage of epochs, not a separate run, so that a
  resumed run resumes in whichever stage it stopped. One process only.
- **Gradient clipping** (``grad_clip``, global L2 norm) is off by default (no paper mentions it).
- **Mixed precision**: ``amp="bf16"`` autocasts the forward pass to bfloat16 on CUDA only (no
  grad scaler needed for bf16); on CPU it is ignored (logged once). Losses are always float32.
  A non-finite loss stops training with :class:`FloatingPointError` naming epoch and step.
  ``amp`` changes the numbers, so it is a training setting (part of a run's identity), not a
  runtime switch.
- **Memory format**: ``channels_last=True`` puts the model's 4-D weights and every input batch
  in ``torch.channels_last`` (NHWC), which is what cuDNN's fastest convolution kernels (and
  their bf16 tensor-core paths) want; on CPU it is allowed and usually neither faster nor
  slower. It is a runtime option like ``device``: it changes no result beyond float rounding,
  so it may change between a run and its resumption and stays out of a run's identity
  (``python -m irstd_lib train --channels-last``).
- **Conditioning**: ``conditioner(batch, phase)`` (``phase`` "train" or "test") returns the
  model's ``condition``, e.g. LGNet's (B, D) target descriptors; without a conditioner the
  model gets ``None``.
- **Validation** every ``val_every`` epochs and always after the last epoch, with
  :func:`~irstd_lib.engine.evaluate.evaluate_model` at native size (``eval_policy``,
  ``val_size``, ``threshold``). ``best.pt`` is written when ``select_metric`` improves (higher
  is better, except ``Fa``). Note: the field's habit of selecting on the *test* set is the
  caller's decision (pass the test split as ``val_data`` only knowingly).
- **Checkpoints**: ``last.pt`` after every epoch and ``best.pt``, both atomic (an epoch that
  improves is serialised once, as ``best.pt``, and ``last.pt`` made the same file); with
  ``keep_every=k`` also a copy of every k-th epoch's, ``epoch_0050.pt`` and so on (the toolbox
  keeps ``ACM_50.pth.tar`` etc.; ``python -m irstd_lib train --keep-every 50``), a runtime
  option outside a run's identity, like ``device``. If
  ``checkpoint_dir/last.pt`` exists, ``fit`` resumes from it: weights, optimizer, scheduler,
  step, history, best metric and all RNG states, so a run killed after epoch k and resumed ends
  bit-identical to an uninterrupted run on CPU (same torch build and thread count: the number
  of threads changes the order of float sums, so runs with different ``OMP_NUM_THREADS`` differ
  in the last digits, then drift). The training fields of the config must match
  the checkpoint's (``progress``, ``num_workers``, ``device``, ``channels_last``, ``keep_every``
  may differ).
- **Distributed** (a process group initialised, e.g. by ``torchrun``; see
  :mod:`irstd_lib.engine.distributed`): the model is wrapped in ``DistributedDataParallel``,
  which averages the gradients over the processes. Every epoch is sharded by a
  ``DistributedSampler`` (shuffled, seeded with ``config.seed``, ``set_epoch(epoch)``), and
  every rank gets the same number of samples so that all take the same number of steps (a
  rank with one step more would wait forever in DDP's all-reduce): with ``drop_last`` the
  sampler drops the ``len(train_data) % world_size`` samples of the shuffled tail, as the
  loader then drops each rank's incomplete batch anyway; without it the sampler repeats up to
  ``world_size - 1`` samples instead. ``batch_size`` is per process, so N processes take 1/N of
  the single-process steps per epoch on N times the batch, and with a loss that is a mean over
  equal per-rank batches (``bce``: a mean over pixels) one N-process step equals the
  single-process step on the same global batch. Not so with batch-level losses (``softiou``
  sums over the batch before dividing) nor with BatchNorm on CPU: on CUDA, BatchNorm layers
  (:class:`~irstd_lib.models.layers.ChannelBatchNorm` included) become ``nn.SyncBatchNorm``,
  which normalises with the statistics of the global batch (ChannelBatchNorm's fallback for a
  training batch of one is then not needed: the global batch holds at least ``world_size``
  samples); torch's ``SyncBatchNorm`` refuses CPU tensors, so CPU processes normalise with
  their own batch statistics, and DDP broadcasts rank 0's running statistics before every
  forward pass. Only rank 0 validates, shows progress, logs and writes checkpoints; its
  validation metrics and epoch record are broadcast, so every rank returns the same history.
  Every rank resumes from ``last.pt`` (the checkpoint folder must be one all ranks see), and a
  checkpoint written by N processes resumes only with N processes (the global batch and the
  steps per epoch depend on it).
- **Watching a run** (no paper's; changes no number): ``tensorboard`` (``Trainer(tensorboard=)``:
  True/False, or None for ``$IRSTD_TENSORBOARD``, else on for runs of at least
  ``LONG_RUN_STEPS`` steps) writes TensorBoard event files beside the checkpoints (loss and lr
  per step, validation metrics per epoch, a few prediction maps;
  :mod:`irstd_lib.engine.tensorboard_log`), and the status line a ``reproduce`` watcher shows
  (:mod:`irstd_lib.progress`) names the epoch, its step, its validation and its end.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import random
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import numpy as np
import torch
import torch.distributed as dist
import torch.nn as nn

from irstd_lib.engine.checkpoint import (
    CheckpointError,
    capture_rng_state,
    load_checkpoint,
    load_model_weights,
    restore_rng_state,
    save_checkpoint,
)
from irstd_lib.engine.distributed import barrier, get_rank, get_world_size, is_distributed
from irstd_lib.engine.evaluate import Conditioner, evaluate_model, move_to_device
from irstd_lib.engine.losses import AUX_REDUCTIONS, LOSS_KINDS, DeepSupervisionLoss
from irstd_lib.engine.optim import OPTIMIZERS, SCHEDULERS, build_optimizer, build_scheduler
from irstd_lib.engine.recipes import recipe
from irstd_lib.engine.tensorboard_log import N_PREDICTION_MAPS, TensorBoardLog, tensorboard_wanted
from irstd_lib.io import atomic_copy
from irstd_lib.models.base import IRSTDModel, grouped_parameters
from irstd_lib.progress import announce_step

__all__ = ["TrainConfig", "Trainer", "seed_everything", "epoch_seed"]

logger = logging.getLogger(__name__)

#: Config fields that may change between a run and its resumption.
RESUME_FREE_FIELDS = ("progress", "num_workers", "device", "channels_last", "keep_every")
LOWER_IS_BETTER = ("Fa",)


def seed_everything(seed: int) -> None:
    """Seed Python ``random``, numpy's global generator and torch (CPU and all CUDA devices)."""
    random.seed(seed)
    np.random.seed(seed % (2**32))
    torch.manual_seed(seed)
    if torch.cuda.is_available():
        torch.cuda.manual_seed_all(seed)


def epoch_seed(seed: int, epoch: int) -> int:
    """The shuffling seed of ``epoch`` (independent of every other epoch)."""
    return int(np.random.SeedSequence([int(seed), int(epoch)]).generate_state(1, dtype=np.uint64)[0] >> 1)


@dataclass
class TrainConfig:
    """Training settings. Defaults: LGNet's paper settings (Adan 1e-3, wd 1e-4, 10 warm-up
    epochs, 600 epochs, batch 8, BCE on every decoder output, 512x512 train and test)."""

    epochs: int = 600
    batch_size: int = 8
    lr: float = 1e-3
    weight_decay: float = 1e-4
    optimizer: str = "adan"
    scheduler: str = "warmup_linear"
    warmup_epochs: float = 10
    min_lr: float = 0.0
    lr_milestones: list[int] = field(default_factory=list)  # epochs, for scheduler="multistep"
    lr_gamma: float = 0.1
    loss: str = "bce"
    aux_weight: float = 1.0
    aux_reduction: str = "sum"
    grad_clip: float | None = None
    amp: str = "none"
    seed: int = 0
    num_workers: int = 0
    val_every: int = 1
    val_size: int | None = 512
    eval_policy: str = "resize"
    threshold: float = 0.5
    train_size: int = 512  # recorded for the run record; the caller builds the TrainTransform
    device: str = "cpu"
    channels_last: bool = False  # runtime option (see the module docstring), like device
    # Keep a copy of the checkpoint of every keep_every-th epoch (epoch_0050.pt, ...; 0: none), as
    # the toolbox saves ACM_50.pth.tar etc. (BasicIRSTD 95650c3, train.py:118-119: "if (idx_epoch
    # + 1) % 50 == 0"): a runtime option, it changes no number.
    keep_every: int = 0
    progress: bool = True
    select_metric: str = "IoU"
    drop_last: bool = True
    # The first pretrain_epochs of the epochs train the model's own pre-training losses
    # (IRSTDModel.pretraining_losses; DGSPNet's, for example), not the detection loss.
    pretrain_epochs: int = 0
    # Intra-op threads a CPU run trains and is evaluated with (irstd_lib.engine.cpu_threads; None:
    # the process's own setting). The order of float sums depends on it, so it is part of a run's
    # identity: pinned, a run gives the same numbers whatever cores the machine has (smoke: 1).
    cpu_threads: int | None = None
    param_groups: dict[str, dict[str, float]] = field(default_factory=dict)  # name -> {"lr"|"lr_scale"|"weight_decay": value}
    extra: dict[str, Any] = field(default_factory=dict)  # free-form, stored in checkpoints

    def __post_init__(self) -> None:
        from irstd_lib.data.transforms import EVAL_POLICIES

        checks = [
            (self.optimizer.lower() in OPTIMIZERS, f"optimizer must be one of {OPTIMIZERS}"),
            (self.scheduler.lower() in SCHEDULERS, f"scheduler must be one of {SCHEDULERS}"),
            (self.loss in LOSS_KINDS, f"loss must be one of {LOSS_KINDS}"),
            (self.aux_reduction in AUX_REDUCTIONS, f"aux_reduction must be one of {AUX_REDUCTIONS}"),
            (all(set(v) <= {"lr", "lr_scale", "weight_decay"} for v in self.param_groups.values()),
             "param_groups maps a group name to a dict of lr, lr_scale and/or weight_decay"),
            (self.amp in ("none", "bf16"), "amp must be 'none' or 'bf16'"),
            (self.eval_policy in EVAL_POLICIES, f"eval_policy must be one of {EVAL_POLICIES}"),
            (int(self.epochs) >= 1, "epochs must be >= 1"),
            (int(self.batch_size) >= 1, "batch_size must be >= 1"),
            (self.grad_clip is None or self.grad_clip > 0, "grad_clip must be None or > 0"),
            (self.cpu_threads is None or int(self.cpu_threads) >= 1, "cpu_threads must be None or >= 1"),
            (int(self.keep_every) >= 0, "keep_every must be >= 0 (0: keep no epoch's checkpoint)"),
            (0 <= int(self.pretrain_epochs) < int(self.epochs),
             "pretrain_epochs must be >= 0 and fewer than epochs (the detection stage needs at least one)"),
        ]
        for ok, message in checks:
            if not ok:
                raise ValueError(f"TrainConfig: {message}")

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_recipe(cls, name: str, **overrides: Any) -> "TrainConfig":
        """A named recipe (``"lgnet_paper"``, ``"saist_paper"``, ``"basicirstd"``) with overrides."""
        return cls(**{**recipe(name), **overrides})


class Trainer:
    """See the module docstring. ``val_data`` is an :class:`~irstd_lib.data.IRSTDDataset`
    (samples at native size) or ``None``; ``train_data`` a torch Dataset of dict items
    ``{"image": (1,S,S), "mask": (1,S,S), ...}``."""

    def __init__(
        self,
        model: nn.Module,
        config: TrainConfig,
        train_data: torch.utils.data.Dataset,
        val_data: Sequence[Any] | None,
        checkpoint_dir: str | Path,
        conditioner: Conditioner | None = None,
        log_fn: Callable[[str], None] | None = None,
        run_info: Mapping[str, Any] | None = None,
        on_epoch_end: Callable[[dict[str, Any]], None] | None = None,
        tensorboard: bool | None = None,
    ):
        self.config = config
        self.device = torch.device(config.device)
        self.train_data = train_data
        self.val_data = val_data
        self.checkpoint_dir = Path(checkpoint_dir)
        self.conditioner = conditioner
        self.log_fn = log_fn
        self.run_info = dict(run_info or {})
        self.on_epoch_end = on_epoch_end
        self.rank, self.world_size = get_rank(), get_world_size()
        self.is_main = self.rank == 0

        if not isinstance(model, IRSTDModel):
            raise TypeError(f"Trainer needs an IRSTDModel (irstd_lib.models.base), got {type(model).__name__}")
        self.module = model.to(self.device)
        if config.channels_last:
            self.module = self.module.to(memory_format=torch.channels_last)
        if is_distributed():
            if self.device.type == "cuda":
                # Statistics of the global batch, as one process would have; CUDA only (torch's
                # SyncBatchNorm refuses CPU tensors). Replaces the layers inside the model in place.
                self.module = nn.SyncBatchNorm.convert_sync_batchnorm(self.module)
            ids = [self.device.index] if self.device.type == "cuda" else None
            self.model: nn.Module = nn.parallel.DistributedDataParallel(self.module, device_ids=ids)
        else:
            self.model = self.module

        self.loss_fn = DeepSupervisionLoss(config.loss, config.aux_weight, config.aux_reduction)
        self.optimizer = build_optimizer(config.optimizer, self._optimizer_groups(), lr=config.lr,
                                         weight_decay=config.weight_decay)
        self.steps_per_epoch = self._steps_per_epoch()
        self.scheduler = build_scheduler(config.scheduler, self.optimizer, config.epochs,
                                         self.steps_per_epoch, config.warmup_epochs, config.min_lr,
                                         tuple(config.lr_milestones), config.lr_gamma)
        self.epoch = 0  # completed epochs
        self.step = 0
        self.history: list[dict[str, Any]] = []
        self.best_metric: float | None = None
        self.best_epoch: int | None = None
        self.last_metrics: dict[str, Any] = {}
        self._amp_warned = False
        self.tensorboard = tensorboard  # see the module docstring, "Watching a run"
        self.tb = TensorBoardLog(self.checkpoint_dir, False)  # opened by fit when wanted

    # ------------------------------------------------------------------ helpers
    def _optimizer_groups(self) -> list[dict[str, Any]]:
        """The optimizer's param groups from the model's (see the module docstring)."""
        cfg = self.config
        groups = grouped_parameters(self.module)
        unknown = sorted(set(cfg.param_groups) - {g.name for g in groups})
        if unknown:
            raise ValueError(f"param_groups names {unknown} that {type(self.module).__name__} does not have "
                             f"(its groups: {[g.name for g in groups]})")
        out = []
        for group in groups:
            override = cfg.param_groups.get(group.name, {})
            lr = override.get("lr", cfg.lr * override.get("lr_scale", group.lr_scale))
            decay = override.get("weight_decay", cfg.weight_decay if group.weight_decay is None else group.weight_decay)
            out.append({"params": group.params, "lr": float(lr), "weight_decay": float(decay), "name": group.name})
        return out

    @property
    def last_path(self) -> Path:
        return self.checkpoint_dir / "last.pt"

    @property
    def best_path(self) -> Path:
        return self.checkpoint_dir / "best.pt"

    def kept_path(self, epoch: int) -> Path:
        """The copy of epoch ``epoch``'s checkpoint that ``keep_every`` keeps."""
        return self.checkpoint_dir / f"epoch_{epoch:04d}.pt"

    def _keep(self) -> None:
        """Copy ``last.pt`` (the current epoch's checkpoint) to :meth:`kept_path` when the epoch
        is one that ``keep_every`` keeps and its copy is not there yet (a stop between the two
        writes is mended on resume, since the resumed epoch is not trained again)."""
        every = int(self.config.keep_every)
        if self.is_main and every > 0 and self.epoch > 0 and self.epoch % every == 0 and not self.kept_path(self.epoch).exists():
            atomic_copy(self.last_path, self.kept_path(self.epoch))

    def log(self, message: str) -> None:
        if not self.is_main:
            return
        if self.log_fn is not None:
            self.log_fn(message)
        else:
            logger.info(message)

    def _sampler_drops_tail(self) -> bool:
        """Whether the DistributedSampler drops the samples that do not divide among the ranks
        (else it repeats some); see the module docstring."""
        return bool(self.config.drop_last and len(self.train_data) >= self.world_size)  # type: ignore[arg-type]

    def _samples_per_rank(self) -> int:
        n = len(self.train_data)  # type: ignore[arg-type]
        if self.world_size == 1:
            return n
        return n // self.world_size if self._sampler_drops_tail() else math.ceil(n / self.world_size)

    def _drop_last(self) -> bool:
        return bool(self.config.drop_last and self._samples_per_rank() > self.config.batch_size)

    def _steps_per_epoch(self) -> int:
        n = self._samples_per_rank()
        if n == 0:
            raise ValueError("train_data is empty")
        bs = self.config.batch_size
        return n // bs if self._drop_last() else math.ceil(n / bs)

    def _loader(self, epoch: int) -> torch.utils.data.DataLoader:
        cfg = self.config
        if hasattr(self.train_data, "set_epoch"):
            self.train_data.set_epoch(epoch)  # type: ignore[attr-defined]
        # The generator shuffles (one process) and seeds the workers; without it the DataLoader
        # would draw the workers' seed from the global RNG.
        generator = torch.Generator().manual_seed(epoch_seed(cfg.seed, epoch))
        common = dict(batch_size=cfg.batch_size, num_workers=cfg.num_workers, drop_last=self._drop_last(),
                      pin_memory=self.device.type == "cuda", generator=generator)
        if is_distributed():
            sampler = torch.utils.data.DistributedSampler(self.train_data, shuffle=True, seed=cfg.seed,
                                                          drop_last=self._sampler_drops_tail())
            sampler.set_epoch(epoch)
            return torch.utils.data.DataLoader(self.train_data, sampler=sampler, **common)
        return torch.utils.data.DataLoader(self.train_data, shuffle=True, **common)

    def _forward(self, batch: Mapping[str, Any], phase: str, pretraining: bool = False) -> Any:
        """The model's forward dict on ``batch``; with ``pretraining``, its pre-training losses."""
        condition = self.conditioner(batch, phase) if self.conditioner is not None else None
        condition = move_to_device(condition, self.device)
        image = self.module.input_spec.prepare(batch["image"].to(self.device, non_blocking=True))
        if self.config.channels_last:
            image = image.contiguous(memory_format=torch.channels_last)
        call = self.module.pretraining_losses if pretraining else self.model
        if self.config.amp == "bf16":
            if self.device.type == "cuda":
                with torch.autocast("cuda", dtype=torch.bfloat16):
                    return call(image, condition)
            if not self._amp_warned:
                self.log("amp='bf16' ignored: bf16 autocast is only used on CUDA")
                self._amp_warned = True
        return call(image, condition)

    def _check_pretraining(self) -> None:
        """A pre-training stage needs a model that defines one, and one process (its losses are
        called on the module itself, past DistributedDataParallel's gradient averaging)."""
        if self.config.pretrain_epochs <= 0:
            return
        if not self.module.has_pretraining_stage:
            raise ValueError(f"pretrain_epochs={self.config.pretrain_epochs}, but {type(self.module).__name__} defines no "
                             "pre-training stage (IRSTDModel.pretraining_losses)")
        if is_distributed():
            raise RuntimeError("a pre-training stage (pretrain_epochs > 0) runs in one process only, not under DDP")

    def _check_resume_config(self, saved: Mapping[str, Any]) -> None:
        saved_train = saved.get("train", {})
        current = self.config.to_dict()
        diffs = [
            f"{k}: checkpoint {saved_train.get(k)!r} vs now {v!r}"
            for k, v in current.items()
            if k not in RESUME_FREE_FIELDS and k in saved_train and saved_train[k] != v
        ]
        if diffs:
            raise CheckpointError(
                self.last_path,
                "cannot resume with a different training configuration (" + "; ".join(diffs[:5])
                + "); use another checkpoint_dir or delete the checkpoint",
            )

    def _check_resume_world_size(self, saved: Mapping[str, Any]) -> None:
        saved_world = int(saved.get("world_size", 1))  # checkpoints from before DDP: one process
        if saved_world != self.world_size:
            raise CheckpointError(
                self.last_path,
                f"written by {saved_world} process(es), resumed with {self.world_size}: the global batch "
                "and the steps per epoch would change; resume with the same number of processes",
            )

    def _check_ranks_agree(self) -> None:
        """Every rank must have resumed from the same epoch (a rank that did not see ``last.pt``
        would train other epochs and hang the others)."""
        if not is_distributed():
            return
        bounds = torch.tensor([self.epoch, -self.epoch], dtype=torch.int64, device=self.device)
        dist.all_reduce(bounds, op=dist.ReduceOp.MAX)
        latest, earliest = int(bounds[0]), -int(bounds[1])
        if latest != earliest:
            raise RuntimeError(
                f"the ranks resumed after different epochs ({earliest} to {latest}): every rank must see "
                f"{self.last_path} (a checkpoint folder shared by all processes)"
            )

    def _sync_buffers(self) -> None:
        """Give every rank rank 0's buffers (BatchNorm running statistics): DDP broadcasts them
        before each forward pass, so they differ only after the last one, but the ranks should
        end holding what rank 0 saves."""
        if is_distributed():
            for buffer in self.module.buffers():
                dist.broadcast(buffer, src=0)

    def _share_from_main(self, record: dict[str, Any], improved: bool) -> tuple[dict[str, Any], bool]:
        """Rank 0's validation results and epoch record on every rank (only rank 0 validates)."""
        if not is_distributed():
            return record, improved
        shared = [record, improved, self.last_metrics, self.best_metric, self.best_epoch]
        dist.broadcast_object_list(shared, src=0, device=self.device if self.device.type == "cuda" else None)
        record, improved, self.last_metrics, self.best_metric, self.best_epoch = shared
        return record, improved

    def _checkpoint_config(self) -> dict[str, Any]:
        return {"train": self.config.to_dict(), "run": self.run_info, "world_size": self.world_size}

    def _save(self, path: Path) -> None:
        save_checkpoint(path, self.module, self.optimizer, self.scheduler, epoch=self.epoch, step=self.step,
                        best_metric=self.best_metric, config=self._checkpoint_config(),
                        rng_state=capture_rng_state(), history=self.history,
                        extra={"best_epoch": self.best_epoch, "last_metrics": self.last_metrics})

    def _improved(self, value: float) -> bool:
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return False
        if self.best_metric is None:
            return True
        if self.config.select_metric in LOWER_IS_BETTER:
            return value < self.best_metric
        return value > self.best_metric

    def resume(self) -> bool:
        """Load ``last.pt`` if it exists (called by :meth:`fit`); returns whether it did."""
        if not self.last_path.exists():
            return False
        ckpt = load_checkpoint(self.last_path, self.module, self.optimizer, self.scheduler)
        self._check_resume_config(ckpt.get("config", {}))
        self._check_resume_world_size(ckpt.get("config", {}))
        restore_rng_state(ckpt["rng_state"])
        self.epoch = int(ckpt["epoch"])
        self.step = int(ckpt["step"])
        self.history = list(ckpt.get("history") or [])
        self.best_metric = ckpt.get("best_metric")
        extra = ckpt.get("extra") or {}
        self.best_epoch = extra.get("best_epoch")
        self.last_metrics = dict(extra.get("last_metrics") or {})
        self.log(f"resumed from {self.last_path} after epoch {self.epoch} (step {self.step})")
        self._keep()
        return True

    # ------------------------------------------------------------------ training
    def train_one_epoch(self, epoch: int) -> dict[str, float]:
        """One pass over the training data (``epoch`` is 0-based); returns mean losses and lr."""
        from tqdm.auto import tqdm

        self.model.train()
        loader = self._loader(epoch)
        totals: dict[str, float] = {}
        seen = 0
        lr = float(self.optimizer.param_groups[0]["lr"])
        first_step = self.step
        bar = tqdm(loader, desc=f"epoch {epoch + 1}/{self.config.epochs}", leave=False,
                   disable=not (self.config.progress and self.is_main))
        pretraining = epoch < self.config.pretrain_epochs
        for batch in bar:
            parts, lr = self.optimisation_step(batch, pretraining, epoch)
            self.scheduler.step()
            self.step += 1
            self.tb.step(self.step, parts, lr)
            n = int(batch["mask"].shape[0])
            seen += n
            for k, v in parts.items():
                totals[k] = totals.get(k, 0.0) + v * n
            bar.set_postfix(loss=f"{parts['total']:.4f}", lr=f"{lr:.2e}")
            if self.is_main:
                announce_step(f"epoch {epoch + 1}/{self.config.epochs}, step {self.step - first_step}/{len(loader)}, "
                              f"loss {parts['total']:.4f}")
        if is_distributed():
            keys = sorted(totals)
            t = torch.tensor([totals[k] for k in keys] + [float(seen)], dtype=torch.float64, device=self.device)
            torch.distributed.all_reduce(t)
            totals = dict(zip(keys, t[:-1].tolist()))
            seen = int(t[-1].item())
        means = {k: v / max(seen, 1) for k, v in totals.items()}
        out = {"train_loss": means.pop("total", float("nan")), "lr": lr, "samples": seen}
        out.update({f"loss/{k}": v for k, v in means.items()})
        return out

    def optimisation_step(self, batch: Mapping[str, Any], pretraining: bool = False, epoch: int | None = None
                          ) -> tuple[dict[str, float], float]:
        """One step of the optimizer on ``batch``, as :meth:`train_one_epoch` takes it (forward, the
        detection loss or, with ``pretraining``, the model's pre-training losses summed, backward,
        ``grad_clip``, the optimizer's step; not the scheduler's): ``(loss parts, the lr used)``.
        A non-finite loss raises :class:`FloatingPointError`, naming ``epoch`` (1-based) and step."""
        if pretraining:  # the model's own losses; the masks are not read
            losses = self._forward(batch, "train", pretraining=True)
            loss = torch.stack([v.float() for v in losses.values()]).sum()
            parts = {**{k: float(v.detach()) for k, v in losses.items()}, "total": float(loss.detach())}
        else:
            outputs = self._forward(batch, "train")
            loss, parts = self.loss_fn(outputs, batch["mask"].to(self.device, non_blocking=True))
        if not torch.isfinite(loss):
            where = f"at epoch {epoch + 1}, step {self.step}" if epoch is not None else f"at step {self.step}"
            raise FloatingPointError(f"non-finite training loss {float(loss)} {where} "
                                     f"(parts: {parts}); lower the lr or enable grad_clip")
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if self.config.grad_clip is not None:
            torch.nn.utils.clip_grad_norm_([p for g in self.optimizer.param_groups for p in g["params"]],
                                           self.config.grad_clip)
        lr = float(self.optimizer.param_groups[0]["lr"])
        self.optimizer.step()
        return parts, lr

    def evaluate(
        self,
        dataset: Sequence[Any] | None = None,
        checkpoint: str | Path | None = None,
        size: int | None | str = "config",
        policy: str | None = None,
        threshold: float | None = None,
        progress: bool | None = None,
    ) -> dict[str, Any]:
        """Metrics of the current model (or of ``checkpoint``: "best", "last" or a path, whose
        weights are loaded into the model first) on ``dataset`` (default: ``val_data``)."""
        dataset = self.val_data if dataset is None else dataset
        if dataset is None:
            raise ValueError("no dataset to evaluate (val_data is None)")
        if checkpoint is not None:
            path = {"best": self.best_path, "last": self.last_path}.get(str(checkpoint), Path(checkpoint))
            load_model_weights(path, self.module)
        cfg = self.config
        return evaluate_model(
            self.module, dataset,
            size=cfg.val_size if size == "config" else size,  # type: ignore[arg-type]
            policy=policy or cfg.eval_policy, device=self.device, conditioner=self.conditioner,
            threshold=cfg.threshold if threshold is None else threshold,
            progress=cfg.progress if progress is None else progress, amp=cfg.amp,
        )

    def fit(self, stop_after_epoch: int | None = None, resume: bool = True) -> dict[str, Any]:
        """Train (resuming from ``last.pt`` when ``resume`` and it exists) until ``config.epochs``
        epochs are done, or until ``stop_after_epoch`` epochs are done (to simulate a kill).

        Returns ``{"metrics": last validation metrics, "best_metric", "best_epoch",
        "select_metric", "history", "epochs_completed", "finished", "steps", "checkpoint_dir"}``.
        """
        cfg = self.config
        self._check_pretraining()
        seed_everything(cfg.seed)
        if resume:
            self.resume()
        self._check_ranks_agree()
        if self.is_main:
            self.checkpoint_dir.mkdir(parents=True, exist_ok=True)
        # (a finished run resumed trains nothing: no log is opened for it)
        wanted = self.is_main and self.epoch < cfg.epochs and tensorboard_wanted(self.tensorboard, cfg.epochs * self.steps_per_epoch)
        self.tb = TensorBoardLog(self.checkpoint_dir, wanted)
        try:
            self._fit_epochs(stop_after_epoch)
        finally:
            self.tb.close()
        return {
            "metrics": dict(self.last_metrics),
            "best_metric": self.best_metric,
            "best_epoch": self.best_epoch,
            "select_metric": cfg.select_metric,
            "history": list(self.history),
            "epochs_completed": self.epoch,
            "finished": self.epoch >= cfg.epochs,
            "steps": self.step,
            "checkpoint_dir": str(self.checkpoint_dir),
        }

    def _log_predictions(self) -> None:
        """The first validation images' score maps into the TensorBoard log, computed with every
        random generator's state restored afterwards, so that the log changes no number."""
        if not self.tb.enabled or not self.val_data:
            return
        from irstd_lib.engine.evaluate import predict_scores

        cfg = self.config
        state = capture_rng_state()
        try:
            items = [(sample.name, sample.image, sample.mask, scores) for sample, scores in predict_scores(
                self.module, self.val_data, size=cfg.val_size, policy=cfg.eval_policy, device=self.device,
                conditioner=self.conditioner, amp=cfg.amp, indices=range(min(N_PREDICTION_MAPS, len(self.val_data))))]
        finally:
            restore_rng_state(state)
        self.tb.predictions(self.step, items)

    def _fit_epochs(self, stop_after_epoch: int | None) -> None:
        cfg = self.config
        while self.epoch < cfg.epochs:
            if stop_after_epoch is not None and self.epoch >= stop_after_epoch:
                break
            epoch = self.epoch  # 0-based index of the epoch being trained
            started = time.perf_counter()
            record: dict[str, Any] = {"epoch": epoch + 1}
            pretraining = epoch < cfg.pretrain_epochs
            if pretraining:  # (the key only then, so that runs without the stage keep their histories)
                record["stage"] = "pretrain"
            record.update(self.train_one_epoch(epoch))
            self.epoch = epoch + 1

            last = self.epoch == cfg.epochs
            # no validation in the pre-training stage: the detection head has not trained yet
            validate = self.val_data is not None and not pretraining and (
                last or (cfg.val_every > 0 and self.epoch % cfg.val_every == 0))
            improved = False
            if validate and self.is_main:
                announce_step(f"epoch {self.epoch}/{cfg.epochs}, validating", force=True)
                metrics = self.evaluate(progress=False)
                self.last_metrics = metrics
                record.update({f"val_{k}": v for k, v in metrics.items()})
                value = metrics.get(cfg.select_metric)
                if value is None:
                    raise KeyError(f"select_metric {cfg.select_metric!r} not among {sorted(metrics)}")
                if self._improved(float(value)):
                    self.best_metric, self.best_epoch, improved = float(value), self.epoch, True
                self._log_predictions()
            record["time_s"] = time.perf_counter() - started
            record, improved = self._share_from_main(record, improved)
            self._sync_buffers()
            self.history.append(record)
            if self.is_main:
                if improved:
                    # best first, then last as the same file: a stop between the two leaves last.pt
                    # at the previous epoch, which a resume redoes (and so writes best.pt again).
                    self._save(self.best_path)
                    atomic_copy(self.best_path, self.last_path)
                else:
                    self._save(self.last_path)
                self._keep()
            barrier()
            summary = ", ".join(f"{k}={v:.4g}" for k, v in record.items()
                                if isinstance(v, float) and (k in ("train_loss", "lr") or k.startswith("val_")))
            self.log(f"epoch {self.epoch}/{cfg.epochs}: {summary}" + (" (best)" if improved else ""))
            self.tb.epoch(self.step, record)
            if self.is_main:
                shown = f", val {cfg.select_metric} {record[f'val_{cfg.select_metric}']:.4g}" \
                    if isinstance(record.get(f"val_{cfg.select_metric}"), float) else ""
                announce_step(f"epoch {self.epoch}/{cfg.epochs} done, loss {record['train_loss']:.4f}{shown}", force=True)
            if self.on_epoch_end is not None:
                self.on_epoch_end(dict(record))
