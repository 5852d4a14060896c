"""Split schemes: SAIST's 50/30/20 partition beside the dataset's own lists."""

from __future__ import annotations

import pytest

from irstd_lib.data import IRSTDDataset
from irstd_lib.data.splits import split_folder


def test_saist_split_partitions_the_whole_list_in_proportion(tiny_synthetic_root, tmp_path, monkeypatch):
    monkeypatch.setenv("IRSTD_CACHE", str(tmp_path / "cache"))
    assert split_folder(tiny_synthetic_root, "standard") is None
    folder = split_folder(tiny_synthetic_root, "saist_50_30_20", seed=0)
    parts = {s: IRSTDDataset(tiny_synthetic_root, s, split_dir=folder).names for s in ("train", "val", "test")}
    everything = IRSTDDataset(tiny_synthetic_root, "all").names
    assert sorted(parts["train"] + parts["val"] + parts["test"]) == sorted(everything)  # a partition
    assert [len(parts[s]) for s in ("train", "val", "test")] == [6, 4, 2]  # 12 images: 50 / 30 / 20 %
    assert IRSTDDataset(tiny_synthetic_root, "trainval", split_dir=folder).names == parts["train"] + parts["val"]
    assert split_folder(tiny_synthetic_root, "saist_50_30_20", seed=0) == folder  # same seed, same lists
    other = split_folder(tiny_synthetic_root, "saist_50_30_20", seed=1)
    assert IRSTDDataset(tiny_synthetic_root, "test", split_dir=other).names != parts["test"]
    with pytest.raises(ValueError, match="unknown split scheme"):
        split_folder(tiny_synthetic_root, "70_30")


def test_nuaa_sirst_saist_split(nuaa_root, tmp_path, monkeypatch):
    monkeypatch.setenv("IRSTD_CACHE", str(tmp_path / "cache"))
    folder = split_folder(nuaa_root, "saist_50_30_20")
    sizes = [len(IRSTDDataset(nuaa_root, s, split_dir=folder, descriptions=None, on_size_mismatch="resize")) for s in ("train", "val", "test")]
    assert sizes == [214, 128, 85] and sum(sizes) == 427
