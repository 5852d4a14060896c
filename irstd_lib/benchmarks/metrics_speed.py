"""Speed and agreement benchmark of :mod:`irstd_lib.metrics` against BasicIRSTD's Pd/Fa loop.

Run: ``python -m irstd_lib.benchmarks.metrics_speed [--n 200] [--size 512] [--seed 0] [--json]``.

It generates ``n`` deterministic synthetic ``size x size`` score maps and masks (mostly low
background scores with faint noise, a few small targets as Gaussian or flat blobs, some false
alarms, and flat false alarms that copy the exact shape of a flat target so that their area
equals a matched component's area, the case where BasicIRSTD's Fa is wrong), then times, on the
same maps, side by side:

- ours: ``SegmentationMetrics(0.5)`` (IoU, nIoU, Pd, Fa);
- the reference: BasicIRSTD's way, ``skimage.measure.label(connectivity=2)`` + ``regionprops``
  and Python loops over centroids (:func:`reference_pd_fa_update`, faithful to the toolbox's
  ``PD_FA.update``) plus a numpy IoU/nIoU (the toolbox's ``mIoU`` in numpy);
- ``PdFaROC`` over 20 thresholds, and over 1, and the cost ratio of 20 thresholds to one
  threshold of ``SegmentationMetrics``.

It checks that ours in ``fa_mode="basicirstd"`` agrees exactly with the reference (targets,
matched targets, false-alarm pixels) and that ``fa_mode="correct"`` differs only by the pixels
of same-area false alarms (the reference's own count of the pixels of its left-over regions).

Against the field's kit (PyIRSTDMetrics, ``--kit-venv`` or ``$IRSTD_KIT_VENV``: a venv holding
``pyirstdmetrics``, which pins numpy < 2 and so runs in its own process): the same maps are
written to a temporary ``.npz`` and the kit times, in a subprocess, its
``ProbabilityDetectionAndFalseAlarmRate(num_bins=20)`` (thresholds ``linspace(0, 1, 20,
endpoint=False)``), ``num_bins=1`` (0.5) and ``HierarchicalIoUBasedErrorAnalysis(num_bins=1)``;
ours times ``PdFaROC`` at the kit's 20 thresholds, ``SegmentationMetrics(0.5)`` (IoU, nIoU,
Pd, Fa, hIoU and the shooting rule's Pd/Fa in one pass), ``PdFaROC([0.5])`` (Pd/Fa alone, the
kit's ``num_bins=1`` measure), :class:`~irstd_lib.metrics.ShootingRulePdFa` at 20 thresholds and
at 0.5 against the kit's ``ShootingRuleBasedProbabilityDetectionAndFalseAlarmRate`` and the
hIoU alone (:func:`~irstd_lib.metrics.hiou_image`). The
table prints both side by side with the ratio, and whether every count agrees (targets matched
and false-alarm pixels at each threshold, hIoU's TP/FP/FN and summed IoU; ours with
``opdc_empty="pyirstdmetrics_1.0.2"``). ``--nuaa ROOT`` takes the maps from a dataset's masks
(prediction-like: each mask blurred, perturbed and laid on a faint positive background, as a
sigmoid output is) instead of the synthetic scenes. It is a benchmark, not a timed test.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from irstd_lib.metrics import EPS, PdFaROC, SegmentationMetrics, ShootingRulePdFa, hiou_from_counts, hiou_image

#: The kit's thresholds for num_bins=20 (``np.linspace(0, 1, num_bins, endpoint=False)``).
KIT_THRESHOLDS_20 = np.linspace(0, 1, 20, endpoint=False)


def make_scene(rng: np.random.Generator, size: int) -> tuple[np.ndarray, np.ndarray]:
    """One synthetic (scores float32 HxW in [0, 1], mask bool HxW)."""
    h = w = size
    scores = (rng.random((h, w), dtype=np.float32) ** 6) * np.float32(0.06)  # mostly near 0; ~4% above 0.05
    # Sparse salt noise: isolated pixels with any score.
    n_noise = int(rng.integers(0, max(2, h * w // 4000)))
    scores.flat[rng.integers(0, h * w, n_noise)] = rng.random(n_noise, dtype=np.float32)
    mask = np.zeros((h, w), dtype=bool)
    margin = 12
    flat_shapes: list[np.ndarray] = []

    def place(patch_scores: np.ndarray, patch_mask: np.ndarray | None) -> None:
        ph, pw = patch_scores.shape
        r = int(rng.integers(margin, h - margin - ph))
        c = int(rng.integers(margin, w - margin - pw))
        region = scores[r:r + ph, c:c + pw]
        np.maximum(region, patch_scores, out=region)
        if patch_mask is not None:
            mask[r:r + ph, c:c + pw] |= patch_mask

    def ellipse(radius_r: float, radius_c: float) -> np.ndarray:
        rr = int(np.ceil(radius_r))
        cc = int(np.ceil(radius_c))
        y, x = np.mgrid[-rr:rr + 1, -cc:cc + 1]
        return (y / radius_r) ** 2 + (x / radius_c) ** 2 <= 1.0

    for _ in range(int(rng.integers(1, 5))):  # targets
        shape = ellipse(rng.uniform(0.8, 4.0), rng.uniform(0.8, 4.0))
        if rng.random() < 0.5:  # soft blob: prediction a bit larger or smaller than the mask
            rr, cc = shape.shape
            y, x = np.mgrid[:rr, :cc]
            sigma = max(rr, cc) / rng.uniform(2.0, 4.0)
            g = np.exp(-((y - (rr - 1) / 2) ** 2 + (x - (cc - 1) / 2) ** 2) / (2 * sigma**2))
            patch = (g * rng.uniform(0.4, 1.0)).astype(np.float32)
        else:  # flat: the prediction equals the mask
            patch = np.where(shape, np.float32(rng.uniform(0.6, 1.0)), np.float32(0.0)).astype(np.float32)
            flat_shapes.append(shape)
        if rng.random() < 0.15:  # a missed target
            patch = patch * np.float32(0.3)
        place(patch, shape)
    for _ in range(int(rng.integers(0, 4))):  # false-alarm blobs
        shape = ellipse(rng.uniform(0.6, 3.0), rng.uniform(0.6, 3.0))
        place(np.where(shape, np.float32(rng.uniform(0.3, 1.0)), np.float32(0.0)).astype(np.float32), None)
    for shape in flat_shapes:  # same-area false alarms: an exact copy of a flat target's shape
        if rng.random() < 0.5:
            place(np.where(shape, np.float32(0.9), np.float32(0.0)).astype(np.float32), None)
    return scores, mask


def make_dataset(n: int, size: int, seed: int) -> tuple[list[np.ndarray], list[np.ndarray]]:
    rng = np.random.default_rng(seed)
    scenes = [make_scene(rng, size) for _ in range(n)]
    return [s for s, _ in scenes], [m for _, m in scenes]


class ReferencePdFa:
    """BasicIRSTD's ``PD_FA`` (metrics.py), in numpy: skimage label + regionprops + Python loops.

    ``update`` is the toolbox's code, with its value-based removal of matched areas; it also
    records the pixels of the regions left over after matching (the correct Fa count)."""

    def __init__(self) -> None:
        from skimage import measure

        self.measure = measure
        self.FA = 0
        self.PD = 0
        self.target = 0
        self.all_pixel = 0
        self.correct_FA = 0

    def update(self, preds: np.ndarray, labels: np.ndarray, size: tuple[int, int]) -> None:
        measure = self.measure
        predits = np.array(preds).astype("int64")
        labelss = np.array(labels).astype("int64")

        image = measure.label(predits, connectivity=2)
        coord_image = measure.regionprops(image)
        label = measure.label(labelss, connectivity=2)
        coord_label = measure.regionprops(label)

        self.target += len(coord_label)
        image_area_total = []
        image_area_match = []
        distance_match = []

        for K in range(len(coord_image)):
            area_image = np.array(coord_image[K].area)
            image_area_total.append(area_image)

        for i in range(len(coord_label)):
            centroid_label = np.array(list(coord_label[i].centroid))
            for m in range(len(coord_image)):
                centroid_image = np.array(list(coord_image[m].centroid))
                distance = np.linalg.norm(centroid_image - centroid_label)
                area_image = np.array(coord_image[m].area)
                if distance < 3:
                    distance_match.append(distance)
                    image_area_match.append(area_image)
                    del coord_image[m]
                    break

        dismatch = [x for x in image_area_total if x not in image_area_match]
        self.FA += np.sum(dismatch)
        self.all_pixel += size[0] * size[1]
        self.PD += len(distance_match)
        self.correct_FA += int(sum(int(r.area) for r in coord_image))

    def get(self) -> tuple[float, float]:
        return self.PD / self.target, float(self.FA / self.all_pixel)


def reference_iou_update(pred: np.ndarray, mask: np.ndarray, state: dict) -> None:
    """The toolbox's ``mIoU`` (set-level IoU) and nIoU (mean of per-image inter/(eps + union))."""
    inter = int(np.sum(pred & mask))
    union = int(np.sum(pred | mask))
    state["inter"] += inter
    state["union"] += union
    state["niou"] += inter / (EPS + union)
    state["n"] += 1


