"""Folder layouts of the IRSTD field: where the split lists are and how files are named.

All of this works on directory listings only (no image is decoded), so it is fast enough to run
for every name of a split when a dataset is constructed.

Split lists
    Text files of names without extension, one per line. Stray whitespace, CRLF line ends and a
    UTF-8 byte-order mark are tolerated, blank lines are ignored, and a name that carries an
    image extension (``Misc_1.png``) has it removed, and so has a leading ``/`` (IRDST's lists,
    as RDIAN and BasicIRSTD publish them, name ``/44/1(814)`` for ``images/44/1(814).bmp``: a
    name may hold sub-folders, read below ``images/`` and ``masks/``). A name listed twice in
    one file is an error (it would count twice in every metric). Where the lists are:

    - SIRST as its authors publish it (NUAA-SIRST): ``idx_427/{train,val,trainval,test,
      trainvaltest}.txt`` and ``idx_320/...`` side by side. ``idx_427`` is the default, as in
      the papers; ``split_dir="idx_320"`` picks the other one.
    - IRSTD-1k (as ISNet publishes it), LangIR, the synthetic set: ``root/{trainval,test}.txt``
      (``train.txt`` and ``val.txt`` when present).
    - BasicIRSTD (XinyiYing/BasicIRSTD's ``datasets/<X>/img_idx/``: NUAA-SIRST, NUDT-SIRST,
      IRSTD-1K, SIRST3, NUDT-SIRST-Sea, IRDST as ``IRDST-real``; SCTransNet's SIRST3 the same):
      ``root/img_idx/train_<X>.txt`` and ``test_<X>.txt``. ``train`` (and
      ``trainval``, since BasicIRSTD has no validation list) map to the single ``train_*.txt``,
      ``test`` to the single ``test_*.txt``; several candidates are an error that lists them
      (pass ``split_version="<X>"``, or ``split_dir`` and a full file name such as
      ``split="train_NUAA-SIRST"``, to choose).
    - DNA-Net's copies of NUDT-SIRST / IRSTD-1k / NUAA-SIRST: ``root/50_50/{train,test}.txt``
      (or another ``<n>_<m>`` folder, ``10000_100`` for NUST-SIRST, or a ``root/idx_*/`` folder,
      ``idx_4961+847`` for MTU-Net's NUDT-SIRST-Sea). DNA-Net has no validation list, so in such a split
      folder (any folder other than the root) without a validation list ``trainval`` reads
      ``train.txt``.
    - SIRST v2 (``root/splits/``) and VOC-style devkits (``root/Splits/``): versioned lists
      ``<split>_<version>.txt`` (``test_full.txt``, ``trainval_v1.txt``,
      ``trainval_v1fullv2target.txt``...).

    Versions: ``split="test", split_version="full"`` reads ``test_full.txt``;
    ``split="test_full"`` (a list file name) reads the same file. When no version is given and
    ``<split>.txt`` does not exist, the versioned lists ``<split>_<version>.txt`` are looked at:
    a single one is used (BasicIRSTD's ``train_<X>.txt``); among several, ``full`` wins when it
    exists (SIRST v2's default: the full, corrected v2 annotation), otherwise it is an error
    listing the versions found. ``split="all"`` with a version reads
    ``trainvaltest_<v>.txt``, else the union of ``trainval_<v>``/``train_<v>`` + ``val_<v>`` +
    ``test_<v>`` as below; without a version it takes the version of the test list picked.

    Search order when ``split_dir`` is None (the first that exists wins): ``root/idx_427``
    (SIRST; so ``idx_427`` beats ``idx_320`` and ``50_50``); ``root`` if it holds any of the
    standard list files; ``root/50_50`` (DNA-Net); the single other ``root/idx_*`` or
    ``root/<n>_<m>`` folder (several, without ``idx_427`` or ``50_50``, are an error naming
    them: pass ``split_dir``);
    ``root/img_idx`` (BasicIRSTD); ``root/splits`` (SIRST v2); ``root/Splits`` (VOC devkits);
    else ``root``. ``split_dir`` may be relative to ``root`` or absolute.

    ``split="all"`` (alias ``"trainvaltest"``) reads ``trainvaltest.txt`` when present, else
    the union, in order and without repeats, of ``trainval``+``test`` or ``train``+``val``+
    ``test`` (or ``train_*``+``test_*``). No split name is silently replaced by another one:
    asking for ``train`` where only ``trainval.txt`` exists is an error listing what exists.

Folders and mask naming (``layout``)
    - ``"nuaa"``: image ``images/<name>.<ext>``, mask ``masks/<name>_pixels0.<ext>``
      (NUAA-SIRST, e.g. ``Misc_70`` / ``Misc_70_pixels0.png``).
    - ``"irstd1k"`` (``XDU<id>``), ``"nudt"`` (``<digits>``), ``"plain"`` (any name): image and
      mask share the name, ``images/<name>.<ext>`` and ``masks/<name>.<ext>``. The three differ
      only in the names the datasets use; the name pattern is not enforced (a renamed copy of
      IRSTD-1k still reads with ``layout="irstd1k"``). DNA-Net's copies (``50_50/``) are
      ``nudt`` / ``irstd1k`` / ``nuaa`` folders. IRSTD-1k as ISNet publishes it (RuiZhang97/ISNet:
      ``IRSTD1k_Img/<name>.png``, ``IRSTD1k_Label/<name>.png``, ``trainval.txt``/``test.txt``)
      reads as it is: a root without ``images/`` that holds ``IRSTD1k_Img/`` takes it and
      ``IRSTD1k_Label/`` as its image and mask folders. SIRST3 (SCTransNet, BasicIRSTD: the
      three sets merged into one ``images/`` + ``masks/``, masks named as their images) is
      ``plain``: its names mix ``Misc_*``, ``XDU*`` and digits.
    - ``"sirst_v2"``: SIRST v2 (Dai et al., TGRS 2023) as its authors publish it: images in
      ``images/targets/<name>.png`` and ``images/backgrounds/<name>.png`` (scenes without any
      target), masks ``annotations/masks/<name>_pixels0.png`` (0/255, all zero for
      backgrounds), lists ``splits/<split>_<version>.txt``; ``annotations/bboxes/`` and
      ``annotations/centroids/`` are ignored. *Choice*: an image found under
      ``images/backgrounds/`` that has no mask file gets an all-zero mask (recorded once in
      ``dataset.issues``); a missing mask of any other image is an error.
    - ``"voc"``: VOC-style devkits (SIRSTdevkit): images ``PNGImages/<name>.png``, masks
      ``<name>_pixels0.png`` (or ``<name>.png``, detected as for ``auto``) in the mask folder,
      lists ``Splits/<split>_<version>.txt``. The mask folder is the single folder named
      ``BinaryMask`` one or two levels below root (``root/BinaryMask``,
      ``root/SIRST/BinaryMask``); when there is none, the single ``masks``/``mask`` folder at
      those depths. DenseSIRST as GrokCV publishes it (``data/SIRSTdevkit/``) holds two:
      ``SIRST/BinaryMask/`` ("SIRST corresponds to infrared small targets", its README) and
      ``SkySeg/BinaryMask/`` ("SkySeg corresponds to sky segmentation"); *choice*: the target
      masks, ``SIRST/BinaryMask``, are read when every other candidate lies under ``SkySeg/``,
      and the reader says so (``DatasetFolders.mask_dir_note``); any other several candidates
      are an error naming them. ``mask_dir`` (``--mask-dir``) chooses the mask folder of any
      layout, relative to root or absolute.
    - ``"auto"``: the folders decide first: ``images/targets/``, ``images/backgrounds/`` or
      ``annotations/masks/`` mean ``sirst_v2``; ``PNGImages/`` means ``voc``. Otherwise look
      at the first names of the split; if their masks exist as ``<name>_pixels0.*`` the
      layout is ``nuaa``; if as ``<name>.*`` it is ``irstd1k`` when those names all look like
      ``XDU<digits>``, ``nudt`` when they are all digits, else ``plain``.

    Files in an image or mask folder that are not images (``.DS_Store``, ``Thumbs.db``,
    ``.xml`` annotations) are ignored. The split list is the source of truth: an image or mask
    folder may hold files no list names, but a listed name without its image (or mask) is an
    error naming it. An image whose mask is all zero (no target) is valid.

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
    "DatasetFolders",
    "detect_structure",
    "dataset_folders",
    "find_mask_dir",
    "merged_index",
    "mask_dir_candidates",
    "published_form",
    "split_list_versions",
    "SPLIT_LIST_RE",
    "DEFAULT_DEVKIT_MASK_DIR",
    "ISNET_FOLDERS",
]

LAYOUTS: tuple[str, ...] = ("nuaa", "irstd1k", "nudt", "plain", "sirst_v2", "voc")
#: Layouts recognised from their folders (the others share ``images/`` + ``masks/``).
STRUCTURED_LAYOUTS: tuple[str, ...] = ("sirst_v2", "voc")
#: The default version among several versioned lists (SIRST v2's full annotation).
DEFAULT_SPLIT_VERSION = "full"
_BASES = ("trainvaltest", "trainval", "train", "val", "test")
#: A split-list file name: ``<base>.txt`` or ``<base>_<version>.txt``.
SPLIT_LIST_RE = re.compile(r"^(trainvaltest|trainval|train|val|test)(?:_(.+))?\.txt$")
#: Split folders, in the order they are searched (after ``idx_427`` and the root).
_DNANET_SPLIT_DIR = "50_50"
SPLIT_NAMES: tuple[str, ...] = ("train", "val", "trainval", "test", "all", "trainvaltest")
DEFAULT_SIRST_SPLIT_DIR = "idx_427"
_STANDARD_LISTS = ("train.txt", "val.txt", "trainval.txt", "test.txt", "trainvaltest.txt")
#: How many of the first names of a split are looked at to detect the layout.
DETECT_FIRST_N = 8
#: DNA-Net's split folders are named ``<train share>_<test share>``: ``50_50``, ``10000_100``.
_DNANET_SPLIT_RE = re.compile(r"^\d+_\d+$")
#: DenseSIRST's target masks, read when the only other mask folders are its sky's (SkySeg/).
DEFAULT_DEVKIT_MASK_DIR = "SIRST/BinaryMask"
_SKY_MASK_PARENT = "SkySeg"
#: IRSTD-1k's image and mask folders as ISNet publishes it.
ISNET_FOLDERS = ("IRSTD1k_Img", "IRSTD1k_Label")


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
        # IRDST's lists (RDIAN, BasicIRSTD) start each name with "/": "/44/1(814)" is images/44/1(814)
        name = name.lstrip("/")
        if not name:
            continue
        if name in first_line:
            raise DatasetError(
                p, f"name {name!r} is listed twice (lines {first_line[name]} and {lineno})"
            )
        first_line[name] = lineno
        names.append(name)
    if not names:
        raise DatasetError(p, "split list is empty")
    return names


def _is_numbered_split_dir(name: str) -> bool:
    """``idx_*`` (SIRST, MTU-Net) or DNA-Net's ``<n>_<m>`` (50_50, 10000_100)."""
    return name.startswith("idx_") or bool(_DNANET_SPLIT_RE.match(name))


