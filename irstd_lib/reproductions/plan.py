"""What ``python -m irstd_lib reproduce --profile P`` would train, without training anything.

Everything is derived from the table specs (:data:`~irstd_lib.reproductions.specs.SPECS`): each
spec's learned rows at every one of the profile's ``row_seeds``, built by the config layer the
tables use (:func:`~irstd_lib.reproductions.configs.run_config`), the seed-spread runs of its
reference system where it states one, and its classical rows as scorings
(:func:`~irstd_lib.runs.score_classical`), each with the notebook that uses it
(:func:`spec_plan`).

:func:`planned_runs` and :func:`planned_scorings` collect them over every spec, one entry
per distinct run (its notebooks united); :func:`describe_plan` adds, per run, what it needs (the
dataset folder, CLIP and SAM checkpoints; what is missing is named), its hash when its inputs are
there (:func:`~irstd_lib.runs.prepare_run`, which opens the data but builds and trains
nothing), whether a record of it exists, and its expected cost; :func:`format_plan` prints it.

A checkpoint the profile needs but the caller did not give is replaced, for building the config
only, by a stand-in string (:data:`MISSING_CLIP`, :data:`MISSING_SAM`) so that the builders, which
refuse a missing checkpoint, still show every run; such a run has no hash (the hash holds the
weights' content) and its checkpoint is reported missing.

Cost. The forward FLOPs of one image at the run's training size are counted with
``torch.utils.flop_counter.FlopCounterMode`` (the convention of
:mod:`irstd_lib.benchmarks.model_profile`: a multiply-add is 2 FLOPs) on a model built on
PyTorch's ``meta`` device: full size, no memory, no arithmetic, so SAM ViT-B at 1024 px counts in
under a second. Checkpoint files are not read (FLOPs do not depend on weights), and the condition's
extra modules are not built: LGNet's fine-tuned CLIP text tower (paper profile), about 6 GFLOPs per
described image, is not counted (about 4 % of LGNet's forward at 512 px). A model the meta device
cannot run is counted on the CPU at 64 px with random weights and scaled by the pixel count (the
plan says so). Then::

    training FLOPs = 3 x forward FLOPs x images seen per epoch x epochs   (3: forward + backward)
    test FLOPs     = forward FLOPs at the test size x test images x evaluations
    GPU hours      = (training + test FLOPs) / effective GPU throughput

The effective throughput is an assumption, printed with the plan and overridable
(:data:`DEFAULT_GPU_TFLOPS`, :data:`DEFAULT_CPU_GFLOPS`). Data loading, CLIP embeddings computed
before training and evaluation bookkeeping are not counted.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Sequence

from irstd_lib.profiles import Profile, get_profile
from irstd_lib.reproductions.configs import RunContext, system_of
from irstd_lib.reproductions.seeds import SEED_REFERENCES, reference_config
from irstd_lib.reproductions.specs import SPECS, TableSpec
from irstd_lib.reproductions.tables import classical_rows, dataset_roots, learned_rows, rows_for, scoring_targets
from irstd_lib.runs import DataConfig, RunConfig
from irstd_lib.runs.identity import canonical_json, classical_settings

__all__ = [
    "DEFAULT_CPU_GFLOPS",
    "DEFAULT_GPU_TFLOPS",
    "MISSING_CLIP",
    "MISSING_SAM",
    "PlannedRun",
    "PlannedScoring",
    "checkpoint_stand_ins",
    "describe_plan",
    "format_plan",
    "merge_planned",
    "planned_runs",
    "planned_scorings",
    "requirements",
]

MISSING_CLIP = "<missing: CLIP checkpoint>"
MISSING_SAM = "<missing: SAM checkpoint>"

DEFAULT_GPU_TFLOPS = 50.0
"""Effective training throughput assumed for one GPU, in TFLOP/s (FlopCounterMode convention).
LGNet's paper trains at 30 s per epoch of IRSTD-1k's 800 images on an RTX A5000, which at the
171 GFLOPs per 512 px image counted here is 3 x 171 G x 800 / 30 s = about 14 TFLOP/s effective
in fp32. 50 TFLOP/s assumes an H100- or A100-class GPU under the paper profile's bf16 autocast:
about 5 % of an H100's dense bf16 peak, since small-channel convolutions at high resolution and
per-step overheads keep these models far from peak. Measure your GPU
(``python -m irstd_lib.benchmarks.lgnet_throughput --device cuda``) and pass ``--gpu-tflops``."""

DEFAULT_CPU_GFLOPS = 25.0
"""Effective training throughput assumed for the 2-core CPU of the smoke profile, in GFLOP/s:
calibrated on this package's committed smoke records (LGNet width 16, ACM, DNA-Net, GGL-Net,
DGSPNet and the tiny SAIST on 2 cores: their recorded ``train_seconds`` against the FLOPs counted
here give 11 to 46 GFLOP/s, median about 30; DNA-Net and GGL-Net, with many small layers, are the
slow end), so one estimate is good to about a factor of two; a recorded run shows its real time."""

@dataclass(frozen=True)
class PlannedRun:
    """One training run of a profile: its config (as the table functions build it), the
    notebooks that train or read it, and the dataset folder it is given (``None``: the profile's
    own dataset, the synthetic set or a folder the caller has not named)."""

    config: RunConfig
    notebooks: tuple[str, ...]
    data_root: str | None = None


@dataclass(frozen=True)
class PlannedScoring:
    """One classical scoring (:func:`~irstd_lib.runs.score_classical`)."""

    method: str
    data: DataConfig
    notebooks: tuple[str, ...]
    data_root: str | None = None
    size: int | None = None
    policy: str = "pad"


def checkpoint_stand_ins(profile, clip_checkpoint=None, sam_checkpoint=None) -> tuple[str | None, str | None]:
    """``(clip_checkpoint, sam_checkpoint)`` to build ``profile``'s configs with: the given paths,
    or a stand-in for each checkpoint the profile needs but was not given (see the module
    docstring). A profile of tiny random encoders needs none: ``None`` stays ``None``, so that its
    configs (and hashes) are the notebooks' own."""
    protocols = list(get_profile(profile).systems.values())
    clips = [proto.conditioning.get("clip", "tiny") for proto in protocols]
    clips += [proto.model_kwargs.get("clip", "tiny") for proto in protocols]
    needs_clip = any(c not in (None, "tiny") for c in clips)
    needs_sam = any(proto.model_kwargs.get("sam", "tiny") != "tiny" for proto in protocols)
    if clip_checkpoint is None and needs_clip:
        clip_checkpoint = MISSING_CLIP
    if sam_checkpoint is None and needs_sam:
        sam_checkpoint = MISSING_SAM
    return (None if clip_checkpoint is None else str(clip_checkpoint),
            None if sam_checkpoint is None else str(sam_checkpoint))


