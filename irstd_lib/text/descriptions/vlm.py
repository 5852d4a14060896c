"""The ``vlm`` source: descriptions from any OpenAI-compatible chat-completions endpoint
(hosted, vLLM, Ollama) with LGNet's GPT-4V prompt.

:class:`VLMSource` wraps :class:`irstd_lib.text.vlm_client.VLMClient` (HTTP, retries, answer
cache, word limit; see that module). The package imports this module only when the ``vlm``
source is built (``get_source("vlm")``), so that importing :mod:`irstd_lib.text.descriptions`
does not import the HTTP client. Imports go one way: this module imports the client, the client
knows nothing of description sources.
"""

from __future__ import annotations

from typing import Any, Sequence

from irstd_lib.text.descriptions.registry import DescriptionSource
from irstd_lib.text.descriptions.types import Description, SampleLike
from irstd_lib.text.vlm_client import VLMAnswer, VLMClient


class VLMSource(DescriptionSource):
    """The ``vlm`` description source: LGNet's GPT-4V prompt sent to any OpenAI-compatible
    endpoint (see :mod:`irstd_lib.text.vlm_client`). Reads only the image, never the mask.

    Arguments are those of :class:`VLMClient` (``endpoint``, ``model``, ``api_key``,
    ``cache_dir``, ``concurrency``, ``timeout``, ``max_retries``, ``backoff``, ``max_words``,
    ``system_prompt``, ``task_prompt``, ``temperature``, ``max_tokens``...), or a ready ``client``.
    """

    name = "vlm"
    version = "1"
    uses_ground_truth = False

    def __init__(self, client: VLMClient | None = None, **kwargs: Any):
        self.client = client if client is not None else VLMClient(**kwargs)
        self.concurrency = self.client.concurrency

    def parameters(self) -> dict[str, Any]:
        return {**self.client.config.record(), "max_words": self.client.config.max_words}

    def describe(self, sample: SampleLike) -> Description:
        return self.describe_answer(self.client.describe_image(sample.image, sample.name))

    def describe_many(self, samples: Sequence[SampleLike]) -> list[Description]:
        answers = self.client.describe_many((s.name, s.image) for s in samples)
        return [self.describe_answer(a) for a in answers]

    def describe_answer(self, answer: VLMAnswer) -> Description:
        extra: dict[str, Any] = {"truncated": answer.truncated, "n_words_raw": answer.n_words_raw, "cache_key": answer.cache_key}
        if answer.truncated:
            extra["raw_text"] = answer.raw_text
        return self._make(answer.name, answer.text, **extra)


#: SAIST's instruction (3.4), in our words: the paper gives the format and the length, not the
#: prompt's text ("The expert's prompt follows the format: a photo of a scene with [object],
#: [object], and [object] offering a brief description of the scene and its objects. The final
#: output is a 25-word description that captures the image's essential background information").
SAIST_SYSTEM_PROMPT = "You are an expert who describes the background of infrared images."
SAIST_TASK_PROMPT = (
    "Describe the background of this infrared image in about 25 words, in the format: a photo of a scene with "
    "[object], [object], and [object], followed by a brief description of the scene and its objects."
)
#: SAIST's length (3.4: "a 25-word description")
SAIST_WORD_LIMIT = 25


class SceneVLMSource(VLMSource):
    """The ``vlm_scene`` source: SAIST's scene descriptions (3.4: "Each infrared image, with the
    target mask removed, is encoded as a Base64 string and used as a text prompt for a
    visual-language model"): the image with its targets removed (the ``scene`` source's removal,
    :func:`~irstd_lib.text.descriptions.statistics.mask_out_targets`), sent as a base64 PNG with
    :data:`SAIST_SYSTEM_PROMPT` / :data:`SAIST_TASK_PROMPT`, the answer cut to
    :data:`SAIST_WORD_LIMIT` words. "checked manually" (3.4) is not reproduced.

    Removing the target reads the ground-truth mask (``uses_ground_truth`` while ``mask_target``),
    for test images too; the text never mentions the target. Arguments: ``mask_target`` and those
    of :class:`VLMSource` (``endpoint``, ``model``... or a ready ``client``); the prompts and the
    word limit default to SAIST's.
    """

    name = "vlm_scene"
    version = "1"
    output_kind = "scene"

    def __init__(self, client: VLMClient | None = None, mask_target: bool = True, **kwargs: Any):
        if client is None:
            kwargs = {"system_prompt": SAIST_SYSTEM_PROMPT, "task_prompt": SAIST_TASK_PROMPT,
                      "max_words": SAIST_WORD_LIMIT, **kwargs}
        super().__init__(client, **kwargs)
        self.mask_target = bool(mask_target)
        self.uses_ground_truth = self.mask_target

    def parameters(self) -> dict[str, Any]:
        return {**super().parameters(), "mask_target": self.mask_target}

    def _shown(self, sample: SampleLike):
        import numpy as np

        from irstd_lib.text.descriptions.statistics import mask_out_targets

        image = np.asarray(sample.image, dtype=np.float32)
        if not self.mask_target:
            return image
        if sample.mask is None:
            raise ValueError(f"{sample.name}: mask_target=True needs the mask (or pass mask_target=False)")
        return mask_out_targets(image, np.asarray(sample.mask, dtype=bool))

    def describe(self, sample: SampleLike) -> Description:
        return self.describe_answer(self.client.describe_image(self._shown(sample), sample.name))

    def describe_many(self, samples: Sequence[SampleLike]) -> list[Description]:
        answers = self.client.describe_many((s.name, self._shown(s)) for s in samples)
        return [self.describe_answer(a) for a in answers]