def _split_folders(root: Path) -> list[Path]:
    """Folders under root that hold split lists: idx_*, 50_50 (<n>_<m>), img_idx, splits, Splits."""
    if not root.is_dir():
        return []
    return sorted(
        d for d in root.iterdir()
        if d.is_dir() and (_is_numbered_split_dir(d.name) or d.name in ("img_idx", "splits", "Splits"))
    )


def existing_split_files(root: Path) -> list[str]:
    """Split-list-like ``.txt`` files under root and its split folders (relative paths)."""
    found: list[str] = []
    for folder in [root] + _split_folders(root):
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
    if (root / _DNANET_SPLIT_DIR).is_dir():
        return root / _DNANET_SPLIT_DIR
    idx = sorted(d for d in root.iterdir() if d.is_dir() and _is_numbered_split_dir(d.name)) if root.is_dir() else []
    if len(idx) == 1:
        return idx[0]
    if len(idx) > 1:
        raise DatasetError(
            root, "several split folders (" + ", ".join(d.name for d in idx) + ") and no "
            f"{DEFAULT_SIRST_SPLIT_DIR}: pass split_dir to choose one",
        )
    for name in ("img_idx", "splits", "Splits"):
        if (root / name).is_dir():
            return root / name
    return root


def split_list_versions(folder: Path) -> dict[str, list[str]]:
    """base split name -> versions of its ``<base>_<version>.txt`` lists in ``folder`` (sorted)."""
    versions: dict[str, list[str]] = {}
    if folder.is_dir():
        for f in sorted(folder.glob("*.txt")):
            m = SPLIT_LIST_RE.match(f.name)
            if m and m.group(2):
                versions.setdefault(m.group(1), []).append(m.group(2))
    return versions


