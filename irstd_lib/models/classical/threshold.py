"""The adaptive threshold every classical method here binarises its score map with.

Adaptive segmentation (shared)
------------------------------
The classical papers binarise the score (or target) map with an image-adaptive threshold
``T = max(v_min, mean + k * std)`` of the map (Gao et al. 2013, IPI, Sec. "target segmentation":
``k`` is an empirically chosen constant, ``v_min`` a floor that keeps an almost-empty map from
producing detections). The paper gives no single value of ``k`` that the later deep-learning papers
(ACM, DNANet, SAIST, ...) reuse, so we choose ``k = 3`` (the usual three-sigma rule) for both
methods and ``v_min = 0`` (a pixel must have a strictly positive score); both are constructor
arguments. A pixel is a detection when ``score > T``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from irstd_lib.models.base import ClassicalMethod

__all__ = ["AdaptiveThreshold", "adaptive_threshold", "as_image"]


def as_image(image: Any) -> np.ndarray:
    array = np.asarray(image)
    if array.ndim != 2:
        raise ValueError(f"expected a 2-D grayscale image (H x W), got an array of shape {array.shape}")
    if array.size == 0:
        raise ValueError(f"expected a non-empty image, got shape {array.shape}")
    return array.astype(np.float32, copy=False)


def adaptive_threshold(scores: np.ndarray, k: float = 3.0, min_value: float = 0.0) -> float:
    """``max(min_value, mean + k * std)`` of a score map (IPI paper's segmentation threshold)."""
    scores = np.asarray(scores, dtype=np.float64)
    return float(max(min_value, scores.mean() + k * scores.std()))


class AdaptiveThreshold(ClassicalMethod):
    """A classical method binarised by the adaptive threshold above; subclasses define ``score``."""

    k: float
    min_value: float

    def scores(self, image: np.ndarray) -> np.ndarray:
        """Alias of :meth:`score`."""
        return self.score(image)

    def threshold(self, scores: np.ndarray) -> float:
        return adaptive_threshold(scores, self.k, self.min_value)

    def segment_scores(self, scores: np.ndarray) -> np.ndarray:
        """Binary detection from a score map: ``scores > max(min_value, mean + k * std)``."""
        scores = as_image(scores)
        return scores > self.threshold(scores)

