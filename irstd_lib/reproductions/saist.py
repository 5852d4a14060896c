"""SAIST's tables (Zhang et al., CVPR 2025). For now Table 1's classical rows: Top-Hat and IPI,
run by :mod:`irstd_lib.models.classical` and scored through the package's one evaluation path, beside the
values SAIST reports for them.

SAIST does not say how it binarised the classical score maps; this package uses each method's
adaptive threshold (mean + 3 std of the map, see ``classical.py``). SAIST's NUAA-SIRST figures for
both methods (IoU 1.5 and 1.1, Fa 16456 and 30467 x1e-6) are those of a threshold far lower than
that, so large differences in IoU and Fa are expected and explained in the README.
"""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from irstd_lib.paper_reference import reported
from irstd_lib.profiles import get_profile

METHOD_NAMES = {"tophat": "Top-Hat", "ipi": "IPI"}


def _datasets(profile: str, data_root) -> list[tuple[str, object]]:
    """(name, IRSTDDataset of the test split) pairs: the profile's synthetic set, plus the real
    folder when ``data_root`` is given (its mask/image size mismatches resized, and recorded)."""
    from irstd_lib.data import IRSTDDataset
    from irstd_lib.experiments import synthetic_root

    p = get_profile(profile)
    out = [("synthetic", IRSTDDataset(synthetic_root(p.synthetic), "test", descriptions=None))]
    if data_root is not None:
        root = Path(data_root)
        out.append((root.name, IRSTDDataset(root, "test", descriptions=None, on_size_mismatch="resize")))
    return out


def table1_classical(
    profile: str = "smoke", data_root: str | os.PathLike | None = None, methods: tuple[str, ...] = ("tophat", "ipi"),
    progress: bool = True, **_ignored,
) -> pd.DataFrame:
    """Top-Hat and IPI on each dataset's test split, our IoU/nIoU/Pd/Fa beside SAIST's Table 1."""
    from irstd_lib.scoring import evaluate_classical

    paper = reported("SAIST", "1")
    rows = []
    for dataset_name, dataset in _datasets(profile, data_root):
        for method in methods:
            result = evaluate_classical(method, dataset, progress=progress)
            row = {"dataset": dataset_name, "method": METHOD_NAMES[method],
                   **{m: result[m] for m in ("IoU", "nIoU", "Pd", "Fa")}, "images": result["n_images"]}
            match = paper[(paper["dataset"] == dataset_name) & (paper["method"] == METHOD_NAMES[method])]
            for m in ("IoU", "nIoU", "Pd", "Fa"):
                row[f"{m} (paper)"] = match[m].iloc[0] if len(match) else float("nan")
            row["dataset issues"] = "; ".join(dataset.issues)
            rows.append(row)
    table = pd.DataFrame(rows)
    order = ["dataset", "method"] + [c for m in ("IoU", "nIoU", "Pd", "Fa") for c in (m, f"{m} (paper)")]
    return table[order + [c for c in table.columns if c not in order]]


def classical_figure(table: pd.DataFrame):
    """IoU, Pd and Fa (log scale) of the classical methods, ours beside SAIST's reported values."""
    import matplotlib.pyplot as plt
    import numpy as np

    fig, axes = plt.subplots(1, 3, figsize=(12, 3.4))
    labels = [f"{r.dataset}\n{r.method}" for r in table.itertuples()]
    x = np.arange(len(table))
    for ax, metric in zip(axes, ("IoU", "Pd", "Fa")):
        ax.bar(x - 0.2, table[metric], 0.4, label="measured")
        ax.bar(x + 0.2, table[f"{metric} (paper)"].fillna(0), 0.4, label="SAIST reported")
        ax.set_xticks(x, labels, fontsize=7)
        ax.set_title(metric + (" (x1e-6, log)" if metric == "Fa" else " (%)"))
        if metric == "Fa":
            ax.set_yscale("log")
    axes[0].legend(fontsize=7)
    fig.tight_layout()
    return fig
