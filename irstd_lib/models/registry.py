"""The model registry: every method of the package is a named variant, and variants are data.

In the manner of timm's registered variants and segment-anything's ``sam_model_registry``, a
:class:`ModelVariant` is a name, a builder, the keyword arguments that make this variant, and
metadata: the system and paper, the published parameter count and FLOPs, the conditioning kind,
the default training recipe, the ablation switches. ``lgnet_baseline`` is ``lgnet``'s builder with
two switches off; ``tophat`` is a classical method with no parameters at all.

::

    build_model("lgnet", width=16)                # variant defaults, then overrides
    build_model("dnanet", checkpoint="run.pt")    # weights from a file (our checkpoints or a state_dict)
    get_variant("acm").published                  # {"params": 0.398e6, "gflops": 0.402, "size": 256, ...}
    list_variants()                               # every registered name

Each system keeps its variants in its own folder's ``__init__.py`` as a ``VARIANTS`` tuple; builders
are named ``"module:attribute"`` and imported on first build, so listing variants imports no
model code (SAIST's builder pulls in segment-anything, peft and open_clip). Users add their own
with :func:`register_variant`.
"""

from __future__ import annotations

import importlib
import inspect
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

__all__ = [
    "ModelVariant",
    "build_model",
    "get_variant",
    "list_variants",
    "register_variant",
    "resolve_builder",
]


@dataclass(frozen=True)
class ModelVariant:
    """One registered method. ``builder`` is a callable or a ``"module:attribute"`` path.

    - ``kind``: ``"learned"`` (an :class:`~irstd_lib.models.base.IRSTDModel`) or ``"classical"``;
    - ``conditioning``: the kind of condition the model takes (``"none"``, ``"target_descriptor"``...);
      ``conditioning_switch`` names a boolean keyword that turns the conditioning off (LGNet's
      ``language_fusion``): with it false, the model takes none;
    - ``published``: what the paper (or the toolbox named in ``source``) reports, e.g.
      ``{"params": 4.04e6, "gflops": 85.68, "size": 512, "flops_convention": "...", "source": "..."}``;
    - ``recipe``: the name of the default training recipe (:data:`irstd_lib.engine.recipes.RECIPES`);
    - ``switches``: keyword arguments that ablate a part of the model;
    - ``tiny``: keyword overrides that build a tiny model of the same classes (tests, CPU smoke);
    - ``version``: bumped when a change to the system's code changes trained numbers for the same
      arguments; it enters every run's identity, so the records made before are not reused.
    """

    name: str
    builder: str | Callable[..., Any]
    kwargs: Mapping[str, Any] = field(default_factory=dict)
    kind: str = "learned"
    system: str = ""
    paper: str = ""
    conditioning: str = "none"
    conditioning_switch: str | None = None
    published: Mapping[str, Any] = field(default_factory=dict)
    recipe: str | None = None
    switches: tuple[str, ...] = ()
    tiny: Mapping[str, Any] = field(default_factory=dict)
    version: int = 1
    description: str = ""

    def __post_init__(self) -> None:
        if self.kind not in ("learned", "classical"):
            raise ValueError(f"variant {self.name!r}: kind must be 'learned' or 'classical', got {self.kind!r}")
        if self.kind == "learned" and self.recipe is None:
            raise ValueError(f"learned variant {self.name!r} needs a default training recipe")

    def resolved_kwargs(self, **overrides: Any) -> dict[str, Any]:
        """The variant's keyword arguments with ``overrides`` applied (what the builder gets)."""
        return {**dict(self.kwargs), **overrides}

    def conditioning_for(self, kwargs: Mapping[str, Any]) -> str:
        """The conditioning kind of the model these (resolved) keyword arguments build."""
        if self.conditioning_switch is not None and not kwargs.get(self.conditioning_switch, True):
            return "none"
        return self.conditioning

    @property
    def builder_path(self) -> str:
        """A stable name of the builder (part of a run's identity)."""
        if isinstance(self.builder, str):
            return self.builder
        return f"{self.builder.__module__}:{self.builder.__qualname__}"


_VARIANTS: dict[str, ModelVariant] = {}

# The system packages whose VARIANTS tuples are registered on first use of the registry.
_BUILTIN_SYSTEMS: tuple[str, ...] = (
    "irstd_lib.models.lgnet",
    "irstd_lib.models.acm",
    "irstd_lib.models.dnanet",
    "irstd_lib.models.saist",
    "irstd_lib.models.dgspnet",
    "irstd_lib.models.ggl_net",
    "irstd_lib.models.grounding_sam",
    "irstd_lib.models.classical",
)
_builtins_loaded = False


def register_variant(variant: ModelVariant, replace: bool = False) -> ModelVariant:
    """Add a variant; a second variant of the same name is an error unless ``replace``."""
    existing = _VARIANTS.get(variant.name)
    if existing is not None and existing != variant and not replace:
        raise KeyError(f"model name {variant.name!r} is already registered")
    _VARIANTS[variant.name] = variant
    return variant


def _load_builtins() -> None:
    global _builtins_loaded
    if _builtins_loaded:
        return
    _builtins_loaded = True
    for package in _BUILTIN_SYSTEMS:
        module = importlib.import_module(package)
        for variant in getattr(module, "VARIANTS", ()):
            register_variant(variant)


def list_variants(kind: str | None = None) -> list[str]:
    """Registered variant names (of one ``kind`` when given), sorted."""
    _load_builtins()
    return sorted(name for name, v in _VARIANTS.items() if kind is None or v.kind == kind)


def get_variant(name: str) -> ModelVariant:
    _load_builtins()
    try:
        return _VARIANTS[name]
    except KeyError:
        raise KeyError(f"unknown model {name!r}; registered: {', '.join(sorted(_VARIANTS))}") from None


def resolve_builder(builder: str | Callable[..., Any]) -> Callable[..., Any]:
    if callable(builder):
        return builder
    module, _, attribute = builder.partition(":")
    return getattr(importlib.import_module(module), attribute)


def build_model(name: str, checkpoint: str | None = None, **overrides: Any) -> Any:
    """Build the variant ``name`` with its keyword arguments and ``overrides``.

    ``checkpoint``: a weights file. A builder that takes ``checkpoint`` itself (SAM's official
    files, for instance) gets it; otherwise the weights are loaded after building with
    :func:`irstd_lib.models.weights.load_weights` (our training checkpoints or a bare state_dict;
    a file that does not fit is an error naming it and the first mismatching keys).
    """
    variant = get_variant(name)
    builder = resolve_builder(variant.builder)
    kwargs = variant.resolved_kwargs(**overrides)
    takes_checkpoint = "checkpoint" in inspect.signature(builder).parameters
    if takes_checkpoint:
        return builder(checkpoint=checkpoint, **kwargs)
    model = builder(**kwargs)
    if checkpoint is not None:
        if variant.kind == "classical":
            raise ValueError(f"{name} is a classical method: it has no weights to load from {checkpoint}")
        from irstd_lib.models.weights import load_weights

        load_weights(checkpoint, model)
    return model