def _run_key(run: PlannedRun) -> str:
    # Two table rows built to the same config (and data folder) are one run: the runs package
    # would train it once and hand both the record.
    return canonical_json({"config": run.config.to_dict(), "data_root": run.data_root})


def _scoring_key(s: PlannedScoring) -> str:
    # What score_classical puts in a scoring's identity, less the split's fingerprint (which the
    # dataset and its split settings determine), and the folder it reads.
    return canonical_json({"settings": classical_settings(s.method, s.data, s.size, s.policy), "data_root": s.data_root})


def merge_planned(items: Iterable[Any]) -> list:
    """One entry per distinct run (or scoring), in first-seen order, its notebooks united."""
    from dataclasses import replace

    merged: dict[str, Any] = {}
    for item in items:
        key = _run_key(item) if isinstance(item, PlannedRun) else _scoring_key(item)
        if key in merged:
            old = merged[key]
            notebooks = old.notebooks + tuple(n for n in item.notebooks if n not in old.notebooks)
            merged[key] = replace(old, notebooks=notebooks)
        else:
            merged[key] = item
    return list(merged.values())


def _roots(table_spec: TableSpec, profile: Profile, data_root) -> list:
    """The dataset folders a spec runs on; where a per-dataset table refuses (a real-data profile
    without ``data_root``), the profile's own dataset, whose missing folder the plan names."""
    if not table_spec.per_dataset:
        return [data_root]
    try:
        return dataset_roots(profile, data_root)
    except ValueError:
        return [None]


