"""GGL-Net's gradient image: the gradient magnitude of the input, computed inside the model.

Per channel, by central differences with zero padding (not Sobel), as the authors'
``gradient_1order``::

    g[y, x] = sqrt( ((I[y, x+1] - I[y, x-1]) / 2)^2 + ((I[y-1, x] - I[y+1, x]) / 2)^2 )

with ``I`` taken as 0 outside the image. Each deeper encoder level reads the previous level's
gradient image max-pooled by 2 (:func:`gradient_pyramid`), so a one-pixel target's edge survives
the halvings that an average would blur away.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

__all__ = ["gradient_magnitude", "gradient_pyramid"]


def gradient_magnitude(image: torch.Tensor) -> torch.Tensor:
    """(B, C, H, W) -> (B, C, H, W) central-difference gradient magnitude, zero padding."""
    padded = F.pad(image, (1, 1, 1, 1))
    right, left = padded[:, :, 1:-1, 2:], padded[:, :, 1:-1, :-2]
    top, bottom = padded[:, :, :-2, 1:-1], padded[:, :, 2:, 1:-1]
    return torch.sqrt(((right - left) * 0.5) ** 2 + ((top - bottom) * 0.5) ** 2)


def gradient_pyramid(image: torch.Tensor, levels: int) -> list[torch.Tensor]:
    """The gradient image at full size, then max-pooled by 2 for each of the ``levels - 1`` deeper levels."""
    pyramid = [gradient_magnitude(image)]
    for _ in range(levels - 1):
        pyramid.append(F.max_pool2d(pyramid[-1], kernel_size=2, stride=2))
    return pyramid
