"""Where the package keeps things outside the repository."""

from __future__ import annotations

import os
from pathlib import Path


def cache_dir(*parts: str) -> Path:
    """Cache folder for embeddings, checkpoints and downloads: ``$IRSTD_CACHE`` or
    ``~/.cache/irstd-lang``. Never inside the repository, so nothing large is committed."""
    root = Path(os.environ.get("IRSTD_CACHE", Path.home() / ".cache" / "irstd-lang")).expanduser()
    path = root.joinpath(*parts)
    path.mkdir(parents=True, exist_ok=True)
    return path
