"""The interface every conditioning kind implements (see the package docstring)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Callable, Mapping

__all__ = ["ConditioningContext", "ConditioningKind", "PreparedCondition", "generated_descriptions", "reading_test_masks"]

Conditioner = Callable[[Mapping[str, Any], str], Any]


@dataclass
class ConditioningContext:
    """What a kind may read while preparing a run: the dataset root and opened splits
    (``{"train": IRSTDDataset, "test": IRSTDDataset}``), the run's seed, device and progress."""

    root: Path
    datasets: dict[str, Any]
    seed: int = 0
    device: str = "cpu"
    progress: bool = False


@dataclass
class PreparedCondition:
    """A kind's output for one run: the training conditioner (``None``: the model gets ``None``),
    one test conditioner per evaluation name, and keyword arguments the model needs from the
    condition (e.g. LGNet's ``descriptor_dim``, the CLIP embedding width)."""

    train: Conditioner | None
    evaluations: dict[str, Conditioner | None]
    model_kwargs: dict[str, Any] = field(default_factory=dict)

    def reading_test_masks(self) -> "PreparedCondition":
        """The same condition, its conditioners asking the evaluation for each test image's
        ground-truth mask (:func:`reading_test_masks`): for a model that reads it at test time
        (SAIST's ``clip_image_test="targets_removed_by_ground_truth"``), whose run is labelled
        so (:mod:`irstd_lib.runs.ground_truth`). The training conditioner too, because the
        trainer validates with it."""
        return PreparedCondition(reading_test_masks(self.train), {name: reading_test_masks(c) for name, c in self.evaluations.items()},
                                 self.model_kwargs)


def reading_test_masks(conditioner: Conditioner | None) -> Conditioner:
    """``conditioner`` made to declare ``reads_test_masks = True``, so that the evaluation puts
    each test image's mask, prepared as the image is, in the batch it hands it (``batch["mask"]``,
    :mod:`irstd_lib.engine.evaluate`); evaluation batches carry no mask otherwise. Only a
    conditioner that can pass the mask on has ``with_test_masks()``; others are refused."""
    with_masks = getattr(conditioner, "with_test_masks", None)
    if with_masks is None:
        raise ValueError(f"the model reads the test images' masks at test time, but its conditioner "
                         f"{type(conditioner).__name__} cannot pass them on (it has no with_test_masks())")
    return with_masks()


class ConditioningKind(ABC):
    """One conditioning kind. ``Settings`` is a frozen dataclass of the kind's settings."""

    name: str
    Settings: type

    def settings(self, values: Mapping[str, Any]) -> Any:
        """Validated settings from a run config's ``conditioning`` dict (unknown keys are errors)."""
        known = {f.name for f in fields(self.Settings)}
        unknown = sorted(set(values) - known)
        if unknown:
            allowed = ", ".join(sorted(known)) or "none"
            raise ValueError(f"unknown conditioning settings for kind {self.name!r}: {', '.join(unknown)} (allowed: {allowed})")
        return self.Settings(**values)

    @abstractmethod
    def identity(self, settings: Any, seed: int) -> dict[str, Any]:
        """What of the settings changes a trained model's numbers (enters the run hash)."""

    @abstractmethod
    def evaluation_names(self, settings: Any) -> tuple[str, ...]:
        """The test evaluations a run of these settings records."""

    @abstractmethod
    def primary_evaluation(self, settings: Any) -> str:
        """The evaluation that stands for the run (what its tables show by default)."""

    def needs_description_files(self, settings: Any) -> bool:
        """Whether the splits must be opened with the dataset's description files."""
        return False

    def describes_whole_image(self, settings: Any) -> bool:
        """Whether the condition is computed once per image and says where things are in it
        (LGNet's descriptions: "upper left"), so that training on crops or flips of the image
        would pair the input with words that are not true of it."""
        return False

    def ground_truth_inputs_at_test(self, settings: Any, evaluation: str, dataset: str) -> tuple[str, ...]:
        """The inputs of the evaluation ``evaluation`` (on the dataset named ``dataset``) that read
        the test images' ground truth, in words (e.g. ``"scene descriptions: ..."``); empty when
        none does. What a run record and every table row of it are labelled with
        (:mod:`irstd_lib.runs.ground_truth`). Reading the training masks in training is not
        listed: that is what training labels are for."""
        return ()

    @abstractmethod
    def prepare(self, settings: Any, context: ConditioningContext) -> PreparedCondition:
        """Prepare the conditioners of a run (before its model is built)."""


def generated_descriptions(dataset, source: str, progress: bool = False, kind: str = "target", **source_kwargs: Any) -> dict[str, str]:
    """``name -> text`` from a generating description source (``quadrant``, ``semantic``,
    ``scene``...), written once into the cache folder and read back afterwards. The folder is
    keyed by the source, its non-default options and the split's fingerprint."""
    from irstd_lib.paths import cache_dir
    from irstd_lib.text.descriptions import describe_dataset, load_descriptions

    options = "".join(f"-{k}={v}" for k, v in sorted(source_kwargs.items()))
    out = cache_dir("descriptions", source + options, dataset.fingerprint())
    describe_dataset(dataset, source, out_dir=out, progress=progress, **source_kwargs)
    return load_descriptions(out, names=dataset.names, kind=kind)
