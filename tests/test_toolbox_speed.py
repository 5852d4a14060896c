"""The speed benchmark against the toolbox (issue 21 item 5): the state_dict mapping it compares
outputs through. The timing itself is not a test (``python -m irstd_lib.benchmarks.toolbox_speed``)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

from irstd_lib.benchmarks.toolbox_speed import toolbox_state_to_package
from irstd_lib.models import build_model

TOOLBOX = Path(os.environ.get("IRSTD_TOOLBOX", Path(__file__).resolve().parents[2] / "scratch" / "BasicIRSTD-bench"))


def test_names_are_renamed_as_the_models_docstrings_list():
    acm = toolbox_state_to_package("acm", dict.fromkeys([
        "module.model.layer2.0.downsample.1.weight", "uplayer1.2.bn2.bias", "deconv2.weight", "fuse1.topdown.4.weight",
        "fuse2.bottomup.3.bias", "fuse2.post.0.weight", "head.block.4.weight", "stem.0.running_mean"]))
    assert list(acm) == ["encoder2.0.shortcut.1.weight", "decoder1.2.bn2.bias", "upsample2.weight",
                         "fuse1.topdown_channel_weights.4.weight", "fuse2.bottomup_pixel_weights.3.bias", "fuse2.merge.0.weight",
                         "head.4.weight", "stem.0.running_mean"]
    dna = toolbox_state_to_package("dnanet", dict.fromkeys([
        "conv1_2.1.ca.fc2.weight", "conv0_4_final.0.sa.conv1.weight", "conv0_4_1x1.bias", "conv0_1_1x1.weight",
        "final4.weight", "final1.bias"]))
    assert list(dna) == ["nodes.1_2.1.channel_attention.bottleneck.2.weight", "pyramid_fusion.merge.spatial_attention.conv.weight",
                         "pyramid_fusion.projections.3.bias", "pyramid_fusion.projections.0.weight", "head.weight",
                         "side_heads.0.bias"]
    with pytest.raises(ValueError, match="no toolbox mapping"):
        toolbox_state_to_package("lgnet", {})


def test_every_package_name_is_reached_by_the_mapping():
    """Without the toolbox: the package's own names survive the mapping unchanged (a rule that
    also rewrote a package name would break loading the mapped toolbox weights)."""
    for name in ("acm", "dnanet"):
        own = build_model(name, **({"base_channels": 4} if name == "acm" else {"base_channels": 4})).state_dict()
        assert list(toolbox_state_to_package(name, own)) == list(own)


@pytest.mark.skipif(not (TOOLBOX / "net.py").is_file(), reason=f"BasicIRSTD copy absent ({TOOLBOX}; set IRSTD_TOOLBOX)")
@pytest.mark.parametrize("name", ["acm", "dnanet"])
def test_toolbox_weights_load_strictly_and_give_identical_outputs(name, one_torch_thread):
    import importlib
    import sys
    import types

    # The model's own files only: the toolbox's model/__init__.py imports every network it has.
    folder, module_name, build = {"acm": ("ACM", "model_ACM", lambda m: m.ASKCResUNet()),
                                  "dnanet": ("DNANet", "model_DNANet", lambda m: m.DNANet(mode="test"))}[name]
    package = f"_basicirstd_{folder.lower()}"
    if package not in sys.modules:
        stub = types.ModuleType(package)
        stub.__path__ = [str(TOOLBOX / "model" / folder)]
        sys.modules[package] = stub
    torch.manual_seed(0)
    toolbox = build(importlib.import_module(f"{package}.{module_name}")).eval()
    for module in toolbox.modules():  # non-trivial BatchNorm statistics
        if isinstance(module, torch.nn.BatchNorm2d):
            module.running_mean.uniform_(-0.2, 0.2)
            module.running_var.uniform_(0.5, 1.5)
    ours = build_model(name).eval()
    ours.load_state_dict(toolbox_state_to_package(name, toolbox.state_dict()), strict=True)
    image = torch.randn(2, 1, 32, 48)
    with torch.no_grad():
        expected = toolbox(image)
        logits = ours(image, None)
        logits = logits["logits"] if isinstance(logits, dict) else logits
    assert torch.equal(torch.sigmoid(logits), expected)
