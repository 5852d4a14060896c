"""The ``scene_prompt`` kind: SAIST's scene prompt for every image.

Each image gets "a photo of [scene] with [object], [object], and [object]" (SAIST's template,
:mod:`irstd_lib.text.scene_vocabulary`), parsed into its scene and its three objects, and a batch's
condition is :func:`irstd_lib.models.saist.prompt_learners.scene_condition` of them. Settings
(``RunConfig.conditioning``):

- ``descriptions``: ``"scene"`` (default) generates the prompts with the ``scene`` description
  source (cached per split; :mod:`irstd_lib.text.descriptions.scene`); ``"files"`` reads a
  dataset's own MIRSTD-style ``scene_descriptions/<name>.txt``, each of which must follow the
  template (else an error names the file);
- ``mask_target`` (default True): the scene source hides the target before describing the
  background, as SAIST generated its descriptions (for test images too, so the prompt reads
  the ground-truth mask, though it never mentions the target); False describes the image as it
  is, needing no mask at test time.

One evaluation, ``test``, with the test images' prompts made the same way.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

from irstd_lib.conditioning.base import ConditioningContext, ConditioningKind, PreparedCondition, generated_descriptions

__all__ = ["KIND", "ScenePromptConditioner", "ScenePromptConditioning"]


class ScenePromptConditioner:
    """A batch's scene prompts from a table ``name -> (scene, [objects])``."""

    def __init__(self, table: dict[str, tuple[str, list[str]]]) -> None:
        self.table = table

    def __call__(self, batch: Mapping[str, Any], phase: str) -> dict[str, Any]:
        from irstd_lib.models.saist.prompt_learners import scene_condition

        names = batch["name"]
        names = [names] if isinstance(names, str) else list(names)
        rows = [self.table[n] for n in names]
        condition = scene_condition([r[0] for r in rows], [r[1] for r in rows])
        if phase == "train" and "mask" in batch:
            # SAIST's CLIP may see the training image with its targets removed (Fig. 2, the model's
            # clip_image_train switch); the model ignores it otherwise. Test batches carry no mask.
            condition["target_mask"] = batch["mask"]
        return condition


def _parse_all(texts: dict[str, str], where) -> dict[str, tuple[str, list[str]]]:
    from irstd_lib.data.errors import DatasetError
    from irstd_lib.text.scene_vocabulary import parse_scene_prompt

    table = {}
    for name, text in texts.items():
        parsed = parse_scene_prompt(text)
        if parsed is None:
            raise DatasetError(where(name), f"scene description {text!r} does not follow SAIST's template "
                                            "'a photo of [scene] with [object], [object], and [object]'")
        table[name] = parsed
    return table


class ScenePromptConditioning(ConditioningKind):
    name = "scene_prompt"

    @dataclass(frozen=True)
    class Settings:
        descriptions: str = "scene"
        mask_target: bool = True

        def __post_init__(self) -> None:
            if self.descriptions not in ("scene", "files"):
                raise ValueError(f"scene prompt descriptions must be 'scene' or 'files', got {self.descriptions!r}")

    def identity(self, settings: Settings, seed: int) -> dict[str, Any]:
        return {"descriptions": settings.descriptions, "mask_target": settings.mask_target if settings.descriptions == "scene" else None}

    def evaluation_names(self, settings: Settings) -> tuple[str, ...]:
        return ("test",)

    def primary_evaluation(self, settings: Settings) -> str:
        return "test"

    def prepare(self, settings: Settings, context: ConditioningContext) -> PreparedCondition:
        table: dict[str, tuple[str, list[str]]] = {}
        for ds in context.datasets.values():  # train and test, and the validation list when a run has one
            if settings.descriptions == "files":
                from irstd_lib.text.descriptions import load_descriptions

                folder = context.root / "scene_descriptions"
                texts = load_descriptions(folder, names=ds.names, kind="scene")
                table.update(_parse_all(texts, lambda n: folder / f"{n}.txt"))
            else:
                texts = generated_descriptions(ds, "scene", context.progress, kind="scene", mask_target=settings.mask_target)
                table.update(_parse_all(texts, lambda n: n))
        conditioner = ScenePromptConditioner(table)
        return PreparedCondition(train=conditioner, evaluations={"test": conditioner})


KIND = ScenePromptConditioning()
