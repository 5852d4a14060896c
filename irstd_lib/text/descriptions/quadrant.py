"""The ``quadrant`` source: LGNet's quadrant-only ablation template, from the ground-truth mask.

"The small target lies in the top-left quadrant." (one of four). See :class:`QuadrantSource` for
several targets, the midline tie rule (:func:`quadrant_of`) and the empty mask. The mask is the
label: an oracle description, for training or ablations only (see the package docstring).
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from irstd_lib.text.descriptions.registry import DescriptionSource, register_source
from irstd_lib.text.descriptions.statistics import _check_connectivity, target_components
from irstd_lib.text.descriptions.types import Description, SampleLike


#: LGNet's quadrant-only ablation sentence (paper: one of four).
QUADRANT_TEMPLATE = "The small target lies in the {} quadrant."
#: Order in which quadrants are listed when several targets occupy several quadrants.
QUADRANTS: tuple[str, ...] = ("top-left", "top-right", "bottom-left", "bottom-right")
#: What ``quadrant`` says for an image with no target pixel.
NO_TARGET_QUADRANT_SENTENCE = "No small target is visible in the image."


def quadrant_of(centroid: tuple[float, float], shape: tuple[int, int]) -> str:
    """Quadrant of a (row, col) point in an image of ``shape``.

    The midlines are at row (H-1)/2 and column (W-1)/2 in pixel-centre coordinates (the exact
    centre of the frame). Tie rule: a point exactly on a midline belongs to the top / left side
    (``row <= (H-1)/2`` is top, ``col <= (W-1)/2`` is left).
    """
    h, w = shape
    vertical = "top" if centroid[0] <= (h - 1) / 2 else "bottom"
    horizontal = "left" if centroid[1] <= (w - 1) / 2 else "right"
    return f"{vertical}-{horizontal}"


def _join_list(items: Sequence[str]) -> str:
    if len(items) == 1:
        return items[0]
    if len(items) == 2:
        return f"{items[0]} and {items[1]}"
    return ", ".join(items[:-1]) + f" and {items[-1]}"


@register_source("quadrant")
class QuadrantSource(DescriptionSource):
    """LGNet's quadrant-only ablation template, from the ground-truth mask (ORACLE).

    One target: exactly LGNet's sentence, "The small target lies in the <q> quadrant.", q the
    quadrant of the target's centroid (:func:`quadrant_of`; a centroid exactly on a midline
    counts as top / left).

    Several targets (8-connected components), ``multi="all"`` (default): one sentence naming the
    distinct quadrants of the targets' centroids, in the order top-left, top-right, bottom-left,
    bottom-right: "The small targets lie in the top-left quadrant." (all in one) or "The small
    targets lie in the top-left and bottom-right quadrants."; ``multi="largest"``: LGNet's
    four-sentence vocabulary only, using the largest target (ties: first in raster order).

    No target pixel: "No small target is visible in the image."

    The mask is the label: use this at training time or in ablations, never as a test-time
    input of a detector that is being evaluated.
    """

    name = "quadrant"
    version = "1"
    uses_ground_truth = True

    def __init__(self, multi: str = "all", connectivity: int = 8):
        if multi not in ("all", "largest"):
            raise ValueError(f"multi must be 'all' or 'largest', got {multi!r}")
        _check_connectivity(connectivity)
        self.multi = multi
        self.connectivity = connectivity

    def parameters(self) -> dict[str, Any]:
        return {"multi": self.multi, "connectivity": self.connectivity, "tie_rule": "midline -> top/left"}

    def text_for_mask(self, mask: np.ndarray) -> tuple[str, list[str]]:
        """The sentence and the per-target quadrants (label order) for ``mask``."""
        mask = np.asarray(mask, dtype=bool)
        comps, _ = target_components(mask, self.connectivity)
        quads = [quadrant_of(c.centroid, mask.shape) for c in comps]
        if not comps:
            return NO_TARGET_QUADRANT_SENTENCE, quads
        if len(comps) == 1:
            return QUADRANT_TEMPLATE.format(quads[0]), quads
        if self.multi == "largest":
            largest = max(range(len(comps)), key=lambda i: (comps[i].area, -i))
            return QUADRANT_TEMPLATE.format(quads[largest]), quads
        distinct = [q for q in QUADRANTS if q in quads]
        noun = "quadrant" if len(distinct) == 1 else "quadrants"
        return f"The small targets lie in the {_join_list(distinct)} {noun}.", quads

    def describe(self, sample: SampleLike) -> Description:
        if sample.mask is None:
            raise ValueError(f"{sample.name}: the quadrant source needs the ground-truth mask")
        text, quads = self.text_for_mask(sample.mask)
        return self._make(sample.name, text, target_quadrants=quads)
