"""Ground truth at test time, labelled (issues 20 and 24): a run whose test-time inputs read the
test images' masks says so in its record and in its table rows and caption; one that reads none
does not; SAIST's clip_image_test="targets_removed_by_ground_truth" runs end to end (the test
masks reach the model) and is labelled."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest
import torch

from irstd_lib.runs import RunConfig, DataConfig, finished_runs, load_run
from irstd_lib.runs.ground_truth import COLUMN, INPUTS_KEY, READS_KEY, label_test_ground_truth

GT_SWITCH = "targets_removed_by_ground_truth"


def _lgnet(descriptions: str, dataset: str = "synthetic") -> RunConfig:
    return RunConfig(model="lgnet", data=DataConfig(dataset=dataset),
                     conditioning={"language": "train", "descriptions": descriptions, "clip": "tiny"})


def _saist(conditioning=None, **model_kwargs) -> RunConfig:
    return RunConfig(model="saist", model_kwargs={"sam": "tiny", "clip": "tiny", **model_kwargs}, data=DataConfig(),
                     conditioning={"descriptions": "scene", **(conditioning or {})})


def test_mask_written_test_text_is_labelled_per_evaluation():
    for source in ("semantic", "quadrant"):
        label = label_test_ground_truth(_lgnet(source, dataset="NUAA-SIRST"))
        assert label[READS_KEY] is True
        assert label[INPUTS_KEY]["test_without_text"] == []  # image only at test: nothing read
        (text,) = label[INPUTS_KEY]["test_with_text"]
        assert source in text and "mask" in text
    # the synthetic generator's own description files are written from its targets: labelled;
    # a real dataset's description files are read as they are: not
    assert label_test_ground_truth(_lgnet("files"))[INPUTS_KEY]["test_with_text"]
    assert label_test_ground_truth(_lgnet("files", dataset="NUAA-SIRST")) == {
        READS_KEY: False, INPUTS_KEY: {"test_without_text": [], "test_with_text": []}}
    image_only = RunConfig(model="lgnet", conditioning={"language": "never", "clip": "tiny"})
    assert label_test_ground_truth(image_only) == {READS_KEY: False, INPUTS_KEY: {"test": []}}
    assert label_test_ground_truth(RunConfig(model="acm")) == {READS_KEY: False, INPUTS_KEY: {"test": []}}


def test_saist_scene_prompts_and_its_clip_switch_are_labelled():
    from irstd_lib.conditioning import get_kind

    masked = label_test_ground_truth(_saist())  # today's smoke runs: the test prompt masks the target
    assert masked[READS_KEY] and "scene descriptions" in masked[INPUTS_KEY]["test"][0]
    whole = _saist({"mask_target_test": False})
    assert label_test_ground_truth(whole) == {READS_KEY: False, INPUTS_KEY: {"test": []}}
    both = label_test_ground_truth(_saist({"mask_target_test": False}, clip_image_test=GT_SWITCH))
    assert both[READS_KEY] and len(both[INPUTS_KEY]["test"]) == 1 and "CLIP's image encoder" in both[INPUTS_KEY]["test"][0]
    assert not label_test_ground_truth(RunConfig(model="sam", model_kwargs={"sam": "tiny", "clip_image_test": GT_SWITCH}))[READS_KEY]
    assert not label_test_ground_truth(_saist({"descriptions": "files"}))[READS_KEY]  # files: no mask read here
    kind = get_kind("scene_prompt")
    # the default keeps every earlier run's identity; a different test reading is a different run
    assert kind.identity(_saist().condition_settings, 0) == {"descriptions": "scene", "mask_target": True}
    assert kind.identity(_saist({"mask_target_test": True}).condition_settings, 0) == {"descriptions": "scene", "mask_target": True}
    assert kind.identity(whole.condition_settings, 0)["mask_target_test"] is False


def test_the_paper_profile_describes_saist_test_images_without_their_masks():
    from irstd_lib.reproductions.configs import run_config

    paper = run_config("paper", "saist", sam_checkpoint="sam.pth", clip_checkpoint="clip.pt")
    assert paper.conditioning["mask_target_test"] is False and paper.model_kwargs["clip_image_test"] == "whole"
    assert paper.condition_settings.mask_target_for("train") and not paper.condition_settings.mask_target_for("val")
    assert label_test_ground_truth(paper)[READS_KEY] is False
    assert label_test_ground_truth(run_config("smoke", "saist"))[READS_KEY] is True  # smoke: unchanged, labelled


def _committed(model: str, **conditioning):
    for saved, record in finished_runs():
        config = saved.get("config")
        if config and config["model"] == model and all(config["conditioning"].get(k) == v for k, v in conditioning.items()):
            return load_run(saved["hash"])
    pytest.skip(f"no committed {model} run with {conditioning} under results/runs")


def test_committed_records_are_labelled_from_their_config_and_so_are_their_table_rows():
    from irstd_lib.reproductions.specs import Row
    from irstd_lib.reproductions.tables import Measured, with_ground_truth_labels

    lgnet = _committed("lgnet", language="train", descriptions="semantic")
    assert lgnet.ground_truth_inputs_at_test("test_without_text") == []
    assert "'semantic' source" in lgnet.ground_truth_inputs_at_test("test_with_text")[0]
    acm = _committed("acm")
    assert acm.ground_truth_inputs_at_test() == []
    saist = _committed("saist", descriptions="scene")
    assert saist.ground_truth_inputs_at_test()
    measured = [Measured(Row("lgnet", "text in training, image only at test"), lgnet, "test_without_text", "train only"),
                Measured(Row("lgnet", "text in training and test"), lgnet, "test_with_text", "train and test"),
                Measured(Row("acm", "ACM"), acm, "test", "ACM")]
    table = pd.DataFrame({"setting": [m.label for m in measured] + ["a paper-only row"], "IoU": [1.0, 2.0, 3.0, None]})
    table.attrs["note"] = "Seed spread: ..."
    labelled = with_ground_truth_labels(table, measured)
    assert list(labelled.columns) == ["setting", COLUMN, "IoU"]
    assert labelled[COLUMN].tolist()[:3] == ["none", lgnet.ground_truth_inputs_at_test("test_with_text")[0], "none"]
    note = labelled.attrs["note"]
    assert note.startswith("READS TEST GROUND TRUTH: 1 of 3 rows (train and test)") and note.endswith("Seed spread: ...")
    unlabelled = with_ground_truth_labels(table, [measured[0], measured[2]])
    assert unlabelled is table and COLUMN not in unlabelled.columns  # no row reads a test mask: the table as it was


class _Spy:
    """A conditioner recording the batches it sees."""

    def __init__(self, reads_test_masks: bool):
        self.reads_test_masks, self.batches = reads_test_masks, []

    def __call__(self, batch, phase):
        self.batches.append(batch)
        return None


def test_evaluation_batches_carry_the_prepared_test_mask_only_when_asked(tiny_synthetic_root, one_torch_thread):
    from irstd_lib.data import IRSTDDataset
    from irstd_lib.data.transforms import resize_mask
    from irstd_lib.engine import evaluate
    from irstd_lib.models import build_model, get_variant

    test_set = IRSTDDataset(tiny_synthetic_root, "test")
    model = build_model("acm", **get_variant("acm").tiny)
    for policy, size in (("resize", 32), ("pad", 32)):
        asked, plain = _Spy(True), _Spy(False)
        evaluate(model, test_set, size=size, policy=policy, conditioner=asked)
        evaluate(model, test_set, size=size, policy=policy, conditioner=plain)
        assert all("mask" not in b for b in plain.batches)
        for batch in asked.batches:
            sample = test_set[int(batch["index"][0])]
            assert batch["mask"].shape == batch["image"].shape
            expected = (resize_mask(sample.mask, size, size) if policy == "resize"
                        else torch.nn.functional.pad(torch.as_tensor(sample.mask > 0, dtype=torch.float32),
                                                     (0, batch["image"].shape[-1] - sample.mask.shape[1],
                                                      0, batch["image"].shape[-2] - sample.mask.shape[0])))
            assert torch.equal(batch["mask"][0, 0], expected)
        assert sum(float(b["mask"].sum()) for b in asked.batches) > 0


def test_saist_reading_the_test_mask_runs_end_to_end_and_is_labelled(tiny_synthetic_root, tmp_path, monkeypatch, one_torch_thread):
    from irstd_lib.engine import predict
    from irstd_lib.reproductions.configs import run_config
    from irstd_lib.runs import load_trained_model, run_experiment

    monkeypatch.setenv("IRSTD_CACHE", str(tmp_path / "cache"))
    base = run_config("smoke", "saist", data_root=tiny_synthetic_root, epochs=1)
    config = base.replace(model_kwargs={**base.model_kwargs, "clip_image_test": GT_SWITCH},
                          conditioning={**base.conditioning, "mask_target_test": False},
                          data=dataclasses.replace(base.data, train_size=32, eval_size=32),
                          train={**base.train, "batch_size": 4})
    result = run_experiment(config, tiny_synthetic_root, tmp_path / "results", progress=False)
    assert np.isfinite(result.record["test"]["IoU"])
    assert result.record[READS_KEY] is True
    (written,) = result.record[INPUTS_KEY]["test"]
    assert "CLIP's image encoder" in written and result.ground_truth_inputs_at_test() == [written]

    # The test masks reached the model: the same weights seeing the whole test image score otherwise.
    model, prep, condition = load_trained_model(config, tiny_synthetic_root, tmp_path / "results")
    size = config.data.eval_size
    with_mask = [p.scores for p in predict(model, prep.test_set, size=size, policy="resize", conditioner=condition.evaluations["test"])]
    model.clip_image_test = "whole"
    plain = prep.prepare_condition().evaluations["test"]
    assert not plain.reads_test_masks
    whole = [p.scores for p in predict(model, prep.test_set, size=size, policy="resize", conditioner=plain)]
    assert any(not np.array_equal(a, b) for a, b in zip(with_mask, whole))
