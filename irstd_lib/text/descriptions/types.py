"""What a description is: :class:`Description`, and :class:`SampleLike`, what a source reads.

Every source turns one sample into one :class:`Description`: ``name``, ``text``, ``source`` and a
``provenance`` dict (source name and version, its parameters, the package version and, per
image, what was measured). Provenance holds no timestamps, so two runs with the same inputs
produce byte-identical records.

Words are counted with :func:`irstd_lib.text.word_limit.count_words` (whitespace-separated
tokens), the module that also holds the word limit.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

import numpy as np

from irstd_lib.text.word_limit import count_words


class SampleLike(Protocol):
    """What a source reads: ``irstd_lib.data.Sample`` or any object with these attributes."""

    name: str
    image: np.ndarray
    mask: np.ndarray | None
    description: str | None


@dataclass
class Description:
    """One image's description and where it came from.

    ``provenance`` is self-contained: the source-level record (source, version, parameters,
    package version) merged with what is specific to this image (measurements, truncation).
    """

    name: str
    text: str
    source: str
    provenance: dict[str, Any] = field(default_factory=dict)

    @property
    def n_words(self) -> int:
        return count_words(self.text)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
