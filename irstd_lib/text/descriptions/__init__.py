"""Per-image text descriptions as a first-class, swappable input.

LGNet (LangIR) and SAIST write their text with GPT-4V. This package makes the description an
input with a named *source*, so that the same pipeline runs with the papers' text files, with
offline templates that need no paid service, or with any OpenAI-compatible vision model.

Every source turns one sample into one :class:`Description`: ``name``, ``text``, ``source`` and a
``provenance`` dict (source name and version, its parameters, the package version and, per
image, what was measured). Provenance holds no timestamps, so two runs with the same inputs
produce byte-identical records.

Sources (``get_source(name, **kwargs)``):

``files``
    The descriptions that come with a dataset: LangIR target descriptions
    ``root/descriptions/<name>.description.txt`` or ``<name>-description.txt``, or MIRSTD-style
    scene descriptions ``root/scene_descriptions/<name>.txt`` (``kind="scene"``).
``quadrant``
    LGNet's ablation template from the ground-truth mask: "The small target lies in the
    top-left quadrant." (one of four). See :class:`QuadrantSource` for several targets, the
    midline tie rule and the empty mask.
``semantic``
    A richer template from the mask and image statistics: position words (upper, lower, left,
    right, center: the words LangIR's Table 1 counts), target count, size class, local contrast
    and a coarse background description; at most 50 words (LGNet's limit).
``scene``
    SAIST's background prompt "a photo of [scene] with [object], [object], and [object]", by
    CLIP zero-shot ranking when a ``ClipEncoder`` is given, else by image statistics; the target
    is masked out first, as SAIST does. A stand-in: the smoke profile's descriptions (no VLM
    offline), ten words from a rule table where SAIST's are 25 words from a VLM.
``first_pass``
    The text a mask-derived writer (``semantic`` or ``quadrant``) writes from a model's own
    prediction instead of the mask: the test-time text that reads no ground truth
    (:class:`~irstd_lib.text.descriptions.first_pass.FirstPassSource`).
``vlm``
    Any OpenAI-compatible chat-completions endpoint (hosted, vLLM, Ollama) with LGNet's prompt;
    see :mod:`irstd_lib.text.vlm_client`.
``vlm_scene``
    SAIST's own procedure (3.4): the image with its targets removed sent to a VLM with SAIST's
    instruction, about 25 words (:class:`~irstd_lib.text.descriptions.vlm.SceneVLMSource`).

**Oracle warning.** ``quadrant`` and ``semantic`` read the ground-truth mask: they are *oracle*
descriptions. They are fine as training-time priors and for ablations (LGNet's own quadrant
ablation is one), but feeding them to a model at test time leaks the label into the input, and
any number obtained that way is not a detection result. ``scene`` uses the mask only to hide
the target before describing the background; that is SAIST's procedure and still reads the
label, so it is flagged the same way. Each source says so in ``uses_ground_truth``.

Words are counted as whitespace-separated tokens and over-long texts cut at a sentence or word
boundary (:mod:`irstd_lib.text.word_limit`, shared with the VLM client).

Modules (every public name is re-exported here):

* :mod:`~irstd_lib.text.descriptions.types`: :class:`Description`, :class:`SampleLike`;
* :mod:`~irstd_lib.text.descriptions.statistics`: mask geometry and image statistics shared by
  the template sources (target components, masking the targets out, local contrast, background
  statistics and words);
* :mod:`~irstd_lib.text.descriptions.registry`: the :class:`DescriptionSource` base class and
  the registry (:func:`register_source`, :func:`get_source`, :func:`list_sources`);
* :mod:`~irstd_lib.text.descriptions.files`: description files in the LangIR layout (reading,
  finding, loading a folder) and the ``files`` source;
* :mod:`~irstd_lib.text.descriptions.quadrant`, :mod:`~irstd_lib.text.descriptions.semantic`,
  :mod:`~irstd_lib.text.descriptions.scene`, :mod:`~irstd_lib.text.descriptions.vlm`: one
  module per source;
* :mod:`~irstd_lib.text.descriptions.writer`: :func:`describe_dataset`, a whole dataset's
  descriptions in the LangIR layout, resumable and never overwriting unless asked;
* :mod:`~irstd_lib.text.descriptions.cli`: :func:`add_describe_arguments` /
  :func:`run_describe`, behind ``python -m irstd_lib describe``.

Importing this package registers the built-in sources: the modules of ``files``, ``quadrant``,
``semantic`` and ``scene`` are imported below; ``vlm`` is registered with a factory that imports
:mod:`~irstd_lib.text.descriptions.vlm` (and with it the HTTP client) only when that source is
built. Imports go one way: :mod:`irstd_lib.text.vlm_client` imports nothing from this package.
"""