@dataclass(frozen=True)
class SpecPlan:
    """What one spec's notebook trains and scores: its rows at every row seed, the seed-spread
    runs of its reference system, its classical scorings."""

    runs: tuple[PlannedRun, ...]
    spread: tuple[PlannedRun, ...]
    scorings: tuple[PlannedScoring, ...]


def spec_plan(table_spec: TableSpec, profile="smoke", data_root=None, clip_checkpoint=None, sam_checkpoint=None, *,
              detector_checkpoint=None) -> SpecPlan:
    """The plan of one spec (:class:`SpecPlan`), built by the config layer the tables use."""
    p = get_profile(profile)
    clip_checkpoint, sam_checkpoint = checkpoint_stand_ins(p, clip_checkpoint, sam_checkpoint)
    notebook = (table_spec.notebook,)
    runs, spread, scorings = [], [], []
    for root in _roots(table_spec, p, data_root):
        context = RunContext(p, data_root=root, clip_checkpoint=clip_checkpoint, sam_checkpoint=sam_checkpoint,
                             detector_checkpoint=None if detector_checkpoint is None else str(detector_checkpoint))
        folder = None if root is None else str(root)
        rows = rows_for(table_spec, root)
        runs += [PlannedRun(context.config(row.variant, seed=seed, **row.options), notebook, folder)
                 for row in learned_rows(rows) for seed in p.row_seeds]
        if classical_rows(rows):
            scorings += [PlannedScoring(row.variant, target.data, notebook,
                                        None if target.data_root is None else str(target.data_root),
                                        size=target.size, policy=target.policy)
                         for target in scoring_targets(table_spec, context) for row in classical_rows(rows)]
        if table_spec.seed_spread and table_spec.reference is not None:
            # the reference's system, then every other system of the rows with a reference (seeds.row_spreads)
            systems = dict.fromkeys([system_of(table_spec.rows[table_spec.reference].variant)]
                                    + [system_of(row.variant) for row in learned_rows(rows)])
            spread += [PlannedRun(reference_config(system, context, seed), notebook, folder)
                       for system in systems if system in SEED_REFERENCES for seed in p.spread_seeds]
    return SpecPlan(tuple(merge_planned(runs)), tuple(merge_planned(spread)), tuple(merge_planned(scorings)))


def _plans(profile, data_root, clip_checkpoint, sam_checkpoint, detector_checkpoint=None) -> tuple[list[PlannedRun], list[PlannedScoring]]:
    runs: list[PlannedRun] = []
    spread: list[PlannedRun] = []
    scorings: list[PlannedScoring] = []
    paper = None
    for table_spec in SPECS:
        if table_spec.paper != paper:  # each paper's seed-spread runs come after its tables' rows
            runs, spread, paper = runs + spread, [], table_spec.paper
        planned = spec_plan(table_spec, profile, data_root, clip_checkpoint, sam_checkpoint,
                            detector_checkpoint=detector_checkpoint)
        runs += planned.runs
        spread += planned.spread
        scorings += planned.scorings
    return merge_planned(runs + spread), merge_planned(scorings)


