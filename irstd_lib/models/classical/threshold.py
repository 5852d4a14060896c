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

Other segmentation rules (``segmentation=`` of Top-Hat and IPI; the default ``"adaptive"`` is the
rule above and keeps every earlier number):

- ``"basicirstd"``: the field's toolbox (XinyiYing/BasicIRSTD) ships no classical code; its
  maintainer says the published Top-Hat / IPI rows are scored "归一化后，和深度学习方法一样取阈值为0.5"
  ("after normalisation, threshold at 0.5 as for the deep-learning methods", issue #46,
  2026-04-20), and its ``evaluate.py:26-41`` reads the 8-bit result PNG as ``png / 255 > 0.5``.
  The normalisation is not stated; we read it as per-image min-max to [0, 1] (the reading of its
  issue #47), then ``normalised > 0.5``. Saving that map as an 8-bit PNG first moves the cut to
  ``>= 128/255`` (``floor(255 x)``) or ``>= 127.5/255`` (rounding): ``"basicirstd_png"`` is the
  truncating 8-bit variant.
- ``"dnanet"``: the toolbox's README rows for NUAA-SIRST (Top-Hat 7.143 / 79.84 / 1012, IPI
  25.67 / 85.55 / 11.47) are the numbers of the DNA-Net paper's comparison table (Li et al., TIP
  2022), whose text binarises the model-driven methods with
  ``T_adaptive = max(0.7 max(G), 0.5 std(G) + mean(G))``. That formula is quoted from memory of the
  paper (it is not in this project's reference folder) and from a user's comment in DNA-Net's
  issue #33; treat it as unverified.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from irstd_lib.models.base import ClassicalMethod

__all__ = ["AdaptiveThreshold", "SEGMENTATIONS", "adaptive_threshold", "as_image", "check_segmentation", "segment_by_rule",
           "segmentation_threshold"]

#: Names of the segmentation rules (see the module docstring).
SEGMENTATIONS = ("adaptive", "basicirstd", "basicirstd_png", "dnanet")


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


def check_segmentation(segmentation: str) -> str:
    if segmentation not in SEGMENTATIONS:
        raise ValueError(f"segmentation must be one of {SEGMENTATIONS}, got {segmentation!r}")
    return segmentation


def segment_by_rule(scores: np.ndarray, segmentation: str, k: float = 3.0, min_value: float = 0.0) -> np.ndarray:
    """Binary detection of a score map by one of :data:`SEGMENTATIONS` (module docstring)."""
    check_segmentation(segmentation)
    scores = as_image(scores)
    if segmentation == "adaptive":
        return scores > adaptive_threshold(scores, k, min_value)
    if segmentation == "dnanet":
        values = scores.astype(np.float64)
        return values > max(0.7 * float(values.max()), 0.5 * float(values.std()) + float(values.mean()))
    low, high = float(scores.min()), float(scores.max())
    if high <= low:  # a constant map normalises to nothing: no detection
        return np.zeros(scores.shape, dtype=bool)
    normalised = (scores.astype(np.float64) - low) / (high - low)
    if segmentation == "basicirstd_png":
        return np.floor(normalised * 255.0) / 255.0 > 0.5
    return normalised > 0.5


def segmentation_threshold(scores: np.ndarray, segmentation: str, k: float = 3.0, min_value: float = 0.0) -> float:
    """The cut in score units that :func:`segment_by_rule` applies (``score > cut``; for
    ``"basicirstd_png"`` the cut is the smallest value that reaches 128/255)."""
    check_segmentation(segmentation)
    scores = np.asarray(scores, dtype=np.float64)
    if segmentation == "adaptive":
        return adaptive_threshold(scores, k, min_value)
    if segmentation == "dnanet":
        return max(0.7 * float(scores.max()), 0.5 * float(scores.std()) + float(scores.mean()))
    low, high = float(scores.min()), float(scores.max())
    return low + (high - low) * (0.5 if segmentation == "basicirstd" else 128.0 / 255.0)


class AdaptiveThreshold(ClassicalMethod):
    """A classical method binarised by the adaptive threshold above; subclasses define ``score``."""

    k: float
    min_value: float
    segmentation: str = "adaptive"

    def scores(self, image: np.ndarray) -> np.ndarray:
        """Alias of :meth:`score`."""
        return self.score(image)

    def threshold(self, scores: np.ndarray) -> float:
        return segmentation_threshold(scores, self.segmentation, self.k, self.min_value)

    def segment_scores(self, scores: np.ndarray) -> np.ndarray:
        """Binary detection from a score map by ``self.segmentation`` (default ``"adaptive"``:
        ``scores > max(min_value, mean + k * std)``)."""
        return segment_by_rule(scores, self.segmentation, self.k, self.min_value)

