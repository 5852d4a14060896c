"""GGL-Net: the gradient image, the authors' size, shapes, the ablation switches, a few steps."""

from __future__ import annotations

import math

import pytest
import torch

from conftest import adam_losses_on_tiny_targets
from irstd_lib.models import build_model, get_variant
from irstd_lib.models.base import check_model_output
from irstd_lib.models.ggl_net.gradient import gradient_magnitude, gradient_pyramid

AUTHORS_PARAMETERS = 8_988_093  # the authors' GGLNet(), counted from its definition (see model.py)
SWITCHES = {"ggl_net_wo_gradient": "gradient_branch", "ggl_net_wo_gsm": "gsm", "ggl_net_wo_tgfm": "two_way_fusion"}


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def test_gradient_magnitude_equals_a_hand_computed_case():
    image = torch.tensor([[1.0, 2.0, 4.0],
                          [0.0, 3.0, 5.0],
                          [2.0, 2.0, 6.0]]).view(1, 1, 3, 3)
    # centre: dx = (5 - 0) / 2, dy = (top 2 - bottom 2) / 2
    # corner (0, 0): dx = (2 - 0) / 2 = 1 (zero padding left), dy = (0 - 0) / 2 = 0 (zero above, 0 below)
    # (0, 2): dx = (0 - 2) / 2 = -1, dy = (0 - 5) / 2
    g = gradient_magnitude(image)[0, 0]
    assert g[1, 1].item() == pytest.approx(2.5)
    assert g[0, 0].item() == pytest.approx(1.0)
    assert g[0, 2].item() == pytest.approx(math.hypot(1.0, 2.5))
    assert g[2, 1].item() == pytest.approx(math.hypot(2.0, 1.5))  # dx = (6 - 2) / 2, dy = (3 - 0) / 2


def test_gradient_is_per_channel_and_pooled_by_max():
    image = torch.zeros(1, 2, 8, 8)
    image[0, 1, 3, 4] = 1.0  # one bright pixel in the second channel only
    g1 = gradient_magnitude(image)
    assert g1[0, 0].abs().sum() == 0 and g1[0, 1, 3, 4] == 0 and g1[0, 1, 3, 3] == pytest.approx(0.5)
    pyramid = gradient_pyramid(image, 3)
    assert [tuple(p.shape[-2:]) for p in pyramid] == [(8, 8), (4, 4), (2, 2)]
    assert pyramid[1][0, 1].max() == pytest.approx(0.5) and torch.equal(pyramid[2], torch.nn.functional.max_pool2d(pyramid[1], 2))


def test_parameter_count_matches_the_authors_class():
    model = build_model("ggl_net")
    count = sum(p.numel() for p in model.parameters())
    assert abs(count - AUTHORS_PARAMETERS) / AUTHORS_PARAMETERS < 0.02
    assert count == get_variant("ggl_net").published["params"]


@pytest.mark.parametrize("size,base", [((256, 256), 16), ((512, 512), 4), ((96, 160), 16)])
def test_output_shapes(size, base):
    torch.manual_seed(0)
    model = build_model("ggl_net", base_channels=base).eval()
    image = torch.rand(1, 3, *size)
    with torch.no_grad():
        out = check_model_output(model(image), 1, *size, where="ggl_net")
    assert out["aux_logits"] == [] and torch.isfinite(out["logits"]).all()
    with pytest.raises(ValueError, match="multiples of 16"):
        model(torch.rand(1, 3, 40, 48))


@pytest.mark.parametrize("variant", sorted(SWITCHES))
def test_each_switch_removes_its_part(variant):
    torch.manual_seed(0)
    full = build_model("ggl_net", base_channels=4).eval()
    ablated = build_model(variant, base_channels=4).eval()
    assert getattr(ablated, SWITCHES[variant]) is False
    n_full, n_ablated = (sum(p.numel() for p in m.parameters()) for m in (full, ablated))
    assert n_ablated < n_full
    # The shared parts get the full model's weights: the outputs still differ, by what was removed.
    shared = {k: v for k, v in full.state_dict().items() if k in ablated.state_dict() and v.shape == ablated.state_dict()[k].shape}
    ablated.load_state_dict(shared, strict=False)
    image = torch.rand(1, 3, 32, 32)
    with torch.no_grad():
        assert not torch.allclose(full(image)["logits"], ablated(image)["logits"])
    if variant == "ggl_net_wo_gradient":
        assert ablated.gradient_supplements is None and ablated.stem[0].in_channels == 3
    if variant == "ggl_net_wo_gsm":
        assert ablated.gradient_supplements is None and ablated.stem[0].in_channels == 6


def test_a_few_adam_steps_lower_the_loss():
    torch.manual_seed(0)
    losses = adam_losses_on_tiny_targets(build_model("ggl_net", base_channels=4).train())
    assert losses[-1] < 0.9 * losses[0], losses
