"""ACM under the field's toolbox protocol: this package, the toolbox's own code run here, the toolbox's README.

The field's toolbox (XinyiYing/BasicIRSTD) publishes ACM on NUAA-SIRST at 69.44 IoU / 92.02 Pd /
22.71 Fa (x1e-6) on its 213/214 split. This module puts three sources side by side, each row
labelled by what was measured:

- ``this package``: ACM trained by this package under the toolbox's protocol
  (``notebooks/configs/acm_toolbox_nuaa.json``: ``data.train_policy="basicirstd_toolbox"``, recipe
  ``basicirstd_toolbox``; :mod:`irstd_lib.runs.toolbox_protocol`), its record or the predictions of
  one of its checkpoints;
- ``toolbox run here``: the toolbox's ``train.py`` run on the same CPU, data and seed (its code
  outside this repository, patched only to run on CPU and to resume), its checkpoint's float score
  maps exported by the toolbox's own test loader;
- ``toolbox README``: the published row, from ``irstd_lib/reference/paper_tables.csv``.

Both frameworks' predictions are scored by the same code (:func:`irstd_lib.runs.external.score_external_run`:
this package's masks, metrics and per-image counts), so the intervals are comparable; the
toolbox's own metric code's numbers for the same maps are kept in the record's provenance.

A row is at the epoch it was trained to: while the 400-epoch runs are still under way, the rows
compare both frameworks at the same intermediate epoch (the toolbox saves ``ACM_<epoch>.pth.tar``
every 50 epochs; this package's run is snapshotted at the same epochs), and the caption says the
schedule had not run to its end.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd

from irstd_lib.bootstrap import bootstrap_intervals
from irstd_lib.paper_reference import reported
from irstd_lib.reproductions.intervals import _fmt_interval

__all__ = ["PACKAGE", "TOOLBOX_README", "TOOLBOX_RUN", "ParityRow", "ToolboxLog", "export_package_predictions",
           "parity_table", "read_toolbox_log", "record_package_checkpoint", "record_toolbox_checkpoint",
           "training_curves_figure"]

PACKAGE = "this package"
TOOLBOX_RUN = "toolbox run here"
TOOLBOX_README = "toolbox README"

PARITY_METRICS = ("IoU", "nIoU", "Pd", "Fa", "hIoU")
"""hIoU (PyIRSTDMetrics' hierarchical IoU) where the records hold its counts; the README does not report it."""

_LOSS_LINE = re.compile(r"Epoch---(\d+), total_loss---([0-9.eE+-]+)")
_EPOCH_TIME_LINE = re.compile(r"\[resume patch\] epoch (\d+) done in ([0-9.]+) s")
_TEST_IOU_LINE = re.compile(r"pixAcc, mIoU:\s*\(([^,]+), (?:np\.float64\()?([0-9.eE+-]+)\)?\)")
_TEST_PDFA_LINE = re.compile(r"PD, FA:\s*\(([0-9.eE+-]+), ([0-9.eE+-]+)\)")


@dataclass
class ToolboxLog:
    """What the toolbox's ``train.py`` printed: ``history`` (one row per epoch seen: ``epoch``,
    ``train_loss`` where it logged one, every 10 epochs, NaN otherwise, and ``time_s``, the epoch's
    wall seconds as the resume patch prints them), ``tests`` (its own in-training test every 50
    epochs: IoU, Pd in percent, Fa x1e-6, by its metric code) and ``starts`` (how many times the job
    was started or resumed)."""

    history: list[dict] = field(default_factory=list)
    tests: list[dict] = field(default_factory=list)
    starts: int = 0

    def upto(self, epoch: int) -> list[dict]:
        return [row for row in self.history if row["epoch"] <= epoch]


def read_toolbox_log(path: str | os.PathLike) -> ToolboxLog:
    """Parse the stdout log of the toolbox's training (an epoch redone after a resume keeps its last
    line). A log with no epoch line is an error naming the file."""
    path = Path(path)
    losses: dict[int, float] = {}
    times: dict[int, float] = {}
    tests: dict[int, dict] = {}
    starts = 0
    last_epoch = 0
    pending: dict | None = None
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        if line.startswith("=== "):
            starts += 1
        if m := _LOSS_LINE.search(line):
            last_epoch = int(m.group(1))
            losses[last_epoch] = float(m.group(2))
        elif m := _EPOCH_TIME_LINE.search(line):
            times[int(m.group(1))] = float(m.group(2))
        elif m := _TEST_IOU_LINE.search(line):
            pending = {"epoch": last_epoch, "IoU": 100.0 * float(m.group(2))}
        elif (m := _TEST_PDFA_LINE.search(line)) and pending is not None:
            pending.update(Pd=100.0 * float(m.group(1)), Fa=1e6 * float(m.group(2)))
            tests[pending["epoch"]] = pending
            pending = None
    epochs = sorted(set(losses) | set(times))
    if not epochs:
        raise ValueError(f"{path}: no epoch line of the toolbox's train.py found (is this its log?)")
    history = [{"epoch": e, "train_loss": losses.get(e, float("nan")), "time_s": times.get(e, float("nan"))} for e in epochs]
    return ToolboxLog(history, [tests[e] for e in sorted(tests)], starts)


def export_package_predictions(config, data_root, checkpoint: str | os.PathLike, out_dir: str | os.PathLike,
                               progress: bool = False) -> list[str]:
    """Write ``<name>.npy`` (the float score map at native size) for every test image of the run
    ``config`` (a :class:`~irstd_lib.runs.RunConfig`) with the weights of ``checkpoint`` (a
    ``last.pt`` of its cache folder, or a copy), through the run's own evaluation settings.
    Returns the names written."""
    from irstd_lib.engine.evaluate import predict_scores
    from irstd_lib.models.weights import load_weights
    from irstd_lib.runs.training import prepare_run

    prep = prepare_run(config, data_root)
    condition = prep.prepare_condition(progress)
    train_cfg = config.train_config("cpu", progress)
    model = load_weights(checkpoint, prep.build_model(condition.model_kwargs))
    conditioner = condition.evaluations[config.primary_evaluation]
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    names = []
    for sample, scores in predict_scores(model, prep.test_set, size=train_cfg.val_size, policy=train_cfg.eval_policy,
                                         conditioner=conditioner, progress=progress, amp=train_cfg.amp):
        np.save(out / f"{sample.name}.npy", scores.astype(np.float32))
        names.append(sample.name)
    return names


@dataclass(frozen=True)
class ParityRow:
    """One measured row: ``source`` (:data:`PACKAGE` or :data:`TOOLBOX_RUN`), the run records it is
    read from (one per seed; a trained run's record or an external scoring's), the ``epochs`` they
    were trained to, the seeds, and the seconds per epoch measured beside them (the median of the
    record's history when None)."""

    source: str
    runs: tuple[str, ...]
    epochs: int
    seeds: tuple[int, ...]
    s_per_epoch: float | None = None


def _median_epoch_seconds(run: str, results_dir) -> float:
    from irstd_lib.runs import read_history

    try:
        times = read_history(run, results_dir)["time_s"].to_numpy(dtype=float)
    except (FileNotFoundError, KeyError):
        return float("nan")
    times = times[np.isfinite(times)]
    return float(np.median(times)) if times.size else float("nan")


def parity_table(rows: Sequence[ParityRow], results_dir=None, method: str = "ACM", dataset: str = "NUAA-SIRST") -> pd.DataFrame:
    """The parity table: one line per measured row (metrics, their 95 % bootstrap interval over test
    images, the seed sd where there are several seeds, the seconds per epoch), then the toolbox
    README's row for ``method`` on ``dataset`` (its cells as published; nIoU and the intervals it
    does not report left empty)."""
    from irstd_lib.runs import load_run

    lines = []
    for row in rows:
        runs = [load_run(r, results_dir) for r in row.runs]
        per_image = [run.details()["per_image"] for run in runs]
        intervals = bootstrap_intervals(per_image if len(per_image) > 1 else per_image[0])
        line = {"method": method, "source": row.source, "epochs": row.epochs, "seeds": ", ".join(map(str, row.seeds))}
        for m in PARITY_METRICS:
            values = [float(run.metrics.get(m, float("nan"))) for run in runs]
            line[m] = float(np.mean(values))
            line[f"{m} 95% CI"] = _fmt_interval(intervals[m]["low"], intervals[m]["high"]) if m in intervals else ""
            line[f"{m} seed sd"] = float(np.std(values, ddof=1)) if len(values) > 1 else float("nan")
        by_run = [_median_epoch_seconds(r, results_dir) for r in row.runs]
        seconds = row.s_per_epoch if row.s_per_epoch is not None else float(np.nanmedian(by_run))
        line["s per epoch"] = seconds
        # Seeds may have run on different machines: each seed's own figure, beside their median.
        line["s per epoch by seed"] = "; ".join(f"{seed}: {value:.2f}" for seed, value in zip(row.seeds, by_run)) \
            if len(row.runs) > 1 else ""
        line["runs"] = ", ".join(row.runs)
        lines.append(line)
    published = reported("BasicIRSTD", dataset=dataset)
    published = published[published["method"] == method]
    if published.empty:
        raise KeyError(f"the toolbox README has no {method} row on {dataset} in paper_tables.csv")
    ref = published.iloc[0]
    line = {"method": method, "source": TOOLBOX_README, "epochs": 400, "seeds": "", "runs": ""}
    for m in PARITY_METRICS:
        line[m] = float(ref[m]) if m in ref.index else float("nan")
        line[f"{m} 95% CI"] = ""
        line[f"{m} seed sd"] = float("nan")
    line["s per epoch"] = float("nan")
    line["s per epoch by seed"] = ""
    lines.append(line)
    columns = ["method", "source", "epochs", "seeds"]
    for m in PARITY_METRICS:
        columns += [m, f"{m} 95% CI", f"{m} seed sd"]
    columns += ["s per epoch", "s per epoch by seed", "runs"]
    return pd.DataFrame(lines)[columns]


def training_curves_figure(curves: dict[str, pd.DataFrame], title: str = ""):
    """Training loss per epoch of each framework (``label -> DataFrame`` with ``epoch`` and
    ``train_loss``; NaN losses, the epochs a framework did not log, are skipped), with the epoch
    seconds below. Both minimise the same SoftIoU loss (1 - soft IoU over the batch), so the curves
    share a scale."""
    import matplotlib.pyplot as plt

    fig, (ax_loss, ax_time) = plt.subplots(2, 1, figsize=(7, 5.5), sharex=True, gridspec_kw={"height_ratios": [2, 1]})
    for label, frame in curves.items():
        frame = frame.sort_values("epoch")
        logged = frame[np.isfinite(frame["train_loss"].to_numpy(dtype=float))]
        ax_loss.plot(logged["epoch"], logged["train_loss"], marker="o" if len(logged) < 60 else None, ms=3, label=label)
        if "time_s" in frame:
            timed = frame[np.isfinite(frame["time_s"].to_numpy(dtype=float))]
            ax_time.plot(timed["epoch"], timed["time_s"], lw=0.8, label=label)
    ax_loss.set_ylabel("training loss (SoftIoU)")
    ax_loss.legend()
    ax_loss.set_title(title)
    ax_time.set_ylabel("s per epoch")
    ax_time.set_xlabel("epoch")
    ax_time.set_yscale("log")
    fig.tight_layout()
    return fig


def record_toolbox_checkpoint(pred_dir, log_path, epoch: int, data_config, data_root, results_dir=None,
                              provenance: dict | None = None):
    """Score the toolbox's exported maps of its epoch-``epoch`` checkpoint (``pred_dir``, with the
    ``toolbox_metrics.json`` its own metric code wrote beside them, if any) and record them with
    the log's history up to that epoch."""
    import json

    from irstd_lib.runs.external import score_external_run

    log = read_toolbox_log(log_path)
    own = Path(pred_dir) / "toolbox_metrics.json"
    info = dict(provenance or {}, epoch=epoch, toolbox_log_starts=log.starts)
    if own.is_file():
        info["toolbox_metrics"] = json.loads(own.read_text())
    return score_external_run("acm", f"BasicIRSTD, epoch {epoch}", pred_dir, data_config, data_root, results_dir,
                              provenance=info, history=log.upto(epoch))


def record_package_checkpoint(config, checkpoint, data_root, results_dir=None, work_dir=None, provenance: dict | None = None):
    """Export the predictions of one checkpoint of this package's run ``config`` and record them
    like the toolbox's (so both frameworks' checkpoints are scored by one path), with the
    checkpoint's history."""
    import tempfile

    from irstd_lib.models.weights import torch_load
    from irstd_lib.runs.external import score_external_run
    from irstd_lib.runs.training import prepare_run

    state = torch_load(checkpoint)
    epoch = int(state["epoch"])
    digest = prepare_run(config, data_root).hash
    history = [{k: row[k] for k in ("epoch", "train_loss", "lr", "time_s") if k in row} for row in state["history"]]
    with tempfile.TemporaryDirectory(dir=work_dir) as tmp:
        export_package_predictions(config, data_root, checkpoint, tmp)
        return score_external_run(config.model, f"irstd-lang, epoch {epoch} of run {digest}", tmp, config.data, data_root,
                                  results_dir, provenance=dict(provenance or {}, epoch=epoch, run=digest), history=history)


def parity_caption(table: pd.DataFrame, dataset: str = "NUAA-SIRST", note: str = "") -> str:
    """What the parity table's rows are, in words: the epochs they were trained to, how they are
    scored; ``note`` (where the runs ran, say) ends it."""
    measured = table[table["source"] != TOOLBOX_README]
    epochs = sorted(set(int(e) for e in measured["epochs"]))
    unfinished = [e for e in epochs if e < 400]
    text = (f"ACM on {dataset} under the toolbox's protocol (its 213/214 split, 256 crops, SoftIoU, Adam 5e-4, batch 16, "
            f"MultiStepLR at 200 and 300, 400 epochs; test on whole images padded to a multiple of 32, threshold 0.5). "
            f"'{PACKAGE}': trained by irstd-lang (notebooks/configs/acm_toolbox_nuaa.json); '{TOOLBOX_RUN}': the toolbox's "
            f"own train.py (XinyiYing/BasicIRSTD 95650c3, patched only to run on CPU and resume), same CPU, data and seed; "
            f"both scored by this package's metric code from their float score maps (Fa x1e-6, pixels; 95% bootstrap "
            f"intervals over the test images). '{TOOLBOX_README}': the published row, as reported. ")
    if unfinished:
        text += (f"Rows at epoch {', '.join(map(str, unfinished))} are checkpoints of the 400-epoch runs, "
                 f"compared at the same epoch"
                 + (" (before the first learning-rate step at 200)" if max(unfinished) <= 200 else "")
                 + "; they are not the protocol's final numbers. ")
    if (measured["seeds"].astype(str).str.contains(",")).any():
        text += ("A row of several seeds gives their mean, its interval resamples the test images of every seed's run, "
                 "and 'seed sd' is the sd over the seeds. ")
    text += ("'s per epoch': the median wall seconds per epoch of the run's history (of several seeds' runs, the median of "
             "theirs; 's per epoch by seed' gives each, since a seed's two runs ran side by side on one machine but "
             "seeds may have run on different machines), 1 thread, on a 2-core machine (not a speed comparison: "
             "irstd_lib.benchmarks.toolbox_speed measures both side by side). ")
    text += ("One difference in scoring: NUAA-SIRST's Misc_111 has a mask larger than its image; this package resizes the "
             "mask to the image, the toolbox's loader crops the mask's top-left corner (with that crop this package's "
             "metric code gives the toolbox's own numbers exactly).")
    return text + (" " + note.strip() if note.strip() else "")