def _single_pattern(folder: Path, root: Path, prefix: str, split: str) -> Path | None:
    """The ``<prefix>_<version>.txt`` to use in folder: the single one, else ``_full``; None
    if there is none; error listing the candidates if several and none is ``full``."""
    candidates = sorted(folder.glob(f"{prefix}_*.txt"))
    if len(candidates) > 1:
        full = folder / f"{prefix}_{DEFAULT_SPLIT_VERSION}.txt"
        if full in candidates:
            return full
        listed = ", ".join(str(c.relative_to(root)) for c in candidates)
        versions = ", ".join(repr(c.stem[len(prefix) + 1:]) for c in candidates)
        raise DatasetError(
            folder, f"split {split!r} is ambiguous: several candidate lists {listed}; pass "
            f"split_version= one of {versions}, or split=<file name without .txt> (e.g. "
            f"{candidates[0].stem!r}) to choose one"
        )
    return candidates[0] if candidates else None


def _has_val_list(folder: Path, version: str | None) -> bool:
    if version is None:
        return (folder / "val.txt").is_file() or any(folder.glob("val_*.txt"))
    return (folder / f"val_{version}.txt").is_file()


def _list_for(folder: Path, root: Path, split: str, version: str | None = None) -> Path | None:
    """The list file for one basic split name (and version), or None when absent."""
    if version is not None:
        direct = folder / f"{split}_{version}.txt"
        if direct.is_file():
            return direct
        train = folder / f"train_{version}.txt"
        if split == "trainval" and train.is_file() and not _has_val_list(folder, version):
            return train
        return None
    direct = folder / f"{split}.txt"
    if direct.is_file():
        return direct
    if split == "trainval":
        found = _single_pattern(folder, root, "trainval", split)
        if found is not None:
            return found
        # BasicIRSTD (train_<X>.txt) and DNA-Net (50_50/train.txt) have no validation list:
        # their training list is the whole training set.
        if not _has_val_list(folder, None):
            if folder != root and (folder / "train.txt").is_file():
                return folder / "train.txt"
            return _single_pattern(folder, root, "train", split)
        return None
    if split in ("train", "test", "val"):
        return _single_pattern(folder, root, split, split)
    return None


