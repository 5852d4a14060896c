"""White Top-Hat filter.

White top-hat: ``image - opening(image, B)``. The field's comparison tables (e.g. ACM, DNANet,
SAIST Table 1) run Top-Hat without stating the structuring element; we choose a **disk of radius 5**
(an 11 x 11 footprint): SPIE's small-target definition allows targets up to about 9 x 9 pixels,
so an opening with an 11-pixel-wide disk erases every small target while following smooth
backgrounds, and a disk (unlike a square) treats all directions alike. Borders use scipy's
``reflect`` mode.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from irstd_lib.models.classical.threshold import AdaptiveThreshold, as_image, check_segmentation

__all__ = ["TopHat", "disk_footprint"]


def disk_footprint(radius: int) -> np.ndarray:
    """Boolean disk of the given radius, ``(2r+1) x (2r+1)`` (same as ``skimage.morphology.disk``)."""
    if radius < 0:
        raise ValueError(f"radius must be >= 0, got {radius}")
    yy, xx = np.mgrid[-radius : radius + 1, -radius : radius + 1]
    return (yy * yy + xx * xx) <= radius * radius


class TopHat(AdaptiveThreshold):
    """White top-hat filter, ``image - opening(image, disk(radius))``, score >= 0.

    ``shape="disk"`` (default, radius 5) or ``"square"`` (a ``(2 radius + 1)``-wide square);
    ``segmentation`` one of :data:`~irstd_lib.models.classical.threshold.SEGMENTATIONS`.
    """

    def __init__(self, radius: int = 5, shape: str = "disk", k: float = 3.0, min_value: float = 0.0,
                 segmentation: str = "adaptive") -> None:
        if shape not in ("disk", "square"):
            raise ValueError(f"shape must be 'disk' or 'square', got {shape!r}")
        if int(radius) < 1:
            raise ValueError(f"radius must be >= 1, got {radius}")
        self.radius = int(radius)
        self.shape = shape
        self.k = float(k)
        self.min_value = float(min_value)
        self.segmentation = check_segmentation(segmentation)
        size = 2 * self.radius + 1
        self.footprint = disk_footprint(self.radius) if shape == "disk" else np.ones((size, size), dtype=bool)

    def score(self, image: np.ndarray) -> np.ndarray:
        image = as_image(image)
        opened = ndimage.grey_opening(image, footprint=self.footprint, mode="reflect")
        # Opening is anti-extensive, so this is >= 0 up to rounding; clip the rounding away.
        return np.maximum(image - opened, 0.0).astype(np.float32)

    def __repr__(self) -> str:
        rule = "" if self.segmentation == "adaptive" else f", segmentation={self.segmentation!r}"
        return f"TopHat(radius={self.radius}, shape={self.shape!r}, k={self.k}, min_value={self.min_value}{rule})"
