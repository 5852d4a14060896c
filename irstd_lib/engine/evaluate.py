"""Inference at native size and metric computation.

:func:`predict_scores` runs a model over an :class:`~irstd_lib.data.IRSTDDataset` one sample at a
time (or in batches of samples whose prepared inputs have equal shapes), following the field's
protocol: each image is prepared with :func:`~irstd_lib.data.transforms.prepare_eval_image`
(``policy="pad"``: zero-pad bottom/right to a multiple of ``size`` or 32, BasicIRSTD's choice;
``"resize"``: bilinear to ``size x size``, LGNet's 512x512), scores are ``sigmoid(logits)`` and
are mapped back to the native size with :func:`~irstd_lib.data.transforms.restore_scores`.

Descriptors: a ``conditioner(batch, "test")`` hook returns extra forward keyword arguments
(e.g. ``{"descriptor": (B, D) tensor}``). Its ``batch`` looks like a collated training batch:
``{"image": (B,1,H',W') tensor, "name": [str], "index": LongTensor (B,), "description": [str],
"height": LongTensor, "width": LongTensor}``.
"""

from __future__ import annotations

from typing import Any, Callable, Iterator, Mapping, Sequence

import numpy as np
import torch
import torch.nn as nn

__all__ = ["predict_scores", "evaluate_model", "Conditioner", "move_to_device"]

Conditioner = Callable[[Mapping[str, Any], str], Mapping[str, Any]]


def move_to_device(obj: Any, device: torch.device | str) -> Any:
    """Tensors (also inside dicts/lists/tuples) moved to ``device``; everything else unchanged."""
    if isinstance(obj, torch.Tensor):
        return obj.to(device, non_blocking=True)
    if isinstance(obj, Mapping):
        return {k: move_to_device(v, device) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(move_to_device(v, device) for v in obj)
    return obj


def _forward_scores(model: nn.Module, batch: dict[str, Any], conditioner: Conditioner | None,
                    device: torch.device, amp_dtype: torch.dtype | None) -> torch.Tensor:
    kwargs = dict(conditioner(batch, "test")) if conditioner is not None else {}
    kwargs = move_to_device(kwargs, device)
    image = batch["image"].to(device)
    with torch.no_grad():
        if amp_dtype is not None and device.type == "cuda":
            with torch.autocast("cuda", dtype=amp_dtype):
                out = model(image, **kwargs)
        else:
            out = model(image, **kwargs)
    logits = out["logits"] if isinstance(out, Mapping) else out
    return torch.sigmoid(logits.float()).cpu()


def predict_scores(
    model: nn.Module,
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
    """Yield ``(sample, scores)`` with ``scores`` an ``H x W`` float32 probability map at the
    sample's native size, in dataset order. The model is put in eval mode and its previous mode
    restored when the generator finishes."""
    from tqdm.auto import tqdm

    from irstd_lib.data.transforms import prepare_eval_image, restore_scores

    device = torch.device(device)
    amp_dtype = torch.bfloat16 if amp == "bf16" else None
    was_training = model.training
    model.eval()
    order = list(range(len(dataset))) if indices is None else [int(i) for i in indices]
    pending: list[tuple[int, Any, torch.Tensor, Any]] = []

    def flush() -> Iterator[tuple[Any, np.ndarray]]:
        batch = {
            "image": torch.stack([p[2] for p in pending]),
            "name": [p[1].name for p in pending],
            "index": torch.tensor([p[0] for p in pending], dtype=torch.long),
            "description": [p[1].description or "" for p in pending],
            "height": torch.tensor([p[3].native_size[0] for p in pending], dtype=torch.long),
            "width": torch.tensor([p[3].native_size[1] for p in pending], dtype=torch.long),
        }
        scores = _forward_scores(model, batch, conditioner, device, amp_dtype)
        for (_, sample, _, info), s in zip(pending, scores):
            yield sample, restore_scores(s[0], info)
        pending.clear()

    try:
        for i in tqdm(order, desc="predict", disable=not progress, leave=False):
            sample = dataset[i]
            tensor, info = prepare_eval_image(sample.image, size, policy)
            if pending and tuple(pending[0][2].shape) != tuple(tensor.shape):
                yield from flush()
            pending.append((i, sample, tensor, info))
            if len(pending) >= max(1, int(batch_size)):
                yield from flush()
        if pending:
            yield from flush()
    finally:
        model.train(was_training)


def evaluate_model(
    model: nn.Module,
    dataset: Sequence[Any],
    size: int | None = None,
    policy: str = "pad",
    device: str | torch.device = "cpu",
    conditioner: Conditioner | None = None,
    threshold: float = 0.5,
    batch_size: int = 1,
    progress: bool = False,
    amp: str = "none",
    metrics: Any | None = None,
) -> dict[str, float]:
    """Score ``model`` on ``dataset`` at native size: ``SegmentationMetrics(threshold).compute()``
    (IoU, nIoU, Pd in percent, Fa x1e-6, n_images, n_targets). Pass ``metrics`` (an object with
    ``update(scores, mask)``/``compute()``) to use another metric configuration."""
    if metrics is None:
        from irstd_lib.metrics import SegmentationMetrics

        metrics = SegmentationMetrics(threshold=threshold)
    for sample, scores in predict_scores(model, dataset, size=size, policy=policy, device=device,
                                         conditioner=conditioner, batch_size=batch_size,
                                         progress=progress, amp=amp):
        metrics.update(scores, np.asarray(sample.mask, dtype=bool))
    result = metrics.compute()
    return {k: (float(v) if isinstance(v, (float, np.floating)) else v) for k, v in dict(result).items()}
