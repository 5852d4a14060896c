"""Metrics for infrared small target detection (IRSTD): IoU, nIoU, Pd, Fa and a Pd-Fa / pixel ROC.

Definitions (the field's, as implemented by BasicIRSTD, the most used toolbox):

- **IoU** (set level, percent): total intersection / total union summed over all images
  (``100 * sum_i |P_i & G_i| / sum_i |P_i | G_i|``). An empty union (no prediction and no target
  anywhere) gives 0, following the toolbox's ``inter / (eps + union)``.
- **nIoU** (image level, percent): mean over images of ``|P_i & G_i| / (|P_i | G_i| + eps)`` with
  ``eps = np.spacing(1)`` exactly as BasicIRSTD. *Choice*: an image whose mask and prediction are
  both empty therefore scores 0 (not 1, not skipped), which is the toolbox convention (DNA-Net,
  BasicIRSTD): a target-free image can only lower nIoU, so on a set where half the images have
  no target (SIRST v2 backgrounds) even a perfect detector gets at most about 50. The switch
  ``niou_empty="one"`` (:class:`SegmentationMetrics`, :class:`PdFaROC`) scores such an image 1
  instead (the IoU of two empty sets taken as perfect agreement); a target-free image with any
  predicted pixel still scores 0 either way. The default ``"zero"`` keeps the field's numbers.
  Per-image rows (``per_image=True``) keep the raw counts; :mod:`irstd_lib.bootstrap` recomputes
  nIoU from them with the default convention.
- **Pd** (percent) and **Fa** (x1e-6): connected components of the prediction and of the mask,
  ``connectivity=8`` by default (``skimage.measure.label(connectivity=2)``, as the toolbox), 4
  optional. A predicted component matches a ground-truth target when their centroids (mean
  row/column of the component's pixels) are strictly closer than ``match_distance`` (3 pixels,
  ``distance < 3``). Greedy matching in the toolbox order: for each target in label order (raster
  order of its first pixel), the first not yet matched predicted component (also in label order)
  within the distance. Each target and each predicted component is matched at most once.
  ``Pd = matched targets / all targets``; ``Fa = pixels of unmatched predicted components / all
  pixels`` summed over the dataset. *Choice*: with no target in the whole dataset Pd is ``NaN``
  (undefined), not 0; an image without targets simply contributes no targets (its false alarms
  still count in Fa).
- ``fa_mode``, named after the BasicIRSTD ``metrics.py`` versions each reproduces (matching, and
  so Pd, is the same in every mode):

  ============================ ==================================================================
  mode (accepted alias)        what it counts, and the toolbox versions it reproduces
  ============================ ==================================================================
  ``"correct"``                the pixels of the unmatched predicted components exactly; equals
  (``"basicirstd_6576e62"``)   the toolbox from 6576e62 (2024-01-25, its issue #12) on, which
                               counts ``dismatch_pixel += (predits - true_img).sum()`` over the
                               components left unmatched (IoU, Pd, Fa measured identical on
                               NUAA-SIRST test predictions). The default.
  ``"basicirstd_b75ecc8"``     the toolbox up to b75ecc8 (2023-07-25, ``metrics.py:72-73``, the
  (``"basicirstd"``)           code of its published numbers of 2023): it keeps the *areas* of
                               matched components in a list and counts
                               ``dismatch = [x for x in image_area_total if x not in
                               image_area_match]``, removing areas *by value*, so an unmatched
                               component whose area equals that of a matched component of the
                               same image is silently not counted.
  ============================ ==================================================================

  The aliases are accepted as they are (committed configs that name ``"basicirstd"`` keep their
  hashes and numbers) and reported as given; :func:`canonical_fa_mode` gives a mode's main name.

Inputs: score maps are compared ``scores > threshold`` (the comparison is made in the scores' own
floating dtype, so ``float32`` maps are compared with ``float32(threshold)``); ``bool`` maps are
used as they are. Masks that are not ``bool`` are binarised with ``mask > 0`` (the toolbox's
``labels > 0``). Accepted shapes: ``H x W``, ``N x H x W`` or ``N x 1 x H x W``; numpy arrays or
torch tensors (any device). Successive updates may have different image sizes; only counts are
kept between updates (streaming).

Implementation: :class:`SegmentationMetrics` takes every measure of an image from the pixel lists of
its mask and prediction (both maps are mostly empty): one ``scipy.ndimage.label`` call labels both
maps on a small grid that drops empty rows and columns but keeps every adjacency (:func:`_pixel_pair`;
the call's fixed cost, about 19 us however small the input, was most of the labelling), areas and
centroids come from ``np.bincount`` with row/column weights, the overlap from a binary search in
the predicted pixels, the centroid rule from a small distance matrix and a greedy loop over targets
only, OPDC from vectors when the image holds one target, and the shooting rule from the Chebyshev
distances of the predicted pixels near the targets to the target pixels. Tests compare each
measure with its own path on the whole maps (``ndimage.label`` of each map, the window of
:class:`ShootingRulePdFa`). :func:`find_components` labels the foreground's bounding box.
:class:`PdFaROC` gets pixel TPR/FPR (and IoU/nIoU) for all
thresholds from one histogram of the pixels above the lowest threshold, and Pd/Fa per threshold
by re-labelling only those pixels: their 8-neighbour graph is built once per image and each
threshold adds the pixels and edges above it, from the highest threshold down, to one vectorised
union-find (hooking + pointer jumping) whose roots are each component's first pixel in raster
order, so components are numbered exactly as ``ndimage.label`` numbers them. Components at a
higher threshold are subsets of those at a lower one, so nothing is labelled twice; only a
*dense* threshold (more than 1/16 of the image above it, as 0 is for a sigmoid map, where every
pixel is) is labelled with ``ndimage.label`` instead, since the union-find's cost grows with the
pixels it holds (profiled: at the kit's thresholds ``linspace(0, 1, 20, endpoint=False)`` the
union-find over a whole image at threshold 0 took most of the time). The numbers are the same
either way (tests/test_metrics.py, every threshold against :class:`SegmentationMetrics`).

hIoU (:func:`opdc_match`, :func:`hiou_from_counts`) follows "Rethinking Evaluation of Infrared
Small Target Detection" (NeurIPS 2025 Datasets and Benchmarks) as its kit PyIRSTDMetrics 1.0.2
computes it: "hIoU = segmentation IoU of matched targets x localisation IoU TP/(TP+FP+FN)", with
OPDC matching ("overlap then distance", one prediction to one target); written here from those
definitions and checked against the kit (tests/test_hiou.py), which pins numpy < 2 and so is no
dependency.

Pd/Fa by the *shooting rule* (:class:`ShootingRulePdFa`; ``Pd_shooting``/``Fa_shooting`` of
:class:`SegmentationMetrics`), the kit's third target-level rule beside the centroid rule above:
a target is hit when a predicted pixel lies within 1 pixel (Chebyshev) of one of its pixels, and
false alarms are the predicted pixels farther than 4 pixels from every target pixel; no
component is matched. Written from the kit's definition and checked against it
(tests/test_shooting_rule.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np
from scipy import ndimage

__all__ = [
    "EPS",
    "FA_MODES",
    "FA_MODE_ALIASES",
    "canonical_fa_mode",
    "NIOU_EMPTY",
    "TargetMatch",
    "Components",
    "find_components",
    "label_components",
    "pd_fa_area",
    "PER_IMAGE_COUNTS",
    "OPDC_COUNTS",
    "OPDC_EMPTY",
    "HIOU_ERRORS",
    "OPDCMatch",
    "opdc_match",
    "hiou_image",
    "hiou_from_counts",
    "match_targets",
    "per_image_metrics",
    "SegmentationMetrics",
    "PdFaROC",
    "ShootingRulePdFa",
    "SHOOTING_RADII",
    "as_batch",
]

#: The toolbox's epsilon in ``inter / (eps + union)`` (``np.spacing(1)``).
EPS = float(np.spacing(1))
#: Fa counts named after the toolbox versions they reproduce, then their accepted aliases.
FA_MODES = ("correct", "basicirstd_b75ecc8", "basicirstd", "basicirstd_6576e62")
FA_MODE_ALIASES = {"basicirstd": "basicirstd_b75ecc8", "basicirstd_6576e62": "correct"}
_FA_BY_VALUE = ("basicirstd", "basicirstd_b75ecc8")  # one mode, two names (see the module docstring)
#: nIoU of an image whose mask and prediction are both empty: "zero" (the toolbox) or "one".
NIOU_EMPTY = ("zero", "one")

_STRUCTURES = {
    8: np.ones((3, 3), dtype=bool),
    4: ndimage.generate_binary_structure(2, 1),
}
# Forward half of the neighbourhood (each undirected edge once) for the sparse graph of PdFaROC.
_FORWARD_OFFSETS = {8: ((0, 1), (1, -1), (1, 0), (1, 1)), 4: ((0, 1), (1, 0))}
# PdFaROC labels a threshold with ndimage when more than 1/_DENSE_FRACTION of the pixels are above it.
_DENSE_FRACTION = 16


def _check_connectivity(connectivity: int) -> int:
    if connectivity not in _STRUCTURES:
        raise ValueError(f"connectivity must be 4 or 8, got {connectivity!r}")
    return int(connectivity)


def _check_niou_empty(niou_empty: str) -> str:
    if niou_empty not in NIOU_EMPTY:
        raise ValueError(f"niou_empty must be one of {NIOU_EMPTY}, got {niou_empty!r}")
    return niou_empty


def _check_fa_mode(fa_mode: str) -> str:
    if fa_mode not in FA_MODES:
        raise ValueError(f"fa_mode must be one of {FA_MODES}, got {fa_mode!r}")
    return fa_mode


def canonical_fa_mode(fa_mode: str) -> str:
    """The main name of an Fa mode (``"basicirstd"`` -> ``"basicirstd_b75ecc8"``,
    ``"basicirstd_6576e62"`` -> ``"correct"``); an unknown mode is an error naming the modes."""
    return FA_MODE_ALIASES.get(_check_fa_mode(fa_mode), fa_mode)


# ----------------------------------------------------------------------------------------------
# Input handling
# ----------------------------------------------------------------------------------------------

def _to_numpy(x: Any) -> np.ndarray:
    if hasattr(x, "detach") and hasattr(x, "cpu"):  # torch tensor, without importing torch
        t = x.detach().cpu()
        if str(t.dtype) in ("torch.bfloat16",):
            t = t.float()
        return t.numpy()
    return np.asarray(x)


def as_batch(x: Any) -> np.ndarray:
    """``H x W``, ``N x H x W`` or ``N x 1 x H x W`` (numpy or torch) -> numpy ``N x H x W``."""
    a = _to_numpy(x)
    if a.ndim == 2:
        return a[None]
    if a.ndim == 3:
        return a
    if a.ndim == 4 and a.shape[1] == 1:
        return a[:, 0]
    raise ValueError(f"expected an HxW map, an NxHxW or an Nx1xHxW batch, got shape {tuple(a.shape)}")


def _paired_batches(scores: Any, masks: Any) -> tuple[np.ndarray, np.ndarray]:
    s = as_batch(scores)
    m = as_batch(masks)
    if s.shape != m.shape:
        raise ValueError(
            f"scores shape {tuple(_to_numpy(scores).shape)} does not match masks shape "
            f"{tuple(_to_numpy(masks).shape)}"
        )
    return s, m


def _binarize_scores(scores: np.ndarray, threshold: float) -> np.ndarray:
    if scores.dtype == np.bool_:
        return scores
    if np.issubdtype(scores.dtype, np.floating):
        return scores > np.asarray(threshold, dtype=scores.dtype)
    return scores > threshold


def _binarize_mask(mask: np.ndarray) -> np.ndarray:
    return mask if mask.dtype == np.bool_ else mask > 0


# ----------------------------------------------------------------------------------------------
# Components and matching
# ----------------------------------------------------------------------------------------------

def _binary_pair(pred: Any, mask: Any) -> tuple[np.ndarray, np.ndarray]:
    """One ``H x W`` prediction and mask as booleans (non-bool ``pred``: ``> 0.5``; ``mask``: ``> 0``)."""
    p, m = _to_numpy(pred), _to_numpy(mask)
    if p.shape != m.shape or p.ndim != 2:
        raise ValueError(f"pred shape {tuple(p.shape)} and mask shape {tuple(m.shape)} must be the same HxW")
    return _binarize_scores(p, 0.5), _binarize_mask(m)


@dataclass
class Components:
    """Connected components of a binary map, in ``ndimage.label`` order (raster order of the
    first pixel). ``centroids`` is ``(n, 2)`` (row, col) in image coordinates: the mean of the
    pixel coordinates, computed as skimage's ``regionprops(...).centroid`` is."""

    areas: np.ndarray
    centroids: np.ndarray

    @property
    def n(self) -> int:
        return int(self.areas.shape[0])


