"""Deterministic synthetic infrared scenes: the embedded dataset of the ``smoke`` profile and tests.

Each scene is composed the way SAIST models an infrared observation, through the imaging equation
(:mod:`irstd_lib.imaging_equation`)::

    I = J t + A (1 - t),      t = exp(-beta d)

- ``J`` (scene radiance): a background of one of five kinds plus the targets. Backgrounds:
  ``sky`` (smooth vertical gradient), ``clouds`` (multi-scale smoothed noise, bright cloud
  edges), ``sea`` (a horizon with wave texture below it), ``ground`` (high-frequency texture with
  warm patches), ``urban`` (ground with rectangular structures whose bright edges are the
  classical false alarms of top-hat filters).
- ``d`` (depth): constant for sky-like scenes, growing towards the horizon for sea and ground;
  a target sits at the depth of the background behind it or nearer.
- ``beta`` in [0.004, 0.02] per depth unit, ``d`` up to 100 units (so ``t`` spans 0.13-1) and
  airlight ``A`` in [0.35, 0.75].
- Targets: 1-3 per image (weights 0.6/0.3/0.1), elliptical Gaussian point-spread functions with
  sigmas 0.4-4.2 px. The pixel mask of a target is where its PSF exceeds half of its peak
  (the full width at half maximum), so areas run from 1 to about 80 pixels (clipped there), and
  the peak pixel is always in the mask. The amplitude is set by a signal-to-clutter ratio
  drawn in [3, 10] (SCR = the target's peak contrast in the observed image, over the clutter: the
  standard deviation of the observed background in a 15x15 window combined with the sensor
  noise): dim but visible, as most NUAA-SIRST targets are. The contrast accounts for the haze a
  nearer target does not see (version 4; before, that change of haze could cancel the target).
  Targets never touch (centres at least 2 FWHM radii + 3 px apart) and stay 4 px inside the
  border, so the number of 8-connected mask components equals the number of targets.
- Sensor noise: Gaussian, sigma 0.003-0.015, then 8-bit quantisation. ``generate_scene``
  returns the quantised image, so what is written equals what is read back.

Each scene has a short description made from what the generator knows (count, position words of
LangIR's Table 1, size, brightness, background), e.g. "Two small dim targets in the upper left and
center of a cloudy sky.", always under 50 words.

Same seed, same bytes: every scene draws from ``numpy.random.default_rng`` seeded by
``(seed, index)``; PNGs are written without timestamps. The dataset is written in the plain
layout of IRSTD-1k (``images/SYN0000.png``, ``masks/SYN0000.png``, ``train.txt``, ``val.txt``,
``trainval.txt``, ``test.txt``), with ``descriptions/SYN0000.description.txt`` (LangIR's naming)
and ``meta.json`` (generator version, seed, size, per-image targets).
"""

from __future__ import annotations

import json
import math
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from scipy import ndimage

from irstd_lib.imaging_equation import compose
from irstd_lib.io import atomic_write_text

__all__ = [
    "GENERATOR_VERSION",
    "BACKGROUNDS",
    "SyntheticScene",
    "generate_scene",
    "write_synthetic_dataset",
    "split_names",
]

GENERATOR_VERSION = 4
"""Bumped whenever the output of the generator changes for a given seed."""

BACKGROUNDS = ("sky", "clouds", "sea", "ground", "urban")
_BACKGROUND_PHRASES = {
    "sky": "a clear sky",
    "clouds": "a cloudy sky",
    "sea": "the sea surface below the horizon",
    "ground": "a textured ground background",
    "urban": "buildings with bright edges",
}
_MAX_AREA = 80
_COUNT_WORDS = {1: "One", 2: "Two", 3: "Three"}


@dataclass
class SyntheticScene:
    """One synthetic scene: ``image`` float32 HxW in [0, 1] (8-bit levels), ``mask`` bool HxW."""

    image: np.ndarray
    mask: np.ndarray
    description: str
    background: str
    targets: list[dict] = field(default_factory=list)
    beta: float = 0.0
    airlight: float = 0.0


def _size_hw(size: int | tuple[int, int]) -> tuple[int, int]:
    if isinstance(size, int):
        h = w = size
    else:
        h, w = (int(s) for s in size)
    if h < 16 or w < 16:
        raise ValueError(f"synthetic scenes need at least 16x16 pixels, got {h}x{w}")
    return h, w


