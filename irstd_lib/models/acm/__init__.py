"""ACM (Dai et al., "Asymmetric Contextual Modulation for Infrared Small Target Detection", WACV 2021).

Where each paper component lives:

- ``asymmetric_fusion.py``: the asymmetric bi-directional fusion (AsymBi: top-down global channel
  attention from the deep map, bottom-up point-wise attention from the shallow map) and the
  additive fusion it is ablated against;
- ``residual_stage.py``: the ResNet basic blocks of the encoder and decoder stages;
- ``model.py``: stem, U-Net with transposed-convolution upsampling, FCN head, the network as the
  BasicIRSTD toolbox builds it, its sizes and the choices made.
"""

from __future__ import annotations

from irstd_lib.models.registry import ModelVariant

_BUILDER = "irstd_lib.models.acm.model:build_acm"
_PAPER = "Dai, Wu, Zhou & Barnard, Asymmetric Contextual Modulation for Infrared Small Target Detection (WACV 2021)"
_PUBLISHED = {
    "params": 0.398e6,
    "gflops": 0.402,
    "size": 256,
    "flops_convention": "multiply-adds as thop.profile counts them (transposed convolutions per output pixel, "
                        "BatchNorm and upsampling included), printed as FLOPs",
    "source": "BasicIRSTD toolbox",
}
_COMMON = dict(system="ACM", paper=_PAPER, recipe="basicirstd", switches=("asymmetric_fusion",), tiny={"base_channels": 4})

VARIANTS = (
    ModelVariant("acm", _BUILDER, {"base_channels": 8, "blocks": (3, 3, 3), "asymmetric_fusion": True},
                 published=_PUBLISHED,
                 description="ASKCResUNet with AsymBi fusion, BasicIRSTD's configuration (channels 8-64, 3 blocks per stage)",
                 **_COMMON),
)