_EMPTY_COMPONENTS = Components(np.zeros(0, dtype=np.int64), np.zeros((0, 2), dtype=np.float64))


def _components_from_labels(labels: np.ndarray, rows: np.ndarray, cols: np.ndarray, n: int) -> Components:
    """Areas and centroids from the labels (1..n) of pixels at global ``rows``/``cols``."""
    area = np.bincount(labels, minlength=n + 1)[1:]
    sr = np.bincount(labels, weights=rows, minlength=n + 1)[1:]
    sc = np.bincount(labels, weights=cols, minlength=n + 1)[1:]
    # Sums of integer coordinates are exact in float64, so sum/area equals skimage's coords.mean.
    return Components(area.astype(np.int64), np.stack([sr / area, sc / area], axis=1))


def _label_foreground(binary: np.ndarray, connectivity: int) -> tuple[int, int, np.ndarray, np.ndarray, int] | None:
    """``ndimage.label`` inside the bounding box of the foreground of a bool ``H x W`` map:
    ``(r0, c0, sub, lab, n)``, the box's top-left corner, the map and its labels inside the box and
    the number of components; None when the map is empty. Every foreground pixel is inside the
    box, so the labels are those of the whole map (same components, same raster order)."""
    structure = _STRUCTURES[_check_connectivity(connectivity)]
    row_any = binary.any(axis=1)
    rows_nz = np.flatnonzero(row_any)
    if rows_nz.size == 0:
        return None
    cols_nz = np.flatnonzero(binary[rows_nz[0]:rows_nz[-1] + 1].any(axis=0))
    r0, c0 = int(rows_nz[0]), int(cols_nz[0])
    sub = binary[r0:rows_nz[-1] + 1, c0:cols_nz[-1] + 1]
    lab, n = ndimage.label(sub, structure=structure)
    return r0, c0, sub, lab, n


def _box_components(r0: int, c0: int, sub: np.ndarray, lab: np.ndarray, n: int) -> Components:
    """Areas and centroids (image coordinates) from :func:`_label_foreground`'s result."""
    idx = np.flatnonzero(sub)  # nonzero of a bool map is several times faster than of labels
    labels = lab.ravel()[idx]
    w = sub.shape[1]
    rows = idx // w
    cols = idx - rows * w
    return _components_from_labels(labels, rows + r0, cols + c0, n)


def find_components(binary: np.ndarray, connectivity: int = 8) -> Components:
    """Connected components of a bool ``H x W`` map (labelled inside its foreground's bounding box)."""
    labelled = _label_foreground(binary, connectivity)
    if labelled is None:
        return _EMPTY_COMPONENTS
    return _box_components(*labelled)


def label_components(binary: Any, connectivity: int = 8) -> tuple[np.ndarray, Components]:
    """The label image and the components of an ``H x W`` map (binarised with ``bool``).

    ``labels`` is an ``H x W`` int32 array: 0 for the background, ``1..n`` for the components in
    ``ndimage.label`` order (raster order of each component's first pixel), equal to
    ``ndimage.label(binary, structure)[0]``; component ``k`` of :class:`Components` (areas,
    centroids) is label ``k + 1``. The same labelling as :func:`find_components`, which returns
    only the components.
    """
    binary = np.asarray(binary, dtype=bool)
    labels = np.zeros(binary.shape, dtype=np.int32)
    labelled = _label_foreground(binary, connectivity)
    if labelled is None:
        return labels, _EMPTY_COMPONENTS
    r0, c0, sub, lab, n = labelled
    labels[r0:r0 + sub.shape[0], c0:c0 + sub.shape[1]] = lab
    return labels, _box_components(*labelled)


@dataclass
class _PixelPair:
    """One image's mask and prediction as pixel lists, both labelled: the flat indices of the
    target pixels (``target_index``) and predicted pixels (``pred_index``) in raster order, each
    pixel's row, column and 1-based component label, and the two :class:`Components`."""

    target_index: np.ndarray
    target_rows: np.ndarray
    target_cols: np.ndarray
    target_labels: np.ndarray
    pred_index: np.ndarray
    pred_rows: np.ndarray
    pred_cols: np.ndarray
    pred_labels: np.ndarray
    targets: Components
    components: Components


