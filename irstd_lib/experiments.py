"""Experiment runs: a config with a stable hash, trained once, reused by every notebook that asks.

A :class:`RunConfig` names everything that changes a trained model's numbers, for any registered
model:

- ``model`` and ``model_kwargs``: a registry variant and its overrides (``"lgnet"``,
  ``{"width": 16}``);
- ``data`` (:class:`DataConfig`): the dataset, its splits and the size policy (training size,
  evaluation size and policy);
- ``conditioning``: settings of the model's conditioning kind (:mod:`irstd_lib.conditioning`;
  LGNet: language mode, description source, CLIP), empty for image-only models;
- ``train``: training settings over the model's default recipe (:mod:`irstd_lib.engine.recipes`);
- ``seed``.

``profile`` is a label saying where the config came from; it is not part of the run's identity:
the same settings are the same run, whatever profile asked for it.

The run's hash (12 hex digits of SHA-256 over the canonical JSON of its identity) names the run
folder. The identity holds the builder and its resolved keyword arguments (so ``lgnet_baseline``
and ``lgnet`` with both switches off are one run), the data settings with each split replaced by
a fingerprint of its contents (the same data at another path hashes the same), what the
conditioning kind says matters, the resolved training settings and the seed::

    results/runs/<hash>/config.json     the config and its identity
    results/runs/<hash>/metrics.json    test metrics of every evaluation the run records, the
                                        primary one named; dataset issues; parameter counts
    results/runs/<hash>/details.json    per evaluation: per-image counts and the Pd-Fa ROC
    results/runs/<hash>/maps.npz        score maps (uint8, /255) of the primary evaluation for
                                        the first test images and the hardest ones
    results/runs/<hash>/inspection.npz  the model's inspection maps of the first 3 test images
                                        (float16; only models that have some, e.g. SAIST)
    results/runs/<hash>/history.csv     the training curve
    results/runs/<hash>/preview.png     the first test images, masks and score maps

Classical methods (Top-Hat, IPI) have nothing to train, but scoring IPI on a test set takes
minutes on a CPU: :func:`score_classical` records them the same way (``config.json``,
``metrics.json`` with a ``test`` evaluation, ``details.json``, ``maps.npz``), under a hash of the
method, its arguments, the test split's fingerprint and the evaluation settings.

So every table and figure renders from committed records, without a checkpoint. Checkpoints live
in the cache folder (``$IRSTD_CACHE/runs/<hash>/``), never in the repository, so an interrupted
run resumes from its last checkpoint and a finished run is not retrained.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

import numpy as np

from irstd_lib.bootstrap import METRICS
from irstd_lib.io import atomic_save, atomic_write_json
from irstd_lib.paths import cache_dir
from irstd_lib.progress import announce_task
from irstd_lib.results import results_root

# Bumped when a change to the library changes trained numbers (or the record's layout) for the
# same config, so that stale run records are not reused.
RUN_FORMAT_VERSION = 3

TRAIN_POLICIES = ("crop", "resize")

# Settings added after records were made enter a run's identity only away from their default, so
# that the records made before them keep their hashes.
_DATA_FIELDS_ADDED_LATER = {"train_policy": "crop", "split_scheme": "standard", "split_version": None}

PREVIEW_IMAGES = 4
"""Score maps kept per run: the first test images and as many of the hardest."""

INSPECTED_IMAGES = 3
"""Inspection maps kept per run (models that have some): the first test images."""

# TrainConfig fields a run sets from elsewhere (data, seed) or that never change numbers.
_TRAIN_FIELDS_FROM_RUN = ("seed", "train_size", "val_size", "eval_policy", "device", "progress")
_TRAIN_FIELDS_NOT_IN_IDENTITY = ("device", "progress", "num_workers", "channels_last")


def _reject_unknown_keys(values: dict, dataclass_type: type, what: str) -> None:
    unknown = sorted(set(values) - {f.name for f in fields(dataclass_type)})
    if unknown:
        raise ValueError(f"unknown {what}: {', '.join(unknown)}")


@dataclass(frozen=True)
class DataConfig:
    """The data of a run: ``dataset`` is ``"synthetic"`` (the embedded generator's set, described
    by ``synthetic``) or a dataset name whose folder is given at run time (``data_root``).

    Size policy: training takes ``train_size`` x ``train_size`` inputs, by ``train_policy``:
    ``"crop"`` (the default of this class, kept so that older records keep their hashes:
    random-scale crops with flips, :class:`~irstd_lib.data.transforms.TrainTransform`) or
    ``"resize"`` (the whole image resized, no augmentation: LGNet trains on whole images
    resized to 512 and its descriptions say where the target is; SAIST trains on whole images
    resized to 1024, and its scene prompt describes the whole image; both profiles use it for
    every run); test images are prepared by
    ``eval_policy`` (``"resize"`` to ``eval_size``, ``"pad"`` to a multiple of ``eval_size`` or
    32, ``"none"``) and always scored at their native size.

    Splits: ``train_split`` and ``test_split`` name lists of the dataset's own
    (``split_scheme="standard"``) or of SAIST's 50/30/20 partition (``"saist_50_30_20"``, seeded by
    the run's seed; :mod:`irstd_lib.data.splits`); ``split_version`` picks versioned lists
    (SIRST v2's ``trainval_full.txt`` / ``test_v1.txt``; None: the layout's default)."""

    dataset: str = "synthetic"
    synthetic: dict = field(default_factory=lambda: {"n": 120, "seed": 0, "size": 128})
    split_dir: str | None = None
    train_split: str = "trainval"
    test_split: str = "test"
    on_size_mismatch: str = "resize"
    train_size: int = 128
    eval_size: int | None = 128
    eval_policy: str = "resize"
    train_policy: str = "crop"
    split_scheme: str = "standard"
    split_version: str | None = None  # versioned lists (SIRST v2: test_full.txt, test_v1.txt); see irstd_lib.data.layout

    def __post_init__(self) -> None:
        from irstd_lib.data.transforms import EVAL_POLICIES

        if self.train_policy not in TRAIN_POLICIES:
            raise ValueError(f"data.train_policy must be one of {TRAIN_POLICIES}, got {self.train_policy!r}")
        from irstd_lib.data.splits import SPLIT_SCHEMES

        if self.split_scheme not in SPLIT_SCHEMES:
            raise ValueError(f"data.split_scheme must be one of {tuple(SPLIT_SCHEMES)}, got {self.split_scheme!r}")
        if self.eval_policy not in EVAL_POLICIES:
            raise ValueError(f"data.eval_policy must be one of {EVAL_POLICIES}, got {self.eval_policy!r}")
        if self.eval_policy == "resize" and not self.eval_size:
            raise ValueError("data.eval_policy 'resize' needs an eval_size")
        if int(self.train_size) < 1:
            raise ValueError(f"data.train_size must be positive, got {self.train_size}")


@dataclass(frozen=True)
class RunConfig:
    """Everything that defines one trained model. See the module docstring."""

    model: str = "lgnet"
    model_kwargs: dict = field(default_factory=dict)
    data: DataConfig = field(default_factory=DataConfig)
    conditioning: dict = field(default_factory=dict)
    train: dict = field(default_factory=dict)
    seed: int = 0
    profile: str = "custom"

    def __post_init__(self) -> None:
        if isinstance(self.data, dict):
            _reject_unknown_keys(self.data, DataConfig, "data settings in run config")
            object.__setattr__(self, "data", DataConfig(**self.data))
        variant = self.variant
        if variant.kind != "learned":
            raise ValueError(f"{self.model} is a classical method: it has nothing to train (score it with evaluate)")
        self.condition_settings  # validates the conditioning settings for the model's kind
        from irstd_lib.engine import TrainConfig

        _reject_unknown_keys(self.train, TrainConfig, "training settings in run config")
        misplaced = sorted(set(self.train) & set(_TRAIN_FIELDS_FROM_RUN))
        if misplaced:
            raise ValueError(f"training settings {misplaced} are set by the run (sizes in 'data', the seed in 'seed')")

    # -- what the config resolves to -------------------------------------------------------------
    @property
    def variant(self):
        from irstd_lib.models import get_variant

        return get_variant(self.model)

    @property
    def resolved_model_kwargs(self) -> dict:
        return self.variant.resolved_kwargs(**self.model_kwargs)

    @property
    def conditioning_kind(self) -> str:
        return self.variant.conditioning_for(self.resolved_model_kwargs)

    @property
    def condition_settings(self) -> Any:
        from irstd_lib.conditioning import get_kind

        return get_kind(self.conditioning_kind).settings(self.conditioning)

    def train_config(self, device: str = "cpu", progress: bool = True):
        """The resolved :class:`~irstd_lib.engine.TrainConfig`: the model's recipe, this run's
        overrides, the data's sizes and the seed."""
        from irstd_lib.engine import TrainConfig

        values = {**self.train, "seed": self.seed, "train_size": self.data.train_size,
                  "val_size": self.data.eval_size, "eval_policy": self.data.eval_policy,
                  "device": device, "progress": progress}
        return TrainConfig.from_recipe(self.variant.recipe, **values)

    @property
    def primary_evaluation(self) -> str:
        from irstd_lib.conditioning import get_kind

        return get_kind(self.conditioning_kind).primary_evaluation(self.condition_settings)

    # -- (de)serialisation -----------------------------------------------------------------------
    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "RunConfig":
        _reject_unknown_keys(data, cls, "run config keys")
        return cls(**data)

    @classmethod
    def from_file(cls, path: str | os.PathLike) -> "RunConfig":
        path = Path(path)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise ValueError(f"{path}: cannot read run config ({exc})") from exc
        try:
            return cls.from_dict(data.get("config", data))
        except (ValueError, KeyError, TypeError) as exc:
            raise ValueError(f"{path}: {exc}") from exc

    def replace(self, **changes: Any) -> "RunConfig":
        return replace(self, **changes)


