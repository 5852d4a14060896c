"""The model contract: what every method of the package is, as the engine, the evaluator, the
profiler and the experiment runner see it. They read nothing else.

Learned models (:class:`IRSTDModel`, an ``nn.Module``)::

    out = model(image, condition)      # image: (B, C, H, W) as the input spec asks, see below
    out["logits"]                      # (B, 1, H, W) target logits at the input's size
    out["aux_logits"]                  # [(B, 1, H, W), ...] deep-supervision outputs (may be [])
    out["aux_losses"]                  # {"name": scalar tensor} losses the model computes itself
                                       # (e.g. SAIST's MMD term), already weighted; added as they are

- ``input_spec`` (:class:`InputSpec`): channels, normalisation and size multiple. The package's
  images are single-channel floats in [0, 1]; :meth:`InputSpec.prepare` turns a batch of those into
  what the model takes (channels replicated, normalised). The engine calls it, never the model,
  so a model's forward reads exactly what its paper's network reads.
- ``conditioning`` (a kind name, :data:`CONDITIONING_KINDS`): ``"none"`` (image only),
  ``"target_descriptor"`` (LGNet's CLIP text + image embedding, a (B, D) tensor) or
  ``"scene_prompt"`` (SAIST's per-image scene prompt: lists of strings). The experiment runner prepares the ``condition`` argument for the kind
  (:mod:`irstd_lib.conditioning`); ``None`` is passed for ``"none"``.
- :meth:`IRSTDModel.parameter_groups`: named groups of *trainable* parameters, so that LoRA
  adapters, heads and the rest can get their own learning rate and weight decay. Frozen
  parameters (``requires_grad=False``) belong to no group and never reach the optimizer. The
  default is one group, ``"model"``, of every trainable parameter in ``parameters()`` order (the
  order matters: optimizers keep per-parameter state in that order).
- :meth:`IRSTDModel.example_condition`: a random condition of the right shape for a batch, used
  by the profiler and the contract tests.
- :meth:`IRSTDModel.pretraining_losses` (optional; ``has_pretraining_stage`` says whether a model
  defines it): the losses of a pre-training stage the paper trains before detection (DGSPNet's
  image-text alignment), which the trainer minimises in its first ``pretrain_epochs`` epochs.
- :meth:`IRSTDModel.checkpoint_state_dict`: what a checkpoint of the model holds (default: the
  whole state_dict). A model around frozen pretrained encoders returns its trainable part and
  buffers only, so that runs do not store hundreds of millions of frozen weights again.

Classical methods (:class:`ClassicalMethod`: no parameters, no training) score one image at a
time on the CPU: ``score(image) -> H x W`` map (method units, higher = more target-like) and
``segment_scores(scores) -> bool H x W`` (the method's own threshold). The evaluation path
(:func:`irstd_lib.engine.evaluate.evaluate`) scores both kinds of method the same way.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, Iterable

import numpy as np
import torch
from torch import nn

__all__ = [
    "CONDITIONING_KINDS",
    "ClassicalMethod",
    "IRSTDModel",
    "InputSpec",
    "ParamGroup",
    "check_model_output",
    "grouped_parameters",
    "is_learned",
]

NO_CONDITION = "none"
TARGET_DESCRIPTOR = "target_descriptor"
SCENE_PROMPT = "scene_prompt"
CONDITIONING_KINDS = (NO_CONDITION, TARGET_DESCRIPTOR, SCENE_PROMPT)
"""Conditioning kinds a model may declare (one module each in :mod:`irstd_lib.conditioning`)."""


@dataclass(frozen=True)
class InputSpec:
    """What a model's forward pass takes, in terms of the package's [0, 1] grayscale images.

    ``channels``: 1, or 3 (the gray image replicated, as RGB backbones expect). ``mean``/``std``:
    per channel, on the [0, 1] scale; the model receives ``(image - mean) / std``.
    ``size_multiple``: height and width must be multiples of it (the pad policy pads to it).
    """

    channels: int = 1
    mean: tuple[float, ...] = (0.0,)
    std: tuple[float, ...] = (1.0,)
    size_multiple: int = 1

    def __post_init__(self) -> None:
        if self.channels not in (1, 3):
            raise ValueError(f"InputSpec.channels must be 1 or 3, got {self.channels}")
        for name in ("mean", "std"):
            values = getattr(self, name)
            if len(values) not in (1, self.channels):
                raise ValueError(f"InputSpec.{name} needs 1 or {self.channels} values, got {values}")
        if any(s <= 0 for s in self.std):
            raise ValueError(f"InputSpec.std must be positive, got {self.std}")
        if self.size_multiple < 1:
            raise ValueError(f"InputSpec.size_multiple must be >= 1, got {self.size_multiple}")

    @property
    def pad_value(self) -> float:
        """The [0, 1] gray level that normalises to 0 (the mean of the channel means): what
        images are padded with, as BasicIRSTD pads its normalised images with zeros."""
        return float(sum(self.mean) / len(self.mean))

    @property
    def is_identity(self) -> bool:
        return self.channels == 1 and all(m == 0 for m in self.mean) and all(s == 1 for s in self.std)

    def prepare(self, image: torch.Tensor) -> torch.Tensor:
        """(B, 1, H, W) images in [0, 1] -> the model's input (B, channels, H, W)."""
        if image.ndim != 4 or image.shape[1] != 1:
            raise ValueError(f"expected a (B, 1, H, W) batch of grayscale images, got {tuple(image.shape)}")
        if self.is_identity:
            return image
        if self.channels != 1:
            image = image.expand(-1, self.channels, -1, -1)
        mean = torch.as_tensor(self.mean, dtype=image.dtype, device=image.device).view(1, -1, 1, 1)
        std = torch.as_tensor(self.std, dtype=image.dtype, device=image.device).view(1, -1, 1, 1)
        return (image - mean) / std

    def check_size(self, height: int, width: int, where: str = "input") -> None:
        m = self.size_multiple
        if height % m or width % m:
            raise ValueError(f"{where} of {width}x{height} (WxH): this model needs sides that are multiples of {m}")


