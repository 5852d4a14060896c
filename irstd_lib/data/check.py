"""Check a whole dataset folder: what is there, and every flaw, each named with its file.

``check_dataset(root)`` looks at every split list and every image and mask of a dataset
(:mod:`irstd_lib.data.layout` decides where they are) and returns a :class:`DatasetReport`:

- the layout detected and the published form it is (``published``: "IRSTD-1k as ISNet
  publishes it", "SIRST3 ... as BasicIRSTD lists it"...,
  :func:`irstd_lib.data.layout.published_form`); the mask folder read and, where there was a
  choice (DenseSIRST's ``SIRST/BinaryMask`` and ``SkySeg/BinaryMask``), the others;
- every split list found (``idx_427/test.txt``, ``splits/test_full.txt``...)
  with its number of names;
- image sizes (``W x H`` and how many images have each) and modes (``L``, ``RGB``...), the
  same for masks;
- images with and without targets, the number of targets (8-connected components of the mask,
  :func:`irstd_lib.metrics.find_components`, as Pd/Fa count them) and percentiles of their
  areas in pixels (min, 25, 50, 75, max; ``numpy.percentile``, linear interpolation);
- flaws, each an :class:`Issue` naming the file. **Errors**: an image and its mask of different
  sizes, a non-binary or unreadable mask or image, a listed name without its image or mask, a
  malformed list (empty, a name twice), a name in a train list (``train``/``trainval``) and in
  the test list of the same folder and version, two files for one name. **Warnings**: an image
  or mask that no list names, a mask without an image, a mask of a background image (SIRST v2)
  that has targets, no split list at all.

Every image and mask is decoded once (about a second for NUAA-SIRST's 427 pairs). The exit code
of ``python -m irstd_lib datasets check`` is 1 when there is an error, else 0.
"""

from __future__ import annotations

import os
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from irstd_lib.data.errors import DatasetError
from irstd_lib.data.layout import (
    LAYOUTS,
    SPLIT_LIST_RE,
    _split_folders,
    dataset_folders,
    detect_layout,
    index_folder,
    mask_stem,
    merged_index,
    published_form,
    read_split_list,
)
from irstd_lib.data.readers import IMAGE_EXTENSIONS, read_mask

__all__ = ["Issue", "SplitListInfo", "DatasetReport", "check_dataset", "format_report"]

_TRAIN_BASES = ("train", "trainval")
_TEST_BASES = ("test",)
#: How many issues of one kind the text report shows (the JSON report has them all).
_SHOWN_PER_KIND = 20
#: How many of the most frequent image sizes the text report shows.
_SHOWN_SIZES = 8


@dataclass(frozen=True)
class Issue:
    """One flaw: ``severity`` ("error" or "warning"), ``kind`` (a short key), the file, the fault."""

    severity: str
    kind: str
    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


@dataclass(frozen=True)
class SplitListInfo:
    """A split list file: its path relative to root, base split name, version and size."""

    path: str
    split: str | None
    version: str | None
    n_names: int | None  # None when the list could not be read


