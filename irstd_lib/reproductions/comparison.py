"""Every method of the package on one harness: the tables no paper of the field gives.

Top-Hat, IPI, ACM, DNA-Net, LGNet, SAIST, DGSPNet and GGL-Net, trained with one protocol and
scored on the same test sets by the same evaluation path, with IoU, nIoU, Pd, Fa, parameters,
GFLOPs and latency measured here, beside what LGNet's Tables 4-5 and SAIST's Table 1 report for
the same methods (each reported column names its table and dataset).

The protocol (:func:`method_config`): the profile's data (its synthetic set, or ``data_root``),
training crops, evaluation size, budget, optimizer, schedule and seed for every learned model
(``Profile.train``: the ``smoke`` profile's is LGNet's smoke protocol, so the LGNet row *is* the
LGNet Table 6 run); each model keeps the loss of its own recipe; widths from
``Profile.comparison`` (small ones at ``smoke``, published ones at ``paper``), and the few
per-system training departures it lists (``Profile.comparison["train"]``; smoke: lr 1e-2 for ACM
and DNA-Net, the batch SoftIoU for GGL-Net, each because a short run collapsed without it, the
measurements in :mod:`irstd_lib.profiles`). SAIST gets each image's scene prompt, LGNet its target descriptor in training and the
image-only descriptor at test (how the paper reports LGNet: language in training only), DGSPNet
makes its own text. Classical methods are scored on the same test split at the same size and
policy.

One departure, SAIST: it is trained as its own tables train it (its input size, optimizer and
learning rate; ``Profile.saist``) on the comparison's splits, so at ``smoke`` its row is the
SAIST tables' run. SAM's image encoder sees a fixed grid of patches: at the comparison's 64 px the
tiny SAM's 8-pixel patches make an 8x8 grid whose every token is wider than most targets, and the
run collapsed (IoU 2.1, against 23.6 at its own 128 px). Every method is still scored on the same
test images at their native size.

Where the paper reports a dataset this package did not measure on (the synthetic set), the
reported columns come from NUAA-SIRST, and the column names say so.
"""

from __future__ import annotations

import os
from typing import Any, Sequence

import numpy as np
import pandas as pd

from irstd_lib.bootstrap import METRICS
from irstd_lib.experiments import RunConfig
from irstd_lib.paper_reference import reported
from irstd_lib.profiles import get_profile
from irstd_lib.reproductions.intervals import error_bars, with_intervals


# (registered variant, label, name in LGNet's Tables 4-5, name in SAIST's Table 1)
METHODS: tuple[tuple[str, str, str | None, str | None], ...] = (
    ("tophat", "Top-Hat", None, "Top-Hat"),
    ("ipi", "IPI", None, "IPI"),
    ("acm", "ACM", "ACM", "ACM"),
    ("dnanet", "DNA-Net", "DNANet", "DNA-Net"),
    ("lgnet", "LGNet", "LGNet", None),
    ("saist", "SAIST", "SAIST", None),
    ("dgspnet", "DGSPNet", None, None),
    ("ggl_net", "GGL-Net", None, None),
)
LEARNED = tuple(m[0] for m in METHODS if m[0] not in ("tophat", "ipi"))

# The paper tables that report methods on each dataset: dataset -> [(paper, table, label)]
REPORTED_TABLES = {
    "NUAA-SIRST": [("LGNet", "5", "LGNet Tab. 5"), ("SAIST", "1", "SAIST Tab. 1")],
    "IRSTD-1k": [("LGNet", "4", "LGNet Tab. 4"), ("SAIST", "1", "SAIST Tab. 1")],
    "NUDT-SIRST": [("SAIST", "1", "SAIST Tab. 1")],
}


