"""GroundingDINO + SAM (Grounded-SAM, Ren et al. 2024) fine-tuned for IRSTD: LGNet's section 5.6.3
baseline.

What the LGNet paper says of it (section 5.6.3, "GroundingDINO + SAM Baseline"), in full on the
setup: "we finetune a pre-trained GroundingDINO+SAM (Ren, Liu, Zeng, ... 2024) model for IRSTD.
However, the results (on IRSTD-1K dataset), with an IoU of 66.2 and an nIoU of 65.4, are not
satisfactory because GroundingDINO+SAM is not designed for small target detection." It gives no
prompt, no thresholds, no loss, no schedule and does not say which parts were fine-tuned; every
choice below is the simplest that does what Grounded-SAM does, written down and swappable::

    image (gray, replicated to RGB, ImageNet mean/std: GroundingDINO's and SAM's are the same numbers)
      -> resized to ``image_size`` (SAM's input size: 1024 for the official SAMs)
      -> GroundingDINO(image, "small target.")        per query q: score s_q, box b_q (detector.py)
      -> the ``top_k`` queries by score; their boxes, in SAM's pixel frame, as SAM's box prompts
      -> SAM: image encoder once, prompt encoder + mask decoder once per box (single-mask output)
      -> masks m_k (logits), upsampled to the input size
      -> logits = logit(1 - prod_k (1 - s_k * sigmoid(m_k)))     (``combine="noisy_or"``)

- Prompt: "small target." (``prompt``): the brief's, and the words of the paper's own
  descriptions; one phrase, ended with a full stop as GroundingDINO's captions are.
- Combining the boxes' masks: Grounded-SAM keeps the boxes whose score passes a box threshold
  (0.3 in its demo) and takes the union of their masks. A hard threshold passes no gradient to the
  scores, so the default is its soft form, a score-weighted noisy-or over the ``top_k`` boxes,
  used in training and at test alike. ``combine="threshold"`` is Grounded-SAM's own rule
  (``box_threshold``; the union as the maximum of the kept boxes' mask logits; no box kept: an
  empty map), for evaluating a model as the demo runs it.
- Fine-tuning through the package's engine, whose loss sees the model's outputs and the mask only
  (the model contract, :mod:`irstd_lib.models.base`): the final map above is trained by the
  recipe's loss, and the detector also through ``aux_logits[0]``, its boxes drawn as a map
  (each query's box as a product of sigmoids of the signed distances to its four sides over half
  a pixel, so that a 3x3 box's centre pixel is covered at 0.8, weighted by its score, combined by noisy-or over every query). GroundingDINO's own
  Hungarian-matched box loss would need boxes as targets, which the contract does not pass.
- What trains (``train_sam_encoder``): GroundingDINO whole and SAM's prompt encoder and mask
  decoder; SAM's image encoder is frozen by default (the usual way SAM is fine-tuned on few
  images, and what keeps ViT-H affordable), ``train_sam_encoder=True`` trains it too.
- Weights: ``detector_checkpoint`` (a local GroundingDINO ``model.safetensors`` in its
  ``save_pretrained`` folder, with its tokenizer) and ``sam_checkpoint`` (an official SAM file such as ``sam_vit_h_4b8939.pth``);
  without them the weights are random (tests, smoke). Nothing is downloaded. Grounded-SAM's
  demo pairs GroundingDINO Swin-T with SAM ViT-H: the defaults ``detector="swin_t"``,
  ``sam="vit_h"``.

Checkpoints hold everything but a frozen SAM image encoder read from ``sam_checkpoint`` (it is
rebuilt from that file).
"""

from __future__ import annotations

import os
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from irstd_lib.models.base import InputSpec, IRSTDModel, ParamGroup
from irstd_lib.models.grounding_sam.detector import TEXT_PROMPT, Detections, GroundingDetector
from irstd_lib.models.saist.mask_decoding import sam_mask, two_way_pass
from irstd_lib.models.saist.sam_backbone import SAM_PIXEL_MEAN, SAM_PIXEL_STD, build_sam_parts, encode_image, load_sam_checkpoint

__all__ = ["COMBINE_RULES", "GroundingSAM", "box_map_logits", "build_grounding_sam"]

COMBINE_RULES = ("noisy_or", "threshold")
_EPS = 1e-6
_EMPTY_LOGIT = -20.0  # "no target" where no box is kept (combine="threshold"): sigmoid ~ 2e-9


def _logit(p: torch.Tensor) -> torch.Tensor:
    p = p.clamp(_EPS, 1.0 - _EPS)
    return torch.log(p) - torch.log1p(-p)


