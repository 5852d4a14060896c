"""Opening a run's data: the dataset folder (the embedded synthetic set is written into the cache
folder once), its splits, and the torch Dataset a run trains on."""

from __future__ import annotations

import os
from pathlib import Path

from irstd_lib.paths import cache_dir
from irstd_lib.runs.config import DataConfig, RunConfig

__all__ = ["open_split", "resolve_data_root", "synthetic_root", "training_dataset"]


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


def open_split(data: DataConfig, root: Path, split: str, with_descriptions: bool = False):
    """The list ``split`` of the data (under a proportional scheme, of its partition seeded by
    ``data.split_seed``, the same for every training seed)."""
    from irstd_lib.data import IRSTDDataset
    from irstd_lib.data.splits import split_folder

    split_dir = split_folder(root, data.split_scheme, data.split_seed, data.split_dir) or data.split_dir
    return IRSTDDataset(root, split=split, split_dir=split_dir, split_version=data.split_version,
                        descriptions="target" if with_descriptions else None, on_size_mismatch=data.on_size_mismatch,
                        mask_dir=data.mask_dir)


def training_dataset(config: RunConfig, train_set, pad_value: float = 0.0):
    """The torch Dataset a run trains on, by ``config.data.train_policy``: whole images resized
    to ``train_size`` (``"resize"``: every item is its whole image, unflipped, so a description of
    the image stays true of the input) or random-scale crops with flips and transposes
    (``"crop"``, padded with ``pad_value``: the model's input mean)."""
    from irstd_lib.data.transforms import BASICIRSTD_CROP_POLICIES, BasicIRSTDCrop, TorchIRSTDDataset, TrainTransform

    if config.data.train_policy in BASICIRSTD_CROP_POLICIES:  # the toolbox's protocol (irstd_lib.runs.toolbox_protocol)
        crop = BasicIRSTDCrop(config.data.train_size, BASICIRSTD_CROP_POLICIES[config.data.train_policy], pad_value=pad_value)
        return TorchIRSTDDataset(train_set, transform=crop, seed=config.seed)
    if config.data.train_policy == "crop":
        return TorchIRSTDDataset(train_set, transform=TrainTransform(config.data.train_size, pad_value=pad_value), seed=config.seed)
    return TorchIRSTDDataset(train_set, size=config.data.train_size, seed=config.seed)
