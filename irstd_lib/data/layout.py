"""Folder layouts of the IRSTD field: where the split lists are and how files are named.

All of this works on directory listings only (no image is decoded), so it is fast enough to run
for every name of a split when a dataset is constructed.

Split lists
    Text files of names without extension, one per line. Stray whitespace, CRLF line ends and a
    UTF-8 byte-order mark are tolerated, blank lines are ignored, and a name that carries an
    image extension (``Misc_1.png``) has it removed. A name listed twice in one file is an
    error (it would count twice in every metric). Where the lists are:

    - SIRST as its authors publish it (NUAA-SIRST): ``idx_427/{train,val,trainval,test,
      trainvaltest}.txt`` and ``idx_320/...`` side by side. ``idx_427`` is the default, as in
      the papers; ``split_dir="idx_320"`` picks the other one.
    - IRSTD-1k, LangIR, the synthetic set: ``root/{trainval,test}.txt`` (``train.txt`` and
      ``val.txt`` when present).
    - BasicIRSTD: ``root/img_idx/train_<X>.txt`` and ``test_<X>.txt``. ``train`` (and
      ``trainval``, since BasicIRSTD has no validation list) map to the single ``train_*.txt``,
      ``test`` to the single ``test_*.txt``; several candidates are an error that lists them
      (pass ``split_dir`` and a full file name such as ``split="train_NUAA-SIRST"`` to choose).

    Search order when ``split_dir`` is None: ``root/idx_427`` if it exists; else ``root`` if it
    holds any of the standard list files; else ``root/img_idx`` if it exists; else ``root``.
    ``split_dir`` may be relative to ``root`` or absolute.

    ``split="all"`` (alias ``"trainvaltest"``) reads ``trainvaltest.txt`` when present, else
    the union, in order and without repeats, of ``trainval``+``test`` or ``train``+``val``+
    ``test`` (or ``train_*``+``test_*``). No split name is silently replaced by another one:
    asking for ``train`` where only ``trainval.txt`` exists is an error listing what exists.

Mask naming (``layout``)
    - ``"nuaa"``: image ``images/<name>.<ext>``, mask ``masks/<name>_pixels0.<ext>``
      (NUAA-SIRST, e.g. ``Misc_70`` / ``Misc_70_pixels0.png``).
    - ``"irstd1k"`` (``XDU<id>``), ``"nudt"`` (``<digits>``), ``"plain"`` (any name): image and
      mask share the name, ``images/<name>.<ext>`` and ``masks/<name>.<ext>``. The three differ
      only in the names the datasets use; the name pattern is not enforced (a renamed copy of
      IRSTD-1k still reads with ``layout="irstd1k"``).
    - ``"auto"``: look at the first names of the split; if their masks exist as
      ``<name>_pixels0.*`` the layout is ``nuaa``; if as ``<name>.*`` it is ``irstd1k`` when
      those names all look like ``XDU<digits>``, ``nudt`` when they are all digits, else
      ``plain``.

    Extensions tried: ``.png .bmp .jpg .jpeg .tif .tiff`` (case-insensitive). Two files with
    the same name and different extensions are an error (which one is meant is unknowable).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from irstd_lib.data.errors import DatasetError
from irstd_lib.data.readers import IMAGE_EXTENSIONS

__all__ = [
    "LAYOUTS",
    "SPLIT_NAMES",
    "DEFAULT_SIRST_SPLIT_DIR",
    "SplitLists",
    "read_split_list",
    "resolve_split_dir",
    "resolve_split",
    "existing_split_files",
    "index_folder",
    "mask_stem",
    "detect_layout",
]

LAYOUTS: tuple[str, ...] = ("nuaa", "irstd1k", "nudt", "plain")
SPLIT_NAMES: tuple[str, ...] = ("train", "val", "trainval", "test", "all", "trainvaltest")
DEFAULT_SIRST_SPLIT_DIR = "idx_427"
_STANDARD_LISTS = ("train.txt", "val.txt", "trainval.txt", "test.txt", "trainvaltest.txt")
#: How many of the first names of a split are looked at to detect the layout.
DETECT_FIRST_N = 8


@dataclass(frozen=True)
class SplitLists:
    """The resolved split: the list file(s) read and the names, in order, without repeats."""

    split: str
    folder: Path
    files: tuple[Path, ...]
    names: tuple[str, ...]
    #: name -> the list file that named it first (for error messages)
    source: dict[str, Path]


def read_split_list(path: str | os.PathLike) -> list[str]:
    """Names in a split list file (see module docstring for what is tolerated)."""
    p = Path(path)
    if not p.is_file():
        raise DatasetError(p, "split list not found")
    try:
        text = p.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise DatasetError(p, f"cannot read split list ({exc})") from exc
    names: list[str] = []
    first_line: dict[str, int] = {}
    for lineno, line in enumerate(text.splitlines(), start=1):
        name = line.strip()
        if not name:
            continue
        stem, ext = os.path.splitext(name)
        if ext.lower() in IMAGE_EXTENSIONS:
            name = stem
        if name in first_line:
            raise DatasetError(
                p, f"name {name!r} is listed twice (lines {first_line[name]} and {lineno})"
            )
        first_line[name] = lineno
        names.append(name)
    if not names:
        raise DatasetError(p, "split list is empty")
    return names


def existing_split_files(root: Path) -> list[str]:
    """Split-list-like ``.txt`` files under root, root/idx_*, root/img_idx (relative paths)."""
    found: list[str] = []
    folders = [root]
    if root.is_dir():
        folders += sorted(
            d for d in root.iterdir()
            if d.is_dir() and (d.name.startswith("idx_") or d.name == "img_idx")
        )
    for folder in folders:
        if not folder.is_dir():
            continue
        for f in sorted(folder.glob("*.txt")):
            found.append(str(f.relative_to(root)))
    return found


def _existing_txt(root: Path) -> str:
    files = existing_split_files(root)
    return ", ".join(files) if files else "none"


def resolve_split_dir(root: Path, split_dir: str | os.PathLike | None) -> Path:
    """The folder holding the split lists (see module docstring for the search order)."""
    if split_dir is not None:
        folder = Path(split_dir)
        if not folder.is_absolute():
            folder = root / folder
        if not folder.is_dir():
            raise DatasetError(
                folder, f"split_dir not found; split files that exist: {_existing_txt(root)}"
            )
        return folder
    sirst = root / DEFAULT_SIRST_SPLIT_DIR
    if sirst.is_dir():
        return sirst
    if any((root / n).is_file() for n in _STANDARD_LISTS):
        return root
    if (root / "img_idx").is_dir():
        return root / "img_idx"
    return root


def _single_pattern(folder: Path, root: Path, prefix: str, split: str) -> Path | None:
    """The single ``<prefix>_*.txt`` in folder; None if there is none; error if several."""
    candidates = sorted(folder.glob(f"{prefix}_*.txt"))
    if len(candidates) > 1:
        listed = ", ".join(str(c.relative_to(root)) for c in candidates)
        raise DatasetError(
            folder, f"split {split!r} is ambiguous: several candidate lists {listed}; pass "
            f"split=<file name without .txt> (e.g. {candidates[0].stem!r}) to choose one"
        )
    return candidates[0] if candidates else None


def _list_for(folder: Path, root: Path, split: str) -> Path | None:
    """The list file for one basic split name, or None when absent."""
    direct = folder / f"{split}.txt"
    if direct.is_file():
        return direct
    if split in ("train", "trainval"):
        return _single_pattern(folder, root, "train", split)
    if split == "test":
        return _single_pattern(folder, root, "test", split)
    return None


def _missing_list_error(folder: Path, root: Path, split: str) -> DatasetError:
    return DatasetError(
        folder / f"{split}.txt",
        f"split list for split {split!r} not found; split files that exist: {_existing_txt(root)}",
    )


def resolve_split(root: Path, split: str, split_dir: str | os.PathLike | None = None) -> SplitLists:
    """Find and read the split list(s) for ``split`` under ``root``."""
    if not isinstance(split, str) or not split:
        raise ValueError(f"split must be a non-empty string, got {split!r}")
    folder = resolve_split_dir(root, split_dir)
    files: list[Path]
    if split in ("all", "trainvaltest"):
        whole = folder / "trainvaltest.txt"
        if whole.is_file():
            files = [whole]
        else:
            test = _list_for(folder, root, "test")
            trainval = folder / "trainval.txt"
            train, val = folder / "train.txt", folder / "val.txt"
            if test is not None and trainval.is_file():
                files = [trainval, test]
            elif test is not None and train.is_file() and val.is_file():
                files = [train, val, test]
            else:
                train_any = _list_for(folder, root, "train")
                if test is not None and train_any is not None:
                    files = [train_any, test]
                else:
                    raise DatasetError(
                        folder / "trainvaltest.txt",
                        "split 'all' needs trainvaltest.txt, or trainval.txt + test.txt, or "
                        "train.txt + val.txt + test.txt; split files that exist: "
                        f"{_existing_txt(root)}",
                    )
    elif split in ("train", "val", "trainval", "test"):
        found = _list_for(folder, root, split)
        if found is None:
            raise _missing_list_error(folder, root, split)
        files = [found]
    else:
        # Any other name is taken as a list file name (e.g. "train_NUAA-SIRST", "test_50_50").
        direct = folder / (split if split.endswith(".txt") else f"{split}.txt")
        if not direct.is_file():
            raise DatasetError(
                direct, f"unknown split {split!r} (known: {', '.join(SPLIT_NAMES)}) and no such "
                f"list file; split files that exist: {_existing_txt(root)}",
            )
        files = [direct]

    names: list[str] = []
    source: dict[str, Path] = {}
    for f in files:
        for name in read_split_list(f):
            if name not in source:  # the union of several lists keeps the first occurrence
                source[name] = f
                names.append(name)
    return SplitLists(split=split, folder=folder, files=tuple(files), names=tuple(names), source=source)


def index_folder(folder: Path) -> dict[str, list[Path]]:
    """Map file stem -> image files with that stem in ``folder`` (one listing, no decoding)."""
    index: dict[str, list[Path]] = {}
    with os.scandir(folder) as it:
        for entry in it:
            stem, ext = os.path.splitext(entry.name)
            if ext.lower() not in IMAGE_EXTENSIONS:
                continue
            if not entry.is_file():
                continue
            index.setdefault(stem, []).append(Path(entry.path))
    order = {e: i for i, e in enumerate(IMAGE_EXTENSIONS)}
    for paths in index.values():
        paths.sort(key=lambda p: order[p.suffix.lower()])
    return index


def mask_stem(name: str, layout: str) -> str:
    """File stem of the mask for ``name`` under ``layout``."""
    if layout == "nuaa":
        return f"{name}_pixels0"
    if layout in ("irstd1k", "nudt", "plain"):
        return name
    raise ValueError(f"unknown layout {layout!r}; expected 'auto' or one of {LAYOUTS}")


def detect_layout(names: tuple[str, ...] | list[str], mask_index: dict[str, list[Path]], masks_dir: Path) -> str:
    """Detect the layout from which mask naming exists for the first names of a split."""
    first = list(names[:DETECT_FIRST_N])
    n_nuaa = sum(1 for n in first if f"{n}_pixels0" in mask_index)
    n_same = sum(1 for n in first if n in mask_index)
    if n_nuaa == 0 and n_same == 0:
        shown = ", ".join(first)
        raise DatasetError(
            masks_dir,
            f"cannot detect the dataset layout: none of the first names ({shown}) has a mask "
            f"named <name>_pixels0.<ext> (NUAA-SIRST, e.g. {first[0]}_pixels0.png) or "
            f"<name>.<ext> (IRSTD-1k / NUDT-SIRST, e.g. {first[0]}.png) here",
        )
    if n_nuaa >= n_same:
        return "nuaa"
    if all(re.fullmatch(r"XDU\d+", n) for n in first):
        return "irstd1k"
    if all(re.fullmatch(r"\d+", n) for n in first):
        return "nudt"
    return "plain"
