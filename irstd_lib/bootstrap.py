"""How sure a measured number is: bootstrap confidence intervals over test images.

The test set is a sample of images; a metric's interval says how much it would move on another
sample of the same kind. Each resample draws ``n`` images with replacement from the ``n`` test
images and recomputes IoU, nIoU, Pd and Fa from the per-image counts a run records
(:data:`irstd_lib.metrics.PER_IMAGE_COUNTS`: intersection, union, targets, matched targets,
false-alarm pixels, pixels), exactly as :class:`~irstd_lib.metrics.SegmentationMetrics` computes
them on the whole set (the point estimate is that value). The 95 % interval is the 2.5th and
97.5th percentile of the resampled values (the percentile bootstrap).

Vectorised: a resample is a row of counts (how many times each image was drawn, a multinomial
draw), so every metric of every resample is one matrix product over the images; 1000 resamples
of 1000 images take a few tens of milliseconds (``python -m irstd_lib.benchmarks.metrics_speed``).
Seeded: the same counts, seed and number of resamples give the same interval.

:func:`paired_difference` compares two methods scored on the same test images (an ablation row
against its reference): each resample draws the same images for both, so the interval of the
difference leaves out the images' shared difficulty; it "excludes zero" when both ends have the
same sign.

A row trained at several seeds (:class:`~irstd_lib.reproductions.seeds.SeedRuns`) gives one list
of per-image rows per seed, all on the same test images: its value is the mean over seeds of each
seed's metric, and each resample draws the same images for every seed and averages, so the
interval is the test images' sampling of that mean.

Lists over different image sets are refused (:func:`check_same_images`): a seed mean or a paired
difference over two test sets would mix the sets' difficulty into the number, which is what
SAIST's old per-seed partition did silently. The error names both sides (the runs, when the caller
gives their labels) and the first image where they part.

hIoU (:func:`irstd_lib.metrics.hiou_from_counts`) is resampled the same way where the rows hold
its per-image OPDC counts (:data:`~irstd_lib.metrics.OPDC_COUNTS`: TP, FP, FN, summed matched
IoU), which records have held since hIoU came; rows without them (older records) give no hIoU
entry, never a made-up one (:data:`OPTIONAL_METRICS`, :func:`measured_metrics`).

What it does not capture: the spread between training seeds (a property of the training, not of
the test set), which on small CPU runs is usually larger.
"""

from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np

from irstd_lib.metrics import EPS, OPDC_COUNTS

__all__ = ["METRICS", "OPTIONAL_METRICS", "bootstrap_intervals", "measured_metrics", "check_same_images", "image_names", "metrics_from_counts", "paired_difference",
           "resample_weights"]

METRICS = ("IoU", "nIoU", "Pd", "Fa")
#: Metrics computed only where the per-image rows hold their counts (records before hIoU lack them).
OPTIONAL_METRICS = ("hIoU",)


def measured_metrics(per_image: Sequence) -> tuple[str, ...]:
    """:data:`METRICS` plus the optional metrics every row (of every seed) has the counts of."""
    runs = _per_seed(per_image)
    has_opdc = all(all(k in row for k in OPDC_COUNTS) for run in runs for row in run)
    return METRICS + (("hIoU",) if has_opdc and runs and runs[0] else ())


def check_same_images(names: Sequence, other: Sequence, label: str = "the first list", other_label: str = "the second list",
                      what: str = "") -> None:
    """Raise :class:`ValueError` unless ``names`` and ``other`` are the same images in the same
    order; the message names both sides, their sizes and the first position where they differ."""
    names, other = list(names), list(other)
    if names == other:
        return
    at = next((i for i, (a, b) in enumerate(zip(names, other)) if a != b), min(len(names), len(other)))
    first = names[at] if at < len(names) else "(end of list)"
    second = other[at] if at < len(other) else "(end of list)"
    extra = set(names) ^ set(other)
    how = (f"{len(extra)} images in only one of them" if extra else "the same images in another order")
    raise ValueError(f"{what + ' needs' if what else 'needs'} the same test images, in the same order: {label} "
                     f"({len(names)} images) and {other_label} ({len(other)} images) were scored on different ones ({how}); "
                     f"first difference at position {at}: {first!r} against {second!r}")


def _per_seed(per_image: Sequence, labels: Sequence[str] | None = None) -> list[Sequence[Mapping]]:
    """One run's per-image rows (a sequence of mappings) or several seeds' (a sequence of such
    sequences, on the same images in the same order: else an error naming the runs by
    ``labels``) as a list of runs."""
    if per_image and not isinstance(per_image[0], Mapping):
        runs = [list(run) for run in per_image]
        names = [[row.get("name") for row in run] for run in runs]
        labels = list(labels) if labels is not None else [f"seed run {i}" for i in range(len(runs))]
        for i in range(1, len(runs)):
            check_same_images(names[0], names[i], labels[0], labels[i], "the seeds of one row")
        return runs
    return [per_image]


def image_names(per_image: Sequence) -> list:
    """The test images' names of one run's per-image rows (or of the first seed's)."""
    return [row.get("name") for row in _per_seed(per_image)[0]]