def _canonical(obj: Any) -> str:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), default=str)


def run_identity(config: RunConfig, fingerprints: dict[str, str], world_size: int = 1) -> dict[str, Any]:
    """What makes a run's numbers (see the module docstring); its hash names the run.

    ``world_size`` (the number of DDP processes) enters only when it is not 1: ``batch_size`` is
    per process, so N processes train on N times the batch with 1/N of the steps, other numbers
    that must not share a one-process run's folder; one-process hashes stay as they were."""
    from irstd_lib.conditioning import get_kind

    data = asdict(config.data)
    if config.data.dataset != "synthetic":
        data.pop("synthetic")
    for name, default in _DATA_FIELDS_ADDED_LATER.items():
        if data[name] == default:
            data.pop(name)
    data["fingerprints"] = fingerprints
    train = config.train_config().to_dict()
    for name in _TRAIN_FIELDS_NOT_IN_IDENTITY + ("seed", "train_size", "val_size", "eval_policy"):
        train.pop(name)
    kind = config.conditioning_kind
    return {
        "format": RUN_FORMAT_VERSION,
        "model": _model_identity(config),
        "data": data,
        "conditioning": {"kind": kind, **get_kind(kind).identity(config.condition_settings, config.seed)},
        "train": train,
        "seed": config.seed,
        **({"world_size": world_size} if world_size != 1 else {}),
    }