def method_config(
    profile: str,
    variant: str,
    *,
    data_root: str | os.PathLike | None = None,
    clip_checkpoint: str | None = None,
    sam_checkpoint: str | None = None,
    epochs: int | None = None,
    seed: int | None = None,
) -> RunConfig:
    """The run config of one learned method (any registered variant of the systems compared)
    under the comparison protocol of ``profile`` (see the module docstring)."""
    from irstd_lib.models import get_variant
    from irstd_lib.reproductions.lgnet import lgnet_config
    from irstd_lib.reproductions.saist import saist_config

    p = get_profile(profile)
    v = get_variant(variant)
    if v.kind != "learned":
        raise ValueError(f"{variant} is a classical method: it is scored, not trained")
    system = system_folder(v)
    if system == "lgnet":
        lgnet_variant = {"lgnet": "full", "lgnet_fusion": "fusion", "lgnet_baseline": "baseline"}[variant]
        return lgnet_config(profile, lgnet_variant, "train" if lgnet_variant == "full" else "never", data_root=data_root,
                            clip_checkpoint=clip_checkpoint, epochs=epochs, seed=seed)
    # The protocol's budget, then the profile's few per-system departures (smoke: the ones that
    # keep its short runs from collapsing, each measured and stated in irstd_lib.profiles).
    train = {**p.train, **p.comparison.get("train", {}).get(system, {})}
    if epochs is not None:
        train["epochs"] = int(epochs)
    data = p.data_config(p.dataset_for(data_root))
    if system == "saist":
        # SAIST as its own tables train it (size, optimizer, lr: see the module docstring), on the comparison's splits.
        from dataclasses import replace

        own = saist_config(profile, variant, data_root=data_root, sam_checkpoint=sam_checkpoint, clip_checkpoint=clip_checkpoint,
                           epochs=epochs, seed=seed)
        return replace(own, data=replace(own.data, split_scheme=data.split_scheme, train_split=data.train_split,
                                         test_split=data.test_split, split_version=data.split_version))
    kwargs = dict(p.comparison["model_kwargs"].get(system, {}))
    if system == "dgspnet" and kwargs.get("clip") != "tiny" and any(
            v.resolved_kwargs(**kwargs).get(k) for k in ("coarse_prompts", "fine_prompts")):
        if clip_checkpoint is None:
            raise ValueError(f"profile {profile!r} builds DGSPNet with CLIP {kwargs.get('clip')}: pass clip_checkpoint, "
                             "a local open_clip weights file (nothing is downloaded)")
        kwargs["clip_checkpoint"] = str(clip_checkpoint)
    return RunConfig(model=variant, model_kwargs=kwargs, data=data, conditioning={}, train=train,
                     seed=p.seed if seed is None else int(seed), profile=p.name)


def system_folder(variant) -> str:
    """The system a variant belongs to, as its folder under ``irstd_lib/models/`` names it
    (``sam`` and ``sam_hq`` are SAIST's builder without text: ``saist``)."""
    package = variant.builder_path.partition(":")[0].split(".")
    if package[:2] != ["irstd_lib", "models"] or len(package) < 4:
        raise ValueError(f"{variant.name}: the comparison protocol knows the package's own systems, not {variant.builder_path}")
    return package[2]


def run_method(variant: str, profile: str = "smoke", data_root=None, device: str = "cpu", progress: bool = True,
               results_dir=None, seeds=None, seed=None, **config_kwargs):
    """One method's row under the comparison protocol, trained (or read) at each of its seeds
    (:func:`~irstd_lib.reproductions.seeds.row_seeds`): a run, or a
    :class:`~irstd_lib.reproductions.seeds.SeedRuns` for several seeds."""
    from irstd_lib.reproductions.seeds import row_seeds, run_row

    return run_row(lambda s: method_config(profile, variant, data_root=data_root, seed=s, **config_kwargs),
                   row_seeds(profile, seed, seeds), data_root, results_dir, device, progress)


def comparison_evaluation(result) -> str:
    """The evaluation a comparison reads: LGNet's image-only descriptor at test when the run has
    one (no annotation at inference, as every other method), else the run's primary evaluation."""
    return "test_without_text" if "test_without_text" in result.record else result.primary_evaluation


def comparison_metrics(result) -> dict:
    return result.evaluation(comparison_evaluation(result))


