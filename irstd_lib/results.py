"""The results layout that notebooks write into, and the writers they use.

::

    results/<profile>/tables/<table>.csv and <table>.md
    results/<profile>/figures/<figure>.png
    results/<profile>/notebooks/<notebook>.ipynb   (executed copies, written by ``reproduce``)
    results/<profile>/REPORT.md                    (links every table and figure)
    results/runs/<hash>/                           (one trained run: config, metrics, curve, preview)

Every file goes through :mod:`irstd_lib.io`'s atomic writes: an interrupted notebook never leaves
a half-written table behind.
"""

from __future__ import annotations

import io
import os
from pathlib import Path

import pandas as pd

from irstd_lib.io import atomic_write_bytes, atomic_write_text


def results_root(results_dir: str | os.PathLike | None = None) -> Path:
    """The results folder: the one given, else ``$IRSTD_RESULTS``, else ``results/`` in the
    current working directory. Never derived from where the package is installed (after a wheel
    install that would be inside site-packages). The notebooks default to ``../results``: Jupyter
    and nbval start them in ``notebooks/``."""
    if results_dir is not None:
        return Path(results_dir)
    if os.environ.get("IRSTD_RESULTS"):
        return Path(os.environ["IRSTD_RESULTS"])
    return Path.cwd() / "results"


def profile_dir(profile: str, results_dir: str | os.PathLike | None = None) -> Path:
    return results_root(results_dir) / profile


def save_table(table: pd.DataFrame, name: str, profile: str, results_dir=None, float_format: str = "%.2f", caption: str = "") -> Path:
    """Write ``tables/<name>.csv`` (full precision) and ``tables/<name>.md`` (rounded, with an
    optional caption line). Returns the CSV path."""
    folder = profile_dir(profile, results_dir) / "tables"
    csv_path = atomic_write_text(folder / f"{name}.csv", table.to_csv(index=False))
    # Cells with no value (a paper that does not report a metric) stay empty, never "nan".
    markdown = table.astype(object).where(table.notna(), None).to_markdown(index=False, floatfmt=float_format.lstrip("%"), missingval="")
    # A table may carry its own note (the measured seed spread, irstd_lib.reproductions.seeds).
    caption = " ".join(part for part in (caption, table.attrs.get("note", "")) if part)
    text = (f"{caption}\n\n" if caption else "") + markdown + "\n"
    atomic_write_text(folder / f"{name}.md", text)
    return csv_path


def save_figure(fig, name: str, profile: str, results_dir=None, dpi: int = 120) -> Path:
    """Write ``figures/<name>.png`` from a matplotlib figure."""
    return save_figure_to(fig, profile_dir(profile, results_dir) / "figures" / f"{name}.png", dpi)


def save_figure_to(fig, path: str | os.PathLike, dpi: int = 120) -> Path:
    """Write a matplotlib figure to the PNG ``path``, atomically."""
    buffer = io.BytesIO()
    # Fixed metadata so the same figure gives the same bytes (no matplotlib version/date stamp).
    fig.savefig(buffer, format="png", dpi=dpi, bbox_inches="tight", metadata={"Software": None})
    return atomic_write_bytes(Path(path), buffer.getvalue())