def _pixel_pair(pred: np.ndarray, mask: np.ndarray, connectivity: int) -> _PixelPair:
    """Both bool ``H x W`` maps of one image labelled with one ``ndimage.label`` call.

    The target pixels, then the predicted pixels (each in raster order), are placed on a small
    grid that keeps only what labelling needs: rows and columns holding no pixel are dropped, and
    wherever two kept lines were not adjacent one empty line is kept between them (steps of 0 and
    1 are kept, larger steps become 2), so two pixels are neighbours (4 or 8) on the grid exactly
    when they are in their map, and raster order is kept (the maps are monotone). The mask's rows
    come first and the prediction's below them, an empty row between, so the mask's components
    are labels ``1..m`` and the prediction's ``m+1..``, each in its own map's ndimage order: the
    labels :func:`label_components` gives each map (tests compare). Why: the label call's fixed
    cost (about 19 us however small its input) is most of the labelling of a sparse map, and the
    grid keeps the rest from growing with the distance between scattered blobs."""
    width = pred.shape[1]
    target_index = np.flatnonzero(mask.ravel())
    pred_index = np.flatnonzero(pred.ravel())
    n_target_pixels = target_index.size
    index = np.concatenate([target_index, pred_index])
    if index.size == 0:
        empty = np.zeros(0, dtype=np.intp)
        return _PixelPair(target_index, empty, empty, empty, pred_index, empty, empty, empty,
                          _EMPTY_COMPONENTS, _EMPTY_COMPONENTS)
    rows = index // width
    cols = index - rows * width
    step = np.minimum(rows[1:] - rows[:-1], 2)
    if 0 < n_target_pixels < index.size:
        step[n_target_pixels - 1] = 2  # the prediction starts below the mask, an empty row between
    grid_rows = np.zeros(index.size, dtype=np.intp)
    np.cumsum(step, out=grid_rows[1:])
    present = np.zeros(width, dtype=bool)
    present[cols] = True
    used = np.flatnonzero(present)
    column_of = np.zeros(width, dtype=np.intp)
    column_of[used[1:]] = np.cumsum(np.minimum(used[1:] - used[:-1], 2))
    grid_width = int(column_of[used[-1]]) + 1
    position = grid_rows * grid_width + column_of[cols]
    canvas = np.zeros((int(grid_rows[-1]) + 1, grid_width), dtype=bool)
    canvas.ravel()[position] = True
    structure = _STRUCTURES[_check_connectivity(connectivity)]
    grid_labels, n_all = ndimage.label(canvas, structure=structure)
    labels = grid_labels.ravel()[position]
    n_targets = int(labels[:n_target_pixels].max()) if n_target_pixels else 0
    both = _components_from_labels(labels, rows, cols, n_all)  # both maps' components in one pass
    pred_labels = labels[n_target_pixels:] - n_targets
    return _PixelPair(
        target_index, rows[:n_target_pixels], cols[:n_target_pixels], labels[:n_target_pixels],
        pred_index, rows[n_target_pixels:], cols[n_target_pixels:], pred_labels,
        Components(both.areas[:n_targets], both.centroids[:n_targets]),
        Components(both.areas[n_targets:], both.centroids[n_targets:]),
    )


def _greedy_match(gt_centroids: np.ndarray, pred_centroids: np.ndarray, match_distance: float) -> np.ndarray:
    """Index of the predicted component matched to each target (-1 if none), toolbox order."""
    n_gt, n_pred = gt_centroids.shape[0], pred_centroids.shape[0]
    matched = np.full(n_gt, -1, dtype=np.int64)
    if n_gt == 0 or n_pred == 0:
        return matched
    if n_gt == 1:  # most images: the first component close enough, the loop below on one row
        dr = gt_centroids[0, 0] - pred_centroids[:, 0]
        dc = gt_centroids[0, 1] - pred_centroids[:, 1]
        close = np.flatnonzero(np.sqrt(dr * dr + dc * dc) < match_distance)
        if close.size:
            matched[0] = close[0]
        return matched
    dr = gt_centroids[:, None, 0] - pred_centroids[None, :, 0]
    dc = gt_centroids[:, None, 1] - pred_centroids[None, :, 1]
    close = np.sqrt(dr * dr + dc * dc) < match_distance
    rows = np.flatnonzero(close.any(axis=1))
    if rows.size == 0:
        return matched
    used = np.zeros(n_pred, dtype=bool)
    for i in rows:
        cand = np.flatnonzero(close[i] & ~used)
        if cand.size:
            j = cand[0]
            used[j] = True
            matched[i] = j
    return matched


@dataclass
class TargetMatch:
    """Result of matching one image's predicted components to its targets.

    ``false_alarm_pixels`` follows ``fa_mode``; ``false_alarm_pixels_correct`` is always the true
    count of pixels of unmatched predicted components. ``matched_pred[i]`` is the index of the
    predicted component matched to target ``i`` (-1 if missed)."""

    n_targets: int
    n_pred_components: int
    n_matched: int
    false_alarm_pixels: int
    n_false_alarm_components: int
    false_alarm_pixels_correct: int
    fa_mode: str
    matched_pred: np.ndarray = field(repr=False)
    target_areas: np.ndarray = field(repr=False)
    pred_areas: np.ndarray = field(repr=False)
    target_centroids: np.ndarray = field(repr=False)
    pred_centroids: np.ndarray = field(repr=False)


def _match_components(gt: Components, pred: Components, match_distance: float, fa_mode: str) -> TargetMatch:
    matched_pred = _greedy_match(gt.centroids, pred.centroids, match_distance)
    hit = matched_pred[matched_pred >= 0]  # each component matched at most once
    fa_correct = int(pred.areas.sum()) - int(pred.areas[hit].sum())
    if fa_mode in _FA_BY_VALUE and hit.size:
        # BasicIRSTD: [x for x in all_areas if x not in matched_areas] -> removal by value.
        fa = int(pred.areas[~np.isin(pred.areas, pred.areas[hit])].sum())
    else:
        fa = fa_correct
    return TargetMatch(
        n_targets=gt.n,
        n_pred_components=pred.n,
        n_matched=int(hit.size),
        false_alarm_pixels=fa,
        n_false_alarm_components=pred.n - int(hit.size),
        false_alarm_pixels_correct=fa_correct,
        fa_mode=fa_mode,
        matched_pred=matched_pred,
        target_areas=gt.areas,
        pred_areas=pred.areas,
        target_centroids=gt.centroids,
        pred_centroids=pred.centroids,
    )


def match_targets(
    pred: Any,
    mask: Any,
    match_distance: float = 3.0,
    connectivity: int = 8,
    fa_mode: str = "correct",
) -> TargetMatch:
    """Match the connected components of a bool ``H x W`` prediction to the targets of ``mask``
    (centroid distance strictly below ``match_distance``, greedy in label order; see the module
    docstring). Non-bool ``pred`` is binarised with ``> 0.5``, non-bool ``mask`` with ``> 0``."""
    _check_fa_mode(fa_mode)
    p, m = _binary_pair(pred, mask)
    return _match_components(find_components(m, connectivity), find_components(p, connectivity), match_distance, fa_mode)


def per_image_metrics(
    scores: Any,
    mask: Any,
    threshold: float = 0.5,
    match_distance: float = 3.0,
    connectivity: int = 8,
    fa_mode: str = "correct",
) -> dict:
    """Metrics of one image (``H x W``): intersection, union, IoU (percent, eps convention),
    n_targets, n_matched, Pd (percent, NaN without targets), false-alarm pixels, Fa (x1e-6)."""
    m = SegmentationMetrics(threshold, match_distance, connectivity, fa_mode)
    s, k = _paired_batches(scores, mask)
    if s.shape[0] != 1:
        raise ValueError(f"per_image_metrics takes one image, got a batch of shape {tuple(s.shape)}")
    m.update(s, k)
    out = m.compute()
    out["intersection"] = m.intersection
    out["union"] = m.union
    return out


# ----------------------------------------------------------------------------------------------
# OPDC matching and the hierarchical IoU (PyIRSTDMetrics, "Rethinking Evaluation of IRSTD")
# ----------------------------------------------------------------------------------------------

#: How an image with no target or no predicted component counts in OPDC's TP/FP/FN:
#: "correct" (FP = its predicted components, FN = its targets) or "pyirstdmetrics_1.0.2", the kit's
#: count: it pads the empty side of its target x prediction matrices to one row/column, which then
#: counts as one unmatched phantom (one FN for a target-free image, one FP for an image predicted
#: empty), see :func:`opdc_match`.
OPDC_EMPTY = ("correct", "pyirstdmetrics_1.0.2")
#: The hierarchical IoU's error analysis, as the kit names it (fractions of the totals it divides).
HIOU_ERRORS = ("seg_mrg_err", "seg_itf_err", "seg_pcp_err", "loc_itf_err", "loc_pcp_err", "loc_m2s_err", "loc_s2m_err")
#: What one image contributes to hIoU (kept per image, summed over any set of images).
OPDC_COUNTS = ("opdc_tp", "opdc_fp", "opdc_fn", "opdc_iou_sum")
_OPDC_SUMS = OPDC_COUNTS + ("seg_mrg_sum", "seg_itf_sum", "seg_pcp_sum", "loc_itf", "loc_pcp", "loc_m2s", "loc_s2m")


def _check_opdc_empty(opdc_empty: str) -> str:
    if opdc_empty not in OPDC_EMPTY:
        raise ValueError(f"opdc_empty must be one of {OPDC_EMPTY}, got {opdc_empty!r}")
    return opdc_empty


@dataclass
class OPDCMatch:
    """One image's OPDC matching (:func:`opdc_match`): ``pairs`` is ``(k, 2)`` (target index,
    predicted component index), ordered by target; ``pair_iou`` each pair's IoU; ``counts`` the
    image's sums of :data:`_OPDC_SUMS` (TP/FP/FN, summed matched IoU, summed segmentation error
    fractions of the matched pairs, and the localisation error counts)."""

    pairs: np.ndarray
    pair_iou: np.ndarray
    counts: dict


