"""Readers for single files of an IRSTD dataset: images, masks and text descriptions.

Every reader decodes the whole file at once (``Image.load()``), so a truncated or corrupt file
fails here, with a :class:`DatasetError` naming it, and never later inside a model. Nothing is
repaired silently.

Conventions (shared by the whole package):

- an image is a ``numpy.float32`` array ``H x W`` with values in [0, 1]. Colour and palette
  images become luminance with PIL's own ``"L"`` conversion (ITU-R 601-2:
  ``L = R*299/1000 + G*587/1000 + B*114/1000``), after P/RGBA/CMYK... have been converted to
  RGB (the alpha channel is dropped, not composited: infrared PNGs with alpha carry an opaque
  alpha). 8-bit values are divided by 255, 16-bit values (``I;16*``, and ``I`` images whose
  values fit 16 bits, which is how some Pillow versions open 16-bit PNGs) by 65535. Float
  (``F``) images must already lie in [0, 1]; any other range is an error, because guessing a
  scale would silently change the data.
- a mask is a ``numpy.bool_`` array ``H x W``. Accepted stored values: 0/1, 0/255, and 0/65535
  for 16-bit masks (``1``-mode masks are binary by construction). RGB/RGBA/P/LA masks are first
  converted to ``"L"``; a coloured mask whose luminance is not 0/255 is therefore reported as
  non-binary, with the values found, rather than thresholded.
- a description is a UTF-8 text file (a byte-order mark is tolerated); surrounding whitespace is
  stripped; an empty (or whitespace-only) file is an error.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Callable, TypeVar

import numpy as np
from PIL import Image, ImageFile

from irstd_lib.data.errors import DatasetError

__all__ = [
    "IMAGE_EXTENSIONS",
    "read_image",
    "read_mask",
    "read_description",
    "image_size",
]

#: Image file extensions the dataset reader looks for, in order of preference (lower case;
#: matching is case-insensitive).
IMAGE_EXTENSIONS: tuple[str, ...] = (".png", ".bmp", ".jpg", ".jpeg", ".tif", ".tiff")

_SIXTEEN_BIT_MODES = ("I;16", "I;16B", "I;16L", "I;16N")
_T = TypeVar("_T")


def _decode(path: str | os.PathLike, what: str, convert: Callable[[Image.Image], _T]) -> _T:
    """Open ``path``, force a full decode and run ``convert`` on the loaded image.

    ``ImageFile.LOAD_TRUNCATED_IMAGES`` is forced to False for the duration of the load: if
    some other library switched it on globally, truncated files would otherwise load as
    partly black images without any error.
    """
    p = Path(path)
    if not p.is_file():
        raise DatasetError(p, f"{what} file not found")
    previous = ImageFile.LOAD_TRUNCATED_IMAGES
    ImageFile.LOAD_TRUNCATED_IMAGES = False
    try:
        with Image.open(p) as im:
            im.load()
            return convert(im)
    except DatasetError:
        raise
    except Exception as exc:  # PIL raises OSError, SyntaxError, ValueError, EOFError, ...
        raise DatasetError(
            p, f"cannot read {what} ({type(exc).__name__}: {exc}); the file is unreadable, "
            "truncated or not an image"
        ) from exc
    finally:
        ImageFile.LOAD_TRUNCATED_IMAGES = previous


def _to_luminance_array(im: Image.Image) -> np.ndarray:
    """Integer or float array of one channel, before scaling (see module docstring)."""
    mode = im.mode
    if mode in ("L",) or mode in _SIXTEEN_BIT_MODES or mode in ("I", "F"):
        return np.asarray(im)
    if mode == "1":
        return np.asarray(im.convert("L"))
    if mode == "LA":
        return np.asarray(im.convert("L"))
    if mode == "RGB":
        return np.asarray(im.convert("L"))
    # P, PA, RGBA, RGBX, CMYK, YCbCr, LAB, HSV, La, RGBa, I;16 variants not listed above...
    return np.asarray(im.convert("RGB").convert("L"))


def read_image(path: str | os.PathLike) -> np.ndarray:
    """Read an image as ``float32`` ``H x W`` grayscale in [0, 1] (see module docstring).

    Raises :class:`DatasetError` naming the file when it is missing, unreadable, truncated, or
    holds values that cannot be mapped to [0, 1] without guessing.
    """

    def convert(im: Image.Image) -> np.ndarray:
        mode = im.mode
        arr = _to_luminance_array(im)
        if arr.ndim != 2:
            raise DatasetError(path, f"image has unexpected shape {arr.shape} (mode {mode})")
        if mode in _SIXTEEN_BIT_MODES:
            out = arr.astype(np.float32) / np.float32(65535.0)
        elif mode == "I":
            lo, hi = (int(arr.min()), int(arr.max())) if arr.size else (0, 0)
            if lo < 0 or hi > 65535:
                raise DatasetError(
                    path, f"32-bit integer image has values {lo}..{hi}, outside the 16-bit range "
                    "0..65535; convert it to 8- or 16-bit"
                )
            out = arr.astype(np.float32) / np.float32(65535.0)
        elif mode == "F":
            out = arr.astype(np.float32)
            if out.size and (not np.isfinite(out).all() or out.min() < 0.0 or out.max() > 1.0):
                raise DatasetError(
                    path, f"float image has values {float(np.nanmin(out))}..{float(np.nanmax(out))}, "
                    "not in [0, 1]; the scale cannot be guessed, convert it to 8- or 16-bit"
                )
        else:
            out = arr.astype(np.float32) / np.float32(255.0)
        return np.ascontiguousarray(out, dtype=np.float32)

    return _decode(path, "image", convert)


def _format_values(values: np.ndarray, limit: int = 8) -> str:
    shown = ", ".join(str(v) for v in values[:limit].tolist())
    if len(values) > limit:
        shown += f", ... ({len(values)} distinct values)"
    return shown


def read_mask(path: str | os.PathLike) -> np.ndarray:
    """Read a mask as ``bool`` ``H x W``; stored values must be 0/1, 0/255 or (16-bit) 0/65535.

    Raises :class:`DatasetError` naming the file when it is missing, unreadable, truncated, or
    holds other values (the message lists the values found).
    """

    def convert(im: Image.Image) -> np.ndarray:
        mode = im.mode
        if mode == "1":
            return np.ascontiguousarray(np.asarray(im), dtype=bool)
        arr = _to_luminance_array(im)
        if arr.ndim != 2:
            raise DatasetError(path, f"mask has unexpected shape {arr.shape} (mode {mode})")
        values = np.unique(arr)
        allowed: list[set[float]] = [{0, 1}, {0, 255}]
        if mode in _SIXTEEN_BIT_MODES or mode == "I":
            allowed.append({0, 65535})
        found = set(values.tolist())
        if not any(found <= a for a in allowed):
            allowed_txt = " or ".join("/".join(str(v) for v in sorted(a)) for a in allowed)
            raise DatasetError(
                path, f"mask is not binary: found values {_format_values(values)} "
                f"(mode {mode}); expected {allowed_txt}"
            )
        return np.ascontiguousarray(arr > 0)

    return _decode(path, "mask", convert)


def image_size(path: str | os.PathLike) -> tuple[int, int]:
    """``(width, height)`` from the file header, without decoding pixels (DatasetError if unreadable)."""
    p = Path(path)
    if not p.is_file():
        raise DatasetError(p, "file not found")
    try:
        with Image.open(p) as im:
            return im.size
    except Exception as exc:
        raise DatasetError(p, f"cannot read image header ({type(exc).__name__}: {exc})") from exc


def read_description(path: str | os.PathLike) -> str:
    """Read a text description (UTF-8); surrounding whitespace stripped; empty -> DatasetError."""
    p = Path(path)
    if not p.is_file():
        raise DatasetError(p, "description file not found")
    try:
        text = p.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DatasetError(p, f"description file is not valid UTF-8 ({exc})") from exc
    except OSError as exc:
        raise DatasetError(p, f"cannot read description file ({exc})") from exc
    text = text.strip()
    if not text:
        raise DatasetError(p, "description file is empty")
    return text
