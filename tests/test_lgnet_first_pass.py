"""LGNet's remaining readings of its text (issue 24): the test-time text without ground truth (the
image-only pass's prediction, described by the mask-derived writer, read by a second pass:
irstd_lib.models.lgnet.first_pass), the output block's scaled maps, the warm-up's words, and the
paper profile's dataset for Tables 2, 3 and 6."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest

from irstd_lib.runs import DataConfig, RunConfig, prepare_run, run_experiment
from irstd_lib.runs.training import evaluate_run

TINY_DATA = {"synthetic": {"n": 12, "seed": 0, "size": 48}, "train_size": 32, "eval_size": 48, "train_policy": "resize"}
TINY_TRAIN = {"epochs": 1, "batch_size": 4, "warmup_epochs": 0, "scheduler": "constant"}


def _config(**conditioning) -> RunConfig:
    return RunConfig(model="lgnet", model_kwargs={"width": 4}, data=DataConfig(**TINY_DATA),
                     conditioning={"language": "train", "descriptions": "semantic", **conditioning}, train=TINY_TRAIN)


class _EmptyMasks:
    """A test split whose masks are all empty (names, images and everything else as given)."""

    def __init__(self, dataset) -> None:
        self.dataset = dataset
        self.names = dataset.names

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, i):
        sample = self.dataset[i]
        return replace(sample, mask=np.zeros_like(sample.mask))


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("IRSTD_CACHE", str(tmp_path / "cache"))
    return tmp_path


def test_first_pass_source_reads_no_mask_and_writes_what_the_mask_writer_writes():
    from irstd_lib.text.descriptions import FirstPassSource, SemanticSource, get_source
    from irstd_lib.text.descriptions.types import Description

    image = np.random.default_rng(0).uniform(0.1, 0.2, (40, 50)).astype(np.float32)
    predicted = np.zeros((40, 50), bool)
    predicted[5:8, 40:43] = True  # upper right
    image[predicted] = 0.9

    class Sample:
        name, description = "im", None

    sample = Sample()
    sample.image, sample.mask = image, None  # no mask at all: the source must not need one
    source = get_source("first_pass", predict=lambda s: predicted)
    assert isinstance(source, FirstPassSource) and source.uses_ground_truth is False
    written = source.describe(sample)
    assert isinstance(written, Description) and written.source == "first_pass"
    assert written.provenance["uses_ground_truth"] is False and written.provenance["parameters"]["writer"] == "semantic"
    sample.mask = predicted
    assert written.text == SemanticSource().describe(sample).text and "upper-right" in written.text
    assert get_source("first_pass", predict=lambda s: predicted, writer="quadrant").describe(sample).text == \
        "The small target lies in the top-right quadrant."
    with pytest.raises(ValueError, match="writer"):
        FirstPassSource(lambda s: predicted, writer="files")
    with pytest.raises(ValueError, match="prediction is"):
        get_source("first_pass", predict=lambda s: predicted[:10]).describe(sample)


def test_a_first_pass_run_gives_the_same_test_text_with_empty_masks_and_runs_end_to_end(cache, one_torch_thread):
    config = _config(test_descriptions="first_pass")
    prep = prepare_run(config, results_dir=cache / "results")
    # Its own identity (the default keeps the earlier runs' hashes), and the kind says what each evaluation reads.
    assert prep.identity["conditioning"]["test_descriptions"] == "first_pass"
    assert "test_descriptions" not in prepare_run(_config()).identity["conditioning"]
    assert prep.hash != prepare_run(_config()).hash
    assert prepare_run(_config(test_descriptions="training_source")).hash == prepare_run(_config()).hash
    kind = prep.kind
    assert kind.test_text_source(config.condition_settings, "test_with_text") == "first_pass"
    assert kind.test_text_source(_config().condition_settings, "test_with_text") == "semantic"
    assert kind.test_text_source(config.condition_settings, "test_without_text") is None

    run = run_experiment(config, results_dir=cache / "results", progress=False)
    record = json.loads((run.run_dir / "metrics.json").read_text())
    assert record["evaluations"] == ["test_without_text", "test_with_text"]
    assert record["test_with_text"]["n_images"] == len(prep.test_set)
    # The texts the first pass wrote are kept in the record, one per test image, and only there.
    recorded_texts = run.details("test_with_text")["texts"]
    assert list(recorded_texts) == list(prep.test_set.names) and all(recorded_texts.values())
    assert "texts" not in run.details("test_without_text")

    # The trained model's first pass, once on the real test split and once on one whose masks are all empty.
    from irstd_lib.engine import load_model_weights

    condition = prep.prepare_condition()
    model = prep.build_model(condition.model_kwargs)
    load_model_weights(run.checkpoint_dir / "last.pt", model)
    train_cfg = config.train_config("cpu", False)
    unbound = condition.evaluations["test_with_text"]
    with pytest.raises(RuntimeError, match="bind"):
        unbound({"name": [prep.test_set.names[0]]}, "test")
    texts = {}
    for label, test_set in (("masks", prep.test_set), ("empty", _EmptyMasks(prep.test_set))):
        unbound.test_set = test_set
        conditioners = {"test_with_text": unbound}
        metrics, _, _ = evaluate_run(model, test_set, train_cfg, conditioners, "test_with_text")
        texts[label] = conditioners["test_with_text"].descriptions
        if label == "masks":  # the recorded second pass, measured again
            assert metrics["test_with_text"]["IoU"] == pytest.approx(record["test_with_text"]["IoU"])
    assert texts["masks"] == texts["empty"] and list(texts["masks"]) == list(prep.test_set.names)
    assert texts["masks"] == recorded_texts
    # The text is the prediction's, not the mask's: the semantic writer on the masks writes other texts.
    from irstd_lib.text.descriptions import SemanticSource

    from_masks = {s.name: SemanticSource().describe(s).text for s in (prep.test_set[i] for i in range(len(prep.test_set)))}
    assert from_masks != texts["masks"]


def test_the_output_block_scales_the_deep_maps_by_default_and_all_six_on_request():
    import torch

    from irstd_lib.models import build_model
    from irstd_lib.models.lgnet.output_block import OutputBlock

    torch.manual_seed(0)
    maps = [torch.randn(2, 3, 8, 8) for _ in range(6)]
    deep, every = OutputBlock([3] * 6), OutputBlock([3] * 6, scaled_outputs="all")
    with torch.no_grad():  # a scaling map far from 0.5, and a fusion that tells the inputs apart
        deep.scale_conv.weight.normal_()
        deep.fuse_conv.weight.copy_(torch.arange(1.0, 7.0).view(1, 6, 1, 1))
    every.load_state_dict(deep.state_dict())  # the same convolutions: only what is scaled differs
    fused_deep, sides = deep(maps, (8, 8))
    fused_all, sides_all = every(maps, (8, 8))
    w = torch.sigmoid(deep.scale_conv(torch.cat(sides[:3], 1)))
    weights = torch.arange(1.0, 7.0).view(1, 6, 1, 1)
    expected_deep = (torch.cat(sides[:3] + [s * w for s in sides[3:]], 1) * weights).sum(1, keepdim=True) + deep.fuse_conv.bias
    expected_all = (torch.cat([s * w for s in sides], 1) * weights).sum(1, keepdim=True) + every.fuse_conv.bias
    torch.testing.assert_close(fused_deep, expected_deep)
    torch.testing.assert_close(fused_all, expected_all)
    assert not torch.allclose(fused_deep, fused_all)
    assert all(torch.equal(a, b) for a, b in zip(sides, sides_all))  # deep supervision: the unscaled sides
    with pytest.raises(ValueError, match="single_map"):
        OutputBlock([3] * 6, scaling_weights="per_deep_output", scaled_outputs="all")
    # The default is today's model, weight for weight (no new parameter, same initialisation).
    torch.manual_seed(1)
    before = build_model("lgnet", width=4).state_dict()
    torch.manual_seed(1)
    after = build_model("lgnet", width=4, scaled_outputs="deep").state_dict()
    assert before.keys() == after.keys() and all(torch.equal(before[k], after[k]) for k in before)


def test_the_warm_up_is_quoted_as_the_paper_words_it():
    from pathlib import Path

    import irstd_lib.engine.optim as optim

    paper = Path(__file__).resolve().parents[2] / "shared" / "reference" / "papers" / "lgnet_langir.txt"
    if paper.is_file():
        text = paper.read_text(encoding="utf-8")
        assert "incorporating 10 warm-up epochs and a learning rate of 1e-3" in text and "linear warm" not in text.lower()
    doc = " ".join(optim.__doc__.split())
    assert "incorporating 10 warm-up epochs and a learning rate of 1e-3" in doc and 'says "linear warm-up"' not in doc


def test_lgnet_tables_run_on_irstd1k_when_its_folder_is_given():
    from irstd_lib.reproductions.lgnet import lgnet_config, lgnet_table_root

    assert lgnet_table_root(None) is None and lgnet_table_root("/d/NUAA-SIRST") == "/d/NUAA-SIRST"
    assert lgnet_table_root(["/d/NUAA-SIRST", "/d/IRSTD-1k", "/d/NUDT-SIRST"]) == "/d/IRSTD-1k"
    assert lgnet_table_root(["/d/NUDT-SIRST", "/d/NUAA-SIRST"]) == "/d/NUAA-SIRST"
    assert lgnet_table_root(["/d/other"]) == "/d/other"
    with pytest.raises(ValueError, match="empty"):
        lgnet_table_root([])
    # The paper profile's text at test is the first pass; the smoke profile's stays the training source.
    assert lgnet_config("paper", data_root="/d/IRSTD-1k").conditioning["test_descriptions"] == "first_pass"
    assert lgnet_config("paper", data_root="/d/IRSTD-1k").data.dataset == "IRSTD-1k"
    assert "test_descriptions" not in lgnet_config("smoke").conditioning
    assert "test_descriptions" not in lgnet_config("paper", "full", "never", data_root="/d/IRSTD-1k").conditioning
    mask_text = lgnet_config("paper", data_root="/d/IRSTD-1k", test_descriptions="training_source").conditioning
    assert "test_descriptions" not in mask_text


def test_the_first_pass_text_is_not_labelled_as_reading_the_test_masks_and_the_mask_text_is():
    ground_truth = pytest.importorskip("irstd_lib.runs.ground_truth")  # the run-level label (another module's)

    first_pass = ground_truth.label_test_ground_truth(_config(test_descriptions="first_pass"))
    from_masks = ground_truth.label_test_ground_truth(_config())
    assert first_pass["reads_test_ground_truth"] is False and first_pass["test_ground_truth_inputs"]["test_with_text"] == []
    assert from_masks["reads_test_ground_truth"] is True and from_masks["test_ground_truth_inputs"]["test_with_text"]
    assert from_masks["test_ground_truth_inputs"]["test_without_text"] == []
