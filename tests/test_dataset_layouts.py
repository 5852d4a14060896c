"""Dataset layouts beyond images/ + masks/ (SIRST v2, VOC devkits, DNA-Net's 50_50), versioned
split lists, ``check_dataset`` / ``python -m irstd_lib datasets check``, and nIoU on target-free
images. Every fixture is a few 16x16 PNGs written with PIL in tmp_path."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from irstd_lib.__main__ import main
from irstd_lib.data import DatasetError, DatasetValidationError, IRSTDDataset
from irstd_lib.data.check import check_dataset, format_report
from irstd_lib.metrics import PdFaROC, SegmentationMetrics

from conftest import nuaa_sirst_path


def _png(path: Path, array: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array.astype(np.uint8), "L").save(path)


def _image(path: Path) -> None:
    _png(path, (np.arange(256).reshape(16, 16) % 200) + 20)


def _mask(path: Path, target: bool = True, size: int = 16) -> None:
    m = np.zeros((size, size), np.uint8)
    if target:
        m[4:6, 4:7] = 255  # one target of 6 pixels
        m[10, 12] = 255  # one target of 1 pixel
    _png(path, m)


def _lines(path: Path, names) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(names) + "\n")


def make_sirst_v2(root: Path) -> Path:
    """t1, t2, t3 with targets; b1 (all-zero mask file) and b2 (no mask file) backgrounds."""
    for n in ("t1", "t2", "t3"):
        _image(root / "images" / "targets" / f"{n}.png")
        _mask(root / "annotations" / "masks" / f"{n}_pixels0.png")
    for n in ("b1", "b2"):
        _image(root / "images" / "backgrounds" / f"{n}.png")
    _mask(root / "annotations" / "masks" / "b1_pixels0.png", target=False)
    (root / "images" / "targets" / ".DS_Store").write_bytes(b"\x00\x01junk")
    (root / "images" / "targets" / "Thumbs.db").write_bytes(b"junk")
    (root / "annotations" / "bboxes").mkdir(parents=True)
    (root / "annotations" / "bboxes" / "t1.xml").write_text("<annotation/>")
    (root / "annotations" / "centroids").mkdir()
    _lines(root / "splits" / "trainval_full.txt", ["t1", "b1"])
    _lines(root / "splits" / "test_full.txt", ["t2", "t3", "b2"])
    _lines(root / "splits" / "trainval_v1.txt", ["t1"])
    _lines(root / "splits" / "test_v1.txt", ["t2"])
    return root


def make_voc(root: Path) -> Path:
    for n in ("v1", "v2", "v3"):
        _image(root / "PNGImages" / f"{n}.png")
        _mask(root / "SIRST" / "BinaryMask" / f"{n}_pixels0.png", target=n != "v3")
    _mask(root / "SIRST" / "PaletteMask" / "v1_pixels0.png")
    (root / "SIRST" / "BBox").mkdir()
    _lines(root / "Splits" / "trainval_v1.txt", ["v1", "v2"])
    _lines(root / "Splits" / "test_v1.txt", ["v3"])
    return root


def make_dnanet(root: Path) -> Path:
    for n in ("000001", "000002", "000003", "000004"):
        _image(root / "images" / f"{n}.png")
        _mask(root / "masks" / f"{n}.png")
    _lines(root / "50_50" / "train.txt", ["000001", "000002", "000003"])
    _lines(root / "50_50" / "test.txt", ["000004"])
    return root


# ------------------------------------------------------------------------------------------
# SIRST v2
# ------------------------------------------------------------------------------------------
def test_sirst_v2_auto_layout_default_version_and_backgrounds(tmp_path):
    root = make_sirst_v2(tmp_path / "sirst_v2")
    ds = IRSTDDataset(root, "test")
    assert ds.layout == "sirst_v2" and ds.split_files == [root / "splits" / "test_full.txt"]
    assert ds.names == ["t2", "t3", "b2"]
    assert ds.implicit_empty_masks == {"b2"} and any("all-zero mask" in i for i in ds.issues)
    b2 = ds[ds.index_of("b2")]
    assert b2.mask.shape == (16, 16) and b2.mask.dtype == bool and not b2.mask.any()
    assert ds[0].mask.sum() == 7 and ds[0].image_path.parent.name == "targets"
    assert len(ds.fingerprint()) == 12

    train = IRSTDDataset(root, "trainval", layout="sirst_v2")
    assert train.names == ["t1", "b1"] and not train[1].mask.any()  # a mask file of zeros
    assert train.mask_paths[1].name == "b1_pixels0.png"
    assert IRSTDDataset(root, "test", split_version="v1").names == ["t2"]
    assert IRSTDDataset(root, "test_v1").names == ["t2"]
    assert IRSTDDataset(root, "all").names == ["t1", "b1", "t2", "t3", "b2"]
    assert IRSTDDataset(root, "all", split_version="v1").names == ["t1", "t2"]
    with pytest.raises(DatasetError, match=r"test_v9\.txt: split list for split 'test' version 'v9' not found; "
                                           r"versions of 'test' here: full, v1"):
        IRSTDDataset(root, "test", split_version="v9")
    with pytest.raises(ValueError, match="split_version"):
        IRSTDDataset(root, "test_v1", split_version="v1")


def test_sirst_v2_without_full_lists_versions_or_errors(tmp_path):
    root = make_sirst_v2(tmp_path / "sirst_v2")
    (root / "splits" / "test_full.txt").unlink()
    (root / "splits" / "trainval_full.txt").unlink()
    assert IRSTDDataset(root, "test").names == ["t2"]  # the single version left
    _lines(root / "splits" / "test_v1fullv2target.txt", ["t3"])
    with pytest.raises(DatasetError) as e:
        IRSTDDataset(root, "test")
    msg = str(e.value)
    assert "ambiguous" in msg and "'v1'" in msg and "'v1fullv2target'" in msg and "split_version" in msg


def test_sirst_v2_listed_image_absent_and_target_mask_absent_are_errors(tmp_path):
    root = make_sirst_v2(tmp_path / "sirst_v2")
    (root / "images" / "targets" / "t3.png").unlink()
    (root / "annotations" / "masks" / "t2_pixels0.png").unlink()
    with pytest.raises(DatasetValidationError) as e:
        IRSTDDataset(root, "test")
    msg = str(e.value)
    assert len(e.value.problems) == 2
    assert "image not found for name 't3'" in msg and "test_full.txt" in msg
    assert "mask not found for name 't2'" in msg and "t2_pixels0.png" in msg


def test_non_image_files_in_image_folders_are_ignored(tmp_path):
    root = make_sirst_v2(tmp_path / "sirst_v2")
    from irstd_lib.data.layout import index_folder

    assert set(index_folder(root / "images" / "targets")) == {"t1", "t2", "t3"}
    (root / "images" / "targets" / "t1.xml").write_text("<annotation/>")
    assert IRSTDDataset(root, "trainval").names == ["t1", "b1"]


def test_check_sirst_v2_counts(tmp_path):
    root = make_sirst_v2(tmp_path / "sirst_v2")
    report = check_dataset(root)
    assert report.layout == "sirst_v2" and report.image_dirs == ["images/targets", "images/backgrounds"]
    assert {s.path: s.n_names for s in report.split_lists} == {
        "splits/test_full.txt": 3, "splits/test_v1.txt": 1, "splits/trainval_full.txt": 2, "splits/trainval_v1.txt": 1}
    assert report.n_images == 5 and report.n_masks == 4
    assert report.n_with_targets == 3 and report.n_without_targets == 2 and report.n_targets == 6
    assert report.target_area == {"min": 1.0, "p25": 1.0, "p50": 3.5, "p75": 6.0, "max": 6.0}
    assert report.image_sizes == {"16x16": 5} and report.image_modes == {"L": 5}
    assert report.ignored_files == {"images/targets/.DS_Store": 1, "images/targets/*.db": 1}
    assert report.issues == [] and report.exit_code == 0
    text = format_report(report)
    assert "sirst_v2" in text and "splits/test_full.txt" in text and "0 errors, 0 warnings" in text


# ------------------------------------------------------------------------------------------
# VOC devkit and DNA-Net
# ------------------------------------------------------------------------------------------
def test_voc_devkit(tmp_path):
    root = make_voc(tmp_path / "SIRSTdevkit")
    ds = IRSTDDataset(root, "trainval")
    assert ds.layout == "voc" and ds.names == ["v1", "v2"]
    assert ds.masks_dir == root / "SIRST" / "BinaryMask" and ds.split_dir == root / "Splits"
    test = IRSTDDataset(root, "test", split_version="v1")
    assert test.names == ["v3"] and not test[0].mask.any()  # an image without targets is valid
    report = check_dataset(root)
    assert report.layout == "voc" and report.masks_dir == "SIRST/BinaryMask"
    assert report.n_images == 3 and report.n_with_targets == 2 and report.n_without_targets == 1
    assert report.n_targets == 4 and report.exit_code == 0
    (root / "PNGImages" / "v2.png").unlink()
    with pytest.raises(DatasetValidationError, match=r"image not found for name 'v2'.*trainval_v1\.txt"):
        IRSTDDataset(root, "trainval")
    assert any(i.kind == "missing_image" and "'v2'" in i.message for i in check_dataset(root).errors)


def test_voc_two_binary_mask_folders_is_an_error(tmp_path):
    root = make_voc(tmp_path / "SIRSTdevkit")
    (root / "Other" / "BinaryMask").mkdir(parents=True)
    with pytest.raises(DatasetError, match=r"several mask folders \(.*BinaryMask.*BinaryMask"):
        IRSTDDataset(root, "trainval")


def test_dnanet_50_50_split_folder(tmp_path):
    root = make_dnanet(tmp_path / "NUDT-SIRST")
    ds = IRSTDDataset(root, "test")
    assert ds.layout == "nudt" and ds.split_dir == root / "50_50" and ds.names == ["000004"]
    assert IRSTDDataset(root, "train").names == ["000001", "000002", "000003"]
    assert IRSTDDataset(root, "trainval").names == ["000001", "000002", "000003"]  # no val list
    assert len(IRSTDDataset(root, "all")) == 4
    # idx_427 wins over 50_50 when both exist
    _lines(root / "idx_427" / "test.txt", ["000001"])
    assert IRSTDDataset(root, "test").names == ["000001"]
    report = check_dataset(root)
    assert {s.path for s in report.split_lists} == {"50_50/test.txt", "50_50/train.txt", "idx_427/test.txt"}
    # a folder of lists named as a version (evaluate --split-version idx_427) says to choose it as the folder
    with pytest.raises(DatasetError, match=r"'idx_427' is a folder of split lists here \(idx_427/test\.txt\): "
                                           r"choose it as the split folder \(split_dir, --split-dir idx_427\)"):
        IRSTDDataset(root, "test", split_version="idx_427")
    assert IRSTDDataset(root, "test", split_dir="idx_427").names == ["000001"]
    assert report.layout == "nudt" and report.n_images == 4 and report.n_targets == 8 and report.exit_code == 0


def test_dnanet_missing_listed_image_is_an_error(tmp_path):
    root = make_dnanet(tmp_path / "NUDT-SIRST")
    (root / "images" / "000004.png").unlink()
    with pytest.raises(DatasetValidationError, match=r"image not found for name '000004' listed in .*50_50/test\.txt"):
        IRSTDDataset(root, "test")


# ------------------------------------------------------------------------------------------
# check_dataset flaws and the command line
# ------------------------------------------------------------------------------------------
def test_check_reports_every_flaw_by_file(tmp_path):
    root = make_dnanet(tmp_path / "ds")
    _lines(root / "50_50" / "test.txt", ["000004", "000002"])  # 000002 is also in train.txt
    _mask(root / "masks" / "000003.png", size=20)  # size mismatch
    _png(root / "masks" / "000001.png", np.full((16, 16), 7))  # non-binary
    _image(root / "images" / "000009.png")  # image no list names, without mask
    _mask(root / "masks" / "000010.png")  # mask without image
    report = check_dataset(root)
    kinds = {(i.severity, i.kind, Path(i.path).name) for i in report.issues}
    assert ("error", "train_test_overlap", "test.txt") in kinds
    assert ("error", "size_mismatch", "000003.png") in kinds
    assert ("error", "non_binary_mask", "000001.png") in kinds
    assert ("warning", "unlisted_image", "000009.png") in kinds
    assert ("warning", "missing_mask", "000009.png") in kinds
    assert ("warning", "extra_mask", "000010.png") in kinds
    overlap = next(i for i in report.errors if i.kind == "train_test_overlap")
    assert "000002" in overlap.message and "50_50/train.txt" in overlap.message
    assert report.exit_code == 1
    assert json.loads(json.dumps(report.to_dict()))["n_errors"] == 3


def test_datasets_check_command_exit_codes(tmp_path, capsys):
    clean = make_dnanet(tmp_path / "clean")
    assert main(["datasets", "check", str(clean)]) == 0
    out = capsys.readouterr().out
    assert "layout     nudt" in out and "50_50/train.txt" in out and "0 errors" in out
    _image(clean / "images" / "000099.png")  # an unlisted image: a warning only
    assert main(["datasets", "check", str(clean), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["n_warnings"] >= 1 and result["n_errors"] == 0

    leaky = make_dnanet(tmp_path / "leaky")
    _lines(leaky / "50_50" / "test.txt", ["000004", "000001"])
    assert main(["datasets", "check", str(leaky)]) == 1
    out = capsys.readouterr().out
    assert "000001" in out and "also in the training list 50_50/train.txt" in out
    assert main(["datasets", "check", str(tmp_path / "nowhere")]) == 2


@pytest.mark.skipif(not (nuaa_sirst_path() / "images").is_dir(),
                    reason=f"NUAA-SIRST not found at {nuaa_sirst_path()} (set IRSTD_NUAA_SIRST to its folder)")
def test_check_real_nuaa_sirst():
    report = check_dataset(nuaa_sirst_path())
    assert report.layout == "nuaa" and report.n_images == 427 and report.n_masks == 427
    lists = {s.path: s.n_names for s in report.split_lists}
    assert lists["idx_427/trainvaltest.txt"] == 427 and lists["idx_320/trainvaltest.txt"] == 320
    assert lists["idx_427/test.txt"] == 86 and lists["idx_320/test.txt"] == 96
    assert [(i.kind, Path(i.path).name) for i in report.errors] == [("size_mismatch", "Misc_111_pixels0.png")]
    assert "592x400" in report.errors[0].message and "325x220" in report.errors[0].message
    assert report.exit_code == 1 and report.n_without_targets == 0


# ------------------------------------------------------------------------------------------
# nIoU on an image without targets
# ------------------------------------------------------------------------------------------
def test_niou_of_a_background_image_predicted_empty():
    target = np.zeros((8, 8), bool)
    target[2:4, 2:4] = True
    masks = np.stack([target, np.zeros((8, 8), bool)])  # a target image, a background image
    scores = masks.astype(np.float32)  # perfect: the background is predicted empty
    toolbox = SegmentationMetrics()
    toolbox.update(scores, masks)
    assert toolbox.compute()["nIoU"] == pytest.approx(50.0)  # the background scores 0
    one = SegmentationMetrics(niou_empty="one")
    one.update(scores, masks)
    assert one.compute()["nIoU"] == pytest.approx(100.0)
    assert one.compute()["IoU"] == toolbox.compute()["IoU"]
    # a false alarm on the background scores 0 in both conventions
    noisy = scores.copy()
    noisy[1, 6, 6] = 1.0
    one.reset()
    one.update(noisy, masks)
    assert one.compute()["nIoU"] == pytest.approx(50.0)
    roc = PdFaROC(thresholds=[0.5], niou_empty="one")
    roc.update(scores, masks)
    assert roc.compute()["nIoU"][0] == pytest.approx(100.0)
    with pytest.raises(ValueError, match="niou_empty"):
        SegmentationMetrics(niou_empty="skip")


# ------------------------------------------------------------------------------------------
# Every command that reads a dataset accepts each layout
# ------------------------------------------------------------------------------------------
LAYOUT_FIXTURES = {"sirst_v2": make_sirst_v2, "voc": make_voc, "nudt": make_dnanet}


@pytest.mark.parametrize("layout", sorted(LAYOUT_FIXTURES))
def test_evaluate_score_and_train_read_each_layout(layout, tmp_path, capsys, monkeypatch):
    root = LAYOUT_FIXTURES[layout](tmp_path / layout)
    test_names = IRSTDDataset(root, "test").names
    out = tmp_path / "pred"
    assert main(["evaluate", "--method", "tophat", "--data", str(root), "--save-pred", str(out), "--json"]) == 0
    direct = json.loads(capsys.readouterr().out)
    assert direct["n_images"] == len(test_names)
    assert main(["score", "--pred", str(out), "--data", str(root), "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == pytest.approx(direct, nan_ok=True)  # Pd is NaN on a set without targets

    monkeypatch.setenv("IRSTD_CACHE", str(tmp_path / "cache"))
    config = tmp_path / "run.json"
    config.write_text(json.dumps({
        "model": "lgnet_baseline", "model_kwargs": {"width": 4},
        "data": {"dataset": layout, "train_size": 32, "eval_size": 32, "train_policy": "resize",
                 "train_split": "trainval" if layout != "nudt" else "train"},
        "train": {"epochs": 1, "batch_size": 2, "warmup_epochs": 0, "scheduler": "constant"},
    }))
    assert main(["train", "--config", str(config), "--data", str(root), "--results", str(tmp_path / "results"),
                 "--no-progress", "--json", "--keep-every", "1"]) == 0
    record = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert record["epochs"] == 1 and record["test"]["n_images"] == len(test_names)
    # --keep-every keeps epoch 1's checkpoint beside last.pt in the run's cache folder
    assert [p.name for p in (tmp_path / "cache").rglob("epoch_*.pt")] == ["epoch_0001.pt"]


# ------------------------------------------------------------------------------------------
# Target size and local contrast per split (datasets figure)
# ------------------------------------------------------------------------------------------
def test_target_statistics_and_the_figure_command(tmp_path, capsys):
    from irstd_lib.data.target_stats import target_statistics

    root = make_sirst_v2(tmp_path / "sirst_v2")
    stats = target_statistics(IRSTDDataset(root, "test"))
    # t2 and t3 hold one 6-pixel and one 1-pixel target each; the background b2 holds none
    assert sorted(stats["area"]) == [1, 1, 6, 6] and set(stats["name"]) == {"t2", "t3"}
    # the image is a ramp, so the ring has clutter: a finite ratio, the same for both copies of a target
    assert np.isfinite(stats["scr"]).all() and (stats["scr"] >= 0).all()
    assert stats[stats["area"] == 6]["scr"].nunique() == 1
    out = tmp_path / "targets.png"
    assert main(["datasets", "figure", str(root), "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "trainval: 2 targets" in text and "test: 4 targets" in text and out.stat().st_size > 1000