def _smooth_noise(rng: np.random.Generator, shape: tuple[int, int], scale: float) -> np.ndarray:
    """Zero-mean, unit-std noise smoothed at ``scale`` pixels."""
    field_ = ndimage.gaussian_filter(rng.standard_normal(shape), sigma=scale, mode="reflect")
    std = field_.std()
    return field_ / std if std > 0 else field_


def _fractal(rng: np.random.Generator, shape: tuple[int, int], scales: tuple[float, ...]) -> np.ndarray:
    """Sum of smoothed noise at several scales, coarse scales weighted more (1/f-like clutter)."""
    total = sum(_smooth_noise(rng, shape, s) * s for s in scales)
    return total / sum(scales)


def _background(rng: np.random.Generator, kind: str, h: int, w: int) -> tuple[np.ndarray, np.ndarray]:
    """Scene radiance of the background and its depth map (both HxW float64)."""
    rows = np.linspace(0.0, 1.0, h)[:, None] * np.ones((1, w))
    level = rng.uniform(0.2, 0.5)
    if kind == "sky":
        radiance = level + rng.uniform(-0.12, 0.12) * rows + 0.01 * _smooth_noise(rng, (h, w), 8 * h / 128)
        depth = np.full((h, w), rng.uniform(60, 100))
    elif kind == "clouds":
        clouds = _fractal(rng, (h, w), (2.0 * h / 128, 6.0 * h / 128, 16.0 * h / 128))
        clouds = np.clip(clouds, 0, None) ** 1.5  # sharp bright cloud edges, clear gaps
        radiance = level + rng.uniform(0.15, 0.35) * clouds + rng.uniform(-0.08, 0.08) * rows
        depth = np.full((h, w), rng.uniform(40, 100))
    elif kind in ("sea", "ground", "urban"):
        horizon = int(h * rng.uniform(0.15, 0.45)) if kind != "urban" else 0
        below = rows >= horizon / h
        depth = np.where(below, 10 + 80 * (1 - (rows - horizon / h) / max(1 - horizon / h, 1e-6)), 100.0)
        sky = level + 0.03 * _smooth_noise(rng, (h, w), 10 * h / 128)
        if kind == "sea":
            waves = np.sin(2 * np.pi * (rows * h / rng.uniform(3, 7)) + 0.6 * _smooth_noise(rng, (h, w), 3))
            surface = level + rng.uniform(0.05, 0.15) + 0.04 * waves * rows + 0.02 * _smooth_noise(rng, (h, w), 1.0)
        else:
            texture = _fractal(rng, (h, w), (1.0, 3.0 * h / 128, 10.0 * h / 128))
            surface = level + rng.uniform(0.0, 0.15) + rng.uniform(0.05, 0.12) * texture
        radiance = np.where(below, surface, sky)
        if kind == "urban":
            for _ in range(int(rng.integers(2, 6))):
                r0, c0 = int(rng.integers(0, h - 8)), int(rng.integers(0, w - 8))
                r1, c1 = r0 + int(rng.integers(6, max(7, h // 3))), c0 + int(rng.integers(4, max(5, w // 5)))
                radiance[r0:r1, c0:c1] += rng.uniform(0.05, 0.2)
                # Sun-warmed edges: thin bright lines the size of a small target across.
                radiance[r0:r1, c0 : c0 + 1] += rng.uniform(0.1, 0.25)
                radiance[r0 : r0 + 1, c0:c1] += rng.uniform(0.1, 0.25)
    else:  # pragma: no cover - guarded by the caller
        raise ValueError(kind)
    return radiance, depth


def _position_words(row: float, col: float, h: int, w: int) -> str:
    vertical = "upper" if row < h / 3 else ("lower" if row >= 2 * h / 3 else "")
    horizontal = "left" if col < w / 3 else ("right" if col >= 2 * w / 3 else "")
    if vertical and horizontal:
        return f"{vertical} {horizontal}"
    if vertical or horizontal:
        return f"{vertical or horizontal} part"
    return "center"


def _describe(targets: list[dict], kind: str, h: int, w: int) -> str:
    n = len(targets)
    areas = [t["area"] for t in targets]
    size = "tiny" if max(areas) <= 9 else ("small" if max(areas) <= 40 else "larger")
    brightness = "dim" if np.median([t["scr"] for t in targets]) < 3 else "bright"
    where = []
    for t in targets:
        words = _position_words(t["row"], t["col"], h, w)
        if words not in where:
            where.append(words)
    places = where[0] if len(where) == 1 else ", ".join(where[:-1]) + " and " + where[-1]
    noun = "target" if n == 1 else "targets"
    return f"{_COUNT_WORDS[n]} {size} {brightness} {noun} in the {places} of {_BACKGROUND_PHRASES[kind]}."


def generate_scene(seed: int | np.random.SeedSequence, size: int | tuple[int, int] = 256) -> SyntheticScene:
    """One synthetic scene; the same ``seed`` and ``size`` always give the same arrays."""
    h, w = _size_hw(size)
    rng = np.random.default_rng(seed)
    kind = BACKGROUNDS[int(rng.integers(len(BACKGROUNDS)))]
    radiance, depth = _background(rng, kind, h, w)
    beta = float(rng.uniform(0.004, 0.02))
    airlight = float(rng.uniform(0.35, 0.75))
    observed_bg = compose(radiance, depth, beta, airlight)
    local_std = np.sqrt(
        np.maximum(
            ndimage.uniform_filter(observed_bg**2, 15) - ndimage.uniform_filter(observed_bg, 15) ** 2, 0
        )
    )

    n_targets = int(rng.choice([1, 2, 3], p=[0.6, 0.3, 0.1]))
    rr, cc = np.mgrid[0:h, 0:w]
    target_depth = depth.copy()
    mask = np.zeros((h, w), bool)
    targets: list[dict] = []
    psfs: list[np.ndarray] = []
    max_sigma = min(4.2, min(h, w) / 16)
    # Pass 1: where the targets are, their shape, depth and SCR.
    for _ in range(n_targets):
        for _attempt in range(50):
            sr, sc = (float(s) for s in rng.uniform(0.4, max_sigma, size=2))
            reach = 1.18 * max(sr, sc)  # the half-maximum radius: sqrt(2 ln 2) sigma
            margin = int(math.ceil(reach)) + 4
            row = float(rng.uniform(margin, h - 1 - margin))
            col = float(rng.uniform(margin, w - 1 - margin))
            if all(math.hypot(row - t["row"], col - t["col"]) > reach + t["reach"] + 3 for t in targets):
                break
        else:  # a crowded small image: keep the targets placed so far
            break
        # Peak on a pixel so that the peak pixel is always inside the half-maximum mask.
        row, col = round(row), round(col)
        psf = np.exp(-0.5 * (((rr - row) / sr) ** 2 + ((cc - col) / sc) ** 2))
        own = psf >= 0.5
        if own.sum() > _MAX_AREA:  # clip the largest ellipses to the field's 80-pixel limit
            keep = np.sort(psf[own])[::-1][_MAX_AREA - 1]
            own = psf >= keep
        d_target = float(depth[row, col] * rng.uniform(0.6, 1.0))
        scr = float(rng.uniform(3.0, 10.0))
        # Blend the depth by the PSF weight: a hard switch at some PSF level would draw a
        # less hazy disc around every target, an easy cue that real scenes do not have.
        weight = np.where(d_target < target_depth, psf, 0.0)
        target_depth = target_depth * (1 - weight) + d_target * weight
        mask |= own
        psfs.append(psf)
        targets.append(
            {
                "row": row,
                "col": col,
                "sigma_row": round(sr, 4),
                "sigma_col": round(sc, 4),
                "reach": reach,
                "area": int(own.sum()),
                "scr": round(scr, 4),
                "depth": round(d_target, 3),
                "transmission": round(math.exp(-beta * d_target), 5),
            }
        )

    # Pass 2: amplitudes that give each target its SCR in the observed image. The clutter is the
    # background's local standard deviation (15x15) together with the sensor noise; the contrast
    # is measured against the background as observed without the target. A nearer target sees
    # less haze, and where the scene is darker than the airlight that alone darkens its
    # surroundings (SCR below 1, even negative, in generator version 3): the amplitude makes up
    # for it, so the SCR drawn is the SCR observed (before noise and 8-bit rounding).
    noise_sigma = float(rng.uniform(0.003, 0.015))
    clutter = np.sqrt(local_std**2 + noise_sigma**2)
    transmission = np.exp(-beta * target_depth)
    haze_change = compose(radiance, target_depth, beta, airlight) - observed_bg
    target_radiance = np.zeros((h, w))
    for t, psf in zip(targets, psfs):
        row, col = t["row"], t["col"]
        contrast = t["scr"] * float(clutter[row, col])
        amplitude = max(contrast - float(haze_change[row, col]), 0.0) / float(transmission[row, col])
        target_radiance += amplitude * psf

    # A target is in front of the background: its radiance is added to the background's
    # (J = background + target emission), seen through the PSF-blended depth.
    observed = compose(radiance + target_radiance, target_depth, beta, airlight)
    observed = observed + rng.normal(0.0, noise_sigma, size=(h, w))
    image = np.round(np.clip(observed, 0.0, 1.0) * 255.0).astype(np.uint8).astype(np.float32) / 255.0
    for t in targets:
        del t["reach"]
    return SyntheticScene(
        image=image,
        mask=mask,
        description=_describe(targets, kind, h, w),
        background=kind,
        targets=targets,
        beta=round(beta, 6),
        airlight=round(airlight, 6),
    )


def split_names(names: list[str], seed: int) -> dict[str, list[str]]:
    """70 % train, 10 % val, 20 % test (at least one test image), shuffled by ``seed``."""
    order = np.random.default_rng([seed, 7919]).permutation(len(names))
    n_test = max(1, round(0.2 * len(names)))
    n_val = round(0.1 * len(names)) if len(names) >= 10 else 0
    test = sorted(names[i] for i in order[:n_test])
    val = sorted(names[i] for i in order[n_test : n_test + n_val])
    train = sorted(names[i] for i in order[n_test + n_val :])
    return {"train": train, "val": val, "trainval": sorted(train + val), "test": test}


def _png_bytes(array: np.ndarray) -> bytes:
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(array, mode="L").save(buf, format="PNG", optimize=False)
    return buf.getvalue()


def _meta(n: int, seed: int, size: tuple[int, int]) -> dict:
    return {"generator": "irstd_lib.data.synthetic", "version": GENERATOR_VERSION, "n": n, "seed": seed, "size": list(size)}


def write_synthetic_dataset(
    out_dir: str | os.PathLike,
    n: int = 200,
    seed: int = 0,
    size: int | tuple[int, int] = 256,
    overwrite: bool = False,
    progress: bool = False,
) -> Path:
    """Write ``n`` scenes in the standard folder layout and return the folder.

    The folder is built next to ``out_dir`` and moved into place at the end, so an interrupted
    call never leaves a half-written dataset. When ``out_dir`` already holds a dataset written
    with the same generator version, ``n``, ``seed`` and ``size`` it is reused as is; any other
    existing content is an error unless ``overwrite`` is true.
    """
    out = Path(out_dir)
    h, w = _size_hw(size)
    if n < 2:
        raise ValueError(f"n must be at least 2 (one train and one test image), got {n}")
    wanted = _meta(n, seed, (h, w))
    if out.exists():
        meta_path = out / "meta.json"
        if not overwrite:
            if meta_path.is_file():
                try:
                    existing = json.loads(meta_path.read_text())
                except (OSError, json.JSONDecodeError):
                    existing = {}
                if {k: existing.get(k) for k in wanted} == wanted:
                    return out
                raise FileExistsError(
                    f"{out}: holds a synthetic dataset with other settings "
                    f"({ {k: existing.get(k) for k in wanted} }); pass overwrite=True to replace it"
                )
            if any(out.iterdir()):
                raise FileExistsError(f"{out}: folder exists and is not empty; pass overwrite=True to replace it")

    from tqdm.auto import tqdm

    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        for sub in ("images", "masks", "descriptions"):
            (tmp / sub).mkdir()
        names = [f"SYN{i:04d}" for i in range(n)]
        records = []
        for i, name in enumerate(tqdm(names, desc="synthetic scenes", disable=not progress)):
            scene = generate_scene(np.random.SeedSequence([seed, i]), (h, w))
            (tmp / "images" / f"{name}.png").write_bytes(_png_bytes(np.round(scene.image * 255).astype(np.uint8)))
            (tmp / "masks" / f"{name}.png").write_bytes(_png_bytes(scene.mask.astype(np.uint8) * 255))
            (tmp / "descriptions" / f"{name}.description.txt").write_text(scene.description + "\n")
            records.append(
                {"name": name, "background": scene.background, "beta": scene.beta, "airlight": scene.airlight,
                 "description": scene.description, "targets": scene.targets}
            )
        for split, members in split_names(names, seed).items():
            if members:
                (tmp / f"{split}.txt").write_text("\n".join(members) + "\n")
        atomic_write_text(tmp / "meta.json", json.dumps({**wanted, "images": records}, indent=1, sort_keys=True))
        if out.exists():
            shutil.rmtree(out)
        os.replace(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out
