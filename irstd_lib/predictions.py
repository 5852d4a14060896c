"""Prediction files: how any method's output is stored and read back for scoring.

A prediction folder holds one file per image, named after the image:

- ``<name>.png``: an 8-bit or 16-bit score map (0-255 scaled to [0, 1]) or a binary mask
  (PIL mode ``1``, or a PNG whose only values are 0 and 1, read as 0/1);
- ``<name>.npy``: a float map in whatever range the method produces (thresholded as is).

When both exist for a name, ``.npy`` wins: it keeps the full precision.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from irstd_lib.data.errors import DatasetError
from irstd_lib.io import atomic_write_bytes

PREDICTION_SUFFIXES = (".npy", ".png")


def find_prediction(pred_dir: Path, name: str) -> Path:
    """The prediction file for image ``name`` in ``pred_dir``; DatasetError naming it if absent."""
    for suffix in PREDICTION_SUFFIXES:
        path = pred_dir / f"{name}{suffix}"
        if path.is_file():
            return path
    raise DatasetError(pred_dir / f"{name}.png", f"no prediction for test image {name!r} (looked for {name}.npy and {name}.png)")


def read_prediction(path: Path) -> np.ndarray:
    """Read a prediction file as a float32 score map (PNG scaled to [0, 1], .npy as stored)."""
    path = Path(path)
    if path.suffix == ".npy":
        try:
            scores = np.load(path, allow_pickle=False)
        except (OSError, ValueError) as exc:
            raise DatasetError(path, f"unreadable .npy prediction ({exc})") from exc
        scores = np.squeeze(scores)
        if scores.ndim != 2:
            raise DatasetError(path, f"prediction must be a 2-D map, got shape {scores.shape}")
        if not np.issubdtype(scores.dtype, np.number) and scores.dtype != np.bool_:
            raise DatasetError(path, f"prediction has non-numeric dtype {scores.dtype}")
        return scores.astype(np.float32)
    try:
        with Image.open(path) as img:
            img.load()
            mode = img.mode
            array = np.asarray(img.convert("1") if mode == "1" else img)
    except (OSError, UnidentifiedImageError) as exc:
        raise DatasetError(path, f"unreadable prediction image ({exc})") from exc
    if array.ndim == 3:
        array = array[..., 0] if mode in ("LA", "RGBA", "RGB") else array.max(axis=-1)
    if mode == "1" or array.dtype == np.bool_:
        return array.astype(np.float32)
    if array.max(initial=0) <= 1:
        # A mask saved as 0/1 values (common with cv2.imwrite(mask.astype(uint8))).
        return array.astype(np.float32)
    scale = 65535.0 if array.dtype == np.uint16 or array.max() > 255 else 255.0
    return (array.astype(np.float32) / scale).astype(np.float32)


def write_prediction_png(path: Path, scores: np.ndarray) -> Path:
    """Write a [0, 1] score map (or a bool mask) as an 8-bit PNG, atomically."""
    scores = np.asarray(scores)
    if scores.dtype == np.bool_:
        data = scores.astype(np.uint8) * 255
    else:
        data = np.clip(np.rint(scores.astype(np.float64) * 255.0), 0, 255).astype(np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(data, mode="L").save(buffer, format="PNG")
    return atomic_write_bytes(path, buffer.getvalue())


def write_prediction_npy(path: Path, scores: np.ndarray) -> Path:
    buffer = io.BytesIO()
    np.save(buffer, np.asarray(scores, dtype=np.float32), allow_pickle=False)
    return atomic_write_bytes(path, buffer.getvalue())
