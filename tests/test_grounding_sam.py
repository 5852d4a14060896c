"""GroundingDINO + SAM (LGNet section 5.6.3): the prompt, the boxes as SAM's prompts, the two ways of
combining the masks, what trains, weights from a local folder, and a training step and an
evaluation through the shared engine at tiny size."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from irstd_lib.models import build_model, get_variant
from irstd_lib.models.base import check_model_output, grouped_parameters
from irstd_lib.models.grounding_sam.detector import TINY_VOCABULARY, GroundingDetector
from irstd_lib.models.grounding_sam.model import box_map_logits

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def tiny(**overrides):
    torch.manual_seed(0)
    return build_model("grounding_sam", **{**get_variant("grounding_sam").tiny, **overrides})


def test_the_prompt_is_small_target_and_scores_read_its_words_only():
    detector = GroundingDetector("tiny")
    ids = detector.input_ids.tolist()
    assert ids == [TINY_VOCABULARY[w] for w in ("[CLS]", "small", "target", ".", "[SEP]")]
    assert detector.word_tokens.tolist() == [False, True, True, False, False]
    with pytest.raises(ValueError, match="vocabulary"):
        GroundingDetector("tiny", prompt="aircraft")


def test_the_boxes_drawn_as_a_map_cover_their_pixels():
    boxes = torch.tensor([[[4.5 / 16, 4.5 / 16, 3 / 16, 3 / 16], [0.8, 0.8, 0.1, 0.1]]])  # (cx, cy, w, h): pixels 3-5 first
    p = torch.sigmoid(box_map_logits(torch.tensor([[0.95, 0.0]]), boxes, 16, 16))[0, 0]
    assert p[4, 4] > 0.7 and p[3:6, 3:6].min() > 0.4 and p[12, 12] < 1e-3 and p[0, 15] < 1e-3  # the second box has score 0
    assert p[9, 9] < 1e-3


def test_detector_boxes_are_sams_box_prompts():
    """SAM's masks follow the boxes it is given: prompting with another box changes them."""
    model = tiny().eval()
    image = model.input_spec.prepare(torch.rand(1, 1, 64, 64))
    with torch.no_grad():
        a = model.box_masks(image, torch.tensor([[[0.2, 0.2, 0.1, 0.1]]]))
        b = model.box_masks(image, torch.tensor([[[0.8, 0.7, 0.1, 0.1]]]))
    assert a.shape == (1, 1, 64, 64) and not torch.allclose(a, b)


def test_threshold_combination_keeps_the_boxes_above_the_threshold_only():
    model = tiny(combine="threshold").eval()
    image = model.input_spec.prepare(torch.rand(2, 1, 48, 40))
    with torch.no_grad():
        scores = model.detect(image).scores.topk(model.top_k, dim=1).values
        model.box_threshold = float(scores.max())  # strictly above: no box of either image is kept
        empty = check_model_output(model(image), 2, 48, 40)["logits"]
        model.box_threshold = float(scores.min()) * 0.999  # every top box kept: the union of their masks
        union = model(image)["logits"]
    assert (torch.sigmoid(empty) < 1e-6).all()
    assert (torch.sigmoid(union) > 1e-6).any()


def test_what_trains_sam_image_encoder_frozen_by_default():
    model = tiny()
    names = {g.name for g in grouped_parameters(model)}
    assert names == {"detector", "sam_prompt_and_decoder"}
    assert not any(p.requires_grad for p in model.sam_image_encoder.parameters())
    assert "sam_image_encoder" in {g.name for g in grouped_parameters(tiny(train_sam_encoder=True))}


def test_detector_weights_load_from_a_local_folder(tmp_path):
    from transformers import BertTokenizer

    source = GroundingDetector("tiny")
    source.model.save_pretrained(tmp_path)
    BertTokenizer(vocab=dict(TINY_VOCABULARY)).save_pretrained(tmp_path)
    loaded = GroundingDetector(checkpoint=tmp_path / "model.safetensors")  # the weights file, as configs name it
    assert loaded.input_ids.tolist() == source.input_ids.tolist()
    image = torch.rand(1, 3, 128, 128)  # GroundingDINO's last level must be wider than 1x1
    loaded.eval(), source.eval()
    with torch.no_grad():
        assert torch.allclose(loaded(image).scores, source(image).scores, atol=1e-6)
    with pytest.raises(FileNotFoundError, match="not a GroundingDINO folder"):
        GroundingDetector(checkpoint=tmp_path / "absent")
    with pytest.raises(ValueError, match="needs its pretrained weights"):
        GroundingDetector("swin_t")  # a full-size detector is never random


def _crops(n: int = 4, size: int = 32) -> list[dict]:
    """Training items as the engine reads them: a bright 3x3 target on a smooth background each."""
    g = torch.Generator().manual_seed(0)
    items = []
    for i in range(n):
        mask = torch.zeros(1, size, size)
        mask[:, 6 + 5 * i: 9 + 5 * i, 10:13] = 1
        image = 0.3 + 0.1 * torch.rand(1, size, size, generator=g) + 0.5 * mask
        items.append({"image": image, "mask": mask, "name": f"img{i}", "index": i, "description": ""})
    return items


def test_a_training_step_and_an_evaluation_through_the_shared_engine(tmp_path, tiny_synthetic_root):
    from irstd_lib.data import IRSTDDataset
    from irstd_lib.engine import TrainConfig, Trainer, evaluate

    model = tiny()
    config = TrainConfig.from_recipe(get_variant("grounding_sam").recipe, epochs=1, batch_size=4, lr=1e-3, progress=False,
                                     train_size=32)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    history = Trainer(model, config, _crops(), None, tmp_path).fit()["history"]
    assert len(history) == 1 and np.isfinite(history[0]["train_loss"])
    changed = {k.split(".")[0] for k, v in model.state_dict().items() if not torch.equal(v, before[k])}
    assert {"detector", "sam_mask_decoder"} <= changed and "sam_image_encoder" not in changed
    test = IRSTDDataset(tiny_synthetic_root, "test")
    result = evaluate(model, test, size=32, policy="resize", per_image=True)
    assert result["metrics"]["n_images"] == len(test) and 0.0 <= result["metrics"]["IoU"] <= 100.0
    assert len(result["per_image"]) == len(test)