@dataclass
class DatasetReport:
    """What :func:`check_dataset` found (``to_dict()`` for JSON, :func:`format_report` for text)."""

    root: str
    layout: str
    image_dirs: list[str]
    masks_dir: str
    split_lists: list[SplitListInfo]
    n_images: int
    n_masks: int
    image_sizes: dict[str, int]
    image_modes: dict[str, int]
    mask_sizes: dict[str, int]
    mask_modes: dict[str, int]
    n_with_targets: int
    n_without_targets: int
    n_targets: int
    target_area: dict[str, float]
    ignored_files: dict[str, int]
    issues: list[Issue] = field(default_factory=list)
    seconds: float = 0.0
    published: str = ""
    #: every mask folder found when there was a choice (relative to root), and which was read
    mask_dirs_found: list[str] = field(default_factory=list)
    mask_dir_note: str | None = None

    @property
    def errors(self) -> list[Issue]:
        return [i for i in self.issues if i.severity == "error"]

    @property
    def warnings(self) -> list[Issue]:
        return [i for i in self.issues if i.severity == "warning"]

    @property
    def exit_code(self) -> int:
        """1 when there is an error, 0 otherwise (warnings only or nothing)."""
        return 1 if self.errors else 0

    def to_dict(self) -> dict:
        return {
            "root": self.root,
            "layout": self.layout,
            "published": self.published,
            "image_dirs": list(self.image_dirs),
            "masks_dir": self.masks_dir,
            "mask_dirs_found": list(self.mask_dirs_found),
            "mask_dir_note": self.mask_dir_note,
            "split_lists": [vars(s).copy() for s in self.split_lists],
            "n_images": self.n_images,
            "n_masks": self.n_masks,
            "image_sizes": dict(self.image_sizes),
            "image_modes": dict(self.image_modes),
            "mask_sizes": dict(self.mask_sizes),
            "mask_modes": dict(self.mask_modes),
            "n_with_targets": self.n_with_targets,
            "n_without_targets": self.n_without_targets,
            "n_targets": self.n_targets,
            "target_area": dict(self.target_area),
            "ignored_files": dict(self.ignored_files),
            "errors": [vars(i).copy() for i in self.errors],
            "warnings": [vars(i).copy() for i in self.warnings],
            "n_errors": len(self.errors),
            "n_warnings": len(self.warnings),
            "seconds": round(self.seconds, 3),
        }

    def format(self) -> str:
        return format_report(self)


def _rel(path: Path, root: Path) -> str:
    try:
        return str(path.relative_to(root))
    except ValueError:
        return str(path)


def _wxh(size: tuple[int, int]) -> str:
    return f"{size[0]}x{size[1]}"


def _list_files(root: Path, split_dir: str | os.PathLike | None) -> list[Path]:
    """Every split list: the ``.txt`` files of the split folders, and list-named ones of root."""
    if split_dir is not None:
        folder = Path(split_dir)
        folder = folder if folder.is_absolute() else root / folder
        if not folder.is_dir():
            raise DatasetError(folder, "split_dir not found")
        return sorted(folder.glob("*.txt"))
    files = [f for f in sorted(root.glob("*.txt")) if SPLIT_LIST_RE.match(f.name)]
    for folder in _split_folders(root):
        files += sorted(folder.glob("*.txt"))
    return files


def _ignored(folder: Path, nested: bool = False) -> Counter:
    """Non-image entries of a folder: ``*.<ext>`` by extension, else by name (``.DS_Store``);
    ``nested``: its sub-folders are read, not ignored (IRDST's sequences)."""
    counts: Counter = Counter()
    with os.scandir(folder) as it:
        for entry in it:
            if nested and entry.is_dir():
                continue
            stem, ext = os.path.splitext(entry.name)
            if ext.lower() in IMAGE_EXTENSIONS and entry.is_file():
                continue
            counts[f"*{ext.lower()}" if stem and ext else entry.name] += 1
    return counts


