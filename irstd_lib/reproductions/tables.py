"""One function builds a table from its spec: :func:`build_table`.

It trains (or reads) every row of a :class:`~irstd_lib.reproductions.specs.TableSpec` in a
:class:`~irstd_lib.reproductions.configs.RunContext`, hands the measured rows to the paper's
``render`` (which lays out the columns and the paper's values beside them: each paper module has
its own), then adds the bootstrap intervals over test images with each row's paired difference
from the spec's reference row (:mod:`~irstd_lib.reproductions.intervals`) and, where the spec
says so, the reference system's seed spread (:mod:`~irstd_lib.reproductions.seeds`).

Ground truth at test time: where any measured row's evaluation reads the test images' masks
(LGNet's mask-written descriptions in "text in training and test", SAIST's scene prompts written
with the target masked out by the test mask; :mod:`irstd_lib.runs.ground_truth`), the table gets
the column :data:`~irstd_lib.runs.ground_truth.COLUMN` (what reads which mask, or ``none``, for
every measured row) and its caption (``attrs["note"]``) a sentence naming those rows. A table
none of whose rows reads a test mask is left as it was.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

import pandas as pd

from irstd_lib.models import get_variant
from irstd_lib.reproductions.configs import RunContext, system_of
from irstd_lib.reproductions.intervals import with_intervals
from irstd_lib.reproductions.seeds import row_spreads, run_row, seed_spread, with_seed_spread
from irstd_lib.reproductions.specs import Row, TableSpec
from irstd_lib.runs.ground_truth import COLUMN as GROUND_TRUTH_COLUMN
from irstd_lib.runs.ground_truth import caption_note, row_label
from irstd_lib.scoring import with_hiou_column

__all__ = ["GROUND_TRUTH_COLUMN", "Measured", "build_table", "ground_truth_title", "has_description_files", "learned_rows", "measure",
           "rows_for", "with_ground_truth_labels"]


@dataclass(frozen=True)
class Measured:
    """A row of a spec with its run (a run record, or a :class:`~irstd_lib.reproductions.seeds.SeedRuns`),
    the evaluation it reads and its label on this dataset."""

    row: Row
    result: Any
    evaluation: str
    label: str

    @property
    def metrics(self) -> dict:
        return self.result.evaluation(self.evaluation)

    def per_image(self) -> list:
        return self.result.details(self.evaluation)["per_image"]

    @property
    def ground_truth_inputs(self) -> list[str]:
        """The inputs of this row's evaluation that read the test images' masks (empty: none)."""
        return self.result.ground_truth_inputs_at_test(self.evaluation)


def with_ground_truth_labels(table: pd.DataFrame, measured: Sequence[Measured]) -> pd.DataFrame:
    """``table`` (its first ``len(measured)`` rows the measured ones, in order) labelled where a
    row reads test ground truth: the column :data:`GROUND_TRUTH_COLUMN` (after the row's name)
    and a caption sentence before any other note; unchanged when no row does."""
    labels = [row_label(m.ground_truth_inputs) for m in measured]
    note = caption_note(labels, [m.label for m in measured])
    if not note:
        return table
    out = table.copy()
    out.insert(min(1, len(out.columns)), GROUND_TRUTH_COLUMN, labels + [None] * (len(out) - len(labels)))
    out.attrs = {**table.attrs, "note": " ".join(part for part in (note, table.attrs.get("note", "")) if part)}
    return out


def ground_truth_title(runs: Sequence[tuple[str, Any]], evaluation: str | None = None) -> str:
    """A figure's caption line for ``(label, run)`` pairs shown (their ``evaluation``, default
    each run's primary one): empty unless one of them reads test ground truth."""
    import textwrap

    labels = [row_label(result.ground_truth_inputs_at_test(evaluation)) for _, result in runs]
    return textwrap.fill(caption_note(labels, [label for label, _ in runs], what="methods shown"), width=150)


def has_description_files(data_root) -> bool:
    """Whether a row that ``needs="descriptions"`` exists: the synthetic set (its generator writes
    them) or a folder with ``descriptions/``."""
    return data_root is None or (Path(data_root) / "descriptions").is_dir()


def rows_for(spec: TableSpec, data_root=None) -> tuple[Row, ...]:
    """The spec's rows that exist for this dataset."""
    return tuple(r for r in spec.rows if r.needs != "descriptions" or has_description_files(data_root))


def learned_rows(rows: Sequence[Row]) -> tuple[Row, ...]:
    return tuple(r for r in rows if get_variant(r.variant).kind == "learned")


def measure(rows: Sequence[Row], context: RunContext, default_evaluation: Callable[[Any], str] | None = None) -> list[Measured]:
    """Train (or read) each learned row at the context's row seeds, one run per distinct
    ``(variant, options)``; ``default_evaluation(result)`` names the evaluation of a row that
    names none (default: the run's primary one)."""
    runs: dict[str, Any] = {}
    out = []
    for row in learned_rows(rows):
        key = repr((row.variant, sorted(row.options.items())))
        if key not in runs:
            runs[key] = run_row(context, row.variant, **row.options)
        result = runs[key]
        evaluation = row.evaluation or (default_evaluation(result) if default_evaluation else result.primary_evaluation)
        synthetic = result.config.data.dataset == "synthetic"
        label = row.synthetic_label if synthetic and row.synthetic_label else row.label
        out.append(Measured(row, result, evaluation, label))
    return out


def build_table(spec: TableSpec, context: RunContext,
                render: Callable[[TableSpec, list[Measured], RunContext], pd.DataFrame],
                rows: Sequence[Row] | None = None, default_evaluation: Callable[[Any], str] | None = None) -> pd.DataFrame:
    """The table of ``spec``: its rows (``rows``: a subset, default every row this dataset has)
    measured in ``context``, laid out by ``render``, with intervals and the seed spread as the
    spec says. The measured rows come first in the rendered table (paper-only rows after them)."""
    rows = rows_for(spec, context.data_root) if rows is None else tuple(rows)
    measured = measure(rows, context, default_evaluation)
    return with_ground_truth_labels(_measured_table(spec, context, render, measured), measured)


def _measured_table(spec: TableSpec, context: RunContext, render, measured: list[Measured]) -> pd.DataFrame:
    table = render(spec, measured, context)
    if not spec.intervals:
        return table
    reference = label = None
    if spec.reference is not None:
        # The reference row's position among the measured rows; where this dataset lacks it (a
        # folder without description files), the first measured row stands in.
        positions = [i for i, m in enumerate(measured) if m.row == spec.rows[spec.reference]]
        reference = positions[0] if positions else 0
        label = spec.reference_label or measured[reference].label
    table = with_intervals(table, [m.per_image() for m in measured], reference=reference, reference_label=label)
    # hIoU beside IoU/nIoU/Pd/Fa: measured where the record holds its counts, "—" where it predates them
    if not spec.seed_spread or reference is None:
        return with_hiou_column(table, [m.per_image() for m in measured])
    spread = seed_spread(system_of(spec.rows[spec.reference].variant), context)
    # each row by its own system's spread (a table of one system: every row the reference's)
    return with_hiou_column(with_seed_spread(table, spread, reference=reference, reference_label=label, measured_rows=len(measured),
                                             row_spreads=row_spreads([m.row.variant for m in measured], spread, context)),
                            [m.per_image() for m in measured])


@dataclass(frozen=True)
class ScoringTarget:
    """Where a spec's classical rows are scored: a test split and the evaluation's size and policy
    (:func:`~irstd_lib.runs.score_classical`)."""

    dataset: str
    data: Any
    data_root: Any
    size: int | None = None
    policy: str = "pad"


def scoring_targets(spec: TableSpec, context: RunContext) -> list[ScoringTarget]:
    """The test sets a spec's classical rows are scored on (see :mod:`~irstd_lib.reproductions.specs`):
    the data of its first learned row (at native size, or at that run's evaluation size and policy),
    or, for a spec without learned rows, the profile's synthetic set and the given folder at native
    size (its mask/image size mismatches resized, and recorded)."""
    from irstd_lib.runs import DataConfig

    learned = learned_rows(rows_for(spec, context.data_root))
    if learned:
        data = context.config(learned[0].variant, **learned[0].options).data
        size, policy = (data.eval_size, data.eval_policy) if spec.scoring_size == "eval" else (None, "pad")
        return [ScoringTarget(data.dataset, data, context.data_root, size, policy)]
    out = [ScoringTarget("synthetic", DataConfig(dataset="synthetic", synthetic=dict(context.profile.synthetic)), None)]
    if context.data_root is not None:
        name = Path(context.data_root).name
        out.append(ScoringTarget(name, DataConfig(dataset=name, on_size_mismatch="resize"), context.data_root))
    return out


def classical_rows(rows: Sequence[Row]) -> tuple[Row, ...]:
    return tuple(r for r in rows if get_variant(r.variant).kind == "classical")


def dataset_roots(profile, data_root=None) -> list:
    """The datasets a ``per_dataset`` spec makes a table for: the profile's synthetic set (when it
    has one) and every folder of ``data_root`` (one path or a list)."""
    import os

    from irstd_lib.profiles import get_profile

    p = get_profile(profile)
    roots: list = [] if data_root is None else ([data_root] if isinstance(data_root, (str, os.PathLike)) else list(data_root))
    targets = ([None] if p.dataset == "synthetic" else []) + roots
    if not targets:
        raise ValueError(f"profile {p.name!r} trains on a real dataset: pass data_root (one folder or a list)")
    return targets
