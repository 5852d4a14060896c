"""Run records: the one module that knows a run folder's layout.

Every finished run, trained or classical, is a folder named by its hash
(:mod:`irstd_lib.runs.identity`) under the results folder::

    results/runs/<hash>/config.json     the config and its identity
    results/runs/<hash>/metrics.json    test metrics of every evaluation the run records, the
                                        primary one named; dataset issues; parameter counts;
                                        which inputs read test masks (reads_test_ground_truth,
                                        test_ground_truth_inputs: irstd_lib.runs.ground_truth)
    results/runs/<hash>/details.json    per evaluation: per-image counts and the Pd-Fa ROC
    results/runs/<hash>/maps.npz        score maps (uint8, /255) of the primary evaluation for
                                        the first test images and the hardest ones
    results/runs/<hash>/inspection.npz  the model's inspection maps of the first 3 test images
                                        (float16; only models that have some, e.g. SAIST)
    results/runs/<hash>/history.csv     the training curve
    results/runs/<hash>/preview.png     the first test images, masks and score maps

A classical scoring (:func:`~irstd_lib.runs.score_classical`) has ``config.json`` (its method
and identity), ``metrics.json`` with a ``test`` evaluation, ``details.json`` and ``maps.npz``.
``metrics.json`` is written last, so a run counts as finished only when everything else is in
place.

So every table and figure renders from committed records, without a checkpoint. Checkpoints live
in the cache folder (``$IRSTD_CACHE/runs/<hash>/``, :func:`checkpoint_folder`), never in the
repository, so an interrupted run resumes from its last checkpoint and a finished run is not
retrained.

Here: reading (:func:`load_run`, :func:`find_run`, :func:`read_history`, :func:`finished_runs`,
:class:`RunResult`, :class:`ScoredRun`), finding a folder (:func:`run_folder`,
:func:`record_file`) and writing the files (``write_*``).
"""

from __future__ import annotations

import io
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import numpy as np

from irstd_lib.io import atomic_save, atomic_write_json
from irstd_lib.paths import cache_dir
from irstd_lib.results import results_root
from irstd_lib.runs.config import RunConfig

__all__ = [
    "INSPECTED_IMAGES",
    "PREVIEW_IMAGES",
    "RunResult",
    "ScoredRun",
    "checkpoint_folder",
    "find_run",
    "finished_runs",
    "load_run",
    "read_history",
    "record_file",
    "run_folder",
    "runs_root",
]

PREVIEW_IMAGES = 4
"""Score maps kept per run: the first test images and as many of the hardest."""

INSPECTED_IMAGES = 3
"""Inspection maps kept per run (models that have some): the first test images."""

RUNS_FOLDER = "runs"
CONFIG_FILE = "config.json"
RECORD_FILE = "metrics.json"
DETAILS_FILE = "details.json"
MAPS_FILE = "maps.npz"
INSPECTION_FILE = "inspection.npz"
HISTORY_FILE = "history.csv"
PREVIEW_FILE = "preview.png"


# ---------------------------------------------------------------------------------------------
# Where runs are


def runs_root(results_dir: str | os.PathLike | None = None) -> Path:
    """The folder holding every run folder: ``<results>/runs``."""
    return results_root(results_dir) / RUNS_FOLDER


def run_folder(run: str | os.PathLike, results_dir: str | os.PathLike | None = None) -> Path:
    """A run's folder, given the folder itself or the run's hash."""
    path = Path(run)
    return path if path.is_dir() else runs_root(results_dir) / str(run)


def record_file(run: str | os.PathLike, results_dir: str | os.PathLike | None = None) -> Path:
    """The path of a run's record (``metrics.json``; it exists once the run is finished), given
    its hash or its folder."""
    return run_folder(run, results_dir) / RECORD_FILE


def checkpoint_folder(digest: str) -> Path:
    """The cache folder of a run's checkpoints (and fresh metrics): ``$IRSTD_CACHE/runs/<hash>``."""
    return cache_dir(RUNS_FOLDER, digest)


# ---------------------------------------------------------------------------------------------
# Reading


