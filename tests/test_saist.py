"""SAIST: SR-CLIP, CG-SAM, the imaging decoder, official SAM checkpoints, what trains and what a
checkpoint holds. Tiny configurations of the same classes, except where an official-format vit_b
state dict is the point."""

from __future__ import annotations

import math

import pytest
import torch

from irstd_lib.models import build_model, get_variant, list_variants
from irstd_lib.models.weights import CheckpointError

SAIST_VARIANTS = ("saist", "saist_wo_srclip", "saist_wo_cgsam", "clip_sam", "coop_cgsam", "hqsam_srclip", "sam", "sam_hq")


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def tiny(name: str, **kwargs):
    torch.manual_seed(0)
    return build_model(name, **{**get_variant(name).tiny, **kwargs})


def batch(model, size: int = 64, n: int = 2):
    g = torch.Generator().manual_seed(3)
    image = torch.rand(n, 1, size, size, generator=g)
    return model.input_spec.prepare(image), model.example_condition(n, g)


def test_every_ablation_row_is_registered():
    assert set(SAIST_VARIANTS) <= set(list_variants())
    for name in SAIST_VARIANTS:
        variant = get_variant(name)
        assert variant.recipe == "saist_paper" and "Zhang" in variant.paper
    assert get_variant("sam").conditioning_for(get_variant("sam").resolved_kwargs()) == "none"
    assert get_variant("saist").conditioning_for(get_variant("saist").resolved_kwargs()) == "scene_prompt"
    assert get_variant("saist").published["params"] == 389.57e6


@pytest.mark.parametrize("name", SAIST_VARIANTS)
def test_a_step_changes_only_what_trains(name):
    model = tiny(name)
    image, condition = batch(model)
    trainable = {n for n, p in model.named_parameters() if p.requires_grad}
    frozen_before = {n: p.detach().clone() for n, p in model.named_parameters() if not p.requires_grad}
    trained_before = {n: p.detach().clone() for n, p in model.named_parameters() if p.requires_grad}
    optimizer = torch.optim.Adam([p for g in model.parameter_groups() for p in g.params], lr=1e-2)
    out = model(image, condition)
    loss = torch.nn.functional.binary_cross_entropy_with_logits(out["logits"], torch.zeros_like(out["logits"]))
    loss = loss + sum(out["aux_losses"].values(), torch.zeros(()))
    loss.backward()
    optimizer.step()
    for n, p in model.named_parameters():
        if n in frozen_before:
            assert torch.equal(p, frozen_before[n]), f"frozen {n} changed"
    changed = {n for n, p in model.named_parameters() if n in trained_before and not torch.equal(p, trained_before[n])}
    # What trains: LoRA, the decoder (and its head), SR-CLIP / prompt maps, the imaging head.
    assert any("lora_" in n for n in changed)
    assert any(n.startswith("sam.mask_decoder.") for n in changed)
    assert all(not n.startswith("clip.") for n in trainable)  # CLIP is frozen, all of it
    assert all("lora_" in n for n in trainable if n.startswith("sam.image_encoder."))
    if get_variant(name).kwargs["guidance"] is not None:
        assert any(n.startswith("guidance.") for n in changed)
    if get_variant(name).kwargs["decoder"] == "cg":
        assert any(n.startswith("sam.head.depth.") for n in changed) and "sam.head.beta_raw" in changed
    # SAM's IoU head is never used, so never trained.
    assert not any(n.startswith("sam.mask_decoder.iou_prediction_head.") for n in trainable)


def test_saist_outputs_the_imaging_maps():
    model = tiny("saist")
    image, condition = batch(model, size=64)
    out = model(image, condition)
    assert out["logits"].shape == (2, 1, 64, 64)
    maps = out["imaging"]
    assert {"I", "A", "d", "beta"} <= set(maps) and maps["d"].shape == (2, 1, 64, 64) and (maps["d"] > 0).all()
    assert maps["beta"] > 0 and "mmd" in out["aux_losses"] and out["aux_losses"]["mmd"] >= 0