def planned_runs(profile="smoke", data_root=None, clip_checkpoint=None, sam_checkpoint=None, *,
                 detector_checkpoint=None) -> list[PlannedRun]:
    """Every training run of ``profile``'s notebooks (see the module docstring): each table row
    at every one of the profile's ``row_seeds``, and each reference system's seed-spread runs."""
    return _plans(profile, data_root, clip_checkpoint, sam_checkpoint, detector_checkpoint)[0]


def planned_scorings(profile="smoke", data_root=None) -> list[PlannedScoring]:
    """Every classical scoring of ``profile``'s notebooks."""
    return _plans(profile, data_root, None, None)[1]


# ------------------------------------------------------------------------------------------------
# What each run needs, its hash and its cost


def _weights_label(key: str, config: RunConfig) -> tuple[str, str]:
    """(what a checkpoint argument is, the flag that gives it)."""
    kwargs = config.resolved_model_kwargs
    if key.startswith("sam"):
        return f"SAM {kwargs.get('sam', '')} checkpoint".replace("  ", " "), "--sam-checkpoint"
    arch = config.conditioning.get("clip") or kwargs.get("clip", "")
    return f"CLIP {arch} checkpoint".replace("  ", " "), "--clip-checkpoint"


def requirements(run: PlannedRun) -> list[dict[str, Any]]:
    """What ``run`` reads besides the package: ``[{"what", "path", "ok", "flag"}]`` (its dataset
    folder, unless synthetic; every weights file its model or condition names)."""
    config = run.config
    needs: list[dict[str, Any]] = []
    if config.data.dataset == "synthetic":
        needs.append({"what": "synthetic dataset (generated into the cache folder)", "path": None, "ok": True, "flag": None})
    else:
        path = run.data_root
        ok = path is not None and Path(path).expanduser().is_dir()
        needs.append({"what": f"dataset folder {config.data.dataset}", "path": path, "ok": ok, "flag": "--data"})
    files = {k: v for k, v in config.model_kwargs.items() if k.endswith("checkpoint") and v is not None}
    files.update({k: v for k, v in config.conditioning.items() if k.endswith("checkpoint") and v is not None})
    for key, value in files.items():
        what, flag = _weights_label(key, config)
        stand_in = value in (MISSING_CLIP, MISSING_SAM)
        ok = not stand_in and Path(value).expanduser().is_file()
        needs.append({"what": what, "path": None if stand_in else value, "ok": ok, "flag": flag})
    return needs


_FLOPS: dict[str, tuple[float | None, str]] = {}


class _FlopCounter:
    """Forward FLOPs of one image, per (model, arguments, size), counted once per process."""

    def __init__(self) -> None:
        self.cache = _FLOPS

    def __call__(self, config: RunConfig, size: int) -> tuple[float | None, str]:
        kwargs = {k: v for k, v in config.model_kwargs.items() if not k.endswith("checkpoint")}
        key = canonical_json([config.model, kwargs, size])
        if key not in self.cache:
            self.cache[key] = self._count(config.model, kwargs, size)
        return self.cache[key]

    @staticmethod
    def _count(model: str, kwargs: dict, size: int) -> tuple[float | None, str]:
        import logging

        import torch
        import torch.fx.experimental._config as fx_config

        from irstd_lib.benchmarks.model_profile import count_flops
        from irstd_lib.models import build_model

        # open_clip logs (on the root logger) that a model without pretrained weights is random:
        # true, and not news here. The level is restored afterwards.
        root_logger = logging.getLogger()
        level = root_logger.level
        root_logger.setLevel(max(level, logging.ERROR))
        try:
            try:
                with torch.device("meta"):
                    built = build_model(model, **kwargs)
                # SAIST's MMD bandwidth indexes with a boolean mask (nonzero), which the meta device
                # refuses unless told to assume every element true: the shapes it gets are off by
                # the diagonal, the FLOPs (a median of a few distances) nil either way.
                with fx_config.patch(meta_nonzero_assume_all_nonzero=True):
                    return count_flops(built, size, "meta") / 1e9, f"counted at {size} px"
            except Exception:  # noqa: BLE001 - some models need real data (e.g. .item()): count on the CPU
                pass
            small = min(size, 64)
            try:
                with torch.random.fork_rng(devices=[]):
                    torch.manual_seed(0)
                    built = build_model(model, **kwargs)
                return count_flops(built, small, "cpu") / 1e9 * (size / small) ** 2, f"counted at {small} px, scaled by pixels"
            except Exception as exc:  # noqa: BLE001 - the plan reports it rather than failing
                return None, f"not counted ({type(exc).__name__}: {exc})"
        finally:
            root_logger.setLevel(level)


