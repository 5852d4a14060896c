"""DGSPNet's switches for the third-party reading of its full text (FIDELITY.md): each does what
its row says, the defaults are the earlier design, and the token-count variants differ in that alone."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from irstd_lib.models import build_model, get_variant
from irstd_lib.models.dgspnet import SCENE_COARSE_PROMPTS
from irstd_lib.models.dgspnet.model import FULL_TEXT_READING
from irstd_lib.models.dgspnet.text_priors import SCENE_COARSE_PROMPTS as MODEL_SCENE_PROMPTS

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def tiny(name: str = "dgspnet", **overrides):
    torch.manual_seed(0)
    return build_model(name, **{**get_variant(name).tiny, **overrides})


def test_the_registry_copy_of_the_scene_prompts_is_the_models():
    assert SCENE_COARSE_PROMPTS == MODEL_SCENE_PROMPTS
    reading = get_variant("dgspnet_full_text_reading").kwargs
    assert {k: reading[k] for k in FULL_TEXT_READING} == FULL_TEXT_READING


def test_fine_tokens_from_the_first_three_stages_read_those_stages_only():
    model = tiny(fine_source="stages_1_3", coarse_prompts=False)
    features = [f.detach().requires_grad_(True) for f in model.encode(torch.rand(2, 1, 32, 32))]
    model.text_embeddings(features).sum().backward()
    assert all(features[k].grad is not None and features[k].grad.abs().sum() > 0 for k in (0, 1, 2))
    assert features[3].grad is None  # the bottom does not reach the fine prompt
    default = tiny(coarse_prompts=False)
    features = [f.detach().requires_grad_(True) for f in default.encode(torch.rand(2, 1, 32, 32))]
    default.text_embeddings(features).sum().backward()
    assert features[3].grad is not None and all(features[k].grad is None for k in (0, 1, 2))


def test_tgca_from_the_text_alone_ignores_the_image_when_the_text_is_fixed():
    model = tiny(fine_prompts=False, tgca_inputs="text").eval()
    x, y = torch.rand(1, 4, 8, 8), torch.rand(1, 4, 8, 8)
    text = model.coarse(1)
    tgca = model.tgca["0"]
    assert torch.equal(tgca.weights(x, text), tgca.weights(y, text))
    default = tiny(fine_prompts=False).tgca["0"]
    assert not torch.allclose(default.weights(x, text), default.weights(y, text))


def test_tgsa_dot_is_the_scaled_dot_product():
    model = tiny(tgsa_similarity="dot")
    tgsa = model.tgsa["2"]
    assert not hasattr(tgsa, "log_temperature")
    x, text = torch.rand(2, tgsa.to_text_space.in_channels, 4, 4), torch.rand(2, 3, tgsa.to_text_space.out_channels)
    expected = torch.einsum("behw,bke->bkhw", tgsa.to_text_space(x), text) / math.sqrt(text.shape[-1])
    assert torch.allclose(tgsa.similarity(x, text), expected, atol=1e-6)
    cosine = tiny().tgsa["2"]
    got = cosine.similarity(x, text)
    pixels = F.normalize(cosine.to_text_space(x), dim=1)
    assert torch.allclose(got, torch.einsum("behw,bke->bkhw", pixels, F.normalize(text, dim=-1)) * 10.0, atol=1e-5)


def test_the_full_text_reading_and_the_token_counts_change_the_model():
    image = torch.rand(1, 1, 32, 32)
    with torch.no_grad():
        base = tiny().eval()(image)["logits"]
        reading = tiny("dgspnet_full_text_reading").eval()
        assert reading.coarse.prompts == SCENE_COARSE_PROMPTS
        assert not torch.allclose(reading(image)["logits"], base)
    for n in (1, 2, 8):
        variant = get_variant(f"dgspnet_fine_tokens_{n}")
        assert {k: v for k, v in variant.kwargs.items() if k != "n_pseudo_words"} == \
            {k: v for k, v in get_variant("dgspnet").kwargs.items() if k != "n_pseudo_words"}
        assert build_model(variant.name, clip="tiny", base_channels=4).fine.n_words == n


@pytest.mark.parametrize("kwargs", [{"fine_source": "middle"}, {"tgca_inputs": "image"}, {"tgsa_similarity": "l2"}])
def test_unknown_readings_are_refused_by_name(kwargs):
    with pytest.raises(ValueError, match="(?i)" + next(iter(kwargs)).split("_")[0]):
        tiny(**kwargs)
