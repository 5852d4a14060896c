"""Figures shared by the notebooks: detections on an image with zoomed insets.

Colour codes: LGNet's figures (the default, :data:`LGNET_COLOURS`): green = a target that was
detected, red = a target that was missed, yellow = a false alarm (a predicted component matching
no target). SAIST's Figure 4 (:data:`SAIST_COLOURS`): red = correct, yellow = missed, blue = false.
"""

from __future__ import annotations

import numpy as np

from irstd_lib.metrics import match_targets

DETECTED, MISSED, FALSE_ALARM = "#2ca02c", "#d62728", "#ffdd00"


def detection_marks(prediction: np.ndarray, mask: np.ndarray, **match_kwargs) -> list[dict]:
    """One mark per target and per false alarm: ``{"row", "col", "kind", "area"}`` with kind
    ``detected``, ``missed`` or ``false alarm`` (the metrics' matching rules)."""
    match = match_targets(prediction, mask, **match_kwargs)
    marks = []
    for i, (centroid, area) in enumerate(zip(match.target_centroids, match.target_areas)):
        kind = "detected" if match.matched_pred[i] >= 0 else "missed"
        marks.append({"row": float(centroid[0]), "col": float(centroid[1]), "kind": kind, "area": int(area)})
    matched = set(int(j) for j in match.matched_pred if j >= 0)
    for j, (centroid, area) in enumerate(zip(match.pred_centroids, match.pred_areas)):
        if j not in matched:
            marks.append({"row": float(centroid[0]), "col": float(centroid[1]), "kind": "false alarm", "area": int(area)})
    return marks


LGNET_COLOURS = {"detected": DETECTED, "missed": MISSED, "false alarm": FALSE_ALARM}
SAIST_COLOURS = {"detected": "#d62728", "missed": "#ffdd00", "false alarm": "#1f77b4"}


def _crop(array: np.ndarray, row: float, col: float, half: int) -> np.ndarray:
    h, w = array.shape
    r0 = int(np.clip(round(row) - half, 0, max(h - 2 * half, 0)))
    c0 = int(np.clip(round(col) - half, 0, max(w - 2 * half, 0)))
    return array[r0 : r0 + 2 * half, c0 : c0 + 2 * half]


def detection_row(axes, image: np.ndarray, mask: np.ndarray, scores: np.ndarray, threshold: float = 0.5,
                  title: str = "", inset_half: int = 12, max_insets: int | None = None,
                  colours: dict[str, str] | None = None) -> list[dict]:
    """Draw one image on ``axes[0]`` with a box per mark, then zoomed insets (image, mask,
    probability side by side) of the first marks on the remaining axes. Returns the marks."""
    import matplotlib.patches as patches

    colours = colours or LGNET_COLOURS
    prediction = scores > threshold
    marks = detection_marks(prediction, mask)
    ax = axes[0]
    ax.imshow(image, cmap="gray")
    for mark in marks:
        size = 2 * inset_half
        ax.add_patch(patches.Rectangle((mark["col"] - size / 2, mark["row"] - size / 2), size, size,
                                       fill=False, edgecolor=colours[mark["kind"]], linewidth=1.2))
    ax.set_title(title, fontsize=8)
    ax.axis("off")
    insets = axes[1:] if max_insets is None else axes[1 : 1 + max_insets]
    for ax, mark in zip(insets, marks):
        strip = np.concatenate(
            [_crop(image, mark["row"], mark["col"], inset_half),
             _crop(mask.astype(np.float32), mark["row"], mark["col"], inset_half),
             _crop(scores, mark["row"], mark["col"], inset_half)], axis=1)
        ax.imshow(strip, cmap="gray", vmin=0, vmax=1, interpolation="nearest")
        for spine in ax.spines.values():
            spine.set_edgecolor(colours[mark["kind"]])
            spine.set_linewidth(2.5)
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_title(f"{mark['kind']} ({mark['area']} px): image | mask | prob.", fontsize=7)
    for ax in axes[1 + len(marks):]:
        ax.axis("off")
    return marks


def nice_ceiling(x: float) -> float:
    """The smallest of 1, 2, 5 x 10^k at or above ``x`` (> 0): a range a caption can name."""
    k = np.floor(np.log10(x))
    for m in (1.0, 2.0, 5.0, 10.0):
        if m * 10.0**k >= x * (1 - 1e-12):
            return float(m * 10.0**k)
    return float(10.0 ** (k + 1))


