"""SAIST (Zhang et al., "SAIST: Segment Any Infrared Small Target Model Guided by Contrastive
Language-Image Pretraining", CVPR 2025): SR-CLIP guiding a LoRA-tuned SAM whose mask decoder
undoes the infrared imaging equation. No public code exists; the paper (as summarised in the
package's design notes) is the specification and every choice is stated in the component files.

``SAIST(guidance, decoder, sam, clip, ...)`` combines

- a **guidance** (``"sr_clip"``: :mod:`.sr_clip`; ``"clip"``: plain CLIP prompts; ``"coop"``: a
  CoOp prompt learner, both in :mod:`.prompt_learners`; ``None``: no text, SAM alone), reading a
  frozen CLIP (:mod:`irstd_lib.models.frozen_clip`) and each image's scene prompt (the condition);
- a **segmenter** (:mod:`.cg_sam`): SAM with LoRA and the ``"cg"`` (imaging equation), ``"sam"``
  or ``"hq"`` decoder.

The registered variants (``irstd_lib.models.saist``) are the rows of the paper's ablations. The
model follows the package's contract: ``input_spec`` is SAM's (the gray image replicated to RGB,
normalised with SAM's ImageNet statistics, sides multiples of the patch size; the image is also
given back in [0, 1] to CLIP and the depth head); the condition is the ``scene_prompt`` kind's
``{"prompt", "scene", "objects"}`` (``None`` without guidance); the output holds the imaging
maps ``I``, ``A``, ``d`` beside the logits when the decoder is ``"cg"``; parameter groups are
``lora``, ``decoder``, ``imaging`` and ``guidance`` (and ``encoder`` with ``train_encoder=True``).

Size. The paper's counts imply that SAIST adds 389.57 - 383.28 = 6.29 M parameters to SAM + CLIP;
its text gives no widths for the parts it adds. Here, at vit_b and ViT-B-16, SR-CLIP has 3.16 M
and the imaging decoder 2.45 M plus its depth network; the depth network's width
(``depth_width=42``) is the one free width, chosen so that ``saist`` minus ``clip_sam`` is about
6.2 M (measured by ``python -m irstd_lib profile`` and the model catalogue). A checkpoint holds only what trains (and the
buffers): the frozen SAM and CLIP weights come back from their own files (or the same seed).
"""

from __future__ import annotations

import os
from typing import Any

import torch
from torch import nn

from irstd_lib.models.base import NO_CONDITION, SCENE_PROMPT, InputSpec, IRSTDModel, ParamGroup
from irstd_lib.models.saist.cg_sam import CGSAM
from irstd_lib.models.frozen_clip import FrozenClip
from irstd_lib.models.saist.prompt_learners import ClipPrompts, CoOpPrompts, scene_condition
from irstd_lib.models.saist.sam_backbone import SAM_PIXEL_MEAN, SAM_PIXEL_STD
from irstd_lib.models.saist.sr_clip import SRClip

__all__ = ["GUIDANCES", "SAIST", "build_saist"]

GUIDANCES = ("sr_clip", "clip", "coop", None)


