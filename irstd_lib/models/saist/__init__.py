"""SAIST (Zhang et al., CVPR 2025): SR-CLIP guiding a LoRA-tuned SAM with the infrared
imaging-equation decoder.

Where each paper component lives:

- ``sr_clip.py``: SR-CLIP (description sets, Description, widened projection, decoders, MMD);
  its parts: ``relations.py`` (object-object similarity, scene-object correlation, eqs. 1-2),
  ``cross_modal.py`` (text and visual decoders, eqs. 5-6), ``mmd.py`` (eq. 8);
- ``prompt_learners.py``: the plain CLIP prompts and CoOp's prompt learner (Table 4);
- the frozen CLIP they read is shared with DGSPNet: :mod:`irstd_lib.models.frozen_clip`;
- ``cg_sam.py``: CG-SAM, SAM with LoRA and one of three decoders (Table 5); its parts:
  ``sam_backbone.py`` (SAM's modules, official checkpoints, other input sizes, LoRA),
  ``mask_decoding.py`` (SAM's decoder on per-image prompts), ``feature_fusion.py`` (early and late
  ViT features), ``hq_decoder.py`` (HQ-SAM's token), ``imaging_decoder.py`` (I, A, d, beta, J) with
  ``depth_head.py``; the imaging equation itself is :mod:`irstd_lib.imaging_equation`;
- ``model.py``: SAIST, the two together; ``size.py``: its parameters per module without weights
  (Table 3).

``FIDELITY.md`` (beside this file) puts each design sentence of the paper's section 3 and 4.1
beside the code that does it, and lists the switches (model kwargs) behind which the paper's
readings sit: their defaults keep the earlier readings (the smoke runs), the ``paper`` profile
selects the paper's. A model built with ``clip_image_test="targets_removed_by_ground_truth"``
reads test ground truth and says so (``SAIST.reads_test_ground_truth``).

Variants (Tables 1-5); every one takes ``sam`` (``tiny``, ``vit_b``, ``vit_l``, ``vit_h``), ``clip``
(``tiny`` or an open_clip architecture), ``sam_checkpoint`` and ``clip_checkpoint`` (local files).
"""

from __future__ import annotations

from irstd_lib.models.registry import ModelVariant

_BUILDER = "irstd_lib.models.saist.model:build_saist"
_PAPER = "Zhang et al., SAIST: Segment Any Infrared Small Target Model Guided by Contrastive Language-Image Pretraining (CVPR 2025)"
_TINY = {"sam": "tiny", "clip": "tiny", "depth_width": 8, "coop_context": 4}
_DEFAULTS = {"sam": "vit_b", "clip": "ViT-B-16"}


def _variant(name: str, guidance: str | None, decoder: str, description: str, published: dict | None = None,
             system: str = "SAIST") -> ModelVariant:
    return ModelVariant(name, _BUILDER, {**_DEFAULTS, "guidance": guidance, "decoder": decoder}, system=system, paper=_PAPER,
                        conditioning="scene_prompt", conditioning_switch="guidance", recipe="saist_paper",
                        switches=("guidance", "decoder"), tiny=_TINY, published=published or {}, description=description)


VARIANTS = (
    _variant("saist", "sr_clip", "cg", "SR-CLIP + CG-SAM (the full model)",
             {"params": 389.57e6, "latency_s": 0.081, "size": 1024, "params_kind": "trainable, as reported",
              "source": "SAIST Table 3"}),
    _variant("saist_wo_srclip", "clip", "cg", "Table 2 'w/o SR-CLIP', Table 4 CLIP row: plain CLIP prompts + CG-SAM"),
    _variant("saist_wo_cgsam", "sr_clip", "sam", "Table 2 'w/o CG-SAM', Table 5 SAM row: SR-CLIP + SAM's decoder"),
    _variant("clip_sam", "clip", "sam", "Table 2 'w/o both', Table 3 'SAM + CLIP': plain CLIP prompts + SAM's decoder",
             {"params": 383.28e6, "latency_s": 0.079, "size": 1024, "params_kind": "trainable, as reported",
              "source": "SAIST Table 3"}),
    _variant("coop_cgsam", "coop", "cg", "Table 4 CoOp row: a CoOp prompt learner + CG-SAM"),
    _variant("hqsam_srclip", "sr_clip", "hq", "Table 5 HQ-SAM row: SR-CLIP + an HQ-SAM-style decoder"),
    _variant("sam", None, "sam", "Table 1 'SAM': LoRA-tuned SAM without text", system="SAM"),
    _variant("sam_hq", None, "hq", "Table 1 'SAM-HQ': LoRA-tuned SAM with the HQ decoder, without text", system="SAM-HQ"),
)
