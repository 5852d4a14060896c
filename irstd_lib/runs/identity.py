"""A run's identity and hash: one scheme for trained runs and classical scorings.

A run's hash (12 hex digits of SHA-256 over the canonical JSON of its identity,
:func:`canonical_json`) names its record folder (:mod:`irstd_lib.runs.records`).

Trained runs (:func:`run_identity`): the identity holds the builder and its resolved keyword
arguments (so ``lgnet_baseline`` and ``lgnet`` with both switches off are one run; weights files
by their content, :func:`weights_by_content`), the data settings with each split replaced by a
fingerprint of its contents (the same data at another path hashes the same), what the
conditioning kind says matters, the resolved training settings and the seed.

Classical scorings (Top-Hat, IPI; :func:`classical_identity`): the method, its resolved
arguments, the test split's settings and fingerprint, and the evaluation settings (size, policy,
ROC thresholds). :func:`classical_settings` is the same identity without the fingerprint, for
telling scorings apart without opening their data (:mod:`irstd_lib.reproductions.plan`).

:data:`RUN_FORMAT_VERSION` is bumped when a change to the library changes trained numbers (or the
record's layout) for the same config, so that stale run records are not reused. Settings added
after records were made enter an identity only away from their default, so that the records made
before them keep their hashes.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

from irstd_lib.runs.config import DataConfig, RunConfig

__all__ = [
    "RUN_FORMAT_VERSION",
    "canonical_json",
    "classical_identity",
    "classical_settings",
    "run_hash",
    "run_identity",
    "weights_by_content",
]

# Bumped when a change to the library changes trained numbers (or the record's layout) for the
# same config, so that stale run records are not reused.
RUN_FORMAT_VERSION = 3

# Settings added after records were made enter a run's identity only away from their default, so
# that the records made before them keep their hashes.
_DATA_FIELDS_ADDED_LATER = {"train_policy": "crop", "split_scheme": "standard", "split_version": None,
                            "val_split": None, "split_seed": 0, "mask_dir": None}

# TrainConfig fields added after records were made, likewise (away from their default only).
_TRAIN_FIELDS_ADDED_LATER = {"pretrain_epochs": 0, "cpu_threads": None}

# TrainConfig fields that never change numbers.
_TRAIN_FIELDS_NOT_IN_IDENTITY = ("device", "progress", "num_workers", "channels_last", "keep_every")


def canonical_json(obj: Any) -> str:
    """The one canonical JSON text of ``obj`` (sorted keys, no spaces; other types by ``str``):
    what run hashes are taken over, and a key for telling settings apart."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), default=str)


def run_hash(identity: dict[str, Any]) -> str:
    """12 hex digits of SHA-256 over the canonical JSON of ``identity``: the run folder's name."""
    return hashlib.sha256(canonical_json(identity).encode()).hexdigest()[:12]


def run_identity(config: RunConfig, fingerprints: dict[str, str], world_size: int = 1) -> dict[str, Any]:
    """What makes a trained run's numbers (see the module docstring); its hash names the run.

    ``world_size`` (the number of DDP processes) enters only when it is not 1: ``batch_size`` is
    per process, so N processes train on N times the batch with 1/N of the steps, other numbers
    that must not share a one-process run's folder; one-process hashes stay as they were."""
    from irstd_lib.conditioning import get_kind

    data = asdict(config.data)
    if config.data.dataset != "synthetic":
        data.pop("synthetic")
    _drop_defaults(data, _DATA_FIELDS_ADDED_LATER)
    data["fingerprints"] = fingerprints
    train = config.train_config().to_dict()
    for name in _TRAIN_FIELDS_NOT_IN_IDENTITY + ("seed", "train_size", "val_size", "eval_policy"):
        train.pop(name)
    _drop_defaults(train, _TRAIN_FIELDS_ADDED_LATER)
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


def _drop_defaults(settings: dict[str, Any], added_later: dict[str, Any]) -> None:
    """Remove, in place, each setting added after records were made that is at its default."""
    for name, default in added_later.items():
        if settings[name] == default:
            settings.pop(name)


def _model_identity(config: RunConfig) -> dict[str, Any]:
    """The builder, its resolved arguments (weights files by content) and the variant's code
    version (entered from version 2 on, so that records made before versions existed keep their
    hashes)."""
    identity = {"builder": config.variant.builder_path, "kwargs": weights_by_content(config.resolved_model_kwargs)}
    if config.variant.version != 1:
        identity["version"] = config.variant.version
    return identity


def weights_by_content(kwargs: dict[str, Any]) -> dict[str, Any]:
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


def classical_settings(method: str, data: DataConfig, size: int | None = None, policy: str = "pad",
                       method_kwargs: dict | None = None) -> dict[str, Any]:
    """A classical scoring's identity (:func:`classical_identity`) without its test split's
    fingerprint: all that the settings say, known without opening the data. Two
    :class:`DataConfig` that differ only in what training reads (sizes, the training split)
    score the same test split the same way and give the same settings."""
    return _classical_identity(method, data, None, size, policy, method_kwargs)


def classical_identity(method: str, data: DataConfig, fingerprint: str, size: int | None = None, policy: str = "pad",
                       method_kwargs: dict | None = None) -> dict[str, Any]:
    """What makes a classical scoring's numbers (what :func:`~irstd_lib.runs.score_classical`
    hashes): the method's builder, resolved arguments and version, the test split's settings and
    ``fingerprint`` (of its contents), and the evaluation settings (``size``, ``policy``, the ROC
    thresholds)."""
    return _classical_identity(method, data, fingerprint, size, policy, method_kwargs)


def _classical_identity(method: str, data: DataConfig, fingerprint: str | None, size: int | None, policy: str,
                        method_kwargs: dict | None) -> dict[str, Any]:
    from irstd_lib.engine.evaluate import ROC_THRESHOLDS
    from irstd_lib.models import get_variant

    variant = get_variant(method)
    if variant.kind != "classical":
        raise ValueError(f"{method} is a learned model: train it with run_experiment")
    kwargs = variant.resolved_kwargs(**(method_kwargs or {}))
    settings = {"dataset": data.dataset, "split_dir": data.split_dir, "split_scheme": data.split_scheme,
                "test_split": data.test_split, "on_size_mismatch": data.on_size_mismatch}
    if fingerprint is not None:
        settings["fingerprint"] = fingerprint
    if data.dataset == "synthetic":
        settings["synthetic"] = data.synthetic
    if data.split_version is not None:  # entered only when set, so earlier scorings keep their hashes
        settings["split_version"] = data.split_version
    if data.split_seed != 0:  # entered only when set, so earlier scorings keep their hashes
        settings["split_seed"] = data.split_seed
    if data.mask_dir is not None:  # entered only when set, so earlier scorings keep their hashes
        settings["mask_dir"] = data.mask_dir
    return {"format": RUN_FORMAT_VERSION, "model": {"builder": variant.builder_path, "kwargs": kwargs, "version": variant.version},
            "data": settings, "evaluation": {"size": size, "policy": policy, "roc_thresholds": ROC_THRESHOLDS}}
