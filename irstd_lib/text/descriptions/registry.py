"""The description-source interface and registry.

:class:`DescriptionSource` is the base class (``describe(sample) -> Description``, the
source-level provenance record); :func:`register_source` registers a source class or factory
under a name, :func:`get_source` builds one by name and :func:`list_sources` lists the names.
The built-in sources register themselves when :mod:`irstd_lib.text.descriptions` is imported
(``vlm`` lazily, see the package's ``__init__``).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, Callable, ClassVar

from irstd_lib.text.descriptions.types import Description, SampleLike


def _package_version() -> str:
    try:
        from importlib.metadata import version

        return version("irstd-lang")
    except Exception:  # not installed as a distribution (e.g. a source checkout on sys.path)
        return "unknown"


class DescriptionSource(ABC):
    """Base class: ``describe(sample) -> Description``.

    Subclasses set ``name`` and ``version`` (bump the version whenever the produced text for the
    same input changes), ``uses_ground_truth`` (True when the text is derived from the label),
    ``output_kind`` ("target" for LangIR ``descriptions/``, "scene" for MIRSTD
    ``scene_descriptions/``) and ``concurrency`` (how many images ``describe_dataset`` may
    describe at once; 1 for CPU templates, more for network clients).
    """

    name: ClassVar[str] = "base"
    version: ClassVar[str] = "0"
    uses_ground_truth: bool = False
    output_kind: str = "target"
    concurrency: int = 1

    def parameters(self) -> dict[str, Any]:
        """The settings that determine the text (JSON-serialisable)."""
        return {}

    def provenance(self) -> dict[str, Any]:
        """Source-level provenance, identical for every image of a run."""
        return {
            "source": self.name,
            "source_version": self.version,
            "package": "irstd-lang",
            "package_version": _package_version(),
            "uses_ground_truth": self.uses_ground_truth,
            "parameters": self.parameters(),
        }

    def _make(self, name: str, text: str, **per_image: Any) -> Description:
        return Description(name=name, text=text, source=self.name, provenance={**self.provenance(), **per_image})

    @abstractmethod
    def describe(self, sample: SampleLike) -> Description: ...

    def __call__(self, sample: SampleLike) -> Description:
        return self.describe(sample)


_REGISTRY: dict[str, Callable[..., DescriptionSource]] = {}


def register_source(name: str) -> Callable[[Callable[..., DescriptionSource]], Callable[..., DescriptionSource]]:
    """Register a source class or factory under ``name`` (for extensions)."""

    def deco(factory: Callable[..., DescriptionSource]) -> Callable[..., DescriptionSource]:
        if name in _REGISTRY:
            raise ValueError(f"description source {name!r} is already registered")
        _REGISTRY[name] = factory
        return factory

    return deco


def list_sources() -> list[str]:
    return sorted(_REGISTRY)


def get_source(name: str, **kwargs: Any) -> DescriptionSource:
    """Build the description source ``name`` ("files", "quadrant", "semantic", "scene", "vlm")."""
    try:
        factory = _REGISTRY[name]
    except KeyError:
        raise ValueError(f"unknown description source {name!r}; known: {', '.join(list_sources())}") from None
    return factory(**kwargs)