def ablation_table(rows: Sequence[tuple[str, str]], reference: str, profile: str = "smoke", data_root=None, device: str = "cpu",
                   progress: bool = True, results_dir=None, **config_kwargs) -> pd.DataFrame:
    """One row per ``(variant, setting)``: the metrics measured here, the trainable parameters,
    and the difference of each metric from the ``reference`` variant's row. No paper values: the
    ablation tables of DGSPNet and GGL-Net are not available to this package."""
    from irstd_lib.reproductions.seeds import seed_cells

    out, per_image = [], []
    for variant, setting in rows:
        result = run_method(variant, profile, data_root, device, progress, results_dir, **config_kwargs)
        per_image.append(result.details(comparison_evaluation(result))["per_image"])
        out.append({"setting": setting, "measured": variant, **{m: comparison_metrics(result)[m] for m in METRICS},
                    **seed_cells(result, comparison_evaluation(result)),
                    "trainable params (M)": result.record["parameters"]["trainable"] / 1e6,
                    "train s": result.record.get("train_seconds"), "dataset": result.config.data.dataset,
                    "profile": result.config.profile, "run": result.hash})
    table = pd.DataFrame(out)
    base = table[table["measured"] == reference].iloc[0]
    for m in METRICS:
        table[f"{m} - {reference}"] = table[m] - base[m]
    position = [variant for variant, _ in rows].index(reference)
    table = with_intervals(table, per_image, reference=position, reference_label=reference)
    from irstd_lib.models import get_variant
    from irstd_lib.reproductions.seeds import seed_spread, with_seed_spread

    spread = seed_spread(system_folder(get_variant(reference)), profile, data_root, device, progress, results_dir, **config_kwargs)
    return with_seed_spread(table, spread, reference=position, reference_label=reference)


# ------------------------------------------------------------------------------------------------
# The cross-method table


def _classical_results(data, data_root, results_dir, progress: bool) -> dict:
    from irstd_lib.experiments import score_classical

    return {method: score_classical(method, data, data_root, results_dir, size=data.eval_size, policy=data.eval_policy,
                                    progress=progress)
            for method in ("tophat", "ipi")}


def _reported_columns(dataset: str) -> tuple[str, list[tuple[str, str, pd.DataFrame]]]:
    """(the dataset whose reported rows stand beside, [(column label, name column, rows)])."""
    paper_dataset = dataset if dataset in REPORTED_TABLES else "NUAA-SIRST"
    tables = [(f"{label}, {paper_dataset}", paper, reported(paper, table, paper_dataset))
              for paper, table, label in REPORTED_TABLES[paper_dataset]]
    return paper_dataset, tables


def comparison_table(profile: str = "smoke", data_root=None, device: str = "cpu", progress: bool = True, results_dir=None,
                     repeats: int = 3, **config_kwargs) -> tuple[pd.DataFrame, dict[str, dict]]:
    """Every method on one dataset (the profile's, or ``data_root``), trained or read from its
    record: ``(table, curves)`` as :func:`table_of_runs` gives them."""
    runs: dict[str, Any] = {variant: run_method(variant, profile, data_root, device, progress, results_dir, **config_kwargs)
                            for variant in LEARNED}
    data = runs["acm"].config.data
    runs.update(_classical_results(data, data_root, results_dir, progress))
    size = data.eval_size or get_profile(profile).eval_size or 256
    return table_of_runs(runs, size, device, repeats, profile=get_profile(profile).name)


def recorded_comparison(runs: dict[str, str], results_dir=None, size: int = 256, device: str = "cpu", repeats: int = 3):
    """:func:`table_of_runs` over finished runs named by hash (``{"acm": "bf79f2797511", ...}``):
    the comparison of runs trained elsewhere (for instance the NUAA-SIRST CPU configs in
    ``notebooks/configs/``), rendered from their records."""
    from irstd_lib.experiments import load_run

    return table_of_runs({variant: load_run(h, results_dir) for variant, h in runs.items()}, size, device, repeats)