def _time(fn, repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def run_benchmark(n: int = 200, size: int = 512, seed: int = 0, threshold: float = 0.5, n_roc: int = 20, repeats: int = 2) -> dict:
    """Time ours, the reference and the ROC on the same synthetic maps; check agreement."""
    scores, masks = make_dataset(n, size, seed)

    ours = SegmentationMetrics(threshold)

    def run_ours() -> None:
        ours.reset()
        for s, m in zip(scores, masks):
            ours.update(s, m)

    ref_state: dict[str, Any] = {}

    def run_reference() -> None:
        ref = ReferencePdFa()
        iou = {"inter": 0, "union": 0, "niou": 0.0, "n": 0}
        for s, m in zip(scores, masks):
            pred = s > threshold
            ref.update(pred, m, m.shape)
            reference_iou_update(pred, m, iou)
        ref_state["ref"] = ref
        ref_state["iou"] = iou

    roc = PdFaROC(n_roc)

    def run_roc() -> None:
        roc.reset()
        for s, m in zip(scores, masks):
            roc.update(s, m)

    roc1 = PdFaROC([threshold])

    def run_roc1() -> None:
        roc1.reset()
        for s, m in zip(scores, masks):
            roc1.update(s, m)

    t_ours = _time(run_ours, repeats)
    t_ref = _time(run_reference, repeats)
    t_roc = _time(run_roc, repeats)
    t_roc1 = _time(run_roc1, repeats)

    legacy = SegmentationMetrics(threshold, fa_mode="basicirstd")
    for s, m in zip(scores, masks):
        legacy.update(s, m)
    ours_r = ours.compute()
    legacy_r = legacy.compute()
    ref = ref_state["ref"]
    iou = ref_state["iou"]
    ref_pd, ref_fa = ref.get()
    agree_basicirstd = (
        legacy_r["n_targets"] == ref.target
        and legacy_r["n_matched"] == ref.PD
        and legacy_r["n_false_alarm_pixels"] == int(ref.FA)
    )
    agree_correct = (
        ours_r["n_targets"] == ref.target
        and ours_r["n_matched"] == ref.PD
        and ours_r["n_false_alarm_pixels"] == ref.correct_FA
    )
    agree_iou = ours_r["intersection"] == iou["inter"] and ours_r["union"] == iou["union"]
    roc_df = roc1.compute()
    agree_roc = bool(
        roc_df["n_matched"].iloc[0] == ours_r["n_matched"]
        and roc_df["n_false_alarm_pixels"].iloc[0] == ours_r["n_false_alarm_pixels"]
    )

    return {
        "n": n,
        "size": size,
        "seed": seed,
        "threshold": threshold,
        "n_roc_thresholds": n_roc,
        "ours_images_per_s": n / t_ours,
        "reference_images_per_s": n / t_ref,
        "speed_ratio": t_ref / t_ours,
        "roc_images_per_s": n / t_roc,
        "roc1_images_per_s": n / t_roc1,
        "roc_cost_ratio": t_roc / t_ours,
        "roc_cost_ratio_vs_roc1": t_roc / t_roc1,
        "roc_auc": roc.auc(),
        "ours": {k: ours_r[k] for k in ("IoU", "nIoU", "Pd", "Fa", "n_targets", "n_matched", "n_false_alarm_pixels")},
        "ours_basicirstd": {k: legacy_r[k] for k in ("Pd", "Fa", "n_false_alarm_pixels")},
        "reference": {
            "Pd": 100.0 * ref_pd,
            "Fa": 1e6 * ref_fa,
            "n_targets": int(ref.target),
            "n_matched": int(ref.PD),
            "n_false_alarm_pixels": int(ref.FA),
            "n_false_alarm_pixels_correct": int(ref.correct_FA),
            "IoU": 100.0 * iou["inter"] / (iou["union"] + EPS),
            "nIoU": 100.0 * iou["niou"] / max(iou["n"], 1),
        },
        "same_area_quirk_pixels": int(ours_r["n_false_alarm_pixels"] - legacy_r["n_false_alarm_pixels"]),
        "agree_basicirstd_exact": bool(agree_basicirstd),
        "agree_correct_with_leftover_regions": bool(agree_correct),
        "agree_iou": bool(agree_iou),
        "agree_roc_single_threshold": agree_roc,
    }


def make_nuaa_maps(root: str | Path, n: int = 200, seed: int = 0) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Prediction-like float32 maps from the first ``n`` masks (sorted) of a dataset at ``root``
    (``masks/*.png``, native sizes): a faint positive background (every pixel above 0, below
    0.02, as a sigmoid output is), each mask shifted by up to 1 px, blurred and scaled to a peak
    in [0.3, 1] (some targets faint enough to be missed), a few false blobs."""
    from PIL import Image
    from scipy import ndimage

    files = sorted(Path(root, "masks").glob("*.png"))[:n]
    if not files:
        raise FileNotFoundError(f"{root}: no masks/*.png to build maps from")
    rng = np.random.default_rng(seed)
    scores, masks = [], []
    for path in files:
        mask = np.asarray(Image.open(path).convert("L")) > 0
        h, w = mask.shape
        score = (rng.random((h, w), dtype=np.float32) ** 8 * np.float32(0.02)) + np.float32(1e-4)
        target = np.roll(mask, tuple(int(v) for v in rng.integers(-1, 2, 2)), axis=(0, 1)).astype(np.float32)
        target = ndimage.gaussian_filter(target, sigma=float(rng.uniform(0.5, 1.5)))
        if target.max() > 0:
            target *= np.float32(rng.uniform(0.3, 1.0) / target.max())
        for _ in range(int(rng.integers(0, 4))):
            r, c = int(rng.integers(0, h - 3)), int(rng.integers(0, w - 3))
            target[r:r + int(rng.integers(1, 4)), c:c + int(rng.integers(1, 4))] = np.float32(rng.uniform(0.2, 1.0))
        scores.append(np.maximum(score, target).astype(np.float32))
        masks.append(mask)
    return scores, masks


KIT_SCRIPT = r"""
import json, sys, time
import numpy as np
from py_irstd_metrics import HierarchicalIoUBasedErrorAnalysis, ProbabilityDetectionAndFalseAlarmRate
from py_irstd_metrics import ShootingRuleBasedProbabilityDetectionAndFalseAlarmRate as ShootingRule
data = np.load(sys.argv[1])
n = int(data["n"])
scores = [data[f"s{i}"] for i in range(n)]
masks = [data[f"m{i}"] for i in range(n)]
repeats = int(sys.argv[2])
out = {}
def timed(make):
    best = float("inf")
    for _ in range(repeats):
        metric = make()
        t = time.perf_counter()
        for s, m in zip(scores, masks):
            metric.update(s, m)
        best = min(best, time.perf_counter() - t)
    return metric, best
for bins in (20, 1):
    metric, seconds = timed(lambda: ProbabilityDetectionAndFalseAlarmRate(num_bins=bins))
    out[f"pdfa{bins}"] = {"seconds": seconds, "tp": metric.tp_objs.tolist(), "fn": metric.fn_objs.tolist(),
                          "fp_area": metric.fp_area.tolist(), "thresholds": metric.thresholds.tolist()}
for bins in (20, 1):
    metric, seconds = timed(lambda: ShootingRule(num_bins=bins))
    out[f"shoot{bins}"] = {"seconds": seconds, "tp": metric.tp_objs.tolist(), "fp_area": metric.fp_area.tolist()}
metric, seconds = timed(lambda: HierarchicalIoUBasedErrorAnalysis(num_bins=1))
out["hiou"] = {"seconds": seconds, "tp": int(metric.tp_objs[0]), "fp": int(metric.fp_objs[0]), "fn": int(metric.fn_objs[0]),
               "iou_sum": float(metric.tp_ious[0])}
print(json.dumps(out))
"""


def kit_python(venv: str | Path | None = None) -> Path | None:
    """The kit venv's python (``venv``, else ``$IRSTD_KIT_VENV``), or None when there is none."""
    venv = venv or os.environ.get("IRSTD_KIT_VENV")
    if not venv:
        return None
    python = Path(venv) / "bin" / "python"
    return python if python.is_file() else None


def run_kit(scores: Sequence[np.ndarray], masks: Sequence[np.ndarray], python: Path, repeats: int = 1) -> dict:
    """The kit's timings and counts on these maps, from its own venv (see the module docstring)."""
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "maps.npz"
        np.savez(data, n=len(scores), **{f"s{i}": s for i, s in enumerate(scores)}, **{f"m{i}": m for i, m in enumerate(masks)})
        script = Path(tmp) / "kit_benchmark.py"
        script.write_text(KIT_SCRIPT)
        done = subprocess.run([str(python), str(script), str(data), str(repeats)], capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"the kit ({python}) failed: {done.stderr.strip()[-1500:]}")
    return json.loads(done.stdout)


def run_kit_comparison(scores: Sequence[np.ndarray], masks: Sequence[np.ndarray], python: Path, repeats: int = 2,
                       rounds: int = 1) -> dict:
    """Ours against the kit on the same maps: seconds, images/s, ratios and agreement. Each of
    ``rounds`` rounds times ours (best of ``repeats``) and then the kit (the same); each side's
    best over all rounds is kept, so that a slow spell of a shared machine during one side's
    turn does not decide the ratio."""
    n = len(scores)
    rounds = max(int(rounds), 1)
    roc = PdFaROC(KIT_THRESHOLDS_20)
    one = SegmentationMetrics(0.5, opdc_empty="pyirstdmetrics_1.0.2")
    hiou_counts: dict[str, float] = {}

    def run_roc() -> None:
        roc.reset()
        for s, m in zip(scores, masks):
            roc.update(s, m)

    def run_one() -> None:
        one.reset()
        for s, m in zip(scores, masks):
            one.update(s, m)

    def run_hiou() -> None:
        hiou_counts.clear()
        for s, m in zip(scores, masks):
            for k, v in hiou_image(s > np.float32(0.5), m, opdc_empty="pyirstdmetrics_1.0.2").counts.items():
                hiou_counts[k] = hiou_counts.get(k, 0) + v

    roc1 = PdFaROC([0.5])
    shoot = {bins: ShootingRulePdFa(KIT_THRESHOLDS_20 if bins == 20 else [0.5]) for bins in (20, 1)}

    def run_roc1() -> None:
        roc1.reset()
        for s, m in zip(scores, masks):
            roc1.update(s, m)

    def run_shooting(bins: int):
        def run() -> None:
            shoot[bins].reset()
            for s, m in zip(scores, masks):
                shoot[bins].update(s, m)
        return run

    runs = {"pdfa20": run_roc, "pdfa1": run_one, "pdfa1_only": run_roc1, "shoot20": run_shooting(20),
            "shoot1": run_shooting(1), "hiou": run_hiou}
    ours: dict[str, float] = {}
    kit: dict[str, dict] = {}
    for _ in range(rounds):
        for key, run in runs.items():
            ours[key] = min(ours.get(key, float("inf")), _time(run, repeats))
        this_round = run_kit(scores, masks, python, repeats)
        for key, value in this_round.items():
            if key not in kit or value["seconds"] < kit[key]["seconds"]:
                kit[key] = value
    df = roc.compute()
    r = one.compute()
    k20, k1, kh = kit["pdfa20"], kit["pdfa1"], kit["hiou"]
    agree = {
        "thresholds": bool(np.array_equal(KIT_THRESHOLDS_20, np.asarray(k20["thresholds"]))),
        "pdfa20": bool(df["n_matched"].tolist() == k20["tp"] and df["n_false_alarm_pixels"].tolist() == k20["fp_area"]
                       and all(roc.n_targets == t + f for t, f in zip(k20["tp"], k20["fn"]))),
        "pdfa1": bool([r["n_matched"]] == k1["tp"] and [r["n_false_alarm_pixels"]] == k1["fp_area"]),
        "pdfa1_only": bool(roc1.n_matched.tolist() == k1["tp"] and roc1.false_alarm_pixels.tolist() == k1["fp_area"]),
        **{f"shoot{bins}": bool(shoot[bins].n_hit.tolist() == kit[f"shoot{bins}"]["tp"]
                                and shoot[bins].false_alarm_pixels.tolist() == kit[f"shoot{bins}"]["fp_area"]) for bins in (20, 1)},
        "hiou": bool((r["opdc_tp"], r["opdc_fp"], r["opdc_fn"]) == (kh["tp"], kh["fp"], kh["fn"])
                     and abs(r["opdc_iou_sum"] - kh["iou_sum"]) < 1e-9
                     and (hiou_counts["opdc_tp"], hiou_counts["opdc_fp"], hiou_counts["opdc_fn"]) == (kh["tp"], kh["fp"], kh["fn"])),
    }
    rows = []
    for key, what in (("pdfa20", "Pd/Fa, 20 thresholds: PdFaROC | ProbabilityDetectionAndFalseAlarmRate(num_bins=20)"),
                      ("pdfa1", "one threshold: SegmentationMetrics (IoU, nIoU, Pd, Fa, hIoU, shooting Pd/Fa) | num_bins=1 (Pd, Fa)"),
                      ("pdfa1_only", "one threshold, Pd/Fa (and pixel counts) only: PdFaROC([0.5]) | num_bins=1"),
                      ("shoot20", "shooting-rule Pd/Fa, 20 thresholds: ShootingRulePdFa | ShootingRuleBased...(num_bins=20)"),
                      ("shoot1", "shooting-rule Pd/Fa at 0.5: ShootingRulePdFa([0.5]) | ShootingRuleBased...(num_bins=1)"),
                      ("hiou", "hIoU + error analysis: hiou_image | HierarchicalIoUBasedErrorAnalysis(num_bins=1)")):
        kit_seconds = kit["pdfa1" if key == "pdfa1_only" else key]["seconds"]  # one kit measure, two of ours
        rows.append({"measure": key, "what": what, "ours_images_per_s": n / ours[key], "kit_images_per_s": n / kit_seconds,
                     "speedup": kit_seconds / ours[key], "agree": agree[key]})
    # Like for like: our one pass against the kit's three passes for the same object-level measures
    # (its IoU and nIoU not added, so the kit's side is if anything too fast).
    same = sum(kit[k]["seconds"] for k in ("pdfa1", "shoot1", "hiou"))
    rows.append({"measure": "pdfa1_same", "what": "one threshold, the same measures both sides: SegmentationMetrics | the kit's "
                 "num_bins=1 Pd/Fa + shooting rule + hIoU classes, each a pass (its IoU, nIoU not counted)",
                 "ours_images_per_s": n / ours["pdfa1"], "kit_images_per_s": n / same, "speedup": same / ours["pdfa1"],
                 "agree": agree["pdfa1"] and agree["shoot1"] and agree["hiou"]})
    return {"n": n, "rounds": rounds, "rows": rows, "agree": agree, "hiou_over_one_threshold": ours["hiou"] / ours["pdfa1"],
            "hIoU": hiou_from_counts(r)["hIoU"]}


def bootstrap_cost(n_images: int = 1000, n_resamples: int = 1000, seed: int = 0, repeats: int = 3) -> dict:
    """Seconds for the 95 % bootstrap intervals of IoU, nIoU, Pd and Fa (``irstd_lib.bootstrap``)
    over ``n_images`` per-image count rows with ``n_resamples`` resamples, and for a paired
    difference; best of ``repeats``."""
    from irstd_lib.bootstrap import bootstrap_intervals, paired_difference

    rng = np.random.default_rng(seed)
    rows = [{"name": f"img{i}", "intersection": int(i % 7), "union": int(10 + i % 13), "n_targets": int(i % 3),
             "n_matched": int(i % 2), "n_false_alarm_pixels": int(rng.integers(0, 20)), "n_pixels": 512 * 512}
            for i in range(n_images)]
    single, paired = [], []
    for _ in range(repeats):
        t = time.perf_counter()
        bootstrap_intervals(rows, n_resamples=n_resamples, seed=seed)
        single.append(time.perf_counter() - t)
        t = time.perf_counter()
        paired_difference(rows, rows, n_resamples=n_resamples, seed=seed)
        paired.append(time.perf_counter() - t)
    return {"bootstrap_images": n_images, "bootstrap_resamples": n_resamples,
            "bootstrap_seconds": min(single), "paired_bootstrap_seconds": min(paired)}


def main(argv: Sequence[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=200, help="number of images (default 200)")
    parser.add_argument("--size", type=int, default=512, help="image side in pixels (default 512)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeats", type=int, default=2, help="timed passes, best kept (default 2)")
    parser.add_argument("--rounds", type=int, default=1,
                        help="rounds of ours then the kit, each side's best over all kept (default 1)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--kit-venv", default=None, help="a venv with pyirstdmetrics (default $IRSTD_KIT_VENV); without one the kit is not run")
    parser.add_argument("--nuaa", default=None, metavar="ROOT", help="compare with the kit on maps made from this dataset's masks")
    args = parser.parse_args(argv)
    result = run_benchmark(n=args.n, size=args.size, seed=args.seed, repeats=args.repeats)
    result.update(bootstrap_cost(seed=args.seed))
    python = kit_python(args.kit_venv)
    if python is not None:
        if args.nuaa:
            maps, masks = make_nuaa_maps(args.nuaa, args.n, args.seed)
            source = f"{len(maps)} prediction-like maps from {args.nuaa}'s masks (native sizes)"
        else:
            maps, masks = make_dataset(args.n, args.size, args.seed)
            source = f"the {args.n} synthetic {args.size}x{args.size} maps"
        result["kit"] = run_kit_comparison(maps, masks, python, args.repeats, args.rounds)
        result["kit"]["maps"] = source
    else:
        result["kit"] = None
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(f"{result['n']} synthetic {result['size']}x{result['size']} maps, seed {result['seed']}, threshold {result['threshold']}")
        print(f"ours SegmentationMetrics (IoU, nIoU, Pd, Fa): {result['ours_images_per_s']:8.1f} images/s")
        print(f"reference skimage label+regionprops loop:     {result['reference_images_per_s']:8.1f} images/s")
        print(f"speed ratio (reference time / ours):          {result['speed_ratio']:8.2f}x")
        print(f"PdFaROC, {result['n_roc_thresholds']} thresholds:                    {result['roc_images_per_s']:8.1f} images/s")
        print(f"ROC cost ratio (20 thresholds / ours at one): {result['roc_cost_ratio']:8.2f}x")
        print(f"ROC cost ratio (20 thresholds / ROC at one):  {result['roc_cost_ratio_vs_roc1']:8.2f}x")
        print(f"pixel ROC AUC: {result['roc_auc']:.4f}")
        o, lg, rf = result["ours"], result["ours_basicirstd"], result["reference"]
        print(f"ours correct:    Pd {o['Pd']:.4f}  Fa {o['Fa']:.4f}  IoU {o['IoU']:.4f}  nIoU {o['nIoU']:.4f}")
        print(f"ours basicirstd: Pd {o['Pd']:.4f}  Fa {lg['Fa']:.4f}")
        print(f"reference:       Pd {rf['Pd']:.4f}  Fa {rf['Fa']:.4f}  IoU {rf['IoU']:.4f}  nIoU {rf['nIoU']:.4f}")
        print(f"same-area false-alarm pixels missed by the toolbox: {result['same_area_quirk_pixels']}")
        print(f"bootstrap 95 % intervals, {result['bootstrap_resamples']} resamples of {result['bootstrap_images']} images: "
              f"{result['bootstrap_seconds']:.3f} s (paired difference: {result['paired_bootstrap_seconds']:.3f} s)")
        print(f"agreement: basicirstd==reference exactly: {result['agree_basicirstd_exact']}; "
              f"correct==reference left-over regions: {result['agree_correct_with_leftover_regions']}; "
              f"IoU: {result['agree_iou']}; ROC(1)==ours: {result['agree_roc_single_threshold']}")
        kit = result["kit"]
        if kit is None:
            print("the kit (PyIRSTDMetrics): not run; give --kit-venv or IRSTD_KIT_VENV (a venv with pyirstdmetrics)")
        else:
            print(f"ours against the kit (PyIRSTDMetrics) on {kit['maps']}, images/s (best of {args.repeats} passes "
                  f"in each of {kit['rounds']} rounds, ours then the kit):")
            print(f"  {'measure':8s} {'ours':>9s} {'kit':>9s} {'ours/kit':>9s}  agree  what (ours | kit)")
            for row in kit["rows"]:
                print(f"  {row['measure']:8s} {row['ours_images_per_s']:9.1f} {row['kit_images_per_s']:9.1f} "
                      f"{row['speedup']:8.2f}x  {str(row['agree']):5s}  {row['what']}")
            print(f"  hIoU alone costs {kit['hiou_over_one_threshold']:.2f}x our one-threshold scoring; hIoU {kit['hIoU']:.3f}")
    if not (result["agree_basicirstd_exact"] and result["agree_correct_with_leftover_regions"] and result["agree_iou"]):
        print("DISAGREEMENT between ours and the reference", file=sys.stderr)
    if result["kit"] is not None and not all(result["kit"]["agree"].values()):
        print(f"DISAGREEMENT between ours and the kit: {result['kit']['agree']}", file=sys.stderr)
    return result


if __name__ == "__main__":
    r = main()
    ok = r["agree_basicirstd_exact"] and r["agree_correct_with_leftover_regions"] and r["agree_iou"]
    ok = ok and (r["kit"] is None or all(r["kit"]["agree"].values()))
    sys.exit(0 if ok else 1)
