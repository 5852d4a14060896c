"""The ``scene`` source: SAIST's background prompt "a photo of [scene] with [object], [object],
and [object]".

By CLIP zero-shot ranking when a ``ClipEncoder`` is given, else by image statistics; the target
is masked out first, as SAIST does. Masking reads the ground-truth mask, so the source is
flagged as using the label (see the package docstring). Written in the MIRSTD layout,
``scene_descriptions/<name>.txt``.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from irstd_lib.text import scene_vocabulary as vocab
from irstd_lib.text.descriptions.registry import DescriptionSource, register_source
from irstd_lib.text.descriptions.statistics import _check_pair, background_statistics, mask_out_targets
from irstd_lib.text.descriptions.types import Description, SampleLike


@register_source("scene")
class SceneSource(DescriptionSource):
    """SAIST's background prompt "a photo of [scene] with [object], [object], and [object]".

    The target is masked out first (``mask_target=True``, SAIST's procedure; inpainting with the
    median of the ring around each target, :func:`mask_out_targets`). Then:

    * with ``encoder`` (a ``ClipEncoder``): CLIP zero-shot ranking over ``scene_vocabulary``:
      the scene with the highest cosine similarity between ``encode_image`` and
      ``encode_text("a photo of {scene}")``, and the three best objects likewise;
    * without: ``scene_vocabulary.rank_with_statistics`` on :func:`background_statistics`, a
      crude rule table documented there.

    Masking the target out reads the ground-truth mask, so ``uses_ground_truth`` is True when
    ``mask_target`` is (the text itself says nothing about the target). Output goes to
    ``scene_descriptions/<name>.txt`` (MIRSTD layout) in :func:`describe_dataset`.

    A stand-in, and the smoke profile's source: SAIST (3.4) has "a visual-language model"
    write "a 25-word description" of the target-removed image; this writes the template alone
    (about ten words) from a vocabulary ranking, with no network. SAIST's procedure is the
    ``vlm_scene`` source (:class:`~irstd_lib.text.descriptions.vlm.SceneVLMSource`), and the
    dataset's own MIRSTD files are read by ``files``
    (:func:`~irstd_lib.text.descriptions.scene_text.read_scene_text`).
    """

    name = "scene"
    version = "1"
    output_kind = "scene"

    def __init__(
        self,
        encoder: Any | None = None,
        mask_target: bool = True,
        scenes: Sequence[str] = vocab.SCENES,
        objects: Sequence[str] = vocab.OBJECTS,
    ):
        self.encoder = encoder
        self.mask_target = mask_target
        self.uses_ground_truth = mask_target
        self.scenes = tuple(scenes)
        self.objects = tuple(objects)
        if encoder is not None:
            self._ranker: vocab.ClipVocabularyRanker | None = vocab.ClipVocabularyRanker(encoder, self.scenes, self.objects)
        else:
            if (self.scenes, self.objects) != (vocab.SCENES, vocab.OBJECTS):
                raise ValueError("a custom vocabulary needs a CLIP encoder; the statistics rules know only the built-in one")
            self._ranker = None

    def parameters(self) -> dict[str, Any]:
        return {
            "method": "clip" if self.encoder is not None else "statistics",
            "encoder": getattr(self.encoder, "key", None) if self.encoder is not None else None,
            "mask_target": self.mask_target,
            "vocabulary_version": vocab.VOCABULARY_VERSION,
            "scenes": list(self.scenes),
            "objects": list(self.objects),
            "template": vocab.SCENE_PROMPT_TEMPLATE,
        }

    def describe(self, sample: SampleLike) -> Description:
        image = np.asarray(sample.image, dtype=np.float32)
        mask = None if sample.mask is None else np.asarray(sample.mask, dtype=bool)
        _check_pair(image, mask, sample.name)
        if self.mask_target and mask is None:
            raise ValueError(f"{sample.name}: mask_target=True needs the mask (or pass mask_target=False)")
        use_mask = mask if self.mask_target else None
        if self._ranker is not None:
            shown = mask_out_targets(image, use_mask) if use_mask is not None else image
            ranking = self._ranker.rank(shown)
            scores = {
                "scene_score": round(ranking.scene_scores[ranking.scene], 4),
                "object_scores": [round(ranking.object_scores[o], 4) for o in ranking.objects],
            }
        else:
            stats = background_statistics(image, use_mask)
            ranking = vocab.rank_with_statistics(stats)
            scores = {"background": {k: round(v, 4) for k, v in stats.items()}}
        return self._make(sample.name, ranking.prompt, scene=ranking.scene, objects=ranking.objects, **scores)
