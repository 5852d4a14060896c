"""Scene and object vocabulary for SAIST-style background prompts.

SAIST (Zhang et al., CVPR 2025) describes the *background* of each infrared image, with the
target masked out first, as "a photo of [scene] with [object], [object], and [object]" (about 25
words of background information per image in their MIRSTD set, written with GPT-4V). The paper
does not publish the scene or object lists. This module fixes one:

* ``SCENES``: what the whole image shows (sky types, sea, land, city...). Each entry is written
  with its article so that it can be dropped into the template as is ("a cloudy sky").
* ``OBJECTS``: background things an infrared small-target image commonly contains. Things that
  are themselves typical *targets* (aircraft, drones, birds, ships, boats) are left out on
  purpose: the prompt describes the background, and the target has been masked out.

Two ways to fill the template:

* :func:`rank_with_clip`: CLIP zero-shot ranking, as a GPT-free stand-in for SAIST's
  descriptions. Cosine similarity between ``encode_image(image)`` and ``encode_text`` of
  ``"a photo of {scene}"`` (top-1 scene) and ``"a photo of {object}"`` (top-3 objects).
  With a randomly initialised (tiny) CLIP the ranking is arbitrary but deterministic; with real
  weights it is a genuine zero-shot description.
* :func:`rank_with_statistics`: a crude, deterministic rule table over background image
  statistics (see ``irstd_lib.text.descriptions.background_statistics``). It can only say what
  intensity statistics can say (smooth, cloudy, textured at the bottom, sharp edges, a strong
  horizontal brightness step); it never claims a scene it has no evidence for, and falls back to
  generic entries ("open sky", "haze") for weak evidence. It exists so that the scene prompt is
  available with no model at all.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

import numpy as np

#: SAIST's background prompt template (paper, Sec. 3).
SCENE_PROMPT_TEMPLATE = "a photo of {scene} with {object1}, {object2}, and {object3}"

#: Prompt used to embed a scene for CLIP ranking.
SCENE_QUERY_TEMPLATE = "a photo of {}"
#: Prompt used to embed an object for CLIP ranking.
OBJECT_QUERY_TEMPLATE = "a photo of {}"

SCENES: tuple[str, ...] = (
    "a clear sky",
    "a cloudy sky",
    "an overcast sky",
    "a hazy sky",
    "a sea",
    "a coastline",
    "a harbor",
    "a landscape",
    "mountains",
    "a forest",
    "a field",
    "a city",
    "a road",
    "a desert",
)

OBJECTS: tuple[str, ...] = (
    "clouds",
    "open sky",
    "haze",
    "the horizon",
    "trees",
    "buildings",
    "mountains",
    "hills",
    "waves",
    "roads",
    "power lines",
    "grass",
    "rocks",
    "towers",
)

#: Version of the vocabulary and of the statistics rules; goes into the provenance record.
VOCABULARY_VERSION = "1"


def format_scene_prompt(scene: str, objects: Sequence[str]) -> str:
    """Fill SAIST's template. Exactly three objects are required, as in the paper."""
    if len(objects) != 3:
        raise ValueError(f"SAIST's scene prompt takes exactly 3 objects, got {len(objects)}: {list(objects)}")
    return SCENE_PROMPT_TEMPLATE.format(scene=scene, object1=objects[0], object2=objects[1], object3=objects[2])


_SCENE_PROMPT_PATTERN = None


def parse_scene_prompt(text: str) -> tuple[str, list[str]] | None:
    """``(scene, [object1, object2, object3])`` of a prompt in SAIST's template (a final period
    and surrounding spaces tolerated), or None when the text does not follow it."""
    import re

    global _SCENE_PROMPT_PATTERN
    if _SCENE_PROMPT_PATTERN is None:
        _SCENE_PROMPT_PATTERN = re.compile(r"^a photo of (.+?) with (.+?), (.+?),? and (.+?)\.?$")
    match = _SCENE_PROMPT_PATTERN.match(" ".join(text.split()))
    if match is None:
        return None
    scene, *objects = (g.strip() for g in match.groups())
    return scene, objects


