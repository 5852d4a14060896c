"""One row per registered method, for ``python -m irstd_lib models`` and the notebooks.

Parameter counts are measured, not copied: each learned variant is built at its default
configuration on PyTorch's ``meta`` device (shapes without memory, so even SAM ViT-H is counted
in moments) and its parameters summed.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from irstd_lib.models.registry import build_model, get_variant, list_variants

__all__ = ["count_parameters_of", "model_catalogue"]


def count_parameters_of(name: str, **kwargs: Any) -> tuple[int, int]:
    """``(total, trainable)`` parameters of the variant ``name`` built with ``kwargs``."""
    import torch

    if get_variant(name).kind == "classical":
        return 0, 0
    with torch.device("meta"):
        model = build_model(name, **kwargs)
    params = list(model.parameters())
    return sum(p.numel() for p in params), sum(p.numel() for p in params if p.requires_grad)


@lru_cache(maxsize=None)
def _default_counts(name: str) -> tuple[int, int]:
    # A variant's default build is fixed for the process's lifetime: counted once.
    return count_parameters_of(name)


def model_catalogue() -> list[dict[str, Any]]:
    rows = []
    for name in list_variants():
        variant = get_variant(name)
        total, trainable = _default_counts(name)
        rows.append({
            "name": name, "kind": variant.kind, "system": variant.system, "paper": variant.paper,
            "params": total, "trainable_params": trainable, "published_params": variant.published.get("params"),
            "published_params_kind": variant.published.get("params_kind", "total"),
            "conditioning": variant.conditioning_for(variant.resolved_kwargs()), "recipe": variant.recipe,
            "switches": list(variant.switches), "description": variant.description,
        })
    return rows