def _model_identity(config: RunConfig) -> dict[str, Any]:
    """The builder, its resolved arguments (weights files by content) and the variant's code
    version (entered from version 2 on, so that records made before versions existed keep their
    hashes)."""
    identity = {"builder": config.variant.builder_path, "kwargs": _weights_by_content(config.resolved_model_kwargs)}
    if config.variant.version != 1:
        identity["version"] = config.variant.version
    return identity


def _weights_by_content(kwargs: dict[str, Any]) -> dict[str, Any]:
    """Model arguments with every weights file (``*_checkpoint``) replaced by its content hash:
    the same weights at another path are the same run, other weights at the same path are not."""
    from irstd_lib.io import file_sha256

    out = dict(kwargs)
    for key, value in kwargs.items():
        if key.endswith("checkpoint") and value is not None:
            path = Path(value).expanduser()
            if not path.is_file():
                raise FileNotFoundError(f"{path}: weights file for {key} not found (weights are never downloaded)")
            out[key] = f"sha256:{file_sha256(path)[:12]}"
    return out


def run_hash(identity: dict[str, Any]) -> str:
    return hashlib.sha256(_canonical(identity).encode()).hexdigest()[:12]


# ---------------------------------------------------------------------------------------------
# Running a config


class _RecordedRun:
    """What a finished run's record files give, trained or classical: the metrics of its primary
    evaluation, any evaluation by name, per-image counts and ROC, kept score maps."""

    hash: str
    run_dir: Path
    record: dict

    @property
    def primary_evaluation(self) -> str:
        raise NotImplementedError

    @property
    def metrics(self) -> dict:
        """Test metrics of the primary evaluation."""
        return self.record[self.primary_evaluation]

    def evaluation(self, name: str) -> dict:
        try:
            return self.record[name]
        except KeyError:
            raise KeyError(f"run {self.hash} has no evaluation {name!r}; it has {self.record.get('evaluations')}") from None

    def details(self, evaluation: str | None = None) -> dict:
        """Per-image counts and ROC of an evaluation (default: the primary one)."""
        details = json.loads((self.run_dir / "details.json").read_text(encoding="utf-8"))
        return details[evaluation or self.primary_evaluation]

    def maps(self) -> dict[str, np.ndarray]:
        """``name -> score map`` (float32 in [0, 1]) of the primary evaluation's kept images."""
        with np.load(self.run_dir / "maps.npz", allow_pickle=False) as data:
            return {name: data[name].astype(np.float32) / 255.0 for name in data.files}


