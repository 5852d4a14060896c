"""The ``none`` kind: image-only models (ACM, DNA-Net, LGNet's baseline). Nothing to prepare, one
evaluation, ``test``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from irstd_lib.conditioning.base import ConditioningContext, ConditioningKind, PreparedCondition

__all__ = ["KIND", "NoCondition"]


class NoCondition(ConditioningKind):
    name = "none"

    @dataclass(frozen=True)
    class Settings:
        """No settings."""

    def identity(self, settings: Any, seed: int) -> dict[str, Any]:
        return {}

    def evaluation_names(self, settings: Any) -> tuple[str, ...]:
        return ("test",)

    def primary_evaluation(self, settings: Any) -> str:
        return "test"

    def prepare(self, settings: Any, context: ConditioningContext) -> PreparedCondition:
        return PreparedCondition(train=None, evaluations={"test": None})


KIND = NoCondition()
