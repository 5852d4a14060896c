"""What the targets of a dataset look like: size and local contrast, one row per target.

The field's datasets differ most in how small and how faint their targets are, which is what
decides how hard they are; this measures both per split, so that two datasets (or a split and
its complement) can be compared before anything is trained.

- ``area``: pixels of the target, a connected component of the mask (8-connected, as the
  metrics count targets).
- ``scr``: the local signal-to-clutter ratio ``|mean(target) - mean(ring)| / std(ring)`` over
  the image's grey levels in [0, 1], where the ring is the background within ``ring`` pixels of
  the target (dilated by a square of side ``2 * ring + 1``, other targets' pixels excluded). The
  field's definition (e.g. the SIRST and IRSTD-1k papers' SCR); ``nan`` when the ring is flat or
  empty. Chosen width: 5 pixels, about the size of the targets themselves.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import ndimage

from irstd_lib.metrics import label_components

__all__ = ["RING_PIXELS", "target_statistics"]

RING_PIXELS = 5


def _image_rows(name: str, image: np.ndarray, mask: np.ndarray, ring: int) -> list[dict]:
    labels, components = label_components(mask, 8)
    rows = []
    square = np.ones((2 * ring + 1, 2 * ring + 1), dtype=bool)
    for index in range(1, int(labels.max()) + 1):
        target = labels == index
        band = ndimage.binary_dilation(target, structure=square) & ~mask
        signal = float(image[target].mean())
        if band.any():
            clutter, spread = float(image[band].mean()), float(image[band].std())
            scr = abs(signal - clutter) / spread if spread > 0 else float("nan")
        else:
            clutter, scr = float("nan"), float("nan")
        rows.append({"name": name, "area": int(target.sum()), "target_mean": signal, "ring_mean": clutter, "scr": scr})
    return rows


def target_statistics(dataset, ring: int = RING_PIXELS) -> pd.DataFrame:
    """One row per target of ``dataset`` (an :class:`~irstd_lib.data.IRSTDDataset`): ``name``,
    ``area``, ``target_mean``, ``ring_mean``, ``scr`` (see the module docstring). Images whose
    mask size differs from the image's follow the dataset's ``on_size_mismatch``."""
    rows: list[dict] = []
    for sample in dataset:
        rows += _image_rows(sample.name, np.asarray(sample.image, dtype=np.float64), np.asarray(sample.mask, dtype=bool), ring)
    return pd.DataFrame(rows, columns=["name", "area", "target_mean", "ring_mean", "scr"])
