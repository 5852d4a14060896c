"""LGNet (Chib & Singh, "Leveraging Language Prior for Infrared Small Target Detection").

Where each paper component lives:

- ``rsu.py``: the residual U-blocks (RSU7..RSU4, RSU4F) of the encoders and decoders;
- ``fusion_block.py``: the fusion block at each skip (and U2-Net's concatenation, for ablations);
- ``language_fusion.py``: the language fusion block at E5/D6, fed the target descriptor;
- ``output_block.py``: the shallow/deep side outputs, scaling weights and fusion;
- ``text_encoder.py``: the CLIP text tower, when the run fine-tunes it (``clip_text="finetune"``);
- ``model.py``: the network (E1-E5, D6, D5-D1), its channel plan and sizes;
- ``first_pass.py``: test-time text without ground truth, written from the model's own
  image-only prediction and read by a second pass (``test_descriptions="first_pass"``).

The target descriptor itself (CLIP text + image embedding) is prepared outside the model, by
:mod:`irstd_lib.conditioning.target_descriptor`.
"""

from __future__ import annotations

from irstd_lib.models.registry import ModelVariant

_BUILDER = "irstd_lib.models.lgnet.model:build_lgnet"
_PAPER = "Chib & Singh, Leveraging Language Prior for Infrared Small Target Detection (arXiv 2507.13113)"
_PUBLISHED = {
    "params": 4.04e6,
    "gflops": 85.68,
    "size": 512,
    "flops_convention": "multiply-adds (thop), printed as FLOPs",
    "source": "LGNet paper",
}
# Version 2: the paper's single scaling map and Eq. 3's D6 gate became the defaults (see model.py).
_COMMON = dict(system="LGNet", paper=_PAPER, recipe="lgnet_paper", conditioning_switch="language_fusion",
               switches=("fusion_blocks", "language_fusion", "scaling_weights", "scaled_outputs", "d6_gate_pooling"), tiny={"width": 4},
               version=2)

VARIANTS = (
    ModelVariant("lgnet", _BUILDER, {"fusion_blocks": True, "language_fusion": True}, conditioning="target_descriptor",
                 published=_PUBLISHED, description="full model: fusion blocks and the language fusion block", **_COMMON),
    ModelVariant("lgnet_fusion", _BUILDER, {"fusion_blocks": True, "language_fusion": False}, conditioning="target_descriptor",
                 description="Table 6: baseline + fusion blocks, no language", **_COMMON),
    ModelVariant("lgnet_baseline", _BUILDER, {"fusion_blocks": False, "language_fusion": False}, conditioning="target_descriptor",
                 description="Table 6 / Table 2 'never': U2-Net-style baseline with LGNet's channel plan and output block",
                 **_COMMON),
)
