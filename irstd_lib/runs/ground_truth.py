"""Ground truth at test time, labelled: which inputs of a run read the test images' masks.

A detector meets a test image without its mask. A run whose test-time inputs are computed from
the test image's ground-truth mask (LGNet's ``semantic`` and ``quadrant`` descriptions of test
images in the ``test_with_text`` evaluation, SAIST's scene prompts written with the target
masked out by the test mask, SAIST's CLIP fed the test image with its targets removed by the
mask) measures something else than detection, an upper bound at best. So each run says so:

- :func:`label_test_ground_truth` derives it from a run's config alone: the conditioning kind's
  :meth:`~irstd_lib.conditioning.ConditioningKind.ground_truth_inputs_at_test` for each
  evaluation the run records, and the model's own (a system's builder module may define
  ``ground_truth_inputs_at_test(**model_kwargs)``, as SAIST's does). It gives
  ``{"reads_test_ground_truth": bool, "test_ground_truth_inputs": {evaluation: [input, ...]}}``,
  each input a sentence saying what reads which mask;
- every new record (``metrics.json``) holds those two keys; a record made before they existed
  gets them from its stored config when it is read (:func:`ground_truth_inputs_of`), so no
  committed record had to change;
- tables (:func:`irstd_lib.reproductions.tables.build_table`) give every row a column
  :data:`COLUMN` and the table a caption sentence (:func:`caption_note`); figures showing such a
  run say it in their title.

Training-time use of the training masks is not listed: that is what training labels are for.
Validation is evaluation: the validation images' inputs follow the test images' settings.
"""

from __future__ import annotations

import importlib
from typing import Any, Iterable

from irstd_lib.runs.config import RunConfig

__all__ = ["COLUMN", "INPUTS_KEY", "NO_TEST_GROUND_TRUTH", "READS_KEY", "caption_note", "ground_truth_inputs_of",
           "label_test_ground_truth", "row_label"]

READS_KEY = "reads_test_ground_truth"
INPUTS_KEY = "test_ground_truth_inputs"
COLUMN = "test ground truth read at test time"
NO_TEST_GROUND_TRUTH = "none"


def _model_inputs(config: RunConfig) -> tuple[str, ...]:
    """The model's own inputs that read test masks, by its builder module's
    ``ground_truth_inputs_at_test`` (none when the module has no such function)."""
    module = config.variant.builder_path.partition(":")[0]
    reader = getattr(importlib.import_module(module), "ground_truth_inputs_at_test", None)
    return tuple(reader(**config.resolved_model_kwargs)) if reader is not None else ()


def label_test_ground_truth(config: RunConfig) -> dict[str, Any]:
    """``{"reads_test_ground_truth": bool, "test_ground_truth_inputs": {evaluation: [inputs]}}``
    of a run config: for each evaluation the run records, the inputs that read the test images'
    ground-truth masks, in words (an empty list where none does); ``reads_test_ground_truth`` is
    True when any evaluation has one (see the module docstring)."""
    from irstd_lib.conditioning import get_kind

    kind = get_kind(config.conditioning_kind)
    settings = config.condition_settings
    model = list(_model_inputs(config))
    inputs = {name: list(kind.ground_truth_inputs_at_test(settings, name, config.data.dataset)) + model
              for name in kind.evaluation_names(settings)}
    return {READS_KEY: any(inputs.values()), INPUTS_KEY: inputs}


def ground_truth_inputs_of(result: Any, evaluation: str | None = None) -> list[str]:
    """The inputs of a finished run's evaluation (default: its primary one) that read test
    masks: the record's own label, or, for a record written before labels existed, the label
    derived from the run's stored config. A classical scoring (no config) reads none."""
    name = evaluation or result.primary_evaluation
    record = getattr(result, "record", {}) or {}
    if INPUTS_KEY in record:
        return list(record[INPUTS_KEY].get(name, []))
    config = getattr(result, "config", None)
    if not isinstance(config, RunConfig):
        return []
    return label_test_ground_truth(config)[INPUTS_KEY].get(name, [])


def row_label(inputs: Iterable[str]) -> str:
    """A table cell: the inputs joined, or :data:`NO_TEST_GROUND_TRUTH`."""
    inputs = list(inputs)
    return "; ".join(inputs) if inputs else NO_TEST_GROUND_TRUTH


def caption_note(labels: Iterable[str], names: Iterable[str] | None = None, what: str = "rows") -> str:
    """The caption sentence of a table (or, ``what="methods shown"``, a figure) whose rows have
    these :func:`row_label` cells and these names: empty when none reads test ground truth."""
    labels = list(labels)
    names = list(names) if names is not None else [f"row {i}" for i in range(len(labels))]
    reading = [(n, label) for n, label in zip(names, labels) if label and label != NO_TEST_GROUND_TRUTH]
    if not reading:
        return ""
    inputs = " | ".join(sorted({label for _, label in reading}))
    where = f" (column '{COLUMN}')" if what == "rows" else ""
    return (f"READS TEST GROUND TRUTH: {len(reading)} of {len(labels)} {what} ({', '.join(n for n, _ in reading)}) are "
            f"measured with inputs computed from the test images' ground-truth masks: {inputs}. They are not results a "
            f"detector could reach without the masks{where}.")
