"""``IRSTDDataset``: one reader for the folder layouts of the IRSTD field.

Usage::

    ds = IRSTDDataset("/data/NUAA-SIRST", split="test")      # idx_427/test.txt, layout "nuaa"
    s = ds[0]                                                # Sample(name="Misc_70", image, mask, ...)
    ds.validate()                                            # decode everything, report all problems

What happens when (choices made where the papers are silent):

- Construction reads the split list(s) and lists ``images/`` and ``masks/`` once. Every name
  must have exactly one image and one mask (and a description file when descriptions are
  loaded); all the names that do not are collected into one :class:`DatasetValidationError`
  naming the list file, each missing name and the file expected. Nothing is decoded here, so a
  broken split is reported in well under a second, before any training starts.
- Images without any target are valid: their mask is all zero. SIRST v2's
  ``images/backgrounds/`` images may have no mask file at all; they read with an all-zero mask
  (``ds.implicit_empty_masks`` names them, ``ds.issues`` says how many).
- ``ds[i]`` decodes image, mask and description; per-file content problems (unreadable or
  truncated file, non-binary mask, image/mask size mismatch, empty description) raise a
  :class:`DatasetError` naming the file at that point.
- ``ds.validate()`` reads every item and raises one :class:`DatasetValidationError` listing
  every problem (``.problems`` holds the individual errors); it returns ``ds.issues`` when
  nothing is fatal.
- Image/mask size mismatch (NUAA-SIRST ships one: ``masks/Misc_111_pixels0.png`` is 592x400,
  ``images/Misc_111.png`` 325x220). ``on_size_mismatch="error"`` (default) raises naming both
  files and both sizes. ``"resize"`` resizes the mask to the image size by nearest neighbour
  (PIL ``Image.NEAREST``; for Misc_111 this leaves 35 target pixels, the corrected SIRST v2 mask
  has 37), emits a :class:`DatasetWarning` naming the file and adds one line per file to
  ``ds.issues``.
- Descriptions: ``descriptions="auto"`` loads target descriptions (LangIR,
  ``descriptions/<name>.description.txt`` or ``descriptions/<name>-description.txt``; the first
  form wins when both exist) when ``root/descriptions/`` exists, else gives None;
  ``"target"`` requires them; ``"scene"`` requires MIRSTD-style ``scene_descriptions/<name>.txt``;
  None never loads any. When descriptions are loaded, a name without its file is an error.
"""

from __future__ import annotations

import hashlib
import os
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import numpy as np
from PIL import Image

from irstd_lib.data.errors import DatasetError
from irstd_lib.data.layout import (
    LAYOUTS,
    SplitLists,
    dataset_folders,
    detect_layout,
    mask_stem,
    merged_index,
    resolve_split,
)
from irstd_lib.data.readers import IMAGE_EXTENSIONS, read_description, read_image, read_mask

__all__ = [
    "Sample",
    "IRSTDDataset",
    "DatasetValidationError",
    "DatasetWarning",
    "resize_mask_nearest",
]

_MAX_PROBLEMS_IN_MESSAGE = 25


@dataclass
class Sample:
    """One dataset item. ``name`` is the file stem without extension and without ``_pixels0``."""

    name: str
    image: np.ndarray  # H x W float32 in [0, 1]
    mask: np.ndarray  # H x W bool
    description: str | None
    image_path: Path
    mask_path: Path


class DatasetWarning(UserWarning):
    """A dataset problem that was handled on purpose (also recorded in ``dataset.issues``)."""


class DatasetValidationError(DatasetError):
    """Several dataset problems at once; ``.problems`` lists each as a :class:`DatasetError`."""

    def __init__(self, path: str | os.PathLike, problems: list[DatasetError], context: str = ""):
        self.problems = list(problems)
        n = len(self.problems)
        lines = [f"  - {p}" for p in self.problems[:_MAX_PROBLEMS_IN_MESSAGE]]
        if n > _MAX_PROBLEMS_IN_MESSAGE:
            lines.append(f"  ... and {n - _MAX_PROBLEMS_IN_MESSAGE} more (see .problems)")
        head = f"{n} problem{'s' if n != 1 else ''}" + (f" {context}" if context else "")
        super().__init__(path, head + ":\n" + "\n".join(lines))


