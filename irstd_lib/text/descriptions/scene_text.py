"""Reading one scene description as SAIST's section 3.4 states them.

3.4: "The expert's prompt follows the format: a photo of a scene with [object], [object], and
[object] offering a brief description of the scene and its objects. The final output is a
25-word description that captures the image's essential background information." A MIRSTD
description is therefore free text of about 25 words that usually opens with the template.
:func:`read_scene_text` reads any text, of any length, in one of three forms:

- ``"template"``: the whole text is the template (what the rule-based ``scene`` source writes):
  its scene and objects, and the prompt re-formatted from them, exactly as before this reader
  existed (so the smoke runs' prompts are unchanged);
- ``"template+description"``: the first sentence is the template and more follows (MIRSTD's
  form): the scene and objects parsed from that sentence, the prompt the whole text;
- ``"free"``: no template anywhere at the start: the prompt is the whole text, and so are the
  scene and every object query (a reading: SR-CLIP needs a scene and K objects, and a free text
  names none the code could pick without guessing; every query then carries the description).

Whatever the form, CLIP encodes the prompt truncated to its context (open_clip's tokenizer cuts
at ``context_length`` tokens, start and end tokens included); :func:`warn_if_truncated` says so,
naming the file, against the context of the paper's CLIP (ViT-B/16: 77 tokens) unless told
another (the smoke profile's tiny CLIP has 32).
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass

from irstd_lib.text.scene_vocabulary import format_scene_prompt, parse_scene_prompt

__all__ = ["CLIP_CONTEXT", "SceneText", "clip_token_count", "read_scene_text", "warn_if_truncated"]

#: the text context of the paper's CLIP (ViT-B/16), start and end tokens included
CLIP_CONTEXT = 77

_SENTENCE_END = re.compile(r"[.;!?](?=\s|$)")


@dataclass(frozen=True)
class SceneText:
    """One description read: what CLIP encodes (``prompt``), the scene and objects SR-CLIP's
    description sets take, and which form the text had (see the module docstring)."""

    prompt: str
    scene: str
    objects: tuple[str, ...]
    form: str


def read_scene_text(text: str, n_objects: int = 3) -> SceneText:
    """The :class:`SceneText` of ``text`` (see the module docstring); an empty text is an error."""
    normalised = " ".join(str(text).split())
    if not normalised:
        raise ValueError("empty scene description")
    # The first sentence first: the template's last object would otherwise swallow the rest.
    end = _SENTENCE_END.search(normalised)
    if end is not None and normalised[end.end():].strip():
        parsed = parse_scene_prompt(normalised[:end.start()])
        if parsed is not None:
            scene, objects = parsed
            return SceneText(normalised, scene, tuple(objects), "template+description")
    parsed = parse_scene_prompt(normalised)
    if parsed is not None:
        scene, objects = parsed
        return SceneText(format_scene_prompt(scene, objects), scene, tuple(objects), "template")
    return SceneText(normalised, normalised, (normalised,) * n_objects, "free")


def clip_token_count(text: str) -> int:
    """Tokens CLIP's BPE tokenizer (open_clip's, shared by its CLIP models) makes of ``text``,
    with the start and end tokens."""
    from open_clip.tokenizer import SimpleTokenizer

    global _TOKENIZER
    if _TOKENIZER is None:
        _TOKENIZER = SimpleTokenizer()
    return len(_TOKENIZER.encode(text)) + 2


_TOKENIZER = None


def warn_if_truncated(text: str, where, context: int = CLIP_CONTEXT) -> bool:
    """Warn (naming ``where``, the file) when CLIP will cut ``text`` at ``context`` tokens;
    return whether it will."""
    n = clip_token_count(text)
    if n <= context:
        return False
    warnings.warn(f"{where}: scene description of {n} tokens is truncated to CLIP's context of {context} "
                  f"({len(text.split())} words; SAIST's are about 25)", UserWarning, stacklevel=2)
    return True
