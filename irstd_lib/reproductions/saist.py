"""SAIST's tables and figures (Zhang et al., CVPR 2025), measured beside what the paper reports.

Each function trains (or reuses, see :mod:`irstd_lib.runs`) the runs of its spec
(:mod:`~irstd_lib.reproductions.specs`). The rows are
labelled by what was measured (the registered variant and what it is); the paper's row each one
stands beside is named in its own column, with its values in columns suffixed ``(paper)`` and
the dataset the paper measured them on.

==================================  ===========================================================
Table 1 (classical rows)            Top-Hat and IPI (:func:`table1_classical`)
Table 1 (learned rows)              ``sam``, ``sam_hq``, ``acm``, ``dnanet``, ``lgnet``, ``dgspnet``, ``ggl_net``, ``saist``
Table 2 (components)                ``saist``, ``saist_wo_srclip``, ``saist_wo_cgsam``, ``clip_sam``
Table 3 (size and speed)            ``clip_sam`` and ``saist``: parameters and latency measured here
Table 4 (prompt learners)           ``saist_wo_srclip`` (CLIP), ``coop_cgsam`` (CoOp), ``saist``
Table 5 (mask decoders)             ``saist_wo_cgsam`` (SAM), ``hqsam_srclip`` (HQ-SAM), ``saist``
Figure 4 (detections)               every learned method of Table 1 on the first test images
Figure 5 (Pd-Fa ROC)                every method of Table 1 on the same test set
Figure 6 (guidance)                 CLIP, CoOp and SR-CLIP on the same images
Figure 7 (decoders)                 SAM, HQ-SAM and CG-SAM outputs, and CG-SAM's I, A, d, J
==================================  ===========================================================

Profiles (:mod:`irstd_lib.profiles`): ``smoke`` trains the tiny SAM and CLIP of the same classes on
the synthetic set; ``paper`` trains SAM ViT-B and CLIP ViT-B-16 from the user's local checkpoints
at 1024 px with SAIST's recipe on its 50/30/20 split of ``data_root``. Table 1 and Figures 4-5 put
every method on that partition (one test set for every row) and take several datasets at once
(:func:`for_each_dataset`: ``data_root`` one folder or a list, one block per dataset).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

from irstd_lib.bootstrap import METRICS
from irstd_lib.paper_reference import reported
from irstd_lib.reproductions.configs import RunContext, run_config
from irstd_lib.reproductions.intervals import error_bars
from irstd_lib.reproductions.seeds import run_row, seed_cells
from irstd_lib.reproductions.specs import spec
from irstd_lib.reproductions.tables import (GROUND_TRUTH_COLUMN, Measured, build_table, classical_rows, dataset_roots,
                                            ground_truth_title, learned_rows, measure, scoring_targets)
from irstd_lib.runs import RunConfig, RunResult

METHOD_NAMES = {"tophat": "Top-Hat", "ipi": "IPI"}


def _pairs(notebook: str) -> tuple[tuple[str, str], ...]:
    return tuple((r.variant, r.paper_row) for r in learned_rows(spec(notebook).rows))


# Each table: (registered variant, the paper's row it stands beside), from its spec.
TABLE1_LEARNED = _pairs("saist_table1_learned")
TABLE2 = _pairs("saist_table2_components")
TABLE3 = _pairs("saist_table3_size_speed")
TABLE4 = _pairs("saist_table4_prompt_learners")
TABLE5 = _pairs("saist_table5_decoders")


def saist_config(
    profile: str = "smoke",
    variant: str = "saist",
    *,
    data_root: str | os.PathLike | None = None,
    sam_checkpoint: str | None = None,
    clip_checkpoint: str | None = None,
    epochs: int | None = None,
    seed: int | None = None,
) -> RunConfig:
    """The run config of one SAIST variant under a profile
    (:func:`~irstd_lib.reproductions.configs.run_config`; see the module docstring)."""
    return run_config(profile, variant, data_root=data_root, sam_checkpoint=sam_checkpoint, clip_checkpoint=clip_checkpoint,
                      epochs=epochs, seed=seed)


def _context(profile, data_root, device, progress, results_dir, config_kwargs) -> RunContext:
    return RunContext.of(profile, data_root=data_root, device=device, progress=progress, results_dir=results_dir, **config_kwargs)


def run(variant: str, profile: str = "smoke", data_root=None, device: str = "cpu", progress: bool = True, results_dir=None,
        **config_kwargs):
    """One SAIST variant trained (or read) at each of its row's seeds (the notebook's ``seeds``,
    else ``seed``, else the profile's): a run, or a :class:`~irstd_lib.reproductions.seeds.SeedRuns`
    for several seeds."""
    return run_row(_context(profile, data_root, device, progress, results_dir, config_kwargs), variant)


def _description(variant: str) -> str:
    from irstd_lib.models import get_variant

    return get_variant(variant).description


def _paper(table_spec) -> pd.DataFrame:
    (paper, table), = table_spec.paper_tables
    return reported(paper, table)


def _render(table_spec, measured: list[Measured], context: RunContext, paper: pd.DataFrame | None = None) -> pd.DataFrame:
    """Measured rows (one run each) beside the paper's rows matched on the spec's ``paper_key`` column."""
    paper = _paper(table_spec) if paper is None else paper
    key = table_spec.paper_key
    out = []
    for m in measured:
        result, variant, paper_row = m.result, m.row.variant, m.row.paper_row
        match = paper[paper[key] == paper_row]
        row = {"measured": variant, "what": _description(variant), **{k: result.metrics[k] for k in METRICS},
               **seed_cells(result), "paper row": paper_row}
        for k in METRICS:
            row[f"{k} (paper)"] = match[k].iloc[0] if len(match) and pd.notna(match[k].iloc[0]) else None
        row.update({"paper dataset": match["dataset"].iloc[0] if len(match) else None, "dataset": result.config.data.dataset,
                    "split": result.config.data.split_scheme, "profile": result.config.profile, "run": result.hash})
        out.append(row)
    table = pd.DataFrame(out)
    order = ["measured", "what", "paper row"] + [c for k in METRICS for c in (k, f"{k} (paper)")]
    return table[order + [c for c in table.columns if c not in order]]


def _table(notebook: str, profile, data_root, device, progress, results_dir, config_kwargs, render=_render) -> pd.DataFrame:
    return build_table(spec(notebook), _context(profile, data_root, device, progress, results_dir, config_kwargs), render)


def table2_components(profile="smoke", data_root=None, device="cpu", progress=True, results_dir=None, **config_kwargs) -> pd.DataFrame:
    """Table 2: SAIST, without SR-CLIP, without CG-SAM, without both."""
    return _table("saist_table2_components", profile, data_root, device, progress, results_dir, config_kwargs)


def table4_prompt_learners(profile="smoke", data_root=None, device="cpu", progress=True, results_dir=None, **config_kwargs) -> pd.DataFrame:
    """Table 4: CLIP, CoOp and SR-CLIP prompts, each with CG-SAM."""
    return _table("saist_table4_prompt_learners", profile, data_root, device, progress, results_dir, config_kwargs)


def table5_decoders(profile="smoke", data_root=None, device="cpu", progress=True, results_dir=None, **config_kwargs) -> pd.DataFrame:
    """Table 5: SAM's, HQ-SAM's and CG-SAM's decoders, each with SR-CLIP."""
    return _table("saist_table5_decoders", profile, data_root, device, progress, results_dir, config_kwargs)


