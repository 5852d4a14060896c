"""Conditioning kinds: what a run prepares for the ``condition`` argument of its model.

A model declares the kind of condition it takes (:mod:`irstd_lib.models.base`); each kind is one
module here that, for a run,

- validates the run's conditioning settings (``RunConfig.conditioning``),
- says what of them enters the run's identity (the hash),
- prepares the inputs once before training (e.g. CLIP embeddings, cached on disk) and returns the
  engine's conditioners, one for training and one per evaluation the run records (LGNet: with
  and without text at test time).

Kinds: ``none`` (:mod:`.none`), ``target_descriptor`` (:mod:`.target_descriptor`, LGNet) and
``scene_prompt`` (:mod:`.scene_prompt`, SAIST).
"""

from __future__ import annotations

import importlib

from irstd_lib.conditioning.base import ConditioningContext, ConditioningKind, PreparedCondition

__all__ = ["ConditioningContext", "ConditioningKind", "PreparedCondition", "get_kind", "KIND_MODULES"]

KIND_MODULES = {
    "none": "irstd_lib.conditioning.none",
    "target_descriptor": "irstd_lib.conditioning.target_descriptor",
    "scene_prompt": "irstd_lib.conditioning.scene_prompt",
}


def get_kind(name: str) -> ConditioningKind:
    """The conditioning kind ``name`` (each module exposes ``KIND``)."""
    try:
        module = KIND_MODULES[name]
    except KeyError:
        raise KeyError(f"unknown conditioning kind {name!r}; known: {', '.join(KIND_MODULES)}") from None
    return importlib.import_module(module).KIND