def box_map_logits(scores: torch.Tensor, boxes: torch.Tensor, height: int, width: int, softness: float = 0.5) -> torch.Tensor:
    """(B, 1, H, W) logits of the detections drawn as a map: query q's box (cx, cy, w, h on the
    [0, 1] scale) is ``sigmoid(dx0) sigmoid(dx1) sigmoid(dy0) sigmoid(dy1)`` of the signed pixel
    distances to its sides over ``softness`` pixels, weighted by its score; the queries combined
    by noisy-or. Differentiable in the scores and the boxes."""
    cx, cy, w, h = boxes.unbind(-1)  # (B, Q)
    xs = (torch.arange(width, device=boxes.device, dtype=boxes.dtype) + 0.5) / width
    ys = (torch.arange(height, device=boxes.device, dtype=boxes.dtype) + 0.5) / height
    inside_x = (torch.sigmoid((xs - (cx - w / 2)[..., None]) * width / softness)
                * torch.sigmoid(((cx + w / 2)[..., None] - xs) * width / softness))  # (B, Q, W)
    inside_y = (torch.sigmoid((ys - (cy - h / 2)[..., None]) * height / softness)
                * torch.sigmoid(((cy + h / 2)[..., None] - ys) * height / softness))  # (B, Q, H)
    covered = scores[..., None, None] * inside_y[..., :, None] * inside_x[..., None, :]  # (B, Q, H, W)
    miss = torch.log1p(-covered.clamp(max=1.0 - _EPS)).sum(dim=1, keepdim=True)  # log prod (1 - p)
    return _logit(-torch.expm1(miss))