@dataclass
class ParamGroup:
    """A named group of trainable parameters. ``lr_scale`` multiplies the run's learning rate;
    ``weight_decay`` replaces the run's (``None``: the run's). A run's training settings may
    override both by name (``TrainConfig.param_groups``)."""

    name: str
    params: list[nn.Parameter] = field(default_factory=list)
    lr_scale: float = 1.0
    weight_decay: float | None = None


def check_model_output(out: Any, batch: int, height: int, width: int, where: str = "model") -> dict[str, Any]:
    """Validate a forward pass's output against the contract; returns it with defaults filled."""
    if not isinstance(out, dict) or "logits" not in out:
        raise TypeError(f"{where} must return a dict with 'logits' (see irstd_lib.models.base), got {type(out).__name__}")
    expected = (batch, 1, height, width)
    maps = [("logits", out["logits"])] + [(f"aux_logits[{i}]", a) for i, a in enumerate(out.get("aux_logits") or [])]
    for name, value in maps:
        if not isinstance(value, torch.Tensor) or tuple(value.shape) != expected:
            shape = tuple(value.shape) if isinstance(value, torch.Tensor) else type(value).__name__
            raise ValueError(f"{where}: {name} must be {expected}, got {shape}")
    for name, value in (out.get("aux_losses") or {}).items():
        if not isinstance(value, torch.Tensor) or value.ndim != 0:
            raise ValueError(f"{where}: aux_losses[{name!r}] must be a scalar tensor")
    return {"logits": out["logits"], "aux_logits": list(out.get("aux_logits") or []), "aux_losses": dict(out.get("aux_losses") or {})}


