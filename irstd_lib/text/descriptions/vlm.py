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
