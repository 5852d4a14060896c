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

Switches that read the paper's section 3 (constructor arguments; every default is the reading the
smoke runs were made with, and the ``paper`` profile's SAIST protocol selects the paper's; the
sentence-by-sentence account is ``FIDELITY.md`` beside this file):

- ``clip_image_train``: what CLIP's frozen image encoder sees in training. ``"whole"`` (default):
  the image. ``"targets_removed"`` (Fig. 2: "the frozen image encoder processes infrared images
  without target"): the image with its targets hidden by the same ring-median removal the scene
  descriptions use (:func:`irstd_lib.text.descriptions.statistics.mask_out_targets`), from the
  training mask the condition carries (``condition["target_mask"]``, which the ``scene_prompt``
  conditioner adds from the training batch). SAM and the depth head always see the whole image.
- ``clip_image_test``: the same at test time, where the paper is silent and the mask is no model
  input. ``"whole"`` (default, and the paper profile's). ``"targets_removed_by_ground_truth"``:
  the test image's ground-truth mask removes its targets, so the model **reads test ground
  truth**: :attr:`SAIST.reads_test_ground_truth` is then True, and its run's record and every
  table row and caption that show it say so (:mod:`irstd_lib.runs.ground_truth`, from
  :func:`ground_truth_inputs_at_test`). The run layer then makes the conditioner ask for the
  test masks (:meth:`~irstd_lib.conditioning.PreparedCondition.reading_test_masks`): the
  evaluation puts each test image's mask, prepared as the image is, in the batch, and the
  ``scene_prompt`` conditioner hands it on as ``condition["target_mask"]``.
- ``visual_source``, ``projection_width_factor``, ``relation_temperature``: SR-CLIP's Visual input,
  widened projection and the temperature of eqs. 1-2 (:mod:`.sr_clip`).
- ``text_encoder``: ``"frozen"`` (default) or ``"finetune"`` (3.1 freezes only "the image
  encoder"): CLIP's text tower (token and positional embeddings, transformer, ``ln_final``,
  ``text_projection``) trains, in its own parameter group ``"clip_text"`` at
  ``text_encoder_lr_scale`` (default 0.01, as LGNet's ``clip_text_lr_scale``; the paper gives
  none) times the run's learning rate.
- ``imaging_tokens``, ``depth_input``, ``depth_readout``, ``depth_bins``, ``depth_range``: CG-SAM's
  imaging decoder (:mod:`.imaging_decoder`, :mod:`.depth_head`).

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

__all__ = ["CLIP_IMAGE_TEST", "CLIP_IMAGE_TRAIN", "GUIDANCES", "SAIST", "TEXT_ENCODER_MODES", "build_saist",
           "ground_truth_inputs_at_test", "remove_targets"]

GUIDANCES = ("sr_clip", "clip", "coop", None)
CLIP_IMAGE_TRAIN = ("whole", "targets_removed")
CLIP_IMAGE_TEST = ("whole", "targets_removed_by_ground_truth")
TEXT_ENCODER_MODES = ("frozen", "finetune")


def ground_truth_inputs_at_test(guidance: str | None = "sr_clip", clip_image_test: str = "whole", **_other: Any) -> tuple[str, ...]:
    """The model's inputs that read a test image's ground-truth mask, in words, from its keyword
    arguments (what :attr:`SAIST.reads_test_ground_truth` says of a built model; the run layer
    reads it from a run's config to label its record, :mod:`irstd_lib.runs.ground_truth`)."""
    if guidance is None or clip_image_test != "targets_removed_by_ground_truth":
        return ()
    return ("CLIP's image encoder: the test image with its targets removed by its ground-truth mask "
            "(SAIST clip_image_test='targets_removed_by_ground_truth')",)


def remove_targets(image01: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """(B, 1, H, W) images in [0, 1] with the targets of the (B, 1, H, W) mask hidden, by the scene
    descriptions' removal (ring-median inpainting, :func:`~irstd_lib.text.descriptions.statistics.mask_out_targets`).
    No gradient: it only feeds CLIP's frozen image encoder."""
    from irstd_lib.text.descriptions.statistics import mask_out_targets

    if mask.shape[0] != image01.shape[0] or mask.shape[-2:] != image01.shape[-2:]:
        raise ValueError(f"target_mask of shape {tuple(mask.shape)} does not match the images {tuple(image01.shape)}")
    images = image01.detach()[:, 0].float().cpu().numpy()
    masks = (mask.detach().reshape(mask.shape[0], *mask.shape[-2:]) > 0.5).cpu().numpy()
    removed = [torch.from_numpy(mask_out_targets(img, m)) for img, m in zip(images, masks)]
    return torch.stack(removed)[:, None].to(device=image01.device, dtype=image01.dtype)


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
        clip_image_train: str = "whole",
        clip_image_test: str = "whole",
        visual_source: str = "text_encoder",
        projection_width_factor: float | None = None,
        text_encoder: str = "frozen",
        text_encoder_lr_scale: float = 0.01,
        relation_temperature: str = "learnable",
        imaging_tokens: str = "extra",
        depth_input: str = "image",
        depth_readout: str = "regression",
        depth_bins: int = 16,
        depth_range: tuple[float, float] = (0.1, 10.0),
    ) -> None:
        super().__init__()
        if guidance not in GUIDANCES:
            raise ValueError(f"guidance must be one of {GUIDANCES}, got {guidance!r}")
        for name, value, allowed in (("clip_image_train", clip_image_train, CLIP_IMAGE_TRAIN),
                                     ("clip_image_test", clip_image_test, CLIP_IMAGE_TEST),
                                     ("text_encoder", text_encoder, TEXT_ENCODER_MODES)):
            if value not in allowed:
                raise ValueError(f"{name} must be one of {allowed}, got {value!r}")
        if not float(text_encoder_lr_scale) >= 0:
            raise ValueError(f"text_encoder_lr_scale must be >= 0, got {text_encoder_lr_scale!r}")
        self.guidance_kind = guidance
        self.clip_image_train, self.clip_image_test = clip_image_train, clip_image_test
        self.text_encoder_mode, self.text_encoder_lr_scale = text_encoder, float(text_encoder_lr_scale)
        self.sam = CGSAM(sam, sam_checkpoint, decoder, lora_rank, depth_width, train_encoder, prior_probability,
                         imaging_tokens=imaging_tokens, depth_input=depth_input, depth_readout=depth_readout,
                         depth_bins=depth_bins, depth_range=tuple(depth_range))
        dim = self.sam.config.prompt_dim
        self.clip: FrozenClip | None = None
        self.guidance: nn.Module | None = None
        if guidance is not None:
            self.clip = FrozenClip(clip, clip_checkpoint, seed=clip_seed)
            train_text = text_encoder == "finetune"
            if train_text:
                # The text tower trains; the image encoder (and the unused logit scale) stays frozen.
                for name, p in self.clip.model.named_parameters():
                    if not name.startswith("visual.") and not name.startswith("logit_"):
                        p.requires_grad_(True)
            heads = 8 if dim % 8 == 0 and dim >= 64 else 2
            self.guidance = {
                "sr_clip": lambda: SRClip(self.clip, dim, n_objects, heads, mmd_weight, visual_source=visual_source,
                                          projection_width_factor=projection_width_factor, train_text=train_text,
                                          relation_temperature=relation_temperature),
                "clip": lambda: ClipPrompts(self.clip, dim, train_text=train_text),
                "coop": lambda: CoOpPrompts(self.clip, dim, coop_context),
            }[guidance]()
        self.n_objects = n_objects
        self.conditioning = SCENE_PROMPT if guidance is not None else NO_CONDITION
        self.input_spec = InputSpec(channels=3, mean=SAM_PIXEL_MEAN, std=SAM_PIXEL_STD, size_multiple=self.sam.config.patch_size)

    @property
    def reads_test_ground_truth(self) -> bool:
        """True when the model reads a test image's ground-truth mask at test time (CLIP fed the
        image with its targets removed by the ground truth): a record and every caption that
        shows its results must say so."""
        return bool(ground_truth_inputs_at_test(self.guidance_kind, self.clip_image_test))

    def clip_view(self, image01: torch.Tensor, condition: dict) -> torch.Tensor:
        """The image CLIP's image encoder sees: whole, or with its targets removed (see the
        module docstring: ``clip_image_train`` in training mode, ``clip_image_test`` in eval)."""
        removing = self.clip_image_train == "targets_removed" if self.training else self.reads_test_ground_truth
        if not removing:
            return image01
        mask = condition.get("target_mask") if isinstance(condition, dict) else None
        if mask is None:
            when = "training (clip_image_train='targets_removed')" if self.training else \
                "test (clip_image_test='targets_removed_by_ground_truth')"
            raise ValueError(f"SAIST removes the targets from CLIP's image in {when} and needs the mask as "
                             "condition['target_mask'] (B, 1, H, W)")
        return remove_targets(image01, mask)

    def to_unit_gray(self, image: torch.Tensor) -> torch.Tensor:
        """The (B, 1, H, W) [0, 1] image back from the SAM-normalised input (its first channel)."""
        return image[:, :1] * SAM_PIXEL_STD[0] + SAM_PIXEL_MEAN[0]

    def forward(self, image: torch.Tensor, condition: Any = None) -> dict[str, Any]:
        image01 = self.to_unit_gray(image)
        prompts, aux_losses = None, {}
        if self.guidance is not None:
            if condition is None:
                raise ValueError(f"SAIST with {self.guidance_kind} guidance needs each image's scene prompt (condition)")
            prompts, aux_losses = self.guidance(self.clip, self.clip_view(image01, condition), condition)
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
        groups: dict[str, list[nn.Parameter]] = {"lora": [], "encoder": [], "decoder": [], "imaging": [], "guidance": [],
                                                 "clip_text": []}
        for name, p in self.named_parameters():
            if not p.requires_grad:
                continue
            if name.startswith("clip."):
                groups["clip_text"].append(p)  # only with text_encoder="finetune"
            elif name.startswith("sam.image_encoder."):
                groups["lora" if "lora_" in name else "encoder"].append(p)
            elif name.startswith(("sam.head.depth.", "sam.head.beta_raw")):
                groups["imaging"].append(p)
            elif name.startswith("guidance."):
                groups["guidance"].append(p)
            else:
                groups["decoder"].append(p)
        return [ParamGroup(name, params, lr_scale=self.text_encoder_lr_scale) if name == "clip_text" else ParamGroup(name, params)
                for name, params in groups.items() if params]

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