def _pair_tables(gt: Components, pred: Components, gt_at_overlap: np.ndarray, pred_at_overlap: np.ndarray
                 ) -> tuple[np.ndarray, np.ndarray]:
    """Intersections (``M x N``, pixels) of every target with every predicted component from the
    labels (1-based) of the pixels lying in both, and the centroid distances."""
    m, n = gt.n, pred.n
    inter = np.bincount((gt_at_overlap - 1) * n + (pred_at_overlap - 1), minlength=m * n).reshape(m, n)
    dr = gt.centroids[:, None, 0] - pred.centroids[None, :, 0]
    dc = gt.centroids[:, None, 1] - pred.centroids[None, :, 1]
    return inter, np.sqrt(dr * dr + dc * dc)


def _assignment(cost: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``scipy.optimize.linear_sum_assignment(cost)``; a single row or column is solved as its
    first minimum, which is what the solver returns there, ties included (``tests/test_hiou.py``
    checks both on tie-rich costs): most images hold one target, and the solver's call costs more
    than such a problem."""
    m, n = cost.shape
    if m == 0 or n == 0:
        return np.zeros(0, dtype=np.intp), np.zeros(0, dtype=np.intp)
    if m == 1:
        return np.zeros(1, dtype=np.intp), np.array([np.argmin(cost[0])], dtype=np.intp)
    if n == 1:
        return np.array([np.argmin(cost[:, 0])], dtype=np.intp), np.zeros(1, dtype=np.intp)
    from scipy.optimize import linear_sum_assignment

    return linear_sum_assignment(cost)


def opdc_match(gt: Components, pred: Components, gt_at_overlap: np.ndarray, pred_at_overlap: np.ndarray,
               overlap_threshold: float = 0.5, match_distance: float = 3.0, opdc_empty: str = "correct") -> OPDCMatch:
    """OPDC matching ("overlap priority, distance compensation") of one image and its hIoU sums.

    As the kit (PyIRSTDMetrics 1.0.2, ``OPDCMatching``) defines it: (1) an optimal one-to-one
    assignment of targets to predicted components minimising the total centroid distance
    (Hungarian, ``scipy.optimize.linear_sum_assignment``), of which only the pairs whose IoU is
    at least ``overlap_threshold`` (0.5) are kept; (2) the targets and components left are
    assigned again by distance among themselves, pairs strictly closer than ``match_distance``
    (3 px) kept. Each target and each component is matched at most once. ``gt_at_overlap`` /
    ``pred_at_overlap``: the 1-based labels of the pixels in both a target and a component.

    Error analysis (the kit's ``HierarchicalIoUBasedErrorAnalysis``): of each matched pair's
    union, the fractions predicted on another target (merge, ``seg_mrg``), predicted on
    background (interference, ``seg_itf``) and missed (perception, ``seg_pcp``), so that
    seg IoU + the three = 1 per pair; components with neither IoU >= 0.5 nor distance < 3 to any
    target (``loc_itf``), targets with no such component (``loc_pcp``), and those left unmatched
    only by the one-to-one assignment (``loc_m2s`` components, ``loc_s2m`` targets).
    """
    _check_opdc_empty(opdc_empty)
    m, n = gt.n, pred.n
    counts = dict.fromkeys(_OPDC_SUMS, 0)
    counts.update(opdc_iou_sum=0.0, seg_mrg_sum=0.0, seg_itf_sum=0.0, seg_pcp_sum=0.0)
    no_pairs = OPDCMatch(np.zeros((0, 2), dtype=np.int64), np.zeros(0), counts)
    if m == 0 or n == 0:
        # The kit pads the empty side to one row/column that nothing matches: one phantom.
        fp = max(n, 1) if opdc_empty != "correct" else n
        fn = max(m, 1) if opdc_empty != "correct" else m
        counts.update(opdc_fp=fp, opdc_fn=fn, loc_itf=fp, loc_pcp=fn)
        return no_pairs
    if m == 1:
        return _opdc_one_target(gt, pred, pred_at_overlap, overlap_threshold, match_distance, counts)
    return _opdc_matrices(gt, pred, gt_at_overlap, pred_at_overlap, overlap_threshold, match_distance, counts)


def _opdc_matrices(gt: Components, pred: Components, gt_at_overlap: np.ndarray, pred_at_overlap: np.ndarray,
                   overlap_threshold: float, match_distance: float, counts: dict) -> OPDCMatch:
    """:func:`opdc_match` of any non-empty image, on its target x component matrices."""
    m, n = gt.n, pred.n
    inter, dist = _pair_tables(gt, pred, gt_at_overlap, pred_at_overlap)
    union = gt.areas[:, None] + pred.areas[None, :] - inter
    iou = inter / union
    valid_iou = iou >= overlap_threshold
    valid_dist = dist < match_distance
    matched = np.zeros((m, n), dtype=bool)
    if valid_iou.any():
        rows, cols = _assignment(dist)
        matched[rows, cols] = True
        matched &= valid_iou
    if valid_dist.any():
        free_rows = np.flatnonzero(~matched.any(axis=1))
        free_cols = np.flatnonzero(~matched.any(axis=0))
        rows, cols = _assignment(dist[np.ix_(free_rows, free_cols)])
        rows, cols = free_rows[rows], free_cols[cols]
        keep = valid_dist[rows, cols]
        matched[rows[keep], cols[keep]] = True
    ti, pj = np.nonzero(matched)  # row-major: ordered by target, as the kit sums
    tp = int(ti.size)
    candidate = valid_iou | valid_dist
    itf = int(np.count_nonzero(~candidate.any(axis=0)))
    pcp = int(np.count_nonzero(~candidate.any(axis=1)))
    pair_union = union[ti, pj]
    on_targets = inter.sum(axis=0)[pj]  # the component's pixels on any target
    counts.update(
        opdc_tp=tp, opdc_fp=n - tp, opdc_fn=m - tp,
        opdc_iou_sum=float(np.sum(iou[ti, pj])) if tp else 0.0,
        seg_mrg_sum=float(np.sum((on_targets - inter[ti, pj]) / pair_union)) if tp else 0.0,
        seg_itf_sum=float(np.sum((pred.areas[pj] - on_targets) / pair_union)) if tp else 0.0,
        seg_pcp_sum=float(np.sum((gt.areas[ti] - inter[ti, pj]) / pair_union)) if tp else 0.0,
        loc_itf=itf, loc_pcp=pcp, loc_m2s=n - tp - itf, loc_s2m=m - tp - pcp,
    )
    return OPDCMatch(np.stack([ti, pj], axis=1), iou[ti, pj], counts)


def _opdc_one_target(gt: Components, pred: Components, pred_at_overlap: np.ndarray, overlap_threshold: float,
                     match_distance: float, counts: dict) -> OPDCMatch:
    """:func:`opdc_match` of one target and one or more components (most images: one target, maybe
    a few false alarms), on vectors: both stages assign the target to its nearest component (the
    first, on ties), which is kept when its IoU reaches ``overlap_threshold`` or its centroid
    lies closer than ``match_distance``. The same IEEE operations as :func:`_opdc_matrices` on
    its single row (``tests/test_hiou.py`` compares the two)."""
    n = pred.n
    inter = np.bincount(pred_at_overlap - 1, minlength=n)
    dr = gt.centroids[0, 0] - pred.centroids[:, 0]
    dc = gt.centroids[0, 1] - pred.centroids[:, 1]
    dist = np.sqrt(dr * dr + dc * dc)
    union = gt.areas[0] + pred.areas - inter
    iou = inter / union
    candidate = (iou >= overlap_threshold) | (dist < match_distance)
    nearest = int(np.argmin(dist))
    tp = int(candidate[nearest])
    itf = n - int(np.count_nonzero(candidate))
    pcp = int(itf == n)
    counts.update(opdc_tp=tp, opdc_fp=n - tp, opdc_fn=1 - tp, loc_itf=itf, loc_pcp=pcp, loc_m2s=n - tp - itf,
                  loc_s2m=1 - tp - pcp)
    if not tp:
        return OPDCMatch(np.zeros((0, 2), dtype=np.intp), np.zeros(0), counts)
    pair_union = union[nearest]
    counts.update(opdc_iou_sum=float(iou[nearest]), seg_mrg_sum=0.0,
                  seg_itf_sum=float((pred.areas[nearest] - inter[nearest]) / pair_union),
                  seg_pcp_sum=float((gt.areas[0] - inter[nearest]) / pair_union))
    return OPDCMatch(np.array([[0, nearest]], dtype=np.intp), iou[nearest:nearest + 1], counts)


def hiou_from_counts(counts: dict) -> dict:
    """hIoU and its parts (percent) from summed OPDC counts (:data:`OPDC_COUNTS`, and the error
    sums when present). seg IoU = summed IoU of matched pairs / TP; loc IoU = TP / (TP + FP + FN);
    hIoU = seg IoU x loc IoU (the kit's fractions, here x100). *Choice*: with no matched target
    seg IoU is NaN (undefined; the kit writes 0) and hIoU is 0 (nothing localised) unless there
    is neither a target nor a prediction anywhere (NaN)."""
    nan = float("nan")
    tp, fp, fn = (float(counts[k]) for k in ("opdc_tp", "opdc_fp", "opdc_fn"))
    total = tp + fp + fn
    seg = counts["opdc_iou_sum"] / tp if tp else nan
    loc = tp / total if total else nan
    out = {
        "hIoU": 100.0 * seg * loc if tp else (0.0 if total else nan),
        "seg_IoU": 100.0 * seg,
        "loc_IoU": 100.0 * loc,
    }
    if "seg_mrg_sum" in counts:
        for name in ("seg_mrg", "seg_itf", "seg_pcp"):
            out[f"{name}_err"] = 100.0 * counts[f"{name}_sum"] / tp if tp else nan
        for name in ("loc_itf", "loc_pcp", "loc_m2s", "loc_s2m"):
            out[f"{name}_err"] = 100.0 * counts[name] / total if total else nan
    return out


def _overlap_labels(pred: np.ndarray, pair: _PixelPair) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Which target pixels are predicted (bool, one per target pixel), and the 1-based target
    and component labels of those pixels (found in the raster-ordered predicted pixels by a
    binary search: target pixels are few)."""
    on_pred = pred.ravel()[pair.target_index]
    both = pair.target_index[on_pred]
    return on_pred, pair.target_labels[on_pred], pair.pred_labels[np.searchsorted(pair.pred_index, both)]


def hiou_image(pred: Any, mask: Any, overlap_threshold: float = 0.5, match_distance: float = 3.0,
               connectivity: int = 8, opdc_empty: str = "correct") -> OPDCMatch:
    """OPDC matching of one ``H x W`` binary prediction (non-bool: ``> 0.5``) to ``mask``
    (non-bool: ``> 0``); :func:`hiou_from_counts` of ``.counts`` gives the image's hIoU."""
    p, k = _binary_pair(pred, mask)
    pair = _pixel_pair(p, k, connectivity)
    _, gt_at_overlap, pred_at_overlap = _overlap_labels(p, pair)
    return opdc_match(pair.targets, pair.components, gt_at_overlap, pred_at_overlap, overlap_threshold, match_distance,
                      opdc_empty)


# ----------------------------------------------------------------------------------------------
# Pd/Fa by the shooting rule
# ----------------------------------------------------------------------------------------------

#: Half-widths of the shooting rule's two boxes (the kit's ``box_1_radius``, ``box_2_radius``).
SHOOTING_RADII = (1, 4)


def _shooting_window(mask_labelled, shape: tuple[int, int], outer: int):
    """Slices of the targets' bounding box grown by ``outer`` pixels (clipped to the image) and
    the targets' labels in it. Every box of either radius around a target pixel lies inside it,
    so the rule needs nothing outside (all predicted pixels outside are false alarms)."""
    r0, c0, sub, lab, _ = mask_labelled
    h, w = shape
    rs = slice(max(r0 - outer, 0), min(r0 + sub.shape[0] + outer, h))
    cs = slice(max(c0 - outer, 0), min(c0 + sub.shape[1] + outer, w))
    labels = np.zeros((rs.stop - rs.start, cs.stop - cs.start), dtype=lab.dtype)
    labels[r0 - rs.start:r0 - rs.start + sub.shape[0], c0 - cs.start:c0 - cs.start + sub.shape[1]] = lab
    return rs, cs, labels


def _shooting_parts(scores: np.ndarray, mask_labelled, n_targets: int, radii: tuple[int, int]):
    """For one image: each target's best score within its inner boxes (``(n,)``, the highest
    score of any pixel at Chebyshev distance <= ``radii[0]`` of one of its pixels), and the outer
    boxes' union as ``(rows, cols, guard)``: a bool map over the targets' window (None without a
    target). The rule's counts at any threshold follow: a target is hit at ``t`` when its best
    score is ``> t``; the false-alarm pixels at ``t`` are the pixels ``> t`` of the image less those
    ``> t`` inside the guard."""
    inner, outer = radii
    if mask_labelled is None:
        return np.zeros(0, dtype=scores.dtype), None
    rs, cs, labels = _shooting_window(mask_labelled, scores.shape, outer)
    window = scores[rs, cs]
    if np.issubdtype(scores.dtype, np.floating):
        low = np.array(-np.inf, dtype=scores.dtype)
    elif scores.dtype == np.bool_:
        low = np.array(False)
    else:
        low = np.array(np.iinfo(scores.dtype).min, dtype=scores.dtype)
    # The maximum over a (2r+1)^2 box clipped to the image: the window holds every box needed and
    # ``low`` (below every score) stands for "no pixel".
    near = _box_max(window, inner, low)
    best = np.full(n_targets, low, dtype=scores.dtype)
    on_target = labels > 0
    np.maximum.at(best, labels[on_target] - 1, near[on_target])
    guard = _box_max(on_target, outer, np.array(False))
    return best, (rs, cs, guard)


#: Above this many (predicted pixel near the targets, target pixel) pairs, the shooting rule of a
#: binary map is taken on the targets' window (:func:`_shooting_parts`) instead of pair distances.
_SHOOTING_PAIR_LIMIT = 16384


def _shooting_counts(pred: np.ndarray, mask: np.ndarray, pair: _PixelPair, radii: tuple[int, int]) -> tuple[int, int]:
    """The shooting rule of one binary map from its pixel lists: ``(targets hit, predicted pixels
    inside the outer boxes)``. A target is hit when a predicted pixel lies within Chebyshev
    distance ``radii[0]`` of one of its pixels, and a predicted pixel is inside the outer boxes
    when it lies within ``radii[1]`` of a target pixel (the boxes' clipping to the image changes
    neither, all pixels being in it): what :func:`_shooting_parts` gives a bool map, from the
    distances of the few predicted pixels near the targets to the target pixels. Large targets
    with many predicted pixels near them are taken on the window as :func:`_shooting_parts` does."""
    n = pair.targets.n
    if n == 0 or pair.pred_index.size == 0:
        return 0, 0
    inner, outer = radii
    tr, tc = pair.target_rows, pair.target_cols
    pr, pc = pair.pred_rows, pair.pred_cols
    near = (pr >= tr[0] - outer) & (pr <= tr[-1] + outer) & (pc >= tc.min() - outer) & (pc <= tc.max() + outer)
    pr, pc = pr[near], pc[near]
    if pr.size == 0:
        return 0, 0
    if pr.size * tr.size > _SHOOTING_PAIR_LIMIT:
        r0, c0 = int(tr[0]), int(tc.min())
        sub = mask[r0:int(tr[-1]) + 1, c0:int(tc.max()) + 1]
        lab = np.zeros(sub.shape, dtype=np.int32)
        lab[tr - r0, tc - c0] = pair.target_labels
        best, (rs, cs, guard) = _shooting_parts(pred, (r0, c0, sub, lab, n), n, radii)
        return int(np.count_nonzero(best)), int(np.count_nonzero(pred[rs, cs] & guard))
    distance = np.maximum(np.abs(pr[:, None] - tr[None, :]), np.abs(pc[:, None] - tc[None, :]))
    inside = int(np.count_nonzero(distance.min(axis=1) <= outer))
    hit = np.zeros(n + 1, dtype=bool)
    hit[pair.target_labels[(distance <= inner).any(axis=0)]] = True
    return int(np.count_nonzero(hit)), inside


def _box_max(values: np.ndarray, radius: int, low: np.ndarray) -> np.ndarray:
    """The maximum of ``values`` (2-D, any dtype, bool too) over the ``(2 radius + 1)``-pixel
    square box around each pixel, ``low`` outside the array: what ``ndimage.maximum_filter(values,
    2 radius + 1, mode="constant", cval=low)`` gives, exactly (a maximum rounds nothing), as
    separable running maxima over shifted slices. On the small windows around targets that the
    shooting rule filters, the filter's own per-call overhead is most of its cost; these are
    4 radius array operations."""
    h, w = values.shape
    size = 2 * radius
    padded = np.full((h + size, w), low, dtype=values.dtype)
    padded[radius:radius + h] = values
    rows = padded[:h].copy()
    for k in range(1, size + 1):
        np.maximum(rows, padded[k:k + h], out=rows)
    padded = np.full((h, w + size), low, dtype=values.dtype)
    padded[:, radius:radius + w] = rows
    out = padded[:, :w].copy()
    for k in range(1, size + 1):
        np.maximum(out, padded[:, k:k + w], out=out)
    return out


def _counts_above(values: np.ndarray, thresholds: np.ndarray) -> np.ndarray:
    """``[count(values > t) for t in thresholds]`` (ascending thresholds): one comparison per
    threshold when they are few, else one binary search per value (no sort of the values)."""
    values = values.ravel()
    if thresholds.size <= 4:
        return np.array([np.count_nonzero(values > t) for t in thresholds], dtype=np.int64)
    below = np.searchsorted(thresholds, values, side="left")  # thresholds strictly below each value
    hist = np.bincount(below, minlength=thresholds.size + 1)
    return hist[::-1].cumsum()[::-1][1:].astype(np.int64)


class ShootingRulePdFa:
    """Pd and Fa by the *shooting rule* (Li et al., "Direction-Coded Temporal U-Shape Module for
    Multiframe Infrared Small Target Detection", TNNLS 2023; PyIRSTDMetrics'
    ``ShootingRuleBasedProbabilityDetectionAndFalseAlarmRate``), streaming, at one or many
    thresholds.

    A target (an 8-connected component of the mask; ``connectivity`` 4 optional) is *hit* when
    any predicted pixel (``scores > t``) lies in the ``(2 r1 + 1)``-pixel square box around any
    of its pixels (``r1 = radii[0] = 1``: a 3 x 3 box); the false-alarm pixels are the predicted
    pixels outside every ``(2 r2 + 1)`` box around a target pixel (``r2 = radii[1] = 4``: 9 x 9).
    Boxes are clipped to the image. ``Pd = hit targets / targets`` (percent; NaN without
    targets), ``Fa = false-alarm pixels / all pixels`` (x1e-6). Unlike the centroid rule of
    :class:`SegmentationMetrics`, no component is matched: a large blob touching a target hits
    it, and only its pixels beyond the outer boxes count as false alarms.

    ``thresholds``: a float, a sequence of floats, or an int ``n`` as in :class:`PdFaROC`
    (``linspace(0, 1, n + 2)[1:-1]``); the kit's ``num_bins=k`` thresholds are
    ``np.linspace(0, 1, k, endpoint=False)`` (and 0.5 for ``k = 1``), which may be passed as a
    sequence. Scores are compared in their own dtype, as everywhere in this module. Each
    target's best score in its boxes and the outer boxes' union are found once per image (two
    maximum filters on the targets' neighbourhood); the false alarms at every threshold are the
    image's pixels above it less those inside the union (one comparison per threshold for up to
    4 thresholds, else one binary search per pixel).
    ``compute()`` returns a DataFrame (``threshold``, ``Pd``, ``Fa``, ``n_hit``,
    ``n_false_alarm_pixels``); :class:`SegmentationMetrics` reports the one-threshold values as
    ``Pd_shooting`` and ``Fa_shooting``.
    """

    def __init__(self, thresholds: Sequence[float] | float | int = 0.5, connectivity: int = 8,
                 radii: tuple[int, int] = SHOOTING_RADII):
        if isinstance(thresholds, float):
            thresholds = [thresholds]
        self.thresholds = _as_thresholds(thresholds)
        self.connectivity = _check_connectivity(connectivity)
        r1, r2 = (int(r) for r in radii)
        if not 0 < r1 < r2:
            raise ValueError(f"radii must satisfy 0 < inner < outer, got {tuple(radii)}")
        self.radii = (r1, r2)
        self.reset()

    def reset(self) -> None:
        k = self.thresholds.size
        self.n_images = 0
        self.n_pixels = 0
        self.n_targets = 0
        self.n_hit = np.zeros(k, dtype=np.int64)
        self.false_alarm_pixels = np.zeros(k, dtype=np.int64)

    def update(self, scores: Any, masks: Any) -> None:
        s, m = _paired_batches(scores, masks)
        for i in range(s.shape[0]):
            self._update_one(s[i], _binarize_mask(m[i]))

    def _update_one(self, scores: np.ndarray, mask: np.ndarray) -> None:
        mask_labelled = _label_foreground(mask, self.connectivity)
        n = mask_labelled[4] if mask_labelled is not None else 0
        if scores.dtype == np.bool_:
            scores = scores.astype(np.float32)
        thr = self.thresholds.astype(scores.dtype) if np.issubdtype(scores.dtype, np.floating) else self.thresholds
        best, guarded = _shooting_parts(scores, mask_labelled, n, self.radii)
        self.n_hit += (best[:, None] > thr[None, :]).sum(axis=0) if n else 0
        false_alarms = _counts_above(scores, thr)
        if guarded is not None:
            rs, cs, guard = guarded
            false_alarms -= _counts_above(scores[rs, cs][guard], thr)
        self.false_alarm_pixels += false_alarms
        self.n_targets += n
        self.n_pixels += scores.size
        self.n_images += 1

    def compute(self):
        import pandas as pd

        nan = np.full(self.thresholds.size, float("nan"))
        return pd.DataFrame({
            "threshold": self.thresholds,
            "Pd": 100.0 * self.n_hit / self.n_targets if self.n_targets else nan,
            "Fa": 1e6 * self.false_alarm_pixels / self.n_pixels if self.n_pixels else nan,
            "n_hit": self.n_hit.copy(),
            "n_false_alarm_pixels": self.false_alarm_pixels.copy(),
        })


# ----------------------------------------------------------------------------------------------
# Streaming metrics at one threshold
# ----------------------------------------------------------------------------------------------

PER_IMAGE_COUNTS = ("intersection", "union", "n_targets", "n_matched", "n_false_alarm_pixels", "n_pixels", "target_pixels") + OPDC_COUNTS
"""What :class:`SegmentationMetrics` keeps of each image with ``per_image=True``: enough to
recompute IoU, nIoU, Pd, Fa and hIoU over any subset or resample of the images. Records written
before hIoU lack :data:`OPDC_COUNTS`: their hIoU cannot be recomputed (tables say so)."""


class SegmentationMetrics:
    """Streaming IoU, nIoU, Pd and Fa at one threshold (see the module docstring for definitions).

    ``update(scores, masks)`` takes one ``H x W`` map or a batch (``N x H x W`` / ``N x 1 x H x W``),
    numpy or torch; ``compute()`` returns a dict with ``IoU``, ``nIoU``, ``Pd`` (percent),
    ``Fa`` (x1e-6), ``n_images``, ``n_targets`` and the raw counts (``n_matched``,
    ``n_false_alarm_pixels``, ``n_pixels``, ``n_pred_components``, ``n_false_alarm_components``,
    ``intersection``, ``union``) plus ``threshold``, ``fa_mode``, ``connectivity``,
    ``match_distance``; the hierarchical IoU of the same binary maps (``hIoU``, ``seg_IoU``,
    ``loc_IoU`` and the error analysis :data:`HIOU_ERRORS`, percent; :func:`hiou_from_counts`,
    OPDC with ``overlap_threshold`` 0.5 and the same ``match_distance``; ``opdc_empty`` as in
    :data:`OPDC_EMPTY`) and pixel-level ``precision``, ``recall`` and ``F1`` (percent, over the
    whole set: ``TP / (TP + FP)``, ``TP / (TP + FN)``, their harmonic mean; the kit's
    ``sample_based=False``, F-measure with beta 1). Only counts are kept between updates; with ``per_image=True`` each
    image's counts are also kept, one dict per update in ``rows`` (the fields of
    :data:`PER_IMAGE_COUNTS`), so that intervals can resample images. ``Pd_shooting`` and
    ``Fa_shooting`` (with ``n_shooting_hit``, ``n_shooting_false_alarm_pixels``) are the same
    binary maps scored by the shooting rule (:class:`ShootingRulePdFa`, boxes of half-width 1
    and 4: the kit's defaults), beside the centroid rule's ``Pd`` and ``Fa``. ``niou_empty``: "zero"
    (default, the toolbox) or "one", the nIoU of an image whose mask and prediction are both
    empty (see the module docstring).
    """

    def __init__(self, threshold: float = 0.5, match_distance: float = 3.0, connectivity: int = 8, fa_mode: str = "correct",
                 per_image: bool = False, niou_empty: str = "zero", overlap_threshold: float = 0.5,
                 opdc_empty: str = "correct"):
        self.niou_empty = _check_niou_empty(niou_empty)
        self.overlap_threshold = float(overlap_threshold)
        self.opdc_empty = _check_opdc_empty(opdc_empty)
        self.threshold = float(threshold)
        self.match_distance = float(match_distance)
        self.connectivity = _check_connectivity(connectivity)
        self.fa_mode = _check_fa_mode(fa_mode)
        self.per_image = bool(per_image)
        self.reset()

    def reset(self) -> None:
        self.n_images = 0
        self.intersection = 0
        self.union = 0
        self.niou_sum = 0.0
        self.n_targets = 0
        self.n_matched = 0
        self.n_pred_components = 0
        self.n_false_alarm_components = 0
        self.false_alarm_pixels = 0
        self.n_pixels = 0
        self.target_pixels = 0
        self.opdc = dict.fromkeys(_OPDC_SUMS, 0)
        self.shooting_hit = 0
        self.shooting_false_alarm_pixels = 0
        self.rows: list[dict] = []

    def update(self, scores: Any, masks: Any) -> None:
        s, m = _paired_batches(scores, masks)
        for i in range(s.shape[0]):
            self._update_one(_binarize_scores(s[i], self.threshold), _binarize_mask(m[i]))

    def _update_one(self, pred: np.ndarray, mask: np.ndarray) -> None:
        # Every measure is taken from the two maps' pixel lists, labelled together (_pixel_pair):
        # the maps are mostly empty, so after its two nonzero scans nothing runs over the image.
        pair = _pixel_pair(pred, mask, self.connectivity)
        gt, components = pair.targets, pair.components
        on_pred, gt_at_overlap, pred_at_overlap = _overlap_labels(pred, pair)
        inter = int(np.count_nonzero(on_pred))
        target_pixels = int(pair.target_index.size)
        predicted = int(pair.pred_index.size)
        union = predicted + target_pixels - inter
        self.intersection += inter
        self.union += union
        self.niou_sum += 1.0 if union == 0 and self.niou_empty == "one" else inter / (union + EPS)
        match = _match_components(gt, components, self.match_distance, self.fa_mode)
        opdc = opdc_match(gt, components, gt_at_overlap, pred_at_overlap, self.overlap_threshold, self.match_distance,
                          self.opdc_empty).counts
        for key, value in opdc.items():
            self.opdc[key] += value
        hit, inside = _shooting_counts(pred, mask, pair, SHOOTING_RADII)
        self.shooting_hit += hit
        self.shooting_false_alarm_pixels += predicted - inside
        self.target_pixels += target_pixels
        self.n_targets += match.n_targets
        self.n_matched += match.n_matched
        self.n_pred_components += match.n_pred_components
        self.n_false_alarm_components += match.n_false_alarm_components
        self.false_alarm_pixels += match.false_alarm_pixels
        self.n_pixels += pred.size
        self.n_images += 1
        if self.per_image:
            self.rows.append({"intersection": inter, "union": union, "n_targets": match.n_targets,
                              "n_matched": match.n_matched, "n_false_alarm_pixels": match.false_alarm_pixels,
                              "n_pixels": int(pred.size), "target_pixels": target_pixels,
                              **{k: opdc[k] for k in OPDC_COUNTS}})

    def compute(self) -> dict:
        return {**self._core(), **hiou_from_counts(self.opdc), **_pixel_prf(self.intersection, self.union, self.target_pixels),
                **{k: self.opdc[k] for k in OPDC_COUNTS}, "overlap_threshold": self.overlap_threshold,
                "opdc_empty": self.opdc_empty, **self._shooting()}

    def _shooting(self) -> dict:
        nan = float("nan")
        return {"Pd_shooting": 100.0 * self.shooting_hit / self.n_targets if self.n_targets else nan,
                "Fa_shooting": 1e6 * self.shooting_false_alarm_pixels / self.n_pixels if self.n_pixels else nan,
                "n_shooting_hit": int(self.shooting_hit),
                "n_shooting_false_alarm_pixels": int(self.shooting_false_alarm_pixels)}

    def _core(self) -> dict:
        nan = float("nan")
        return {
            "IoU": 100.0 * self.intersection / (self.union + EPS),
            "nIoU": 100.0 * self.niou_sum / self.n_images if self.n_images else nan,
            "Pd": 100.0 * self.n_matched / self.n_targets if self.n_targets else nan,
            "Fa": 1e6 * self.false_alarm_pixels / self.n_pixels if self.n_pixels else nan,
            "n_images": int(self.n_images),
            "n_targets": int(self.n_targets),
            "n_matched": int(self.n_matched),
            "n_false_alarm_pixels": int(self.false_alarm_pixels),
            "n_pixels": int(self.n_pixels),
            "n_pred_components": int(self.n_pred_components),
            "n_false_alarm_components": int(self.n_false_alarm_components),
            "intersection": int(self.intersection),
            "union": int(self.union),
            "threshold": self.threshold,
            "match_distance": self.match_distance,
            "connectivity": self.connectivity,
            "fa_mode": self.fa_mode,
        }


def _pixel_prf(intersection: float, union: float, target_pixels: float) -> dict:
    """Pixel precision, recall and F1 (percent) from set-level counts: TP = intersection,
    predicted pixels = union - target pixels + TP. NaN where a denominator is 0."""
    nan = float("nan")
    predicted = union - target_pixels + intersection
    precision = intersection / predicted if predicted else nan
    recall = intersection / target_pixels if target_pixels else nan
    f1 = 2 * intersection / (predicted + target_pixels) if predicted + target_pixels else nan
    return {"precision": 100.0 * precision, "recall": 100.0 * recall, "F1": 100.0 * f1}


# ----------------------------------------------------------------------------------------------
# ROC over thresholds
# ----------------------------------------------------------------------------------------------

def _union(parent: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Add edges ``a[i] - b[i]`` to a fully compressed union-find whose roots are the smallest
    index of their set (hook the larger root under the smaller, then pointer jumping)."""
    while a.size:
        ra = parent[a]
        rb = parent[b]
        differ = ra != rb
        if not differ.any():
            break
        a, b, ra, rb = a[differ], b[differ], ra[differ], rb[differ]
        np.minimum.at(parent, np.maximum(ra, rb), np.minimum(ra, rb))
        while True:
            jumped = parent[parent]
            if np.array_equal(jumped, parent):
                break
            parent = jumped
    return parent


def _as_thresholds(thresholds: Sequence[float] | int) -> np.ndarray:
    if isinstance(thresholds, (int, np.integer)) and not isinstance(thresholds, bool):
        if thresholds < 1:
            raise ValueError(f"number of thresholds must be >= 1, got {thresholds}")
        return np.linspace(0.0, 1.0, int(thresholds) + 2)[1:-1]
    t = np.unique(np.asarray(thresholds, dtype=np.float64).ravel())
    if t.size == 0:
        raise ValueError("thresholds is empty")
    return t


class PdFaROC:
    """Pd/Fa, pixel TPR/FPR, IoU and nIoU at many thresholds, streaming.

    ``thresholds``: a sequence of floats (sorted and de-duplicated) or an int ``n`` for ``n``
    evenly spaced thresholds strictly inside (0, 1) (``linspace(0, 1, n + 2)[1:-1]``; ``n = 1``
    gives 0.5). At each threshold ``t`` the prediction is ``scores > t`` and every number equals
    what :class:`SegmentationMetrics` gives at that threshold (same matching, same ``fa_mode``).
    TPR = target pixels above t / target pixels, FPR = background pixels above t / background
    pixels (pixel level, fractions in [0, 1]). ``niou_empty`` as in :class:`SegmentationMetrics`.
    """

    def __init__(self, thresholds: Sequence[float] | int = 20, match_distance: float = 3.0, connectivity: int = 8, fa_mode: str = "correct",
                 niou_empty: str = "zero"):
        self.niou_empty = _check_niou_empty(niou_empty)
        self.thresholds = _as_thresholds(thresholds)
        self.match_distance = float(match_distance)
        self.connectivity = _check_connectivity(connectivity)
        self.fa_mode = _check_fa_mode(fa_mode)
        self.reset()

    def reset(self) -> None:
        k = self.thresholds.size
        self.n_images = 0
        self.n_pixels = 0
        self.n_target_pixels = 0
        self.n_targets = 0
        self.tp = np.zeros(k, dtype=np.int64)
        self.fp = np.zeros(k, dtype=np.int64)
        self.niou_sum = np.zeros(k, dtype=np.float64)
        self.n_matched = np.zeros(k, dtype=np.int64)
        self.false_alarm_pixels = np.zeros(k, dtype=np.int64)

    def update(self, scores: Any, masks: Any) -> None:
        s, m = _paired_batches(scores, masks)
        for i in range(s.shape[0]):
            self._update_one(s[i], _binarize_mask(m[i]))

    def _update_one(self, scores: np.ndarray, mask: np.ndarray) -> None:
        K = self.thresholds.size
        h, w = scores.shape
        if scores.dtype == np.bool_:
            scores = scores.astype(np.float32)
        if np.issubdtype(scores.dtype, np.floating):
            # Compare in the scores' dtype, as SegmentationMetrics does.
            thr = self.thresholds.astype(scores.dtype)
        else:
            thr = self.thresholds
        flat_scores = scores.ravel()
        flat_mask = mask.ravel()
        n_pos = int(np.count_nonzero(flat_mask))
        gt = find_components(mask, self.connectivity)
        self.n_targets += gt.n
        # Dense thresholds (many pixels above, as 0 is for a sigmoid map: every pixel) are labelled
        # as SegmentationMetrics labels them, with ndimage on the image; the rest by the sparse,
        # incremental union-find below, whose cost grows with the pixels it holds. Both give the
        # same components in the same order, so the split changes no number, only the time.
        dense_limit = max(h * w // _DENSE_FRACTION, 1)
        target_scores = flat_scores[flat_mask]
        tp = np.zeros(K, dtype=np.int64)
        fp = np.zeros(K, dtype=np.int64)
        first_sparse = 0
        while first_sparse < K:
            above = scores > thr[first_sparse]
            n_above = int(np.count_nonzero(above))
            if n_above <= dense_limit:
                break
            j = first_sparse
            tp[j] = int(np.count_nonzero(target_scores > thr[j]))
            fp[j] = n_above - tp[j]
            labelled = _label_foreground(above, self.connectivity)
            pred = _box_components(*labelled) if labelled is not None else _EMPTY_COMPONENTS
            match = _match_components(gt, pred, self.match_distance, self.fa_mode)
            self.n_matched[j] += match.n_matched
            self.false_alarm_pixels[j] += match.false_alarm_pixels
            first_sparse += 1
        idx = np.flatnonzero(above) if first_sparse < K else np.zeros(0, dtype=np.int64)
        sa = flat_scores[idx]
        ma = flat_mask[idx]
        # level[p] = number of thresholds strictly below the pixel's score: pixel > thr[j] iff level > j.
        level = np.searchsorted(thr, sa, side="left")

        def above_counts(levels: np.ndarray) -> np.ndarray:
            hist = np.bincount(levels, minlength=K + 1)
            return np.cumsum(hist[::-1])[::-1][1:]  # [j] = count(level > j)

        tp[first_sparse:] = above_counts(level[ma])[first_sparse:]
        fp[first_sparse:] = above_counts(level[~ma])[first_sparse:]
        self.tp += tp
        self.fp += fp
        niou = tp / (n_pos + fp + EPS)
        if self.niou_empty == "one" and n_pos == 0:
            niou = np.where(fp == 0, 1.0, niou)
        self.niou_sum += niou
        self.n_pixels += h * w
        self.n_target_pixels += n_pos
        self.n_images += 1

        if idx.size == 0:
            return
        rows = idx // w
        cols = idx - rows * w
        # Undirected neighbour graph of the pixels above the lowest threshold, built once, via a
        # lookup image padded by one column each side and one row below (no bounds checks).
        wp = w + 2
        padded = rows * wp + cols + 1
        lookup = np.full((h + 1) * wp, -1, dtype=np.int32)
        lookup[padded] = np.arange(idx.size, dtype=np.int32)
        ei, ej = [], []
        for dr, dc in _FORWARD_OFFSETS[self.connectivity]:
            q = lookup[padded + (dr * wp + dc)]
            hit = np.flatnonzero(q >= 0)
            ei.append(hit)
            ej.append(q[hit])
        ei = np.concatenate(ei)
        ej = np.concatenate(ej)
        # An edge exists at threshold j iff both its pixels are above it: j < min(levels).
        edge_level = np.minimum(level[ei], level[ej])
        order = np.argsort(edge_level, kind="stable")
        ei, ej, edge_level = ei[order], ej[order], edge_level[order]
        # Thresholds from the highest down: pixels and edges only get added, so one union-find
        # (parent = smallest pixel index of the component, i.e. its first pixel in raster order)
        # is extended incrementally.
        parent = np.arange(idx.size)
        rank = np.zeros(idx.size, dtype=np.int64)
        for j in range(K - 1, first_sparse - 1, -1):
            lo = np.searchsorted(edge_level, j + 1, side="left")
            hi = np.searchsorted(edge_level, j + 1, side="right")
            if hi > lo:
                parent = _union(parent, ei[lo:hi], ej[lo:hi])
            kept = np.flatnonzero(level > j)
            if kept.size == 0:
                continue
            root = parent[kept]
            roots = kept[root == kept]
            rank[roots] = np.arange(1, roots.size + 1)
            pred = _components_from_labels(rank[root], rows[kept], cols[kept], roots.size)
            match = _match_components(gt, pred, self.match_distance, self.fa_mode)
            self.n_matched[j] += match.n_matched
            self.false_alarm_pixels[j] += match.false_alarm_pixels

    def compute(self):
        """DataFrame with one row per threshold (ascending): ``threshold``, ``Pd`` (percent, NaN
        without targets), ``Fa`` (x1e-6), ``TPR``, ``FPR`` (pixel level, fractions), ``IoU``,
        ``nIoU`` (percent), ``n_matched``, ``n_false_alarm_pixels``."""
        import pandas as pd

        nan = float("nan")
        n_neg = self.n_pixels - self.n_target_pixels
        return pd.DataFrame({
            "threshold": self.thresholds,
            "Pd": 100.0 * self.n_matched / self.n_targets if self.n_targets else np.full(self.thresholds.size, nan),
            "Fa": 1e6 * self.false_alarm_pixels / self.n_pixels if self.n_pixels else np.full(self.thresholds.size, nan),
            "TPR": self.tp / self.n_target_pixels if self.n_target_pixels else np.full(self.thresholds.size, nan),
            "FPR": self.fp / n_neg if n_neg else np.full(self.thresholds.size, nan),
            "IoU": 100.0 * self.tp / (self.n_target_pixels + self.fp + EPS),
            "nIoU": 100.0 * self.niou_sum / self.n_images if self.n_images else np.full(self.thresholds.size, nan),
            "n_matched": self.n_matched.copy(),
            "n_false_alarm_pixels": self.false_alarm_pixels.copy(),
        })

    def auc(self) -> float:
        """Area under the pixel-level ROC (TPR against FPR): the points of all thresholds plus the
        endpoints (0, 0) and (1, 1), sorted by FPR (then TPR), trapezoid rule. A score map that
        puts every target pixel above and every background pixel below all thresholds gives 1."""
        df = self.compute()
        fpr = np.concatenate([[0.0], df["FPR"].to_numpy(), [1.0]])
        tpr = np.concatenate([[0.0], df["TPR"].to_numpy(), [1.0]])
        order = np.lexsort((tpr, fpr))
        return float(np.trapezoid(tpr[order], fpr[order]))

    def pd_fa_auc(self, max_fa: float | None = None, mode: str = "trapezoid") -> float:
        """Normalised area under Pd against Fa (:func:`pd_fa_area`) of these thresholds."""
        df = self.compute()
        return pd_fa_area(df["Fa"].to_numpy(), df["Pd"].to_numpy(), max_fa, mode)


def pd_fa_area(fa: Any, pd_percent: Any, max_fa: float | None = None, mode: str = "trapezoid") -> float:
    """Normalised area under Pd (as a fraction) against Fa (x1e-6) on ``[0, max_fa]``, in [0, 1];
    ``max_fa`` defaults to the largest Fa given. Curves of several methods compare only with one
    ``max_fa`` for all of them.

    ``mode="trapezoid"`` (the default, as before): the points plus (0, 0), sorted by Fa, trapezoid
    rule, Pd held at its last value up to ``max_fa``; points beyond ``max_fa`` are dropped, so a
    curve that starts right of ``max_fa`` scores 0.

    ``mode="step"``: the curve as a step function, Pd at a false-alarm budget ``x`` being the best
    Pd of the curve's points with Fa <= ``x`` (0 below its first point: no threshold reaches so
    few false alarms; its best Pd held beyond its last point), integrated exactly over
    ``[0, max_fa]`` and divided by ``max_fa``: the mean Pd over the budgets up to ``max_fa``. It
    credits no interpolation between thresholds, and every curve with a point inside the range
    counts (:func:`irstd_lib.figures.pd_fa_figure` takes the range up to the largest Fa any
    method reaches). SAIST (Fig. 5, section 4) compares methods by "the Area Under the ROC
    Curve (AUC)" without saying how it is computed; this is the reading that counts each curve.
    """
    if mode not in ("trapezoid", "step"):
        raise ValueError(f"mode must be 'trapezoid' or 'step', got {mode!r}")
    fa = np.asarray(fa, dtype=np.float64).ravel()
    pdv = np.asarray(pd_percent, dtype=np.float64).ravel() / 100.0
    if mode == "step":
        keep = np.isfinite(fa) & np.isfinite(pdv)
        fa, pdv = fa[keep], pdv[keep]
        top = (float(fa.max()) if fa.size else 0.0) if max_fa is None else float(max_fa)
        if top <= 0:
            return float("nan")
        order = np.argsort(fa, kind="stable")
        fa, best = fa[order], np.maximum.accumulate(pdv[order]) if fa.size else pdv
        inside = fa < top
        edges = np.append(fa[inside], top)
        return float(np.sum(best[inside] * np.diff(edges)) / top)
    fa = np.concatenate([[0.0], fa])
    pdv = np.concatenate([[0.0], pdv])
    keep = np.isfinite(fa) & np.isfinite(pdv)
    fa, pdv = fa[keep], pdv[keep]
    order = np.lexsort((pdv, fa))
    fa, pdv = fa[order], pdv[order]
    top = float(fa[-1]) if max_fa is None else float(max_fa)
    if top <= 0:
        return float("nan")
    inside = fa <= top
    fa, pdv = fa[inside], pdv[inside]
    if fa[-1] < top:
        fa = np.append(fa, top)
        pdv = np.append(pdv, pdv[-1])
    return float(np.trapezoid(pdv, fa) / top)
