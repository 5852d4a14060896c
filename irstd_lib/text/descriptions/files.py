"""Description files in the LangIR layout, and the ``files`` source that reads them.

LangIR keeps one target description per image in ``root/descriptions/``, named
``<name>.description.txt`` or ``<name>-description.txt`` (both spellings occur; this package
writes the first); MIRSTD keeps scene descriptions in ``root/scene_descriptions/<name>.txt``.
:func:`read_description_file`, :func:`find_description_file` and :func:`load_descriptions` read
them; :class:`FileSource` (``files``) passes the descriptions that come with a dataset through
as a source (``kind="scene"`` for the scene files).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Iterable

from irstd_lib.data.errors import DatasetError
from irstd_lib.text.descriptions.registry import DescriptionSource, register_source
from irstd_lib.text.descriptions.types import Description, SampleLike
from irstd_lib.text.word_limit import enforce_word_limit

#: File names of the LangIR layout: the first is what this package writes.
TARGET_DESCRIPTION_SUFFIXES: tuple[str, ...] = (".description.txt", "-description.txt")
SCENE_DESCRIPTION_SUFFIX = ".txt"
TARGET_DESCRIPTION_DIR = "descriptions"
SCENE_DESCRIPTION_DIR = "scene_descriptions"


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