class SAIST(IRSTDModel):
    def __init__(
        self,
        guidance: str | None = "sr_clip",
        decoder: str = "cg",
        sam: str = "vit_b",
        clip: str = "ViT-B-16",
        sam_checkpoint: str | os.PathLike | None = None,
        clip_checkpoint: str | os.PathLike | None = None,
        lora_rank: int = 4,
        mmd_weight: float = 0.1,
        n_objects: int = 3,
        coop_context: int = 16,
        depth_width: int = 42,
        train_encoder: bool = False,
        prior_probability: float | None = 0.01,
        clip_seed: int = 0,
    ) -> None:
        super().__init__()
        if guidance not in GUIDANCES:
            raise ValueError(f"guidance must be one of {GUIDANCES}, got {guidance!r}")
        self.guidance_kind = guidance
        self.sam = CGSAM(sam, sam_checkpoint, decoder, lora_rank, depth_width, train_encoder, prior_probability)
        dim = self.sam.config.prompt_dim
        self.clip: FrozenClip | None = None
        self.guidance: nn.Module | None = None
        if guidance is not None:
            self.clip = FrozenClip(clip, clip_checkpoint, seed=clip_seed)
            heads = 8 if dim % 8 == 0 and dim >= 64 else 2
            self.guidance = {
                "sr_clip": lambda: SRClip(self.clip, dim, n_objects, heads, mmd_weight),
                "clip": lambda: ClipPrompts(self.clip, dim),
                "coop": lambda: CoOpPrompts(self.clip, dim, coop_context),
            }[guidance]()
        self.n_objects = n_objects
        self.conditioning = SCENE_PROMPT if guidance is not None else NO_CONDITION
        self.input_spec = InputSpec(channels=3, mean=SAM_PIXEL_MEAN, std=SAM_PIXEL_STD, size_multiple=self.sam.config.patch_size)

    def to_unit_gray(self, image: torch.Tensor) -> torch.Tensor:
        """The (B, 1, H, W) [0, 1] image back from the SAM-normalised input (its first channel)."""
        return image[:, :1] * SAM_PIXEL_STD[0] + SAM_PIXEL_MEAN[0]

    def forward(self, image: torch.Tensor, condition: Any = None) -> dict[str, Any]:
        image01 = self.to_unit_gray(image)
        prompts, aux_losses = None, {}
        if self.guidance is not None:
            if condition is None:
                raise ValueError(f"SAIST with {self.guidance_kind} guidance needs each image's scene prompt (condition)")
            prompts, aux_losses = self.guidance(self.clip, image01, condition)
        out = self.sam(image, image01, prompts)
        logits = out.pop("logits")
        return {"logits": logits, "aux_logits": [], "aux_losses": aux_losses, **({"imaging": out} if out else {})}

    def guidance_map(self, image01: torch.Tensor, condition: dict) -> torch.Tensor:
        """(B, 1, H, W): where the guidance looks. SR-CLIP: for each CLIP patch, the largest weight
        any object's pooling gives it; CLIP and CoOp: the softmax over patches of the cosine
        similarity between the prompt's text feature and each patch token. Upsampled (nearest)
        from CLIP's patch grid to the image; each map sums to 1 over the grid."""
        import torch.nn.functional as F

        from irstd_lib.models.saist.relations import cosine_softmax

        if self.guidance_kind == "sr_clip":
            weights = self.guidance.description_sets(self.clip, image01, condition)["object_pooling"].max(dim=1).values
        else:
            text = (self.clip.encode_texts(condition["prompt"]) if self.guidance_kind == "clip"
                    else self.guidance.encode_prompts(self.clip, condition["prompt"]))
            _, patches = self.clip.encode_images(image01)
            weights = cosine_softmax(text.float()[:, None], patches.float(), torch.zeros(()))[:, 0]
        grid = int(round(weights.shape[-1] ** 0.5))
        return F.interpolate(weights.reshape(-1, 1, grid, grid), size=image01.shape[-2:], mode="nearest")

    def inspection_maps(self, image: torch.Tensor, condition: Any = None) -> dict[str, torch.Tensor]:
        """The guidance map (with text) and, for the imaging decoder, ``I``, ``A``, ``d`` and ``J``."""
        maps: dict[str, torch.Tensor] = {}
        with torch.no_grad():
            if self.guidance is not None:
                maps["guidance"] = self.guidance_map(self.to_unit_gray(image), condition)
            out = self.forward(image, condition)
            if "imaging" in out:
                maps.update({key: out["imaging"][key] for key in ("I", "A", "d")})
                maps["J"] = out["logits"]
        return maps

    def example_condition(self, batch: int, generator: torch.Generator | None = None) -> dict | None:
        if self.guidance is None:
            return None
        from irstd_lib.text.scene_vocabulary import OBJECTS, SCENES

        g = generator if generator is not None else torch.Generator().manual_seed(0)
        scenes = [SCENES[int(i)] for i in torch.randint(len(SCENES), (batch,), generator=g)]
        objects = [[OBJECTS[int(i)] for i in torch.randperm(len(OBJECTS), generator=g)[: self.n_objects]] for _ in range(batch)]
        return scene_condition(scenes, objects)

    # -- what trains, and what a checkpoint holds ----------------------------------------------------
    def parameter_groups(self) -> list[ParamGroup]:
        groups: dict[str, list[nn.Parameter]] = {"lora": [], "encoder": [], "decoder": [], "imaging": [], "guidance": []}
        for name, p in self.named_parameters():
            if not p.requires_grad:
                continue
            if name.startswith("sam.image_encoder."):
                groups["lora" if "lora_" in name else "encoder"].append(p)
            elif name.startswith(("sam.head.depth.", "sam.head.beta_raw")):
                groups["imaging"].append(p)
            elif name.startswith("guidance."):
                groups["guidance"].append(p)
            else:
                groups["decoder"].append(p)
        return [ParamGroup(name, params) for name, params in groups.items() if params]

    def checkpoint_state_dict(self) -> dict[str, torch.Tensor]:
        """The trainable parameters and the buffers: not the frozen SAM and CLIP weights."""
        frozen = {name for name, p in self.named_parameters() if not p.requires_grad}
        return {k: v for k, v in self.state_dict().items() if k not in frozen}

    def parameter_breakdown(self) -> dict[str, tuple[int, int]]:
        """``part -> (total, trainable)`` parameters of SAIST's parts (the CLIP text side is
        everything of CLIP but its image encoder, the logit scale included)."""

        def count(params) -> tuple[int, int]:
            params = list(params)
            return sum(p.numel() for p in params), sum(p.numel() for p in params if p.requires_grad)

        out = {"SAM image encoder": count(self.sam.image_encoder.parameters()),
               "LoRA adapters (inside the image encoder)": count(p for n, p in self.sam.image_encoder.named_parameters() if "lora_" in n),
               "SAM prompt encoder": count(self.sam.prompt_encoder.parameters()),
               "SAM mask decoder": count(self.sam.mask_decoder.parameters())}
        if self.sam.head is not None:
            out["HQ head" if self.sam.decoder_kind == "hq" else "imaging decoder"] = count(self.sam.head.parameters())
        if self.clip is not None:
            visual = count(self.clip.model.visual.parameters())
            total = count(self.clip.model.parameters())
            out["CLIP image encoder"] = visual
            out["CLIP text encoder"] = (total[0] - visual[0], total[1] - visual[1])
            out[{"sr_clip": "SR-CLIP", "clip": "CLIP prompt maps", "coop": "CoOp"}[self.guidance_kind]] = count(self.guidance.parameters())
        return out


def build_saist(checkpoint: str | os.PathLike | None = None, **kwargs: Any) -> SAIST:
    """The registry's builder. ``checkpoint``: a trained SAIST checkpoint (ours: the trainable
    parts), loaded after the frozen SAM and CLIP are built from ``sam_checkpoint`` and
    ``clip_checkpoint``."""
    model = SAIST(**kwargs)
    if checkpoint is not None:
        from irstd_lib.models.weights import load_weights

        load_weights(checkpoint, model)
    return model
