"""SAIST's switches for the paper's readings of section 3 (``irstd_lib/models/saist/FIDELITY.md``):
each changes the output with shared weights, the paper's readings together still learn, the
target removal CLIP sees is the scene descriptions' one, a model that reads test ground truth says
so, and the paper profile selects the paper's readings. Tiny configurations throughout."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from irstd_lib.models import build_model, get_variant

PAPER_READINGS = {"clip_image_train": "targets_removed", "visual_source": "image_encoder", "projection_width_factor": 2,
                  "text_encoder": "finetune", "relation_temperature": "equation", "imaging_tokens": "sam",
                  "depth_input": "degraded", "depth_readout": "bins"}


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def tiny(name: str = "saist", **kwargs):
    torch.manual_seed(0)
    return build_model(name, **{**get_variant(name).tiny, **kwargs})


def share_weights(model, reference):
    """``model`` with every weight it shares (same name and shape) with ``reference``."""
    own = model.state_dict()
    model.load_state_dict({k: v for k, v in reference.state_dict().items() if k in own and own[k].shape == v.shape},
                          strict=False)
    return model


@pytest.fixture(scope="module")
def data():
    """Two images with a bright 3x3 target each, their masks, and a condition carrying them."""
    g = torch.Generator().manual_seed(3)
    image = torch.rand(2, 1, 64, 64, generator=g) * 0.5
    mask = torch.zeros(2, 1, 64, 64)
    mask[0, :, 20:23, 30:33] = 1
    mask[1, :, 40:43, 10:13] = 1
    image = torch.where(mask > 0, torch.ones_like(image), image)
    return image, mask


@pytest.fixture(scope="module")
def reference(data):
    model = tiny().eval()
    image, mask = data
    condition = {**model.example_condition(2, torch.Generator().manual_seed(5)), "target_mask": mask}
    with torch.no_grad():
        logits = model(model.input_spec.prepare(image), condition)["logits"]
    return model, condition, logits


@pytest.mark.parametrize("switch", [
    {"visual_source": "image_encoder"}, {"projection_width_factor": 2}, {"imaging_tokens": "sam"},
    {"depth_input": "degraded"}, {"depth_readout": "bins"}, {"relation_temperature": "equation"}, {"clip_image_test": "targets_removed_by_ground_truth"},
], ids=lambda s: "=".join(map(str, next(iter(s.items())))))
def test_every_switch_changes_the_output_with_shared_weights(switch, data, reference):
    base, condition, base_logits = reference
    model = share_weights(tiny(**switch).eval(), base)
    with torch.no_grad():
        logits = model(model.input_spec.prepare(data[0]), condition)["logits"]
    assert logits.shape == base_logits.shape and torch.isfinite(logits).all()
    assert not torch.allclose(logits, base_logits, atol=1e-6), f"{switch} left the output unchanged"


def test_defaults_are_the_earlier_readings(reference):
    model = reference[0]
    assert model.clip_image_train == "whole" and model.clip_image_test == "whole" and not model.reads_test_ground_truth
    assert model.guidance.visual_source == "text_encoder" and model.guidance.projection_to_decoder is None
    assert model.sam.head.tokens is not None and model.sam.head.depth_input == "image"
    assert model.sam.head.depth.readout_kind == "regression"
    assert not any(p.requires_grad for p in model.clip.parameters())


def test_clip_sees_the_targets_removed_in_training_and_the_whole_image_at_test(data, reference):
    from irstd_lib.models.saist.model import remove_targets
    from irstd_lib.text.descriptions.statistics import mask_out_targets

    base, condition, base_logits = reference
    image, mask = data
    removed = remove_targets(image, mask)
    for i in range(2):  # the scene descriptions' removal, exactly
        assert np.array_equal(removed[i, 0].numpy(), mask_out_targets(image[i, 0].numpy(), mask[i, 0].numpy() > 0.5))
    assert float(removed[mask > 0].max()) < 0.6 < float(image[mask > 0].min())  # the bright target is gone

    model = share_weights(tiny(clip_image_train="targets_removed"), base)
    x = model.input_spec.prepare(image)
    seen = []
    original = model.guidance.forward
    model.guidance.forward = lambda clip, image01, cond: (seen.append(image01), original(clip, image01, cond))[1]
    with torch.no_grad():  # test first: a training pass moves the depth ResNet's batch-norm statistics
        test_logits = model.eval()(x, condition)["logits"]
        model.train()(x, condition)
    assert torch.allclose(seen[0], image, atol=1e-6)  # test: the whole image, no ground truth read
    assert torch.allclose(seen[1], removed, atol=1e-6)  # training: the targets removed
    assert torch.equal(test_logits, base_logits) and not model.reads_test_ground_truth
    model.train()
    with pytest.raises(ValueError, match="target_mask"):
        model(x, {k: v for k, v in condition.items() if k != "target_mask"})


def test_a_model_that_reads_test_ground_truth_says_so(data, reference):
    model = tiny(clip_image_test="targets_removed_by_ground_truth").eval()
    assert model.reads_test_ground_truth is True
    condition = {k: v for k, v in reference[1].items() if k != "target_mask"}
    with pytest.raises(ValueError, match="test .*targets_removed_by_ground_truth.*target_mask"):
        model(model.input_spec.prepare(data[0]), condition)
    assert tiny("sam", clip_image_test="targets_removed_by_ground_truth").reads_test_ground_truth is False  # no CLIP


def test_the_scene_prompt_conditioner_passes_the_training_mask_only():
    from irstd_lib.conditioning.scene_prompt import ScenePromptConditioner

    conditioner = ScenePromptConditioner({"a": ("sky", ["cloud", "tree", "road"])})
    mask = torch.ones(1, 1, 8, 8)
    assert conditioner({"name": ["a"], "mask": mask}, "train")["target_mask"] is mask
    assert "target_mask" not in conditioner({"name": ["a"]}, "test")


def test_the_widened_projection_widens(reference):
    model = tiny(projection_width_factor=2, visual_source="image_encoder")
    e, d = model.clip.embed_dim, model.sam.config.prompt_dim
    assert model.guidance.widened_projection.out_features == 2 * e  # twice CLIP's text_projection
    assert model.guidance.projection_to_decoder.out_features == d
    assert model.guidance.visual_input.in_features == e
    assert reference[0].guidance.widened_projection.out_features == 2 * d  # the earlier reading: 2 d, split


def test_a_fine_tuned_text_encoder_trains_at_its_own_lr(data, reference):
    image, mask = data
    condition = reference[1]
    frozen, tuned = tiny(), share_weights(tiny(text_encoder="finetune"), reference[0])
    groups = {g.name: g for g in tuned.parameter_groups()}
    assert groups["clip_text"].lr_scale == 0.01 and "clip_text" not in {g.name for g in frozen.parameter_groups()}
    text_names = {n for n, p in tuned.named_parameters() if p.requires_grad and n.startswith("clip.")}
    assert text_names and not any(n.startswith("clip.model.visual.") or "logit_" in n for n in text_names)
    before = {n: p.detach().clone() for n, p in tuned.named_parameters() if n.startswith("clip.")}
    outputs = []
    for model in (frozen, tuned):
        optimizer = torch.optim.Adam([{"params": g.params, "lr": 1e-2 * g.lr_scale} for g in model.parameter_groups()])
        out = model(model.input_spec.prepare(image), condition)
        torch.nn.functional.binary_cross_entropy_with_logits(out["logits"], mask).backward()
        optimizer.step()
        with torch.no_grad():
            outputs.append(model.eval()(model.input_spec.prepare(image), condition)["logits"])
    changed = {n for n, p in tuned.named_parameters() if n in before and not torch.equal(p, before[n])}
    assert changed and changed <= text_names  # the text tower moved; CLIP's image encoder did not
    assert not torch.allclose(outputs[0], outputs[1], atol=1e-6)
    assert set(tuned.checkpoint_state_dict()) >= text_names


def test_depth_bins_give_the_expected_depth_within_their_range():
    from irstd_lib.models.saist.depth_head import DepthHead

    torch.manual_seed(0)
    head = DepthHead(4, readout="bins", bins=8, depth_range=(0.5, 8.0))
    centres = head.bin_centres
    assert torch.allclose(centres[[0, -1]], torch.tensor([0.5, 8.0])) and torch.allclose(centres[1:] / centres[:-1], centres[1] / centres[0])
    with torch.no_grad():
        d = head(torch.randn(2, 1, 64, 64) * 5)  # I is unbounded: it is a decoder output
    assert d.shape == (2, 1, 64, 64) and float(d.min()) >= 0.5 - 1e-5 and float(d.max()) <= 8.0 + 1e-5
    with pytest.raises(ValueError, match="depth readout"):
        DepthHead(4, readout="classes")


def test_the_paper_readings_learn_and_read_I_and_A_as_written(data):
    image, mask = data
    model = tiny(**PAPER_READINGS).train()
    assert model.sam.head.tokens is None and model.sam.head.image_mlp is None  # no new tokens: SAM's own
    trainable = {n for n, p in model.named_parameters() if p.requires_grad}
    assert any(n.startswith("sam.mask_decoder.output_hypernetworks_mlps.0.") for n in trainable)
    assert not any(n.startswith("sam.mask_decoder.output_hypernetworks_mlps.1.") for n in trainable)
    condition = {**model.example_condition(2, torch.Generator().manual_seed(5)), "target_mask": mask}
    optimizer = torch.optim.Adam([{"params": g.params, "lr": 3e-3 * g.lr_scale} for g in model.parameter_groups()])
    x = model.input_spec.prepare(image)
    losses = []
    for _ in range(6):
        out = model(x, condition)
        loss = torch.nn.functional.binary_cross_entropy_with_logits(out["logits"], mask) + sum(out["aux_losses"].values())
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(float(loss.detach()))
    assert losses[-1] < 0.8 * losses[0], losses
    maps = out["imaging"]
    assert float(maps["beta"].detach()) > 0 and (maps["d"] >= 0.1 - 1e-5).all() and (maps["d"] <= 10.0 + 1e-5).all()


def test_the_paper_profile_selects_the_paper_readings():
    from irstd_lib.profiles import get_profile

    paper = get_profile("paper").protocol("saist").model_kwargs
    assert {k: paper[k] for k in PAPER_READINGS} == PAPER_READINGS and paper["clip_image_test"] == "whole"
    smoke = get_profile("smoke").protocol("saist").model_kwargs
    assert not set(PAPER_READINGS) & set(smoke)  # the smoke runs keep the earlier readings


def test_sizes_count_without_weights():
    from irstd_lib.models.saist.size import parameter_table

    rows = parameter_table(variants=("saist",), sams=("tiny",), clip="tiny", depth_width=8, coop_context=4)
    totals = {r["text_encoder"]: r for r in rows if r["module"] == "total"}
    text = {r["text_encoder"]: r for r in rows if r["module"] == "CLIP text encoder"}
    assert text["frozen"]["trainable"] == 0 < text["finetune"]["trainable"] < text["finetune"]["total"]
    assert totals["finetune"]["trainable"] - totals["frozen"]["trainable"] == text["finetune"]["trainable"]
    assert totals["frozen"]["total"] == totals["finetune"]["total"]
