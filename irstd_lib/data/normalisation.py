"""Per-dataset image statistics that toolboxes normalise inputs with.

BasicIRSTD (``get_img_norm_cfg``, its ``utils.py:93-135`` at HEAD 95650c3) normalises every image
by ``(img - mean) / std`` on the 0-255 scale (``Normalized``, ``utils.py:90-91``), before cropping
and padding; ACM and DNA-Net are reported under that normalisation. Its values are hard-coded per
dataset name (:data:`BASICIRSTD_STATISTICS_255`, copied from its code)::

    if  dataset_name == 'NUAA-SIRST':
        img_norm_cfg = dict(mean=101.06385040283203, std=34.619606018066406)

and, for any other name, computed by its fallback (:func:`basicirstd_fallback_statistics`): the
mean over the train and test lists of each image's mean, and the mean of each image's standard
deviation (``np.array(img, dtype=np.float32)`` of ``convert('I')``; not the pooled pixels'
statistics).

The hard-coded values are not the statistics of every copy of a dataset: on this project's
NUAA-SIRST (427 images) the fallback formula gives mean 111.98 / std 27.63, not 101.06 / 34.62
(which must come from another copy of the images). To train as the toolbox trains, use its
constants (:func:`basicirstd_statistics` does, and falls back to the formula only for datasets
the toolbox does not name).

Values of :data:`BASICIRSTD_STATISTICS` are on the package's [0, 1] scale (divided by 255). A
model's :class:`~irstd_lib.models.base.InputSpec` takes one of them;
``BASICIRSTD_STATISTICS["NUAA-SIRST"]`` is the default of the CNN baselines.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Iterable

import numpy as np

__all__ = ["BASICIRSTD_STATISTICS", "BASICIRSTD_STATISTICS_255", "basicirstd_fallback_statistics",
           "basicirstd_statistics"]

# dataset -> (mean, std) on 0-255, as get_img_norm_cfg writes them (utils.py:96-110, HEAD 95650c3).
BASICIRSTD_STATISTICS_255: dict[str, tuple[float, float]] = {
    "NUAA-SIRST": (101.06385040283203, 34.619606018066406),
    "NUDT-SIRST": (107.80905151367188, 33.02274703979492),
    "IRSTD-1k": (87.4661865234375, 39.71953201293945),  # the toolbox spells it 'IRSTD-1K'
    "NUDT-SIRST-Sea": (43.62403869628906, 18.91838264465332),
    "SIRST4": (62.10432052612305, 23.96998405456543),
    "IRDST-real": (101.54053497314453, 56.49856185913086),
    "LimitIRTSTD-track2": (64.21671295166016, 24.50885772705078),
}
_TOOLBOX_SPELLINGS = {"IRSTD-1K": "IRSTD-1k"}

# dataset -> (mean, std) on the [0, 1] scale; the values above divided by 255 (the entries that
# existed before LimitIRTSTD-track2 was added are unchanged).
BASICIRSTD_STATISTICS: dict[str, tuple[float, float]] = {
    name: (mean / 255.0, std / 255.0) for name, (mean, std) in BASICIRSTD_STATISTICS_255.items()
}


def basicirstd_fallback_statistics(images: Iterable[np.ndarray]) -> tuple[float, float]:
    """The toolbox's formula for a dataset it does not name (``utils.py:111-135``), on the
    0-255 scale: ``mean(per-image means)``, ``mean(per-image stds)`` (population std, numpy's
    default), each image as float32. ``images`` are on the package's [0, 1] scale and are
    multiplied by 255 first (the package reads 8-bit images as ``L / 255``; ``convert('I')`` of an
    8-bit image is ``L``)."""
    means, stds = [], []
    for image in images:
        a = np.rint(np.asarray(image, dtype=np.float64) * 255.0).astype(np.float32)
        means.append(a.mean())
        stds.append(a.std())
    if not means:
        raise ValueError("basicirstd_fallback_statistics: no images")
    return float(np.array(means).mean()), float(np.array(stds).mean())


def basicirstd_statistics(dataset: str, root: str | os.PathLike | None = None,
                          splits: tuple[str, ...] = ("train", "test"), **dataset_kwargs) -> tuple[float, float]:
    """``(mean, std)`` on the package's [0, 1] scale that the toolbox normalises ``dataset`` with:
    its hard-coded constants when it names the dataset, else its fallback formula over the
    images of ``splits`` under ``root`` (read by :class:`~irstd_lib.data.IRSTDDataset` with
    ``dataset_kwargs``, e.g. ``split_dir="img_idx"``). Pass them to a model as
    ``input_mean``/``input_std`` (ACM, DNA-Net)."""
    name = _TOOLBOX_SPELLINGS.get(dataset, dataset)
    if name in BASICIRSTD_STATISTICS:
        return BASICIRSTD_STATISTICS[name]
    if root is None:
        raise ValueError(f"BasicIRSTD has no constants for {dataset!r} (it names {sorted(BASICIRSTD_STATISTICS_255)}); "
                         "pass the dataset folder to compute them by its fallback formula")
    from irstd_lib.data import IRSTDDataset

    images = (sample.image for split in splits for sample in IRSTDDataset(Path(root), split=split, **dataset_kwargs))
    mean, std = basicirstd_fallback_statistics(images)
    return mean / 255.0, std / 255.0
