"""SAIST's data protocol (4.1: "50% for training, 30% for validation, and 20% for testing"):
one partition per dataset whatever the training seed, the checkpoint chosen on the validation
list and recorded, and the refusal of per-image lists over different image sets (issue 20, item 4)."""

from __future__ import annotations

import dataclasses
from types import MappingProxyType

import numpy as np
import pytest

from irstd_lib.profiles import get_profile


@pytest.fixture(scope="module")
def dataset_root(tmp_path_factory):
    """A 20-image 64 px synthetic set in the folder layout, read as a real dataset ("tiny20")."""
    from irstd_lib.data.synthetic import write_synthetic_dataset

    out = tmp_path_factory.mktemp("protocol") / "tiny20"
    write_synthetic_dataset(out, n=20, seed=3, size=64)
    return out


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("IRSTD_CACHE", str(tmp_path / "cache"))
    return tmp_path


def _profile_50_30_20(size: int = 64):
    """The smoke profile with SAIST's protocol switched to the 50/30/20 partition, 64 px."""
    smoke = get_profile("smoke")
    saist = dataclasses.replace(smoke.systems["saist"], split_scheme="saist_50_30_20", size=size)
    return dataclasses.replace(smoke, name="smoke_50_30_20", systems=MappingProxyType({**smoke.systems, "saist": saist}))


def test_seeds_share_one_partition_and_the_split_seed_is_its_own(dataset_root, cache):
    from irstd_lib.reproductions.configs import run_config
    from irstd_lib.runs import prepare_run

    profile = _profile_50_30_20()
    configs = [run_config(profile, "saist", data_root=dataset_root, seed=seed, epochs=1) for seed in (0, 1)]
    assert [(c.data.train_split, c.data.val_split, c.data.test_split) for c in configs] == [("train", "val", "test")] * 2
    preps = [prepare_run(c, dataset_root, cache / "results") for c in configs]
    assert preps[0].hash != preps[1].hash  # two runs...
    for split in ("train_set", "val_set", "test_set"):  # ...on one partition
        assert getattr(preps[0], split).names == getattr(preps[1], split).names
    sizes = [len(preps[0].train_set), len(preps[0].val_set), len(preps[0].test_set)]
    assert sizes == [10, 6, 4]
    assert set(preps[0].test_set.names).isdisjoint(preps[0].train_set.names + preps[0].val_set.names)
    # the partition moves with split_seed only, and that enters the run's identity
    other = configs[0].replace(data=dataclasses.replace(configs[0].data, split_seed=5))
    moved = prepare_run(other, dataset_root, cache / "results")
    assert moved.test_set.names != preps[0].test_set.names and moved.hash != preps[0].hash
    assert "val" in preps[0].identity["data"]["fingerprints"]


def test_standard_runs_keep_their_identity_without_validation(tiny_synthetic_root, cache):
    """The new data fields enter an identity only away from their defaults (smoke hashes stay)."""
    from irstd_lib.runs import DataConfig, RunConfig, prepare_run

    config = RunConfig(model="acm", model_kwargs={"base_channels": 4}, data=DataConfig(dataset="tiny", train_size=32, eval_size=32))
    prep = prepare_run(config, tiny_synthetic_root, cache / "results")
    assert prep.val_set is None
    assert not {"val_split", "split_seed"} & set(prep.identity["data"]) and set(prep.identity["data"]["fingerprints"]) == {"train", "test"}
    with pytest.raises(ValueError, match="val_split"):
        DataConfig(dataset="tiny", val_split="test")


def test_the_checkpoint_is_chosen_on_validation_and_recorded(dataset_root, cache, one_torch_thread):
    import torch

    from irstd_lib.engine import evaluate
    from irstd_lib.reproductions.configs import run_config
    from irstd_lib.runs import load_trained_model, run_experiment

    config = run_config(_profile_50_30_20(), "saist", data_root=dataset_root, seed=0, epochs=4)
    config = config.replace(train={**config.train, "val_every": 1})
    result = run_experiment(config, dataset_root, cache / "results", progress=False)
    record = result.record
    history = result.history()
    val_iou = np.asarray(history["val_IoU"], dtype=float)
    assert len(val_iou) == 4 and np.isfinite(val_iou).all()
    best = int(np.argmax(val_iou)) + 1  # the first of equal values, as the trainer keeps it
    assert record["checkpoint"]["epoch"] == best and record["checkpoint"]["chosen_on"] == "val"
    assert record["checkpoint"]["value"] == pytest.approx(val_iou[best - 1])
    assert record["split"] == {"scheme": "saist_50_30_20", "seed": 0, "train": "train", "val": "val", "test": "test"}
    # the recorded test metrics are those of the chosen epoch's weights, not the last epoch's
    model, prep, condition = load_trained_model(config, dataset_root, cache / "results")
    train_cfg = config.train_config()
    with torch.no_grad():
        again = evaluate(model, prep.test_set, size=train_cfg.val_size, policy=train_cfg.eval_policy,
                         conditioner=condition.evaluations["test"], threshold=train_cfg.threshold)
    assert again["metrics"]["IoU"] == pytest.approx(record["test"]["IoU"])


def test_seed_lists_over_different_images_are_refused_naming_the_runs():
    from irstd_lib.bootstrap import bootstrap_intervals, check_same_images, paired_difference

    def rows(names):
        return [{"name": n, "intersection": 3, "union": 5, "n_targets": 1, "n_matched": 1, "n_false_alarm_pixels": 0,
                 "n_pixels": 100} for n in names]

    a, b = rows(["img0", "img1", "img2"]), rows(["img0", "img5", "img2"])
    with pytest.raises(ValueError, match=r"run aaa \(3 images\) and run bbb \(3 images\).*position 1: 'img1' against 'img5'"):
        bootstrap_intervals([a, b], n_resamples=10, labels=["run aaa", "run bbb"])
    with pytest.raises(ValueError, match=r"SAIST.*SAM.*'img1' against 'img5'"):
        paired_difference(a, b, n_resamples=10, labels=("SAIST", "SAM"))
    with pytest.raises(ValueError, match="another order"):
        check_same_images(["x", "y"], ["y", "x"])
    check_same_images(["x"], ["x"])  # the same list passes


def test_seed_runs_over_different_test_sets_are_refused(tmp_path):
    from irstd_lib.reproductions.seeds import SeedRuns

    class Run:
        def __init__(self, hash, seed, names):
            self.hash, self.names = hash, names
            self.config = type("C", (), {"seed": seed})()
            self.record = {"evaluations": ["test"], "test": {"IoU": 1.0, "nIoU": 1.0, "Pd": 1.0, "Fa": 1.0}}
            self.config.primary_evaluation = "test"
            self.run_dir = self.checkpoint_dir = tmp_path
            self.primary_evaluation = "test"

        def details(self, evaluation=None):
            return {"per_image": [{"name": n} for n in self.names], "roc": {"auc": 0.5}}

    runs = SeedRuns([Run("h0", 0, ["a", "b"]), Run("h1", 1, ["a", "c"])])
    with pytest.raises(ValueError, match=r"run h0 \(seed 0\).*run h1 \(seed 1\).*'b' against 'c'"):
        runs.details()
