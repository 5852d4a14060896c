"""CG-SAM's imaging-equation decoder: the mask decoder predicts what the atmosphere did to the
scene, and the infrared imaging equation undoes it.

The observed image follows ``I = J t + A (1 - t)``, ``t = exp(-beta d)`` (:mod:`irstd_lib.imaging_equation`,
the same equation the synthetic scenes are made with). The decoder predicts, per pixel:

- ``I(z)``: the degraded image, and ``A(z)``: the background (airlight), each from an output
  token of its own in SAM's two-way transformer (like HQ-SAM's extra token) and a hypernetwork
  over the early/late fused map (:mod:`.feature_fusion`), at 1/4 of the embedding's resolution
  x 4, upsampled bilinearly to the input;
- ``d(z)``: the depth, from a small ResNet on the input image (:mod:`.depth_head`);
- ``beta``: one learnable attenuation coefficient, kept positive by a softplus (initial 0.1).

Then ``J = I e^(beta d) - A (e^(beta d) - 1)`` (``recover_radiance``, eq. 14) is the clear-scene
response and serves as the target logits (the mask is read from J: sigmoid, then the threshold).

What supervises I and A: nothing directly. IRSTD datasets have masks only, no degraded or
background images, so the segmentation loss on J (through eq. 14) is the only signal; I, A and d
are latent maps whose roles the equation's structure gives (J is linear in I with slope
``e^(beta d)`` and in A with slope ``1 - e^(beta d)``), as the paper trains them ("we apply the
infrared imaging equation to achieve precise detection"; it names no other loss).

Switches (the paper's 3.3.2 and eqs. 11-12; defaults are the readings above, which the smoke runs
were made with; the ``paper`` profile selects the paper's):

- ``tokens``: ``"extra"`` (default): I and A each from a new output token, as above.
  ``"sam"`` (3.3.2: "text_prompt and visual_prompt effectively extract and identify background
  features A(z)"; "we feed the learnable output token from SAM and the image embeddings ... it
  ultimately generates the infrared degraded image I(z)"): **A** is read from the prompt tokens'
  outputs of SAM's two-way transformer (their mean, a reading: the paper does not say how the
  several prompt tokens give one map) through a new hypernetwork; **I** from SAM's own output
  token (mask token 0) through SAM's own hypernetwork (``output_hypernetworks_mlps[0]``, which
  then trains); no token is added. Both read the early/late fused map.
- ``depth_input``: ``"image"`` (default): d from the observed image in [0, 1]. ``"degraded"``
  (eqs. 11-12: "d(z) = F(I(z))", "F(I(z)) = ResNet(I(z))"): d from the decoder's I, as written.
- ``depth_readout`` (``"regression"`` / ``"bins"``), ``depth_bins``, ``depth_range``: see
  :mod:`.depth_head`. Numerical safety (where the paper is silent): the transmission
is clamped from below at ``e^-max_exponent`` (``max_exponent`` 4, so the amplification is at most
e^4 = 55) and the logits to +-30 (a sigmoid is saturated well before). With ``beta = 0`` the
transmission is 1 and ``J = I``.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from irstd_lib.imaging_equation import recover_radiance
from irstd_lib.models.saist.depth_head import DepthHead
from irstd_lib.models.saist.feature_fusion import EarlyLateFusion

__all__ = ["DEPTH_INPUTS", "IMAGING_TOKENS", "ImagingDecoder"]

IMAGING_TOKENS = ("extra", "sam")
DEPTH_INPUTS = ("image", "degraded")


class ImagingDecoder(nn.Module):
    """Two output tokens (I, A), their hypernetworks, the fusion, the depth head and beta."""

    def __init__(self, vit_dim: int, dim: int, depth_width: int = 42, beta_init: float = 0.1, max_exponent: float = 4.0,
                 logit_limit: float = 30.0, tokens: str = "extra", depth_input: str = "image", depth_readout: str = "regression",
                 depth_bins: int = 16, depth_range: tuple[float, float] = (0.1, 10.0)) -> None:
        super().__init__()
        from segment_anything.modeling.mask_decoder import MLP

        if tokens not in IMAGING_TOKENS:
            raise ValueError(f"imaging tokens must be one of {IMAGING_TOKENS}, got {tokens!r}")
        if depth_input not in DEPTH_INPUTS:
            raise ValueError(f"depth_input must be one of {DEPTH_INPUTS}, got {depth_input!r}")
        self.tokens_from, self.depth_input = tokens, depth_input
        # "sam": no new tokens and SAM's own hypernetwork reads I (the caller passes it).
        self.tokens = nn.Embedding(2, dim) if tokens == "extra" else None
        self.image_mlp = MLP(dim, dim, dim // 8, 3) if tokens == "extra" else None
        self.background_mlp = MLP(dim, dim, dim // 8, 3)
        self.fusion = EarlyLateFusion(vit_dim, dim)
        self.depth = DepthHead(depth_width, readout=depth_readout, bins=depth_bins, depth_range=depth_range)
        self.beta_raw = nn.Parameter(torch.tensor(math.log(math.expm1(beta_init))))  # softplus^-1
        self.max_exponent = float(max_exponent)
        self.logit_limit = float(logit_limit)

    @property
    def extra_tokens(self) -> torch.Tensor | None:
        return self.tokens.weight if self.tokens is not None else None

    @property
    def beta(self) -> torch.Tensor:
        return F.softplus(self.beta_raw)

    def radiance(self, degraded: torch.Tensor, background: torch.Tensor, depth: torch.Tensor, beta: torch.Tensor) -> torch.Tensor:
        """``J`` from ``I``, ``A``, ``d`` and ``beta`` with the clamps of the module docstring."""
        j = recover_radiance(degraded, depth, beta, background, min_transmission=math.exp(-self.max_exponent))
        return j.clamp(-self.logit_limit, self.logit_limit)

    def forward(self, image_token: torch.Tensor, background_token: torch.Tensor, upscaled: torch.Tensor, early: torch.Tensor,
                late: torch.Tensor, image01: torch.Tensor, image_mlp: nn.Module | None = None) -> dict[str, torch.Tensor]:
        """``{"J": logits, "I", "A", "d"}`` (B, 1, H, W) at the input's size, and ``"beta"``.
        ``image_mlp``: the hypernetwork that reads I when the decoder has none (``tokens="sam"``)."""
        fused = self.fusion(upscaled, early, late)
        size = image01.shape[-2:]

        def read(mlp: nn.Module, token: torch.Tensor) -> torch.Tensor:
            low = torch.einsum("bc,bchw->bhw", mlp(token), fused)[:, None]
            return F.interpolate(low, size=size, mode="bilinear", align_corners=False)

        reader = self.image_mlp if self.image_mlp is not None else image_mlp
        if reader is None:
            raise ValueError("the imaging decoder with tokens='sam' needs SAM's hypernetwork (image_mlp) to read I")
        degraded, background = read(reader, image_token), read(self.background_mlp, background_token)
        depth = self.depth(image01 if self.depth_input == "image" else degraded)
        beta = self.beta
        return {"J": self.radiance(degraded, background, depth, beta), "I": degraded, "A": background, "d": depth, "beta": beta}
