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
from irstd_lib.paper_reference import reported
from irstd_lib.reproductions.configs import RunContext, run_config, system_folder
from irstd_lib.reproductions.intervals import error_bars, with_intervals
from irstd_lib.reproductions.seeds import comparison_evaluation, run_row, seed_cells
from irstd_lib.reproductions.specs import TableSpec, spec
from irstd_lib.reproductions.tables import GROUND_TRUTH_COLUMN, Measured, build_table, classical_rows, dataset_roots, measure, scoring_targets
from irstd_lib.runs import RunConfig
from irstd_lib.runs.ground_truth import caption_note, row_label

__all__ = ["LEARNED", "METHODS", "REPORTED_TABLES", "ablation_table", "comparison_evaluation", "comparison_metrics",
           "comparison_table", "comparison_tables", "method_config", "metric_bars", "recorded_comparison", "roc_figure",
           "run_method", "system_folder", "table_of_runs"]

_SPEC = spec("comparison_all_methods")

# (registered variant, label, name in LGNet's Tables 4-5, name in SAIST's Table 1), from the spec's rows
METHODS: tuple[tuple[str, str, str | None, str | None], ...] = tuple(
    (r.variant, r.label, r.paper_names.get("LGNet"), r.paper_names.get("SAIST")) for r in _SPEC.rows)
LEARNED = tuple(r.variant for r in _SPEC.rows if r not in classical_rows(_SPEC.rows))

# The paper tables that report methods on each dataset: dataset -> [(paper, table, label)]
REPORTED_TABLES = {
    "NUAA-SIRST": [("LGNet", "5", "LGNet Tab. 5"), ("SAIST", "1", "SAIST Tab. 1")],
    # LGNet 5.6.3 reports one method, GroundingDINO + SAM fine-tuned on IRSTD-1k (IoU 66.2, nIoU 65.4).
    "IRSTD-1k": [("LGNet", "4", "LGNet Tab. 4"), ("LGNet", "5.6.3", "LGNet 5.6.3"), ("SAIST", "1", "SAIST Tab. 1")],
    "NUDT-SIRST": [("SAIST", "1", "SAIST Tab. 1")],
}


def _row_options(variant: str) -> dict:
    """The comparison row's options of ``variant`` (SAIST on the comparison's splits)."""
    return next((dict(r.options) for r in _SPEC.rows if r.variant == variant), {})


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
    under the comparison protocol of ``profile`` (see the module docstring):
    :func:`~irstd_lib.reproductions.configs.run_config` with the comparison's row options."""
    return run_config(profile, variant, data_root=data_root, clip_checkpoint=clip_checkpoint, sam_checkpoint=sam_checkpoint,
                      epochs=epochs, seed=seed, **_row_options(variant))


def _context(profile, data_root, device, progress, results_dir, config_kwargs) -> RunContext:
    return RunContext.of(profile, data_root=data_root, device=device, progress=progress, results_dir=results_dir, **config_kwargs)


def run_method(variant: str, profile: str = "smoke", data_root=None, device: str = "cpu", progress: bool = True,
               results_dir=None, **config_kwargs):
    """One method's row under the comparison protocol, trained (or read) at each of its seeds (the
    notebook's ``seeds``, else ``seed``, else the profile's): a run, or a
    :class:`~irstd_lib.reproductions.seeds.SeedRuns` for several seeds."""
    return run_row(_context(profile, data_root, device, progress, results_dir, config_kwargs), variant, **_row_options(variant))


def comparison_metrics(result) -> dict:
    return result.evaluation(comparison_evaluation(result))


def _render_ablation(table_spec: TableSpec, measured: list[Measured], context: RunContext) -> pd.DataFrame:
    """One row per variant: the metrics measured here, the trainable parameters, and the
    difference of each metric from the reference variant's row."""
    reference = table_spec.reference_label
    out = []
    for m in measured:
        result = m.result
        out.append({"setting": m.label, "measured": m.row.variant, **{k: m.metrics[k] for k in METRICS},
                    **seed_cells(result, m.evaluation),
                    "trainable params (M)": result.record["parameters"]["trainable"] / 1e6,
                    "train s": result.record.get("train_seconds"), "dataset": result.config.data.dataset,
                    "profile": result.config.profile, "run": result.hash})
    table = pd.DataFrame(out)
    base = table[table["measured"] == reference].iloc[0]
    for k in METRICS:
        table[f"{k} - {reference}"] = table[k] - base[k]
    return table


