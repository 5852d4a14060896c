"""The BasicIRSTD toolbox's protocol (``data.train_policy="basicirstd_toolbox"``,
irstd_lib.runs.toolbox_protocol): its crop sampler, padding, schedule, padded test path,
normalisation and split lists."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import torch

from irstd_lib.data.normalisation import (BASICIRSTD_STATISTICS, basicirstd_fallback_statistics,
                                          basicirstd_statistics)
from irstd_lib.data.transforms import BasicIRSTDCrop, TorchIRSTDDataset
from irstd_lib.runs import RunConfig
from irstd_lib.runs.identity import run_hash, run_identity
from irstd_lib.runs.toolbox_protocol import TOOLBOX_POLICY_251003A, toolbox_run_config

REPO = Path(__file__).resolve().parents[1]
NUAA_MEAN, NUAA_STD = 101.06385040283203, 34.619606018066406  # the toolbox's utils.py:97-98


def _one_pixel_target(size: int, at: tuple[int, int]):
    image = np.full((size, size), 0.25, dtype=np.float32)
    mask = np.zeros((size, size), dtype=bool)
    mask[at] = True
    return image, mask


def test_crop_sampler_keeps_a_target_in_about_half_the_crops():
    # One target pixel at (500, 500) of a 1024 x 1024 image. A target-biased crop (probability
    # 0.5) starts in [y - 256, y] on each axis, 257 choices of which 256 hold the pixel: it holds
    # it with probability (256/257)^2 = 0.99223. A uniform crop holds it with (256/769)^2 =
    # 0.11083. Expected fraction 0.5 * (0.99223 + 0.11083) = 0.55153; with n = 1200 crops the sd
    # is sqrt(0.5515 * 0.4485 / 1200) = 0.0144, and the bound below is +-0.055 (3.8 sd).
    image, mask = _one_pixel_target(1024, (500, 500))
    crop = BasicIRSTDCrop(256, 0.5)
    _, m = crop(image, mask, np.random.default_rng(0))
    assert tuple(m.shape) == (1, 256, 256)
    mask_t = torch.as_tensor(mask)

    def holds(y0: int, x0: int) -> bool:  # the crop [y0, y0 + 256) x [x0, x0 + 256) holds (500, 500)
        return y0 <= 500 < y0 + 256 and x0 <= 500 < x0 + 256

    rng = np.random.default_rng(42)
    n = 1200
    held = sum(holds(*crop.crop_origin(mask_t, rng)) for _ in range(n))
    expected = 0.5 * ((256 / 257) ** 2 + (256 / 769) ** 2)
    assert abs(held / n - expected) < 0.055, (held, n)

    # The 251003a crop (the published numbers' code) is uniform: about 11 % hold the pixel
    # (sd sqrt(0.1108 * 0.8892 / 1200) = 0.0091; bound 0.04 = 4.4 sd).
    uniform = BasicIRSTDCrop(256, None)
    rng = np.random.default_rng(42)
    held_uniform = sum(holds(*uniform.crop_origin(mask_t, rng)) for _ in range(n))
    assert abs(held_uniform / n - (256 / 769) ** 2) < 0.04, held_uniform


def test_crop_origin_follows_the_toolbox_ranges():
    # The toolbox: h_start = randint(max(0, y - 256), min(y, h - 256)), both ends inclusive.
    image, mask = _one_pixel_target(600, (300, 500))
    crop = BasicIRSTDCrop(256, 1.0)
    rng = np.random.default_rng(0)
    rows, cols = set(), set()
    mask_t = torch.as_tensor(mask)
    for _ in range(3000):
        y0, x0 = crop.crop_origin(mask_t, rng)
        rows.add(y0)
        cols.add(x0)
    assert min(rows) == 300 - 256 and max(rows) == 300  # min(y, h - 256) = min(300, 344)
    assert min(cols) == 500 - 256 and max(cols) == 600 - 256  # clipped by w - 256 = 344
    # An empty mask always gives a uniform crop over the whole range.
    empty = torch.zeros(600, 600)
    starts = {crop.crop_origin(empty, rng)[0] for _ in range(3000)}
    assert min(starts) == 0 and max(starts) == 600 - 256


def test_crops_are_256_and_padded_bottom_right_as_the_toolbox_pads():
    # A 200 x 240 image (both sides < 256): the toolbox pads to 256 x 256 at the bottom/right with
    # 0 on the normalised image; the run passes the model's input mean, which normalises to 0.
    mean = BASICIRSTD_STATISTICS["NUAA-SIRST"][0]
    rng0 = np.random.default_rng(3)
    image = rng0.uniform(0, 1, (200, 240)).astype(np.float32)
    mask = np.zeros((200, 240), dtype=bool)
    mask[100:103, 50:52] = True
    crop = BasicIRSTDCrop(256, 0.5, pad_value=mean, flips=False)
    for seed in range(5):
        img, msk = crop(image, mask, np.random.default_rng(seed))
        assert tuple(img.shape) == (1, 256, 256) and tuple(msk.shape) == (1, 256, 256)
        # both sides padded to exactly 256: the crop can only start at (0, 0)
        assert torch.equal(img[0, :200, :240], torch.as_tensor(image))
        assert torch.all(img[0, 200:, :] == mean) and torch.all(img[0, :, 240:] == mean)
        assert torch.equal(msk[0, :200, :240], torch.as_tensor(mask, dtype=torch.float32))
        assert msk[0, 200:].sum() == 0 and msk[0, :, 240:].sum() == 0
    # A 200 x 400 image: only the short side is padded (to 256), the long one cropped.
    wide = np.ones((200, 400), dtype=np.float32) * 0.5
    img, _ = crop(wide, np.zeros((200, 400), bool), np.random.default_rng(0))
    assert tuple(img.shape) == (1, 256, 256)
    assert torch.all(img[0, 200:] == mean) and torch.all(img[0, :200] == 0.5)

    # The pad value is the model's input mean, which its normalisation maps to 0 (the toolbox's 0).
    from irstd_lib.models import build_model

    model = build_model("acm", base_channels=4)
    normalised_pad = model.input_spec.prepare(torch.full((1, 1, 1, 1), mean))
    assert abs(float(normalised_pad)) < 1e-6


def test_multistep_lr_at_epochs_199_200_300():
    # The recipe's MultiStepLR (milestones 200, 300; gamma 0.1, train.py:81), stepped per
    # optimizer step at milestone x steps_per_epoch; 213 images, batch 16, last batch kept: 14 steps.
    from irstd_lib.engine import Trainer
    from irstd_lib.models import build_model

    config = toolbox_run_config()
    train_cfg = config.train_config()
    assert (train_cfg.optimizer, train_cfg.lr, train_cfg.lr_gamma, list(train_cfg.lr_milestones)) == ("adam", 5e-4, 0.1, [200, 300])
    assert (train_cfg.epochs, train_cfg.batch_size, train_cfg.drop_last, train_cfg.loss) == (400, 16, False, "softiou")
    model = build_model("acm", base_channels=4)
    trainer = Trainer(model, train_cfg, list(range(213)), None, checkpoint_dir="/nonexistent-not-written")
    assert trainer.steps_per_epoch == 14
    factor = trainer.scheduler.lr_lambdas[0]

    def lr_of_epoch(epoch: int) -> set[float]:  # 1-based epoch, every step of it
        return {round(5e-4 * factor(s), 12) for s in range((epoch - 1) * 14, epoch * 14)}

    assert lr_of_epoch(1) == {5e-4}
    assert lr_of_epoch(199) == {5e-4}
    assert lr_of_epoch(200) == {5e-4}  # the toolbox: scheduler.step() after epoch 200 -> 5e-5 from 201
    assert lr_of_epoch(201) == {5e-5}
    assert lr_of_epoch(300) == {5e-5}
    assert lr_of_epoch(301) == {5e-6}
    assert lr_of_epoch(400) == {5e-6}
    # and the optimizer really starts at 5e-4 with Adam's defaults, no weight decay
    group = trainer.optimizer.param_groups[0]
    assert isinstance(trainer.optimizer, torch.optim.Adam) and group["weight_decay"] == 0.0
    assert group["betas"] == (0.9, 0.999)


@dataclass
class _Sample:
    name: str
    image: np.ndarray
    mask: np.ndarray
    description: str | None = None


def test_padded_test_path_scores_at_native_size():
    from irstd_lib.engine import evaluate
    from irstd_lib.models import build_model

    torch.manual_seed(0)
    model = build_model("acm", base_channels=4)
    rng = np.random.default_rng(1)
    samples = [_Sample("a", rng.uniform(0, 1, (50, 70)).astype(np.float32), np.zeros((50, 70), bool)),
               _Sample("b", rng.uniform(0, 1, (33, 100)).astype(np.float32), np.zeros((33, 100), bool))]
    samples[0].mask[10:12, 20:23] = True
    seen = []
    handle = model.register_forward_pre_hook(lambda m, args: seen.append(args[0].detach().clone()))
    cfg = toolbox_run_config().train_config()
    result = evaluate(model, samples, size=cfg.val_size, policy=cfg.eval_policy, threshold=cfg.threshold, per_image=True,
                      keep_maps=("a", "b"))
    handle.remove()
    # padded to a multiple of 32 at the bottom/right, with 0 after normalisation
    assert [tuple(x.shape[-2:]) for x in seen] == [(64, 96), (64, 128)]
    assert torch.all(seen[0][..., 50:, :] == 0) and torch.all(seen[0][..., :, 70:] == 0)
    assert torch.all(seen[1][..., 33:, :] == 0) and torch.all(seen[1][..., :, 100:] == 0)
    # scored at native size: the maps and the pixel counts are the images' own
    assert result["maps"]["a"].shape == (50, 70) and result["maps"]["b"].shape == (33, 100)
    assert [r["n_pixels"] for r in result["per_image"]] == [50 * 70, 33 * 100]
    assert result["metrics"]["n_pixels"] == 50 * 70 + 33 * 100
    assert result["per_image"][0]["n_targets"] == 1 and cfg.threshold == 0.5


def test_normalisation_constants_are_applied():
    mean, std = basicirstd_statistics("NUAA-SIRST")
    assert (mean * 255, std * 255) == pytest.approx((NUAA_MEAN, NUAA_STD), abs=1e-9)
    assert basicirstd_statistics("IRSTD-1K") == BASICIRSTD_STATISTICS["IRSTD-1k"]  # the toolbox's spelling
    from irstd_lib.models import build_model

    model = build_model("acm", **toolbox_run_config().model_kwargs)
    pixels = torch.tensor([0.0, 50.0, 101.0, 200.0, 255.0]).reshape(1, 1, 1, 5)
    prepared = model.input_spec.prepare(pixels / 255.0)
    np.testing.assert_allclose(prepared.flatten().numpy(), ((pixels - NUAA_MEAN) / NUAA_STD).flatten().numpy(), atol=2e-5)
    # the fallback formula for unnamed datasets: mean of per-image means, mean of per-image stds
    a = np.array([[0, 255]], dtype=np.float32) / 255.0
    b = np.array([[10, 10, 10, 50]], dtype=np.float32) / 255.0
    m, s = basicirstd_fallback_statistics([a, b])
    assert m == pytest.approx((127.5 + 20.0) / 2) and s == pytest.approx((127.5 + np.std([10, 10, 10, 50])) / 2)
    with pytest.raises(ValueError, match="no constants"):
        basicirstd_statistics("MyData")


def test_config_file_is_the_protocol_and_new_policies_leave_old_hashes():
    config = RunConfig.from_file(REPO / "notebooks" / "configs" / "acm_toolbox_nuaa.json")
    assert config == toolbox_run_config()
    assert config.seed == 42 and config.recipe == "basicirstd_toolbox"
    # a run without the policy keeps its recipe and its identity has no train_policy entry
    plain = RunConfig(model="acm", data={"dataset": "NUAA-SIRST"})
    assert plain.recipe == "basicirstd"
    identity = run_identity(plain, {"train": "x", "test": "y"})
    assert "train_policy" in run_identity(config, {"train": "x", "test": "y"})["data"]
    assert "train_policy" not in identity["data"] and identity["train"]["drop_last"] is True
    other = toolbox_run_config(policy=TOOLBOX_POLICY_251003A)
    assert run_hash(run_identity(other, {"train": "x", "test": "y"})) != run_hash(run_identity(config, {"train": "x", "test": "y"}))


def test_training_dataset_uses_the_toolbox_crop():
    from irstd_lib.runs.data import training_dataset

    config = toolbox_run_config()
    image, mask = _one_pixel_target(300, (150, 150))
    data = training_dataset(config, [_Sample("x", image, mask)], pad_value=0.4)
    assert isinstance(data, TorchIRSTDDataset) and isinstance(data.transform, BasicIRSTDCrop)
    assert data.transform.target_crop_prob == 0.5 and data.transform.size == 256 and data.transform.pad_value == 0.4
    assert training_dataset(toolbox_run_config(policy=TOOLBOX_POLICY_251003A), [], 0.0).transform.target_crop_prob is None
    item = data[0]
    assert tuple(item["image"].shape) == (1, 256, 256)


def test_crlf_split_lists_read(nuaa_root):
    from irstd_lib.data import IRSTDDataset

    folder = nuaa_root / "img_idx"
    if not (folder / "train_NUAA-SIRST.txt").is_file():
        pytest.skip(f"{folder}: the toolbox's split lists are absent")
    raw = (folder / "train_NUAA-SIRST.txt").read_bytes()
    assert b"\r\n" in raw  # the published files have CRLF lines
    data = toolbox_run_config().data
    train = IRSTDDataset(nuaa_root, split="train", split_dir=data.split_dir, split_version=data.split_version,
                         on_size_mismatch="resize")
    test = IRSTDDataset(nuaa_root, split="test", split_dir=data.split_dir, split_version=data.split_version,
                        on_size_mismatch="resize")
    assert (len(train), len(test)) == (213, 214)
    assert (train.names[0], train.names[-1], test.names[0], test.names[-1]) == ("Misc_119", "Misc_92", "Misc_338", "Misc_380")
    assert not any("\r" in n or n != n.strip() for n in train.names + test.names)
    assert not set(train.names) & set(test.names)


def test_a_tiny_run_trains_end_to_end_under_the_protocol(tmp_path, monkeypatch):
    # The whole run layer under the protocol's name: a 1-epoch tiny ACM on 12 synthetic 48 px
    # scenes (10 to train, batch 4: a last batch of 2), crops of 32 (the protocol's 256 does not fit them), test padded to 64.
    from irstd_lib.runs import run_experiment

    monkeypatch.setenv("IRSTD_CACHE", str(tmp_path / "cache"))
    config = RunConfig(model="acm", model_kwargs={"base_channels": 4},
                       data={"synthetic": {"n": 12, "seed": 0, "size": 48}, "train_size": 32, "eval_size": None,
                             "eval_policy": "pad", "train_policy": "basicirstd_toolbox"},
                       train={"epochs": 1, "batch_size": 4}, seed=42)
    assert config.train_config().drop_last is False and config.recipe == "basicirstd_toolbox"
    from irstd_lib.runs.training import prepare_run

    n_train = len(prepare_run(config).train_set)
    assert n_train % 4  # an incomplete last batch, which the toolbox keeps
    run = run_experiment(config, results_dir=tmp_path / "results", progress=False)
    assert run.metrics["n_images"] > 0 and run.metrics["threshold"] == 0.5
    saved = torch.load(run.checkpoint_dir / "last.pt", weights_only=False, map_location="cpu")
    assert saved["epoch"] == 1 and saved["step"] == math.ceil(n_train / 4)