def _missing_list_error(folder: Path, root: Path, split: str, version: str | None = None) -> DatasetError:
    file = f"{split}.txt" if version is None else f"{split}_{version}.txt"
    what = f"split {split!r}" + ("" if version is None else f" version {version!r}")
    versions = split_list_versions(folder).get(split)
    hint = f"; versions of {split!r} here: {', '.join(versions)}" if versions else ""
    if version is not None and (root / version / f"{split}.txt").is_file():
        # NUAA-SIRST's idx_427/test.txt: a version that is a folder of lists is a split folder.
        hint += (f"; {version!r} is a folder of split lists here ({version}/{split}.txt): choose it as the split "
                 f"folder (split_dir, --split-dir {version}), not as a version")
    return DatasetError(
        folder / file,
        f"split list for {what} not found{hint}; split files that exist: {_existing_txt(root)}",
    )


def _all_files(folder: Path, root: Path, version: str | None) -> list[Path]:
    """The list(s) whose union is split 'all' (see module docstring)."""
    sfx = "" if version is None else f"_{version}"
    whole = folder / f"trainvaltest{sfx}.txt"
    if whole.is_file():
        return [whole]
    test = _list_for(folder, root, "test", version)
    trainval = folder / f"trainval{sfx}.txt"
    train, val = folder / f"train{sfx}.txt", folder / f"val{sfx}.txt"
    if test is not None and trainval.is_file():
        return [trainval, test]
    if test is not None and train.is_file() and val.is_file():
        return [train, val, test]
    train_any = _list_for(folder, root, "train", version)
    if test is not None and train_any is not None:
        return [train_any, test]
    raise DatasetError(
        whole,
        f"split 'all' needs trainvaltest{sfx}.txt, or trainval{sfx}.txt + test{sfx}.txt, or "
        f"train{sfx}.txt + val{sfx}.txt + test{sfx}.txt; split files that exist: {_existing_txt(root)}",
    )


