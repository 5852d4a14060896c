"""LGNet (irstd_lib.models.lgnet): shapes, ablation switches, size, descriptor use, training, profile."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from irstd_lib.models import build_model

WIDTH = 8
DIM = 32


def n_params(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def small(**kw) -> torch.nn.Module:
    torch.manual_seed(0)
    return build_model("lgnet", width=WIDTH, descriptor_dim=DIM, **kw).eval()


def descriptor(batch: int = 1, dim: int = DIM, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return F.normalize(torch.randn(batch, dim, generator=g), dim=-1)


@pytest.mark.parametrize("size", [(256, 256), (512, 512), (97, 61)])
def test_output_shapes(size):
    model = small()
    h, w = size
    with torch.no_grad():
        out = model(torch.rand(1, 1, h, w), descriptor())
    assert out["logits"].shape == (1, 1, h, w)
    assert len(out["aux_logits"]) == 6  # S1..S6
    assert all(a.shape == (1, 1, h, w) for a in out["aux_logits"])
    assert out["aux_losses"] == {}
    assert torch.isfinite(out["logits"]).all()


def test_input_and_descriptor_validation():
    model = small()
    with pytest.raises(ValueError, match="image must be"):
        model(torch.rand(1, 3, 32, 32), descriptor())
    with pytest.raises(ValueError, match="target descriptor"):
        model(torch.rand(1, 1, 32, 32), None)
    with pytest.raises(ValueError, match="descriptor must have shape"):
        model(torch.rand(1, 1, 32, 32), descriptor(dim=DIM + 1))


def test_fusion_blocks_off_parameter_difference():
    # Each of the 4 skips (E4..E1): FusionBlock = 2 gates x (dw conv C + bias C + BN 2C) = 8C
    # parameters removed; the next decoder's 3x3 conv_in then takes 2C instead of C inputs:
    # +9*C*C weights. Nothing else changes.
    c = WIDTH
    with_fusion, without = n_params(small()), n_params(small(fusion_blocks=False))
    assert without - with_fusion == 4 * (9 * c * c - 8 * c)
    assert without > with_fusion
    assert small(fusion_blocks=False).conditioning == "target_descriptor"


def test_language_fusion_off_parameter_difference():
    # LanguageFusionBlock: MLP (D*C + C + C*C + C) + 2 gates x (group conv weights 2C + bias C,
    # BN 2C) = D*C + C^2 + 12C removed; D5's conv_in gets 2C inputs instead of C: +9*C^2.
    c, d = WIDTH, DIM
    with_lang, without = n_params(small()), n_params(small(language_fusion=False))
    assert without - with_lang == 9 * c * c - (d * c + c * c + 12 * c)
    assert small().conditioning == "target_descriptor"
    assert small(language_fusion=False).conditioning == "none"
    assert small(language_fusion=False).example_condition(2) is None and small().example_condition(2).shape == (2, DIM)
    # Larger descriptor, same width: only the MLP's first layer grows (64 more inputs x C).
    torch.manual_seed(0)
    wider = build_model("lgnet", width=WIDTH, descriptor_dim=DIM + 64)
    assert n_params(wider) - with_lang == 64 * c


def test_paper_width_parameter_count():
    model = build_model("lgnet")  # width=64, descriptor_dim=512
    params = n_params(model)
    assert abs(params - 4.04e6) / 4.04e6 < 0.03
    assert params == 3_989_041  # the figure in lgnet's docstring


def test_model_without_language_ignores_descriptor():
    model = small(language_fusion=False)
    image = torch.rand(1, 1, 48, 48, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        none = model(image)["logits"]
        a = model(image, descriptor(seed=1))["logits"]
        b = model(image, descriptor(seed=2))["logits"]
    torch.testing.assert_close(none, a, rtol=0, atol=0)
    torch.testing.assert_close(a, b, rtol=0, atol=0)


def test_descriptor_changes_output_with_language():
    model = small()
    image = torch.rand(1, 1, 48, 48, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        a = model(image, descriptor(seed=1))["logits"]
        b = model(image, descriptor(seed=2))["logits"]
    # The output prior keeps the start near a constant map, so the effect is small but not zero.
    assert (a - b).abs().max().item() > 1e-6


def _loss(out: dict, mask: torch.Tensor) -> torch.Tensor:
    loss = F.binary_cross_entropy_with_logits(out["logits"], mask)
    for aux in out["aux_logits"]:
        loss = loss + F.binary_cross_entropy_with_logits(aux, mask)
    return loss


def test_a_few_adam_steps_lower_the_bce_loss():
    torch.manual_seed(0)
    model = build_model("lgnet", width=WIDTH, descriptor_dim=DIM).train()
    g = torch.Generator().manual_seed(0)
    image = 0.2 * torch.rand(2, 1, 32, 32, generator=g)
    mask = torch.zeros(2, 1, 32, 32)
    mask[0, 0, 10:13, 14:17] = 1.0
    mask[1, 0, 20:23, 5:8] = 1.0
    image = image + 0.7 * mask
    desc = descriptor(2)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    losses = []
    for _ in range(5):
        optimizer.zero_grad()
        loss = _loss(model(image, desc), mask)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    with torch.no_grad():
        final = _loss(model(image, desc), mask).item()
    assert final < losses[0]
    assert losses[-1] < losses[0]


def test_training_batch_of_one_does_not_crash():
    # ChannelBatchNorm on pooled (B, C, 1, 1) maps accepts a training batch of one. (The RSU
    # BatchNorms still need more than one value: at 32x32 the deepest RSU maps are 1x1, so a
    # training batch of one needs inputs larger than 32 pixels, as in U2-Net.)
    model = small().train()
    out = model(torch.rand(1, 1, 64, 64), descriptor())
    _loss(out, torch.zeros(1, 1, 64, 64)).backward()


def test_profile_model_reports_the_documented_keys():
    from irstd_lib.benchmarks.model_profile import count_parameters, profile_model

    result = profile_model(
        "lgnet", size=32, repeats=1, warmup=0, train_batch=2, train_steps=1, width=4, descriptor_dim=16
    )
    for key in ("params", "gflops", "latency_ms", "train_img_per_s"):
        assert key in result
    torch.manual_seed(0)
    assert result["params"] == count_parameters(build_model("lgnet", width=4, descriptor_dim=16))
    assert result["gflops"] > 0 and result["latency_ms"] > 0 and result["train_img_per_s"] > 0
    assert result["gmacs"] == pytest.approx(result["gflops"] / 2)


def test_profile_cli_json(capsys):
    import json

    from irstd_lib.benchmarks.model_profile import main

    assert main(["--model", "lgnet", "--width", "4", "--size", "32", "--repeats", "1", "--warmup", "0",
                 "--no-train", "--kw", "descriptor_dim=16", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert {"params", "gflops", "latency_ms", "train_img_per_s"} <= set(result)
    assert result["train_img_per_s"] is None
    assert result["model_kwargs"] == {"descriptor_dim": 16, "width": 4}


def test_output_prior_initialisation():
    """The output block starts near the prior (p = 0.01), not at PyTorch's p ~ 0.5."""
    torch.manual_seed(0)
    x = torch.rand(2, 1, 64, 64)
    with torch.no_grad():
        prior = build_model("lgnet", width=4, language_fusion=False)(x)
        default = build_model("lgnet", width=4, language_fusion=False, prior_probability=None)(x)
    assert 0.002 < torch.sigmoid(prior["logits"]).mean().item() < 0.05
    for side in prior["aux_logits"]:
        assert torch.sigmoid(side).mean().item() < 0.05
    assert torch.sigmoid(default["logits"]).mean().item() > 0.1
    with pytest.raises(ValueError, match="prior_probability"):
        build_model("lgnet", width=4, prior_probability=1.5)
