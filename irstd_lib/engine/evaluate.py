"""The evaluation path every method goes through: inference at native size, then the metrics.

:func:`predict` runs any registered method over an :class:`~irstd_lib.data.IRSTDDataset` and
yields one :class:`Prediction` per image at the image's native size:

- a learned model (:class:`~irstd_lib.models.base.IRSTDModel`) sees each image prepared by
  :func:`~irstd_lib.data.transforms.prepare_eval_image` (``policy="pad"``: zero-pad bottom/right
  to a multiple of ``size`` or 32, BasicIRSTD's choice; ``"resize"``: bilinear to
  ``size x size``, LGNet's 512x512; ``"none"``: as it is), then its ``input_spec`` (channels,
  normalisation); scores are ``sigmoid(logits)`` mapped back to the native size by
  :func:`~irstd_lib.data.transforms.restore_scores`; the detection is ``scores > threshold``;
- a classical method (:class:`~irstd_lib.models.base.ClassicalMethod`) scores the native image;
  its detection is its own adaptive threshold, and its ROC scores are the map over its maximum.

:func:`evaluate` scores those predictions: the set-level metrics (IoU, nIoU, Pd, Fa; see
:mod:`irstd_lib.metrics`), optionally the per-image counts (what confidence intervals resample),
the Pd-Fa ROC over shared thresholds, and the score maps of chosen images (what qualitative
figures show), so that a run record holds everything its tables and figures need.

Conditioning: ``conditioner(batch, "test")`` returns the model's ``condition`` (e.g. LGNet's
(B, D) target descriptors); its ``batch`` looks like a collated training batch:
``{"image": (B,1,H',W') tensor, "name": [str], "index": LongTensor (B,), "description": [str],
"height": LongTensor, "width": LongTensor}``, and ``"mask"`` ((B,1,H',W') float {0, 1}, each test
image's ground-truth mask prepared as its image) only for a conditioner that declares
``reads_test_masks`` (a model reading test ground truth; its run is labelled so,
:mod:`irstd_lib.runs.ground_truth`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Iterator, Mapping, Sequence

import numpy as np
import torch

from irstd_lib.models.base import ClassicalMethod, IRSTDModel

__all__ = ["Conditioner", "Prediction", "evaluate", "evaluate_model", "inspect", "move_to_device", "predict", "predict_scores"]

Conditioner = Callable[[Mapping[str, Any], str], Any]

ROC_THRESHOLDS = 20
"""Pd-Fa ROC thresholds kept in a run record: 20 evenly spaced inside (0, 1)."""


def move_to_device(obj: Any, device: torch.device | str) -> Any:
    """Tensors (also inside dicts/lists/tuples) moved to ``device``; everything else unchanged."""
    if isinstance(obj, torch.Tensor):
        return obj.to(device, non_blocking=True)
    if isinstance(obj, Mapping):
        return {k: move_to_device(v, device) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(move_to_device(v, device) for v in obj)
    return obj


def _pad_multiple(size: int | None, model: IRSTDModel) -> int:
    multiple = 32 if size is None else int(size)
    need = model.input_spec.size_multiple
    return multiple if multiple % need == 0 else multiple * need // math.gcd(multiple, need)


def _prepared_mask(mask: Any, info: Any) -> torch.Tensor:
    """A test mask as its image was prepared (``RestoreInfo``): (1, H', W') float {0, 1}."""
    from irstd_lib.data.transforms import resize_mask

    t = torch.as_tensor(np.asarray(mask) > 0, dtype=torch.float32)
    if info.policy == "resize":
        t = resize_mask(t, *info.input_size)
    elif info.policy == "pad":
        t = torch.nn.functional.pad(t, (0, info.input_size[1] - t.shape[1], 0, info.input_size[0] - t.shape[0]))
    return t[None]


def _reads_test_masks(conditioner: Conditioner | None) -> bool:
    return bool(getattr(conditioner, "reads_test_masks", False))


def _collate(entries: Sequence[tuple[int, Any, torch.Tensor, Any]], masks: bool = False) -> dict[str, Any]:
    """The batch a conditioner sees (see the module docstring) from ``(index, sample, prepared
    image (1, H', W'), RestoreInfo)`` entries of equal prepared size; with ``masks``, also the
    prepared test masks."""
    if masks:
        return {**_collate(entries), "mask": torch.stack([_prepared_mask(e[1].mask, e[3]) for e in entries])}
    return {
        "image": torch.stack([e[2] for e in entries]),
        "name": [e[1].name for e in entries],
        "index": torch.tensor([e[0] for e in entries], dtype=torch.long),
        "description": [e[1].description or "" for e in entries],
        "height": torch.tensor([e[3].native_size[0] for e in entries], dtype=torch.long),
        "width": torch.tensor([e[3].native_size[1] for e in entries], dtype=torch.long),
    }


def _forward_scores(model: IRSTDModel, batch: dict[str, Any], conditioner: Conditioner | None,
                    device: torch.device, amp_dtype: torch.dtype | None) -> torch.Tensor:
    condition = move_to_device(conditioner(batch, "test"), device) if conditioner is not None else None
    image = model.input_spec.prepare(batch["image"].to(device))
    with torch.no_grad():
        if amp_dtype is not None and device.type == "cuda":
            with torch.autocast("cuda", dtype=amp_dtype):
                out = model(image, condition)
        else:
            out = model(image, condition)
    logits = out["logits"] if isinstance(out, Mapping) else out
    return torch.sigmoid(logits.float()).cpu()


def predict_scores(
    model: IRSTDModel,
    dataset: Sequence[Any],
    size: int | None = None,
    policy: str = "pad",
    device: str | torch.device = "cpu",
    conditioner: Conditioner | None = None,
    batch_size: int = 1,
    progress: bool = False,
    amp: str = "none",
    indices: Sequence[int] | None = None,
) -> Iterator[tuple[Any, np.ndarray]]:
    """Yield ``(sample, scores)`` of a learned model, ``scores`` an ``H x W`` float32 probability
    map at the sample's native size, in dataset order (or ``indices`` order). The model is put in
    eval mode and its previous mode restored when the generator finishes."""
    from tqdm.auto import tqdm

    from irstd_lib.data.transforms import prepare_eval_image, restore_scores

    if not isinstance(model, IRSTDModel):
        raise TypeError(f"predict_scores needs an IRSTDModel (irstd_lib.models.base), got {type(model).__name__}")
    device = torch.device(device)
    amp_dtype = torch.bfloat16 if amp == "bf16" else None
    prepare_size = _pad_multiple(size, model) if policy == "pad" else size
    if policy == "resize" and size is not None:
        model.input_spec.check_size(int(size), int(size), "evaluation size")
    was_training = model.training
    model.eval()
    order = list(range(len(dataset))) if indices is None else [int(i) for i in indices]
    pending: list[tuple[int, Any, torch.Tensor, Any]] = []
    checked = False

    def flush() -> Iterator[tuple[Any, np.ndarray]]:
        scores = _forward_scores(model, _collate(pending, _reads_test_masks(conditioner)), conditioner, device, amp_dtype)
        for (_, sample, _, info), s in zip(pending, scores):
            yield sample, restore_scores(s[0], info)
        pending.clear()

    try:
        for i in tqdm(order, desc="predict", disable=not progress, leave=False):
            sample = dataset[i]
            tensor, info = prepare_eval_image(sample.image, prepare_size, policy, model.input_spec.pad_value)
            if not checked:
                model.input_spec.check_size(*info.input_size, where=f"prepared test image {sample.name}")
                checked = True
            if pending and tuple(pending[0][2].shape) != tuple(tensor.shape):
                yield from flush()
            pending.append((i, sample, tensor, info))
            if len(pending) >= max(1, int(batch_size)):
                yield from flush()
        if pending:
            yield from flush()
    finally:
        model.train(was_training)


@dataclass
class Prediction:
    """One image's output: ``scores`` (probabilities for a learned model, the method's own units
    for a classical one), ``detection`` (bool, what the metrics score) and ``roc_scores`` (in
    [0, 1], what the Pd-Fa curve thresholds), all ``H x W`` at the native size."""

    sample: Any
    scores: np.ndarray
    detection: np.ndarray
    roc_scores: np.ndarray


def predict(
    method: IRSTDModel | ClassicalMethod,
    dataset: Sequence[Any],
    size: int | None = None,
    policy: str = "pad",
    device: str | torch.device = "cpu",
    conditioner: Conditioner | None = None,
    threshold: float = 0.5,
    batch_size: int = 1,
    progress: bool = False,
    amp: str = "none",
    indices: Sequence[int] | None = None,
) -> Iterator[Prediction]:
    """One :class:`Prediction` per image of ``dataset`` (see the module docstring)."""
    if isinstance(method, IRSTDModel):
        for sample, probabilities in predict_scores(method, dataset, size, policy, device, conditioner, batch_size,
                                                    progress, amp, indices):
            yield Prediction(sample, probabilities, probabilities > threshold, probabilities)
        return
    if not isinstance(method, ClassicalMethod):
        raise TypeError(f"cannot evaluate {type(method).__name__}: not an IRSTDModel nor a ClassicalMethod")
    from tqdm.auto import tqdm

    order = range(len(dataset)) if indices is None else [int(i) for i in indices]
    for i in tqdm(order, desc=type(method).__name__, disable=not progress, leave=False):
        sample = dataset[i]
        scores = method.score(sample.image)
        yield Prediction(sample, scores, np.asarray(method.segment_scores(scores), dtype=bool), method.roc_scores(scores))


def evaluate(
    method: IRSTDModel | ClassicalMethod,
    dataset: Sequence[Any],
    size: int | None = None,
    policy: str = "pad",
    device: str | torch.device = "cpu",
    conditioner: Conditioner | None = None,
    threshold: float = 0.5,
    batch_size: int = 1,
    progress: bool = False,
    amp: str = "none",
    per_image: bool = False,
    roc_thresholds: int | Sequence[float] | None = None,
    keep_maps: Iterable[str] = (),
    on_prediction: Callable[[Prediction], None] | None = None,
    **metric_kwargs: Any,
) -> dict[str, Any]:
    """Score ``method`` on ``dataset`` (any registered method, learned or classical).

    Returns ``{"metrics": SegmentationMetrics(...).compute()}`` (IoU, nIoU, Pd in percent, Fa
    x1e-6, counts) and, when asked: ``"per_image"`` (one row of counts per image:
    ``name`` and :data:`~irstd_lib.metrics.PER_IMAGE_COUNTS`), ``"roc"`` (:class:`~irstd_lib.metrics.PdFaROC` over
    ``roc_thresholds``: a dict of lists, with ``"pixel_auc"`` the TPR-FPR area), ``"maps"``
    (``name -> scores`` of the images named in ``keep_maps``). ``on_prediction`` sees every
    :class:`Prediction` (to save prediction files, for instance). ``metric_kwargs`` go to the
    metrics (``match_distance``, ``connectivity``, ``fa_mode``).
    """
    from irstd_lib.metrics import PdFaROC, SegmentationMetrics

    # Detections are already binary: the metrics threshold them at 0.5 as they are.
    metrics = SegmentationMetrics(threshold=0.5, per_image=per_image, **metric_kwargs)
    roc = PdFaROC(roc_thresholds, **metric_kwargs) if roc_thresholds is not None else None
    wanted = set(keep_maps)
    names: list[str] = []
    maps: dict[str, np.ndarray] = {}
    for prediction in predict(method, dataset, size, policy, device, conditioner, threshold, batch_size, progress, amp):
        mask = np.asarray(prediction.sample.mask, dtype=bool)
        metrics.update(np.asarray(prediction.detection, dtype=bool), mask)  # bool: scored as it is, no float copy
        names.append(prediction.sample.name)
        if roc is not None:
            roc.update(prediction.roc_scores, mask)
        if prediction.sample.name in wanted:
            maps[prediction.sample.name] = np.asarray(prediction.scores if isinstance(method, IRSTDModel) else prediction.roc_scores,
                                                      dtype=np.float32)
        if on_prediction is not None:
            on_prediction(prediction)
    result: dict[str, Any] = {"metrics": _plain_metrics(metrics.compute())}
    if isinstance(method, IRSTDModel):
        result["metrics"]["threshold"] = float(threshold)
    else:
        result["metrics"]["threshold"] = "adaptive"
    if per_image:
        result["per_image"] = [{"name": name, **row} for name, row in zip(names, metrics.rows)]
    if roc is not None:
        table = roc.compute()
        result["roc"] = {column: [float(v) for v in table[column]] for column in table.columns}
        # The pixel-level ROC area is defined for any method; a Pd-Fa area needs an Fa range shared
        # by the methods compared, so figures compute it from the points.
        result["roc"]["pixel_auc"] = float(roc.auc())
    if wanted:
        result["maps"] = maps
    return result


def _plain_metrics(result: Mapping[str, Any]) -> dict[str, Any]:
    return {k: (float(v) if isinstance(v, (float, np.floating)) else v) for k, v in dict(result).items()}


def evaluate_model(
    model: IRSTDModel,
    dataset: Sequence[Any],
    size: int | None = None,
    policy: str = "pad",
    device: str | torch.device = "cpu",
    conditioner: Conditioner | None = None,
    threshold: float = 0.5,
    batch_size: int = 1,
    progress: bool = False,
    amp: str = "none",
) -> dict[str, float]:
    """The metrics alone of :func:`evaluate` (what the trainer validates with)."""
    return evaluate(model, dataset, size, policy, device, conditioner, threshold, batch_size, progress, amp)["metrics"]


def inspect(
    model: IRSTDModel,
    dataset: Sequence[Any],
    names: Iterable[str],
    size: int | None = None,
    policy: str = "pad",
    device: str | torch.device = "cpu",
    conditioner: Conditioner | None = None,
) -> dict[str, dict[str, np.ndarray]]:
    """``name -> {map name -> H x W float32}``: the model's :meth:`~irstd_lib.models.base.IRSTDModel.inspection_maps`
    of the named images, prepared as for :func:`predict_scores` and mapped back to native size."""
    from irstd_lib.data.transforms import prepare_eval_image, restore_scores

    device = torch.device(device)
    prepare_size = _pad_multiple(size, model) if policy == "pad" else size
    was_training = model.training
    model.eval()
    out: dict[str, dict[str, np.ndarray]] = {}
    try:
        for name in names:
            index = dataset.index_of(name)
            sample = dataset[index]
            tensor, info = prepare_eval_image(sample.image, prepare_size, policy, model.input_spec.pad_value)
            batch = _collate([(index, sample, tensor, info)], _reads_test_masks(conditioner))
            condition = move_to_device(conditioner(batch, "test"), device) if conditioner is not None else None
            with torch.no_grad():
                maps = model.inspection_maps(model.input_spec.prepare(batch["image"].to(device)), condition)
            if maps:
                out[name] = {key: restore_scores(value[0].float().cpu(), info) for key, value in maps.items()}
    finally:
        model.train(was_training)
    return out
