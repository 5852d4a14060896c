"""LGNet's tables (Chib & Singh, "Leveraging Language Prior for Infrared Small Target Detection").

Each function builds its table from its spec (:mod:`~irstd_lib.reproductions.specs`): it trains (or
reuses, see :mod:`irstd_lib.runs`) the runs the table needs and
returns a DataFrame: our measured IoU, nIoU, Pd, Fa beside the paper's reported values (columns
suffixed ``(paper)``), with the profile, the dataset and the run hash of every row.

Runs behind the tables (``variant`` / language mode / description source):

==============================  =====================================================
Table 2, baseline               ``baseline`` (no fusion, no language fusion), never
Table 2, image-only descriptor  ``full``, ``never`` (the architecture of the full model, its
                                language fusion block fed the CLIP image embedding alone)
Table 2, training only          ``full``, ``train`` (text in training, image-only TD at test)
Table 2, training and test      ``full``, ``train`` run evaluated with text at test time
Table 6, baseline / +FB / +LFB  ``baseline`` / ``fusion`` / ``full`` (``train``)
Table 3 and section 5.6.4       ``full`` trained with file / quadrant / semantic descriptions
==============================  =====================================================

The paper's Table 2 "never" row is its Table 6 baseline (same IoU 69.99): a model with no
language fusion block, so the row mixes language's effect with the block's. Its Fa differs
between the two tables (6.43 vs 4.09); both are shown as reported. The row the table's question
asks for, the same architecture trained and tested without text (its descriptor the image
embedding alone), is measured too; it has no paper value.

Labels: each table's ``setting`` says what was measured; the paper row it stands beside is in
its own column, ``paper row`` (empty where the paper has none), and the ``(paper)`` columns hold
that row's reported values. The paper's numbers are for IRSTD-1k; the ``smoke`` profile trains
on the synthetic set, so only the direction of the differences can be compared, never the values.

Every run of these tables trains on whole images resized to the profile's size (see
:mod:`irstd_lib.profiles`), never on crops or flips, so that the descriptions' position words
stay true of the image they guide.

Dataset: the profile's (``smoke``: the embedded synthetic set) unless ``data_root`` is given, in
which case that folder is used (named by its folder name, e.g. ``NUAA-SIRST``). ``data_root`` may
also name several folders (a list): Tables 2, 3 and 6 are the paper's "Ablation study on IRSTD-1k
dataset" (Table 2), "on the IRSTD-1K dataset" (Table 3) and "on the IRSTD-1k dataset" (Table 6),
so they run on the IRSTD-1k folder when one is given and on NUAA-SIRST otherwise
(:func:`lgnet_table_root`); every row's ``dataset`` column says which, beside the ``paper
dataset``.

Test-time text (Table 2's "Training+Test"): the ``smoke`` profile keeps its runs' text at test
from the training source (the synthetic generator's files, written from the targets it drew, or
the templates from the test masks: they read the test ground truth, and the rows built from them
say so); the ``paper`` profile's default is the text the model's own image-only pass writes
(``test_descriptions="first_pass"``, :mod:`irstd_lib.models.lgnet.first_pass`), which reads no
mask. Table 2 also shows the two side by side: one model trained with the ``semantic`` template,
tested with the template written from the test masks (the labelled upper bound) and with the one
written from its first pass.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

from irstd_lib.bootstrap import METRICS
from irstd_lib.paper_reference import reported, side_by_side
from irstd_lib.reproductions.configs import RunContext, run_config
from irstd_lib.reproductions.intervals import error_bars
from irstd_lib.reproductions.seeds import seed_cells
from irstd_lib.reproductions.specs import spec
from irstd_lib.reproductions.tables import Measured, build_table, rows_for
from irstd_lib.runs import RunConfig

VARIANTS: dict[str, str] = {
    # table variant -> registered model
    "baseline": "lgnet_baseline",
    "fusion": "lgnet_fusion",
    "full": "lgnet",
}


def lgnet_config(
    profile: str = "smoke",
    variant: str = "full",
    language: str = "train",
    descriptions: str | None = None,
    *,
    data_root: str | os.PathLike | None = None,
    clip_checkpoint: str | None = None,
    epochs: int | None = None,
    seed: int | None = None,
    test_descriptions: str | None = None,
) -> RunConfig:
    """The run config of one LGNet row under a profile
    (:func:`~irstd_lib.reproductions.configs.run_config` of the registered variant).

    ``variant``: ``baseline``, ``fusion`` (no language fusion block: no conditioning at all) or
    ``full`` (LGNet, conditioned on the target descriptor with ``language`` and
    ``descriptions``). ``descriptions``: ``files`` (the dataset's own), ``quadrant`` or
    ``semantic``; default ``files`` for the synthetic set (its generator writes them) and
    ``semantic`` for a real folder without description files. ``test_descriptions``: the text at
    test, ``training_source`` (the same source on the test images) or ``first_pass`` (written
    from the model's own image-only prediction); None: the profile's (smoke: ``training_source``,
    paper: ``first_pass``).
    """
    if variant not in VARIANTS:
        raise ValueError(f"unknown LGNet variant {variant!r}; choose one of {', '.join(VARIANTS)}")
    return run_config(profile, VARIANTS[variant], data_root=data_root, clip_checkpoint=clip_checkpoint, epochs=epochs, seed=seed,
                      language=language, descriptions=descriptions, test_descriptions=test_descriptions)


def _row(m: Measured) -> dict:
    metrics = m.metrics
    run = m.result
    return {"setting": m.label, "paper row": m.row.paper_row or "", **{k: metrics[k] for k in METRICS},
            **seed_cells(run, m.evaluation), "dataset": run.config.data.dataset, "profile": run.config.profile, "run": run.hash}


def _paper_rows(table_spec) -> pd.DataFrame:
    tables = [reported(paper, table) for paper, table in table_spec.paper_tables]
    return tables[0] if len(tables) == 1 else pd.concat(tables, ignore_index=True).drop_duplicates("setting")


def _beside_paper(measured: pd.DataFrame, paper_rows: pd.DataFrame, metrics=METRICS) -> pd.DataFrame:
    """Our rows (``setting``: what was measured) with the reported values of the paper row each
    stands beside (``paper row``); paper rows nobody stands beside come last, with an empty
    ``setting``; the paper's dataset in its own column."""
    paper = paper_rows.rename(columns={"setting": "paper row"})
    table = side_by_side(measured, paper, on="paper row", metrics=metrics)
    table["setting"] = table["setting"].fillna("")
    table = table[["setting"] + [c for c in table.columns if c != "setting"]]
    table["paper dataset"] = paper_rows["dataset"].iloc[0]
    return table


def _render(table_spec, measured: list[Measured], context: RunContext) -> pd.DataFrame:
    return _beside_paper(pd.DataFrame([_row(m) for m in measured]), _paper_rows(table_spec))


def _is_irstd1k(root) -> bool:
    return "1k" in Path(root).name.lower()


def lgnet_table_root(data_root):
    """The folder LGNet's Tables 2, 3 and 6 run on: ``data_root`` itself when it is one folder
    (or None: the profile's own set); among several, the IRSTD-1k folder (the paper's tables are
    on IRSTD-1k), else the NUAA-SIRST one (the profile's dataset), else the first."""
    if data_root is None or isinstance(data_root, (str, os.PathLike)):
        return data_root
    roots = list(data_root)
    if not roots:
        raise ValueError("data_root: an empty list of dataset folders")
    for wanted in (_is_irstd1k, lambda r: "nuaa" in Path(r).name.lower()):
        found = [r for r in roots if wanted(r)]
        if found:
            return found[0]
    return roots[0]


def _context(profile, data_root, device, progress, results_dir, config_kwargs) -> RunContext:
    return RunContext.of(profile, data_root=lgnet_table_root(data_root), device=device, progress=progress, results_dir=results_dir,
                         **config_kwargs)


def table2_language_availability(
    profile: str = "smoke", data_root=None, device: str = "cpu", progress: bool = True, results_dir=None, **config_kwargs
) -> pd.DataFrame:
    """Table 2: language never / in training only / in training and test, plus the row its
    question asks for: the full architecture trained and tested with the image-only descriptor."""
    return build_table(spec("lgnet_table2_language_availability"),
                       _context(profile, data_root, device, progress, results_dir, config_kwargs), _render)


def table6_components(
    profile: str = "smoke", data_root=None, device: str = "cpu", progress: bool = True, results_dir=None, **config_kwargs
) -> pd.DataFrame:
    """Table 6: baseline, + fusion block, + language fusion block (text in training only)."""
    return build_table(spec("lgnet_table6_components"), _context(profile, data_root, device, progress, results_dir, config_kwargs),
                       _render)


def _render_sources(table_spec, measured: list[Measured], context: RunContext) -> pd.DataFrame:
    rows = []
    for m in measured:
        row = _row(m)
        row["source"] = m.row.options["descriptions"]
        row["IoU with text"] = m.result.record["test_with_text"]["IoU"]
        row["nIoU with text"] = m.result.record["test_with_text"]["nIoU"]
        rows.append(row)
    table = _beside_paper(pd.DataFrame(rows), _paper_rows(table_spec), metrics=("IoU", "nIoU"))
    extra = [c for c in ("Pd", "Fa") if c in table]
    return table[[c for c in table.columns if c not in extra] + extra]


def description_sources(
    profile: str = "smoke", data_root=None, device: str = "cpu", progress: bool = True, results_dir=None,
    sources: tuple[str, ...] | None = None, **config_kwargs,
) -> pd.DataFrame:
    """Table 3 and section 5.6.4: the full model trained with descriptions from each source.

    Our rows: the dataset's own description files (the synthetic generator's, or LangIR files
    beside a real dataset, standing where the paper's GPT-4V descriptions stand), the
    ``semantic`` template and the ``quadrant`` template. IoU and nIoU are measured without text
    at test time (the paper's default), and also with text (columns ``IoU with text``...).
    """
    table_spec = spec("lgnet_description_sources")
    data_root = lgnet_table_root(data_root)
    rows = rows_for(table_spec, data_root)
    if sources is not None:
        by_source = {r.options["descriptions"]: r for r in table_spec.rows}
        rows = tuple(by_source[s] for s in sources)
    return build_table(table_spec, _context(profile, data_root, device, progress, results_dir, config_kwargs), _render_sources,
                       rows=rows)


def comparison_figure(table: pd.DataFrame, metrics: tuple[str, ...] = ("IoU", "nIoU"), title: str = ""):
    """Bars of our measured values (with their 95 % bootstrap intervals over test images when the
    table has them) beside the paper's reported ones, one panel per metric."""
    import matplotlib.pyplot as plt

    labels = [row.get("setting") or f"paper: {row.get('paper row', '')}" for _, row in table.iterrows()]
    y = np.arange(len(table))
    fig, axes = plt.subplots(1, len(metrics), figsize=(5.5 * len(metrics), 0.55 * len(table) + 1.6), squeeze=False, sharey=True)
    for ax, metric in zip(axes[0], metrics):
        measured = pd.to_numeric(table[metric], errors="coerce").to_numpy(dtype=float)
        ax.barh(y - 0.2, np.nan_to_num(measured), 0.4, xerr=error_bars(table, metric), capsize=2,
                label="measured (this package), 95% CI", color="tab:blue")
        if f"{metric} (paper)" in table:
            paper = pd.to_numeric(table[f"{metric} (paper)"], errors="coerce").to_numpy(dtype=float)
            ax.barh(y + 0.2, np.nan_to_num(paper), 0.4, label="reported (paper)", color="tab:orange")
        ax.set_yticks(y, labels, fontsize=7)
        ax.invert_yaxis()
        ax.set_xlabel(f"{metric} (%)")
        ax.legend(fontsize=7, loc="lower right")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def training_curves_figure(table: pd.DataFrame, results_dir=None):
    """Training loss per epoch of the runs behind a table's rows (from their ``history.csv``; a row
    trained at several seeds, whose ``run`` joins its hashes with ``+``, shows its first seed's)."""
    import matplotlib.pyplot as plt

    from irstd_lib.runs import read_history

    fig, ax = plt.subplots(figsize=(5.5, 3.4))
    for _, row in table.dropna(subset=["run"]).iterrows():
        run = str(row["run"]).split("+")[0]
        if not run:
            continue
        history = read_history(run, results_dir)
        ax.plot(history["epoch"], history["train_loss"], marker="o", markersize=3, label=f"{row['setting']} ({run[:6]})")
    ax.set_xlabel("epoch")
    ax.set_ylabel("training loss (BCE, deep supervision)")
    ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


def _description_sets(profile: str, data_root) -> dict[str, dict[str, str]]:
    """Our description sets for the train and test splits: the dataset's files when it has
    them, and the ``semantic`` source generated from the masks."""
    from irstd_lib.conditioning.base import generated_descriptions
    from irstd_lib.runs import open_split, resolve_data_root
    from irstd_lib.text.descriptions import load_descriptions

    config = lgnet_config(profile, data_root=data_root, descriptions="semantic")
    root = resolve_data_root(config.data, data_root)
    sets: dict[str, dict[str, str]] = {}
    for split_label, split in (("train", "trainval"), ("test", "test")):
        ds = open_split(config.data, root, split)
        sets[f"semantic, {split_label}"] = generated_descriptions(ds, "semantic")
        if (root / "descriptions").is_dir():
            sets[f"files, {split_label}"] = load_descriptions(root / "descriptions", names=ds.names)
    return sets


def table1_word_counts(profile: str = "smoke", data_root=None) -> pd.DataFrame:
    """LangIR Table 1: positional word counts of our description sets beside LangIR's reported
    counts for the dataset (NUAA-SIRST's rows for the synthetic set, whose size is similar)."""
    from irstd_lib.text.word_stats import compare_with_langir

    dataset = "IRSTD-1k" if data_root is not None and "1k" in Path(data_root).name.lower() else "NUAA-SIRST"
    sets = _description_sets(profile, data_root)
    split_of = {label: label.split(", ")[1] for label in sets}
    table = compare_with_langir(sets, dataset=dataset, langir_split=split_of).reset_index()
    return table


def word_counts_figure(table: pd.DataFrame):
    """Bars of positional word counts per description set, normalised per description so that
    sets of different sizes compare (LangIR's counts divided by its split sizes: NUAA-SIRST 341
    train / 86 test, IRSTD-1k 800 / 201)."""
    import matplotlib.pyplot as plt
    import seaborn as sns

    from irstd_lib.text.word_stats import POSITION_WORDS

    sizes = {("NUAA-SIRST", "train"): 341, ("NUAA-SIRST", "test"): 86, ("IRSTD-1k", "train"): 800, ("IRSTD-1k", "test"): 201}
    rows = []
    for _, row in table.iterrows():
        n = row["n_descriptions"]
        if pd.isna(n):  # a LangIR row: "LangIR reported (<dataset> <split>)"
            dataset, split = row["counts"].split("(")[1].rstrip(")").rsplit(" ", 1)
            n = sizes.get((dataset, split))
        label = f"{row['set']} / {row['counts']}"
        for word in POSITION_WORDS:
            rows.append({"set": label, "word": word, "per description": row[word] / n if n else np.nan})
    data = pd.DataFrame(rows)
    fig, ax = plt.subplots(figsize=(7.5, 3.8))
    sns.barplot(data=data, x="word", y="per description", hue="set", ax=ax)
    ax.legend(fontsize=6)
    ax.set_title("Positional words per description")
    fig.tight_layout()
    return fig


def example_descriptions(profile: str = "smoke", data_root=None, n: int = 5) -> pd.DataFrame:
    """The first ``n`` test descriptions of each of our sets, to read beside the tables."""
    sets = _description_sets(profile, data_root)
    rows = []
    for label, texts in sets.items():
        if not label.endswith("test"):
            continue
        for name in list(texts)[:n]:
            rows.append({"set": label, "image": name, "description": texts[name]})
    return pd.DataFrame(rows)


def figure7_qualitative(
    n_images: int = 4, profile: str = "smoke", data_root=None, device: str = "cpu", results_dir=None,
    max_insets: int = 3, progress: bool = False, **config_kwargs,
):
    """Figure 7: the full model's hardest test images (lowest IoU, then smallest target area),
    each with boxes around its targets and false alarms and zoomed insets. Rendered from the
    run's record (per-image counts and the score maps it keeps), so no checkpoint is needed.
    Returns ``(fig, cases)``."""
    import matplotlib.pyplot as plt

    from irstd_lib.figures import detection_row
    from irstd_lib.runs import hardest_images, open_split, resolve_data_root, run_experiment

    context = _context(profile, data_root, device, progress, results_dir, config_kwargs)
    row = spec("lgnet_figure7_qualitative").rows[0]
    # A figure shows one trained model: the row's first seed.
    config = context.config(row.variant, seed=context.row_seeds()[0], **row.options)
    run = run_experiment(config, data_root=data_root, results_dir=results_dir, device=device, progress=progress)
    per_image = {row["name"]: row for row in run.details()["per_image"]}
    maps = run.maps()
    names = [name for name in hardest_images(list(per_image.values()), n_images) if name in maps]
    test_set = open_split(config.data, resolve_data_root(config.data, data_root), config.data.test_split)
    cases = []
    for name in names:
        row = per_image[name]
        cases.append({"image": name, "IoU": 100.0 * row["intersection"] / max(row["union"], 1), "targets": row["n_targets"],
                      "detected": row["n_matched"], "false alarm px": row["n_false_alarm_pixels"],
                      "target px": row["target_pixels"], "run": run.hash})
    table = pd.DataFrame(cases)
    threshold = run.metrics["threshold"]
    fig, axes = plt.subplots(len(table), 1 + max_insets, figsize=(2.6 * (1 + max_insets) + 1.5, 2.8 * len(table)), squeeze=False,
                             gridspec_kw={"width_ratios": [1.4] + [1.6] * max_insets})
    for row_axes, case in zip(axes, cases):
        sample = test_set[test_set.index_of(case["image"])]
        detection_row(row_axes, sample.image, sample.mask, maps[case["image"]], threshold=threshold,
                      title=f"{case['image']}: IoU {case['IoU']:.1f}", max_insets=max_insets)
    fig.suptitle("Hardest test images (green detected, red missed, yellow false alarm)", fontsize=9)
    fig.tight_layout()
    return fig, table