def _table1_paper(data_root) -> pd.DataFrame:
    """SAIST's Table 1 on the dataset measured (NUAA-SIRST's rows for the synthetic set)."""
    paper = reported("SAIST", "1")
    dataset = "synthetic" if data_root is None else Path(data_root).name
    return paper[paper["dataset"] == (dataset if dataset in set(paper["dataset"]) else "NUAA-SIRST")]


def table1_learned(profile="smoke", data_root=None, device="cpu", progress=True, results_dir=None, **config_kwargs) -> pd.DataFrame:
    """Table 1's learned rows this package has (SAM, SAM-HQ, SAIST), beside SAIST's Table 1 on
    the dataset measured (NUAA-SIRST's row for the synthetic set)."""
    def render(table_spec, measured, context):
        return _render(table_spec, measured, context, paper=_table1_paper(context.data_root))

    return _table("saist_table1_learned", profile, data_root, device, progress, results_dir, config_kwargs, render)


def table3_size_and_speed(profile="smoke", data_root=None, device="cpu", progress=True, results_dir=None, repeats: int = 5,
                          **config_kwargs) -> pd.DataFrame:
    """Table 3: SAM + CLIP against SAIST. Measured here: parameters (total and trainable) of the
    profile's models and of the paper's widths (SAM ViT-B, CLIP ViT-B-16, counted without
    weights), the profile's models' inference time per image on this machine, and their
    metrics; beside the trainable parameters and inference time the paper reports.

    Measured per module, without weights (``irstd_lib.models.saist.size.parameter_table``, CLIP
    ViT-B-16, the default readings; M = 1e6; SAM + CLIP / SAIST):

    ======================================  ===============  ===============  ===============
    reading of "Trainable Params"           SAM vit_b        SAM vit_l        SAM vit_h
    ======================================  ===============  ===============  ===============
    trainable, text encoder frozen          3.92 / 10.01     4.16 / 10.52     4.42 / 11.04
    trainable, text encoder fine-tuned      67.34 / 73.44    67.59 / 73.94    67.85 / 74.47
    all parameters                          243.77 / 250.00  462.62 / 469.11  791.63 / 798.39
    all but CLIP's frozen image encoder     157.57 / 163.81  376.43 / 382.92  705.44 / 712.19
    ======================================  ===============  ===============  ===============

    The paper: 383.28 / 389.57 (it names no SAM size). The nearest reading is the last row at
    vit_l: every SAM weight and CLIP's text encoder counted, CLIP's frozen image encoder not,
    6.85 M (1.8 %) and 6.65 M (1.7 %) short; no reading at vit_b comes within 139 M. What SAIST
    adds: 6.23 M here (6.75 M with the paper profile's readings), 6.29 M in the paper. Modules at
    vit_b: SAM image encoder 89.82 (LoRA 0.147 inside it), prompt encoder 0.006, mask decoder
    4.06, imaging decoder 3.34 (3.20 with the paper's readings), SR-CLIP 3.16 (3.82), CLIP image
    encoder 86.19, CLIP text encoder 63.43."""
    from irstd_lib.benchmarks.model_profile import profile_model
    from irstd_lib.models.catalogue import count_parameters_of

    def render(table_spec, measured, context):
        size = context.profile.protocol("saist").size
        paper = _paper(table_spec)
        rows = []
        for m in measured:
            result, variant, paper_row = m.result, m.row.variant, m.row.paper_row
            kwargs = {k: v for k, v in result.config.model_kwargs.items() if not k.endswith("checkpoint")}
            speed = profile_model(variant, size=size, device=context.device, repeats=repeats, warmup=1, measure_training=False,
                                  **kwargs)
            paper_total, paper_trainable = count_parameters_of(variant, sam="vit_b", clip="ViT-B-16")
            match = paper[paper["method"] == paper_row]
            note = match["notes"].iloc[0] if len(match) else ""
            rows.append({
                "measured": variant, "what": _description(variant), "paper row": paper_row,
                "params (M)": result.record["parameters"]["total"] / 1e6,
                "trainable (M)": result.record["parameters"]["trainable"] / 1e6,
                "params at vit_b + ViT-B-16 (M)": paper_total / 1e6, "trainable at vit_b + ViT-B-16 (M)": paper_trainable / 1e6,
                "trainable (M) (paper)": _number_before(note, " M"),
                f"ms per image at {size} px": speed["latency_ms"],
                "ms per image (paper, GPU)": _ms(_number_before(note, " s")),
                **{k: result.metrics[k] for k in ("IoU", "Pd", "Fa")}, **seed_cells(result),
                **{f"{k} (paper)": match[k].iloc[0] if len(match) else None for k in ("IoU", "Pd", "Fa")},
                "device": speed["device"], "dataset": result.config.data.dataset, "run": result.hash,
            })
        return pd.DataFrame(rows)

    return _table("saist_table3_size_speed", profile, data_root, device, progress, results_dir, config_kwargs, render)


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else 1000.0 * seconds


