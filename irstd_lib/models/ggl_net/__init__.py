"""GGL-Net (Zhao, Yu et al., "Gradient-Guided Learning Network for Infrared Small Target
Detection", IEEE GRSL 2023; arXiv 2512.09497), after the authors' public model.

Where each paper component lives:

- ``gradient.py``: the gradient magnitude computed inside the model, and its max-pooled pyramid;
- ``residual_blocks.py``: the encoder's residual and squeeze-excitation residual blocks;
- ``gradient_supplement.py``: the gradient supplementary module (GSM) at each encoder level;
- ``local_context.py``: the local-context layers on the skip connections;
- ``two_way_fusion.py``: the two-way guidance fusion module (TGFM) of the decoder;
- ``model.py``: the network, its switches and its size.
"""

from __future__ import annotations

from irstd_lib.models.registry import ModelVariant

_BUILDER = "irstd_lib.models.ggl_net.model:build_ggl_net"
_PAPER = "Zhao, Yu et al., Gradient-Guided Learning Network for Infrared Small Target Detection (IEEE GRSL 2023; arXiv 2512.09497)"
_PUBLISHED = {
    "params": 8_988_093,
    "size": 512,
    "source": "the authors' GGLNet() in YuChuang1205/MSDA-Net model/GGL_Net/model_GGL.py, counted from its definition",
}
_COMMON = dict(system="GGL-Net", paper=_PAPER, recipe="ggl_net_paper", switches=("gradient_branch", "gsm", "two_way_fusion"),
               tiny={"base_channels": 4})
_FULL = {"base_channels": 16, "gradient_branch": True, "gsm": True, "two_way_fusion": True}

VARIANTS = (
    ModelVariant("ggl_net", _BUILDER, _FULL, published=_PUBLISHED,
                 description="full model: gradient branch with a GSM at every level, TGFM decoder", **_COMMON),
    ModelVariant("ggl_net_wo_gradient", _BUILDER, {**_FULL, "gradient_branch": False},
                 description="ablation: no gradient image and no GSM", **_COMMON),
    ModelVariant("ggl_net_wo_gsm", _BUILDER, {**_FULL, "gsm": False},
                 description="ablation: gradient concatenated to the input only, no GSM", **_COMMON),
    ModelVariant("ggl_net_wo_tgfm", _BUILDER, {**_FULL, "two_way_fusion": False},
                 description="ablation: each TGFM replaced by addition", **_COMMON),
)