def resolve_split(root: Path, split: str, split_dir: str | os.PathLike | None = None,
                  split_version: str | None = None) -> SplitLists:
    """Find and read the split list(s) for ``split`` (and ``split_version``) under ``root``."""
    if not isinstance(split, str) or not split:
        raise ValueError(f"split must be a non-empty string, got {split!r}")
    if split_version is not None and (not isinstance(split_version, str) or not split_version):
        raise ValueError(f"split_version must be None or a non-empty string, got {split_version!r}")
    folder = resolve_split_dir(root, split_dir)
    files: list[Path]
    if split in ("all", "trainvaltest"):
        version = split_version
        if version is None and not (folder / "trainvaltest.txt").is_file():
            test = _list_for(folder, root, "test", None)
            if test is not None and test.stem != "test":  # a versioned test list was picked
                version = test.stem[len("test_"):]
        files = _all_files(folder, root, version)
    elif split in ("train", "val", "trainval", "test"):
        found = _list_for(folder, root, split, split_version)
        if found is None:
            raise _missing_list_error(folder, root, split, split_version)
        files = [found]
    else:
        # Any other name is taken as a list file name (e.g. "train_NUAA-SIRST", "test_full").
        if split_version is not None:
            raise ValueError(
                f"split_version={split_version!r} goes with a split name ({', '.join(SPLIT_NAMES)}), "
                f"not with the list file name {split!r}"
            )
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


def index_folder(folder: Path, nested: bool = False) -> dict[str, list[Path]]:
    """Map file stem -> image files with that stem in ``folder`` (one listing, no decoding).

    ``nested``: also the files of its sub-folders, keyed by their path below ``folder`` without
    extension (``44/1(814)``: IRDST's names); only asked for when a list names such a path."""
    index: dict[str, list[Path]] = {}
    pending = [(Path(folder), "")]
    while pending:
        current, prefix = pending.pop()
        with os.scandir(current) as it:
            for entry in it:
                if nested and entry.is_dir():
                    pending.append((Path(entry.path), f"{prefix}{entry.name}/"))
                    continue
                stem, ext = os.path.splitext(entry.name)
                if ext.lower() not in IMAGE_EXTENSIONS:
                    continue
                if not entry.is_file():
                    continue
                index.setdefault(prefix + stem, []).append(Path(entry.path))
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
    if layout in ("sirst_v2", "voc"):
        return f"{name}_pixels0"
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


@dataclass(frozen=True)
class DatasetFolders:
    """Where a dataset's images and masks are (see "Folders and mask naming" above).

    ``structure`` is "sirst_v2", "voc" or "standard" (``images/`` + ``masks/``, or ISNet's
    ``IRSTD1k_Img/`` + ``IRSTD1k_Label/``: nuaa, irstd1k, nudt, plain); ``image_dirs`` the image
    folders that exist (SIRST v2: ``images/targets`` and ``images/backgrounds``);
    ``background_dir`` the folder of target-free scenes, or None; ``mask_dir_candidates`` every
    mask folder found when there was a choice (DenseSIRST: ``SIRST/BinaryMask`` and
    ``SkySeg/BinaryMask``), and ``mask_dir_note`` the sentence saying which was read (None
    when there was no choice).
    """

    structure: str
    image_dirs: tuple[Path, ...]
    masks_dir: Path
    background_dir: Path | None = None
    mask_dir_candidates: tuple[Path, ...] = ()
    mask_dir_note: str | None = None


def detect_structure(root: Path) -> str:
    """"sirst_v2", "voc" or "standard", from the folders under root (no file is read)."""
    if (root / "images" / "targets").is_dir() or (root / "images" / "backgrounds").is_dir() \
            or (root / "annotations" / "masks").is_dir():
        return "sirst_v2"
    if (root / "PNGImages").is_dir():
        return "voc"
    return "standard"