def pd_fa_figure(curves: dict, title: str = "", max_fa: float | None = None):
    """Pd-Fa curves of several methods on one test set, ``curves[label] = (Fa, Pd, run hash or
    None)``, each with its area (:func:`irstd_lib.metrics.pd_fa_area`, ``mode="step"``): the mean
    over false-alarm budgets x in ``[0, max_fa]`` (x1e-6) of the best Pd the method reaches with
    Fa <= x (0 below its first point, its best Pd held beyond its last point), so that every
    curve counts, including one whose points all lie right of another's. ``max_fa`` (one range
    for every method, named in the title) defaults to the largest Fa any method reaches, rounded
    up to 1, 2 or 5 x 10^k. The steps are drawn as the area integrates them, the measured points
    as markers. Returns ``(fig, table of areas)`` (``Pd-Fa area``, ``min Fa``, ``max Fa``,
    ``Fa range``)."""
    import matplotlib.pyplot as plt
    import pandas as pd

    from irstd_lib.metrics import pd_fa_area

    reached = [float(np.nanmax(fa)) for fa, _, _ in curves.values() if len(fa) and np.nanmax(fa) > 0]
    top = float(max_fa) if max_fa is not None else (nice_ceiling(max(reached)) if reached else 1.0)
    rows = [{"method": label, "Pd-Fa area": pd_fa_area(fa, pd_, top, mode="step"),
             "min Fa": float(np.nanmin(fa)) if len(fa) else float("nan"),
             "max Fa": float(np.nanmax(fa)) if len(fa) else 0.0, "Fa range": top, "run": run}
            for label, (fa, pd_, run) in curves.items()]
    fig, ax = plt.subplots(figsize=(5.6, 4.0))
    for row in rows:
        fa, pd_, _ = (np.asarray(v, dtype=float) if i < 2 else v for i, v in enumerate(curves[row["method"]]))
        keep = np.isfinite(fa) & np.isfinite(pd_)
        order = np.argsort(fa[keep], kind="stable")
        x, y = fa[keep][order], np.maximum.accumulate(pd_[keep][order]) if keep.any() else pd_[keep]
        line = ax.step(np.concatenate([[0.0], x, [top]]) if x.size else [0.0, top],
                       np.concatenate([[0.0], y, [y[-1]]]) if x.size else [0.0, 0.0], where="post",
                       label=f"{row['method']} (area {row['Pd-Fa area']:.3f})")[0]
        ax.plot(fa, pd_, "o", markersize=3, color=line.get_color())
    ax.set_xscale("symlog", linthresh=1.0)
    ax.set_xlim(0.0, top)
    ax.set_xlabel("Fa (x1e-6)")
    ax.set_ylabel("Pd (%)")
    ax.set_title((title + "\n" if title else "")
                 + f"area: mean over Fa budgets 0-{top:g}e-6 of the best Pd at Fa <= budget (steps)", fontsize=8)
    ax.legend(fontsize=7)
    fig.tight_layout()
    return fig, pd.DataFrame(rows)


def target_statistics_figure(stats, title: str = ""):
    """Target size and local contrast per split: ``stats`` has one row per target with ``split``,
    ``area`` and ``scr`` (:func:`irstd_lib.data.target_stats.target_statistics`); two panels of
    per-split distributions (area on a log axis), each split's median in its legend."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(9.5, 3.4))
    areas = stats["area"].to_numpy(dtype=float)
    bins = np.logspace(0, np.log10(max(float(areas.max()) if len(areas) else 1.0, 2.0)) + 0.05, 25)
    scr = stats["scr"].to_numpy(dtype=float)
    finite = scr[np.isfinite(scr)]
    scr_bins = np.linspace(0.0, float(np.percentile(finite, 99)) if len(finite) else 1.0, 25)
    for split, rows in stats.groupby("split", sort=False):
        a, s = rows["area"].to_numpy(dtype=float), rows["scr"].to_numpy(dtype=float)
        s = s[np.isfinite(s)]
        axes[0].hist(a, bins=bins, histtype="step", density=True, label=f"{split}: {len(a)} targets, median {np.median(a):.0f} px")
        axes[1].hist(np.clip(s, 0, scr_bins[-1]), bins=scr_bins, histtype="step", density=True,
                     label=f"{split}: median {np.median(s):.2f}" if len(s) else split)
    axes[0].set_xscale("log")
    axes[0].set_xlabel("target area (pixels, log)")
    axes[1].set_xlabel("local signal-to-clutter ratio |mean(t) - mean(ring)| / std(ring)")
    for ax in axes:
        ax.set_ylabel("density")
        ax.legend(fontsize=7)
    if title:
        fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    return fig