def _seed_mean(runs: Sequence[Sequence[Mapping]], weights: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """Each metric averaged over the seeds' runs, every run weighted by the same resamples."""
    per_run = [metrics_from_counts(_counts(run), weights) for run in runs]
    return {m: np.mean([values[m] for values in per_run], axis=0) for m in per_run[0]}


def _counts(per_image: Sequence[Mapping]) -> dict[str, np.ndarray]:
    if not per_image:
        raise ValueError("no per-image counts to resample (the run recorded no test images)")
    keys = ("intersection", "union", "n_targets", "n_matched", "n_false_alarm_pixels", "n_pixels")
    missing = [k for k in keys if k not in per_image[0]]
    if missing:
        raise KeyError(f"per-image rows lack {missing}: record them with per_image=True")
    if all(all(k in row for k in OPDC_COUNTS) for row in per_image):
        keys = keys + OPDC_COUNTS
    return {k: np.array([row[k] for row in per_image], dtype=np.float64) for k in keys}


def metrics_from_counts(counts: Mapping[str, np.ndarray], weights: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """IoU, nIoU, Pd (percent) and Fa (x1e-6) of each weighting of the images: ``weights`` is
    (B, n) (how many times each image counts in each resample; ``None``: each image once); and
    hIoU (percent, :func:`irstd_lib.metrics.hiou_from_counts` of the weighted sums) where the
    counts hold :data:`~irstd_lib.metrics.OPDC_COUNTS`."""
    n = len(counts["union"])
    w = np.ones((1, n)) if weights is None else np.asarray(weights, dtype=np.float64)
    per_image_iou = counts["intersection"] / (counts["union"] + EPS)
    images = w.sum(axis=1)
    targets, pixels = w @ counts["n_targets"], w @ counts["n_pixels"]
    with np.errstate(invalid="ignore", divide="ignore"):
        out = {
            "IoU": 100.0 * (w @ counts["intersection"]) / (w @ counts["union"] + EPS),
            "nIoU": 100.0 * (w @ per_image_iou) / images,
            "Pd": np.where(targets > 0, 100.0 * (w @ counts["n_matched"]) / targets, np.nan),
            "Fa": np.where(pixels > 0, 1e6 * (w @ counts["n_false_alarm_pixels"]) / pixels, np.nan),
        }
        if all(k in counts for k in OPDC_COUNTS):
            tp, fp, fn = (w @ counts[k] for k in ("opdc_tp", "opdc_fp", "opdc_fn"))
            seg = (w @ counts["opdc_iou_sum"]) / tp
            loc = tp / (tp + fp + fn)
            # As hiou_from_counts: 0 with no matched target, NaN with nothing at all.
            out["hIoU"] = np.where(tp > 0, 100.0 * seg * loc, np.where(tp + fp + fn > 0, 0.0, np.nan))
        return out


def resample_weights(n_images: int, n_resamples: int = 1000, seed: int = 0) -> np.ndarray:
    """(n_resamples, n_images) draw counts: each row a multinomial draw of ``n_images`` images."""
    rng = np.random.default_rng(seed)
    return rng.multinomial(n_images, np.full(n_images, 1.0 / n_images), size=n_resamples).astype(np.float64)


def _interval(values: np.ndarray, confidence: float) -> tuple[float, float]:
    tail = 100.0 * (1.0 - confidence) / 2.0
    low, high = np.nanpercentile(values, [tail, 100.0 - tail])
    return float(low), float(high)


def bootstrap_intervals(per_image: Sequence, n_resamples: int = 1000, seed: int = 0,
                        confidence: float = 0.95, labels: Sequence[str] | None = None) -> dict[str, dict[str, float]]:
    """``metric -> {"value", "low", "high"}`` for IoU, nIoU, Pd, Fa (and hIoU where the rows hold its counts) of one method's per-image
    counts (a run record's ``details[evaluation]["per_image"]``, or one such list per seed, all
    on the same images: ``labels`` names the seeds' runs in the error otherwise)."""
    runs = _per_seed(per_image, labels)
    point = _seed_mean(runs)
    resampled = _seed_mean(runs, resample_weights(len(runs[0]), n_resamples, seed))
    out = {}
    for m in (k for k in METRICS + OPTIONAL_METRICS if k in point):
        low, high = _interval(resampled[m], confidence)
        out[m] = {"value": float(point[m][0]), "low": low, "high": high}
    return out


def paired_difference(per_image: Sequence, reference: Sequence, n_resamples: int = 1000, seed: int = 0,
                      confidence: float = 0.95, labels: tuple[str, str] = ("the method", "the reference"),
                      ) -> dict[str, dict[str, float | bool]]:
    """``metric -> {"value", "low", "high", "excludes_zero"}``: the difference ``method -
    reference`` on the same test images, with its paired bootstrap interval (either side may
    hold one list of per-image rows per seed: its seed mean is compared). Lists over different
    images are refused with an error naming both sides by ``labels``."""
    a, b = _per_seed(per_image), _per_seed(reference)
    check_same_images(image_names(per_image), image_names(reference), labels[0], labels[1], "a paired difference")
    weights = resample_weights(len(a[0]), n_resamples, seed)
    point_a, point_b = _seed_mean(a), _seed_mean(b)
    diff_a, diff_b = _seed_mean(a, weights), _seed_mean(b, weights)
    out: dict[str, dict[str, float | bool]] = {}
    for m in (k for k in METRICS + OPTIONAL_METRICS if k in point_a and k in point_b):
        low, high = _interval(diff_a[m] - diff_b[m], confidence)
        out[m] = {"value": float(point_a[m][0] - point_b[m][0]), "low": low, "high": high,
                  "excludes_zero": bool(low > 0 or high < 0)}
    return out
