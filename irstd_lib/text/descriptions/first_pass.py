"""The ``first_pass`` source: the position text written from a model's own prediction, never from
the ground-truth mask.

LGNet's descriptions come from GPT-4V looking at the image ("Utilizing the state-of-the-art GPT-4
vision model, we generate text descriptions that provide the locations of small targets in
infrared images"), not at a mask; the ``quadrant`` and ``semantic`` templates read the mask, so
text from them at test time reads the test label. This source is the test-time text that reads
no label: an image-only pass of the model predicts the targets, and the *same* text writer the
mask-derived sources use (:class:`~irstd_lib.text.descriptions.semantic.SemanticSource` or
:class:`~irstd_lib.text.descriptions.quadrant.QuadrantSource`) describes that prediction as if it
were the mask. A second pass reads the text (:mod:`irstd_lib.models.lgnet.first_pass`).

The source is handed the prediction through ``predict(sample) -> H x W bool`` (at the sample's
native size, as the mask-derived writers measure); it gives the writer a copy of the sample
whose mask *is* the prediction, so ``sample.mask`` is never read (``uses_ground_truth = False``;
a dataset whose masks are all empty gives the same texts).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from irstd_lib.text.descriptions.registry import DescriptionSource, get_source, register_source
from irstd_lib.text.descriptions.types import Description, SampleLike

__all__ = ["FIRST_PASS_WRITERS", "FirstPassSource"]

#: the mask-derived writers a first pass may use: their text follows the mask alone
FIRST_PASS_WRITERS = ("semantic", "quadrant")


@dataclass
class _PredictedSample:
    """What the writer reads: the image, and the first pass's prediction in the mask's place."""

    name: str
    image: np.ndarray
    mask: np.ndarray
    description: str | None = None


@register_source("first_pass")
class FirstPassSource(DescriptionSource):
    """Text from a first-pass prediction by a mask-derived writer (reads no ground truth).

    ``predict``: ``sample -> H x W`` boolean prediction at the sample's native size (the model's
    image-only pass, thresholded as the evaluation thresholds it). ``writer``: ``"semantic"``
    (default) or ``"quadrant"``, built with ``writer_options``. A prediction with no target
    pixel gets the writer's own "no target" sentence, as an empty mask would.
    """

    name = "first_pass"
    version = "1"
    uses_ground_truth = False

    def __init__(self, predict: Callable[[SampleLike], np.ndarray], writer: str = "semantic", **writer_options: Any) -> None:
        if writer not in FIRST_PASS_WRITERS:
            raise ValueError(f"first_pass writer must be one of {FIRST_PASS_WRITERS}, got {writer!r}")
        if not callable(predict):
            raise TypeError(f"first_pass needs predict(sample) -> H x W bool, got {type(predict).__name__}")
        self.predict = predict
        self.writer = get_source(writer, **writer_options)

    def parameters(self) -> dict[str, Any]:
        return {"writer": self.writer.name, "writer_version": self.writer.version, "writer_parameters": self.writer.parameters()}

    def describe(self, sample: SampleLike) -> Description:
        image = np.asarray(sample.image)
        predicted = np.asarray(self.predict(sample))
        if predicted.shape != image.shape[:2]:
            raise ValueError(f"{sample.name}: the first-pass prediction is {predicted.shape}, the image {image.shape[:2]}")
        written = self.writer.describe(_PredictedSample(sample.name, image, predicted.astype(bool)))
        # The writer's per-image measurements, without its source-level keys (ours replace them).
        measured = {k: v for k, v in written.provenance.items() if k not in self.writer.provenance()}
        return self._make(sample.name, written.text, predicted_pixels=int(predicted.astype(bool).sum()), **measured)
