"""DGSPNet: shapes, the text priors (coarse cached, fine through the frozen text encoder), the
ablation switches, a few steps."""

from __future__ import annotations

import pytest
import torch

from conftest import adam_losses_on_tiny_targets
from irstd_lib.models import build_model, get_variant
from irstd_lib.models.base import NO_CONDITION, check_model_output

ABLATIONS = {
    "dgspnet_coarse_only": "fine",
    "dgspnet_fine_only": "coarse",
    "dgspnet_wo_tgca": "tgca",
    "dgspnet_wo_tgsa": "tgsa",
}


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def tiny(name: str = "dgspnet", **overrides):
    torch.manual_seed(0)
    return build_model(name, **{**get_variant(name).tiny, **overrides})


@pytest.mark.parametrize("size", [(256, 256), (512, 512), (96, 160)])
def test_output_shapes(size):
    model = tiny().eval()
    with torch.no_grad():
        out = check_model_output(model(torch.rand(1, 1, *size)), 1, *size, where="dgspnet")
    assert torch.isfinite(out["logits"]).all()
    assert model.conditioning == NO_CONDITION  # the text comes from the image: nothing to give at inference


def test_the_published_width_builds_and_runs():
    model = build_model("dgspnet", clip="tiny").eval()
    assert model.widths == (16, 32, 64, 128)
    with torch.no_grad():
        check_model_output(model(torch.rand(1, 1, 64, 64)), 1, 64, 64)


def test_coarse_prompts_are_encoded_once_by_the_frozen_text_encoder():
    model = tiny()
    expected = model.clip.encode_texts(["infrared image", "small target"]).float()
    assert torch.allclose(model.coarse.embeddings, expected)
    assert "coarse.embeddings" not in model.state_dict()  # rebuilt from CLIP, never stored
    assert not any(k.startswith("clip.") for k in model.checkpoint_state_dict())


def test_the_fine_prompt_is_the_text_encoder_reading_the_pseudo_words():
    """With the pseudo-words set to the placeholder word's own embedding, the mapping's output is
    CLIP's embedding of the template sentence: the words sit in the right slots and cutting the
    sequence after the end token changes nothing."""
    model = tiny()
    clip, fine = model.clip, model.fine
    placeholder = clip.token_embeddings(clip.tokenize(["X"]))[0, 1]
    fine.pseudo_words = lambda features: placeholder.expand(features.shape[0], fine.n_words, -1)
    got = fine(clip, torch.rand(2, 32, 4, 4))
    expected = clip.encode_texts(["an infrared image of " + " ".join(["X"] * fine.n_words)] * 2).float()
    assert torch.allclose(got, expected, atol=1e-5)


def test_the_mapping_network_learns_through_the_frozen_text_encoder():
    model = tiny().train()
    out = model(torch.rand(2, 1, 32, 32))["logits"]
    out.pow(2).mean().backward()
    assert all(p.grad is None for p in model.clip.parameters())
    assert all(not p.requires_grad for p in model.clip.parameters())
    grads = [p.grad for p in model.fine.mlp.parameters()]
    assert all(g is not None and g.abs().sum() > 0 for g in grads)
    names = {g.name for g in model.parameter_groups()}
    assert names == {"cnn", "text_guidance"}


@pytest.mark.parametrize("variant", sorted(ABLATIONS))
def test_each_switch_removes_its_part(variant):
    full, ablated = tiny().eval(), tiny(variant).eval()
    assert getattr(ablated, ABLATIONS[variant]) is None and getattr(full, ABLATIONS[variant]) is not None
    assert ablated.trainable_parameters() < full.trainable_parameters()
    shared = {k: v for k, v in full.state_dict().items() if k in ablated.state_dict() and v.shape == ablated.state_dict()[k].shape}
    ablated.load_state_dict(shared, strict=False)
    image = torch.rand(1, 1, 32, 32)
    with torch.no_grad():
        assert not torch.allclose(full(image)["logits"], ablated(image)["logits"])


def test_attentions_without_any_prompt_are_refused():
    with pytest.raises(ValueError, match="at least one prompt granularity"):
        tiny(coarse_prompts=False, fine_prompts=False)


def test_a_few_adam_steps_lower_the_loss():
    losses = adam_losses_on_tiny_targets(tiny().train())
    assert losses[-1] < 0.9 * losses[0], losses


def test_inspection_map_is_tgsas_spatial_weight():
    model = tiny().eval()
    maps = model.inspection_maps(torch.rand(2, 1, 32, 48))
    assert maps["tgsa"].shape == (2, 1, 32, 48) and 0 <= maps["tgsa"].min() and maps["tgsa"].max() <= 1
    assert tiny("dgspnet_wo_tgsa").inspection_maps(torch.rand(1, 1, 32, 32)) == {}


def test_the_prompts_are_swappable():
    model = tiny(coarse_texts=("thermal image", "dim point target", "sky"), fine_template="a thermal scene with")
    assert model.coarse.embeddings.shape[0] == 3 and model.tgsa["2"].combine.in_channels == 4
    with torch.no_grad():
        assert model(torch.rand(1, 1, 32, 32))["logits"].shape == (1, 1, 32, 32)
    with pytest.raises(ValueError, match="non-empty"):
        tiny(coarse_texts=("infrared image", " "))