def mask_dir_candidates(root: Path) -> list[Path]:
    """The mask folders of a VOC-style devkit: the ``BinaryMask`` folders one or two levels
    below root, else the ``masks``/``mask`` folders at those depths (sorted; maybe empty)."""
    level1 = sorted(d for d in root.iterdir() if d.is_dir())
    level2 = sorted(e for d in level1 for e in d.iterdir() if e.is_dir())
    for names in (("binarymask",), ("masks", "mask")):
        found = [d for d in level1 + level2 if d.name.lower() in names]
        if found:
            return found
    return []


def _given_mask_dir(root: Path, mask_dir: str | os.PathLike) -> Path:
    folder = Path(mask_dir).expanduser()
    folder = folder if folder.is_absolute() else root / folder
    if not folder.is_dir():
        raise DatasetError(folder, "mask_dir (--mask-dir) not found (or not a folder)")
    return folder


def _mask_dir_note(root: Path, chosen: Path, candidates: list[Path], given: bool) -> str:
    others = ", ".join(_relative(d, root) + "/" for d in candidates if d != chosen)
    why = "as asked (mask_dir)" if given else "the target masks (SkySeg/ holds DenseSIRST's sky segmentation)"
    return (f"masks read from {_relative(chosen, root)}/, {why}; not read: {others} "
            "(mask_dir= / --mask-dir chooses)")


def _relative(path: Path, root: Path) -> str:
    try:
        return str(path.relative_to(root))
    except ValueError:
        return str(path)


def find_mask_dir(root: Path, mask_dir: str | os.PathLike | None = None) -> Path:
    """The mask folder of a VOC-style devkit: ``mask_dir`` when given; else the single
    ``BinaryMask`` one or two levels below root, else the single ``masks``/``mask`` folder at
    those depths; of several, ``SIRST/BinaryMask`` when all the others lie under ``SkySeg/``
    (DenseSIRST as published); DatasetError otherwise."""
    if mask_dir is not None:
        return _given_mask_dir(root, mask_dir)
    found = mask_dir_candidates(root)
    if len(found) == 1:
        return found[0]
    if len(found) > 1:
        default = root / DEFAULT_DEVKIT_MASK_DIR
        if default in found and all(d == default or d.parent.name == _SKY_MASK_PARENT for d in found):
            return default
        raise DatasetError(
            root, "several mask folders (" + ", ".join(str(d.relative_to(root)) for d in found)
            + "): pass mask_dir (--mask-dir) to choose one",
        )
    raise DatasetError(
        root, "VOC-style dataset (PNGImages/) without a mask folder: expected a BinaryMask/ "
        "(e.g. SIRST/BinaryMask/) or masks/ folder one or two levels below the root",
    )


def dataset_folders(root: Path, layout: str = "auto", mask_dir: str | os.PathLike | None = None) -> DatasetFolders:
    """The image and mask folders of the dataset at root for ``layout`` ("auto" detects);
    ``mask_dir`` (relative to root or absolute) replaces the layout's mask folder."""
    structure = detect_structure(root) if layout == "auto" else (layout if layout in STRUCTURED_LAYOUTS else "standard")
    given = _given_mask_dir(root, mask_dir) if mask_dir is not None else None
    if structure == "sirst_v2":
        targets, backgrounds = root / "images" / "targets", root / "images" / "backgrounds"
        image_dirs = tuple(d for d in (targets, backgrounds) if d.is_dir())
        if not image_dirs:
            raise DatasetError(targets, "SIRST v2 dataset has no images/targets/ or images/backgrounds/ folder")
        masks = given or root / "annotations" / "masks"
        if not masks.is_dir():
            raise DatasetError(masks, "SIRST v2 dataset has no annotations/masks/ folder")
        return DatasetFolders("sirst_v2", image_dirs, masks, backgrounds if backgrounds.is_dir() else None)
    if structure == "voc":
        images = root / "PNGImages"
        if not images.is_dir():
            raise DatasetError(images, "VOC-style dataset has no PNGImages/ folder")
        candidates = mask_dir_candidates(root)
        masks = find_mask_dir(root, mask_dir)
        if len(candidates) > 1 or (given is not None and candidates and candidates != [given]):
            shown = sorted(set(candidates) | {masks})
            return DatasetFolders("voc", (images,), masks, None, tuple(shown),
                                  _mask_dir_note(root, masks, shown, given is not None))
        return DatasetFolders("voc", (images,), masks)
    images, masks = root / "images", root / "masks"
    if not images.is_dir() and (root / ISNET_FOLDERS[0]).is_dir():  # IRSTD-1k as ISNet publishes it
        images, masks = root / ISNET_FOLDERS[0], root / ISNET_FOLDERS[1]
    masks = given or masks
    for folder, what in ((images, images.name), (masks, masks.name)):
        if not folder.is_dir():
            raise DatasetError(
                folder, f"dataset root has no {what}/ folder (expected root/images/ and root/masks/, "
                f"or IRSTD-1k's {ISNET_FOLDERS[0]}/ and {ISNET_FOLDERS[1]}/)"
            )
    return DatasetFolders("standard", (images,), masks)


