"""LGNet's tables (Chib & Singh, "Leveraging Language Prior for Infrared Small Target Detection").

Each function trains (or reuses, see :mod:`irstd_lib.experiments`) the runs its table needs and
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
which case that folder is used (named by its folder name, e.g. ``NUAA-SIRST``).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

from irstd_lib.bootstrap import METRICS
from irstd_lib.experiments import RunConfig, RunResult, run_experiment
from irstd_lib.paper_reference import reported, side_by_side
from irstd_lib.profiles import get_profile
from irstd_lib.reproductions.intervals import error_bars, with_intervals
from irstd_lib.reproductions.seeds import planned_spread_runs, row_seeds, run_row, seed_cells, seed_spread, with_seed_spread

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
) -> RunConfig:
    """The run config of one LGNet row under a profile.

    ``variant``: ``baseline``, ``fusion`` (no language fusion block: no conditioning at all) or
    ``full`` (LGNet, conditioned on the target descriptor with ``language`` and
    ``descriptions``). ``descriptions``: ``files`` (the dataset's own), ``quadrant`` or
    ``semantic``; default ``files`` for the synthetic set (its generator writes them) and
    ``semantic`` for a real folder without description files.
    """
    if variant not in VARIANTS:
        raise ValueError(f"unknown LGNet variant {variant!r}; choose one of {', '.join(VARIANTS)}")
    p = get_profile(profile)
    dataset = p.dataset_for(data_root)
    if descriptions is None:
        has_files = dataset == "synthetic" or (data_root is not None and (Path(data_root) / "descriptions").is_dir())
        descriptions = "files" if has_files else "semantic"
    train = dict(p.train)
    if epochs is not None:
        train["epochs"] = int(epochs)
    conditioning = {}
    if variant == "full":
        conditioning = {"language": language, "descriptions": descriptions, "clip": p.clip, "clip_checkpoint": clip_checkpoint}
        if p.clip_text != "frozen" and language != "never":
            conditioning["clip_text"] = p.clip_text
    elif language != "never":
        raise ValueError(f"variant {variant!r} has no language fusion block: use language='never'")
    return RunConfig(
        model=VARIANTS[variant],
        model_kwargs={"width": p.lgnet_width},
        data=p.data_config(dataset),
        conditioning=conditioning,
        train=train,
        seed=p.seed if seed is None else int(seed),
        profile=p.name,
    )


def _row(setting: str, paper_row: str | None, run: RunResult, evaluation: str) -> dict:
    metrics = run.evaluation(evaluation)
    return {"setting": setting, "paper row": paper_row or "", **{m: metrics[m] for m in METRICS}, **seed_cells(run, evaluation),
            "dataset": run.config.data.dataset, "profile": run.config.profile, "run": run.hash}


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


def _per_image(rows) -> list:
    """The per-image counts behind each measured row ``(setting, paper row, run, evaluation)``."""
    return [run.details(evaluation)["per_image"] for _, _, run, evaluation in rows]


def _run(profile: str, variant: str, language: str, descriptions: str | None, data_root, device: str, progress: bool, results_dir,
         config_kwargs: dict):
    """One LGNet row trained (or read) at each of its seeds (:func:`~irstd_lib.reproductions.seeds.row_seeds`)."""
    kwargs = {k: v for k, v in config_kwargs.items() if k not in ("seed", "seeds")}
    return run_row(lambda s: lgnet_config(profile, variant, language, descriptions, data_root=data_root, seed=s, **kwargs),
                   row_seeds(profile, config_kwargs.get("seed"), config_kwargs.get("seeds")), data_root, results_dir, device,
                   progress)


def table2_language_availability(
    profile: str = "smoke", data_root=None, device: str = "cpu", progress: bool = True, results_dir=None, **config_kwargs
) -> pd.DataFrame:
    """Table 2: language never / in training only / in training and test, plus the row its
    question asks for: the full architecture trained and tested with the image-only descriptor."""
    def run(variant: str, language: str) -> RunResult:
        return _run(profile, variant, language, None, data_root, device, progress, results_dir, config_kwargs)

    baseline, image_only, full = run("baseline", "never"), run("full", "never"), run("full", "train")
    rows = [
        ("baseline (no language fusion block), no text", "language never (baseline)", baseline, baseline.primary_evaluation),
        ("full model, image-only descriptor, no text in training or test", None, image_only, image_only.primary_evaluation),
        ("full model, text in training, image only at test", "language in training only", full, "test_without_text"),
        ("full model, text in training and test", "language in training and test", full, "test_with_text"),
    ]
    measured = pd.DataFrame([_row(*row) for row in rows])
    # Differences are taken against the full model with the image-only descriptor: the row that
    # differs from the language rows in language alone (the baseline also lacks the blocks).
    table = with_intervals(_beside_paper(measured, reported("LGNet", "2")), _per_image(rows), reference=1,
                           reference_label="image-only full model")
    spread = seed_spread("lgnet", profile, data_root, device, progress, results_dir, **config_kwargs)
    return with_seed_spread(table, spread, reference=1, reference_label="image-only full model", measured_rows=len(rows))


def table6_components(
    profile: str = "smoke", data_root=None, device: str = "cpu", progress: bool = True, results_dir=None, **config_kwargs
) -> pd.DataFrame:
    """Table 6: baseline, + fusion block, + language fusion block (text in training only)."""
    rows = []
    for setting, paper_row, variant, language in (
        ("baseline", "baseline", "baseline", "never"),
        ("+fusion block", "+fusion block", "fusion", "never"),
        ("+language fusion block (text in training, image only at test)", "+language fusion block", "full", "train"),
    ):
        run = _run(profile, variant, language, None, data_root, device, progress, results_dir, config_kwargs)
        rows.append((setting, paper_row, run, run.primary_evaluation))
    measured = pd.DataFrame([_row(*row) for row in rows])
    table = with_intervals(_beside_paper(measured, reported("LGNet", "6")), _per_image(rows), reference=0, reference_label="baseline")
    spread = seed_spread("lgnet", profile, data_root, device, progress, results_dir, **config_kwargs)
    return with_seed_spread(table, spread, reference=0, reference_label="baseline", measured_rows=len(rows))


DESCRIPTION_SOURCES = {
    # our source -> (what was measured, the paper's row it stands beside: Table 3 / section 5.6.4)
    "files": ("the dataset's description files", "descriptions by GPT-4V"),
    "semantic": ("semantic template (from the masks)", "semantic descriptions"),
    "quadrant": ("quadrant-only template (from the masks)", "quadrant-only descriptions"),
}


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
    if sources is None:
        files_available = data_root is None or (Path(data_root) / "descriptions").is_dir()
        sources = ("files", "semantic", "quadrant") if files_available else ("semantic", "quadrant")
    rows, measured_runs = [], []
    for source in sources:
        run = _run(profile, "full", "train", source, data_root, device, progress, results_dir, config_kwargs)
        setting, paper_row = DESCRIPTION_SOURCES[source]
        if source == "files" and run.config.data.dataset == "synthetic":
            setting = "the synthetic generator's own descriptions"
        measured_runs.append((setting, paper_row, run, "test_without_text"))
        row = _row(setting, paper_row, run, "test_without_text")
        row["source"] = source
        row["IoU with text"] = run.record["test_with_text"]["IoU"]
        row["nIoU with text"] = run.record["test_with_text"]["nIoU"]
        rows.append(row)
    paper = pd.concat([reported("LGNet", "3"), reported("LGNet", "5.6.4")], ignore_index=True)
    paper = paper.drop_duplicates("setting")
    table = _beside_paper(pd.DataFrame(rows), paper, metrics=("IoU", "nIoU"))
    extra = [c for c in ("Pd", "Fa") if c in table]
    table = table[[c for c in table.columns if c not in extra] + extra]
    table = with_intervals(table, _per_image(measured_runs), reference=0, reference_label=measured_runs[0][0])
    # The spread of LGNet's baseline stands in for the full model's (see irstd_lib.reproductions.seeds).
    spread = seed_spread("lgnet", profile, data_root, device, progress, results_dir, **config_kwargs)
    return with_seed_spread(table, spread, reference=0, reference_label=measured_runs[0][0], measured_rows=len(measured_runs))


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

    from irstd_lib.results import results_root

    fig, ax = plt.subplots(figsize=(5.5, 3.4))
    for _, row in table.dropna(subset=["run"]).iterrows():
        run = str(row["run"]).split("+")[0]
        if not run:
            continue
        history = pd.read_csv(results_root(results_dir) / "runs" / run / "history.csv")
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
    from irstd_lib.experiments import open_split, resolve_data_root
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

    from irstd_lib.experiments import hardest_images, open_split, resolve_data_root
    from irstd_lib.figures import detection_row

    # A figure shows one trained model: the row's first seed.
    seed = row_seeds(profile, config_kwargs.get("seed"), config_kwargs.get("seeds"))[0]
    kwargs = {k: v for k, v in config_kwargs.items() if k not in ("seed", "seeds")}
    config = lgnet_config(profile, "full", "train", data_root=data_root, seed=seed, **kwargs)
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


def planned_runs(profile: str = "smoke", data_root=None, clip_checkpoint=None, sam_checkpoint=None) -> list:
    """The runs LGNet's notebooks train under ``profile`` (``reproduce`` gives them ``profile``
    and ``data_root`` only), each built by :func:`lgnet_config` as the table functions build it,
    with the notebooks that use it (:class:`~irstd_lib.reproductions.plan.PlannedRun`).
    ``sam_checkpoint`` is accepted for a uniform interface (LGNet has no SAM)."""
    from irstd_lib.reproductions.plan import PlannedRun, checkpoint_stand_ins, merge_planned

    clip_checkpoint, _ = checkpoint_stand_ins(profile, clip_checkpoint, None)
    root = None if data_root is None else str(data_root)

    def config(variant: str, language: str = "never", descriptions: str | None = None) -> RunConfig:
        return lgnet_config(profile, variant, language, descriptions, data_root=data_root, clip_checkpoint=clip_checkpoint)

    # The sources description_sources picks when none are given.
    files_available = data_root is None or (Path(data_root) / "descriptions").is_dir()
    sources = ("files", "semantic", "quadrant") if files_available else ("semantic", "quadrant")
    notebooks = {
        "lgnet_table2_language_availability": [config("baseline"), config("full", "never"), config("full", "train")],
        "lgnet_table6_components": [config("baseline"), config("fusion"), config("full", "train")],
        "lgnet_description_sources": [config("full", "train", source) for source in sources],
        "lgnet_figure7_qualitative": [config("full", "train")],
    }
    spread = planned_spread_runs("lgnet", profile, ("lgnet_table2_language_availability", "lgnet_table6_components",
                                                    "lgnet_description_sources"), data_root, clip_checkpoint=clip_checkpoint)
    return merge_planned([*(PlannedRun(c, (notebook,), root) for notebook, configs in notebooks.items() for c in configs), *spread])