from __future__ import annotations

from typing import Any

from irstd_lib.text.descriptions.cli import add_describe_arguments, run_describe
from irstd_lib.text.descriptions.files import (
    SCENE_DESCRIPTION_DIR,
    SCENE_DESCRIPTION_SUFFIX,
    TARGET_DESCRIPTION_DIR,
    TARGET_DESCRIPTION_SUFFIXES,
    FileSource,
    find_description_file,
    load_descriptions,
    read_description_file,
)
from irstd_lib.text.descriptions.first_pass import FIRST_PASS_WRITERS, FirstPassSource
from irstd_lib.text.descriptions.quadrant import (
    NO_TARGET_QUADRANT_SENTENCE,
    QUADRANT_TEMPLATE,
    QUADRANTS,
    QuadrantSource,
    quadrant_of,
)
from irstd_lib.text.descriptions.registry import DescriptionSource, get_source, list_sources, register_source
from irstd_lib.text.descriptions.scene import SceneSource
from irstd_lib.text.descriptions.semantic import SemanticSource, position_phrase, position_words
from irstd_lib.text.descriptions.statistics import (
    TargetComponent,
    background_statistics,
    describe_background,
    has_ground_at_bottom,
    local_contrast,
    mask_out_targets,
    target_components,
)
from irstd_lib.text.descriptions.types import Description, SampleLike
from irstd_lib.text.descriptions.writer import PROVENANCE_FILE, describe_dataset
from irstd_lib.text.word_limit import WORD_LIMIT, count_words, enforce_word_limit

__all__ = [
    "NO_TARGET_QUADRANT_SENTENCE",
    "PROVENANCE_FILE",
    "QUADRANTS",
    "QUADRANT_TEMPLATE",
    "SCENE_DESCRIPTION_DIR",
    "SCENE_DESCRIPTION_SUFFIX",
    "TARGET_DESCRIPTION_DIR",
    "TARGET_DESCRIPTION_SUFFIXES",
    "WORD_LIMIT",
    "Description",
    "DescriptionSource",
    "FIRST_PASS_WRITERS",
    "FileSource",
    "FirstPassSource",
    "QuadrantSource",
    "SampleLike",
    "SceneSource",
    "SemanticSource",
    "TargetComponent",
    "add_describe_arguments",
    "background_statistics",
    "count_words",
    "describe_background",
    "describe_dataset",
    "enforce_word_limit",
    "find_description_file",
    "get_source",
    "has_ground_at_bottom",
    "list_sources",
    "load_descriptions",
    "local_contrast",
    "mask_out_targets",
    "position_phrase",
    "position_words",
    "quadrant_of",
    "read_description_file",
    "register_source",
    "run_describe",
    "target_components",
]


@register_source("vlm")
def _vlm_source(**kwargs: Any) -> DescriptionSource:
    # Imported lazily: the HTTP client is only needed by users who ask for it.
    from irstd_lib.text.descriptions.vlm import VLMSource

    return VLMSource(**kwargs)


@register_source("vlm_scene")
def _vlm_scene_source(**kwargs: Any) -> DescriptionSource:
    # SAIST's scene descriptions from a VLM (the target removed first); lazily, as ``vlm``.
    from irstd_lib.text.descriptions.vlm import SceneVLMSource

    return SceneVLMSource(**kwargs)