def _number_before(text: str, unit: str) -> float | None:
    """The number just before ``unit`` in a reference note ("trainable params 383.28 M; ...")."""
    import re

    match = re.search(r"([0-9.]+)" + re.escape(unit) + r"\b", text or "")
    return float(match.group(1)) if match else None


def table1_classical(
    profile: str = "smoke", data_root: str | os.PathLike | None = None, methods: tuple[str, ...] = ("tophat", "ipi"),
    progress: bool = True, results_dir=None, **_ignored,
) -> pd.DataFrame:
    """Top-Hat and IPI on each dataset's test split, our IoU/nIoU/Pd/Fa beside SAIST's Table 1.

    SAIST does not say how it binarised the classical score maps; this package uses each method's
    adaptive threshold (mean + 3 std of the map, see ``classical/threshold.py``). SAIST's
    NUAA-SIRST figures for both methods (IoU 1.5 and 1.1, Fa 16456 and 30467 x1e-6) are those of a
    threshold far lower than that, so large differences in IoU and Fa are expected."""
    from irstd_lib.runs import score_classical

    table_spec = spec("saist_table1_classical")
    context = RunContext.of(profile, data_root=data_root, progress=progress, results_dir=results_dir)
    paper = _paper(table_spec)
    rows = []
    for target in scoring_targets(table_spec, context):
        for method in methods:
            scored = score_classical(method, target.data, target.data_root, results_dir, size=target.size, policy=target.policy,
                                     progress=progress)
            row = {"dataset": target.dataset, "method": METHOD_NAMES[method],
                   **{m: scored.metrics[m] for m in METRICS}, "images": scored.metrics["n_images"]}
            match = paper[(paper["dataset"] == target.dataset) & (paper["method"] == METHOD_NAMES[method])]
            for m in METRICS:
                row[f"{m} (paper)"] = match[m].iloc[0] if len(match) else float("nan")
            row["dataset issues"] = "; ".join(scored.record["issues"])
            row["run"] = scored.hash
            rows.append(row)
    table = pd.DataFrame(rows)
    order = ["dataset", "method"] + [c for m in METRICS for c in (m, f"{m} (paper)")]
    return table[order + [c for c in table.columns if c not in order]]


