"""Every method of the package, built by name through the registry.

One folder per system (``lgnet/``, ``acm/``, ``dnanet/``, ``classical/``), each with its variants
in its ``__init__.py``; shared layers in ``layers.py``; the contract every method follows in
``base.py``; weight loading in ``weights.py``. Kept import-light: model code is imported on first
build, not when this package is imported.
"""

from __future__ import annotations

from irstd_lib.models.registry import ModelVariant, build_model, get_variant, list_variants, register_variant

__all__ = ["ModelVariant", "build_model", "get_variant", "list_variants", "register_variant"]
