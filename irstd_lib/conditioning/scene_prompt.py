"""The ``scene_prompt`` kind: SAIST's scene prompt for every image.

Each image gets "a photo of [scene] with [object], [object], and [object]" (SAIST's template,
:mod:`irstd_lib.text.scene_vocabulary`), parsed into its scene and its three objects, and a batch's
condition is :func:`irstd_lib.models.saist.prompt_learners.scene_condition` of them. Settings
(``RunConfig.conditioning``):

- ``descriptions``: ``"scene"`` (default) generates the prompts with the ``scene`` description
  source (cached per split; :mod:`irstd_lib.text.descriptions.scene`; the smoke profile's
  stand-in for SAIST's VLM-written text); ``"files"`` reads a dataset's own MIRSTD-style
  ``scene_descriptions/<name>.txt``, free text of any length (3.4: "a 25-word description"):
  the template's scene and objects are parsed where the text opens with it, else the whole text
  is the prompt, cut to CLIP's context with a warning naming the file
  (:func:`~irstd_lib.text.descriptions.scene_text.read_scene_text`); ``"vlm"`` writes them as
  SAIST did, the target-removed image sent to a vision-language model with SAIST's instruction
  and a 25-word limit (the ``vlm_scene`` source; ``vlm_model`` / ``vlm_endpoint``, default the
  ``IRSTD_VLM_MODEL`` / ``IRSTD_VLM_ENDPOINT`` environment; cached per split and model);
- ``mask_target`` (default True): the scene source hides the target before describing the
  background, as SAIST generated its descriptions (3.4: "Each infrared image, with the target
  mask removed, is encoded ... for a visual-language model"); False describes the image as it
  is;
- ``mask_target_test`` (default None: as ``mask_target``): the same for the images the model is
  evaluated on (the test list, and the validation list a checkpoint is chosen on). The paper
  says how its descriptions were made, not that a detector at test time may read the test
  image's mask; with the target hidden by the test mask the prompt **reads the test ground
  truth** (though it never mentions the target), and the run's record and every table row of it
  say so (:meth:`ScenePromptConditioning.ground_truth_inputs_at_test`,
  :mod:`irstd_lib.runs.ground_truth`). False: the test image is described whole, target
  included, as a detector meeting a new image would have to; the ``paper`` profile's reading
  (:mod:`irstd_lib.profiles`). The default keeps the committed smoke runs (whose test prompts
  are masked, and labelled so). Description files (``"files"``) are read as they are, no mask
  read here; MIRSTD's own were written from each image with its target mask removed (3.4),
  test images included, which the files themselves do not record.

One evaluation, ``test``, with the test images' prompts made by ``mask_target_test``.

The conditioner passes the batch's mask on to the model as ``condition["target_mask"]`` in
training (SAIST's ``clip_image_train``) and, once made by ``with_test_masks()``, at test
(``clip_image_test="targets_removed_by_ground_truth"``; the run layer does it for a model that
says ``reads_test_ground_truth``, and only then does an evaluation batch carry the mask).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

from irstd_lib.conditioning.base import ConditioningContext, ConditioningKind, PreparedCondition, generated_descriptions

__all__ = ["KIND", "ScenePromptConditioner", "ScenePromptConditioning"]


class ScenePromptConditioner:
    """A batch's scene prompts from a table ``name -> (scene, [objects])`` or ``(scene,
    [objects], prompt)``, whose prompt (a description's own text) replaces the template's."""

    reads_test_masks = False  # evaluation batches carry each test image's mask only when True

    def __init__(self, table: dict[str, tuple[str, list[str]]], reads_test_masks: bool = False) -> None:
        self.table = table
        self.reads_test_masks = bool(reads_test_masks)

    def with_test_masks(self) -> "ScenePromptConditioner":
        """The same prompts, asking the evaluation for each test image's mask and passing it on
        as ``condition["target_mask"]`` (a model that reads test ground truth)."""
        return ScenePromptConditioner(self.table, reads_test_masks=True)

    def __call__(self, batch: Mapping[str, Any], phase: str) -> dict[str, Any]:
        from irstd_lib.models.saist.prompt_learners import scene_condition

        names = batch["name"]
        names = [names] if isinstance(names, str) else list(names)
        rows = [self.table[n] for n in names]
        condition = scene_condition([r[0] for r in rows], [r[1] for r in rows])
        if any(len(r) > 2 for r in rows):  # a description's own text (SAIST 3.4) is what CLIP encodes
            condition["prompt"] = [r[2] if len(r) > 2 else p for r, p in zip(rows, condition["prompt"])]
        if "mask" in batch and (phase == "train" or self.reads_test_masks):
            # SAIST's CLIP may see the training image with its targets removed (Fig. 2, the model's
            # clip_image_train switch); the model ignores it otherwise. A test batch carries the
            # mask only for a conditioner made by with_test_masks() (clip_image_test reading it).
            condition["target_mask"] = batch["mask"]
        return condition


def _read_all(texts: dict[str, str], where) -> dict[str, tuple[str, list[str], str]]:
    """``name -> (scene, objects, prompt)`` of free-form descriptions (SAIST 3.4), warning where
    CLIP will cut a text."""
    from irstd_lib.data.errors import DatasetError
    from irstd_lib.text.descriptions.scene_text import read_scene_text, warn_if_truncated

    table = {}
    for name, text in texts.items():
        try:
            read = read_scene_text(text)
        except ValueError as exc:
            raise DatasetError(where(name), str(exc)) from None
        warn_if_truncated(read.prompt, where(name))
        table[name] = (read.scene, list(read.objects), read.prompt)
    return table


def _vlm_descriptions(dataset, settings, progress: bool, mask_target: bool) -> dict[str, str]:
    """SAIST's descriptions of one split from a VLM (the ``vlm_scene`` source), written once into
    the cache folder keyed by the model, the endpoint, ``mask_target`` and the split."""
    import hashlib
    import json
    import os

    from irstd_lib.paths import cache_dir
    from irstd_lib.text.descriptions import describe_dataset, load_descriptions
    from irstd_lib.text.vlm_client import ENV_ENDPOINT, ENV_MODEL, normalize_endpoint, public_endpoint

    model = settings.vlm_model or os.environ.get(ENV_MODEL)
    endpoint = settings.vlm_endpoint or os.environ.get(ENV_ENDPOINT)
    if not model or not endpoint:
        raise ValueError(f"scene descriptions 'vlm' need a model and an endpoint: set conditioning vlm_model / vlm_endpoint "
                         f"or {ENV_MODEL} / {ENV_ENDPOINT}")
    key = hashlib.sha256(json.dumps([model, public_endpoint(normalize_endpoint(endpoint)), mask_target]).encode()).hexdigest()[:12]
    out = cache_dir("descriptions", f"vlm_scene-{key}", dataset.fingerprint())
    describe_dataset(dataset, "vlm_scene", out_dir=out, progress=progress, model=model, endpoint=endpoint,
                     mask_target=mask_target)
    return load_descriptions(out, names=dataset.names, kind="scene")


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
        vlm_model: str | None = None  # descriptions "vlm": the model (None: $IRSTD_VLM_MODEL)
        vlm_endpoint: str | None = None  # descriptions "vlm": the server (None: $IRSTD_VLM_ENDPOINT)
        mask_target_test: bool | None = None  # the test and validation images' (None: as mask_target)

        def __post_init__(self) -> None:
            if self.descriptions not in ("scene", "files", "vlm"):
                raise ValueError(f"scene prompt descriptions must be 'scene', 'files' or 'vlm', got {self.descriptions!r}")
            if self.mask_target_test not in (None, True, False):
                raise ValueError(f"scene prompt mask_target_test must be None, True or False, got {self.mask_target_test!r}")

        @property
        def mask_target_at_test(self) -> bool:
            """Whether the images evaluated on (test, validation) are described with their targets
            hidden by their masks."""
            return bool(self.mask_target if self.mask_target_test is None else self.mask_target_test)

        def mask_target_for(self, split: str) -> bool:
            """``mask_target`` for the training split, :attr:`mask_target_at_test` for the others."""
            return bool(self.mask_target) if split == "train" else self.mask_target_at_test

    def identity(self, settings: Settings, seed: int) -> dict[str, Any]:
        if settings.descriptions == "vlm":  # the model writes the text (its answers are cached per split and model)
            import os

            from irstd_lib.text.vlm_client import ENV_MODEL

            identity = {"descriptions": "vlm", "mask_target": settings.mask_target,
                        "vlm_model": settings.vlm_model or os.environ.get(ENV_MODEL)}
        else:
            identity = {"descriptions": settings.descriptions,
                        "mask_target": settings.mask_target if settings.descriptions == "scene" else None}
        if settings.descriptions != "files" and settings.mask_target_at_test != bool(settings.mask_target):
            # Entered only where the test images are described otherwise than the training ones,
            # so that every earlier run keeps its hash.
            identity["mask_target_test"] = settings.mask_target_at_test
        return identity

    def evaluation_names(self, settings: Settings) -> tuple[str, ...]:
        return ("test",)

    def primary_evaluation(self, settings: Settings) -> str:
        return "test"

    def ground_truth_inputs_at_test(self, settings: Settings, evaluation: str, dataset: str) -> tuple[str, ...]:
        if not settings.mask_target_at_test or settings.descriptions == "files":
            return ()
        source = "rule-based scene descriptions" if settings.descriptions == "scene" else "VLM scene descriptions"
        return (f"{source} of the test image with its target removed by its ground-truth mask (scene_prompt mask_target)",)

    def prepare(self, settings: Settings, context: ConditioningContext) -> PreparedCondition:
        table: dict[str, tuple[str, list[str]]] = {}
        for split, ds in context.datasets.items():  # train and test, and the validation list when a run has one
            mask_target = settings.mask_target_for(split)
            if settings.descriptions == "files":
                from irstd_lib.text.descriptions import load_descriptions

                folder = context.root / "scene_descriptions"
                texts = load_descriptions(folder, names=ds.names, kind="scene")
                table.update(_read_all(texts, lambda n: folder / f"{n}.txt"))
            elif settings.descriptions == "vlm":
                table.update(_read_all(_vlm_descriptions(ds, settings, context.progress, mask_target),
                                       lambda n: f"VLM description of {n}"))
            else:
                texts = generated_descriptions(ds, "scene", context.progress, kind="scene", mask_target=mask_target)
                table.update(_parse_all(texts, lambda n: n))
        conditioner = ScenePromptConditioner(table)
        return PreparedCondition(train=conditioner, evaluations={"test": conditioner})


KIND = ScenePromptConditioning()