@dataclass
class SceneRanking:
    """The chosen scene and objects, with the scores that chose them (higher = better)."""

    scene: str
    objects: list[str]
    method: str  # "clip" or "statistics"
    scene_scores: dict[str, float] = field(default_factory=dict)
    object_scores: dict[str, float] = field(default_factory=dict)

    @property
    def prompt(self) -> str:
        return format_scene_prompt(self.scene, self.objects)


def _top_k(scores: Mapping[str, float], order: Sequence[str], k: int) -> list[str]:
    # Ties are broken by vocabulary order, so the result never depends on dict/float quirks.
    rank = {name: i for i, name in enumerate(order)}
    return sorted(order, key=lambda name: (-scores[name], rank[name]))[:k]


class ClipVocabularyRanker:
    """CLIP zero-shot ranking of ``scenes`` and ``objects`` for one encoder.

    The text embeddings of the vocabulary are computed once per ranker (the vocabulary is fixed),
    then every image costs one ``encode_image`` call. ``encoder`` is any object with the
    ``ClipEncoder`` interface: ``encode_text(list[str]) -> (N, D)`` and
    ``encode_image(list[np.ndarray]) -> (N, D)``, both L2-normalised, so a dot product is the
    cosine similarity.
    """

    def __init__(
        self,
        encoder: Any,
        scenes: Sequence[str] = SCENES,
        objects: Sequence[str] = OBJECTS,
        n_objects: int = 3,
    ):
        if len(objects) < n_objects:
            raise ValueError(f"need at least {n_objects} objects in the vocabulary, got {len(objects)}")
        self.encoder = encoder
        self.scenes = tuple(scenes)
        self.objects = tuple(objects)
        self.n_objects = n_objects
        self._scene_emb: np.ndarray | None = None
        self._object_emb: np.ndarray | None = None

    @staticmethod
    def _as_numpy(x: Any) -> np.ndarray:
        if hasattr(x, "detach"):
            x = x.detach().cpu().numpy()
        x = np.asarray(x, dtype=np.float64)
        # Re-normalise defensively: cosine similarity must not depend on the encoder's promise.
        norm = np.linalg.norm(x, axis=-1, keepdims=True)
        return x / np.maximum(norm, 1e-12)

    def _text_embeddings(self) -> tuple[np.ndarray, np.ndarray]:
        if self._scene_emb is None or self._object_emb is None:
            self._scene_emb = self._as_numpy(
                self.encoder.encode_text([SCENE_QUERY_TEMPLATE.format(s) for s in self.scenes])
            )
            self._object_emb = self._as_numpy(
                self.encoder.encode_text([OBJECT_QUERY_TEMPLATE.format(o) for o in self.objects])
            )
        return self._scene_emb, self._object_emb

    def rank(self, image: np.ndarray) -> SceneRanking:
        scene_emb, object_emb = self._text_embeddings()
        img = self._as_numpy(self.encoder.encode_image([np.asarray(image, dtype=np.float32)]))[0]
        scene_scores = {s: float(v) for s, v in zip(self.scenes, scene_emb @ img)}
        object_scores = {o: float(v) for o, v in zip(self.objects, object_emb @ img)}
        return SceneRanking(
            scene=_top_k(scene_scores, self.scenes, 1)[0],
            objects=_top_k(object_scores, self.objects, self.n_objects),
            method="clip",
            scene_scores=scene_scores,
            object_scores=object_scores,
        )


def rank_with_clip(
    encoder: Any, image: np.ndarray, scenes: Sequence[str] = SCENES, objects: Sequence[str] = OBJECTS
) -> SceneRanking:
    """One-off CLIP ranking (builds a :class:`ClipVocabularyRanker`; reuse one for many images)."""
    return ClipVocabularyRanker(encoder, scenes, objects).rank(image)


# Thresholds of the statistics rules, on images in [0, 1]. Set by eye on NUAA-SIRST (427
# images): a uniform sky has a large-scale std below ~0.04 and a band-pass texture (robust std)
# below ~0.006; cloud banks reach large-scale std 0.1-0.35; tree lines, towns and slopes at the
# bottom of a frame under a smooth sky have a bottom-half texture above ~0.008 and at least twice
# the top half's; grainy (noisy or finely cluttered) frames have texture above ~0.009 all over.
STATISTICS_THRESHOLDS: dict[str, float] = {
    "cloud_large_scale_std": 0.04,
    "uniform_texture_std": 0.006,
    "grainy_texture_std": 0.009,
    "ground_texture_std": 0.008,
    "ground_texture_ratio": 2.0,
    "edge_fraction": 0.02,
    "horizon_step": 0.08,
    "overcast_large_scale_std": 0.08,
}