# ------------------------------------------------------------------------------------------------
# Figures (rendered from run records: score maps, ROC points, inspection maps)


def comparison_figure(table: pd.DataFrame, metrics: tuple[str, ...] = ("IoU", "Pd", "Fa"), title: str = ""):
    """Bars of the measured values beside the paper's, one panel per metric (Fa on a log scale)."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(metrics), figsize=(4.2 * len(metrics), 3.4), squeeze=False)
    # A row measured with inputs read from the test masks says so under its bar (and the title).
    reads = [GROUND_TRUTH_COLUMN in table.columns and r[GROUND_TRUTH_COLUMN] not in (None, "none") for _, r in table.iterrows()]
    labels = [f"{r['measured']}\n({r['paper row']})" + ("\n[reads test GT]" if gt else "") for (_, r), gt in zip(table.iterrows(), reads)]
    if any(reads):
        title = (title + "\n" if title else "") + (f"[reads test GT]: {sum(reads)} of {len(reads)} rows measured with inputs "
                                                    "computed from the test images' ground-truth masks (the table's column "
                                                    f"'{GROUND_TRUTH_COLUMN}')")
    x = np.arange(len(table))
    for ax, metric in zip(axes[0], metrics):
        ax.bar(x - 0.2, table[metric], 0.4, yerr=error_bars(table, metric), capsize=2, label="measured (this package), 95% CI")
        paper = pd.to_numeric(table[f"{metric} (paper)"], errors="coerce")
        ax.bar(x + 0.2, paper.fillna(0), 0.4, label="reported (paper)")
        ax.set_xticks(x, labels, fontsize=7)
        ax.set_title(metric + (" (x1e-6, log)" if metric == "Fa" else " (%)"))
        if metric == "Fa":
            ax.set_yscale("symlog", linthresh=1.0)
    axes[0, 0].legend(fontsize=7)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def classical_figure(table: pd.DataFrame):
    """IoU, Pd and Fa (log scale) of the classical methods, ours beside SAIST's reported values."""
    import matplotlib.pyplot as plt

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


def for_each_dataset(function, profile="smoke", data_root=None, **kwargs) -> dict:
    """``{dataset name: function(profile, data_root=root, **kwargs)}`` for the profile's synthetic set
    (at ``smoke``) and every folder of ``data_root`` (one path or a list): SAIST's Table 1 and
    Figures 4-5 on NUDT-SIRST, IRSTD-1k and NUAA-SIRST in one notebook run."""
    return {("synthetic" if root is None else Path(root).name): function(profile=profile, data_root=root, **kwargs)
            for root in dataset_roots(profile, data_root)}