def resize_mask_nearest(mask: np.ndarray, height: int, width: int) -> np.ndarray:
    """Resize a bool mask to ``height x width`` by nearest neighbour (PIL ``Image.NEAREST``)."""
    im = Image.fromarray(np.asarray(mask, dtype=np.uint8) * 255, mode="L")
    return np.asarray(im.resize((width, height), Image.NEAREST)) > 0


def _wxh(shape: tuple[int, ...]) -> str:
    return f"{shape[1]}x{shape[0]}"


class IRSTDDataset:
    """An IRSTD dataset folder (``images/``, ``masks/``, split lists), read lazily.

    Args:
        root: dataset folder.
        split: "train", "val", "trainval", "test", "all" / "trainvaltest", or the file name of
            a list (without ``.txt``) in the split folder.
        layout: "auto" or one of "nuaa", "irstd1k", "nudt", "plain", "sirst_v2", "voc" (see
            :mod:`irstd_lib.data.layout`).
        split_dir: folder of the split lists, relative to root or absolute (default: ``idx_427``
            for SIRST as published, else root, else ``50_50``, ``idx_*``, ``img_idx``,
            ``splits``, ``Splits``).
        split_version: version of versioned lists, ``<split>_<version>.txt`` (SIRST v2:
            "full", "v1", "v1fullv2target"...); None: ``<split>.txt``, else the single version,
            else ``full``, else an error listing the versions.
        descriptions: "auto", "target", "scene" or None.
        on_size_mismatch: "error" or "resize" (mask resized to the image by nearest neighbour).
        mask_dir: the mask folder, relative to root or absolute (default: the layout's; for
            DenseSIRST as published ``SIRST/BinaryMask``, its targets, not ``SkySeg/BinaryMask``,
            its sky; ``mask_dir_note`` and ``issues`` then say which was read).

    Names may hold sub-folders (IRDST's ``44/1(814)``: ``images/44/1(814).bmp``); the image and
    mask folders are then listed with their sub-folders.

    Attributes: ``root``, ``split``, ``layout`` (resolved), ``split_files`` (list files read),
    ``names``, ``image_paths``, ``mask_paths``, ``description_paths`` (None when not loaded),
    ``description_kind`` ("target", "scene" or None), ``issues`` (handled, non-fatal problems).
    """

    def __init__(
        self,
        root: str | os.PathLike,
        split: str = "test",
        layout: str = "auto",
        split_dir: str | os.PathLike | None = None,
        descriptions: str | None = "auto",
        on_size_mismatch: str = "error",
        split_version: str | None = None,
        mask_dir: str | os.PathLike | None = None,
    ):
        if layout != "auto" and layout not in LAYOUTS:
            raise ValueError(f"layout must be 'auto' or one of {LAYOUTS}, got {layout!r}")
        if descriptions not in ("auto", "target", "scene", None, "none"):
            raise ValueError(
                f"descriptions must be 'auto', 'target', 'scene' or None, got {descriptions!r}"
            )
        if on_size_mismatch not in ("error", "resize"):
            raise ValueError(f"on_size_mismatch must be 'error' or 'resize', got {on_size_mismatch!r}")

        self.root = Path(root).expanduser()
        self.split = split
        self.split_version = split_version
        self.on_size_mismatch = on_size_mismatch
        self.issues: list[str] = []
        self._issue_keys: set[str] = set()

        if not self.root.is_dir():
            raise DatasetError(self.root, "dataset root not found (or not a folder)")
        folders = dataset_folders(self.root, layout, mask_dir)
        #: which mask folder was read when there was a choice (DenseSIRST), else None
        self.mask_dir_note: str | None = folders.mask_dir_note
        if self.mask_dir_note:
            self.issues.append(self.mask_dir_note)
        self.image_dirs: list[Path] = list(folders.image_dirs)
        self.images_dir = self.image_dirs[0] if folders.structure != "sirst_v2" else self.root / "images"
        self.masks_dir = folders.masks_dir
        self.background_dir = folders.background_dir

        lists: SplitLists = resolve_split(self.root, split, split_dir, split_version)
        self.split_dir = lists.folder
        self.split_files: list[Path] = list(lists.files)
        self.names: list[str] = list(lists.names)

        nested = any("/" in n for n in self.names)  # IRDST: <sequence>/<frame>
        image_index = merged_index(self.image_dirs, nested)
        mask_index = merged_index([self.masks_dir], nested)
        if folders.structure != "standard":
            self.layout = folders.structure
            naming = self.layout
            if self.layout == "voc" and detect_layout(self.names, mask_index, self.masks_dir) != "nuaa":
                naming = "plain"  # a devkit whose masks share the image names
        else:
            self.layout = (
                detect_layout(self.names, mask_index, self.masks_dir) if layout == "auto" else layout
            )
            naming = self.layout
        #: names whose mask is all zero without a file (SIRST v2 backgrounds without a mask)
        self.implicit_empty_masks: set[str] = set()

        problems: list[DatasetError] = []
        self.image_paths: list[Path] = []
        self.mask_paths: list[Path] = []
        exts = "/".join(IMAGE_EXTENSIONS)
        for name in self.names:
            listed = lists.source[name]
            for index, folder, stem, kind, out in (
                (image_index, self.image_dirs[0], name, "image", self.image_paths),
                (mask_index, self.masks_dir, mask_stem(name, naming), "mask", self.mask_paths),
            ):
                found = index.get(stem, [])
                if len(found) == 1:
                    out.append(found[0])
                    continue
                out.append(folder / f"{stem}.png")
                if (not found and kind == "mask" and self.background_dir is not None
                        and self.image_paths[-1].parent == self.background_dir):
                    self.implicit_empty_masks.add(name)  # a target-free scene without a mask file
                    continue
                if not found:
                    problems.append(DatasetError(
                        folder / f"{stem}.png",
                        f"{kind} not found for name {name!r} listed in {listed} "
                        f"(looked for {stem} with extension {exts}; layout {self.layout!r})",
                    ))
                else:
                    problems.append(DatasetError(
                        found[0],
                        f"several {kind} files for name {name!r}: "
                        + ", ".join(p.name if len({q.parent for q in found}) == 1 else f"{p.parent.name}/{p.name}"
                                    for p in found) + "; keep only one",
                    ))

        if self.implicit_empty_masks:
            self.issues.append(
                f"{self.background_dir}: {len(self.implicit_empty_masks)} background image(s) without a "
                f"mask file in {self.masks_dir} read with an all-zero mask"
            )
        self.description_kind, self.description_paths = self._resolve_descriptions(
            descriptions, lists, problems
        )
        if problems:
            raise DatasetValidationError(
                self.split_files[0] if len(self.split_files) == 1 else self.split_dir,
                problems,
                context=f"in split {split!r} of {self.root}",
            )

    # -- descriptions -------------------------------------------------------------------
    def _resolve_descriptions(
        self, descriptions: str | None, lists: SplitLists, problems: list[DatasetError]
    ) -> tuple[str | None, list[Path] | None]:
        if descriptions in (None, "none"):
            return None, None
        target_dir = self.root / "descriptions"
        scene_dir = self.root / "scene_descriptions"
        if descriptions == "auto":
            if not target_dir.is_dir():
                return None, None
            descriptions = "target"
        folder = target_dir if descriptions == "target" else scene_dir
        if not folder.is_dir():
            raise DatasetError(
                folder, f"descriptions={descriptions!r} was asked for but the folder does not exist"
            )
        present = set(os.listdir(folder))
        paths: list[Path] = []
        for name in self.names:
            if descriptions == "target":
                candidates = [f"{name}.description.txt", f"{name}-description.txt"]
            else:
                candidates = [f"{name}.txt"]
            hit = next((c for c in candidates if c in present), None)
            if hit is None:
                problems.append(DatasetError(
                    folder / candidates[0],
                    f"{descriptions} description not found for name {name!r} listed in "
                    f"{lists.source[name]} (looked for {' or '.join(candidates)})",
                ))
                paths.append(folder / candidates[0])
            else:
                paths.append(folder / hit)
        return descriptions, paths

    # -- access ---------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.names)

    def __iter__(self) -> Iterator[Sample]:
        for i in range(len(self)):
            yield self[i]

    def __repr__(self) -> str:
        return (
            f"IRSTDDataset(root={str(self.root)!r}, split={self.split!r}, layout={self.layout!r}, "
            f"n={len(self)}, descriptions={self.description_kind!r})"
        )

    def fingerprint(self) -> str:
        """12 hex digits identifying the split's contents: its names and each image's and mask's
        byte size. Cheap (no decoding) and independent of where the folder lives, so the same
        data at another path gives the same run hashes and description caches."""
        digest = hashlib.sha256()
        for name, image, mask in zip(self.names, self.image_paths, self.mask_paths):
            mask_size = "none" if name in self.implicit_empty_masks else Path(mask).stat().st_size
            digest.update(f"{name}:{Path(image).stat().st_size}:{mask_size};".encode())
        return digest.hexdigest()[:12]

    def index_of(self, name: str) -> int:
        """Position of ``name`` in the split (ValueError if absent)."""
        try:
            return self.names.index(name)
        except ValueError:
            raise ValueError(f"{name!r} is not in split {self.split!r} of {self.root}") from None

    def _note(self, key: str, message: str) -> None:
        warnings.warn(message, DatasetWarning, stacklevel=3)
        if key not in self._issue_keys:
            self._issue_keys.add(key)
            self.issues.append(message)

    def __getitem__(self, i: int) -> Sample:
        n = len(self)
        if not isinstance(i, (int, np.integer)):
            raise TypeError(f"dataset index must be an int, got {type(i).__name__}")
        if i < 0:
            i += n
        if not 0 <= i < n:
            raise IndexError(f"index {i} out of range for a split of {n} items")
        i = int(i)
        name = self.names[i]
        image_path, mask_path = self.image_paths[i], self.mask_paths[i]
        image = read_image(image_path)
        if name in self.implicit_empty_masks:
            mask = np.zeros(image.shape, dtype=bool)
        else:
            mask = read_mask(mask_path)
        if mask.shape != image.shape:
            fault = (
                f"mask is {_wxh(mask.shape)} but image {image_path} is {_wxh(image.shape)} "
                "(width x height)"
            )
            if self.on_size_mismatch == "error":
                raise DatasetError(
                    mask_path, fault + "; pass on_size_mismatch='resize' to resize the mask to the "
                    "image by nearest neighbour",
                )
            mask = resize_mask_nearest(mask, image.shape[0], image.shape[1])
            self._note(
                str(mask_path),
                f"{mask_path}: {fault}; mask resized to {_wxh(image.shape)} by nearest neighbour "
                f"({int(mask.sum())} target pixels)",
            )
        description = None
        if self.description_paths is not None:
            description = read_description(self.description_paths[i])
        return Sample(
            name=name,
            image=image,
            mask=mask,
            description=description,
            image_path=image_path,
            mask_path=mask_path,
        )

    def validate(self, progress: bool = False) -> list[str]:
        """Read every item; raise one :class:`DatasetValidationError` listing every problem.

        Returns ``self.issues`` (the handled, non-fatal problems) when nothing is fatal.
        """
        from tqdm.auto import tqdm

        problems: list[DatasetError] = []
        for i in tqdm(range(len(self)), desc=f"validate {self.split}", disable=not progress):
            try:
                self[i]
            except DatasetError as exc:
                problems.append(exc)
        if problems:
            raise DatasetValidationError(
                self.root, problems, context=f"in split {self.split!r} ({len(self)} items read)"
            )
        return list(self.issues)
