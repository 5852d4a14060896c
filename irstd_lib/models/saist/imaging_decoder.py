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

Then ``J = I e^(beta d) - A (e^(beta d) - 1)`` (``recover_radiance``) is the clear-scene response
and serves as the target logits. Numerical safety (where the paper is silent): the transmission
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

__all__ = ["ImagingDecoder"]


class ImagingDecoder(nn.Module):
    """Two output tokens (I, A), their hypernetworks, the fusion, the depth head and beta."""

    def __init__(self, vit_dim: int, dim: int, depth_width: int = 42, beta_init: float = 0.1, max_exponent: float = 4.0,
                 logit_limit: float = 30.0) -> None:
        super().__init__()
        from segment_anything.modeling.mask_decoder import MLP

        self.tokens = nn.Embedding(2, dim)
        self.image_mlp = MLP(dim, dim, dim // 8, 3)
        self.background_mlp = MLP(dim, dim, dim // 8, 3)
        self.fusion = EarlyLateFusion(vit_dim, dim)
        self.depth = DepthHead(depth_width)
        self.beta_raw = nn.Parameter(torch.tensor(math.log(math.expm1(beta_init))))  # softplus^-1
        self.max_exponent = float(max_exponent)
        self.logit_limit = float(logit_limit)

    @property
    def extra_tokens(self) -> torch.Tensor:
        return self.tokens.weight

    @property
    def beta(self) -> torch.Tensor:
        return F.softplus(self.beta_raw)

    def radiance(self, degraded: torch.Tensor, background: torch.Tensor, depth: torch.Tensor, beta: torch.Tensor) -> torch.Tensor:
        """``J`` from ``I``, ``A``, ``d`` and ``beta`` with the clamps of the module docstring."""
        j = recover_radiance(degraded, depth, beta, background, min_transmission=math.exp(-self.max_exponent))
        return j.clamp(-self.logit_limit, self.logit_limit)

    def forward(self, image_token: torch.Tensor, background_token: torch.Tensor, upscaled: torch.Tensor, early: torch.Tensor,
                late: torch.Tensor, image01: torch.Tensor) -> dict[str, torch.Tensor]:
        """``{"J": logits, "I", "A", "d"}`` (B, 1, H, W) at the input's size, and ``"beta"``."""
        fused = self.fusion(upscaled, early, late)
        size = image01.shape[-2:]

        def read(mlp: nn.Module, token: torch.Tensor) -> torch.Tensor:
            low = torch.einsum("bc,bchw->bhw", mlp(token), fused)[:, None]
            return F.interpolate(low, size=size, mode="bilinear", align_corners=False)

        degraded, background = read(self.image_mlp, image_token), read(self.background_mlp, background_token)
        depth, beta = self.depth(image01), self.beta
        return {"J": self.radiance(degraded, background, depth, beta), "I": degraded, "A": background, "d": depth, "beta": beta}
