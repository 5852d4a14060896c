"""Reading a VLM's answer about an infrared image against the image's mask.

LGNet's section 5 judges GPT-4V's answers by eye: some refuse ("As an AI assistant, I am unable
to do this task.", 5.3.2), good ones name the target's region "such as 'small target is located
in the center' or 'upper left quadrant'" (5.6.2), long ones "lack precise information" (5.6.5),
the word "targets" makes it hallucinate "numerous inconsistent identifications" (5.6.6), and the
boxes it draws do "not include the small target" (Fig. 8). The paper gives no rule for any of
these; the rules here are ours, simple, and written down so that they can be changed:

* **Refusal** (:func:`is_refusal`): the answer contains one of :data:`REFUSAL_PATTERNS`
  ("unable to", "cannot", "as an AI", "sorry", ...) *and* names no position word, so that "I am
  unable to see it clearly, but the target is in the upper left" is not a refusal.
* **Position claims** (:func:`position_claims`): whole lower-case words
  (:func:`irstd_lib.text.word_stats.tokenize`): sides ``upper`` (upper, top, uppermost, topmost),
  ``lower`` (lower, bottom, lowermost, bottommost), ``left`` (left, leftmost), ``right``
  (right, rightmost); centre (center, centre, central, centered, centred, centrally, middle).
  Word senses are not disambiguated, as in :mod:`~irstd_lib.text.word_stats`.
* **The mask's truth** (:func:`mask_truth`): 8-connected targets
  (:func:`~irstd_lib.text.descriptions.statistics.target_components`); each target's quadrant
  (:func:`~irstd_lib.text.descriptions.quadrant.quadrant_of`, the midlines of the frame) and its
  cell on the 3 x 3 grid (:func:`~irstd_lib.text.descriptions.semantic.position_words`).
* **Agreement** (:func:`agreement`): *quadrant* agrees when the answer names at least one side
  and every side it names is a side of some target's quadrant (None when it names no side);
  *centre* agrees when an answer that names the centre has a target in the middle third of the
  frame on at least one axis ("center" in the broad sense the paper reads it), and an answer that
  does not has no target in the grid's middle cell; *position* agrees when the answer names a
  position, its quadrant does not disagree and its centre agrees. An image without targets
  agrees with no position claim.
* **Targets named** (:func:`targets_named`): the largest count written before a target noun
  (target, object, spot, source, blob, point, each singular or plural) within three words ("two
  small bright targets", "3 targets"); "no target" is 0; "multiple", "several", "many",
  "numerous", "various" or a plural noun alone is at least 2 (returned as 2 with
  ``at_least=True``); a singular noun alone is 1; no target noun at all is None. Against the
  mask's target count this gives the hallucination measure (more named than there are).
* **Boxes** (:func:`parse_box`, :func:`box_iou`): the first four numbers in brackets or
  parentheses, ``[x_min, y_min, x_max, y_max]``; units ``"auto"`` read them as fractions of the
  width and height when all four are in [0, 1], as pixels otherwise (or force ``"fraction"``,
  ``"pixel"``, ``"per_mille"``: 0-1000, as some open VLMs answer). The target's box is its
  component's pixel extent; the IoU is the best over the image's targets.

These functions read the mask: they score answers, as an evaluation does; the VLM never sees it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import numpy as np

from irstd_lib.text.descriptions.quadrant import quadrant_of
from irstd_lib.text.descriptions.semantic import position_words
from irstd_lib.text.descriptions.statistics import target_components
from irstd_lib.text.word_limit import count_words
from irstd_lib.text.word_stats import tokenize

__all__ = [
    "REFUSAL_PATTERNS",
    "MaskTruth",
    "agreement",
    "box_iou",
    "is_refusal",
    "mask_truth",
    "measure_response",
    "parse_box",
    "position_claims",
    "targets_named",
]

#: What a refusal says (case-insensitive regular expressions); see :func:`is_refusal`.
REFUSAL_PATTERNS: tuple[str, ...] = (
    r"\bunable to\b", r"\bnot able to\b", r"\bcan(?:not|'t|’t)\b", r"\bcould(?:n't|n’t| not)\b",
    r"\bas an ai\b", r"\bi'?m sorry\b", r"\bi am sorry\b", r"\bsorry\b", r"\bnot possible\b",
    r"\bwon'?t be able\b",
)
_REFUSAL = re.compile("|".join(REFUSAL_PATTERNS), re.IGNORECASE)

SIDE_WORDS: dict[str, tuple[str, ...]] = {
    "upper": ("upper", "top", "uppermost", "topmost"),
    "lower": ("lower", "bottom", "lowermost", "bottommost"),
    "left": ("left", "leftmost"),
    "right": ("right", "rightmost"),
}
CENTRE_WORDS: tuple[str, ...] = ("center", "centre", "central", "centered", "centred", "centrally", "middle")

_QUADRANT_SIDES = {"top": "upper", "bottom": "lower", "left": "left", "right": "right"}

TARGET_NOUNS: dict[str, bool] = {  # noun -> plural
    "target": False, "targets": True, "object": False, "objects": True, "spot": False, "spots": True,
    "source": False, "sources": True, "blob": False, "blobs": True, "point": False, "points": True,
}
_NUMBERS = {"zero": 0, "no": 0, "one": 1, "single": 1, "a": 1, "an": 1, "two": 2, "pair": 2, "couple": 2, "three": 3,
            "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9, "ten": 10}
_MANY = ("multiple", "several", "many", "numerous", "various")
# whole numbers only: the digits of "0.25" or of a box's coordinates are no count
_WORDS_WITH_DIGITS = re.compile(r"[a-z]+|(?<![\d.])\d+(?![\d.])")


def position_claims(text: str) -> tuple[frozenset[str], bool]:
    """The sides (``upper``, ``lower``, ``left``, ``right``) and whether the centre is named."""
    tokens = set(tokenize(text))
    sides = frozenset(side for side, forms in SIDE_WORDS.items() if tokens & set(forms))
    return sides, bool(tokens & set(CENTRE_WORDS))


def is_refusal(text: str) -> bool:
    """A refusal phrase and no position word (see the module docstring)."""
    sides, centre = position_claims(text)
    return bool(_REFUSAL.search(text)) and not sides and not centre


def targets_named(text: str) -> tuple[int | None, bool]:
    """``(count, at_least)``: how many targets the answer names (see the module docstring)."""
    tokens = _WORDS_WITH_DIGITS.findall(text.lower())
    explicit: list[int] = []
    many = plural = singular = False
    for i, token in enumerate(tokens):
        if token not in TARGET_NOUNS:
            continue
        before = tokens[max(0, i - 3):i]
        numbers = [int(t) if t.isdigit() else _NUMBERS[t] for t in before if t.isdigit() or t in _NUMBERS]
        # The three words before a noun are its determiner and adjectives at most ("a small bright
        # target"), so the last number word among them is its count.
        if any(t in _MANY for t in before):
            many = True
        elif numbers:
            explicit.append(numbers[-1])
        if TARGET_NOUNS[token]:
            plural = True
        else:
            singular = True
    positive = [n for n in explicit if n > 0]
    if positive:
        return max(positive), False
    if many or plural:
        return 2, True
    if explicit:  # only "no target" / "zero targets"
        return 0, False
    if singular:
        return 1, False
    return None, False


@dataclass(frozen=True)
class MaskTruth:
    """What the mask says about the targets' positions (see :func:`mask_truth`)."""

    n_targets: int
    sides: frozenset[str]
    centre_any_axis: bool
    centre_cell: bool
    #: each target's box as (x0, y0, x1, y1) pixel edges (x right, y down), end-exclusive
    boxes: tuple[tuple[float, float, float, float], ...]
    shape: tuple[int, int]