class _RecordedRun:
    """What a finished run's record files give, trained or classical: the metrics of its primary
    evaluation, any evaluation by name, per-image counts and ROC, kept score maps."""

    hash: str
    run_dir: Path
    record: dict

    @property
    def primary_evaluation(self) -> str:
        raise NotImplementedError

    @property
    def metrics(self) -> dict:
        """Test metrics of the primary evaluation."""
        return self.record[self.primary_evaluation]

    def evaluation(self, name: str) -> dict:
        try:
            return self.record[name]
        except KeyError:
            raise KeyError(f"run {self.hash} has no evaluation {name!r}; it has {self.record.get('evaluations')}") from None

    def ground_truth_inputs_at_test(self, evaluation: str | None = None) -> list[str]:
        """The inputs of an evaluation (default: the primary one) that read the test images'
        ground-truth masks, in words; empty when none does. From the record, or derived from the
        stored config for a record older than the label (:mod:`irstd_lib.runs.ground_truth`)."""
        from irstd_lib.runs.ground_truth import ground_truth_inputs_of

        return ground_truth_inputs_of(self, evaluation)

    def details(self, evaluation: str | None = None) -> dict:
        """Per-image counts and ROC of an evaluation (default: the primary one)."""
        details = json.loads((self.run_dir / DETAILS_FILE).read_text(encoding="utf-8"))
        return details[evaluation or self.primary_evaluation]

    def maps(self) -> dict[str, np.ndarray]:
        """``name -> score map`` (float32 in [0, 1]) of the primary evaluation's kept images."""
        with np.load(self.run_dir / MAPS_FILE, allow_pickle=False) as data:
            return {name: data[name].astype(np.float32) / 255.0 for name in data.files}


@dataclass
class RunResult(_RecordedRun):
    """A finished run: its hash, folder and record (see the module docstring)."""

    config: RunConfig
    hash: str
    run_dir: Path
    checkpoint_dir: Path
    record: dict

    @property
    def primary_evaluation(self) -> str:
        """The config's primary evaluation (``test_without_text`` for LGNet trained with text)."""
        return self.config.primary_evaluation

    def inspection(self) -> dict[str, dict[str, np.ndarray]]:
        """``name -> {map -> float32 H x W}``: the model's inspection maps kept for the first test
        images (empty for models that have none)."""
        path = self.run_dir / INSPECTION_FILE
        if not path.is_file():
            return {}
        out: dict[str, dict[str, np.ndarray]] = {}
        with np.load(path, allow_pickle=False) as data:
            for key in data.files:
                name, _, map_name = key.rpartition("/")
                out.setdefault(name, {})[map_name] = data[key].astype(np.float32)
        return out

    def history(self):
        return _read_history_at(self.run_dir)


@dataclass
class ScoredRun(_RecordedRun):
    """A classical method scored on a test split (see :func:`~irstd_lib.runs.score_classical`)."""

    method: str
    hash: str
    run_dir: Path
    record: dict
    primary_evaluation = "test"


def is_finished(run_dir: Path) -> bool:
    """Whether the run folder ``run_dir`` holds its record (``metrics.json``, written last)."""
    return (Path(run_dir) / RECORD_FILE).is_file()


def read_record(run_dir: Path) -> dict:
    """The record (``metrics.json``) in the run folder ``run_dir``."""
    return json.loads((Path(run_dir) / RECORD_FILE).read_text(encoding="utf-8"))


def load_run(run: str | os.PathLike, results_dir: str | os.PathLike | None = None) -> "RunResult | ScoredRun":
    """A finished run (trained: :class:`RunResult`; a classical score: :class:`ScoredRun`) from
    its record, given its hash or its folder."""
    record = find_run(run, results_dir)
    path = run_folder(run, results_dir)
    saved = json.loads((path / CONFIG_FILE).read_text(encoding="utf-8"))
    if "method" in saved:
        return ScoredRun(saved["method"], saved["hash"], path, record)
    return RunResult(RunConfig.from_dict(saved["config"]), saved["hash"], path, checkpoint_folder(saved["hash"]), record)


def find_run(run: str | os.PathLike, results_dir: str | os.PathLike | None = None) -> dict:
    """The record (metrics.json) of a finished run, given its hash or its folder."""
    metrics = record_file(run, results_dir)
    if not metrics.is_file():
        raise FileNotFoundError(f"{metrics}: no finished run here (train it with `python -m irstd_lib train --config ...`)")
    return json.loads(metrics.read_text(encoding="utf-8"))


