"""A one-line status of long work, for a watcher in another process.

Inside a notebook that ``reproduce`` executes, the library's tqdm bars become widgets that the
command line never sees, so the command could only count finished notebooks. This side channel
carries what the kernel is doing to the command: when the environment variable
``IRSTD_PROGRESS_FILE`` names a file (``reproduce`` sets it for the kernels it starts), the
library writes one line there (``training lgnet_baseline (run 1a2b3c4d5e6f) | epoch 3/40, step
2/14, loss 0.1234``; then ``epoch 3/40, validating`` and ``epoch 3/40 done, loss 0.1100, val IoU
0.6512``) as it goes, and the watcher shows it beside its own bar. Without the variable every
call returns at once and nothing is written.

Two levels: :func:`announce_task` names the current piece of work (a run, a scoring) and clears
the step; :func:`announce_step` updates the step within it (an epoch). Writes replace the file
atomically (a watcher never reads half a line) and are throttled to a few per second.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

__all__ = ["ENV_VAR", "announce_task", "announce_step", "read_status"]

ENV_VAR = "IRSTD_PROGRESS_FILE"
_MIN_INTERVAL_S = 0.2

_task = ""
_step = ""
_last_write = 0.0


def _target() -> Path | None:
    value = os.environ.get(ENV_VAR)
    return Path(value) if value else None


def _write(force: bool) -> None:
    global _last_write
    target = _target()
    if target is None:
        return
    now = time.monotonic()
    if not force and now - _last_write < _MIN_INTERVAL_S:
        return
    line = " | ".join(part for part in (_task, _step) if part)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        tmp.write_text(line + "\n")
        os.replace(tmp, target)
    except OSError:
        return  # a status line is never worth failing the work it describes
    _last_write = now


def announce_task(text: str) -> None:
    """The piece of work starting now (clears the step)."""
    global _task, _step
    _task, _step = text, ""
    _write(force=True)


def announce_step(text: str, force: bool = False) -> None:
    """Where the current piece of work stands (throttled, unless ``force``: the trainer forces
    the moments a watcher must not miss, an epoch's validation and its end, since a throttled
    line is only written with the next call, and a validation may last long)."""
    global _step
    _step = text
    _write(force=force)


def read_status(path: str | os.PathLike) -> str:
    """The last line written to ``path`` ('' when there is none yet)."""
    try:
        return Path(path).read_text().strip()
    except OSError:
        return ""