def merged_index(folders: tuple[Path, ...] | list[Path], nested: bool = False) -> dict[str, list[Path]]:
    """:func:`index_folder` of several folders merged (a stem in two folders has two paths)."""
    index: dict[str, list[Path]] = {}
    for folder in folders:
        for stem, paths in index_folder(folder, nested).items():
            index.setdefault(stem, []).extend(paths)
    return index


#: The sets of BasicIRSTD's ``img_idx/train_<X>.txt`` lists, by ``X``, as their publishers name them.
_BASICIRSTD_SETS = {
    "SIRST3": "SIRST3 (NUAA-SIRST + NUDT-SIRST + IRSTD-1k merged, as SCTransNet trains on it)",
    "IRDST-real": "IRDST, real scenes (names <sequence>/<frame>)",
    "NUDT-SIRST-Sea": "NUDT-SIRST-Sea",
}
_NAMING_SETS = {"nuaa": "NUAA-SIRST", "irstd1k": "IRSTD-1k", "nudt": "NUDT-SIRST", "plain": "a dataset"}


def published_form(root: Path, folders: DatasetFolders, naming: str) -> str:
    """Which published layout the folder is, in words, from its folders and list files (no
    file is read): what ``datasets check`` prints on its ``published`` line."""
    if folders.structure == "sirst_v2":
        return ("SIRST v2 as its authors publish it (images/targets/, images/backgrounds/, "
                "annotations/masks/, splits/)")
    if folders.structure == "voc":
        if (root / _SKY_MASK_PARENT).is_dir() and (root / "SIRST").is_dir():
            return ("DenseSIRST as GrokCV publishes it (SIRSTdevkit: PNGImages/, SIRST/BinaryMask/ "
                    "targets, SkySeg/BinaryMask/ sky, Splits/)")
        return f"a VOC-style devkit (PNGImages/, {_relative(folders.masks_dir, root)}/, Splits/)"
    if folders.image_dirs[0].name == ISNET_FOLDERS[0]:
        return (f"IRSTD-1k as ISNet publishes it ({ISNET_FOLDERS[0]}/, {ISNET_FOLDERS[1]}/, "
                "trainval.txt, test.txt)")
    forms: list[str] = []
    folders_here = sorted(d.name for d in root.iterdir() if d.is_dir())
    if DEFAULT_SIRST_SPLIT_DIR in folders_here or "idx_320" in folders_here:
        forms.append("NUAA-SIRST as its authors publish it (images/, masks/<name>_pixels0.png, idx_427/, idx_320/)")
    what = _NAMING_SETS.get(naming, "a dataset")
    for name in folders_here:
        if _DNANET_SPLIT_RE.match(name):
            forms.append(f"DNA-Net's copy of {what} (images/, masks/, {name}/train.txt, test.txt)")
        elif name.startswith("idx_") and name not in (DEFAULT_SIRST_SPLIT_DIR, "idx_320"):
            forms.append(f"{what} with its lists in {name}/ (images/, masks/)")
    for lst in sorted((root / "img_idx").glob("train_*.txt")) if (root / "img_idx").is_dir() else []:
        key = lst.stem[len("train_"):]
        forms.append(f"{_BASICIRSTD_SETS.get(key, key)} as BasicIRSTD lists it (img_idx/train_{key}.txt, test_{key}.txt)")
    if not forms:
        where = "in the root" if any((root / n).is_file() for n in _STANDARD_LISTS) else "none found"
        forms.append(f"{what} in images/ + masks/ (split lists {where})")
    return "; ".join(forms)