def _test_set_of(result: RunResult, data_root):
    from irstd_lib.runs import open_split, resolve_data_root

    config = result.config
    return open_split(config.data, resolve_data_root(config.data, data_root), config.data.test_split)


def figure4_detections(profile="smoke", data_root=None, device="cpu", progress=False, results_dir=None, n_images: int = 3,
                       **config_kwargs):
    """Figure 4: every learned method of Table 1 (its spec's rows, the last SAIST) on the same test
    images, boxed as the paper boxes them (red correct, yellow missed, blue false) with a close-up of
    the first box. Returns ``(fig, table)``."""
    import matplotlib.pyplot as plt

    from irstd_lib.figures import SAIST_COLOURS, detection_marks, detection_row

    context = _context(profile, data_root, device, progress, results_dir, config_kwargs)
    runs = [(m.label, m.result) for m in measure(learned_rows(spec("saist_figure4_detections").rows), context)]
    test_set = _test_set_of(runs[-1][1], data_root)
    names = [n for n in test_set.names[:n_images]]
    maps = [result.maps() for _, result in runs]  # each record's maps, read once
    panel = 3.0 if len(runs) <= 3 else 1.6  # inches; every method of Table 1 in one row of panels
    fig, axes = plt.subplots(len(names), 2 * len(runs), figsize=(panel * 2 * len(runs), panel * len(names)), squeeze=False)
    counts = []
    for r, name in enumerate(names):
        sample = test_set[test_set.index_of(name)]
        for c, (label, result) in enumerate(runs):
            scores = maps[c][name]
            detection_row(axes[r, 2 * c: 2 * c + 2], sample.image, sample.mask, scores, threshold=result.metrics["threshold"],
                          title=f"{label}: {name}", max_insets=1, colours=SAIST_COLOURS)
            marks = detection_marks(scores > result.metrics["threshold"], sample.mask)
            counts.append({"image": name, "method": label, "run": result.hash,
                           **{kind: sum(m["kind"] == kind for m in marks) for kind in ("detected", "missed", "false alarm")}})
    caption = ground_truth_title(runs)
    fig.suptitle("Detections (red correct, yellow missed, blue false alarm), with a close-up of the first"
                 + (f"\n{caption}" if caption else ""), fontsize=9)
    fig.tight_layout()
    return fig, pd.DataFrame(counts)


def figure5_roc(profile="smoke", data_root=None, device="cpu", progress=False, results_dir=None, **config_kwargs):
    """Figure 5: the Pd-Fa curve of every method of Table 1 on the same test set, with its area
    (Pd against Fa, normalised, over the Fa range every curve covers: up to the smallest of the
    methods' largest Fa, so that no curve is credited beyond its last point). Learned methods' points
    come from their run records; the classical methods are scored here (their maps divided by
    their maximum, thresholds shared with the learned ones). Returns ``(fig, table)``."""
    from irstd_lib.figures import pd_fa_figure
    from irstd_lib.runs import score_classical

    table_spec = spec("saist_figure5_roc")
    context = _context(profile, data_root, device, progress, results_dir, config_kwargs)
    curves = {}
    measured = measure(table_spec.rows, context)
    for m in measured:
        roc = m.result.details()["roc"]
        curves[m.label] = (np.asarray(roc["Fa"]), np.asarray(roc["Pd"]), m.result.hash)
    test_set = _test_set_of(m.result, data_root)
    (target,) = scoring_targets(table_spec, context)
    for row in classical_rows(table_spec.rows):
        method = row.variant
        scored = score_classical(method, target.data, target.data_root, results_dir, size=target.size, policy=target.policy,
                                 progress=progress)
        roc = scored.details()["roc"]
        curves[METHOD_NAMES[method]] = (np.asarray(roc["Fa"]), np.asarray(roc["Pd"]), scored.hash)
        measured.append(Measured(row, scored, "test", METHOD_NAMES[method]))  # classical: reads no test mask
    caption = ground_truth_title([(m.label, m.result) for m in measured])
    return pd_fa_figure(curves, f"Pd-Fa on {test_set.root.name} test ({len(test_set)} images)" + (f"\n{caption}" if caption else ""))


