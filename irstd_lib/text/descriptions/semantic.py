"""The ``semantic`` source: a richer template from the ground-truth mask and image statistics.

Position words (upper, lower, left, right, center: the words LangIR's Table 1 counts), target
count, size class, local contrast and a coarse background description; at most 50 words
(LGNet's limit). See :class:`SemanticSource` for the rules and thresholds. The mask is the
label: an oracle description, for training or ablations only (see the package docstring).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from irstd_lib.text import scene_vocabulary as vocab
from irstd_lib.text.descriptions.registry import DescriptionSource, register_source
from irstd_lib.text.descriptions.statistics import (
    _check_connectivity,
    _check_pair,
    background_statistics,
    describe_background,
    local_contrast,
    target_components,
)
from irstd_lib.text.descriptions.types import Description, SampleLike
from irstd_lib.text.word_limit import WORD_LIMIT, enforce_word_limit


_NUMBER_WORDS = ("no", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten")


def _number_word(n: int) -> str:
    return _NUMBER_WORDS[n] if 0 <= n < len(_NUMBER_WORDS) else str(n)


def position_words(centroid: tuple[float, float], shape: tuple[int, int]) -> tuple[str, str]:
    """(vertical, horizontal) words of a point on a 3x3 grid of the frame: vertical in
    upper / center / lower, horizontal in left / center / right.

    With u = (col + 0.5) / W in [0, 1] (the pixel's centre as a fraction of the width): left if
    u < 1/3, right if u > 2/3, center otherwise (a point exactly on a third line is center);
    the same for rows.
    """
    h, w = shape
    v = (centroid[0] + 0.5) / h
    u = (centroid[1] + 0.5) / w
    vertical = "upper" if v < 1 / 3 else "lower" if v > 2 / 3 else "center"
    horizontal = "left" if u < 1 / 3 else "right" if u > 2 / 3 else "center"
    return vertical, horizontal


def position_phrase(vertical: str, horizontal: str) -> str:
    """"the center" for the middle cell, else "the <v>-<h> part" ("upper-left", "center-right",
    "lower-center")."""
    if vertical == "center" and horizontal == "center":
        return "the center"
    return f"the {vertical}-{horizontal} part"


@register_source("semantic")
class SemanticSource(DescriptionSource):
    """A richer template from the ground-truth mask and image statistics (ORACLE).

    What it says, for each 8-connected target:

    * position: 3x3 grid of the frame (:func:`position_words`) with LangIR Table 1's words:
      upper / lower, left / right, center ("the upper-left part", "the center", "the
      lower-center part");
    * size class by pixel area: point-like <= 9 px (up to a 3x3 blob), small <= 80 px (the SPIE
      definition of a small target: under 80 px, 0.15 % of a 256x256 frame), extended above;
    * local contrast: (target mean - ring mean) / ring std, the ring 2-7 px around the target
      with all targets excluded (:func:`local_contrast`): "low contrast" < 5 <= "moderate
      contrast" < 15 <= "high contrast"; a negative value says "darker than its surroundings".
      The cut points split NUAA-SIRST's targets roughly 10 % / 40 % / 50 % (its median target
      is 14.5 ring stds above its ring), so the words discriminate between images;

    the target count, and a background description from image statistics computed with the
    targets masked out (:func:`background_statistics`, :func:`describe_background`).

    Several targets are listed largest first; targets with the same size, position and contrast
    words are merged ("two point-like ones in the center (low contrast)"); at most
    ``max_listed`` groups are listed, the rest summarised as "and N more". The text never
    exceeds ``max_words`` (default 50, LGNet's limit); ``enforce_word_limit`` is applied as a
    guard and any truncation is recorded in the provenance. Per-target measurements (centroid,
    area, contrast) go into the provenance, rounded so that the record is reproducible.

    The mask is the label: training-time prior or ablation only, never a test-time input.
    """

    name = "semantic"
    version = "1"
    uses_ground_truth = True

    def __init__(
        self,
        max_words: int = WORD_LIMIT,
        max_listed: int = 3,
        size_thresholds: tuple[int, int] = (9, 80),
        contrast_thresholds: tuple[float, float] = (5.0, 15.0),
        guard: int = 2,
        ring_width: int = 5,
        connectivity: int = 8,
    ):
        _check_connectivity(connectivity)
        if max_listed < 1:
            raise ValueError("max_listed must be >= 1")
        self.max_words = max_words
        self.max_listed = max_listed
        self.size_thresholds = tuple(size_thresholds)
        self.contrast_thresholds = tuple(contrast_thresholds)
        self.guard = guard
        self.ring_width = ring_width
        self.connectivity = connectivity

    def parameters(self) -> dict[str, Any]:
        return {
            "max_words": self.max_words,
            "max_listed": self.max_listed,
            "size_thresholds_px": list(self.size_thresholds),
            "contrast_thresholds_std": list(self.contrast_thresholds),
            "ring_guard_px": self.guard,
            "ring_width_px": self.ring_width,
            "connectivity": self.connectivity,
            "background_thresholds": dict(vocab.STATISTICS_THRESHOLDS),
        }

    def size_class(self, area: int) -> str:
        point, small = self.size_thresholds
        return "point-like" if area <= point else "small" if area <= small else "extended"

    def contrast_words(self, contrast: float | None) -> str | None:
        if contrast is None:
            return None
        low, high = self.contrast_thresholds
        if contrast < 0:
            return "darker than its surroundings"
        return "low contrast" if contrast < low else "moderate contrast" if contrast < high else "high contrast"

    def measure(self, image: np.ndarray, mask: np.ndarray) -> list[dict[str, Any]]:
        """Per-target measurements, largest target first (ties: raster order)."""
        comps, labels = target_components(mask, self.connectivity)
        targets = []
        for comp in comps:
            vertical, horizontal = position_words(comp.centroid, mask.shape)
            contrast = local_contrast(image, labels, comp, mask, self.guard, self.ring_width)
            targets.append(
                {
                    "centroid": [round(comp.centroid[0], 2), round(comp.centroid[1], 2)],
                    "area": comp.area,
                    "size": self.size_class(comp.area),
                    "vertical": vertical,
                    "horizontal": horizontal,
                    "contrast": None if contrast is None else round(contrast, 2),
                    "contrast_words": self.contrast_words(contrast),
                }
            )
        targets.sort(key=lambda t: -t["area"])  # stable: ties keep raster order
        return targets

    def compose(self, targets: list[dict[str, Any]], background: str) -> str:
        tail = f" Background: {background}."
        if not targets:
            return "No small target is visible." + tail
        if len(targets) == 1:
            t = targets[0]
            where = position_phrase(t["vertical"], t["horizontal"])
            where = "the center of the image" if where == "the center" else f"{where} of the image"
            text = f"One {t['size']} target lies in {where}"
            cw = t["contrast_words"]
            if cw is not None:
                text += f", {cw}" if cw.startswith("darker") else f", with {cw} against its surroundings"
            return text + "." + tail
        groups: list[tuple[tuple[str, str, str, str | None], int]] = []
        for t in targets:
            key = (t["size"], t["vertical"], t["horizontal"], t["contrast_words"])
            for i, (k, n) in enumerate(groups):
                if k == key:
                    groups[i] = (k, n + 1)
                    break
            else:
                groups.append((key, 1))
        phrases = []
        for (size, vertical, horizontal, cw), n in groups[: self.max_listed]:
            article = _number_word(n) if n > 1 else ("an" if size[0] in "aeiou" else "a")
            noun = "ones" if n > 1 else "one"
            phrase = f"{article} {size} {noun} in {position_phrase(vertical, horizontal)}"
            if cw is not None:
                phrase += f" ({cw})"
            phrases.append(phrase)
        rest = sum(n for _, n in groups[self.max_listed :])
        if rest:
            phrases.append(f"{_number_word(rest)} more")
        listing = phrases[0] if len(phrases) == 1 else ", ".join(phrases[:-1]) + f"{',' if len(phrases) > 2 else ''} and {phrases[-1]}"
        return f"{_number_word(len(targets)).capitalize()} targets: {listing}." + tail

    def describe(self, sample: SampleLike) -> Description:
        if sample.mask is None:
            raise ValueError(f"{sample.name}: the semantic source needs the ground-truth mask")
        image = np.asarray(sample.image, dtype=np.float32)
        mask = np.asarray(sample.mask, dtype=bool)
        _check_pair(image, mask, sample.name)
        targets = self.measure(image, mask)
        stats = background_statistics(image, mask)
        text = self.compose(targets, describe_background(stats))
        text, truncated = enforce_word_limit(text, self.max_words)
        return self._make(
            sample.name,
            text,
            truncated=truncated,
            n_targets=len(targets),
            targets=targets,
            background={k: round(v, 4) for k, v in stats.items()},
        )