def table_of_runs(runs: dict[str, Any], size: int, device: str = "cpu", repeats: int = 3, profile: str = "") -> tuple[pd.DataFrame, dict]:
    """The comparison table of finished runs (``variant -> RunResult or ScoredRun``, all on one
    test set), in :data:`METHODS` order, with GFLOPs and latency measured at ``size``, beside the
    reported columns; and ``curves[label] = {"Fa", "Pd", "run"}``, each method's Pd-Fa points
    (for :func:`roc_figure`)."""
    from irstd_lib.benchmarks.model_profile import profile_model
    from irstd_lib.reproductions.seeds import seed_cells

    datasets = {r.record["dataset"] for r in runs.values()}
    if len(datasets) != 1:
        raise ValueError(f"a comparison needs runs on one dataset, got {sorted(datasets)}")
    dataset = datasets.pop()
    paper_dataset, paper_tables = _reported_columns(dataset)
    rows, curves, per_image = [], {}, []
    for variant, label, lgnet_name, saist_name in METHODS:
        if variant not in runs:
            continue
        result = runs[variant]
        evaluation = comparison_evaluation(result)
        details = result.details(evaluation)
        metrics, roc = result.evaluation(evaluation), details["roc"]
        per_image.append(details["per_image"])
        config = getattr(result, "config", None)
        kwargs = {k: v for k, v in config.model_kwargs.items() if not k.endswith("checkpoint")} if config else {}
        params = result.record.get("parameters", {"total": 0, "trainable": 0})
        speed = profile_model(variant, size=size, device=device, repeats=repeats, warmup=1, measure_training=False, **kwargs)
        curves[label] = {"Fa": list(roc["Fa"]), "Pd": list(roc["Pd"]), "run": result.hash}
        row: dict[str, Any] = {
            "method": label, "measured": variant + (f" {kwargs}" if kwargs else ""),
            **{m: metrics[m] for m in METRICS}, **seed_cells(result, evaluation),
            "params (M)": params["total"] / 1e6, "trainable (M)": params["trainable"] / 1e6,
            f"GFLOPs at {size} px": speed.get("gflops"), f"ms per image at {size} px": speed.get("latency_ms"),
        }
        for column_label, paper, paper_rows in paper_tables:
            name = lgnet_name if paper == "LGNet" else saist_name
            match = paper_rows[paper_rows["method"] == name] if name else paper_rows.iloc[0:0]
            for m in METRICS:
                if m in paper_rows and paper_rows[m].notna().any():
                    row[f"{m} ({column_label})"] = match[m].iloc[0] if len(match) else None
        row.update({"dataset": dataset, "test images": metrics["n_images"], "profile": profile or getattr(config, "profile", ""),
                    "run": result.hash})
        rows.append(row)
    table = with_intervals(pd.DataFrame(rows), per_image)
    table.attrs["paper_dataset"] = paper_dataset
    return table, curves


def comparison_tables(profile: str = "smoke", data_root: str | os.PathLike | Sequence | None = None, **kwargs):
    """:func:`comparison_table` for each available dataset: the profile's synthetic set (at
    ``smoke``) and every folder in ``data_root`` (one path or a list). Returns
    ``{dataset name: (table, curves)}``."""
    roots: list = [] if data_root is None else ([data_root] if isinstance(data_root, (str, os.PathLike)) else list(data_root))
    targets = ([None] if get_profile(profile).dataset == "synthetic" else []) + roots
    if not targets:
        raise ValueError(f"profile {profile!r} trains on a real dataset: pass data_root (one folder or a list)")
    out = {}
    for root in targets:
        table, curves = comparison_table(profile, root, **kwargs)
        out[table["dataset"].iloc[0]] = (table, curves)
    return out


# ------------------------------------------------------------------------------------------------
# Figures


def roc_figure(curves: dict[str, dict], title: str = ""):
    """Pd against Fa of every method on one test set, with the area under each curve up to the Fa
    every curve reaches (:func:`irstd_lib.figures.pd_fa_figure`). Returns ``(fig, table)``."""
    from irstd_lib.figures import pd_fa_figure

    return pd_fa_figure({label: (np.asarray(c["Fa"]), np.asarray(c["Pd"]), c["run"]) for label, c in curves.items()}, title)