def _train_summary(config: RunConfig) -> dict[str, Any]:
    tc = config.train_config()
    data = config.data
    return {"train_policy": data.train_policy, "train_size": data.train_size, "eval_policy": data.eval_policy,
            "eval_size": data.eval_size, "split_scheme": data.split_scheme, "train_split": data.train_split,
            "test_split": data.test_split, "epochs": tc.epochs, "batch_size": tc.batch_size, "optimizer": tc.optimizer,
            "lr": tc.lr, "weight_decay": tc.weight_decay, "scheduler": tc.scheduler, "warmup_epochs": tc.warmup_epochs,
            "loss": tc.loss, "amp": tc.amp, "seed": config.seed}


def describe_plan(
    profile: str = "smoke",
    data_root: str | os.PathLike | None = None,
    clip_checkpoint: str | os.PathLike | None = None,
    sam_checkpoint: str | os.PathLike | None = None,
    results_dir: str | os.PathLike | None = None,
    gpu_tflops: float = DEFAULT_GPU_TFLOPS,
    cpu_gflops: float = DEFAULT_CPU_GFLOPS,
    flops: bool = True,
    only: Sequence[str] | None = None,
    detector_checkpoint: str | os.PathLike | None = None,
) -> dict[str, Any]:
    """The plan of ``profile`` as one JSON-able dict: ``{"profile", "assumptions", "inputs",
    "runs", "scorings", "totals"}`` (see the module docstring). Nothing is built but meta-device
    models; the datasets are opened to hash the runs (the synthetic set is written into the cache
    folder if it is not there yet). ``only``: keep the runs and scorings of these notebooks."""
    from irstd_lib.conditioning import get_kind
    from irstd_lib.runs import find_run, prepare_run, record_file

    data_root = None if data_root is None else str(data_root)
    runs = planned_runs(profile, data_root, clip_checkpoint, sam_checkpoint, detector_checkpoint=detector_checkpoint)
    scorings = planned_scorings(profile, data_root)
    if only:
        runs = [r for r in runs if set(r.notebooks) & set(only)]
        scorings = [s for s in scorings if set(s.notebooks) & set(only)]
    counter = _FlopCounter()
    rows = []
    for run in runs:
        config = run.config
        needs = requirements(run)
        missing = [n for n in needs if not n["ok"]]
        row: dict[str, Any] = {
            "model": config.model, "model_kwargs": dict(config.model_kwargs), "dataset": config.data.dataset,
            "data_root": run.data_root, "conditioning": dict(config.conditioning), "settings": _train_summary(config),
            "notebooks": list(run.notebooks), "needs": needs, "missing": [n["what"] for n in missing],
            "hash": None, "hash_error": None, "train_images": None, "test_images": None, "record": None,
        }
        if missing:
            row["hash_error"] = "needs " + ", ".join(f"{n['what']} ({n['flag']})" for n in missing)
            if all(n["flag"] != "--data" for n in missing):
                # Only weights are missing: the data still opens, so the cost can be counted.
                try:
                    row["train_images"], row["test_images"] = _count_images(config, run.data_root)
                except Exception:  # noqa: BLE001 - the cost is then given per 100 images
                    pass
        else:
            try:
                prep = prepare_run(config, run.data_root, results_dir)
                row.update(hash=prep.hash, train_images=len(prep.train_set), test_images=len(prep.test_set))
                metrics = record_file(prep.hash, results_dir)
                if metrics.is_file():
                    record = find_run(prep.hash, results_dir)
                    row["record"] = {"path": str(metrics), "train_seconds": record.get("train_seconds"),
                                     "epochs": record.get("epochs")}
            except Exception as exc:  # noqa: BLE001 - a plan names the problem of each run and goes on
                row["hash_error"] = f"{type(exc).__name__}: {exc}"
        evaluations = len(get_kind(config.conditioning_kind).evaluation_names(config.condition_settings))
        row["evaluations"] = evaluations
        row["cost"] = _cost(config, row, counter if flops else None, evaluations, gpu_tflops, cpu_gflops)
        rows.append(row)
    scoring_rows = []
    for s in scorings:
        scoring_rows.append({
            "method": s.method, "dataset": s.data.dataset, "data_root": s.data_root, "split_scheme": s.data.split_scheme,
            "test_split": s.data.test_split, "size": s.size, "policy": s.policy, "notebooks": list(s.notebooks),
            "missing": ([] if s.data.dataset == "synthetic" or (s.data_root and Path(s.data_root).is_dir())
                        else [f"dataset folder {s.data.dataset}"]),
        })
    return {
        "profile": profile,
        "assumptions": {
            "gpu_tflops": gpu_tflops, "cpu_gflops": cpu_gflops,
            "flops": ("forward FLOPs of one image (torch.utils.flop_counter.FlopCounterMode, multiply-add = 2), "
                      "counted on a meta-device model at the run's own sizes; training = 3 x forward x images per "
                      "epoch (full batches) x epochs; plus one forward per test image and evaluation"),
            "not_counted": "data loading, CLIP embeddings computed before training, LGNet's fine-tuned CLIP text tower "
                           "(~6 GFLOPs per described image)",
        },
        "inputs": _inputs_summary(rows, data_root, clip_checkpoint, sam_checkpoint),
        "runs": rows,
        "scorings": scoring_rows,
        "totals": _totals(rows),
    }


