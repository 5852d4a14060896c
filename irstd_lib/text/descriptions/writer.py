"""Writing a whole dataset's descriptions: :func:`describe_dataset`.

Describes every image of one or more splits with a source and writes the texts in the LangIR
layout (``descriptions/<name>.description.txt``, or ``scene_descriptions/<name>.txt`` for scene
sources) with a ``provenance.json`` record beside them; resumable, never overwriting unless
asked, and with a thread pool for sources that allow several images at once (the VLM client).
"""

from __future__ import annotations

import json
import os
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from pathlib import Path
from typing import Any, Sequence

from tqdm.auto import tqdm

from irstd_lib.data.errors import DatasetError
from irstd_lib.io import atomic_write_json, atomic_write_text
from irstd_lib.text.descriptions.files import (
    SCENE_DESCRIPTION_DIR,
    SCENE_DESCRIPTION_SUFFIX,
    TARGET_DESCRIPTION_DIR,
    TARGET_DESCRIPTION_SUFFIXES,
    find_description_file,
)
from irstd_lib.text.descriptions.registry import DescriptionSource, get_source
from irstd_lib.text.descriptions.types import Description

#: The provenance record written beside the description files.
PROVENANCE_FILE = "provenance.json"


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
