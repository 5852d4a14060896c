"""Mask geometry and image statistics, shared by the template sources (``quadrant``,
``semantic``, ``scene``).

* Targets: :func:`target_components`, the 8-connected (by default) components of a mask in
  label order with their areas, centroids and boxes, labelled with
  :func:`irstd_lib.metrics.label_components` (the package's one connected-components
  implementation, the one Pd and Fa count targets with).
* :func:`mask_out_targets`: hides the targets (ring-median inpainting), SAIST's "target masked
  out" step before describing the background.
* :func:`local_contrast`: target mean minus ring mean, in ring stds.
* :func:`background_statistics`: coarse intensity statistics of the background (targets masked
  out and excluded), and :func:`describe_background`, a few words from them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

import numpy as np
from scipy import ndimage as ndi

from irstd_lib.metrics import label_components
from irstd_lib.text import scene_vocabulary as vocab


@dataclass(frozen=True)
class TargetComponent:
    """One connected target region of a mask. Coordinates are pixel indices (row, col), the
    centre of pixel (i, j) being at (i, j); ``bbox`` is (row0, col0, row1, col1), end-exclusive."""

    label: int
    area: int
    centroid: tuple[float, float]
    bbox: tuple[int, int, int, int]


def _check_connectivity(connectivity: int) -> None:
    if connectivity not in (4, 8):
        raise ValueError(f"connectivity must be 4 or 8, got {connectivity}")


def target_components(mask: np.ndarray, connectivity: int = 8) -> tuple[list[TargetComponent], np.ndarray]:
    """Connected components of ``mask`` (8-connected by default, as the field's Pd counts
    targets), in label order (raster order of each component's first pixel), and the label map."""
    mask = np.asarray(mask, dtype=bool)
    _check_connectivity(connectivity)
    labels, found = label_components(mask, connectivity)
    comps: list[TargetComponent] = []
    if found.n == 0:
        return comps, labels
    slices = ndi.find_objects(labels)
    for lab, (area, cen, sl) in enumerate(zip(found.areas, found.centroids, slices), start=1):
        comps.append(
            TargetComponent(
                label=lab,
                area=int(area),
                centroid=(float(cen[0]), float(cen[1])),
                bbox=(sl[0].start, sl[1].start, sl[0].stop, sl[1].stop),
            )
        )
    return comps, labels


def _check_pair(image: np.ndarray, mask: np.ndarray | None, name: str) -> None:
    if image.ndim != 2:
        raise ValueError(f"{name}: image must be a 2-D (H, W) array, got shape {image.shape}")
    if mask is not None and mask.shape != image.shape:
        raise ValueError(f"{name}: mask shape {mask.shape} differs from image shape {image.shape}")


def mask_out_targets(
    image: np.ndarray, mask: np.ndarray, guard: int = 1, ring_width: int = 4, connectivity: int = 8
) -> np.ndarray:
    """Hide the targets: fill each target (grown by ``guard`` px) with the median of the ring of
    ``ring_width`` px around it, target pixels of any target excluded from the ring.

    This is the "target masked out" step SAIST applies before describing the background. A
    median of the surrounding ring is a simple inpainting that leaves no bright residue and
    introduces no new edges for a small target; a component whose ring is empty (a target
    covering the whole frame) is filled with the median of all non-target pixels, or left as is
    when there are none.
    """
    image = np.asarray(image, dtype=np.float32)
    mask = np.asarray(mask, dtype=bool)
    out = image.copy()
    if not mask.any():
        return out
    comps, labels = target_components(mask, connectivity)
    square = np.ones((3, 3), dtype=bool)
    all_grown = ndi.binary_dilation(mask, square, iterations=guard) if guard > 0 else mask
    background = ~all_grown
    fallback = float(np.median(image[background])) if background.any() else None
    for comp in comps:
        # Work inside a padded window around the component: dilating the full frame once per
        # target would cost O(targets x pixels).
        r0, c0, r1, c1 = comp.bbox
        pad = guard + ring_width + 1
        R0, C0 = max(r0 - pad, 0), max(c0 - pad, 0)
        R1, C1 = min(r1 + pad, image.shape[0]), min(c1 + pad, image.shape[1])
        own = labels[R0:R1, C0:C1] == comp.label
        region = ndi.binary_dilation(own, square, iterations=guard) if guard > 0 else own
        ring = ndi.binary_dilation(region, square, iterations=ring_width) & background[R0:R1, C0:C1]
        if ring.any():
            value = float(np.median(image[R0:R1, C0:C1][ring]))
        elif fallback is not None:
            value = fallback
        else:
            continue
        window = out[R0:R1, C0:C1]
        window[region] = value
    return out


def local_contrast(
    image: np.ndarray,
    labels: np.ndarray,
    component: TargetComponent,
    all_targets: np.ndarray,
    guard: int = 2,
    ring_width: int = 5,
) -> float | None:
    """Target mean minus the mean of the ring around it, in units of the ring's std.

    The ring is the pixels between ``guard`` and ``guard + ring_width`` px (Chebyshev distance)
    from the component, with every target pixel (grown by ``guard``) excluded. The std is floored
    at 1/255 (one 8-bit grey level) so that a perfectly flat ring does not give infinity.
    Returns None when the ring is empty.
    """
    r0, c0, r1, c1 = component.bbox
    pad = guard + ring_width + 1
    R0, C0 = max(r0 - pad, 0), max(c0 - pad, 0)
    R1, C1 = min(r1 + pad, image.shape[0]), min(c1 + pad, image.shape[1])
    square = np.ones((3, 3), dtype=bool)
    own = labels[R0:R1, C0:C1] == component.label
    near_any = ndi.binary_dilation(all_targets[R0:R1, C0:C1], square, iterations=guard) if guard > 0 else all_targets[R0:R1, C0:C1]
    ring = ndi.binary_dilation(own, square, iterations=guard + ring_width) & ~near_any
    if not ring.any():
        return None
    window = image[R0:R1, C0:C1].astype(np.float64)
    ring_values = window[ring]
    return float((window[own].mean() - ring_values.mean()) / max(ring_values.std(), 1.0 / 255.0))


def _robust_std(values: np.ndarray) -> float:
    """1.4826 x median absolute deviation: the std of Gaussian data, blind to sparse outliers
    (cloud boundaries, a building edge) that would dominate a plain std."""
    if values.size == 0:
        return 0.0
    return float(1.4826 * np.median(np.abs(values - np.median(values))))


def background_statistics(image: np.ndarray, mask: np.ndarray | None = None, guard: int = 3) -> dict[str, float]:
    """Coarse statistics of the background, targets masked out first (:func:`mask_out_targets`)
    and then excluded (grown by ``guard`` px) from every statistic.

    Keys (image values in [0, 1]):
    ``median``: median background level; ``large_scale_std``: std of the image smoothed with a
    Gaussian of sigma min(H, W)/32 (clouds, gradients); ``texture_std`` / ``texture_top`` /
    ``texture_bottom``: robust std (1.4826 MAD) of a band-pass image (Gaussian sigma 1 minus
    Gaussian sigma 4: structures of a few pixels; pixel noise is damped by the sigma-1
    smoothing, isolated edges by the MAD) over the whole frame / its top half / its bottom half;
    ``edge_fraction``: fraction of pixels whose Sobel gradient (per pixel, i.e. Sobel/8) exceeds
    0.05; ``horizon_step``: largest brightness step between row means of the smoothed image
    H/16 rows above and below a row; ``anisotropy_bottom``: mean |d/dy| over mean |d/dx| in the
    bottom half (horizontal stripes, e.g. waves, give > 1).
    """
    img = np.asarray(image, dtype=np.float64)
    h, w = img.shape
    if mask is not None and np.asarray(mask).any():
        mask = np.asarray(mask, dtype=bool)
        img = mask_out_targets(img, mask).astype(np.float64)
        keep = ~ndi.binary_dilation(mask, np.ones((3, 3), dtype=bool), iterations=guard)
        if keep.sum() < 16:
            keep = np.ones_like(mask)
    else:
        keep = np.ones((h, w), dtype=bool)
    rows = np.arange(h)[:, None]
    top = keep & (rows < h / 2)
    bottom = keep & (rows >= h / 2)
    if not top.any():
        top = keep
    if not bottom.any():
        bottom = keep

    large = ndi.gaussian_filter(img, max(min(h, w) / 32.0, 1.0), mode="reflect")
    band = ndi.gaussian_filter(img, 1.0, mode="reflect") - ndi.gaussian_filter(img, 4.0, mode="reflect")
    gy = ndi.sobel(img, axis=0, mode="reflect") / 8.0
    gx = ndi.sobel(img, axis=1, mode="reflect") / 8.0
    magnitude = np.hypot(gx, gy)
    row_means = large.mean(axis=1)
    step = max(h // 16, 1)
    horizon = float(np.abs(row_means[2 * step :] - row_means[: -2 * step]).max()) if h > 2 * step else 0.0
    return {
        "median": float(np.median(img[keep])),
        "large_scale_std": float(large[keep].std()),
        "texture_std": _robust_std(band[keep]),
        "texture_top": _robust_std(band[top]),
        "texture_bottom": _robust_std(band[bottom]),
        "edge_fraction": float((magnitude[keep] > 0.05).mean()),
        "horizon_step": horizon,
        "anisotropy_bottom": float(np.abs(gy[bottom]).mean() / max(np.abs(gx[bottom]).mean(), 1e-9)),
    }


def has_ground_at_bottom(stats: Mapping[str, float]) -> bool:
    """Fine texture in the bottom half, at least ``ground_texture_ratio`` times the top half's:
    the usual look of a tree line, town or slope under a sky."""
    t = vocab.STATISTICS_THRESHOLDS
    return stats["texture_bottom"] > t["ground_texture_std"] and stats["texture_bottom"] > t["ground_texture_ratio"] * stats["texture_top"]


def describe_background(stats: Mapping[str, float]) -> str:
    """A few words for the background from :func:`background_statistics`.

    Rules, first match wins (thresholds in ``scene_vocabulary.STATISTICS_THRESHOLDS``, set by
    eye on NUAA-SIRST): textured bottom half under a smoother top (:func:`has_ground_at_bottom`)
    -> "<cloudy|smooth> sky with textured ground at the bottom"; low large-scale variation and
    low texture -> "uniform sky"; large-scale variation -> "cloudy sky"; fine texture everywhere
    -> "grainy background" (sensor noise and fine clutter look alike to these statistics, so the
    word does not claim which); otherwise "smooth sky with gentle gradients". A brightness word
    (dark < 0.25 <= gray <= 0.6 < bright, on the background median) qualifies the sky or
    background, and ", with sharp edges" is added when more than 2 % of the pixels are strong
    edges. The words never include the positional words of LangIR's Table 1, so that positional
    counts only reflect where targets are. These are coarse, intensity-only cues, not scene
    understanding.
    """
    t = vocab.STATISTICS_THRESHOLDS
    med = stats["median"]
    tone = "dark" if med < 0.25 else "bright" if med > 0.6 else "gray"
    cloudy = stats["large_scale_std"] >= t["cloud_large_scale_std"]
    if has_ground_at_bottom(stats):
        text = f"{'cloudy' if cloudy else 'smooth'} {tone} sky with textured ground at the bottom"
    elif not cloudy and stats["texture_std"] < t["uniform_texture_std"]:
        text = f"uniform {tone} sky"
    elif cloudy:
        text = f"cloudy {tone} sky"
    elif stats["texture_std"] >= t["grainy_texture_std"]:
        text = f"grainy {tone} background"
    else:
        text = f"smooth {tone} sky with gentle gradients"
    if stats["edge_fraction"] > t["edge_fraction"]:
        text += ", with sharp edges"
    return text