@dataclass
class RunResult(_RecordedRun):
    """A finished run: its hash, folder and record (see the module docstring)."""

    config: RunConfig
    hash: str
    run_dir: Path
    checkpoint_dir: Path
    record: dict

    @property
    def primary_evaluation(self) -> str:
        """The config's primary evaluation (``test_without_text`` for LGNet trained with text)."""
        return self.config.primary_evaluation

    def inspection(self) -> dict[str, dict[str, np.ndarray]]:
        """``name -> {map -> float32 H x W}``: the model's inspection maps kept for the first test
        images (empty for models that have none)."""
        path = self.run_dir / "inspection.npz"
        if not path.is_file():
            return {}
        out: dict[str, dict[str, np.ndarray]] = {}
        with np.load(path, allow_pickle=False) as data:
            for key in data.files:
                name, _, map_name = key.rpartition("/")
                out.setdefault(name, {})[map_name] = data[key].astype(np.float32)
        return out

    def history(self):
        import pandas as pd

        return pd.read_csv(self.run_dir / "history.csv")


def synthetic_root(spec: dict) -> Path:
    """The embedded synthetic dataset of a config, written once into the cache folder.

    The folder name carries the generator version, so a newer generator writes beside the
    datasets of older ones instead of refusing the folder they hold.
    """
    from irstd_lib.data.synthetic import GENERATOR_VERSION, write_synthetic_dataset

    n, seed, size = int(spec["n"]), int(spec["seed"]), int(spec["size"])
    name = f"synthetic-v{GENERATOR_VERSION}-n{n}-seed{seed}-{size}px"
    return write_synthetic_dataset(cache_dir("datasets") / name, n=n, seed=seed, size=size)


def resolve_data_root(data: DataConfig, data_root: str | os.PathLike | None) -> Path:
    if data.dataset == "synthetic":
        return synthetic_root(data.synthetic)
    if data_root is None:
        raise ValueError(f"run config names dataset {data.dataset!r}: pass its folder as data_root")
    root = Path(data_root).expanduser()
    if not root.is_dir():
        from irstd_lib.data.errors import DatasetError

        raise DatasetError(root, f"dataset folder for {data.dataset!r} not found")
    return root


def open_split(data: DataConfig, root: Path, split: str, with_descriptions: bool = False, seed: int = 0):
    from irstd_lib.data import IRSTDDataset
    from irstd_lib.data.splits import split_folder

    split_dir = split_folder(root, data.split_scheme, seed, data.split_dir) or data.split_dir
    return IRSTDDataset(root, split=split, split_dir=split_dir, split_version=data.split_version,
                        descriptions="target" if with_descriptions else None, on_size_mismatch=data.on_size_mismatch)


@dataclass
class PreparedRun:
    """A run ready to train: its data, identity, folders and conditioning kind."""

    config: RunConfig
    root: Path
    train_set: Any
    test_set: Any
    identity: dict
    hash: str
    run_dir: Path
    checkpoint_dir: Path
    device: str = "cpu"

    @property
    def kind(self):
        from irstd_lib.conditioning import get_kind

        return get_kind(self.config.conditioning_kind)

    def prepare_condition(self, progress: bool = False):
        """The kind's conditioners (CLIP embeddings and such are computed, or read from cache)."""
        from irstd_lib.conditioning import ConditioningContext

        context = ConditioningContext(self.root, {"train": self.train_set, "test": self.test_set}, self.config.seed,
                                      self.device, progress)
        return self.kind.prepare(self.config.condition_settings, context)

    def build_model(self, condition_kwargs: dict | None = None):
        """The run's model, seeded, with the keyword arguments its condition needs."""
        import torch

        from irstd_lib.models import build_model

        kwargs = {**(condition_kwargs or {}), **self.config.model_kwargs}
        torch.manual_seed(self.config.seed)
        model = build_model(self.config.model, **kwargs)
        if model.conditioning != self.config.conditioning_kind:
            raise RuntimeError(f"{self.config.model} built a model taking {model.conditioning!r}, but its variant "
                               f"declares {self.config.conditioning_kind!r}")
        model.input_spec.check_size(self.config.data.train_size, self.config.data.train_size, "data.train_size")
        return model


def prepare_run(
    config: RunConfig, data_root: str | os.PathLike | None = None, results_dir: str | os.PathLike | None = None, device: str = "cpu"
) -> PreparedRun:
    """Open the data and compute the run's identity and hash (nothing is built or trained)."""
    root = resolve_data_root(config.data, data_root)
    from irstd_lib.conditioning import get_kind

    kind = get_kind(config.conditioning_kind)
    if config.data.train_policy == "crop" and kind.describes_whole_image(config.condition_settings):
        import warnings

        warnings.warn(f"run of {config.model}: its condition describes the whole image (position words), but it trains on "
                      "random crops with flips and transposes, which the words do not follow; use "
                      "data.train_policy='resize' (see irstd_lib.profiles)", UserWarning, stacklevel=2)
    with_files = kind.needs_description_files(config.condition_settings)
    train_set = open_split(config.data, root, config.data.train_split, with_files, config.seed)
    test_set = open_split(config.data, root, config.data.test_split, with_files, config.seed)
    from irstd_lib.engine.distributed import get_world_size

    identity = run_identity(config, {"train": train_set.fingerprint(), "test": test_set.fingerprint()}, get_world_size())
    digest = run_hash(identity)
    return PreparedRun(config, root, train_set, test_set, identity, digest,
                       results_root(results_dir) / "runs" / digest, cache_dir("runs", digest), device)


