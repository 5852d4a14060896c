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
projection and the two decoders. Frozen: all of CLIP.
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

__all__ = ["SRClip"]


class SRClip(nn.Module):
    """SR-CLIP (see the module docstring). ``forward(clip, image01, condition)`` returns
    ``(prompts (B, 4(1 + K), d), {"mmd": weighted MMD^2})``."""

    def __init__(self, clip: FrozenClip, prompt_dim: int, n_objects: int = 3, heads: int = 8, mmd_weight: float = 0.1) -> None:
        super().__init__()
        e, w = clip.embed_dim, clip.text_width
        self.n_objects = n_objects
        self.mmd_weight = float(mmd_weight)
        self.scene_projection = nn.Linear(e, e)
        self.object_projection = nn.Linear(e, e)
        self.log_pool_temperature = nn.Parameter(torch.tensor(math.log(0.07)))
        self.text_object_to_object, self.text_scene_to_object = ObjectToObject(), SceneToObject()
        self.visual_object_to_object, self.visual_scene_to_object = ObjectToObject(), SceneToObject()
        self.description_input = nn.Linear(e, w)
        self.widened_projection = nn.Linear(w, 2 * prompt_dim)
        self.text_decoder = CrossModalDecoder(prompt_dim, heads)
        self.visual_decoder = CrossModalDecoder(prompt_dim, heads)

    def description_sets(self, clip: FrozenClip, image01: torch.Tensor, condition: dict) -> dict[str, torch.Tensor]:
        """The text and visual description sets after the relation modules: ``T_scene`` (B, E),
        ``T_objects`` (B, K, E), ``V_scene``, ``V_objects``, and ``object_pooling`` (B, K, N), the
        weights that made each visual object from the patch tokens (what Figure 6 shows)."""
        objects = condition["objects"]
        if any(len(o) != self.n_objects for o in objects):
            raise ValueError(f"SR-CLIP takes {self.n_objects} objects per image, got {[len(o) for o in objects]}")
        b, k = len(objects), self.n_objects
        t_scene = clip.encode_texts([SCENE_QUERY_TEMPLATE.format(s) for s in condition["scene"]]).float()
        t_objects = clip.encode_texts([OBJECT_QUERY_TEMPLATE.format(o) for row in objects for o in row]).float().view(b, k, -1)
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
        text_side, visual_side = self.widened_projection(description).chunk(2, dim=-1)
        text_prompt = self.text_decoder(text_side, visual_side)
        visual_prompt = self.visual_decoder(visual_side, text_side)
        mmd = gaussian_mmd(text_prompt, visual_prompt)
        return torch.cat([text_prompt, visual_prompt], dim=1), {"mmd": self.mmd_weight * mmd}
