"""SR-CLIP: scene-recognition CLIP, the guidance SAIST gives its mask decoder.

For one image with the scene prompt "a photo of [scene] with [object], [object], and [object]":

1. **Text description set**: ``T_s`` = CLIP's embedding of "a photo of [scene]", ``T_k`` = that
   of "a photo of [object_k]" (K = 3), from the frozen text encoder (the queries the ``scene``
   description source ranks scenes and objects with).
2. **Visual description set**: ``V_s`` = the frozen image encoder's global feature through a
   learnable projection; ``V_k`` = object features from the image encoder's patch tokens.
   Choice (the paper leaves it open): each visual object is the patch tokens pooled by their
   cosine similarity to the text object ``T_k`` (a softmax over the tokens with a learnable
   temperature), through a learnable projection: the region of the image that looks like what
   the text names, so the two sets describe the same objects.
3. **Relations** (eqs. 1-2, :mod:`.relations`): Object-to-Object and Scene-to-Object refine the
   objects of each set.
4. **Description** (eqs. 3-4): ``Concat(T_s, T_1..K, V_s, V_1..K)`` (2(1 + K) tokens) is mapped
   to the text transformer's width, run through the frozen CLIP text transformer (its
   positional embedding and causal mask) and ``ln_final``, then through the **widened final
   projection**: a learnable linear map to ``2 d`` (where CLIP's projection gives one embedding,
   this gives two halves per token), ``d`` being the mask decoder's width. The first half of
   every token feeds the text stream, the second half the visual stream.
5. **Cross-modal interaction** (eqs. 5-6, :mod:`.cross_modal`): the text decoder (Text-to-Text,
   then Visual-to-Text) gives the text prompt, the visual decoder (Visual-to-Visual, then
   Text-to-Visual) the visual prompt, 2(1 + K) tokens each.
6. **MMD** (eq. 8, :mod:`.mmd`) between the text prompt and the visual prompt of each image,
   weighted by ``mmd_weight`` (default 0.1, a choice: the paper gives no weight) and returned
   as the model's ``aux_losses["mmd"]``.

The prompt tokens (text then visual, 4(1 + K)) are CG-SAM's sparse prompt embeddings. Trained:
both projections, the pooling temperature, the relation temperatures, the input map, the widened
projection and the two decoders. Frozen: all of CLIP (unless ``train_text``).

Switches (constructor arguments; the defaults are the readings above, which the smoke runs were
made with; the ``paper`` profile selects the paper's readings, see ``FIDELITY.md``):

- ``visual_source``: where the decoders' ``Visual`` input (eqs. 5-6) comes from.
  ``"text_encoder"`` (default, the first reading): the second half of the widened projection of
  the encoded Description, as in step 4. ``"image_encoder"`` (the paper, 3.2.1: "we extract local
  object features from Clip's image encoder, acquire global visual features with the help of a
  learnable projection layer"): ``Visual`` is the visual description set itself, ``V_s`` (the
  projected global feature) and ``V_1..K`` (the object features pooled from the image encoder's
  local patch tokens), 1 + K tokens mapped to ``d`` by a learnable linear layer; ``Text`` (eq. 4)
  is then the whole widened projection of all 2(1 + K) encoded Description tokens.
- ``projection_width_factor``: ``None`` (default): the widened projection is ``W -> 2 d`` (at
  vit_b and ViT-B-16, 512 -> 512: as wide as CLIP's own ``text_projection``, so it does not widen
  at that size). A number ``f`` (3.2.3: "expand the output dimension of the final learnable linear
  projection layer in CLIP"): the projection is ``W -> f E``, ``E`` being CLIP's embedding width
  (``text_projection``'s output; 512 at ViT-B-16), i.e. ``f`` times wider than CLIP's, followed by
  a learnable linear map to the decoders' width (``2 d`` or ``d`` by ``visual_source``). The paper
  gives no factor; the paper profile takes 2.
- ``relation_temperature``: ``"learnable"`` (default): the relation modules divide the cosine by a
  learnable temperature (init 0.07); ``"equation"``: eqs. 1-2 as written, ``exp(cos)`` (a fixed
  temperature of 1), :mod:`.relations`.
- ``train_text``: ``False`` (default): CLIP's text encoder frozen (gradients still flow through it).
  ``True`` (3.1: "the text encoder of SR-CLIP converts textual descriptions into feature
  representations, while the image encoder is frozen", which freezes only the image encoder):
  the text description set is encoded with gradients, so the text tower (set trainable by
  :class:`~irstd_lib.models.saist.model.SAIST`) fine-tunes, at its own learning rate.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from irstd_lib.models.frozen_clip import FrozenClip
from irstd_lib.models.saist.cross_modal import CrossModalDecoder
from irstd_lib.models.saist.mmd import gaussian_mmd
from irstd_lib.models.saist.relations import ObjectToObject, SceneToObject, cosine_softmax
from irstd_lib.text.scene_vocabulary import OBJECT_QUERY_TEMPLATE, SCENE_QUERY_TEMPLATE

__all__ = ["RELATION_TEMPERATURES", "SRClip", "VISUAL_SOURCES", "encode_texts"]

VISUAL_SOURCES = ("text_encoder", "image_encoder")
RELATION_TEMPERATURES = ("learnable", "equation")


def encode_texts(clip: FrozenClip, texts: list[str], trainable: bool = False) -> torch.Tensor:
    """(N, E) text features: the frozen, memoised ones, or (``trainable``) CLIP's ``encode_text``
    with gradients, for a fine-tuned text encoder (never memoised: its weights change)."""
    if not trainable:
        return clip.encode_texts(texts)
    return clip.model.encode_text(clip.tokenize(list(texts)))


class SRClip(nn.Module):
    """SR-CLIP (see the module docstring). ``forward(clip, image01, condition)`` returns
    ``(prompts (B, 4(1 + K), d), {"mmd": weighted MMD^2})`` (3(1 + K) prompt tokens with
    ``visual_source="image_encoder"``: 2(1 + K) text, 1 + K visual)."""

    def __init__(self, clip: FrozenClip, prompt_dim: int, n_objects: int = 3, heads: int = 8, mmd_weight: float = 0.1,
                 visual_source: str = "text_encoder", projection_width_factor: float | None = None,
                 train_text: bool = False, relation_temperature: str = "learnable") -> None:
        super().__init__()
        if visual_source not in VISUAL_SOURCES:
            raise ValueError(f"visual_source must be one of {VISUAL_SOURCES}, got {visual_source!r}")
        if projection_width_factor is not None and not float(projection_width_factor) > 0:
            raise ValueError(f"projection_width_factor must be > 0 (or None), got {projection_width_factor!r}")
        if relation_temperature not in RELATION_TEMPERATURES:
            raise ValueError(f"relation_temperature must be one of {RELATION_TEMPERATURES}, got {relation_temperature!r}")
        e, w = clip.embed_dim, clip.text_width
        self.visual_source = visual_source
        self.train_text = bool(train_text)
        self.n_objects = n_objects
        self.mmd_weight = float(mmd_weight)
        self.scene_projection = nn.Linear(e, e)
        self.object_projection = nn.Linear(e, e)
        self.log_pool_temperature = nn.Parameter(torch.tensor(math.log(0.07)))
        relation = {} if relation_temperature == "learnable" else {"temperature": 1.0, "learnable_temperature": False}
        self.text_object_to_object, self.text_scene_to_object = ObjectToObject(**relation), SceneToObject(**relation)
        self.visual_object_to_object, self.visual_scene_to_object = ObjectToObject(**relation), SceneToObject(**relation)
        self.description_input = nn.Linear(e, w)
        # Text-side width the decoders read: both halves (today's reading) or the Text stream alone.
        decoder_input = 2 * prompt_dim if visual_source == "text_encoder" else prompt_dim
        widened = decoder_input if projection_width_factor is None else int(round(float(projection_width_factor) * e))
        self.widened_projection = nn.Linear(w, widened)
        self.text_decoder = CrossModalDecoder(prompt_dim, heads)
        self.visual_decoder = CrossModalDecoder(prompt_dim, heads)
        # Created only under the switches, after the modules above, so the default model is built
        # with the same random draws as before the switches existed.
        self.projection_to_decoder = None if projection_width_factor is None else nn.Linear(widened, decoder_input)
        self.visual_input = nn.Linear(e, prompt_dim) if visual_source == "image_encoder" else None

    def description_sets(self, clip: FrozenClip, image01: torch.Tensor, condition: dict) -> dict[str, torch.Tensor]:
        """The text and visual description sets after the relation modules: ``T_scene`` (B, E),
        ``T_objects`` (B, K, E), ``V_scene``, ``V_objects``, and ``object_pooling`` (B, K, N), the
        weights that made each visual object from the patch tokens (what Figure 6 shows)."""
        objects = condition["objects"]
        if any(len(o) != self.n_objects for o in objects):
            raise ValueError(f"SR-CLIP takes {self.n_objects} objects per image, got {[len(o) for o in objects]}")
        b, k = len(objects), self.n_objects
        t_scene = encode_texts(clip, [SCENE_QUERY_TEMPLATE.format(s) for s in condition["scene"]], self.train_text).float()
        t_objects = encode_texts(clip, [OBJECT_QUERY_TEMPLATE.format(o) for row in objects for o in row],
                                 self.train_text).float().view(b, k, -1)
        global_feature, patches = clip.encode_images(image01)
        pooling = cosine_softmax(t_objects, patches.float(), self.log_pool_temperature)  # (B, K, N)
        v_scene = self.scene_projection(global_feature.float())
        v_objects = self.object_projection(pooling @ patches.float())
        t_objects = self.text_scene_to_object(t_scene, self.text_object_to_object(t_objects))
        v_objects = self.visual_scene_to_object(v_scene, self.visual_object_to_object(v_objects))
        return {"T_scene": t_scene, "T_objects": t_objects, "V_scene": v_scene, "V_objects": v_objects, "object_pooling": pooling}

    def forward(self, clip: FrozenClip, image01: torch.Tensor, condition: dict) -> tuple[torch.Tensor, dict]:
        sets = self.description_sets(clip, image01, condition)
        concatenated = torch.cat([sets["T_scene"][:, None], sets["T_objects"], sets["V_scene"][:, None], sets["V_objects"]], dim=1)
        description = clip.run_text_transformer(self.description_input(concatenated))
        text = self.widened_projection(description)
        if self.projection_to_decoder is not None:
            text = self.projection_to_decoder(text)
        if self.visual_source == "text_encoder":
            text_side, visual_side = text.chunk(2, dim=-1)
        else:  # Visual: the visual description set from the image encoder (V_s, V_1..K), 1 + K tokens
            text_side = text
            visual_side = self.visual_input(torch.cat([sets["V_scene"][:, None], sets["V_objects"]], dim=1))
        text_prompt = self.text_decoder(text_side, visual_side)
        visual_prompt = self.visual_decoder(visual_side, text_side)
        mmd = gaussian_mmd(text_prompt, visual_prompt)
        return torch.cat([text_prompt, visual_prompt], dim=1), {"mmd": self.mmd_weight * mmd}