class GroundingSAM(IRSTDModel):
    """GroundingDINO + SAM (see the module docstring). Returns logits at the input size."""

    input_spec = InputSpec(channels=3, mean=SAM_PIXEL_MEAN, std=SAM_PIXEL_STD)

    def __init__(self, detector: str = "swin_t", sam: str = "vit_h", detector_checkpoint: str | os.PathLike | None = None,
                 sam_checkpoint: str | os.PathLike | None = None, prompt: str = TEXT_PROMPT, top_k: int = 10,
                 combine: str = "noisy_or", box_threshold: float = 0.3, train_sam_encoder: bool = False,
                 box_map_supervision: bool = True, image_size: int | None = None) -> None:
        super().__init__()
        if combine not in COMBINE_RULES:
            raise ValueError(f"combine must be one of {COMBINE_RULES}, got {combine!r}")
        if not 0.0 < box_threshold < 1.0:
            raise ValueError(f"box_threshold must be in (0, 1), got {box_threshold}")
        self.detector = GroundingDetector(detector, detector_checkpoint, prompt)
        queries = int(self.detector.model.config.num_queries)
        if not 1 <= top_k <= queries:
            raise ValueError(f"top_k must be between 1 and the detector's {queries} queries, got {top_k}")
        parts = build_sam_parts(sam)
        if sam_checkpoint is not None:
            load_sam_checkpoint(sam_checkpoint, parts)
        self.sam_image_encoder, self.sam_prompt_encoder, self.sam_mask_decoder = (
            parts.image_encoder, parts.prompt_encoder, parts.mask_decoder)
        self.sam_config = parts.config
        self.image_size = int(image_size or parts.config.image_size)
        if self.image_size < 128:  # GroundingDINO's coarsest level is 1/64 of its input: 1x1 breaks its GroupNorm
            raise ValueError(f"image_size must be at least 128 (GroundingDINO's coarsest level is 1/64 of it), got {self.image_size}")
        if self.image_size % parts.config.patch_size:
            raise ValueError(f"image_size {self.image_size} must be a multiple of SAM's patch size {parts.config.patch_size}")
        self.top_k, self.combine, self.box_threshold = int(top_k), combine, float(box_threshold)
        self.train_sam_encoder = bool(train_sam_encoder)
        self.box_map_supervision = bool(box_map_supervision)
        self._encoder_from_file = sam_checkpoint is not None
        if not self.train_sam_encoder:
            self.sam_image_encoder.requires_grad_(False)

    # -- the two stages -------------------------------------------------------------------------
    def detect(self, image: torch.Tensor) -> Detections:
        """GroundingDINO on the normalised RGB image at the model's size."""
        return self.detector(self._resized(image))

    def _resized(self, image: torch.Tensor) -> torch.Tensor:
        if tuple(image.shape[-2:]) == (self.image_size, self.image_size):
            return image
        return F.interpolate(image, size=(self.image_size, self.image_size), mode="bilinear", align_corners=False)

    def box_masks(self, image: torch.Tensor, boxes: torch.Tensor) -> torch.Tensor:
        """(B, K, h, w) SAM mask logits (SAM's low-resolution grid) for K boxes per image given as
        (cx, cy, w, h) on the [0, 1] scale."""
        b, k = boxes.shape[:2]
        resized = self._resized(image)
        with torch.set_grad_enabled(torch.is_grad_enabled() and self.train_sam_encoder):
            embeddings = encode_image(self.sam_image_encoder, resized, self.sam_config.global_attn_indexes)["late"]
        cx, cy, w, h = boxes.unbind(-1)
        corners = torch.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], dim=-1).clamp(0.0, 1.0)
        # SAM's prompt frame is its input size in pixels (PromptEncoder adds 0.5 and divides by it).
        sparse = self.sam_prompt_encoder._embed_boxes(corners.reshape(b * k, 4) * self.sam_config.image_size - 0.5)
        repeated = embeddings.repeat_interleave(k, dim=0)
        result = two_way_pass(self.sam_mask_decoder, self.sam_prompt_encoder, repeated, sparse)
        masks = sam_mask(self.sam_mask_decoder, result)  # (B*K, 1, 4h', 4w')
        return masks.view(b, k, *masks.shape[-2:])

    def forward(self, image: torch.Tensor, condition: Any = None) -> dict[str, Any]:
        if image.ndim != 4 or image.shape[1] != 3:
            raise ValueError(f"image must be a normalised (B, 3, H, W) batch, got {tuple(image.shape)}")
        height, width = image.shape[-2:]
        found = self.detect(image)
        top = found.scores.topk(self.top_k, dim=1).indices  # (B, K)
        scores = found.scores.gather(1, top)
        boxes = found.boxes.gather(1, top[..., None].expand(-1, -1, 4))
        masks = F.interpolate(self.box_masks(image, boxes), size=(height, width), mode="bilinear", align_corners=False)
        if self.combine == "noisy_or":
            covered = scores[..., None, None] * torch.sigmoid(masks)
            logits = _logit(-torch.expm1(torch.log1p(-covered.clamp(max=1.0 - _EPS)).sum(dim=1, keepdim=True)))
        else:
            kept = (scores > self.box_threshold)[..., None, None]
            logits = masks.masked_fill(~kept, _EMPTY_LOGIT).amax(dim=1, keepdim=True)
        aux = [box_map_logits(found.scores, found.boxes, height, width)] if self.box_map_supervision else []
        return {"logits": logits, "aux_logits": aux, "aux_losses": {}}

    def inspection_maps(self, image: torch.Tensor, condition: Any = None) -> dict[str, torch.Tensor]:
        """The detector's boxes drawn as a map (what SAM was prompted with, by score)."""
        with torch.no_grad():
            found = self.detect(image)
            return {"boxes": torch.sigmoid(box_map_logits(found.scores, found.boxes, *image.shape[-2:]))}

    # -- what trains, and what a checkpoint holds ----------------------------------------------------
    def parameter_groups(self) -> list[ParamGroup]:
        groups = [ParamGroup("detector", [p for p in self.detector.parameters() if p.requires_grad]),
                  ParamGroup("sam_prompt_and_decoder", [p for m in (self.sam_prompt_encoder, self.sam_mask_decoder)
                                                        for p in m.parameters() if p.requires_grad])]
        if self.train_sam_encoder:
            groups.append(ParamGroup("sam_image_encoder", [p for p in self.sam_image_encoder.parameters() if p.requires_grad]))
        return [g for g in groups if g.params]

    def checkpoint_state_dict(self) -> dict[str, torch.Tensor]:
        state = self.state_dict()
        if self._encoder_from_file and not self.train_sam_encoder:
            return {k: v for k, v in state.items() if not k.startswith("sam_image_encoder.")}
        return state

    def parameter_breakdown(self) -> dict[str, tuple[int, int]]:
        def count(*modules) -> tuple[int, int]:
            params = [p for m in modules for p in m.parameters()]
            return sum(p.numel() for p in params), sum(p.numel() for p in params if p.requires_grad)

        return {"GroundingDINO": count(self.detector), "SAM image encoder": count(self.sam_image_encoder),
                "SAM prompt encoder and mask decoder": count(self.sam_prompt_encoder, self.sam_mask_decoder)}


def build_grounding_sam(**kwargs: Any) -> GroundingSAM:
    """The registry's builder (a trained checkpoint is loaded by the registry after building)."""
    return GroundingSAM(**kwargs)
