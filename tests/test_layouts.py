"""The field's datasets as their authors publish them, each built small in tmp_path from a few
NUAA-SIRST images (copied byte for byte, renamed as the layout names them; 16x16 synthetic PNGs
when NUAA-SIRST is absent):

- DenseSIRST (GrokCV/DenseSIRST ``data/SIRSTdevkit/``): ``PNGImages/``, target masks in
  ``SIRST/BinaryMask/<name>_pixels0.png`` beside the sky's in ``SkySeg/BinaryMask/``, ``.xml``
  files beside the masks, ``Splits/{train,val,trainval,test}_v{1,2}.txt`` and ``mini_*.txt``;
- IRSTD-1k as ISNet publishes it (RuiZhang97/ISNet, master): ``IRSTD1k_Img/XDU<i>.png``,
  ``IRSTD1k_Label/XDU<i>.png``, ``trainval.txt`` / ``test.txt`` in the root;
- NUDT-SIRST as DNA-Net ships it (YeRen123455/Infrared-Small-Target-Detection):
  ``images/<6 digits>.png``, ``masks/<6 digits>.png``, ``50_50/{train,test}.txt`` with CRLF
  line ends, as published; NUST-SIRST's ``10000_100/``;
- SIRST3 (xdFai/SCTransNet, XinyiYing/BasicIRSTD): the three sets merged into ``images/`` and
  ``masks/`` (masks named as their images), ``img_idx/{train,test}_SIRST3.txt`` (CRLF);
- NUDT-SIRST-Sea and IRDST as BasicIRSTD lists them: ``img_idx/train_NUDT-SIRST-Sea.txt``
  (names ``14-05-03``), ``img_idx/train_IRDST-real.txt`` (names ``/44/1(814)``, the files
  ``images/44/1(814).bmp`` and ``masks/44/1(814).bmp``, as RDIAN reads them);
- NUAA-SIRST's toolbox split, ``img_idx/{train,test}_NUAA-SIRST.txt`` with CRLF line ends."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from irstd_lib.__main__ import main
from irstd_lib.data import DatasetError, IRSTDDataset
from irstd_lib.data.check import check_dataset
from irstd_lib.data.layout import dataset_folders, published_form, read_split_list

from conftest import nuaa_sirst_path

NUAA = nuaa_sirst_path()
HAS_NUAA = (NUAA / "images").is_dir() and (NUAA / "idx_427" / "test.txt").is_file()
N_SOURCE = 6


def _sources() -> list[tuple[str, Path | np.ndarray, Path | np.ndarray]]:
    """(NUAA name, image, mask): files of NUAA-SIRST's first test images (not Misc_111, whose
    mask has another size than its image), else 16x16 arrays with one or two targets."""
    if HAS_NUAA:
        names = [n for n in read_split_list(NUAA / "idx_427" / "test.txt") if n != "Misc_111"][:N_SOURCE]
        return [(n, NUAA / "images" / f"{n}.png", NUAA / "masks" / f"{n}_pixels0.png") for n in names]
    out = []
    for i in range(N_SOURCE):
        mask = np.zeros((16, 16), np.uint8)
        mask[2 + i:4 + i, 3:6] = 255
        if i % 2:
            mask[12, 12] = 255
        # a dim textured background with the targets bright, so that Top-Hat finds them as on real images
        image = ((np.arange(256).reshape(16, 16) * (i + 3)) % 17 + 20).astype(np.uint8)
        image[mask > 0] = 220
        out.append((f"Misc_{i + 1}", image, mask))
    return out


def _put(source: Path | np.ndarray, path: Path) -> None:
    """Write ``source`` at ``path``: a PNG copied byte for byte, else encoded by PIL (.bmp)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(source, Path) and path.suffix == source.suffix:
        shutil.copyfile(source, path)
        return
    array = np.asarray(Image.open(source).convert("L")) if isinstance(source, Path) else source
    Image.fromarray(array, "L").save(path)


