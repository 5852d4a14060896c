"""LGNet against its paper's text: whole-image training for language runs, the output block's
scaling map, Eq. 3's D6 gate, and the fine-tuned CLIP text encoder (issue: paper profile)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

from irstd_lib.data.transforms import resize_image
from irstd_lib.runs import DataConfig, RunConfig, prepare_run, training_dataset
from irstd_lib.models import build_model
from irstd_lib.models.lgnet.language_fusion import LanguageFusionBlock
from irstd_lib.models.lgnet.output_block import OutputBlock
from irstd_lib.profiles import PROFILES
from irstd_lib.reproductions.lgnet import lgnet_config

TINY_DATA = {"synthetic": {"n": 12, "seed": 0, "size": 48}, "train_size": 32, "eval_size": 32}


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("IRSTD_CACHE", str(tmp_path / "cache"))
    return tmp_path


def test_both_profiles_train_on_whole_images_at_their_test_size():
    for profile in PROFILES.values():
        data = profile.data_config()
        assert data.train_policy == "resize", profile.name
        assert data.train_size == data.eval_size, profile.name  # "resized to 512x512 for both training and testing"
    assert lgnet_config("smoke", "full", "train").data.train_policy == "resize"
    assert lgnet_config("smoke", "baseline", "never").data == lgnet_config("smoke", "full", "train").data


def test_a_language_run_trains_on_its_whole_images_with_their_own_descriptions(cache):
    """No flipped, transposed or cropped image is paired with unchanged position words."""
    config = RunConfig(model="lgnet", model_kwargs={"width": 4}, data=DataConfig(**TINY_DATA, train_policy="resize"),
                       conditioning={"language": "train", "descriptions": "quadrant"})
    prep = prepare_run(config)
    data = training_dataset(config, prep.train_set)
    for epoch in (0, 3):
        data.set_epoch(epoch)
        for index in range(len(data)):
            item, sample = data[index], prep.train_set[index]
            assert item["name"] == sample.name
            expected = resize_image(sample.image, 32, 32)
            torch.testing.assert_close(item["image"][0], expected, rtol=0, atol=0)

    # The crop policy does flip and crop: the same check fails there, so it can fail at all.
    crops = training_dataset(config.replace(data=DataConfig(**TINY_DATA, train_policy="crop")), prep.train_set)
    differs = [not torch.equal(crops[i]["image"][0], resize_image(prep.train_set[i].image, 32, 32)) for i in range(len(crops))]
    assert all(differs)


def test_text_with_crops_is_warned_about(cache):
    crop = RunConfig(model="lgnet", model_kwargs={"width": 4}, data=DataConfig(**TINY_DATA, train_policy="crop"),
                     conditioning={"language": "train", "descriptions": "quadrant"})
    with pytest.warns(UserWarning, match="position words"):
        prepare_run(crop)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        prepare_run(crop.replace(conditioning={"language": "never"}))  # no text: crops are fine
        prepare_run(crop.replace(data=DataConfig(**TINY_DATA, train_policy="resize")))


def test_output_block_scaling_map_readings():
    sides = [torch.randn(2, 4, 16, 16) for _ in range(6)]
    single = OutputBlock([4] * 6, scaling_weights="single_map")
    per_output = OutputBlock([4] * 6, scaling_weights="per_deep_output")
    assert single.scale_conv.out_channels == 1 and per_output.scale_conv.out_channels == 3  # [1, H, W] vs three maps
    with torch.no_grad():
        for block in (single, per_output):
            block.scale_conv.weight.normal_(generator=torch.Generator().manual_seed(0))
        per_output.load_state_dict({k: v for k, v in single.state_dict().items() if not k.startswith("scale_conv")},
                                   strict=False)
        a, _ = single(sides, (16, 16))
        b, _ = per_output(sides, (16, 16))
    assert a.shape == b.shape == (2, 1, 16, 16) and not torch.allclose(a, b)
    with pytest.raises(ValueError, match="scaling_weights"):
        OutputBlock([4] * 6, scaling_weights="three")


@pytest.mark.parametrize("pooling", ["e5", "d6"])
def test_d6_gate_reads_gap_of_e5_as_eq3_prints_it(pooling):
    """With Eq. 3's reading the D6 weights do not depend on D6, so doubling D6 doubles its term."""
    torch.manual_seed(0)
    block = LanguageFusionBlock(8, 16, d6_gate_pooling=pooling).eval()
    e5, d6, td = torch.randn(2, 8, 4, 4), torch.randn(2, 8, 4, 4), torch.randn(2, 16)
    with torch.no_grad():
        base = block(e5, d6, td)
        e5_term = block(e5, torch.zeros_like(d6), td) if pooling == "e5" else None
        doubled = block(e5, 2 * d6, td)
    if pooling == "e5":
        torch.testing.assert_close(doubled - e5_term, 2 * (base - e5_term))
    else:
        assert not torch.allclose(doubled - base, base - block(e5, torch.zeros_like(d6), td), atol=1e-5)


