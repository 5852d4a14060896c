"""Evaluation preparation/restoration, training augmentation, the torch Dataset wrapper."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from irstd_lib.data import IRSTDDataset, Sample
from irstd_lib.data.transforms import (
    RestoreInfo,
    TorchIRSTDDataset,
    TrainTransform,
    gray_to_rgb,
    prepare_eval_image,
    restore_scores,
)


def _image(h: int, w: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).random((h, w), dtype=np.float32)


# ------------------------------------------------------------------------------------------
# evaluation
# ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("size,expected", [(None, (64, 96)), (16, (48, 80)), (100, (100, 100))])
def test_pad_policy_shapes_zeros_and_exact_round_trip(size, expected):
    x = _image(37, 70)
    t, info = prepare_eval_image(x, size, "pad")
    assert t.dtype == torch.float32 and tuple(t.shape) == (1, *expected)
    assert info == RestoreInfo("pad", (37, 70), expected)
    np.testing.assert_array_equal(t[0, :37, :70].numpy(), x)
    assert float(t[0, 37:].abs().sum()) == 0.0 and float(t[0, :, 70:].abs().sum()) == 0.0
    back = restore_scores(t[0], info)
    assert back.dtype == np.float32 and back.shape == (37, 70)
    np.testing.assert_array_equal(back, x)
    # (1, 1, H', W') score maps from a model are accepted as well
    np.testing.assert_array_equal(restore_scores(t[None], info), x)


def test_pad_policy_keeps_multiples_unchanged():
    x = _image(64, 32)
    t, info = prepare_eval_image(x, None, "pad")
    assert info.input_size == (64, 32)
    np.testing.assert_array_equal(t[0].numpy(), x)


def test_resize_policy_round_trip_is_close_for_smooth_images():
    yy, xx = np.mgrid[0:50, 0:70].astype(np.float32)
    x = (0.5 + 0.4 * np.sin(xx / 9.0) * np.cos(yy / 7.0)).astype(np.float32)
    t, info = prepare_eval_image(x, 64, "resize")
    assert tuple(t.shape) == (1, 64, 64) and info.native_size == (50, 70)
    assert 0.0 <= float(t.min()) and float(t.max()) <= 1.0
    back = restore_scores(t[0].numpy(), info)
    assert back.shape == (50, 70) and back.dtype == np.float32
    assert np.abs(back - x).max() < 0.03
    # a constant map survives exactly
    c, cinfo = prepare_eval_image(np.full((13, 29), 0.25, np.float32), 32, "resize")
    np.testing.assert_allclose(restore_scores(c[0], cinfo), 0.25, atol=1e-6)


def test_restore_rejects_wrong_shape_and_bad_policy():
    t, info = prepare_eval_image(_image(10, 10), None, "pad")
    with pytest.raises(ValueError, match="expected"):
        restore_scores(torch.zeros(16, 16), info)
    with pytest.raises(ValueError, match="policy"):
        prepare_eval_image(_image(10, 10), 16, "crop")
    with pytest.raises(ValueError, match="size"):
        prepare_eval_image(_image(10, 10), None, "resize")


# ------------------------------------------------------------------------------------------
# training
# ------------------------------------------------------------------------------------------
def test_train_transform_shapes_and_types():
    x = _image(40, 50)
    m = np.zeros((40, 50), bool)
    m[10:12, 20:23] = True
    t = TrainTransform(32)
    img, msk = t(x, m, np.random.default_rng(0))
    assert img.shape == (1, 32, 32) and msk.shape == (1, 32, 32)
    assert img.dtype == torch.float32 and msk.dtype == torch.float32
    assert set(torch.unique(msk).tolist()) <= {0.0, 1.0}
    assert 0.0 <= float(img.min()) and float(img.max()) <= 1.0


def test_train_transform_is_deterministic_given_the_generator():
    x = _image(40, 50)
    m = np.zeros((40, 50), bool)
    m[5, 5] = True
    t = TrainTransform(24)
    a = t(x, m, np.random.default_rng(7))
    b = t(x, m, np.random.default_rng(7))
    c = t(x, m, np.random.default_rng(8))
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])
    assert not torch.equal(a[0], c[0])


def test_train_transform_keeps_image_and_mask_aligned():
    # with no rescaling, crop/flips/transpose must move image and mask identically
    rng = np.random.default_rng(3)
    m = rng.random((30, 45)) > 0.8
    x = m.astype(np.float32) * 0.75 + 0.125
    t = TrainTransform(16, scale_range=(1.0, 1.0), hflip=True, vflip=True, transpose=True)
    for seed in range(20):
        img, msk = t(x, m, np.random.default_rng(seed))
        np.testing.assert_array_equal(img[0].numpy() > 0.5, msk[0].numpy() > 0.5)


def test_train_transform_flips_and_transpose_happen():
    x = np.arange(16 * 16, dtype=np.float32).reshape(16, 16) / 255.0
    m = np.zeros((16, 16), bool)
    t = TrainTransform(16, scale_range=(1.0, 1.0), hflip=True, vflip=True, transpose=True)
    seen = set()
    for seed in range(40):
        img, _ = t(x, m, np.random.default_rng(seed))
        a = img[0].numpy()
        for label, ref in (("id", x), ("h", x[:, ::-1]), ("v", x[::-1]), ("t", x.T),
                           ("hv", x[::-1, ::-1]), ("ht", x[:, ::-1].T), ("vt", x[::-1].T),
                           ("hvt", x[::-1, ::-1].T)):
            if np.array_equal(a, ref):
                seen.add(label)
                break
        else:
            raise AssertionError("output is not a flip/transpose of the input")
    assert len(seen) == 8
    plain = TrainTransform(16, scale_range=(1.0, 1.0), hflip=False, vflip=False, transpose=False)
    for seed in range(5):
        np.testing.assert_array_equal(plain(x, m, np.random.default_rng(seed))[0][0].numpy(), x)


def test_train_transform_pads_small_images_with_zeros():
    x = np.full((10, 12), 0.5, np.float32)
    m = np.zeros((10, 12), bool)
    m[0, 0] = True
    t = TrainTransform(16, scale_range=(1.0, 1.0), hflip=False, vflip=False, transpose=False)
    img, msk = t(x, m, np.random.default_rng(0))
    a = img[0].numpy()
    np.testing.assert_array_equal(a[:10, :12], 0.5)
    assert a[10:].sum() == 0 and a[:, 12:].sum() == 0
    assert msk[0, 0, 0] == 1 and msk.sum() == 1


def test_train_transform_target_biased_crop():
    x = _image(200, 200)
    m = np.zeros((200, 200), bool)
    m[150, 37] = True  # a single-pixel target: a uniform 16x16 crop holds it ~0.7 % of the time
    always = TrainTransform(16, scale_range=(1.0, 1.0), target_crop_prob=1.0)
    never = TrainTransform(16, scale_range=(1.0, 1.0), target_crop_prob=0.0)
    hits_always = sum(float(always(x, m, np.random.default_rng(s))[1].sum()) for s in range(50))
    hits_never = sum(float(never(x, m, np.random.default_rng(s))[1].sum()) for s in range(50))
    assert hits_always == 50
    assert hits_never < 10


def test_train_transform_scale_changes_content_size():
    x = np.zeros((20, 20), np.float32)
    x[5:15, 5:15] = 1.0
    m = x > 0.5
    t = TrainTransform(64, scale_range=(2.0, 2.0), hflip=False, vflip=False, transpose=False)
    img, msk = t(x, m, np.random.default_rng(0))
    assert int(msk.sum()) == 400  # 10x10 square doubled, then padded to 64
    assert float(img[0, 40:, :].sum()) == 0.0


# ------------------------------------------------------------------------------------------
# torch Dataset
# ------------------------------------------------------------------------------------------
def _samples(n: int = 3) -> list[Sample]:
    out = []
    for i in range(n):
        m = np.zeros((20 + i, 30), bool)
        m[3 + i, 4] = True
        out.append(Sample(f"s{i}", _image(20 + i, 30, seed=i), m, "a target" if i else None,
                          Path(f"s{i}.png"), Path(f"s{i}.png")))
    return out


def test_torch_dataset_is_deterministic_per_seed_epoch_index():
    ds = TorchIRSTDDataset(_samples(), transform=TrainTransform(16), seed=5)
    a = ds[1]
    assert a["name"] == "s1" and a["index"] == 1 and a["description"] == "a target"
    assert a["image"].shape == (1, 16, 16) and a["mask"].shape == (1, 16, 16)
    assert (a["height"], a["width"]) == (21, 30)
    assert torch.equal(a["image"], ds[1]["image"])
    ds.set_epoch(1)
    assert not torch.equal(a["image"], ds[1]["image"])
    ds.set_epoch(0)
    assert torch.equal(a["image"], ds[1]["image"])
    other = TorchIRSTDDataset(_samples(), transform=TrainTransform(16), seed=6)
    assert not torch.equal(a["image"], other[1]["image"])


def test_torch_dataset_resize_and_native_and_collate():
    ds = TorchIRSTDDataset(_samples(), size=32)
    item = ds[0]
    assert item["image"].shape == (1, 32, 32) and item["image"].dtype == torch.float32
    assert item["description"] == ""
    assert set(torch.unique(item["mask"]).tolist()) <= {0.0, 1.0}
    batch = next(iter(torch.utils.data.DataLoader(ds, batch_size=3)))
    assert batch["image"].shape == (3, 1, 32, 32) and batch["name"] == ["s0", "s1", "s2"]
    native = TorchIRSTDDataset(_samples())[2]
    assert native["image"].shape == (1, 22, 30) and native["mask"].sum() == 1


def test_torch_dataset_over_irstd_dataset(tmp_path):
    root = tmp_path / "ds"
    (root / "images").mkdir(parents=True)
    (root / "masks").mkdir()
    for i in range(2):
        Image.fromarray(np.full((24, 40), 100 + i, np.uint8), "L").save(root / "images" / f"x{i}.png")
        m = np.zeros((24, 40), np.uint8)
        m[10, 10] = 255
        Image.fromarray(m, "L").save(root / "masks" / f"x{i}.png")
    (root / "test.txt").write_text("x0\nx1\n")
    tds = TorchIRSTDDataset(IRSTDDataset(root, "test"), transform=TrainTransform(16))
    item = tds[1]
    assert item["name"] == "x1" and item["image"].shape == (1, 16, 16)
    assert torch.allclose(item["image"][item["image"] > 0], torch.tensor(101 / 255))


def test_gray_to_rgb():
    x = torch.rand(2, 1, 5, 6)
    y = gray_to_rgb(x)
    assert y.shape == (2, 3, 5, 6) and torch.equal(y[:, 2], x[:, 0])
    y[:, 0] += 1  # a copy: the input is not changed through a view
    assert float(x.max()) <= 1.0
    assert gray_to_rgb(torch.rand(1, 4, 4)).shape == (3, 4, 4)
    assert gray_to_rgb(np.zeros((1, 4, 4), np.float32)).shape == (3, 4, 4)
    assert gray_to_rgb(y) is y
    with pytest.raises(ValueError):
        gray_to_rgb(torch.rand(2, 2, 4, 4))