def mask_truth(mask: np.ndarray) -> MaskTruth:
    """The targets' quadrants, centre cells and boxes (reads the mask)."""
    mask = np.asarray(mask, dtype=bool)
    if mask.ndim != 2:
        raise ValueError(f"mask must be 2-D (H, W), got shape {mask.shape}")
    comps, _ = target_components(mask)
    sides: set[str] = set()
    centre_any = centre_cell = False
    boxes = []
    for comp in comps:
        vertical, horizontal = quadrant_of(comp.centroid, mask.shape).split("-")
        sides |= {_QUADRANT_SIDES[vertical], _QUADRANT_SIDES[horizontal]}
        grid = position_words(comp.centroid, mask.shape)
        centre_any |= "center" in grid
        centre_cell |= grid == ("center", "center")
        r0, c0, r1, c1 = comp.bbox
        boxes.append((float(c0), float(r0), float(c1), float(r1)))
    return MaskTruth(len(comps), frozenset(sides), centre_any, centre_cell, tuple(boxes), mask.shape)


def agreement(text: str, truth: MaskTruth) -> dict[str, bool | None]:
    """``{"quadrant", "centre", "position"}`` agreement of an answer with the mask (module docstring)."""
    sides, centre = position_claims(text)
    quadrant = (sides <= truth.sides) if sides else None
    if truth.n_targets == 0:
        centre_ok = not centre
        position = not sides and not centre
        return {"quadrant": quadrant if not sides else False, "centre": centre_ok, "position": position}
    centre_ok = truth.centre_any_axis if centre else not truth.centre_cell
    position = bool(sides or centre) and quadrant is not False and centre_ok
    return {"quadrant": quadrant, "centre": centre_ok, "position": position}


