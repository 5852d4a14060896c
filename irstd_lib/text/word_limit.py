"""The word limit of a description: how words are counted and how an over-long text is cut.

LGNet asked GPT-4V to "respond succinctly within 50 words" (:data:`WORD_LIMIT`). Words are
counted as whitespace-separated tokens (``len(text.split())``); a hyphenated compound such as
"upper-left" is one word. :func:`enforce_word_limit` cuts an over-long text at the last sentence
end within the limit, or at a word boundary when no sentence end fits.

Used by the description sources (:mod:`irstd_lib.text.descriptions`, which re-exports these
names) and by the VLM client (:mod:`irstd_lib.text.vlm_client`); it imports neither.
"""

from __future__ import annotations

import re

#: LGNet's limit: "respond succinctly within 50 words".
WORD_LIMIT = 50


def count_words(text: str) -> int:
    """Number of whitespace-separated tokens ("upper-left" and "3.5" are one word each)."""
    return len(text.split())


_SENTENCE_END = re.compile(r"[.!?][\"')\]]*$")


def enforce_word_limit(text: str, max_words: int = WORD_LIMIT) -> tuple[str, bool]:
    """Return ``(text, truncated)`` with at most ``max_words`` words.

    A text within the limit comes back unchanged (only stripped). A longer one keeps its first
    ``max_words`` words, cut back to the last word that ends a sentence (".", "!" or "?", maybe
    followed by a closing quote or bracket) when there is one, so that the result is whole
    sentences; otherwise cut at the word boundary, trailing ",;:-" removed and a "." added.
    Whitespace inside a truncated text is normalised to single spaces.
    """
    if max_words < 1:
        raise ValueError(f"max_words must be >= 1, got {max_words}")
    text = text.strip()
    words = text.split()
    if len(words) <= max_words:
        return text, False
    kept = words[:max_words]
    for end in range(len(kept), 0, -1):
        if _SENTENCE_END.search(kept[end - 1]):
            return " ".join(kept[:end]), True
    last = kept[-1].rstrip(",;:-")
    kept[-1] = (last or kept[-1]) + "."
    return " ".join(kept), True