def check_dataset(root: str | os.PathLike, layout: str = "auto",
                  split_dir: str | os.PathLike | None = None,
                  mask_dir: str | os.PathLike | None = None) -> DatasetReport:
    """Check the dataset at ``root`` (see the module docstring); never raises for a flaw of the
    data, only for a root that is no dataset at all (DatasetError) or a bad argument.
    ``mask_dir`` chooses the mask folder (relative to root or absolute; default: the layout's)."""
    start = time.perf_counter()
    if layout != "auto" and layout not in LAYOUTS:
        raise ValueError(f"layout must be 'auto' or one of {LAYOUTS}, got {layout!r}")
    root = Path(root).expanduser()
    if not root.is_dir():
        raise DatasetError(root, "dataset root not found (or not a folder)")
    folders = dataset_folders(root, layout, mask_dir)
    issues: list[Issue] = []

    def add(severity: str, kind: str, path: Path | str, message: str) -> None:
        issues.append(Issue(severity, kind, str(path), message))

    # -- split lists ------------------------------------------------------------------------
    lists: list[SplitListInfo] = []
    list_names: dict[Path, list[str]] = {}
    for f in _list_files(root, split_dir):
        m = SPLIT_LIST_RE.match(f.name)
        split, version = (m.group(1), m.group(2)) if m else (None, None)
        try:
            names = read_split_list(f)
        except DatasetError as exc:
            add("error", "bad_list", f, exc.problem)
            lists.append(SplitListInfo(_rel(f, root), split, version, None))
            continue
        list_names[f] = names
        lists.append(SplitListInfo(_rel(f, root), split, version, len(names)))
    if not lists:
        add("warning", "no_lists", root, "no split list found (train/val/trainval/test[_<version>].txt)")

    # the same name in a train list and the test list of the same folder and version
    groups: dict[tuple[Path, str | None], dict[str, list[Path]]] = {}
    for f in list_names:
        m = SPLIT_LIST_RE.match(f.name)
        if m:
            groups.setdefault((f.parent, m.group(2)), {}).setdefault(m.group(1), []).append(f)
    for (_, _), by_split in sorted(groups.items(), key=lambda kv: str(kv[0])):
        tests = [f for b in _TEST_BASES for f in by_split.get(b, [])]
        for train_file in [f for b in _TRAIN_BASES for f in by_split.get(b, [])]:
            for test_file in tests:
                both = [n for n in list_names[train_file] if n in set(list_names[test_file])]
                if both:
                    shown = ", ".join(both[:10]) + (f", ... ({len(both)} names)" if len(both) > 10 else "")
                    add("error", "train_test_overlap", test_file,
                        f"{len(both)} name(s) also in the training list {_rel(train_file, root)}: {shown}")

    # -- files --------------------------------------------------------------------------------
    nested = any("/" in n for names in list_names.values() for n in names)  # IRDST: <sequence>/<frame>
    image_index = merged_index(folders.image_dirs, nested)
    mask_index = index_folder(folders.masks_dir, nested)
    ignored: Counter = Counter()
    for folder in list(folders.image_dirs) + [folders.masks_dir]:
        for key, n in _ignored(folder, nested).items():
            ignored[f"{_rel(folder, root)}/{key}"] += n

    listed: dict[str, Path] = {}
    for f, names in list_names.items():
        for n in names:
            listed.setdefault(n, f)

    if folders.structure != "standard":
        resolved_layout = folders.structure
        naming = resolved_layout
        if resolved_layout == "voc" and (listed or image_index):
            probe = list(listed) or sorted(image_index)
            try:
                if detect_layout(probe, mask_index, folders.masks_dir) != "nuaa":
                    naming = "plain"
            except DatasetError:
                pass
    elif layout != "auto":
        resolved_layout = naming = layout
    else:
        probe = [n for n in listed if n in image_index] or sorted(image_index)
        try:
            resolved_layout = naming = detect_layout(probe, mask_index, folders.masks_dir) if probe else "plain"
        except DatasetError as exc:
            add("error", "layout", exc.path, exc.problem)
            resolved_layout = naming = "plain"

    for stem, paths in sorted(image_index.items()):
        if len(paths) > 1:
            add("error", "duplicate", paths[0], "several image files for one name: "
                + ", ".join(_rel(p, root) for p in paths))
    for stem, paths in sorted(mask_index.items()):
        if len(paths) > 1:
            add("error", "duplicate", paths[0], "several mask files for one name: "
                + ", ".join(_rel(p, root) for p in paths))

    # listed names without their files
    for name, f in listed.items():
        if name not in image_index:
            add("error", "missing_image", folders.image_dirs[0] / f"{name}.png",
                f"image not found for name {name!r} listed in {_rel(f, root)}")
    # images and masks no list names; masks without image
    mask_owner = {mask_stem(n, naming): n for n in image_index}
    if list_names:
        for name, paths in sorted(image_index.items()):
            if name not in listed:
                add("warning", "unlisted_image", paths[0], "image not named by any split list")
    for stem, paths in sorted(mask_index.items()):
        owner = mask_owner.get(stem)
        if owner is None:
            image_stem = stem if naming in ("irstd1k", "nudt", "plain") else stem.removesuffix("_pixels0")
            add("warning", "extra_mask", paths[0], f"mask without an image (no image named {image_stem})")

    # -- contents -----------------------------------------------------------------------------
    image_sizes: Counter = Counter()
    image_modes: Counter = Counter()
    mask_sizes: Counter = Counter()
    mask_modes: Counter = Counter()
    n_with = n_without = n_targets = 0
    areas: list[np.ndarray] = []
    from irstd_lib.metrics import find_components

    for name in sorted(image_index):
        image_path = image_index[name][0]
        image_size = None
        try:
            with Image.open(image_path) as im:
                im.load()
                image_size, mode = im.size, im.mode
            image_sizes[_wxh(image_size)] += 1
            image_modes[mode] += 1
        except Exception as exc:  # PIL raises OSError, SyntaxError, ValueError, ...
            add("error", "unreadable_image", image_path, f"cannot read image ({type(exc).__name__}: {exc})")
        mask_paths = mask_index.get(mask_stem(name, naming), [])
        is_background = folders.background_dir is not None and image_path.parent == folders.background_dir
        if not mask_paths:
            if is_background:
                n_without += 1  # SIRST v2: a background without a mask file has an all-zero mask
            else:
                add("error" if name in listed else "warning", "missing_mask",
                    folders.masks_dir / f"{mask_stem(name, naming)}.png", f"mask not found for image {_rel(image_path, root)}")
            continue
        mask_path = mask_paths[0]
        try:
            with Image.open(mask_path) as im:
                mask_modes[im.mode] += 1
            mask = read_mask(mask_path)
        except DatasetError as exc:
            kind = "non_binary_mask" if "not binary" in exc.problem else "unreadable_mask"
            add("error", kind, mask_path, exc.problem)
            continue
        size = (mask.shape[1], mask.shape[0])
        mask_sizes[_wxh(size)] += 1
        if image_size is not None and size != image_size:
            add("error", "size_mismatch", mask_path,
                f"mask is {_wxh(size)} but image {image_path} is {_wxh(image_size)} (width x height)")
        components = find_components(mask, 8)
        if components.n:
            n_with += 1
            n_targets += components.n
            areas.append(np.asarray(components.areas))
            if is_background:
                add("warning", "background_with_targets", mask_path,
                    f"background image {_rel(image_path, root)} has {components.n} target(s) in its mask")
        else:
            n_without += 1

    all_areas = np.concatenate(areas) if areas else np.zeros(0)
    target_area: dict[str, float] = {}
    if all_areas.size:
        for key, q in (("min", 0), ("p25", 25), ("p50", 50), ("p75", 75), ("max", 100)):
            target_area[key] = float(np.percentile(all_areas, q))

    def by_count(c: Counter) -> dict[str, int]:
        return dict(sorted(c.items(), key=lambda kv: (-kv[1], kv[0])))

    return DatasetReport(
        root=str(root),
        layout=resolved_layout,
        published=published_form(root, folders, naming),
        mask_dirs_found=[_rel(d, root) for d in folders.mask_dir_candidates],
        mask_dir_note=folders.mask_dir_note,
        image_dirs=[_rel(d, root) for d in folders.image_dirs],
        masks_dir=_rel(folders.masks_dir, root),
        split_lists=lists,
        n_images=len(image_index),
        n_masks=len(mask_index),
        image_sizes=by_count(image_sizes),
        image_modes=by_count(image_modes),
        mask_sizes=by_count(mask_sizes),
        mask_modes=by_count(mask_modes),
        n_with_targets=n_with,
        n_without_targets=n_without,
        n_targets=n_targets,
        target_area=target_area,
        ignored_files=by_count(ignored),
        issues=issues,
        seconds=time.perf_counter() - start,
    )


