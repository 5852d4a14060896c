"""Language priors: the CLIP encoder and LGNet's target descriptor.

Import-light on purpose (open_clip takes many seconds to import): the names below are loaded on
first access, e.g. ``from irstd_lib.text import ClipEncoder``.
"""

from __future__ import annotations

import importlib
from typing import Any

_LAZY = {
    "ClipEncoder": "irstd_lib.text.clip_encoder",
    "CheckpointError": "irstd_lib.text.clip_encoder",
    "TargetDescriptorBank": "irstd_lib.text.target_descriptor",
    "LanguageMode": "irstd_lib.text.target_descriptor",
    "uses_text": "irstd_lib.text.target_descriptor",
    "stack_descriptors": "irstd_lib.text.target_descriptor",
}

__all__ = sorted(_LAZY)


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
