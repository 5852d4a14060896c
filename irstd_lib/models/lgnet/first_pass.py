"""LGNet's test-time text without ground truth: a first pass writes it, a second pass reads it.

The paper gives test images text only from GPT-4V ("we generate text descriptions that provide the
locations of small targets"), and at test it drops the text by default ("During inference at test
time, we rely solely on image embeddings as the target descriptor"). Its Table 2 "Training+Test"
row needs a test-time text; the ``quadrant`` / ``semantic`` templates would write it from the
test mask, which reads the label. This module offers the reading that does not: the trained
model's image-only pass (its descriptor the CLIP image embedding alone, the paper's "if the
language prior is absent, T_e is omitted") predicts the targets, the mask-derived writer
describes that prediction (:class:`~irstd_lib.text.descriptions.first_pass.FirstPassSource`), and
the second pass reads the text (``TD = T_e + I_e``) as the mask-derived text would be read.

:class:`FirstPassConditioner` is a test conditioner that needs the trained model, which does not
exist when the condition is prepared: the run layer calls :meth:`FirstPassConditioner.bind` with
a ``first_pass(image_only_conditioner) -> Predictions`` function before evaluating, and gets the
conditioner of the second pass back. The texts it wrote are kept in ``descriptions`` (name ->
text) of the bound conditioner, and the run layer keeps them in the record (``details.json``:
the evaluation's ``texts``), so what the second pass read can be read back.
"""

from __future__ import annotations

from typing import Any, Callable, Iterable, Mapping

import numpy as np

__all__ = ["FirstPassConditioner", "SecondPassConditioner"]


class SecondPassConditioner:
    """The bound conditioner: the second pass's conditions, and the first pass's texts."""

    def __init__(self, conditioner: Callable[[Mapping[str, Any], str], Any], descriptions: dict[str, str]) -> None:
        self.conditioner = conditioner
        self.descriptions = descriptions

    def __call__(self, batch: Mapping[str, Any], phase: str) -> Any:
        return self.conditioner(batch, phase)


class FirstPassConditioner:
    """An unbound test conditioner (see the module docstring).

    ``image_only``: the conditioner of the image-only pass (the run's ``test_without_text``);
    ``with_texts(texts)``: builds the conditioner that feeds ``name -> text`` to the model (CLIP
    text embeddings, or token ids for a fine-tuned text tower); ``test_set``: the split the texts
    are written for; ``writer`` and ``writer_options``: the mask-derived writer
    (``semantic`` or ``quadrant``) that describes the prediction.
    """

    reads_ground_truth = False

    def __init__(self, image_only: Callable, with_texts: Callable[[dict[str, str]], Callable], test_set: Any,
                 writer: str = "semantic", **writer_options: Any) -> None:
        from irstd_lib.text.descriptions.first_pass import FIRST_PASS_WRITERS

        if writer not in FIRST_PASS_WRITERS:
            raise ValueError(f"first-pass writer must be one of {FIRST_PASS_WRITERS}, got {writer!r}")
        self.image_only = image_only
        self.with_texts = with_texts
        self.test_set = test_set
        self.writer = writer
        self.writer_options = dict(writer_options)

    def bind(self, first_pass: Callable[[Callable], Iterable[Any]]) -> SecondPassConditioner:
        """Run the first pass (``first_pass(self.image_only)`` yields one prediction per test
        image, ``.sample.name`` and ``.detection``, the thresholded map at native size), write
        each image's text from its prediction, and return the second pass's conditioner."""
        from irstd_lib.text.descriptions.first_pass import FirstPassSource

        predicted: dict[str, np.ndarray] = {}
        for prediction in first_pass(self.image_only):
            predicted[prediction.sample.name] = np.asarray(prediction.detection, dtype=bool)
        missing = [n for n in self.test_set.names if n not in predicted]
        if missing:
            raise RuntimeError(f"the first pass predicted no map for {len(missing)} test images, e.g. {missing[0]!r}")

        def predict(sample) -> np.ndarray:
            return predicted[sample.name]

        source = FirstPassSource(predict, self.writer, **self.writer_options)
        texts = {name: source.describe(self.test_set[i]).text for i, name in enumerate(self.test_set.names)}
        return SecondPassConditioner(self.with_texts(texts), texts)

    def __call__(self, batch: Mapping[str, Any], phase: str) -> Any:
        raise RuntimeError("the first-pass text conditioner needs the trained model: call bind(first_pass) before evaluating "
                           "(irstd_lib.runs.evaluate_run does)")