def _counts(d: dict[str, int], width: int = 84, indent: str = "             ") -> str:
    items = [f"{k} ({v})" for k, v in d.items()]
    lines, line = [], ""
    for item in items:
        piece = item if not line else f", {item}"
        if line and len(line) + len(piece) > width:
            lines.append(line + ",")
            line = item
        else:
            line += piece
    if line:
        lines.append(line)
    return ("\n" + indent).join(lines) if lines else "none"


def format_report(report: DatasetReport) -> str:
    """The report as text for a terminal (issues of one kind beyond 20 are counted, not shown)."""
    out = [
        f"dataset    {report.root}",
        f"layout     {report.layout} (images: {', '.join(d + '/' for d in report.image_dirs)}; "
        f"masks: {report.masks_dir}/)",
        f"published  {report.published}",
    ]
    if report.mask_dir_note:
        out.append(f"masks      {report.mask_dir_note}")
    out += [
        f"split lists ({len(report.split_lists)}):",
    ]
    width = max((len(s.path) for s in report.split_lists), default=0)
    for s in report.split_lists:
        n = "unreadable" if s.n_names is None else f"{s.n_names} images"
        out.append(f"  {s.path:<{width}}  {n}")
    out.append(f"images     {report.n_images}; masks {report.n_masks}")
    if report.ignored_files:
        out.append(f"ignored    {_counts(report.ignored_files)} (not images)")
    sizes = report.image_sizes
    if len(sizes) > _SHOWN_SIZES:
        shown = dict(list(sizes.items())[:_SHOWN_SIZES])
        rest = len(sizes) - _SHOWN_SIZES
        dims = [tuple(int(v) for v in k.split("x")) for k in sizes]
        extra = (f", and {rest} more sizes ({sum(list(sizes.values())[_SHOWN_SIZES:])} images; see --json); "
                 f"widths {min(w for w, _ in dims)}..{max(w for w, _ in dims)}, "
                 f"heights {min(h for _, h in dims)}..{max(h for _, h in dims)}")
    else:
        shown, extra = sizes, ""
    out.append(f"sizes      {len(sizes)} distinct (WxH, images): {_counts(shown)}{extra}")
    if report.mask_sizes != report.image_sizes:
        out.append("           (mask sizes differ from image sizes: see the errors)")
    out.append(f"modes      images: {_counts(report.image_modes)}; masks: {_counts(report.mask_modes)}")
    out.append(f"targets    {report.n_targets} (8-connected) in {report.n_with_targets} images; "
               f"{report.n_without_targets} images without targets")
    if report.target_area:
        a = report.target_area
        out.append("area (px)  " + "  ".join(f"{k} {v:g}" for k, v in a.items()))
    for title, items in (("errors", report.errors), ("warnings", report.warnings)):
        out.append(f"{title} ({len(items)}):")
        by_kind: dict[str, list[Issue]] = {}
        for issue in items:
            by_kind.setdefault(issue.kind, []).append(issue)
        for kind, group in by_kind.items():
            for issue in group[:_SHOWN_PER_KIND]:
                out.append(f"  {issue}")
            if len(group) > _SHOWN_PER_KIND:
                out.append(f"  ... and {len(group) - _SHOWN_PER_KIND} more {kind} (see --json)")
    n_e, n_w = len(report.errors), len(report.warnings)
    out.append(f"result     {n_e} error{'s' if n_e != 1 else ''}, {n_w} warning{'s' if n_w != 1 else ''} "
               f"({report.seconds:.1f} s)")
    return "\n".join(out)