def _mask_array(source: Path | np.ndarray) -> np.ndarray:
    array = np.asarray(Image.open(source)) if isinstance(source, Path) else source
    return np.asarray(array) > 0


def _lines(path: Path, names, crlf: bool = False) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    end = "\r\n" if crlf else "\n"
    path.write_bytes(end.join(names).encode() + end.encode())


def _sky(source: Path | np.ndarray) -> np.ndarray:
    """A sky-segmentation mask: the top half of the image (DenseSIRST's SkySeg)."""
    shape = _mask_array(source).shape
    sky = np.zeros(shape, np.uint8)
    sky[: shape[0] // 2] = 255
    return sky


# Each builder writes one layout under root and returns (test names, {test name: source mask}).
def make_densesirst(root: Path):
    src = _sources()
    for name, image, mask in src:
        _put(image, root / "PNGImages" / f"{name}.png")
        _put(mask, root / "SIRST" / "BinaryMask" / f"{name}_pixels0.png")
        (root / "SIRST" / "BinaryMask" / f"{name}.xml").write_text("<annotation/>")
        _put(mask, root / "SIRST" / "PaletteMask" / f"{name}.png")
        _put(_sky(mask), root / "SkySeg" / "BinaryMask" / f"{name}_pixels0.png")
        (root / "SkySeg" / "BinaryMask" / f"{name}.xml").write_text("<annotation/>")
        _put(_sky(mask), root / "SkySeg" / "PaletteMask" / f"{name}.png")
    (root / "SIRST" / "BBox").mkdir(parents=True)
    (root / "SIRST" / "Point_label").mkdir()
    names = [n for n, _, _ in src]
    _lines(root / "Splits" / "trainval_v1.txt", names[:4])
    _lines(root / "Splits" / "train_v1.txt", names[:3])
    _lines(root / "Splits" / "val_v1.txt", names[3:4])
    _lines(root / "Splits" / "test_v1.txt", names[4:])
    _lines(root / "Splits" / "trainval_v2.txt", names[2:])
    _lines(root / "Splits" / "test_v2.txt", names[:2])
    _lines(root / "Splits" / "mini_test.txt", names[4:5])
    return names[4:], {n: m for n, _, m in src}


def make_irstd1k_isnet(root: Path):
    src = _sources()
    names = [f"XDU{i}" for i in range(len(src))]
    for name, (_, image, mask) in zip(names, src):
        _put(image, root / "IRSTD1k_Img" / f"{name}.png")
        _put(mask, root / "IRSTD1k_Label" / f"{name}.png")
    _lines(root / "trainval.txt", names[:4])
    _lines(root / "test.txt", names[4:])
    _lines(root / "trainvaltest.txt", names)
    return names[4:], {n: m for n, (_, _, m) in zip(names, src)}


def _images_masks(root: Path, names, src, ext: str = ".png") -> dict:
    for name, (_, image, mask) in zip(names, src):
        _put(image, root / "images" / f"{name}{ext}")
        _put(mask, root / "masks" / f"{name}{ext}")
    return {n: m for n, (_, _, m) in zip(names, src)}


def _dnanet_folder(root: Path, name_of, split_folder: str):
    """A DNA-Net-style copy: images/, masks/ and <split_folder>/{train,test}.txt (CRLF), 4 trained."""
    src = _sources()
    names = [name_of(i) for i in range(len(src))]
    masks = _images_masks(root, names, src)
    _lines(root / split_folder / "train.txt", names[:4], crlf=True)
    _lines(root / split_folder / "test.txt", names[4:], crlf=True)
    return names[4:], masks


def make_nudt_dnanet(root: Path):
    return _dnanet_folder(root, lambda i: f"{i + 1:06d}", "50_50")


def make_nust_dnanet(root: Path):
    return _dnanet_folder(root, lambda i: f"01000{i}_1", "10000_100")


def make_sirst3(root: Path):
    src = _sources()
    names = [n for n, _, _ in src[:2]] + ["XDU514", "XDU646", "001137", "000541"][: len(src) - 2]
    masks = _images_masks(root, names, src)
    # BasicIRSTD's train_SIRST3.txt opens with Misc_*, then XDU* and NUDT's digits; CRLF, as published
    _lines(root / "img_idx" / "train_SIRST3.txt", [names[0], names[2], names[4]], crlf=True)
    _lines(root / "img_idx" / "test_SIRST3.txt", [names[1], names[3], names[5]], crlf=True)
    return [names[1], names[3], names[5]], masks


def make_nudt_sirst_sea(root: Path):
    src = _sources()
    names = ["14-05-03", "14-02-02", "02-09-01", "46-11-10", "45-08-07", "42-11-08"][: len(src)]
    masks = _images_masks(root, names, src)
    _lines(root / "img_idx" / "train_NUDT-SIRST-Sea.txt", names[:3])
    _lines(root / "img_idx" / "test_NUDT-SIRST-Sea.txt", names[3:])
    return names[3:], masks


def make_irdst(root: Path):
    src = _sources()
    names = ["41/1(297)", "32/1(330)", "92/1(1459)", "44/1(814)", "68/1(227)", "44/1(33)"][: len(src)]
    masks = _images_masks(root, names, src, ext=".bmp")
    # RDIAN's and BasicIRSTD's lists name "/44/1(814)" for images/44/1(814).bmp
    _lines(root / "img_idx" / "train_IRDST-real.txt", ["/" + n for n in names[:3]])
    _lines(root / "img_idx" / "test_IRDST-real.txt", ["/" + n for n in names[3:]])
    return names[3:], masks


LAYOUTS = {
    # builder, the layout read, words of its "published" line
    "densesirst": (make_densesirst, "voc", "DenseSIRST as GrokCV publishes it"),
    "irstd1k_isnet": (make_irstd1k_isnet, "irstd1k", "IRSTD-1k as ISNet publishes it (IRSTD1k_Img/, IRSTD1k_Label/"),
    "nudt_dnanet": (make_nudt_dnanet, "nudt", "DNA-Net's copy of NUDT-SIRST (images/, masks/, 50_50/train.txt"),
    "nust_dnanet": (make_nust_dnanet, "plain", "DNA-Net's copy of a dataset (images/, masks/, 10000_100/train.txt"),
    "sirst3": (make_sirst3, "plain", "SIRST3 (NUAA-SIRST + NUDT-SIRST + IRSTD-1k merged, as SCTransNet trains on it) as BasicIRSTD lists it"),
    "nudt_sirst_sea": (make_nudt_sirst_sea, "plain", "NUDT-SIRST-Sea as BasicIRSTD lists it (img_idx/train_NUDT-SIRST-Sea.txt"),
    "irdst": (make_irdst, "plain", "IRDST, real scenes (names <sequence>/<frame>) as BasicIRSTD lists it"),
}


@pytest.mark.parametrize("name", sorted(LAYOUTS))
def test_each_published_layout_reads_as_it_is_and_check_names_it(name, tmp_path, capsys):
    build, layout, published = LAYOUTS[name]
    root = tmp_path / name
    test_names, masks = build(root)
    split = dict(split_version="v1") if name == "densesirst" else {}
    ds = IRSTDDataset(root, "test", **split)
    assert ds.layout == layout and ds.names == test_names
    for i, n in enumerate(test_names):
        sample = ds[i]
        assert sample.name == n and sample.image.shape == sample.mask.shape
        np.testing.assert_array_equal(sample.mask, _mask_array(masks[n]))  # the target masks, as written
    train = IRSTDDataset(root, "trainval", **split)
    assert not set(train.names) & set(test_names)

    report = check_dataset(root)
    assert report.layout == layout and published in report.published, report.published
    assert report.exit_code == 0, [str(i) for i in report.errors]
    assert report.n_images == len(masks) and not report.ignored_files.get("images/44")
    assert main(["datasets", "check", str(root)]) == 0
    out = capsys.readouterr().out
    assert f"published  {report.published}" in out and "0 errors" in out


def test_densesirst_reads_the_target_masks_and_says_so(tmp_path, capsys):
    root = tmp_path / "SIRSTdevkit"
    test_names, masks = make_densesirst(root)
    ds = IRSTDDataset(root, "test", split_version="v1")
    assert ds.masks_dir == root / "SIRST" / "BinaryMask"
    assert ds.mask_dir_note.startswith("masks read from SIRST/BinaryMask/") and "SkySeg/BinaryMask/" in ds.mask_dir_note
    assert ds.mask_dir_note in ds.issues
    sky = IRSTDDataset(root, "test", split_version="v1", mask_dir="SkySeg/BinaryMask")
    assert sky.masks_dir == root / "SkySeg" / "BinaryMask" and "as asked" in sky.mask_dir_note
    np.testing.assert_array_equal(sky[0].mask, _sky(masks[test_names[0]]) > 0)
    assert not np.array_equal(sky[0].mask, ds[0].mask)
    with pytest.raises(DatasetError, match="mask_dir .*not found"):
        IRSTDDataset(root, "test", split_version="v1", mask_dir="SIRST/NoSuchMask")
    # without a version the devkit's two versions are named, not guessed
    with pytest.raises(DatasetError, match=r"ambiguous.*'v1', 'v2'"):
        IRSTDDataset(root, "test")

    report = check_dataset(root, mask_dir="SkySeg/BinaryMask")
    assert report.masks_dir == "SkySeg/BinaryMask" and report.mask_dirs_found == ["SIRST/BinaryMask", "SkySeg/BinaryMask"]
    assert main(["datasets", "check", str(root), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["masks_dir"] == "SIRST/BinaryMask" and "not read: SkySeg/BinaryMask/" in result["mask_dir_note"]

    # evaluate and score read the same target masks and say which folder they read
    pred = tmp_path / "pred"
    assert main(["evaluate", "--method", "tophat", "--data", str(root), "--split-version", "v1",
                 "--save-pred", str(pred), "--json"]) == 0
    captured = capsys.readouterr()
    direct = json.loads(captured.out)
    assert direct["n_images"] == len(test_names) and "masks read from SIRST/BinaryMask/" in captured.err
    assert main(["score", "--pred", str(pred), "--data", str(root), "--split-version", "v1", "--json"]) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out) == pytest.approx(direct) and "masks read from SIRST/BinaryMask/" in captured.err
    assert main(["score", "--pred", str(pred), "--data", str(root), "--split-version", "v1", "--json",
                 "--mask-dir", "SkySeg/BinaryMask"]) == 0
    captured = capsys.readouterr()
    assert "masks read from SkySeg/BinaryMask/, as asked" in captured.err
    assert json.loads(captured.out)["IoU"] != pytest.approx(direct["IoU"])  # scored against the sky


def test_other_devkit_mask_folders_still_need_a_choice(tmp_path):
    root = tmp_path / "SIRSTdevkit"
    make_densesirst(root)
    (root / "Other" / "BinaryMask").mkdir(parents=True)
    with pytest.raises(DatasetError, match=r"several mask folders \(.*Other/BinaryMask.*\): pass mask_dir"):
        IRSTDDataset(root, "test", split_version="v1")
    assert IRSTDDataset(root, "test", split_version="v1", mask_dir="SIRST/BinaryMask").masks_dir.parent.name == "SIRST"


def test_irdst_names_with_sequence_folders_evaluate_and_score(tmp_path, capsys):
    root = tmp_path / "IRDST"
    test_names, _ = make_irdst(root)
    assert IRSTDDataset(root, "test").image_paths[0] == root / "images" / "44" / "1(814).bmp"
    pred = tmp_path / "pred"
    assert main(["evaluate", "--method", "tophat", "--data", str(root), "--save-pred", str(pred), "--json"]) == 0
    direct = json.loads(capsys.readouterr().out)
    assert (pred / "44" / "1(814).png").is_file() and direct["n_images"] == len(test_names)
    assert main(["score", "--pred", str(pred), "--data", str(root), "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == pytest.approx(direct)
    (root / "masks" / "44" / "1(33).bmp").unlink()
    with pytest.raises(DatasetError, match=r"mask not found for name '44/1\(33\)' listed in .*test_IRDST-real\.txt"):
        IRSTDDataset(root, "test")
    assert any(i.kind == "missing_mask" and "44/1(33)" in i.path for i in check_dataset(root).errors)


def test_crlf_split_list_reads_as_it_is(tmp_path):
    listed = tmp_path / "img_idx" / "train_NUAA-SIRST.txt"
    _lines(listed, ["Misc_338", "Misc_379", "", "Misc_422"], crlf=True)
    assert b"\r\n" in listed.read_bytes()
    assert read_split_list(listed) == ["Misc_338", "Misc_379", "Misc_422"]
    _lines(listed, ["Misc_338", "Misc_338 "], crlf=True)
    with pytest.raises(DatasetError, match="listed twice"):
        read_split_list(listed)


@pytest.mark.skipif(not (NUAA / "img_idx" / "train_NUAA-SIRST.txt").is_file(),
                    reason=f"NUAA-SIRST's toolbox split not found at {NUAA}/img_idx (set IRSTD_NUAA_SIRST)")
def test_nuaa_sirst_toolbox_split_with_crlf_reads_as_published():
    published = (NUAA / "img_idx" / "train_NUAA-SIRST.txt").read_bytes()
    assert published.count(b"\r\n") == published.count(b"\n")  # CRLF throughout, as published
    train = IRSTDDataset(NUAA, "train", split_dir="img_idx")
    test = IRSTDDataset(NUAA, "test", split_dir="img_idx")
    assert len(train) == 213 and len(test) == 214 and not set(train.names) & set(test.names)
    assert set(train.names) | set(test.names) == set(read_split_list(NUAA / "idx_427" / "trainvaltest.txt"))
    assert all("\r" not in n and n.strip() == n for n in train.names + test.names)
    assert train.layout == "nuaa" and test.mask_paths[0].name == f"{test.names[0]}_pixels0.png"
    assert IRSTDDataset(NUAA, "train_NUAA-SIRST", split_dir="img_idx").names == train.names
    # (published_form alone: check_dataset would decode all 427 images)
    form = published_form(NUAA, dataset_folders(NUAA), "nuaa")
    assert "NUAA-SIRST as its authors publish it" in form and "BasicIRSTD lists it (img_idx/train_NUAA-SIRST.txt" in form


def test_a_run_config_chooses_the_mask_folder_for_training_and_testing(tmp_path):
    """DataConfig.mask_dir reaches the splits a run trains and tests on; unset, the run's identity
    (and so every committed record's hash) is what it was, and set, it is another run."""
    from dataclasses import replace

    from irstd_lib.runs import DataConfig, RunConfig
    from irstd_lib.runs.data import open_split
    from irstd_lib.runs.identity import run_identity

    root = tmp_path / "SIRSTdevkit"
    test_names, masks = make_densesirst(root)
    data = DataConfig(dataset="DenseSIRST", split_version="v1", train_split="trainval", test_split="test")
    sky = replace(data, mask_dir="SkySeg/BinaryMask")
    default_set, sky_set = open_split(data, root, "test"), open_split(sky, root, "test")
    assert default_set.masks_dir == root / "SIRST" / "BinaryMask" and sky_set.masks_dir == root / "SkySeg" / "BinaryMask"
    np.testing.assert_array_equal(sky_set[0].mask, _sky(masks[test_names[0]]) > 0)
    assert open_split(sky, root, "trainval").masks_dir == root / "SkySeg" / "BinaryMask"
    config = RunConfig(model="acm", data=data)
    prints = {"train": "a", "test": "b"}
    assert "mask_dir" not in run_identity(config, prints)["data"]
    assert run_identity(replace(config, data=sky), prints)["data"]["mask_dir"] == "SkySeg/BinaryMask"