def ablation_table(table_spec: TableSpec, profile: str = "smoke", data_root=None, device: str = "cpu", progress: bool = True,
                   results_dir=None, **config_kwargs) -> pd.DataFrame:
    """An ablation measured here (DGSPNet's, GGL-Net's: no paper values are available to this
    package), its rows trained with the comparison protocol: the metrics, the trainable
    parameters, each metric's difference from the reference row, intervals and the seed spread."""
    return build_table(table_spec, _context(profile, data_root, device, progress, results_dir, config_kwargs), _render_ablation,
                       default_evaluation=comparison_evaluation)


# ------------------------------------------------------------------------------------------------
# The cross-method table


def _reported_columns(dataset: str) -> tuple[str, list[tuple[str, str, pd.DataFrame]]]:
    """(the dataset whose reported rows stand beside, [(column label, name column, rows)])."""
    paper_dataset = dataset if dataset in REPORTED_TABLES else "NUAA-SIRST"
    tables = [(f"{label}, {paper_dataset}", paper, reported(paper, table, paper_dataset))
              for paper, table, label in REPORTED_TABLES[paper_dataset]]
    return paper_dataset, tables


def comparison_table(profile: str = "smoke", data_root=None, device: str = "cpu", progress: bool = True, results_dir=None,
                     repeats: int = 3, **config_kwargs) -> tuple[pd.DataFrame, dict[str, dict]]:
    """Every method on one dataset (the profile's, or ``data_root``), trained or read from its
    record: ``(table, curves)`` as :func:`table_of_runs` gives them. The classical methods are
    scored on the learned runs' test split at their evaluation size and policy."""
    from irstd_lib.runs import score_classical

    context = _context(profile, data_root, device, progress, results_dir, config_kwargs)
    runs: dict[str, Any] = {m.row.variant: m.result for m in measure(_SPEC.rows, context, comparison_evaluation)}
    (target,) = scoring_targets(_SPEC, context)
    for row in classical_rows(_SPEC.rows):
        runs[row.variant] = score_classical(row.variant, target.data, target.data_root, results_dir, size=target.size,
                                            policy=target.policy, progress=progress)
    size = target.data.eval_size or context.profile.eval_size or 256
    return table_of_runs(runs, size, device, repeats, profile=context.profile.name)


def recorded_comparison(runs: dict[str, str], results_dir=None, size: int = 256, device: str = "cpu", repeats: int = 3):
    """:func:`table_of_runs` over finished runs named by hash (``{"acm": "bf79f2797511", ...}``):
    the comparison of runs trained elsewhere (for instance the NUAA-SIRST CPU configs in
    ``notebooks/configs/``), rendered from their records."""
    from irstd_lib.runs import load_run

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
    # A row whose run reads the test masks at test time says so, in a column and the caption.
    shown = [runs[variant] for variant, *_ in METHODS if variant in runs]
    labels = [row_label(result.ground_truth_inputs_at_test(comparison_evaluation(result))) for result in shown]
    note = caption_note(labels, list(table["method"]))
    if note:
        table.insert(1, GROUND_TRUTH_COLUMN, labels)
        table.attrs["note"] = " ".join(part for part in (note, table.attrs.get("note", "")) if part)
    table.attrs["paper_dataset"] = paper_dataset
    return table, curves


def comparison_tables(profile: str = "smoke", data_root: str | os.PathLike | Sequence | None = None, **kwargs):
    """:func:`comparison_table` for each available dataset: the profile's synthetic set (at
    ``smoke``) and every folder in ``data_root`` (one path or a list). Returns
    ``{dataset name: (table, curves)}``."""
    out = {}
    for root in dataset_roots(profile, data_root):
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