def test_defaults_follow_the_paper():
    model = build_model("lgnet", width=4)
    assert model.output.scaling_weights == "single_map"
    assert model.language_merge.d6_gate_pooling == "e5"
    assert PROFILES["paper"].protocol("lgnet").conditioning["clip_text"] == "finetune"
    assert PROFILES["smoke"].protocol("lgnet").conditioning["clip_text"] == "frozen"
    conditioning = lgnet_config("paper", "full", "train", data_root="/nonexistent/NUAA-SIRST").conditioning
    assert conditioning["clip_text"] == "finetune"
    assert "clip_text" not in lgnet_config("paper", "full", "never", data_root="/x/NUAA-SIRST").conditioning


def test_finetuned_text_encoder_trains_at_its_own_rate_and_the_image_tower_stays_frozen(cache, one_torch_thread):
    from irstd_lib.engine import TrainConfig, Trainer

    config = RunConfig(model="lgnet", model_kwargs={"width": 4}, data=DataConfig(**TINY_DATA, train_policy="resize"),
                       conditioning={"language": "train", "descriptions": "quadrant", "clip_text": "finetune",
                                     "clip_text_lr_scale": 0.1},
                       train={"epochs": 1, "batch_size": 4, "warmup_epochs": 0, "scheduler": "constant"})
    frozen = RunConfig.from_dict({**config.to_dict(), "conditioning": {"language": "train", "descriptions": "quadrant"}})
    prep = prepare_run(config)
    assert prep.hash != prepare_run(frozen).hash  # fine-tuning is part of the run's identity
    condition = prep.prepare_condition()
    model = prep.build_model(condition.model_kwargs)
    assert model.text_encoder is not None and not hasattr(model.text_encoder.clip, "visual")
    groups = {g.name: g for g in model.parameter_groups()}
    assert set(groups) == {"model", "clip_text"} and groups["clip_text"].lr_scale == 0.1

    batch = training_dataset(config, prep.train_set)
    items = [batch[i] for i in range(4)]
    names = [item["name"] for item in items]
    train_condition = condition.train({"name": names}, "train")
    assert train_condition["use_text"].all() and train_condition["tokens"].dtype == torch.long
    test_condition = condition.evaluations["test_without_text"]({"name": names}, "test")
    assert not test_condition["use_text"].any()

    before = {n: p.detach().clone() for n, p in model.text_encoder.named_parameters()}
    trainer = Trainer(model, config.train_config(progress=False), batch, None, cache / "ckpt", condition.train)
    lrs = {g["name"]: g["lr"] for g in trainer.optimizer.param_groups}
    assert lrs["clip_text"] == pytest.approx(0.1 * lrs["model"])
    trainer.fit()
    changed = [n for n, p in model.text_encoder.named_parameters() if p.requires_grad and not torch.equal(p, before[n])]
    assert changed  # gradients reached the text tower through the language fusion block
    assert not model.text_encoder.clip.logit_scale.requires_grad

    # Without text at test time the descriptor is the frozen image embedding alone.
    with torch.no_grad():
        descriptor = model.target_descriptor(test_condition)
    np.testing.assert_array_equal(descriptor.numpy(), test_condition["image"].numpy())


def test_throughput_benchmark_runs_and_reports_against_the_paper(one_torch_thread):
    """The figures themselves are for a GPU (printed, never asserted); this checks the script runs."""
    from irstd_lib.benchmarks.lgnet_throughput import PAPER, measure

    rows = measure(device="cpu", size=32, batch=2, steps=1, warmup=0, repeats=1, train_images=8, width=4,
                   settings=((False, False), (True, True)))
    assert [(r["bf16"], r["channels_last"]) for r in rows] == [(False, False), (True, True)]
    for row in rows:
        assert row["train_images_per_s"] > 0 and row["latency_ms"] > 0
        assert row["train_s_per_epoch"] == pytest.approx(8 / row["train_images_per_s"])
        assert row["vs_paper_train"] == pytest.approx(PAPER["train_s_per_epoch"] / row["train_s_per_epoch"])