def read_history(run: str | os.PathLike, results_dir: str | os.PathLike | None = None):
    """A trained run's training curve (``history.csv``: one row per epoch) as a DataFrame, given
    its hash or its folder."""
    return _read_history_at(run_folder(run, results_dir))


def _read_history_at(run_dir: Path):
    import pandas as pd

    return pd.read_csv(Path(run_dir) / HISTORY_FILE)


def finished_runs(results_dir: str | os.PathLike | None = None) -> Iterator[tuple[dict, dict]]:
    """``(saved config, record)`` of every finished run under ``<results>/runs/``, in hash order:
    the contents of its ``config.json`` (a trained run's has ``"config"``, a classical scoring's
    ``"method"``; both have ``"hash"`` and ``"identity"``) and of its ``metrics.json``. Folders
    without both files are skipped."""
    for config_path in sorted(runs_root(results_dir).glob(f"*/{CONFIG_FILE}")):
        metrics_path = config_path.with_name(RECORD_FILE)
        if not metrics_path.is_file():
            continue
        yield json.loads(config_path.read_text()), json.loads(metrics_path.read_text())


# ---------------------------------------------------------------------------------------------
# Writing (into a run folder)


def write_config(run_dir: Path, saved: dict[str, Any]) -> None:
    """``config.json``: written first, when a run starts."""
    atomic_write_json(Path(run_dir) / CONFIG_FILE, saved)


def write_record(run_dir: Path, record: dict[str, Any]) -> None:
    """``metrics.json``: written last; from then on the run counts as finished."""
    atomic_write_json(Path(run_dir) / RECORD_FILE, record)


def write_details(run_dir: Path, details: dict[str, Any]) -> None:
    atomic_write_json(Path(run_dir) / DETAILS_FILE, details)


def write_maps(run_dir: Path, maps: dict[str, np.ndarray]) -> None:
    """``maps.npz``: score maps in [0, 1], kept as uint8 (/255)."""
    _write_npz(Path(run_dir) / MAPS_FILE, {name: np.clip(np.rint(m * 255.0), 0, 255).astype(np.uint8) for name, m in maps.items()})


def write_inspection(run_dir: Path, inspection: dict[str, dict[str, np.ndarray]]) -> None:
    """``inspection.npz``: ``name -> {map -> array}``, kept as float16 under ``name/map``."""
    _write_npz(Path(run_dir) / INSPECTION_FILE,
               {f"{name}/{key}": value.astype(np.float16) for name, row in inspection.items() for key, value in row.items()})


def _write_npz(path: Path, arrays: dict[str, np.ndarray]) -> None:
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)
    atomic_save(path, lambda f: f.write(buffer.getvalue()))


def write_history(run_dir: Path, history: list[dict]) -> None:
    """``history.csv``: the training curve, one row per epoch."""
    import pandas as pd

    from irstd_lib.io import atomic_write_text

    atomic_write_text(Path(run_dir) / HISTORY_FILE, pd.DataFrame(history).to_csv(index=False))


def write_preview(run_dir: Path, dataset, maps: dict[str, np.ndarray], n: int = PREVIEW_IMAGES) -> None:
    """``preview.png``, a small figure: the first ``n`` test images, their masks and the
    predicted scores."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    names = [name for name in dataset.names[:n] if name in maps]
    fig, axes = plt.subplots(3, len(names), figsize=(2.2 * len(names), 6.6), squeeze=False)
    for col, name in enumerate(names):
        sample = dataset[dataset.index_of(name)]
        for row, (image, title) in enumerate(((sample.image, name), (sample.mask, "mask"), (maps[name], "score"))):
            ax = axes[row, col]
            ax.imshow(image, cmap="gray", vmin=0, vmax=1)
            ax.set_title(title, fontsize=8)
            ax.axis("off")
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=80, metadata={"Software": None})
    plt.close(fig)
    atomic_save(Path(run_dir) / PREVIEW_FILE, lambda f: f.write(buffer.getvalue()))
