"""DGSPNet (Wang et al., "Dual-Granularity Semantic Prompting ...", arXiv 2511.19306): coarse and
fine-grained text priors guiding a U-shaped CNN through text-guided attentions. Only the
abstract is known; the design is the simplest that does what it says (see ``model.py``).

Where each paper component lives:

- ``text_priors.py``: the coarse prompts ("infrared image", "small target"), encoded once, and
  the visual-to-textual mapping that makes each image's fine-grained prompt (pseudo-words through
  the frozen CLIP text encoder);
- ``text_guided_attention.py``: TGCA (text-guided channel attention, low-level features) and
  TGSA (text-guided spatial attention, high-level features);
- ``unet.py``: the U-shaped CNN's blocks;
- ``model.py``: the network, its switches and choices. The frozen CLIP is
  :mod:`irstd_lib.models.frozen_clip` (shared with SAIST);
- ``FIDELITY.md``: the code against a third-party reading of the full text (``paper_settings.md``,
  unverified), line by line, with the switches that offer that reading and what is not done
  (its pre-training stage: ``DGSPNet.pretraining_losses``, trained in a run's first
  ``train={"pretrain_epochs": N}`` epochs).
"""

from __future__ import annotations

from irstd_lib.models.registry import ModelVariant

# The summary's coarse prompts in this package's words (text_priors.SCENE_COARSE_PROMPTS; a copy,
# so that listing variants imports no model code; tests check the two agree).
SCENE_COARSE_PROMPTS = ("an infrared small target in the sky", "an infrared small target on the ground",
                        "an infrared small target on the sea")

_BUILDER = "irstd_lib.models.dgspnet.model:build_dgspnet"
_PAPER = "Wang et al., DGSPNet (arXiv 2511.19306; abstract only, no public code)"
_COMMON = dict(system="DGSPNet", paper=_PAPER, recipe="dgspnet_default",
               switches=("coarse_prompts", "fine_prompts", "tgca", "tgsa", "n_pseudo_words", "fine_source", "tgca_inputs",
                         "tgsa_similarity"),
               tiny={"clip": "tiny", "base_channels": 4, "n_pseudo_words": 2})
_FULL = {"base_channels": 16, "clip": "ViT-B-16", "coarse_prompts": True, "fine_prompts": True, "tgca": True, "tgsa": True}

VARIANTS = (
    ModelVariant("dgspnet", _BUILDER, _FULL, description="full model: coarse and fine prompts, TGCA and TGSA", **_COMMON),
    ModelVariant("dgspnet_coarse_only", _BUILDER, {**_FULL, "fine_prompts": False},
                 description="ablation: coarse prompts only (no visual-to-text mapping)", **_COMMON),
    ModelVariant("dgspnet_fine_only", _BUILDER, {**_FULL, "coarse_prompts": False},
                 description="ablation: fine-grained prompts only", **_COMMON),
    ModelVariant("dgspnet_wo_tgca", _BUILDER, {**_FULL, "tgca": False}, description="ablation: no TGCA", **_COMMON),
    ModelVariant("dgspnet_wo_tgsa", _BUILDER, {**_FULL, "tgsa": False}, description="ablation: no TGSA", **_COMMON),
    # The number of fine tokens (pseudo-words; the full model has 4), which a third-party summary of
    # the full text says a table ablates (paper_settings.md; unverified, its values unknown here).
    *(ModelVariant(f"dgspnet_fine_tokens_{n}", _BUILDER, {**_FULL, "n_pseudo_words": n},
                   description=f"ablation: {n} fine token{'s' if n > 1 else ''} (pseudo-words) instead of 4", **_COMMON)
      for n in (1, 2, 8)),
    # The full text as that summary reads it (FIDELITY.md): fine tokens from the first three stages,
    # TGCA from the text alone, TGSA by dot products, scene-template coarse prompts.
    ModelVariant("dgspnet_full_text_reading", _BUILDER,
                 {**_FULL, "fine_source": "stages_1_3", "tgca_inputs": "text", "tgsa_similarity": "dot",
                  "coarse_texts": SCENE_COARSE_PROMPTS},
                 description="the full text's third-party reading (unverified): FIDELITY.md", **_COMMON),
)
