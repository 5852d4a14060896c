"""GroundingDINO + SAM (Grounded-SAM, Ren et al., arXiv 2401.14159), fine-tuned for IRSTD as LGNet's
section 5.6.3 baseline ("we finetune a pre-trained GroundingDINO+SAM ... model for IRSTD"; IoU 66.2,
nIoU 65.4 on IRSTD-1k).

Where each part lives:

- ``detector.py``: GroundingDINO (``transformers``' ``GroundingDinoForObjectDetection``), its
  configurations (``swin_t``: grounding-dino-tiny's; ``tiny``: toy sizes), the prompt
  "small target." tokenised once, each query's score and box;
- ``model.py``: the system: the detector's top boxes as SAM's box prompts (SAM's modules from
  ``segment_anything``, shared with SAIST: :mod:`irstd_lib.models.saist.sam_backbone`), the
  masks combined into one map, the choices the paper leaves open and their switches.

Variants: ``grounding_sam`` (the whole system fine-tuned, SAM's image encoder frozen). Every one
takes ``detector`` (``swin_t``, ``tiny``), ``sam`` (``tiny``, ``vit_b``, ``vit_l``, ``vit_h``),
``detector_checkpoint`` (a local folder) and ``sam_checkpoint`` (a local file). Default recipe:
``saist_paper``, the package's recipe for fine-tuning SAM (Adam 1e-4, BCE + SoftIoU, 1024 px);
the paper gives none.
"""

from __future__ import annotations

from irstd_lib.models.registry import ModelVariant

_BUILDER = "irstd_lib.models.grounding_sam.model:build_grounding_sam"
_PAPER = "Ren et al., Grounded SAM (arXiv 2401.14159), as LGNet's section 5.6.3 fine-tunes it"
_TINY = {"detector": "tiny", "sam": "tiny", "top_k": 4}

VARIANTS = (
    ModelVariant("grounding_sam", _BUILDER, {"detector": "swin_t", "sam": "vit_h"}, system="GroundingDINO+SAM", paper=_PAPER,
                 recipe="saist_paper", switches=("combine", "train_sam_encoder", "box_map_supervision"), tiny=_TINY,
                 published={"size": 1024, "source": "LGNet section 5.6.3 (IRSTD-1k: IoU 66.2, nIoU 65.4)"},
                 description="GroundingDINO ('small target.') boxes as SAM's box prompts, fine-tuned"),
)