def test_imaging_head_inverts_the_equation():
    from irstd_lib.models.saist.imaging_decoder import ImagingDecoder

    head = ImagingDecoder(vit_dim=8, dim=16, depth_width=4)
    g = torch.Generator().manual_seed(0)
    degraded, background = torch.randn(1, 1, 4, 4, generator=g), torch.randn(1, 1, 4, 4, generator=g)
    depth = torch.rand(1, 1, 4, 4, generator=g) * 3
    # beta = 0: a clear atmosphere, J = I.
    assert torch.allclose(head.radiance(degraded, background, depth, torch.tensor(0.0)), degraded)
    # Hand-computed: J = I e^(beta d) - A (e^(beta d) - 1), with beta d inside the clamp.
    i, a, d, b = 0.8, 0.3, 2.0, 0.5
    expected = i * math.exp(b * d) - a * (math.exp(b * d) - 1)
    got = head.radiance(torch.tensor([[[[i]]]]), torch.tensor([[[[a]]]]), torch.tensor([[[[d]]]]), torch.tensor(b))
    assert float(got) == pytest.approx(expected, rel=1e-6)
    # Far points: the transmission is clamped at e^-4, so the amplification stays bounded.
    far = head.radiance(torch.tensor([[[[0.5]]]]), torch.tensor([[[[0.0]]]]), torch.tensor([[[[100.0]]]]), torch.tensor(1.0))
    assert float(far) == pytest.approx(0.5 * math.exp(4.0), rel=1e-5)
    # ... and the logits at +-30.
    assert float(head.radiance(torch.tensor([[[[1e3]]]]), torch.tensor([[[[0.0]]]]), depth[:, :, :1, :1], torch.tensor(0.0))) == 30.0


def test_mmd_is_zero_for_identical_sets_and_grows_with_the_distance():
    from irstd_lib.models.saist.mmd import gaussian_mmd

    g = torch.Generator().manual_seed(0)
    x = torch.randn(4, 32, 8, generator=g)
    assert float(gaussian_mmd(x, x.clone())) == pytest.approx(0.0, abs=1e-7)
    x = torch.randn(4, 128, 8, generator=g)  # enough points that two samples of one Gaussian are close
    values = []
    for shift in (0.0, 0.5, 1.0, 2.0, 4.0):
        y = torch.randn(4, 128, 8, generator=g) + shift
        values.append(float(gaussian_mmd(x, y, sigma=2.0)))
    assert values == sorted(values) and values[-1] > 10 * values[0]
    # The median-heuristic bandwidth keeps it finite and non-negative.
    assert 0.0 <= float(gaussian_mmd(x, torch.randn(4, 32, 8, generator=g) + 3.0))


def test_coop_context_vectors_are_its_only_trainable_prompt_parameters():
    model = tiny("coop_cgsam")
    learner = model.guidance.context
    assert [n for n, p in learner.named_parameters()] == ["vectors"]
    assert learner.vectors.shape == (4, model.clip.text_width)
    assert 0.01 < float(learner.vectors.detach().std()) < 0.04  # N(0, 0.02)
    image, condition = batch(model)
    features = model.guidance.encode_prompts(model.clip, condition["prompt"])
    features.sum().backward()
    assert learner.vectors.grad is not None and learner.vectors.grad.abs().sum() > 0  # through the frozen text encoder
    assert all(not p.requires_grad for p in model.clip.parameters())


def test_sr_clip_relations_are_softmax_rows():
    model = tiny("saist")
    image, condition = batch(model)
    sets = model.guidance.description_sets(model.clip, model.to_unit_gray(image), condition)
    pooling = sets["object_pooling"]
    assert pooling.shape[:2] == (2, 3) and torch.allclose(pooling.sum(-1), torch.ones(2, 3), atol=1e-5)
    similarity = model.guidance.text_object_to_object.similarity(sets["T_objects"])
    assert similarity.shape == (2, 3, 3) and torch.allclose(similarity.sum(-1), torch.ones(2, 3), atol=1e-5)


def test_a_checkpoint_holds_only_what_trains_and_restores_the_model(tmp_path):
    from irstd_lib.engine.checkpoint import save_checkpoint

    model = tiny("saist").eval()
    with torch.no_grad():
        for p in model.parameters():
            if p.requires_grad:
                p.add_(0.01)
    path = save_checkpoint(tmp_path / "last.pt", model)
    saved = torch.load(path, weights_only=True)["model"]
    assert not any(k.startswith("clip.") or ("image_encoder" in k and "lora_" not in k and k.endswith("weight")) for k in saved)
    assert set(saved) == set(model.checkpoint_state_dict())
    assert sum(v.numel() for v in saved.values()) < 0.2 * sum(p.numel() for p in model.parameters())
    torch.manual_seed(0)  # the frozen (random) SAM comes back from the same seed, as a run rebuilds it
    restored = build_model("saist", checkpoint=str(path), **get_variant("saist").tiny).eval()
    image, condition = batch(model)
    with torch.no_grad():
        assert torch.equal(model(image, condition)["logits"], restored(image, condition)["logits"])


def test_sam_runs_at_other_input_sizes():
    model = tiny("sam").eval()
    with torch.no_grad():
        for size in (64, 128, 96):
            image, _ = batch(model, size=size, n=1)
            assert model(image)["logits"].shape == (1, 1, size, size)


