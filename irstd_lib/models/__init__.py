"""Models, built by name through the registry (``build_model("lgnet", width=16)``).

Kept import-light: the model modules (torch-heavy) are imported on first use of the registry,
not when this package is imported.
"""

from __future__ import annotations

from .registry import build_model, list_models, register_model

__all__ = ["build_model", "list_models", "register_model"]