_NUMBER = r"(-?\d+(?:\.\d+)?)"
_BOX = re.compile(r"[\[\(]\s*" + r"\s*,\s*".join([_NUMBER] * 4) + r"\s*[\]\)]")
BOX_UNITS = ("auto", "fraction", "pixel", "per_mille")


def parse_box(text: str, shape: tuple[int, int], units: str = "auto") -> tuple[float, float, float, float] | None:
    """The first ``[x_min, y_min, x_max, y_max]`` of the answer in pixel edges of an image of
    ``shape`` (H, W), corners sorted and clipped to the frame; None when there is none."""
    if units not in BOX_UNITS:
        raise ValueError(f"box units must be one of {', '.join(BOX_UNITS)}, got {units!r}")
    match = _BOX.search(text)
    if match is None:
        return None
    x0, y0, x1, y1 = (float(v) for v in match.groups())
    h, w = shape
    if units == "auto":
        units = "fraction" if all(0.0 <= v <= 1.0 for v in (x0, y0, x1, y1)) else "pixel"
    scale_x, scale_y = {"fraction": (w, h), "pixel": (1.0, 1.0), "per_mille": (w / 1000.0, h / 1000.0)}[units]
    xs = sorted((x0 * scale_x, x1 * scale_x))
    ys = sorted((y0 * scale_y, y1 * scale_y))
    return (min(max(xs[0], 0.0), w), min(max(ys[0], 0.0), h), min(max(xs[1], 0.0), w), min(max(ys[1], 0.0), h))


def box_iou(a: tuple[float, float, float, float], b: tuple[float, float, float, float]) -> float:
    """Intersection over union of two (x0, y0, x1, y1) boxes (0 when both are empty)."""
    iw = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    ih = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = iw * ih
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return float(inter / union) if union > 0 else 0.0


def measure_response(text: str, mask: np.ndarray, box_units: str | None = None) -> dict[str, Any]:
    """Every measure of one answer against its image's mask (reads the mask). ``box_units``:
    also parse a box and score it (None: no box asked for)."""
    truth = mask_truth(mask)
    named, at_least = targets_named(text)
    refused = is_refusal(text)
    agrees = agreement(text, truth)
    out: dict[str, Any] = {
        "refused": refused,
        "words": count_words(text),
        "quadrant_agrees": None if refused else agrees["quadrant"],
        "centre_agrees": False if refused else agrees["centre"],
        "position_agrees": False if refused else agrees["position"],
        "targets_named": None if refused else named,
        "targets_named_at_least": at_least,
        "targets_in_mask": truth.n_targets,
    }
    if box_units is not None:
        box = None if refused else parse_box(text, truth.shape, box_units)
        ious = [box_iou(box, target) for target in truth.boxes] if box is not None else []
        out["box"] = list(box) if box is not None else None
        out["box_iou"] = max(ious) if ious else 0.0
        out["box_covers_target"] = bool(box is not None and any(
            box[0] <= (t[0] + t[2]) / 2 <= box[2] and box[1] <= (t[1] + t[3]) / 2 <= box[3] for t in truth.boxes))
    return out
