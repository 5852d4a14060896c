"""A small builder registry, in the spirit of segment-anything's ``sam_model_registry`` and
timm's ``create_model``: every model is built by name from keyword arguments, so configs,
the CLI and notebooks never import model classes directly."""

from __future__ import annotations

from typing import Any, Callable

_REGISTRY: dict[str, Callable[..., Any]] = {}


def register_model(name: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Decorator: ``@register_model("lgnet")`` on a builder function or class."""

    def decorator(builder: Callable[..., Any]) -> Callable[..., Any]:
        if name in _REGISTRY and _REGISTRY[name] is not builder:
            raise KeyError(f"model name {name!r} is already registered")
        _REGISTRY[name] = builder
        return builder

    return decorator


def build_model(name: str, **kwargs: Any) -> Any:
    """Build a registered model by name."""
    _import_builtin_models()
    try:
        builder = _REGISTRY[name]
    except KeyError:
        raise KeyError(f"unknown model {name!r}; registered: {', '.join(sorted(_REGISTRY))}") from None
    return builder(**kwargs)


def list_models() -> list[str]:
    _import_builtin_models()
    return sorted(_REGISTRY)


def _import_builtin_models() -> None:
    # Importing the modules runs their @register_model decorators. Imported lazily so that
    # `import irstd_lib` stays fast and does not pull in torch for data-only use.
    import importlib

    for module in _BUILTIN_MODULES:
        importlib.import_module(module)


_BUILTIN_MODULES: list[str] = ["irstd_lib.models.lgnet"]