@pytest.mark.slow
def test_an_official_vit_b_checkpoint_loads_strictly_and_runs(tmp_path):
    """A state dict saved from ``segment_anything.build_sam_vit_b()`` (random weights) is what the
    official ``sam_vit_b_01ec64.pth`` holds: it must load strictly and run at 512 px (its position
    embedding resized from SAM's 1024 grid). SAM's own 1024 px, where nothing is resized, is run by
    the GPU check (``python -m irstd_lib.benchmarks.gpu_check``; ``--device cpu --size 1024`` on a
    CPU): the forwards at 1024 and 512 px were 52 % of this test's time (py-spy, 2026-12-02), the
    1024 px one most of it (four times the tokens, sixteen times the global attention)."""
    from segment_anything import build_sam_vit_b

    from irstd_lib.models.saist.cg_sam import CGSAM

    torch.manual_seed(0)
    official = build_sam_vit_b()
    path = tmp_path / "sam_vit_b_random.pth"
    torch.save(official.state_dict(), path)
    model = CGSAM("vit_b", checkpoint=path, decoder="sam").eval()
    # The weights arrived: an encoder weight LoRA does not touch, and the decoder's.
    assert torch.equal(model.image_encoder.patch_embed.proj.weight, official.image_encoder.patch_embed.proj.weight)
    assert torch.equal(model.mask_decoder.mask_tokens.weight, official.mask_decoder.mask_tokens.weight)
    del official
    with torch.no_grad():
        image = torch.rand(1, 3, 512, 512)
        out = model(image, image[:, :1], None)
        assert out["logits"].shape == (1, 1, 512, 512) and torch.isfinite(out["logits"]).all()

    # A truncated file, another architecture, a file that is no SAM checkpoint: named errors.
    truncated = tmp_path / "truncated.pth"
    truncated.write_bytes(path.read_bytes()[: 1 << 20])
    with pytest.raises(CheckpointError, match="truncated.pth"):
        CGSAM("vit_b", checkpoint=truncated)
    with pytest.raises(CheckpointError, match=r"sam_vit_b_random.pth.*shape mismatch.*image_encoder|sam_vit_b_random.pth.*shape mismatch"):
        CGSAM("tiny", checkpoint=path)
    foreign = tmp_path / "lgnet.pt"
    torch.save(build_model("lgnet", width=4).state_dict(), foreign)
    with pytest.raises(CheckpointError, match="lgnet.pt: not a SAM checkpoint"):
        CGSAM("tiny", checkpoint=foreign)


def test_scene_prompt_conditioning_prepares_every_image(tiny_synthetic_root, tmp_path, monkeypatch):
    monkeypatch.setenv("IRSTD_CACHE", str(tmp_path / "cache"))
    from irstd_lib.conditioning import ConditioningContext, get_kind
    from irstd_lib.data import IRSTDDataset

    kind = get_kind("scene_prompt")
    settings = kind.settings({})
    datasets = {"train": IRSTDDataset(tiny_synthetic_root, "trainval"), "test": IRSTDDataset(tiny_synthetic_root, "test")}
    prepared = kind.prepare(settings, ConditioningContext(tiny_synthetic_root, datasets))
    names = list(datasets["test"].names[:2])
    condition = prepared.evaluations["test"]({"name": names}, "test")
    assert len(condition["prompt"]) == 2 and all(p.startswith("a photo of ") for p in condition["prompt"])
    assert all(len(o) == 3 for o in condition["objects"])
    with pytest.raises(ValueError, match="unknown conditioning settings"):
        kind.settings({"language": "train"})


def test_a_trained_checkpoint_is_scored_through_the_command_line(tiny_synthetic_root, tmp_path, monkeypatch, capsys):
    import json

    from irstd_lib.__main__ import main
    from irstd_lib.engine.checkpoint import save_checkpoint

    monkeypatch.setenv("IRSTD_CACHE", str(tmp_path / "cache"))
    path = save_checkpoint(tmp_path / "saist_tiny.pt", tiny("saist"))
    args = ["evaluate", "--method", "saist", "--checkpoint", str(path), "--sam", "tiny", "--clip", "tiny", "--kw", "depth_width=8",
            "--kw", "coop_context=4", "--eval-size", "64", "--eval-policy", "resize", "--data", str(tiny_synthetic_root), "--json"]
    assert main(args) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["n_images"] > 0 and 0.0 <= result["IoU"] <= 100.0
    assert main(args[:5] + ["--sam", "vit_b"] + args[7:]) == 2  # a checkpoint of another architecture
    assert "saist_tiny.pt" in capsys.readouterr().err