def _clip01(x: float) -> float:
    return float(min(max(x, 0.0), 1.0))


def object_scores_from_statistics(stats: Mapping[str, float]) -> dict[str, float]:
    """Evidence in [0, 1] for each object of :data:`OBJECTS` from background statistics.

    ``stats`` are the keys produced by ``background_statistics``: ``large_scale_std``,
    ``texture_std``, ``texture_top``, ``texture_bottom``, ``edge_fraction``, ``horizon_step``,
    ``anisotropy_bottom`` (mean |d/dy| over mean |d/dx| in the bottom half) and ``median``.
    Objects that intensity statistics cannot tell apart from others (roads, power lines, grass,
    rocks, towers) get no evidence and only appear through CLIP.
    """
    t = STATISTICS_THRESHOLDS
    large = stats["large_scale_std"]
    tex_top, tex_bottom = stats["texture_top"], stats["texture_bottom"]
    edges = stats["edge_fraction"]
    horizon = stats["horizon_step"]
    ground = _clip01(tex_bottom / (2 * t["ground_texture_std"])) * _clip01(
        tex_bottom / max(t["ground_texture_ratio"] * tex_top, 1e-6) - 0.5
    )
    scores = {
        # A small floor so that weak evidence everywhere still yields generic sky words rather
        # than whatever ground object scored a hair above zero.
        "clouds": max(_clip01(large / (2 * t["cloud_large_scale_std"])) * (1 - 0.5 * ground), 0.1),
        "open sky": _clip01(1 - tex_top / (2 * t["uniform_texture_std"])) * 0.9,
        "haze": _clip01(1 - large / t["cloud_large_scale_std"]) * 0.8,
        # Cloud banks also make brightness steps between rows: without ground evidence a step is
        # only half the evidence for a horizon.
        "the horizon": _clip01(horizon / (2 * t["horizon_step"])) * (0.5 + 0.5 * ground),
        "trees": ground * 0.9,
        "buildings": _clip01(edges / (2 * t["edge_fraction"])) * 0.95,
        "mountains": ground * _clip01(horizon / (2 * t["horizon_step"])),
        "hills": ground * 0.5,
        "waves": ground * _clip01(stats.get("anisotropy_bottom", 1.0) - 1.0),
    }
    return {o: float(scores.get(o, 0.0)) for o in OBJECTS}


def scene_scores_from_statistics(stats: Mapping[str, float]) -> dict[str, float]:
    """Evidence in [0, 1] for the scenes the statistics can support (others get 0)."""
    t = STATISTICS_THRESHOLDS
    large, texture = stats["large_scale_std"], stats["texture_std"]
    tex_top, tex_bottom = stats["texture_top"], stats["texture_bottom"]
    ground = tex_bottom > t["ground_texture_std"] and tex_bottom > t["ground_texture_ratio"] * tex_top
    uniform = large < t["cloud_large_scale_std"] and texture < t["uniform_texture_std"]
    scores = dict.fromkeys(SCENES, 0.0)
    if ground:
        scores["a landscape"] = 1.0
    elif uniform:
        scores["a clear sky"] = 1.0
    elif large >= t["overcast_large_scale_std"] and stats["median"] < 0.25:
        scores["an overcast sky"] = 1.0
    elif large >= t["cloud_large_scale_std"]:
        scores["a cloudy sky"] = 1.0
    else:
        scores["a hazy sky"] = 1.0
    return scores


def rank_with_statistics(stats: Mapping[str, float], n_objects: int = 3) -> SceneRanking:
    """Scene and objects from background statistics (no model): see the module docstring."""
    scene_scores = scene_scores_from_statistics(stats)
    object_scores = object_scores_from_statistics(stats)
    return SceneRanking(
        scene=_top_k(scene_scores, SCENES, 1)[0],
        objects=_top_k(object_scores, OBJECTS, n_objects),
        method="statistics",
        scene_scores=scene_scores,
        object_scores=object_scores,
    )