def figure6_guidance(profile="smoke", data_root=None, device="cpu", progress=False, results_dir=None, n_images: int = 3,
                     **config_kwargs):
    """Figure 6: where CLIP's, CoOp's and SR-CLIP's guidance looks on the same test images (the
    models' inspection maps kept in their run records, over CLIP's patch grid); the mask's
    outline in red."""
    import matplotlib.pyplot as plt

    guided = [(label, run(v, profile, data_root, device, progress, results_dir, **config_kwargs)) for v, label in TABLE4]
    test_set = _test_set_of(guided[-1][1], data_root)
    names = list(test_set.names[:n_images])
    inspections = {label: result.inspection() for label, result in guided}  # each record's maps, read once
    fig, axes = plt.subplots(len(names), 1 + len(guided), figsize=(2.6 * (1 + len(guided)), 2.6 * len(names)), squeeze=False)
    for r, name in enumerate(names):
        sample = test_set[test_set.index_of(name)]
        axes[r, 0].imshow(sample.image, cmap="gray", vmin=0, vmax=1)
        axes[r, 0].set_title(name, fontsize=8)
        for c, (label, result) in enumerate(guided, start=1):
            axes[r, c].imshow(sample.image, cmap="gray", vmin=0, vmax=1)
            axes[r, c].imshow(inspections[label][name]["guidance"], cmap="inferno", alpha=0.6)
            axes[r, c].contour(sample.mask, levels=[0.5], colors="red", linewidths=0.8)
            axes[r, c].set_title(label.split(" + ")[0], fontsize=8)
    for ax in axes.ravel():
        ax.axis("off")
    caption = ground_truth_title(guided)
    fig.suptitle("Guidance over the image (CLIP patch grid): where each prompt looks" + (f"\n{caption}" if caption else ""), fontsize=9)
    fig.tight_layout()
    return fig


def figure7_decoders(profile="smoke", data_root=None, device="cpu", progress=False, results_dir=None, n_images: int = 2,
                     **config_kwargs):
    """Figure 7: SAM's, HQ-SAM's and CG-SAM's outputs (each with SR-CLIP) side by side, then
    CG-SAM's imaging decoder: the degraded image I, the background A, the depth d and the
    recovered J (what the paper only describes in words)."""
    import matplotlib.pyplot as plt

    decoders = [(label.split(" + ")[0], run(v, profile, data_root, device, progress, results_dir, **config_kwargs)) for v, label in TABLE5]
    saist = decoders[-1][1]
    test_set = _test_set_of(saist, data_root)
    names = list(test_set.names[:n_images])
    decoder_maps = [result.maps() for _, result in decoders]  # each record's maps, read once
    imaging = saist.inspection()
    columns = ["image", "mask"] + [f"{label} output" for label, _ in decoders] + ["I (degraded)", "A (background)", "d (depth)", "J (recovered)"]
    fig, axes = plt.subplots(len(names), len(columns), figsize=(2.1 * len(columns), 2.3 * len(names)), squeeze=False)
    for r, name in enumerate(names):
        sample = test_set[test_set.index_of(name)]
        maps = imaging[name]
        panels = [(sample.image, "gray", (0, 1)), (sample.mask, "gray", (0, 1))]
        panels += [(scores[name], "gray", (0, 1)) for scores in decoder_maps]
        panels += [(maps["I"], "magma", None), (maps["A"], "magma", None), (maps["d"], "viridis", None), (maps["J"], "magma", None)]
        for c, (array, cmap, limits) in enumerate(panels):
            ax = axes[r, c]
            kwargs = {"vmin": limits[0], "vmax": limits[1]} if limits else {}
            ax.imshow(array, cmap=cmap, **kwargs)
            ax.set_title(columns[c] if r == 0 else "", fontsize=7)
            ax.axis("off")
    caption = ground_truth_title(decoders)
    fig.suptitle("Decoders (score maps) and CG-SAM's imaging decoder (J = I e^(beta d) - A (e^(beta d) - 1), the logits)"
                 + (f"\n{caption}" if caption else ""), fontsize=8)
    fig.tight_layout()
    return fig
