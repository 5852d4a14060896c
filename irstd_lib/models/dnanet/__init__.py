"""DNA-Net (Li et al., "Dense Nested Attention Network for Infrared Small Target Detection", TIP 2022).

Where each paper component lives:

- ``attention.py``: the channel and spatial attention module (CSAM);
- ``res_cbam.py``: the residual CBAM block every node is made of;
- ``feature_pyramid_fusion.py``: the feature pyramid fusion module (FPFM);
- ``model.py``: the dense nested interactive module (DNIM, the nested grid of nodes), the
  deep-supervision heads, the network as the BasicIRSTD toolbox builds it, its sizes and choices.
"""

from __future__ import annotations

from irstd_lib.models.registry import ModelVariant

_BUILDER = "irstd_lib.models.dnanet.model:build_dnanet"
_PAPER = "Li et al., Dense Nested Attention Network for Infrared Small Target Detection (IEEE TIP 2022)"
_PUBLISHED = {
    "params": 4.697e6,
    "gflops": 14.261,
    "size": 256,
    "flops_convention": "multiply-adds (thop.profile), printed as FLOPs",
    "source": "BasicIRSTD toolbox",
}
_COMMON = dict(system="DNA-Net", paper=_PAPER, recipe="basicirstd", switches=("deep_supervision",), tiny={"base_channels": 4})

VARIANTS = (
    ModelVariant("dnanet", _BUILDER, {"base_channels": 16, "num_blocks": (2, 2, 2, 2), "deep_supervision": True},
                 published=_PUBLISHED,
                 description="dense nested Res-CBAM network with feature pyramid fusion and deep supervision "
                             "(BasicIRSTD: nb_filter 16-256, 2 blocks per level)",
                 **_COMMON),
)
