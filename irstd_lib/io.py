"""Atomic file writes.

Every result, table, checkpoint and cache entry in the package is written through these helpers:
the bytes go to a temporary file in the destination folder, are flushed to disk, and then
``os.replace`` swaps them in. A crash or Ctrl-C mid-write leaves either the old file or the new
one, never a truncated file that a later run would trust.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any, Callable


def _default_file_mode() -> int:
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


_FILE_MODE = _default_file_mode()  # what open() would give a new file, read once at import


@contextlib.contextmanager
def _replacing(path: Path):
    """A temporary file beside ``path`` (its name yielded), moved onto ``path`` when the block
    ends without error, removed when it raises: ``path`` is either as it was or complete."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        yield tmp
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def _atomic_write(path: str | os.PathLike, write: Callable[[Any], None], mode: str) -> Path:
    path = Path(path)
    with _replacing(path) as tmp:
        with open(tmp, mode) as handle:
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, _FILE_MODE)  # mkstemp creates 0600; results are ordinary shared files
    return path


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically."""
    return _atomic_write(path, lambda h: h.write(data), "wb")


def atomic_write_text(path: str | os.PathLike, text: str) -> Path:
    """Write UTF-8 ``text`` to ``path`` atomically."""
    return _atomic_write(path, lambda h: h.write(text.encode("utf-8")), "wb")


def atomic_write_json(path: str | os.PathLike, obj: Any, indent: int = 2) -> Path:
    """Write ``obj`` as pretty, key-sorted JSON to ``path`` atomically."""
    return atomic_write_text(path, json.dumps(obj, indent=indent, sort_keys=True, default=_json_default) + "\n")


def atomic_save(path: str | os.PathLike, save: Callable[[Any], None]) -> Path:
    """Atomically write a file produced by a library's ``save(file_object)`` function.

    Example: ``atomic_save(p, lambda f: torch.save(state, f))`` or
    ``atomic_save(p, lambda f: fig.savefig(f, format="png"))``.
    """
    return _atomic_write(path, save, "wb")


def atomic_copy(src: str | os.PathLike, dst: str | os.PathLike) -> Path:
    """Make ``dst`` a copy of the finished file ``src``, atomically: a hard link when the file
    system allows one (no second write of a checkpoint that may be gigabytes), else a byte copy.
    Safe with this module's writers, which replace a file rather than write into it, so a later
    rewrite of either name leaves the other as it was."""
    import shutil

    src, dst = Path(src), Path(dst)
    with _replacing(dst) as tmp:
        os.unlink(tmp)  # os.link makes the name itself
        try:
            os.link(src, tmp)
        except OSError:
            shutil.copyfile(src, tmp)
            os.chmod(tmp, _FILE_MODE)
    return dst


def _json_default(obj: Any) -> Any:
    # numpy scalars and arrays, Paths: the types results most often carry.
    if hasattr(obj, "item") and callable(obj.item) and getattr(obj, "ndim", 1) == 0:
        return obj.item()
    if hasattr(obj, "tolist"):
        return obj.tolist()
    if isinstance(obj, os.PathLike):
        return os.fspath(obj)
    raise TypeError(f"not JSON serializable: {type(obj).__name__}")


# Digests already taken in this process, keyed by the file's identity and state: a weights file of
# hundreds of MB (SAM ViT-H: 2.4 GB) enters every run's hash and cache key, and is read once.
_SHA256_SEEN: dict[tuple, str] = {}


def file_sha256(path: str | os.PathLike, chunk_size: int = 1 << 22) -> str:
    """Hex SHA-256 of a file's bytes (weights enter run identities and cache keys by content).

    Remembered per process under the file's device, inode, size and modification time (ns), so a
    file rewritten in place (any of them changes) is read again."""
    st = os.stat(path)
    key = (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)
    if key in _SHA256_SEEN:
        return _SHA256_SEEN[key]
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(chunk_size):
            digest.update(chunk)
    _SHA256_SEEN[key] = digest.hexdigest()
    return _SHA256_SEEN[key]