def training_dataset(config: RunConfig, train_set, pad_value: float = 0.0):
    """The torch Dataset a run trains on, by ``config.data.train_policy``: whole images resized
    to ``train_size`` (``"resize"``: every item is its whole image, unflipped, so a description of
    the image stays true of the input) or random-scale crops with flips and transposes
    (``"crop"``, padded with ``pad_value``: the model's input mean)."""
    from irstd_lib.data.transforms import TorchIRSTDDataset, TrainTransform

    if config.data.train_policy == "crop":
        return TorchIRSTDDataset(train_set, transform=TrainTransform(config.data.train_size, pad_value=pad_value), seed=config.seed)
    return TorchIRSTDDataset(train_set, size=config.data.train_size, seed=config.seed)


def run_experiment(
    config: RunConfig,
    data_root: str | os.PathLike | None = None,
    results_dir: str | os.PathLike | None = None,
    device: str = "cpu",
    progress: bool = True,
    retrain: bool = False,
    channels_last: bool | None = None,
    verify: bool | None = None,
) -> RunResult:
    """Train and evaluate ``config`` once; later calls return the recorded run.

    ``verify`` (default: the environment variable ``IRSTD_VERIFY`` is ``1``, which ``reproduce
    --verify`` sets for its notebooks): when the run is recorded already, train it again unless
    the local cache holds its fresh metrics (``$IRSTD_CACHE/runs/<hash>/fresh_metrics.json``;
    a finished ``last.pt`` there is evaluated, not retrained), and append the comparison of the
    fresh metrics with the record to the file ``IRSTD_VERIFY_LOG`` names (:func:`verification_status`
    classifies it). The record, and so every table, stays as committed. One process only.

    The run folder is ``<results>/runs/<hash>/``; its ``metrics.json`` is written last, so a run
    counts as finished only when everything else is in place. An interrupted run resumes from
    the last checkpoint in ``$IRSTD_CACHE/runs/<hash>/``. The final weights are evaluated (no
    selection on the test split); ``best.pt`` beside them is kept for users who validate.
    ``channels_last`` is a runtime option of the trainer (not part of the run's identity); None
    (the default) turns it on for CUDA devices, where cuDNN's NHWC kernels are the fast ones, and
    off on the CPU, where it measured within noise (LGNet width 16, 64 px, batch 8: 0.12 s a step
    against 0.14 s, two cores shared with other work).

    Under DDP (a process group initialised, as ``torchrun ... -m irstd_lib train`` does), every
    process calls this with the same arguments: rank 0 opens the data and prepares the condition
    first (writing the synthetic dataset and caches), then the others (reading them); all train
    their shards (:class:`~irstd_lib.engine.Trainer`); rank 0 alone writes the run folder
    (``config.json`` and, once, the finished record) and evaluates on the test split, while the
    others wait at a barrier and then return the record rank 0 wrote. A record made by N > 1
    processes says so (``"world_size"``, also in its identity, hence its hash): ``batch_size``
    is per process.
    """
    from irstd_lib.engine.distributed import barrier, get_world_size, is_main_process, main_process_first

    is_main = is_main_process()
    with main_process_first():
        prep = prepare_run(config, data_root, results_dir, device)
    metrics_path = prep.run_dir / "metrics.json"
    if metrics_path.is_file() and not retrain:
        recorded = RunResult(config, prep.hash, prep.run_dir, prep.checkpoint_dir, json.loads(metrics_path.read_text()))
        if (verify if verify is not None else os.environ.get(VERIFY_ENV) == "1") and is_main:
            _verify(recorded, prep, device, progress, channels_last)
        return recorded
    if is_main:  # the other ranks are waiting in the next main_process_first
        if retrain and prep.checkpoint_dir.is_dir():
            import shutil

            shutil.rmtree(prep.checkpoint_dir)
            prep.checkpoint_dir.mkdir(parents=True)
        atomic_write_json(prep.run_dir / "config.json", {"hash": prep.hash, "config": config.to_dict(), "identity": prep.identity})
    trainer, fit, condition, train_cfg = _fit(config, prep, device, progress, channels_last, is_main)
    model = trainer.module
    if not is_main:
        barrier()  # while rank 0 evaluates and writes the record
        return RunResult(config, prep.hash, prep.run_dir, prep.checkpoint_dir, json.loads(metrics_path.read_text()))

    announce_task(f"evaluating {config.model} (run {prep.hash})")
    evaluations, details, maps = evaluate_run(model, prep.test_set, train_cfg, condition.evaluations,
                                              config.primary_evaluation, device, progress)
    from irstd_lib.engine.evaluate import inspect

    inspection = inspect(model, prep.test_set, prep.test_set.names[:INSPECTED_IMAGES], train_cfg.val_size, train_cfg.eval_policy,
                         device, condition.evaluations[config.primary_evaluation])
    history = fit.get("history", [])
    record: dict[str, Any] = {
        "hash": prep.hash, "profile": config.profile, "model": config.model, "dataset": config.data.dataset,
        "issues": list(prep.train_set.issues) + list(prep.test_set.issues),
        "evaluations": list(evaluations), "primary": config.primary_evaluation, **evaluations,
        "parameters": {"total": sum(p.numel() for p in model.parameters()), "trainable": model.trainable_parameters()},
        "epochs": len(history), "train_seconds": round(sum(h.get("time_s", 0.0) for h in history), 1),
        "preview": list(maps),
    }
    if get_world_size() > 1:
        record["world_size"] = get_world_size()
    atomic_write_json(prep.run_dir / "details.json", details)
    _write_maps(prep.run_dir / "maps.npz", maps)
    if inspection:
        _write_npz(prep.run_dir / "inspection.npz",
                   {f"{name}/{key}": value.astype(np.float16) for name, row in inspection.items() for key, value in row.items()})
    _write_history(prep.run_dir / "history.csv", history)
    _write_preview(prep.run_dir / "preview.png", prep.test_set, maps)
    atomic_write_json(metrics_path, record)
    barrier()  # the other ranks read the record now
    return RunResult(config, prep.hash, prep.run_dir, prep.checkpoint_dir, record)