def _count_images(config: RunConfig, data_root) -> tuple[int, int]:
    """(training, test) images of a run's splits, opened as :func:`~irstd_lib.runs.prepare_run`
    opens them."""
    from irstd_lib.runs import open_split, resolve_data_root

    root = resolve_data_root(config.data, data_root)
    return tuple(len(open_split(config.data, root, split))
                 for split in (config.data.train_split, config.data.test_split))


def _cost(config: RunConfig, row: dict, counter, evaluations: int, gpu_tflops: float, cpu_gflops: float) -> dict[str, Any]:
    if counter is None:
        return {"gflops_per_image": None, "flops_note": "not counted"}
    data = config.data
    train_gflops, note = counter(config, data.train_size)
    eval_size = data.eval_size if data.eval_policy == "resize" and data.eval_size else data.train_size
    eval_gflops = train_gflops if eval_size == data.train_size else counter(config, eval_size)[0]
    cost: dict[str, Any] = {"gflops_per_image": train_gflops, "flops_note": note}
    if train_gflops is None or eval_gflops is None:
        return cost
    settings = row["settings"]
    epochs, batch = settings["epochs"], settings["batch_size"]
    # One training image costs 3 forwards (forward + backward); the trainer drops the last partial
    # batch, so an epoch sees whole batches only.
    per_train_image = 3.0 * train_gflops * epochs
    cost["gpu_hours_per_100_train_images"] = 100 * per_train_image / (gpu_tflops * 1e3) / 3600
    if row["train_images"] is not None:
        seen = (row["train_images"] // batch) * batch
        total = per_train_image * seen + eval_gflops * row["test_images"] * evaluations
        cost["train_images_per_epoch"] = seen
        cost["total_gflops"] = total
        cost["gpu_hours"] = total / (gpu_tflops * 1e3) / 3600
        cost["cpu_hours"] = total / cpu_gflops / 3600
    return cost


def _inputs_summary(rows: list[dict], data_root, clip_checkpoint, sam_checkpoint) -> list[dict[str, Any]]:
    """Each input the runs need, how many runs need it, and whether it is there."""
    summary: dict[str, dict[str, Any]] = {}
    for row in rows:
        for need in row["needs"]:
            if need["path"] is None and need["ok"]:
                continue  # the synthetic set: nothing to provide
            entry = summary.setdefault(need["what"], {"what": need["what"], "flag": need["flag"], "path": need["path"],
                                                      "ok": need["ok"], "runs": 0})
            entry["runs"] += 1
            entry["ok"] = entry["ok"] and need["ok"]
    return list(summary.values())


def _totals(rows: list[dict]) -> dict[str, Any]:
    costs = [r["cost"] for r in rows]
    out: dict[str, Any] = {"runs": len(rows), "hashed": sum(r["hash"] is not None for r in rows),
                           "recorded": sum(r["record"] is not None for r in rows)}
    counted = [c for c in costs if "gpu_hours" in c]
    out["costed_runs"] = len(counted)
    out["gpu_hours"] = sum(c["gpu_hours"] for c in counted) if counted else None
    out["cpu_hours"] = sum(c["cpu_hours"] for c in counted) if counted else None
    # Runs whose dataset is not open: their cost per 100 training images.
    per_100 = [c["gpu_hours_per_100_train_images"] for c in costs if "gpu_hours" not in c and "gpu_hours_per_100_train_images" in c]
    out["uncounted_runs"] = len(costs) - len(counted)
    out["uncounted_gpu_hours_per_100_train_images"] = sum(per_100) if per_100 else None
    out["recorded_train_seconds"] = sum((r["record"] or {}).get("train_seconds") or 0 for r in rows)
    return out


# ------------------------------------------------------------------------------------------------
# Text


def _kwargs_text(kwargs: dict) -> str:
    return "{" + ", ".join(f"{k}={v}" for k, v in kwargs.items()) + "}" if kwargs else "{}"


def _hours(h: float | None) -> str:
    if h is None:
        return "n/a"
    if h * 60 < 1:
        return f"{h * 3600:.0f} s"
    return f"{h * 60:.1f} min" if h < 1 else f"{h:.1f} h"


def format_plan(plan: dict[str, Any]) -> str:
    """The plan as text: the inputs (what is missing first), one block per run, the classical
    scorings, the totals and the assumptions."""
    a = plan["assumptions"]
    lines = [f"Plan of `python -m irstd_lib reproduce --profile {plan['profile']}`: {len(plan['runs'])} training runs, "
             f"{len(plan['scorings'])} classical scorings. Nothing is trained.", "", "Inputs:"]
    if not plan["inputs"]:
        lines.append("  none beyond the package (synthetic data generated into the cache folder, random tiny encoders)")
    for entry in sorted(plan["inputs"], key=lambda e: e["ok"]):
        state = f"ok: {entry['path']}" if entry["ok"] else (f"MISSING (not found: {entry['path']})" if entry["path"]
                                                             else f"MISSING: pass {entry['flag']} PATH")
        lines.append(f"  {entry['what']}: {state} (needed by {entry['runs']} runs)")
    lines.append("")
    for i, r in enumerate(plan["runs"], 1):
        s, cost = r["settings"], r["cost"]
        where = r["dataset"] + (f" ({r['data_root']})" if r["data_root"] else "")
        lines.append(f"[{i}] {r['model']} {_kwargs_text(r['model_kwargs'])} on {where}")
        if r["conditioning"]:
            lines.append(f"    conditioning: {_kwargs_text(r['conditioning'])}")
        sizes = f"train {s['train_policy']} {s['train_size']}, test {s['eval_policy']} {s['eval_size']}"
        split = f", split {s['split_scheme']} ({s['train_split']}/{s['test_split']})"
        lines.append(f"    settings: {sizes}{split}; {s['epochs']} epochs, batch {s['batch_size']}, {s['optimizer']} lr {s['lr']:g} "
                     f"wd {s['weight_decay']:g}, {s['scheduler']} ({s['warmup_epochs']:g} warm-up), loss {s['loss']}, "
                     f"amp {s['amp']}, seed {s['seed']}")
        if r["hash"]:
            images = f"{r['train_images']} train / {r['test_images']} test images"
            recorded = ""
            if r["record"]:
                recorded = f"; recorded, trained in {r['record']['train_seconds']} s ({r['record']['epochs']} epochs)"
            lines.append(f"    hash: {r['hash']} ({images}){recorded}")
        else:
            lines.append(f"    hash: none ({r['hash_error']})")
        if cost.get("gflops_per_image") is None:
            lines.append(f"    cost: {cost.get('flops_note')}")
        elif "gpu_hours" in cost:
            lines.append(f"    cost: {cost['gflops_per_image']:.2f} GFLOPs per image ({cost['flops_note']}); "
                         f"{_hours(cost['gpu_hours'])} GPU at {a['gpu_tflops']:g} TFLOP/s, {_hours(cost['cpu_hours'])} CPU "
                         f"at {a['cpu_gflops']:g} GFLOP/s")
        else:
            lines.append(f"    cost: {cost['gflops_per_image']:.2f} GFLOPs per image ({cost['flops_note']}); "
                         f"{_hours(cost['gpu_hours_per_100_train_images'])} GPU per 100 training images at "
                         f"{a['gpu_tflops']:g} TFLOP/s (the dataset is not open to count them)")
        needs = [n["what"] + ("" if n["ok"] else " (MISSING)") for n in r["needs"]]
        lines.append(f"    needs: {', '.join(needs)}")
        lines.append(f"    notebooks: {', '.join(r['notebooks'])}")
    if plan["scorings"]:
        lines += ["", "Classical scorings (score_classical; CPU, no training; hashed when scored):"]
        for s in plan["scorings"]:
            where = s["dataset"] + (f" ({s['data_root']})" if s["data_root"] else "")
            size = f"{s['policy']} {s['size']}" if s["size"] else f"{s['policy']} (native size)"
            missing = f" — MISSING {', '.join(s['missing'])}" if s["missing"] else ""
            lines.append(f"  {s['method']} on {where}, {s['test_split']} split ({s['split_scheme']}), {size}: "
                         f"{', '.join(s['notebooks'])}{missing}")
    t = plan["totals"]
    lines += ["", f"Totals: {t['runs']} runs, {t['hashed']} hashed, {t['recorded']} already recorded"
                  + (f" (recorded training time {t['recorded_train_seconds'] / 60:.1f} min)" if t["recorded"] else "")]
    if t["gpu_hours"] is not None:
        lines.append(f"  estimated for the {t['costed_runs']} runs whose data is open: {_hours(t['gpu_hours'])} GPU at "
                     f"{a['gpu_tflops']:g} TFLOP/s effective; {_hours(t['cpu_hours'])} CPU at {a['cpu_gflops']:g} GFLOP/s effective")
    if t["uncounted_runs"]:
        per_100 = t["uncounted_gpu_hours_per_100_train_images"]
        lines.append(f"  {t['uncounted_runs']} runs without their dataset: "
                     + (f"{_hours(per_100)} GPU per 100 training images of each (pass --data for a total)" if per_100 is not None
                        else "cost not counted"))
    lines += ["", f"Cost model: {a['flops']}; not counted: {a['not_counted']}. Throughputs are assumptions: "
                  "--gpu-tflops, --cpu-gflops (see irstd_lib.reproductions.plan)."]
    return "\n".join(lines)