class IRSTDModel(nn.Module):
    """Base class of every learned model (see the module docstring)."""

    input_spec: InputSpec = InputSpec()
    conditioning: str = NO_CONDITION

    @property
    def has_pretraining_stage(self) -> bool:
        """Whether the model defines :meth:`pretraining_losses` (overrides the default)."""
        return type(self).pretraining_losses is not IRSTDModel.pretraining_losses

    def forward(self, image: torch.Tensor, condition: Any = None) -> dict[str, Any]:  # pragma: no cover - abstract
        raise NotImplementedError

    def pretraining_losses(self, image: torch.Tensor, condition: Any = None) -> dict[str, torch.Tensor]:
        """``{"name": scalar tensor}``: the losses of the model's pre-training stage on a batch
        (prepared as for ``forward``; the masks are not read), summed by the trainer. Default: the
        model has none."""
        raise NotImplementedError(f"{type(self).__name__} defines no pre-training stage")

    def parameter_groups(self) -> list[ParamGroup]:
        """Named groups of the trainable parameters (default: one group, ``"model"``)."""
        return [ParamGroup("model", [p for p in self.parameters() if p.requires_grad])]

    def example_condition(self, batch: int, generator: torch.Generator | None = None) -> Any:
        """A random condition for ``batch`` images (``None`` when the model takes none)."""
        return None

    def trainable_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters() if p.requires_grad)

    def inspection_maps(self, image: torch.Tensor, condition: Any = None) -> dict[str, torch.Tensor]:
        """Maps that show how the model decided, each (B, 1, H, W) at the input's size (SAIST: its
        guidance over the image and the imaging decoder's I, A, d, J). Run records keep them for
        a few test images, so figures show them without a checkpoint. Default: none."""
        return {}

    def checkpoint_state_dict(self) -> dict[str, torch.Tensor]:
        """What a checkpoint holds and a checkpoint must fit (default: the whole state_dict)."""
        return self.state_dict()

    def parameter_breakdown(self) -> dict[str, tuple[int, int]]:
        """``part -> (total, trainable)`` parameters; default: one row per child module."""
        return {name: (sum(p.numel() for p in m.parameters()), sum(p.numel() for p in m.parameters() if p.requires_grad))
                for name, m in self.named_children()}


def grouped_parameters(model: IRSTDModel) -> list[ParamGroup]:
    """``model.parameter_groups()``, checked: every trainable parameter is in exactly one group,
    no frozen parameter is in any, group names are unique, no group is empty."""
    groups = model.parameter_groups()
    names = [g.name for g in groups]
    if len(set(names)) != len(names):
        raise ValueError(f"{type(model).__name__}: duplicate parameter group names {names}")
    seen: dict[int, str] = {}
    for group in groups:
        if not group.params:
            raise ValueError(f"{type(model).__name__}: parameter group {group.name!r} is empty")
        for p in group.params:
            if not p.requires_grad:
                raise ValueError(f"{type(model).__name__}: group {group.name!r} holds a frozen parameter")
            if id(p) in seen:
                raise ValueError(f"{type(model).__name__}: a parameter is in groups {seen[id(p)]!r} and {group.name!r}")
            seen[id(p)] = group.name
    missing = [n for n, p in model.named_parameters() if p.requires_grad and id(p) not in seen]
    if missing:
        raise ValueError(f"{type(model).__name__}: trainable parameters in no group: {', '.join(missing[:5])}")
    return groups


class ClassicalMethod(ABC):
    """Base class of the training-free methods (Top-Hat, IPI): see the module docstring."""

    input_spec: InputSpec = InputSpec()
    conditioning: str = NO_CONDITION

    @abstractmethod
    def score(self, image: np.ndarray) -> np.ndarray:
        """``H x W`` float32 score map of one [0, 1] grayscale image (higher = more target-like)."""

    @abstractmethod
    def segment_scores(self, scores: np.ndarray) -> np.ndarray:
        """Binary detection (bool ``H x W``) from a score map, by the method's own threshold."""

    def segment(self, image: np.ndarray) -> np.ndarray:
        return self.segment_scores(self.score(image))

    def roc_scores(self, scores: np.ndarray) -> np.ndarray:
        """Scores in [0, 1] for a Pd-Fa curve over thresholds shared with learned models:
        the map divided by its maximum (a map without any positive score stays 0). Classical
        maps have no common scale across images; per-image normalisation is what the field's
        ROC plots of Top-Hat and IPI do."""
        scores = np.asarray(scores, dtype=np.float32)
        top = float(scores.max(initial=0.0))
        return np.clip(scores / top, 0.0, 1.0) if top > 0 else np.zeros_like(scores)

    def parameters(self) -> Iterable[Any]:
        return iter(())


def is_learned(method: Any) -> bool:
    return isinstance(method, IRSTDModel)