def _fit(config: RunConfig, prep: "PreparedRun", device: str, progress: bool, channels_last: bool | None, is_main: bool = True):
    """Build the run's condition, model and trainer, and train (resuming from the cache):
    ``(trainer, fit summary, condition, train config)``."""
    from irstd_lib.engine import Trainer
    from irstd_lib.engine.distributed import main_process_first

    with main_process_first():
        condition = prep.prepare_condition(progress and is_main)
    train_cfg = config.train_config(device, progress)
    if channels_last is None:
        channels_last = str(device).startswith("cuda")
    if channels_last:
        train_cfg = replace(train_cfg, channels_last=True)
    model = prep.build_model(condition.model_kwargs)
    train_data = training_dataset(config, prep.train_set, pad_value=model.input_spec.pad_value)
    trainer = Trainer(model, train_cfg, train_data, val_data=None, checkpoint_dir=prep.checkpoint_dir, conditioner=condition.train,
                      run_info={"hash": prep.hash, "model": config.model})
    if is_main:
        announce_task(f"training {config.model} (run {prep.hash})")
    return trainer, trainer.fit(), condition, train_cfg


# ---------------------------------------------------------------------------------------------
# Verifying a recorded run: train it again here and compare

VERIFY_ENV = "IRSTD_VERIFY"
VERIFY_LOG_ENV = "IRSTD_VERIFY_LOG"


def _verify(recorded: RunResult, prep: "PreparedRun", device: str, progress: bool, channels_last: bool | None) -> dict:
    """Fresh metrics of a recorded run (trained again unless the cache holds them), logged."""
    fresh_path = prep.checkpoint_dir / "fresh_metrics.json"
    if fresh_path.is_file():
        fresh = json.loads(fresh_path.read_text())
    else:
        trainer, _, condition, train_cfg = _fit(recorded.config, prep, device, progress, channels_last)
        announce_task(f"evaluating {recorded.config.model} (run {prep.hash}) to compare with its record")
        evaluations, _, _ = evaluate_run(trainer.module, prep.test_set, train_cfg, condition.evaluations,
                                         recorded.config.primary_evaluation, device, progress)
        fresh = {"hash": prep.hash, "model": recorded.config.model, "primary": recorded.config.primary_evaluation,
                 "evaluations": {name: {m: metrics[m] for m in METRICS} for name, metrics in evaluations.items()}}
        atomic_write_json(fresh_path, fresh)
    entry = {"hash": prep.hash, "model": recorded.config.model, "seed": recorded.config.seed, "primary": fresh["primary"],
             "recorded": {name: {m: recorded.record[name][m] for m in METRICS} for name in fresh["evaluations"]},
             "fresh": fresh["evaluations"]}
    log = os.environ.get(VERIFY_LOG_ENV)
    if log:
        with open(log, "a", encoding="utf-8") as f:  # one line per check; several notebooks append in turn
            f.write(json.dumps(entry, sort_keys=True) + "\n")
    return entry


