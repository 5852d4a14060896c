"""Per-image text descriptions as a first-class, swappable input.

LGNet (LangIR) and SAIST write their text with GPT-4V. This module makes the description an
input with a named *source*, so that the same pipeline runs with the papers' text files, with
offline templates that need no paid service, or with any OpenAI-compatible vision model.

Every source turns one sample into one :class:`Description`: ``name``, ``text``, ``source`` and a
``provenance`` dict (source name and version, its parameters, the package version and, per
image, what was measured). Provenance holds no timestamps, so two runs with the same inputs
produce byte-identical records.

Sources (``get_source(name, **kwargs)``):

``files``
    The descriptions that come with a dataset: LangIR target descriptions
    ``root/descriptions/<name>.description.txt`` or ``<name>-description.txt``, or MIRSTD-style
    scene descriptions ``root/scene_descriptions/<name>.txt`` (``kind="scene"``).
``quadrant``
    LGNet's ablation template from the ground-truth mask: "The small target lies in the
    top-left quadrant." (one of four). See :class:`QuadrantSource` for several targets, the
    midline tie rule and the empty mask.
``semantic``
    A richer template from the mask and image statistics: position words (upper, lower, left,
    right, center: the words LangIR's Table 1 counts), target count, size class, local contrast
    and a coarse background description; at most 50 words (LGNet's limit).
``scene``
    SAIST's background prompt "a photo of [scene] with [object], [object], and [object]", by
    CLIP zero-shot ranking when a ``ClipEncoder`` is given, else by image statistics; the target
    is masked out first, as SAIST does.
``vlm``
    Any OpenAI-compatible chat-completions endpoint (hosted, vLLM, Ollama) with LGNet's prompt;
    see :mod:`irstd_lib.text.vlm_client`.

**Oracle warning.** ``quadrant`` and ``semantic`` read the ground-truth mask: they are *oracle*
descriptions. They are fine as training-time priors and for ablations (LGNet's own quadrant
ablation is one), but feeding them to a model at test time leaks the label into the input, and
any number obtained that way is not a detection result. ``scene`` uses the mask only to hide
the target before describing the background; that is SAIST's procedure and still reads the
label, so it is flagged the same way. Each source says so in ``uses_ground_truth``.

Words are counted as whitespace-separated tokens (``len(text.split())``); a hyphenated compound
such as "upper-left" is one word. :func:`enforce_word_limit` cuts an over-long text at the last
sentence end within the limit, or at a word boundary when no sentence end fits.

:func:`describe_dataset` writes a whole dataset's descriptions in the LangIR layout, resumable
and never overwriting unless asked; :func:`add_describe_arguments` / :func:`run_describe` back
``python -m irstd_lib describe``.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from abc import ABC, abstractmethod
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, ClassVar, Iterable, Mapping, Protocol, Sequence

import numpy as np
from scipy import ndimage as ndi
from tqdm.auto import tqdm

from irstd_lib.data.errors import DatasetError
from irstd_lib.io import atomic_write_json, atomic_write_text
from irstd_lib.text import scene_vocabulary as vocab

#: LGNet's limit: "respond succinctly within 50 words".
WORD_LIMIT = 50

#: LGNet's quadrant-only ablation sentence (paper: one of four).
QUADRANT_TEMPLATE = "The small target lies in the {} quadrant."
#: Order in which quadrants are listed when several targets occupy several quadrants.
QUADRANTS: tuple[str, ...] = ("top-left", "top-right", "bottom-left", "bottom-right")
#: What ``quadrant`` says for an image with no target pixel.
NO_TARGET_QUADRANT_SENTENCE = "No small target is visible in the image."

#: File names of the LangIR layout: the first is what this package writes.
TARGET_DESCRIPTION_SUFFIXES: tuple[str, ...] = (".description.txt", "-description.txt")
SCENE_DESCRIPTION_SUFFIX = ".txt"
TARGET_DESCRIPTION_DIR = "descriptions"
SCENE_DESCRIPTION_DIR = "scene_descriptions"
PROVENANCE_FILE = "provenance.json"


class SampleLike(Protocol):
    """What a source reads: ``irstd_lib.data.Sample`` or any object with these attributes."""

    name: str
    image: np.ndarray
    mask: np.ndarray | None
    description: str | None


@dataclass
class Description:
    """One image's description and where it came from.

    ``provenance`` is self-contained: the source-level record (source, version, parameters,
    package version) merged with what is specific to this image (measurements, truncation).
    """

    name: str
    text: str
    source: str
    provenance: dict[str, Any] = field(default_factory=dict)

    @property
    def n_words(self) -> int:
        return count_words(self.text)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


# --------------------------------------------------------------------------------------------
# Word limit
# --------------------------------------------------------------------------------------------


def count_words(text: str) -> int:
    """Number of whitespace-separated tokens ("upper-left" and "3.5" are one word each)."""
    return len(text.split())


_SENTENCE_END = re.compile(r"[.!?][\"')\]]*$")


def enforce_word_limit(text: str, max_words: int = WORD_LIMIT) -> tuple[str, bool]:
    """Return ``(text, truncated)`` with at most ``max_words`` words.

    A text within the limit comes back unchanged (only stripped). A longer one keeps its first
    ``max_words`` words, cut back to the last word that ends a sentence (".", "!" or "?", maybe
    followed by a closing quote or bracket) when there is one, so that the result is whole
    sentences; otherwise cut at the word boundary, trailing ",;:-" removed and a "." added.
    Whitespace inside a truncated text is normalised to single spaces.
    """
    if max_words < 1:
        raise ValueError(f"max_words must be >= 1, got {max_words}")
    text = text.strip()
    words = text.split()
    if len(words) <= max_words:
        return text, False
    kept = words[:max_words]
    for end in range(len(kept), 0, -1):
        if _SENTENCE_END.search(kept[end - 1]):
            return " ".join(kept[:end]), True
    last = kept[-1].rstrip(",;:-")
    kept[-1] = (last or kept[-1]) + "."
    return " ".join(kept), True


# --------------------------------------------------------------------------------------------
# Mask geometry and image statistics (shared by the template sources)
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TargetComponent:
    """One connected target region of a mask. Coordinates are pixel indices (row, col), the
    centre of pixel (i, j) being at (i, j); ``bbox`` is (row0, col0, row1, col1), end-exclusive."""

    label: int
    area: int
    centroid: tuple[float, float]
    bbox: tuple[int, int, int, int]


def _structure(connectivity: int) -> np.ndarray:
    if connectivity == 8:
        return np.ones((3, 3), dtype=bool)
    if connectivity == 4:
        return ndi.generate_binary_structure(2, 1)
    raise ValueError(f"connectivity must be 4 or 8, got {connectivity}")


def target_components(mask: np.ndarray, connectivity: int = 8) -> tuple[list[TargetComponent], np.ndarray]:
    """Connected components of ``mask`` (8-connected by default, as the field's Pd counts
    targets), in label order (raster order of each component's first pixel), and the label map."""
    mask = np.asarray(mask, dtype=bool)
    labels, n = ndi.label(mask, structure=_structure(connectivity))
    comps: list[TargetComponent] = []
    if n == 0:
        return comps, labels
    index = np.arange(1, n + 1)
    areas = ndi.sum(mask, labels, index)
    centroids = ndi.center_of_mass(mask, labels, index)
    slices = ndi.find_objects(labels)
    for lab, area, cen, sl in zip(index, areas, centroids, slices):
        comps.append(
            TargetComponent(
                label=int(lab),
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


# --------------------------------------------------------------------------------------------
# Sources
# --------------------------------------------------------------------------------------------


def _package_version() -> str:
    try:
        from importlib.metadata import version

        return version("irstd-lang")
    except Exception:  # not installed as a distribution (e.g. a source checkout on sys.path)
        return "unknown"


class DescriptionSource(ABC):
    """Base class: ``describe(sample) -> Description``.

    Subclasses set ``name`` and ``version`` (bump the version whenever the produced text for the
    same input changes), ``uses_ground_truth`` (True when the text is derived from the label),
    ``output_kind`` ("target" for LangIR ``descriptions/``, "scene" for MIRSTD
    ``scene_descriptions/``) and ``concurrency`` (how many images ``describe_dataset`` may
    describe at once; 1 for CPU templates, more for network clients).
    """

    name: ClassVar[str] = "base"
    version: ClassVar[str] = "0"
    uses_ground_truth: bool = False
    output_kind: str = "target"
    concurrency: int = 1

    def parameters(self) -> dict[str, Any]:
        """The settings that determine the text (JSON-serialisable)."""
        return {}

    def provenance(self) -> dict[str, Any]:
        """Source-level provenance, identical for every image of a run."""
        return {
            "source": self.name,
            "source_version": self.version,
            "package": "irstd-lang",
            "package_version": _package_version(),
            "uses_ground_truth": self.uses_ground_truth,
            "parameters": self.parameters(),
        }

    def _make(self, name: str, text: str, **per_image: Any) -> Description:
        return Description(name=name, text=text, source=self.name, provenance={**self.provenance(), **per_image})

    @abstractmethod
    def describe(self, sample: SampleLike) -> Description: ...

    def __call__(self, sample: SampleLike) -> Description:
        return self.describe(sample)


_REGISTRY: dict[str, Callable[..., DescriptionSource]] = {}


def register_source(name: str) -> Callable[[Callable[..., DescriptionSource]], Callable[..., DescriptionSource]]:
    """Register a source class or factory under ``name`` (for extensions)."""

    def deco(factory: Callable[..., DescriptionSource]) -> Callable[..., DescriptionSource]:
        if name in _REGISTRY:
            raise ValueError(f"description source {name!r} is already registered")
        _REGISTRY[name] = factory
        return factory

    return deco


def list_sources() -> list[str]:
    return sorted(_REGISTRY)


def get_source(name: str, **kwargs: Any) -> DescriptionSource:
    """Build the description source ``name`` ("files", "quadrant", "semantic", "scene", "vlm")."""
    try:
        factory = _REGISTRY[name]
    except KeyError:
        raise ValueError(f"unknown description source {name!r}; known: {', '.join(list_sources())}") from None
    return factory(**kwargs)


def _target_description_paths(directory: Path, name: str) -> list[Path]:
    return [directory / f"{name}{suffix}" for suffix in TARGET_DESCRIPTION_SUFFIXES]


def read_description_file(path: str | os.PathLike) -> str:
    """Read one description file (UTF-8, BOM tolerated, stripped) with the dataset reader's
    rules: a missing, empty or undecodable file is a DatasetError naming it."""
    from irstd_lib.data.readers import read_description

    return read_description(path)


def find_description_file(directory: str | os.PathLike, name: str, kind: str = "target") -> Path | None:
    """The existing description file for ``name`` in ``directory``, or None.

    ``kind="target"``: ``<name>.description.txt``, then ``<name>-description.txt`` (LangIR uses
    both); ``kind="scene"``: ``<name>.txt``."""
    directory = Path(directory)
    candidates = (
        _target_description_paths(directory, name) if kind == "target" else [directory / f"{name}{SCENE_DESCRIPTION_SUFFIX}"]
    )
    for path in candidates:
        if path.is_file():
            return path
    return None


def load_descriptions(
    directory: str | os.PathLike, names: Iterable[str] | None = None, kind: str = "target"
) -> dict[str, str]:
    """Read a folder of descriptions into ``{name: text}``.

    With ``names``, each must have a file (else DatasetError naming the expected path); without,
    every ``*.description.txt`` / ``*-description.txt`` (or ``*.txt`` for scenes) is read, in
    sorted order.
    """
    directory = Path(directory)
    if names is not None:
        out = {}
        for name in names:
            path = find_description_file(directory, name, kind)
            if path is None:
                expected = _target_description_paths(directory, name)[0] if kind == "target" else directory / f"{name}.txt"
                raise DatasetError(expected, "description file not found")
            out[name] = read_description_file(path)
        return out
    out = {}
    for path in sorted(directory.iterdir()):
        if not path.is_file():
            continue
        fname = path.name
        if kind == "target":
            for suffix in TARGET_DESCRIPTION_SUFFIXES:
                if fname.endswith(suffix):
                    out.setdefault(fname[: -len(suffix)], read_description_file(path))
                    break
        elif fname.endswith(SCENE_DESCRIPTION_SUFFIX) and not fname.startswith("."):
            out[fname[: -len(SCENE_DESCRIPTION_SUFFIX)]] = read_description_file(path)
    return out


@register_source("files")
class FileSource(DescriptionSource):
    """Descriptions read from files next to a dataset (no generation).

    ``kind="target"``: LangIR's ``root/descriptions/<name>.description.txt`` or
    ``<name>-description.txt``; ``kind="scene"``: MIRSTD-style ``root/scene_descriptions/<name>.txt``.
    ``directory`` overrides the folder. With neither ``root`` nor ``directory``, the sample's own
    ``description`` attribute (what ``IRSTDDataset`` read) is used. A missing file is a
    DatasetError naming the expected path. ``max_words`` (None by default: the papers' files are
    passed through untouched) optionally truncates.
    """

    name = "files"
    version = "1"

    def __init__(
        self,
        root: str | os.PathLike | None = None,
        kind: str = "target",
        directory: str | os.PathLike | None = None,
        max_words: int | None = None,
    ):
        if kind not in ("target", "scene"):
            raise ValueError(f"kind must be 'target' or 'scene', got {kind!r}")
        self.kind = kind
        self.output_kind = kind
        self.root = Path(root) if root is not None else None
        if directory is not None:
            self.directory: Path | None = Path(directory)
        elif self.root is not None:
            self.directory = self.root / (TARGET_DESCRIPTION_DIR if kind == "target" else SCENE_DESCRIPTION_DIR)
        else:
            self.directory = None
        self.max_words = max_words

    def parameters(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "directory": os.fspath(self.directory) if self.directory is not None else None,
            "max_words": self.max_words,
        }

    def describe(self, sample: SampleLike) -> Description:
        if self.directory is None:
            text = getattr(sample, "description", None)
            if not text:
                raise DatasetError(
                    getattr(sample, "image_path", sample.name),
                    "sample has no description; pass root= or directory= to the 'files' source",
                )
            extra: dict[str, Any] = {"file": None}
        else:
            path = find_description_file(self.directory, sample.name, self.kind)
            if path is None:
                expected = (
                    _target_description_paths(self.directory, sample.name)[0]
                    if self.kind == "target"
                    else self.directory / f"{sample.name}.txt"
                )
                raise DatasetError(expected, "description file not found")
            text = read_description_file(path)
            extra = {"file": path.name}
        truncated = False
        if self.max_words is not None:
            text, truncated = enforce_word_limit(text, self.max_words)
        return self._make(sample.name, text, truncated=truncated, **extra)


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
        _structure(connectivity)
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
        _structure(connectivity)
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


@register_source("scene")
class SceneSource(DescriptionSource):
    """SAIST's background prompt "a photo of [scene] with [object], [object], and [object]".

    The target is masked out first (``mask_target=True``, SAIST's procedure; inpainting with the
    median of the ring around each target, :func:`mask_out_targets`). Then:

    * with ``encoder`` (a ``ClipEncoder``): CLIP zero-shot ranking over ``scene_vocabulary``:
      the scene with the highest cosine similarity between ``encode_image`` and
      ``encode_text("a photo of {scene}")``, and the three best objects likewise;
    * without: ``scene_vocabulary.rank_with_statistics`` on :func:`background_statistics`, a
      crude rule table documented there.

    Masking the target out reads the ground-truth mask, so ``uses_ground_truth`` is True when
    ``mask_target`` is (the text itself says nothing about the target). Output goes to
    ``scene_descriptions/<name>.txt`` (MIRSTD layout) in :func:`describe_dataset`.
    """

    name = "scene"
    version = "1"
    output_kind = "scene"

    def __init__(
        self,
        encoder: Any | None = None,
        mask_target: bool = True,
        scenes: Sequence[str] = vocab.SCENES,
        objects: Sequence[str] = vocab.OBJECTS,
    ):
        self.encoder = encoder
        self.mask_target = mask_target
        self.uses_ground_truth = mask_target
        self.scenes = tuple(scenes)
        self.objects = tuple(objects)
        if encoder is not None:
            self._ranker: vocab.ClipVocabularyRanker | None = vocab.ClipVocabularyRanker(encoder, self.scenes, self.objects)
        else:
            if (self.scenes, self.objects) != (vocab.SCENES, vocab.OBJECTS):
                raise ValueError("a custom vocabulary needs a CLIP encoder; the statistics rules know only the built-in one")
            self._ranker = None

    def parameters(self) -> dict[str, Any]:
        return {
            "method": "clip" if self.encoder is not None else "statistics",
            "encoder": getattr(self.encoder, "key", None) if self.encoder is not None else None,
            "mask_target": self.mask_target,
            "vocabulary_version": vocab.VOCABULARY_VERSION,
            "scenes": list(self.scenes),
            "objects": list(self.objects),
            "template": vocab.SCENE_PROMPT_TEMPLATE,
        }

    def describe(self, sample: SampleLike) -> Description:
        image = np.asarray(sample.image, dtype=np.float32)
        mask = None if sample.mask is None else np.asarray(sample.mask, dtype=bool)
        _check_pair(image, mask, sample.name)
        if self.mask_target and mask is None:
            raise ValueError(f"{sample.name}: mask_target=True needs the mask (or pass mask_target=False)")
        use_mask = mask if self.mask_target else None
        if self._ranker is not None:
            shown = mask_out_targets(image, use_mask) if use_mask is not None else image
            ranking = self._ranker.rank(shown)
            scores = {
                "scene_score": round(ranking.scene_scores[ranking.scene], 4),
                "object_scores": [round(ranking.object_scores[o], 4) for o in ranking.objects],
            }
        else:
            stats = background_statistics(image, use_mask)
            ranking = vocab.rank_with_statistics(stats)
            scores = {"background": {k: round(v, 4) for k, v in stats.items()}}
        return self._make(sample.name, ranking.prompt, scene=ranking.scene, objects=ranking.objects, **scores)


@register_source("vlm")
def _vlm_source(**kwargs: Any) -> DescriptionSource:
    # Imported lazily: the HTTP client is only needed by users who ask for it.
    from irstd_lib.text.vlm_client import VLMSource

    return VLMSource(**kwargs)


# --------------------------------------------------------------------------------------------
# Whole datasets
# --------------------------------------------------------------------------------------------


def _open_splits(
    root: Any, split: str | Sequence[str], layout: str, split_dir: Any, on_size_mismatch: str
) -> tuple[list[tuple[str, Any, int]], list[Any], Path | None]:
    """``[(name, dataset, index)]`` over the requested split(s), names deduplicated in order,
    plus the datasets and the dataset root (None for a dataset object without ``.root``)."""
    if hasattr(root, "names") and hasattr(root, "__getitem__"):
        datasets = [root]
        root_path = Path(root.root) if hasattr(root, "root") else None
    else:
        from irstd_lib.data import IRSTDDataset

        root_path = Path(root)
        splits = [s.strip() for s in split.split(",")] if isinstance(split, str) else list(split)
        datasets = [
            # descriptions=None: the output folder may be root/descriptions, half written by an
            # interrupted run, which the reader would (rightly) reject as incomplete.
            IRSTDDataset(
                root_path, split=s, layout=layout, split_dir=split_dir, descriptions=None,
                on_size_mismatch=on_size_mismatch,
            )
            for s in splits
        ]
    entries: list[tuple[str, Any, int]] = []
    seen: set[str] = set()
    for ds in datasets:
        for i, name in enumerate(ds.names):
            if name not in seen:
                seen.add(name)
                entries.append((name, ds, i))
    return entries, datasets, root_path


def _dataset_issues(datasets: list[Any]) -> list[str]:
    # Issues are noted lazily, when a sample is read, so collect them after the run.
    issues: list[str] = []
    for ds in datasets:
        for issue in getattr(ds, "issues", []):
            if str(issue) not in issues:
                issues.append(str(issue))
    return issues


def _existing_output(out_dir: Path, name: str, kind: str) -> Path | None:
    return find_description_file(out_dir, name, kind)


def _output_path(out_dir: Path, name: str, kind: str) -> Path:
    if kind == "target":
        return out_dir / f"{name}{TARGET_DESCRIPTION_SUFFIXES[0]}"
    return out_dir / f"{name}{SCENE_DESCRIPTION_SUFFIX}"


def describe_dataset(
    root: str | os.PathLike | Any,
    source: str | DescriptionSource = "semantic",
    split: str | Sequence[str] = "all",
    overwrite: bool = False,
    progress: bool = True,
    *,
    out_dir: str | os.PathLike | None = None,
    layout: str = "auto",
    split_dir: str | os.PathLike | None = None,
    on_size_mismatch: str = "error",
    workers: int | None = None,
    **source_kwargs: Any,
) -> dict[str, Any]:
    """Describe every image of a dataset and write the texts in the LangIR layout.

    ``root``: a dataset folder (opened with ``irstd_lib.data.IRSTDDataset`` for each split in
    ``split``: one name, a comma-separated list, or a list; "all" is passed to IRSTDDataset as a
    split name) or an already opened dataset object (``.names``, ``[i] -> Sample``).
    ``source``: a registered name (built with ``**source_kwargs``) or a source object.

    Output folder: ``out_dir`` when given (the files go directly into it), else
    ``root/descriptions`` (target sources) or ``root/scene_descriptions`` (``scene``). One file
    per image: ``<name>.description.txt`` (target) or ``<name>.txt`` (scene), text plus a
    newline, written atomically; and ``provenance.json`` beside them: the source-level records
    under ``"sources"``, per image under ``"images"`` the image's source name and the
    provenance keys that differ from its source's record, and under ``"issues"`` the dataset
    problems handled while reading (e.g. a resized mask). No timestamps: the same inputs give
    the same bytes.

    Resuming: an image is finished when its file exists (for target descriptions either LangIR
    spelling, ``.description.txt`` or ``-description.txt``). Finished images are skipped and
    counted, never re-read or overwritten, unless ``overwrite=True`` (which rewrites the existing
    file under its existing name). An interrupted run (Ctrl-C, a source error) leaves the
    finished files and an up-to-date ``provenance.json``; rerunning continues with the rest.

    ``workers``: images described at once (default: the source's ``concurrency``, 1 for the
    CPU templates, more for the VLM client). Samples are loaded in the calling thread.

    Returns a summary dict: ``out_dir``, ``source``, ``splits``, ``n_images``, ``n_written``,
    ``n_skipped``, ``n_truncated``, ``max_words_written``, ``uses_ground_truth``, ``provenance``
    (path), ``issues`` (the dataset's handled problems met while reading, e.g. a resized mask).
    """
    if isinstance(source, str):
        if source == "files" and "root" not in source_kwargs and "directory" not in source_kwargs and isinstance(root, (str, os.PathLike)):
            source_kwargs["root"] = root
        src = get_source(source, **source_kwargs)
    else:
        if source_kwargs:
            raise TypeError(f"source options {sorted(source_kwargs)} given with a source object; configure the object instead")
        src = source
    kind = src.output_kind
    entries, datasets, root_path = _open_splits(root, split, layout, split_dir, on_size_mismatch)
    if out_dir is not None:
        target_dir = Path(out_dir)
    elif root_path is not None:
        target_dir = root_path / (TARGET_DESCRIPTION_DIR if kind == "target" else SCENE_DESCRIPTION_DIR)
    else:
        raise ValueError("out_dir is required when describing a dataset object without a .root")
    target_dir.mkdir(parents=True, exist_ok=True)
    prov_path = target_dir / PROVENANCE_FILE

    record = _load_provenance(prov_path)
    src_prov = src.provenance()
    record["sources"][src.name] = src_prov
    if root_path is not None:
        record["dataset"] = os.fspath(root_path)

    todo: list[tuple[str, Any, int, Path]] = []
    n_skipped = 0
    for name, ds, i in entries:
        existing = _existing_output(target_dir, name, kind)
        if existing is not None and not overwrite:
            n_skipped += 1
            continue
        todo.append((name, ds, i, existing or _output_path(target_dir, name, kind)))

    n_written = n_truncated = 0
    max_words_written = 0

    def finish(desc: Description, path: Path) -> None:
        nonlocal n_written, n_truncated, max_words_written
        atomic_write_text(path, desc.text.strip() + "\n")
        per_image = {k: v for k, v in desc.provenance.items() if k not in src_prov or src_prov[k] != v}
        per_image["source"] = desc.source
        per_image["file"] = path.name
        record["images"][desc.name] = per_image
        n_written += 1
        n_truncated += bool(desc.provenance.get("truncated", False))
        max_words_written = max(max_words_written, desc.n_words)

    n_workers = max(1, int(workers if workers is not None else getattr(src, "concurrency", 1)))
    bar = tqdm(total=len(todo), desc=f"describe[{src.name}]", disable=not progress, unit="img")
    try:
        if n_workers == 1:
            for name, ds, i, path in todo:
                desc = src.describe(ds[i])
                _check_name(desc, name)
                finish(desc, path)
                bar.update(1)
        else:
            with ThreadPoolExecutor(max_workers=n_workers) as pool:
                pending: dict[Future, tuple[str, Path]] = {}
                queue = iter(todo)
                exhausted = False
                while True:
                    while not exhausted and len(pending) < 2 * n_workers:
                        item = next(queue, None)
                        if item is None:
                            exhausted = True
                            break
                        name, ds, i, path = item
                        pending[pool.submit(src.describe, ds[i])] = (name, path)
                    if not pending:
                        break
                    done, _ = wait(pending, return_when=FIRST_COMPLETED)
                    for fut in done:
                        name, path = pending.pop(fut)
                        try:
                            desc = fut.result()
                        except BaseException:
                            for other in pending:
                                other.cancel()
                            # Keep what finished alongside the failure before re-raising.
                            for other in list(pending):
                                if other.done() and not other.cancelled() and other.exception() is None:
                                    oname, opath = pending.pop(other)
                                    finish(other.result(), opath)
                            raise
                        _check_name(desc, name)
                        finish(desc, path)
                        bar.update(1)
    finally:
        bar.close()
        issues = _dataset_issues(datasets)
        record["issues"] = sorted(set(record.get("issues", [])) | set(issues))
        atomic_write_json(prov_path, record)

    return {
        "out_dir": os.fspath(target_dir),
        "source": src.name,
        "splits": [split] if isinstance(split, str) else list(split),
        "n_images": len(entries),
        "n_written": n_written,
        "n_skipped": n_skipped,
        "n_truncated": n_truncated,
        "max_words_written": max_words_written,
        "uses_ground_truth": bool(src.uses_ground_truth),
        "provenance": os.fspath(prov_path),
        "issues": issues,
    }


def _check_name(desc: Description, name: str) -> None:
    if desc.name != name:
        raise RuntimeError(f"source returned a description for {desc.name!r} while describing {name!r}")


def _load_provenance(path: Path) -> dict[str, Any]:
    fresh: dict[str, Any] = {"format": "irstd-lang description provenance 1", "sources": {}, "images": {}}
    if not path.is_file():
        return fresh
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise DatasetError(path, f"cannot read the existing provenance record ({exc}); move it away to start afresh") from None
    if not isinstance(record, dict) or not isinstance(record.get("images"), dict) or not isinstance(record.get("sources"), dict):
        raise DatasetError(path, "not a description provenance record (no 'sources'/'images'); move it away to start afresh")
    return {**fresh, **record}


# --------------------------------------------------------------------------------------------
# Command line: python -m irstd_lib describe ...
# --------------------------------------------------------------------------------------------


def add_describe_arguments(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Add the ``describe`` sub-command's options to ``parser``."""
    parser.add_argument("--source", default="semantic", choices=["files", "quadrant", "semantic", "scene", "vlm"],
                        help="description source (quadrant/semantic/scene read the ground-truth mask: oracle, training/ablation only)")
    parser.add_argument("--data", required=True, help="dataset folder (images/, masks/, split lists)")
    parser.add_argument("--out", default=None,
                        help="folder to write the description files into (default: DATA/descriptions or DATA/scene_descriptions)")
    parser.add_argument("--split", default="all", help="split name(s), comma-separated (default: all)")
    parser.add_argument("--split-dir", default=None, help="folder of the split lists (default: found automatically)")
    parser.add_argument("--layout", default="auto", help="dataset layout (default: auto)")
    parser.add_argument("--on-size-mismatch", default="error",
                        help="what the dataset reader does with a mask whose size differs from its image (e.g. error, resize)")
    parser.add_argument("--overwrite", action="store_true", help="rewrite descriptions that already exist")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.add_argument("--workers", type=int, default=None, help="images described at once (default: the source's)")
    parser.add_argument("--max-words", type=int, default=None, help="word limit (default 50 for semantic and vlm)")
    g = parser.add_argument_group("quadrant source")
    g.add_argument("--quadrant-multi", default="all", choices=["all", "largest"], help="several targets: name all quadrants, or the largest target's")
    g = parser.add_argument_group("scene source")
    g.add_argument("--clip-model", default=None, help="open_clip architecture for CLIP ranking (default: statistics, no model)")
    g.add_argument("--clip-checkpoint", default=None, help="local CLIP checkpoint file")
    g.add_argument("--clip-tiny", action="store_true", help="use the tiny random CLIP (tests, smoke profile)")
    g.add_argument("--no-mask-target", action="store_true", help="describe the image without masking the target out")
    g = parser.add_argument_group("vlm source (API key only from $IRSTD_VLM_API_KEY)")
    g.add_argument("--vlm-endpoint", default=None, help="OpenAI-compatible base URL, e.g. http://localhost:8000/v1 (else $IRSTD_VLM_ENDPOINT)")
    g.add_argument("--vlm-model", default=None, help="model name (else $IRSTD_VLM_MODEL)")
    g.add_argument("--vlm-timeout", type=float, default=None, help="seconds per request")
    g.add_argument("--vlm-retries", type=int, default=None, help="retries on 429/5xx/timeouts")
    g.add_argument("--vlm-cache-dir", default=None, help="answer cache folder (default: the package cache)")
    g = parser.add_argument_group("files source")
    g.add_argument("--files-kind", default="target", choices=["target", "scene"], help="which files to copy")
    return parser


def _source_kwargs_from_args(args: argparse.Namespace) -> dict[str, Any]:
    kw: dict[str, Any] = {}
    if args.source == "quadrant":
        kw["multi"] = args.quadrant_multi
    elif args.source == "semantic":
        if args.max_words is not None:
            kw["max_words"] = args.max_words
    elif args.source == "files":
        kw["kind"] = args.files_kind
        if args.max_words is not None:
            kw["max_words"] = args.max_words
    elif args.source == "scene":
        kw["mask_target"] = not args.no_mask_target
        if args.clip_tiny or args.clip_model or args.clip_checkpoint:
            from irstd_lib.text.clip_encoder import ClipEncoder

            if args.clip_tiny:
                kw["encoder"] = ClipEncoder.tiny()
            else:
                kw["encoder"] = ClipEncoder(model_name=args.clip_model or "ViT-B-16", checkpoint=args.clip_checkpoint)
    elif args.source == "vlm":
        for opt, key in (("vlm_endpoint", "endpoint"), ("vlm_model", "model"), ("vlm_timeout", "timeout"),
                         ("vlm_retries", "max_retries"), ("vlm_cache_dir", "cache_dir"), ("max_words", "max_words")):
            value = getattr(args, opt)
            if value is not None:
                kw[key] = value
    return kw


def run_describe(args: argparse.Namespace) -> int:
    """Run ``describe`` from parsed arguments; prints a summary, returns the exit status (0 ok,
    2 on a configuration, dataset or service error, with the message on stderr)."""
    from irstd_lib.text.vlm_client import VLMError

    try:
        summary = describe_dataset(
            args.data,
            args.source,
            split=args.split,
            overwrite=args.overwrite,
            progress=not args.no_progress,
            out_dir=args.out,
            layout=args.layout,
            split_dir=args.split_dir,
            on_size_mismatch=args.on_size_mismatch,
            workers=args.workers,
            **_source_kwargs_from_args(args),
        )
    except (DatasetError, VLMError, FileNotFoundError, ValueError) as exc:
        print(f"describe: error: {exc}", file=sys.stderr)
        return 2
    print(
        f"describe[{summary['source']}]: {summary['n_written']} written, {summary['n_skipped']} skipped (already there), "
        f"{summary['n_truncated']} truncated to the word limit, of {summary['n_images']} images -> {summary['out_dir']}"
    )
    if summary["uses_ground_truth"]:
        print("note: this source reads the ground-truth masks (oracle descriptions): use them for training or ablations, "
              "not as test-time input.")
    for issue in summary["issues"]:
        print(f"note: {issue}")
    return 0