def metric_bars(table: pd.DataFrame, metrics: tuple[str, ...] = ("IoU", "nIoU", "Pd", "Fa"), label: str = "method", title: str = ""):
    """One panel per metric, one bar per row (measured values only, with their 95 % bootstrap
    intervals when the table has them; Fa on a log scale)."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(metrics), figsize=(3.0 * len(metrics), 0.35 * len(table) + 1.4), squeeze=False, sharey=True)
    names = list(table[label])
    for ax, metric in zip(axes[0], metrics):
        values = table[metric].astype(float).to_numpy()
        ax.barh(range(len(names)), np.where(np.isfinite(values), values, 0.0), xerr=error_bars(table, metric), capsize=2,
                color="tab:blue")
        ax.set_yticks(range(len(names)), names, fontsize=8)
        ax.invert_yaxis()
        ax.set_xlabel(f"{metric} (x1e-6, log)" if metric == "Fa" else f"{metric} (%)", fontsize=8)
        if metric == "Fa":
            ax.set_xscale("symlog", linthresh=1.0)
    if title:
        fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    return fig


def _planned_roots(profile: str, data_root) -> list:
    """The datasets :func:`comparison_tables` makes a table for. Where it refuses (a real-data
    profile without ``data_root``), the profile's own dataset, whose missing folder the plan names."""
    roots: list = [] if data_root is None else ([data_root] if isinstance(data_root, (str, os.PathLike)) else list(data_root))
    targets = ([None] if get_profile(profile).dataset == "synthetic" else []) + roots
    return targets or [None]


def planned_runs(profile: str = "smoke", data_root=None, clip_checkpoint=None, sam_checkpoint=None) -> list:
    """The runs of ``comparison_all_methods`` under ``profile`` (``reproduce`` gives it ``profile``
    and ``data_root`` only): every learned method of :data:`LEARNED` by :func:`method_config`, on
    each dataset it makes a table for (:class:`~irstd_lib.reproductions.plan.PlannedRun`)."""
    from irstd_lib.reproductions.plan import PlannedRun, checkpoint_stand_ins, merge_planned

    clip_checkpoint, sam_checkpoint = checkpoint_stand_ins(profile, clip_checkpoint, sam_checkpoint)
    return merge_planned(
        PlannedRun(method_config(profile, variant, data_root=root, clip_checkpoint=clip_checkpoint, sam_checkpoint=sam_checkpoint),
                   ("comparison_all_methods",), None if root is None else str(root))
        for root in _planned_roots(profile, data_root) for variant in LEARNED)


def planned_scorings(profile: str = "smoke", data_root=None) -> list:
    """Top-Hat and IPI as :func:`comparison_table` scores them: on ACM's test split, at its
    evaluation size and policy, for each dataset."""
    from irstd_lib.reproductions.plan import PlannedScoring, merge_planned

    out = []
    for root in _planned_roots(profile, data_root):
        data = method_config(profile, "acm", data_root=root).data
        out += [PlannedScoring(method, data, ("comparison_all_methods",), None if root is None else str(root),
                               size=data.eval_size, policy=data.eval_policy) for method in ("tophat", "ipi")]
    return merge_planned(out)


def planned_ablation_runs(notebook: str, rows: Sequence[tuple[str, str]], reference: str, profile: str = "smoke", data_root=None,
                          clip_checkpoint=None, sam_checkpoint=None) -> list:
    """The runs of an ablation notebook built on :func:`ablation_table`: every row by
    :func:`method_config`, as the table trains them, and the seed-spread runs of the reference's
    system (:class:`~irstd_lib.reproductions.plan.PlannedRun`)."""
    from irstd_lib.models import get_variant
    from irstd_lib.reproductions.plan import PlannedRun, checkpoint_stand_ins, merge_planned
    from irstd_lib.reproductions.seeds import planned_spread_runs

    clip_checkpoint, sam_checkpoint = checkpoint_stand_ins(profile, clip_checkpoint, sam_checkpoint)
    root = None if data_root is None else str(data_root)
    spread = planned_spread_runs(system_folder(get_variant(reference)), profile, (notebook,), data_root,
                                 clip_checkpoint=clip_checkpoint, sam_checkpoint=sam_checkpoint)
    return merge_planned([*(
        PlannedRun(method_config(profile, variant, data_root=data_root, clip_checkpoint=clip_checkpoint, sam_checkpoint=sam_checkpoint),
                   (notebook,), root)
        for variant, _ in rows), *spread])