def verification_status(entry: dict, seed_sd: dict[str, float] | None, factor: float) -> str:
    """``identical`` (every metric of every evaluation equal), ``within seed spread`` (every
    metric of the primary evaluation within ``factor`` seed sds of its record) or ``outside``
    (also when no seed spread is known for the run's system)."""
    if all(entry["fresh"][name][m] == entry["recorded"][name][m] for name in entry["fresh"] for m in METRICS):
        return "identical"
    if not seed_sd:
        return "outside"
    primary = entry["primary"]
    for m in METRICS:
        delta, sd = abs(entry["fresh"][primary][m] - entry["recorded"][primary][m]), seed_sd.get(m, float("nan"))
        if not (np.isfinite(delta) and np.isfinite(sd) and delta <= factor * sd):
            return "outside"
    return "within seed spread"


@dataclass
class ScoredRun(_RecordedRun):
    """A classical method scored on a test split (see :func:`score_classical`)."""

    method: str
    hash: str
    run_dir: Path
    record: dict
    primary_evaluation = "test"


def score_classical(
    method: str,
    data: DataConfig,
    data_root: str | os.PathLike | None = None,
    results_dir: str | os.PathLike | None = None,
    size: int | None = None,
    policy: str = "pad",
    progress: bool = False,
    method_kwargs: dict | None = None,
) -> ScoredRun:
    """Score the classical ``method`` on ``data``'s test split once (``size`` and ``policy`` as in
    :func:`irstd_lib.engine.evaluate.evaluate`; the default is each image's native size) and
    record it under ``<results>/runs/<hash>/``; later calls read the record."""
    from irstd_lib.engine.evaluate import ROC_THRESHOLDS, evaluate
    from irstd_lib.models import build_model, get_variant

    variant = get_variant(method)
    if variant.kind != "classical":
        raise ValueError(f"{method} is a learned model: train it with run_experiment")
    root = resolve_data_root(data, data_root)
    test_set = open_split(data, root, data.test_split)
    kwargs = variant.resolved_kwargs(**(method_kwargs or {}))
    settings = {"dataset": data.dataset, "split_dir": data.split_dir, "split_scheme": data.split_scheme,
                "test_split": data.test_split, "on_size_mismatch": data.on_size_mismatch, "fingerprint": test_set.fingerprint()}
    if data.dataset == "synthetic":
        settings["synthetic"] = data.synthetic
    if data.split_version is not None:  # entered only when set, so earlier scorings keep their hashes
        settings["split_version"] = data.split_version
    identity = {"format": RUN_FORMAT_VERSION, "model": {"builder": variant.builder_path, "kwargs": kwargs, "version": variant.version},
                "data": settings, "evaluation": {"size": size, "policy": policy, "roc_thresholds": ROC_THRESHOLDS}}
    digest = run_hash(identity)
    run_dir = results_root(results_dir) / "runs" / digest
    metrics_path = run_dir / "metrics.json"
    if metrics_path.is_file():
        return ScoredRun(method, digest, run_dir, json.loads(metrics_path.read_text()))
    atomic_write_json(run_dir / "config.json", {"hash": digest, "method": method, "identity": identity})
    announce_task(f"scoring {method} on {data.dataset} (run {digest})")
    first = list(test_set.names[:PREVIEW_IMAGES])
    result = evaluate(build_model(method, **(method_kwargs or {})), test_set, size=size, policy=policy, progress=progress,
                      per_image=True, roc_thresholds=ROC_THRESHOLDS, keep_maps=first)
    record = {"hash": digest, "model": method, "kind": "classical", "dataset": data.dataset, "issues": list(test_set.issues),
              "evaluations": ["test"], "primary": "test", "test": result["metrics"], "preview": first}
    atomic_write_json(run_dir / "details.json", {"test": {"per_image": result["per_image"], "roc": result["roc"]}})
    _write_maps(run_dir / "maps.npz", result["maps"])
    atomic_write_json(metrics_path, record)
    return ScoredRun(method, digest, run_dir, record)


def hardest_images(per_image: list[dict], n: int) -> list[str]:
    """The ``n`` images with targets that a method finds hardest: lowest IoU, then the smallest
    target area (ties by name)."""
    rows = [r for r in per_image if r["n_targets"] > 0]
    rows.sort(key=lambda r: (r["intersection"] / max(r["union"], 1), r["target_pixels"], r["name"]))
    return [r["name"] for r in rows[:n]]


