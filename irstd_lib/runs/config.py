"""The run config schema: what a trained run is asked to be.

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

``profile`` is a label saying where the config came from; it is not part of the run's identity
(:mod:`irstd_lib.runs.identity`): the same settings are the same run, whatever profile asked for it.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

__all__ = ["TRAIN_POLICIES", "DataConfig", "RunConfig"]

# "basicirstd_toolbox" (and its 251003a variant) is the BasicIRSTD toolbox's protocol, one name for
# its crop sampler and its training recipe (irstd_lib.runs.toolbox_protocol).
TRAIN_POLICIES = ("crop", "resize", "basicirstd_toolbox", "basicirstd_toolbox_251003a")
# Training policies that also choose the recipe the run's "train" settings sit on.
_POLICY_RECIPES = {"basicirstd_toolbox": "basicirstd_toolbox", "basicirstd_toolbox_251003a": "basicirstd_toolbox"}

# TrainConfig fields a run sets from elsewhere (data, seed) or that never change numbers.
_TRAIN_FIELDS_FROM_RUN = ("seed", "train_size", "val_size", "eval_policy", "device", "progress")


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
    ``"basicirstd_toolbox"`` (the BasicIRSTD toolbox's protocol: its fixed-size crops, flips and
    transpose, :class:`~irstd_lib.data.transforms.BasicIRSTDCrop`, and its recipe
    ``basicirstd_toolbox``; ``"basicirstd_toolbox_251003a"``: the same with the uniform crop of
    the toolbox's code behind its published numbers; :mod:`irstd_lib.runs.toolbox_protocol`) or
    ``"resize"`` (the whole image resized, no augmentation: LGNet trains on whole images
    resized to 512 and its descriptions say where the target is; SAIST trains on whole images
    resized to 1024, and its scene prompt describes the whole image; both profiles use it for
    every run); test images are prepared by
    ``eval_policy`` (``"resize"`` to ``eval_size``, ``"pad"`` to a multiple of ``eval_size`` or
    32, ``"none"``) and always scored at their native size.

    Splits: ``train_split`` and ``test_split`` name lists of the dataset's own
    (``split_scheme="standard"``) or of SAIST's 50/30/20 partition (``"saist_50_30_20"``, seeded by
    ``split_seed``, the partition's own seed, never the training seed, so that every seed is
    tested on one test set; :mod:`irstd_lib.data.splits`); ``val_split`` (None: no validation,
    the final weights are tested) names a list the run validates on every ``val_every`` epochs,
    and then the weights of the epoch with the best validation ``select_metric`` are tested (the
    epoch recorded; SAIST, 4.1: "30% for validation"); ``split_version`` picks versioned lists
    (SIRST v2's ``trainval_full.txt`` / ``test_v1.txt``; None: the layout's default).

    Masks: ``mask_dir`` chooses the mask folder for training and testing alike, as ``--mask-dir``
    does for ``datasets check``, ``score`` and ``evaluate`` (None: the layout's; a dataset with
    several candidate folders, such as DenseSIRST's targets and sky, reads its target masks and
    says which); set, it enters the run's identity, so another folder is another run (unset, the
    identity is what it was before the field existed)."""

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
    val_split: str | None = None  # the list the checkpoint is chosen on (None: the final weights are tested)
    split_seed: int = 0  # the partition's seed under a proportional split_scheme (irstd_lib.data.splits)
    # The mask folder, relative to the root or absolute (None: the layout's; DenseSIRST as published
    # holds SIRST/BinaryMask, its targets, read by default, and SkySeg/BinaryMask, its sky).
    mask_dir: str | None = None

    def __post_init__(self) -> None:
        from irstd_lib.data.transforms import EVAL_POLICIES

        if self.train_policy not in TRAIN_POLICIES:
            raise ValueError(f"data.train_policy must be one of {TRAIN_POLICIES}, got {self.train_policy!r}")
        from irstd_lib.data.splits import SPLIT_SCHEMES

        if self.split_scheme not in SPLIT_SCHEMES:
            raise ValueError(f"data.split_scheme must be one of {tuple(SPLIT_SCHEMES)}, got {self.split_scheme!r}")
        if self.val_split is not None and self.val_split in (self.train_split, self.test_split):
            raise ValueError(f"data.val_split {self.val_split!r} must differ from the train and test splits")
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
        return TrainConfig.from_recipe(self.recipe, **values)

    @property
    def recipe(self) -> str:
        """The recipe the run's ``train`` settings sit on: the model's, unless the training policy
        is a protocol that brings its own (``"basicirstd_toolbox"``)."""
        return _POLICY_RECIPES.get(self.data.train_policy, self.variant.recipe)

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
