"""Dataset reading: readers, layouts, split lists, descriptions, every malformed input, and the
real NUAA-SIRST copy (skipped when absent)."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageFile

from irstd_lib.data import (
    DatasetError,
    DatasetValidationError,
    DatasetWarning,
    IRSTDDataset,
    Sample,
    read_description,
    read_image,
    read_mask,
    read_split_list,
)


# ------------------------------------------------------------------------------------------
# helpers: tiny datasets written with PIL
# ------------------------------------------------------------------------------------------
def _save_pair(root: Path, name: str, h: int = 8, w: int = 10, mask_stem: str | None = None,
               ext: str = ".png", mask_ext: str = ".png") -> None:
    (root / "images").mkdir(parents=True, exist_ok=True)
    (root / "masks").mkdir(parents=True, exist_ok=True)
    img = ((np.arange(h * w).reshape(h, w) * 3) % 256).astype(np.uint8)
    Image.fromarray(img, "L").save(root / "images" / f"{name}{ext}")
    m = np.zeros((h, w), np.uint8)
    m[2, 3] = 255
    Image.fromarray(m, "L").save(root / "masks" / f"{mask_stem or name}{mask_ext}")


def make_plain(root: Path, names=("a0", "a1", "a2"), split="test", **kw) -> Path:
    for n in names:
        _save_pair(root, n, **kw)
    (root / f"{split}.txt").write_text("\n".join(names) + "\n")
    return root


def make_nuaa(root: Path, ids=(1, 2, 3), split_dir="idx_427", split="test") -> Path:
    names = [f"Misc_{i}" for i in ids]
    for n in names:
        _save_pair(root, n, mask_stem=f"{n}_pixels0")
    (root / split_dir).mkdir(parents=True, exist_ok=True)
    (root / split_dir / f"{split}.txt").write_text("\n".join(names) + "\n")
    return root


# ------------------------------------------------------------------------------------------
# readers
# ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("mode", ["RGB", "L", "RGBA", "P", "I;16", "LA", "1", "I", "F"])
def test_read_image_every_mode_is_float32_gray_in_unit_range(tmp_path, mode):
    rgb = np.zeros((4, 5, 3), np.uint8)
    rgb[..., 0] = 200
    rgb[..., 1] = 100
    rgb[..., 2] = 50
    rgb[0, 0] = 255
    base = Image.fromarray(rgb, "RGB")
    if mode == "I;16":
        arr = np.full((4, 5), 32768, np.uint16)
        arr[0, 0] = 65535
        im = Image.fromarray(arr)  # uint16 -> "I;16"
        assert im.mode == "I;16"
    elif mode == "I":
        im = Image.fromarray(np.full((4, 5), 65535, np.int32), "I")
    elif mode == "F":
        im = Image.fromarray(np.full((4, 5), 0.25, np.float32), "F")
    elif mode == "1":
        im = base.convert("L").convert("1")
    elif mode == "P":
        im = Image.fromarray(np.where(rgb[..., 2] == 255, 1, 0).astype(np.uint8), "P")
        im.putpalette([200, 100, 50, 255, 255, 255])
    else:
        im = base.convert(mode)
    path = tmp_path / ("x.tif" if mode in ("F", "I") else "x.png")
    im.save(path)
    x = read_image(path)
    assert x.dtype == np.float32 and x.shape == (4, 5)
    assert 0.0 <= x.min() and x.max() <= 1.0
    if mode == "I;16":
        assert x[0, 0] == 1.0 and x[1, 1] == pytest.approx(32768 / 65535)
    elif mode == "I":
        assert np.all(x == 1.0)
    elif mode == "F":
        assert np.all(x == 0.25)
    elif mode in ("RGB", "RGBA", "P"):
        # PIL's L: (200*299 + 100*587 + 50*114) / 1000 = 124.2 -> 124
        assert x[1, 1] == pytest.approx(124 / 255)
        assert x[0, 0] == 1.0
    elif mode in ("L", "LA"):
        assert x[1, 1] == pytest.approx(124 / 255)


def test_read_image_matches_pil_luminance(tmp_path):
    rng = np.random.default_rng(0)
    rgb = rng.integers(0, 256, (6, 7, 3), dtype=np.uint8)
    Image.fromarray(rgb, "RGB").save(tmp_path / "c.png")
    expected = np.asarray(Image.fromarray(rgb, "RGB").convert("L"), np.float32) / 255
    np.testing.assert_array_equal(read_image(tmp_path / "c.png"), expected)


def test_read_float_image_out_of_range_is_an_error(tmp_path):
    Image.fromarray(np.full((3, 3), 7.0, np.float32), "F").save(tmp_path / "f.tif")
    with pytest.raises(DatasetError, match=r"f\.tif.*not in \[0, 1\]"):
        read_image(tmp_path / "f.tif")


@pytest.mark.parametrize("kind", ["01", "0255", "16bit", "rgb", "bilevel"])
def test_read_mask_accepts_binary_encodings(tmp_path, kind):
    on = np.zeros((4, 6), bool)
    on[1, 2] = on[3, 5] = True
    if kind == "01":
        im = Image.fromarray(on.astype(np.uint8), "L")
    elif kind == "0255":
        im = Image.fromarray(on.astype(np.uint8) * 255, "L")
    elif kind == "16bit":
        im = Image.fromarray(on.astype(np.uint16) * 65535)
    elif kind == "rgb":
        im = Image.fromarray(np.repeat(on.astype(np.uint8)[..., None] * 255, 3, axis=2), "RGB")
    else:
        im = Image.fromarray(on.astype(np.uint8) * 255, "L").convert("1")
    im.save(tmp_path / "m.png")
    m = read_mask(tmp_path / "m.png")
    assert m.dtype == np.bool_
    np.testing.assert_array_equal(m, on)


def test_read_mask_non_binary_names_file_and_values(tmp_path):
    arr = np.zeros((4, 4), np.uint8)
    arr[0, 0], arr[1, 1] = 7, 255
    Image.fromarray(arr, "L").save(tmp_path / "bad_mask.png")
    with pytest.raises(DatasetError) as e:
        read_mask(tmp_path / "bad_mask.png")
    msg = str(e.value)
    assert "bad_mask.png" in msg and "not binary" in msg and "0, 7, 255" in msg


def test_read_mask_coloured_mask_is_not_thresholded(tmp_path):
    arr = np.zeros((4, 4, 3), np.uint8)
    arr[1, 1] = (255, 0, 0)  # red target: luminance 76
    Image.fromarray(arr, "RGB").save(tmp_path / "red.png")
    with pytest.raises(DatasetError, match=r"red\.png.*0, 76"):
        read_mask(tmp_path / "red.png")


def test_read_unreadable_and_truncated_files(tmp_path, monkeypatch):
    (tmp_path / "garbage.png").write_bytes(b"this is not a png at all")
    with pytest.raises(DatasetError, match=r"garbage\.png: cannot read image"):
        read_image(tmp_path / "garbage.png")
    rng = np.random.default_rng(1)
    Image.fromarray(rng.integers(0, 256, (64, 64), dtype=np.uint8), "L").save(tmp_path / "full.png")
    data = (tmp_path / "full.png").read_bytes()
    (tmp_path / "cut.png").write_bytes(data[: len(data) * 2 // 3])
    with pytest.raises(DatasetError, match=r"cut\.png: cannot read image"):
        read_image(tmp_path / "cut.png")
    # another library switching PIL's global "load truncated images" on must not hide it
    monkeypatch.setattr(ImageFile, "LOAD_TRUNCATED_IMAGES", True)
    with pytest.raises(DatasetError, match=r"cut\.png"):
        read_mask(tmp_path / "cut.png")
    assert ImageFile.LOAD_TRUNCATED_IMAGES is True  # restored after the read
    with pytest.raises(DatasetError, match=r"nothere\.png: image file not found"):
        read_image(tmp_path / "nothere.png")


def test_read_description(tmp_path):
    (tmp_path / "d.txt").write_text("\ufeff  a bright small target in the sky \r\n\n", encoding="utf-8")
    assert read_description(tmp_path / "d.txt") == "a bright small target in the sky"
    (tmp_path / "empty.txt").write_text("  \n\t\n")
    with pytest.raises(DatasetError, match=r"empty\.txt: description file is empty"):
        read_description(tmp_path / "empty.txt")


def test_split_list_whitespace_crlf_blank_lines(tmp_path):
    p = tmp_path / "test.txt"
    p.write_bytes(b"\xef\xbb\xbfMisc_1\r\n  Misc_2  \r\n\r\n\tMisc_3.png\n\n")
    assert read_split_list(p) == ["Misc_1", "Misc_2", "Misc_3"]
    p.write_text("a\nb\na\n")
    with pytest.raises(DatasetError, match=r"test\.txt: name 'a' is listed twice \(lines 1 and 3\)"):
        read_split_list(p)
    p.write_text("\n \n")
    with pytest.raises(DatasetError, match=r"test\.txt: split list is empty"):
        read_split_list(p)


# ------------------------------------------------------------------------------------------
# layouts and splits
# ------------------------------------------------------------------------------------------
def test_plain_layout_sample_contents(tmp_path):
    root = make_plain(tmp_path / "ds")
    ds = IRSTDDataset(root, "test")
    assert ds.layout == "plain" and ds.names == ["a0", "a1", "a2"] and len(ds) == 3
    s = ds[-1]
    assert isinstance(s, Sample) and s.name == "a2" and s.description is None
    assert s.image.dtype == np.float32 and s.image.shape == (8, 10)
    assert s.mask.dtype == np.bool_ and s.mask.sum() == 1 and s.mask[2, 3]
    assert s.image_path.name == "a2.png" and s.mask_path.name == "a2.png"
    with pytest.raises(IndexError):
        ds[3]
    assert ds.validate() == []


def test_nuaa_layout_auto_and_named(tmp_path):
    root = make_nuaa(tmp_path / "sirst")
    ds = IRSTDDataset(root, "test")
    assert ds.layout == "nuaa" and ds.split_files == [root / "idx_427" / "test.txt"]
    assert ds[0].mask_path.name == "Misc_1_pixels0.png" and ds[0].name == "Misc_1"
    assert IRSTDDataset(root, "test", layout="nuaa").names == ["Misc_1", "Misc_2", "Misc_3"]
    # naming the wrong layout: every mask is reported missing, with the expected file name
    with pytest.raises(DatasetValidationError) as e:
        IRSTDDataset(root, "test", layout="plain")
    assert len(e.value.problems) == 3 and "masks/Misc_2.png" in str(e.value)


@pytest.mark.parametrize("names,expected", [(("XDU0", "XDU12"), "irstd1k"), (("000001", "000002"), "nudt")])
def test_auto_detects_irstd1k_and_nudt_naming(tmp_path, names, expected):
    root = make_plain(tmp_path / "ds", names=names)
    assert IRSTDDataset(root, "test").layout == expected


def test_idx_427_is_default_and_split_dir_picks_idx_320(tmp_path):
    root = make_nuaa(tmp_path / "sirst", ids=(1, 2, 3, 4))
    (root / "idx_427" / "test.txt").write_text("Misc_1\nMisc_2\n")
    (root / "idx_320").mkdir()
    (root / "idx_320" / "test.txt").write_text("Misc_3\n")
    assert IRSTDDataset(root, "test").names == ["Misc_1", "Misc_2"]
    assert IRSTDDataset(root, "test", split_dir="idx_320").names == ["Misc_3"]
    assert IRSTDDataset(root, "test", split_dir=root / "idx_320").names == ["Misc_3"]
    with pytest.raises(DatasetError, match=r"idx_999: split_dir not found.*idx_320/test\.txt"):
        IRSTDDataset(root, "test", split_dir="idx_999")


def test_img_idx_layout_maps_train_and_test(tmp_path):
    root = tmp_path / "basic"
    for n in ("a", "b", "c"):
        _save_pair(root, n)
    (root / "img_idx").mkdir()
    (root / "img_idx" / "train_NUAA-SIRST.txt").write_text("a\nb\n")
    (root / "img_idx" / "test_NUAA-SIRST.txt").write_text("c\n")
    assert IRSTDDataset(root, "train").names == ["a", "b"]
    assert IRSTDDataset(root, "trainval").names == ["a", "b"]
    assert IRSTDDataset(root, "test").names == ["c"]
    assert IRSTDDataset(root, "all").names == ["a", "b", "c"]
    with pytest.raises(DatasetError, match=r"val\.txt: split list for split 'val' not found"):
        IRSTDDataset(root, "val")
    (root / "img_idx" / "test_other.txt").write_text("a\n")
    with pytest.raises(DatasetError) as e:
        IRSTDDataset(root, "test")
    assert "ambiguous" in str(e.value)
    assert "img_idx/test_NUAA-SIRST.txt" in str(e.value) and "img_idx/test_other.txt" in str(e.value)
    assert IRSTDDataset(root, "test_other").names == ["a"]


def test_all_split_is_union_of_lists(tmp_path):
    root = make_plain(tmp_path / "ds", names=("a", "b", "c", "d"))
    (root / "trainval.txt").write_text("a\nb\n")
    (root / "test.txt").write_text("c\nd\n")
    assert IRSTDDataset(root, "all").names == ["a", "b", "c", "d"]
    assert IRSTDDataset(root, "trainvaltest").names == ["a", "b", "c", "d"]
    (root / "trainvaltest.txt").write_text("d\na\n")
    assert IRSTDDataset(root, "all").names == ["d", "a"]


def test_other_image_extensions(tmp_path):
    root = tmp_path / "ds"
    _save_pair(root, "b0", ext=".bmp", mask_ext=".bmp")
    _save_pair(root, "t0", ext=".tif", mask_ext=".png")
    _save_pair(root, "j0", ext=".jpg", mask_ext=".png")
    (root / "test.txt").write_text("b0\nt0\nj0\n")
    ds = IRSTDDataset(root, "test")
    assert [p.suffix for p in ds.image_paths] == [".bmp", ".tif", ".jpg"]
    assert all(ds[i].image.shape == (8, 10) for i in range(3))


def test_bad_arguments_are_value_errors(tmp_path):
    root = make_plain(tmp_path / "ds")
    with pytest.raises(ValueError, match="layout"):
        IRSTDDataset(root, "test", layout="sirst")
    with pytest.raises(ValueError, match="on_size_mismatch"):
        IRSTDDataset(root, "test", on_size_mismatch="crop")
    with pytest.raises(ValueError, match="descriptions"):
        IRSTDDataset(root, "test", descriptions="yes")


# ------------------------------------------------------------------------------------------
# descriptions
# ------------------------------------------------------------------------------------------
def test_descriptions_langir_both_namings_and_scene(tmp_path):
    root = make_plain(tmp_path / "ds", names=("a", "b"))
    (root / "descriptions").mkdir()
    (root / "descriptions" / "a.description.txt").write_text("target a\n")
    (root / "descriptions" / "b-description.txt").write_text("target b")
    ds = IRSTDDataset(root, "test")  # auto: folder exists -> target descriptions
    assert ds.description_kind == "target" and [s.description for s in ds] == ["target a", "target b"]
    assert IRSTDDataset(root, "test", descriptions=None)[0].description is None
    with pytest.raises(DatasetError, match=r"scene_descriptions: descriptions='scene' was asked"):
        IRSTDDataset(root, "test", descriptions="scene")
    (root / "scene_descriptions").mkdir()
    (root / "scene_descriptions" / "a.txt").write_text("sky")
    (root / "scene_descriptions" / "b.txt").write_text("sea")
    assert [s.description for s in IRSTDDataset(root, "test", descriptions="scene")] == ["sky", "sea"]


def test_descriptions_auto_without_folder_is_none_and_target_requires_it(tmp_path):
    root = make_plain(tmp_path / "ds")
    assert IRSTDDataset(root, "test").description_kind is None
    with pytest.raises(DatasetError, match=r"descriptions: descriptions='target' was asked"):
        IRSTDDataset(root, "test", descriptions="target")


def test_missing_description_names_expected_file(tmp_path):
    root = make_plain(tmp_path / "ds", names=("a", "b"))
    (root / "descriptions").mkdir()
    (root / "descriptions" / "a.description.txt").write_text("target a")
    with pytest.raises(DatasetError) as e:
        IRSTDDataset(root, "test", descriptions="target")
    assert "b.description.txt" in str(e.value) and "test.txt" in str(e.value)


def test_empty_description_file_raises_at_getitem(tmp_path):
    root = make_plain(tmp_path / "ds", names=("a",))
    (root / "descriptions").mkdir()
    (root / "descriptions" / "a.description.txt").write_text("\n")
    ds = IRSTDDataset(root, "test")
    with pytest.raises(DatasetError, match=r"a\.description\.txt: description file is empty"):
        ds[0]


# ------------------------------------------------------------------------------------------
# malformed datasets
# ------------------------------------------------------------------------------------------
def test_missing_root_images_or_masks_folder(tmp_path):
    with pytest.raises(DatasetError, match=r"nowhere: dataset root not found"):
        IRSTDDataset(tmp_path / "nowhere")
    root = make_plain(tmp_path / "ds")
    (root / "masks").rename(root / "labels")
    with pytest.raises(DatasetError, match=r"ds/masks: dataset root has no masks/ folder"):
        IRSTDDataset(root)
    (root / "images").rename(root / "imgs")
    with pytest.raises(DatasetError, match=r"ds/images: dataset root has no images/ folder"):
        IRSTDDataset(root)


def test_missing_split_list_lists_existing_ones(tmp_path):
    root = make_plain(tmp_path / "ds", split="trainval")
    (root / "test.txt").write_text("a0\n")
    with pytest.raises(DatasetError) as e:
        IRSTDDataset(root, "train")
    msg = str(e.value)
    assert str(root / "train.txt") in msg and "test.txt" in msg and "trainval.txt" in msg


def test_split_list_naming_missing_image_and_mask(tmp_path):
    root = make_plain(tmp_path / "ds", names=("a0", "a1", "a2", "a3"))
    (root / "images" / "a1.png").unlink()
    (root / "masks" / "a3.png").unlink()
    with pytest.raises(DatasetValidationError) as e:
        IRSTDDataset(root, "test")
    msg = str(e.value)
    assert len(e.value.problems) == 2
    assert "test.txt" in msg and "'a1'" in msg and "images/a1.png" in msg and "image not found" in msg
    assert "'a3'" in msg and "masks/a3.png" in msg and "mask not found" in msg


def test_two_files_for_one_name_is_an_error(tmp_path):
    root = make_plain(tmp_path / "ds")
    Image.fromarray(np.zeros((8, 10), np.uint8), "L").save(root / "images" / "a1.bmp")
    with pytest.raises(DatasetError, match=r"several image files for name 'a1': a1\.png, a1\.bmp"):
        IRSTDDataset(root, "test")


def test_size_mismatch_error_and_resize(tmp_path):
    root = make_plain(tmp_path / "ds", names=("a0", "odd"))
    m = np.zeros((16, 20), np.uint8)
    m[4:6, 6:8] = 255  # 2x2 target -> one pixel at half size
    Image.fromarray(m, "L").save(root / "masks" / "odd.png")
    ds = IRSTDDataset(root, "test")
    ds[0]
    with pytest.raises(DatasetError) as e:
        ds[1]
    msg = str(e.value)
    assert "masks/odd.png" in msg and "images/odd.png" in msg and "20x16" in msg and "10x8" in msg

    ds = IRSTDDataset(root, "test", on_size_mismatch="resize")
    with pytest.warns(DatasetWarning, match=r"odd\.png"):
        s = ds[1]
    assert s.mask.shape == (8, 10) and s.mask.sum() == 1 and s.mask[2, 3]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DatasetWarning)
        ds[1]
        assert ds.validate() == ds.issues
    assert len(ds.issues) == 1 and "odd.png" in ds.issues[0] and "resized" in ds.issues[0]


def test_bad_content_raises_lazily_and_validate_collects_all(tmp_path):
    root = make_plain(tmp_path / "ds", names=("good", "trunc", "nonbin", "small"))
    data = (root / "images" / "trunc.png").read_bytes()
    (root / "images" / "trunc.png").write_bytes(data[: len(data) // 2])
    arr = np.zeros((8, 10), np.uint8)
    arr[0, 0] = 128
    Image.fromarray(arr, "L").save(root / "masks" / "nonbin.png")
    Image.fromarray(np.zeros((3, 3), np.uint8), "L").save(root / "masks" / "small.png")
    ds = IRSTDDataset(root, "test")  # construction only checks existence
    assert ds[0].name == "good"
    with pytest.raises(DatasetError, match=r"images/trunc\.png: cannot read image"):
        ds[1]
    with pytest.raises(DatasetError, match=r"masks/nonbin\.png: mask is not binary: found values 0, 128"):
        ds[2]
    with pytest.raises(DatasetValidationError) as e:
        ds.validate()
    assert len(e.value.problems) == 3
    msg = str(e.value)
    assert "3 problems" in msg
    for f in ("trunc.png", "nonbin.png", "small.png"):
        assert f in msg


# ------------------------------------------------------------------------------------------
# the real NUAA-SIRST copy
# ------------------------------------------------------------------------------------------
SPLIT_SIZES = {
    "idx_427": {"train": 256, "val": 85, "trainval": 341, "test": 86, "all": 427},
    "idx_320": {"train": 160, "val": 64, "trainval": 224, "test": 96, "all": 320},
}


@pytest.mark.realdata
@pytest.mark.parametrize("split_dir", ["idx_427", "idx_320"])
def test_nuaa_split_sizes(nuaa_root, split_dir):
    for split, n in SPLIT_SIZES[split_dir].items():
        ds = IRSTDDataset(nuaa_root, split, split_dir=split_dir)
        assert len(ds) == n, (split_dir, split)
        assert ds.layout == "nuaa" and ds.description_kind is None
    default = IRSTDDataset(nuaa_root, "test")
    assert default.split_dir.name == "idx_427" and len(default) == 86
    train = set(IRSTDDataset(nuaa_root, "trainval", split_dir=split_dir).names)
    assert not train & set(IRSTDDataset(nuaa_root, "test", split_dir=split_dir).names)


@pytest.mark.realdata
def test_nuaa_mixed_png_modes_load_as_float32(nuaa_root):
    ds = IRSTDDataset(nuaa_root, "all")
    first_of_mode: dict[str, int] = {}
    for i, p in enumerate(ds.image_paths):
        with Image.open(p) as im:
            first_of_mode.setdefault(im.mode, i)
    assert set(first_of_mode) == {"RGB", "L", "RGBA", "P"}
    for mode, i in first_of_mode.items():
        s = ds[i]
        with Image.open(s.image_path) as im:
            w, h = im.size
        assert s.image.dtype == np.float32 and s.image.shape == (h, w), mode
        assert 0.0 <= s.image.min() and s.image.max() <= 1.0 and s.image.max() > 0.0
        assert s.mask.dtype == np.bool_ and s.mask.shape == (h, w) and s.mask.any()
        assert s.name == s.image_path.stem and s.mask_path.name == f"{s.name}_pixels0.png"


@pytest.mark.realdata
def test_nuaa_misc_111_flaw(nuaa_root):
    ds = IRSTDDataset(nuaa_root, "test")
    i = ds.index_of("Misc_111")
    with pytest.raises(DatasetError) as e:
        ds[i]
    msg = str(e.value)
    assert "Misc_111_pixels0.png" in msg and "Misc_111.png" in msg
    assert "592x400" in msg and "325x220" in msg

    ds = IRSTDDataset(nuaa_root, "test", split_dir="idx_320", on_size_mismatch="resize")
    with pytest.warns(DatasetWarning, match="Misc_111_pixels0.png"):
        s = ds[ds.index_of("Misc_111")]
    assert s.mask.shape == s.image.shape == (220, 325)
    assert int(s.mask.sum()) == 35
    assert len(ds.issues) == 1 and "Misc_111_pixels0.png" in ds.issues[0]


@pytest.mark.realdata
def test_nuaa_validate_reports_only_misc_111(nuaa_root):
    ds = IRSTDDataset(nuaa_root, "test")
    with pytest.raises(DatasetValidationError) as e:
        ds.validate()
    assert len(e.value.problems) == 1
    assert "Misc_111_pixels0.png" in str(e.value.problems[0])


# ------------------------------------------------------------------------------------------
# the synthetic dataset (irstd_lib.data.synthetic) reads like the field's datasets
# ------------------------------------------------------------------------------------------
def test_synthetic_dataset_reads_with_auto_settings(tiny_synthetic_root):
    root = tiny_synthetic_root
    test = IRSTDDataset(root, "test")
    assert test.layout == "plain" and test.description_kind == "target"
    assert test.validate() == []
    train, val = IRSTDDataset(root, "train"), IRSTDDataset(root, "val")
    trainval = IRSTDDataset(root, "trainval")
    assert set(train.names) | set(val.names) == set(trainval.names)
    assert len(IRSTDDataset(root, "all")) == len(trainval) + len(test) == 12
    s = test[0]
    assert s.image.shape == s.mask.shape == (64, 64) and s.description