def evaluate_run(model, test_set, train_cfg, conditioners: dict, primary: str, device: str = "cpu", progress: bool = False):
    """Every evaluation of a trained model: ``(metrics per evaluation, details per evaluation,
    score maps of the primary evaluation's first and hardest test images)``."""
    from irstd_lib.engine import evaluate
    from irstd_lib.engine.evaluate import ROC_THRESHOLDS

    first = list(test_set.names[:PREVIEW_IMAGES])
    metrics, details, maps = {}, {}, {}
    for name, conditioner in conditioners.items():
        result = evaluate(model, test_set, size=train_cfg.val_size, policy=train_cfg.eval_policy, device=device,
                          conditioner=conditioner, threshold=train_cfg.threshold, progress=progress, amp=train_cfg.amp,
                          per_image=True, roc_thresholds=ROC_THRESHOLDS, keep_maps=first if name == primary else ())
        metrics[name] = result["metrics"]
        details[name] = {"per_image": result["per_image"], "roc": result["roc"]}
        if name == primary:
            maps.update(result["maps"])
            hard = [n for n in hardest_images(result["per_image"], PREVIEW_IMAGES) if n not in maps]
            if hard:
                from irstd_lib.engine import predict

                indices = [test_set.index_of(n) for n in hard]
                for p in predict(model, test_set, size=train_cfg.val_size, policy=train_cfg.eval_policy, device=device,
                                 conditioner=conditioner, threshold=train_cfg.threshold, amp=train_cfg.amp, indices=indices):
                    maps[p.sample.name] = p.scores
    return metrics, details, maps


def _write_maps(path: Path, maps: dict[str, np.ndarray]) -> None:
    _write_npz(path, {name: np.clip(np.rint(m * 255.0), 0, 255).astype(np.uint8) for name, m in maps.items()})


def _write_npz(path: Path, arrays: dict[str, np.ndarray]) -> None:
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)
    atomic_save(path, lambda f: f.write(buffer.getvalue()))


def load_trained_model(config: RunConfig, data_root=None, results_dir=None, device: str = "cpu", progress: bool = False):
    """The trained model of ``config`` (trained first if needed; retrained when its checkpoint
    is gone from the cache, deterministically), its prepared run and its prepared condition."""
    from irstd_lib.engine import load_model_weights

    run = run_experiment(config, data_root, results_dir, device, progress)
    weights = run.checkpoint_dir / "last.pt"
    if not weights.is_file():
        run = run_experiment(config, data_root, results_dir, device, progress, retrain=True)
    prep = prepare_run(config, data_root, results_dir, device)
    condition = prep.prepare_condition(progress)
    model = prep.build_model(condition.model_kwargs)
    load_model_weights(weights, model)
    model.eval()
    return model, prep, condition


def _write_history(path: Path, history: list[dict]) -> None:
    import pandas as pd

    from irstd_lib.io import atomic_write_text

    atomic_write_text(path, pd.DataFrame(history).to_csv(index=False))


def _write_preview(path: Path, dataset, maps: dict[str, np.ndarray], n: int = PREVIEW_IMAGES) -> None:
    """A small figure: the first ``n`` test images, their masks and the predicted scores."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    names = [name for name in dataset.names[:n] if name in maps]
    fig, axes = plt.subplots(3, len(names), figsize=(2.2 * len(names), 6.6), squeeze=False)
    for col, name in enumerate(names):
        sample = dataset[dataset.index_of(name)]
        for row, (image, title) in enumerate(((sample.image, name), (sample.mask, "mask"), (maps[name], "score"))):
            ax = axes[row, col]
            ax.imshow(image, cmap="gray", vmin=0, vmax=1)
            ax.set_title(title, fontsize=8)
            ax.axis("off")
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=80, metadata={"Software": None})
    plt.close(fig)
    atomic_save(path, lambda f: f.write(buffer.getvalue()))


def _run_folder(run: str | os.PathLike, results_dir: str | os.PathLike | None = None) -> Path:
    """A run's folder, given the folder itself or the run's hash."""
    path = Path(run)
    return path if path.is_dir() else results_root(results_dir) / "runs" / str(run)


def load_run(run: str | os.PathLike, results_dir: str | os.PathLike | None = None) -> "RunResult | ScoredRun":
    """A finished run (trained: :class:`RunResult`; a classical score: :class:`ScoredRun`) from
    its record, given its hash or its folder."""
    record = find_run(run, results_dir)
    path = _run_folder(run, results_dir)
    saved = json.loads((path / "config.json").read_text(encoding="utf-8"))
    if "method" in saved:
        return ScoredRun(saved["method"], saved["hash"], path, record)
    return RunResult(RunConfig.from_dict(saved["config"]), saved["hash"], path, cache_dir("runs", saved["hash"]), record)


def find_run(run: str | os.PathLike, results_dir: str | os.PathLike | None = None) -> dict:
    """The record (metrics.json) of a finished run, given its hash or its folder."""
    metrics = _run_folder(run, results_dir) / "metrics.json"
    if not metrics.is_file():
        raise FileNotFoundError(f"{metrics}: no finished run here (train it with `python -m irstd_lib train --config ...`)")
    return json.loads(metrics.read_text(encoding="utf-8"))
