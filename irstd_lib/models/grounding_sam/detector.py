"""GroundingDINO as Grounded-SAM uses it: ``transformers``' :class:`GroundingDinoForObjectDetection`
reading an image and a text prompt, giving per-query scores for the prompt and boxes.

Configurations (:data:`DETECTOR_CONFIGS`):

- ``swin_t``: ``GroundingDinoConfig()``'s defaults, the architecture of IDEA-Research's
  ``grounding-dino-tiny`` (Swin-T backbone, BERT-base text encoder, 256-wide, 900 queries, six
  encoder and six decoder layers), the GroundingDINO of Grounded-SAM's demos (SwinT-OGC);
- ``tiny``: the same classes at toy sizes for tests and the CPU smoke profile (a one-block-per-
  stage Swin of width 16, a one-layer BERT of width 32 over a vocabulary of eight words, one
  encoder and one decoder layer 32 wide, 16 queries).

Weights come from a local folder only (``detector_checkpoint``: the ``model.safetensors`` of a
folder that ``save_pretrained`` wrote, beside its ``config.json`` and tokenizer files; the folder
itself is accepted too, but runs hash weights files by content, so configs name the file):
nothing is downloaded. Without one the weights are random, which only the ``tiny`` detector
allows (tests, smoke; ``swin_t`` is built without weights on the meta device alone, to count its
parameters): a full-size GroundingDINO without its pretraining is refused, by name.

The prompt. The text is tokenised once, when the model is built: by the folder's own tokenizer
when a folder is given, else (the ``tiny`` detector, or ``swin_t`` with random weights) by a BERT
WordPiece tokenizer over :data:`TINY_VOCABULARY`, which holds exactly the words of the default
prompt. A query's score is the largest sigmoid of its logits over the prompt's word tokens (not
``[CLS]``, ``[SEP]`` or the full stop), as ``post_process_grounded_object_detection`` scores a
query by its maximum over the text.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

__all__ = ["DETECTOR_CONFIGS", "TEXT_PROMPT", "TINY_VOCABULARY", "Detections", "GroundingDetector", "detector_config"]

#: the prompt the brief (and Grounded-SAM's usage) gives the detector: one phrase, ended by "."
TEXT_PROMPT = "small target."
TINY_VOCABULARY: dict[str, int] = {"[PAD]": 0, "[UNK]": 1, "[CLS]": 2, "[SEP]": 3, "[MASK]": 4, "small": 5, "target": 6, ".": 7}
_SPECIAL = ("[CLS]", "[SEP]", "[PAD]", ".")

DETECTOR_CONFIGS = ("swin_t", "tiny")


def detector_config(name: str):
    """The ``GroundingDinoConfig`` of a named configuration (see the module docstring)."""
    from transformers import BertConfig, GroundingDinoConfig, SwinConfig

    if name == "swin_t":
        return GroundingDinoConfig()
    if name == "tiny":
        backbone = SwinConfig(embed_dim=16, depths=[1, 1, 1, 1], num_heads=[1, 1, 2, 2], window_size=4,
                              out_indices=[2, 3, 4], out_features=["stage2", "stage3", "stage4"], drop_path_rate=0.0)
        text = BertConfig(vocab_size=len(TINY_VOCABULARY), hidden_size=32, num_hidden_layers=1, num_attention_heads=2,
                          intermediate_size=64, max_position_embeddings=32, hidden_dropout_prob=0.0,
                          attention_probs_dropout_prob=0.0)
        return GroundingDinoConfig(backbone_config=backbone, text_config=text, d_model=32, encoder_layers=1,
                                   decoder_layers=2, encoder_ffn_dim=64, decoder_ffn_dim=64, encoder_attention_heads=2,
                                   decoder_attention_heads=2, num_queries=16, max_text_len=16, dropout=0.0,
                                   fusion_droppath=0.0, encoder_n_points=2, decoder_n_points=2)
    raise ValueError(f"unknown GroundingDINO configuration {name!r}; choose one of {', '.join(DETECTOR_CONFIGS)}")


@dataclass
class Detections:
    """``scores`` (B, Q) in (0, 1): each query's score for the prompt; ``logits`` (B, Q) the same
    before the sigmoid; ``boxes`` (B, Q, 4) as (cx, cy, w, h) on the [0, 1] scale of the image."""

    scores: torch.Tensor
    logits: torch.Tensor
    boxes: torch.Tensor


def _load_folder(path: Path):
    """The model and tokenizer of a ``save_pretrained`` folder, given as the folder or its weights file."""
    from transformers import AutoTokenizer, GroundingDinoForObjectDetection

    path = path.parent if path.is_file() else path
    if not path.is_dir() or not (path / "config.json").is_file():
        raise FileNotFoundError(f"{path}: not a GroundingDINO folder (expected config.json and the weights that "
                                "save_pretrained writes, with the tokenizer files); nothing is downloaded")
    try:
        model = GroundingDinoForObjectDetection.from_pretrained(str(path), local_files_only=True)
        tokenizer = AutoTokenizer.from_pretrained(str(path), local_files_only=True)
    except (OSError, ValueError) as exc:
        raise FileNotFoundError(f"{path}: cannot read a GroundingDINO model and tokenizer from it ({exc})") from exc
    return model, tokenizer


class GroundingDetector(nn.Module):
    """GroundingDINO with its prompt tokenised once; :meth:`forward` gives :class:`Detections`."""

    def __init__(self, config: str = "swin_t", checkpoint: str | os.PathLike | None = None, prompt: str = TEXT_PROMPT) -> None:
        super().__init__()
        from transformers import BertTokenizer, GroundingDinoForObjectDetection

        if not prompt.strip():
            raise ValueError("the detector's text prompt must not be empty")
        if checkpoint is not None:
            self.model, tokenizer = _load_folder(Path(checkpoint).expanduser())
            self.config_name = f"folder:{Path(checkpoint).name}"
        else:
            if config != "tiny" and torch.empty(0).device.type != "meta":
                # Random weights are for the toy size (tests, smoke) and for counting parameters on the
                # meta device; a full-size GroundingDINO without its pretraining is not the paper's model.
                raise ValueError(f"GroundingDINO {config!r} needs its pretrained weights: pass detector_checkpoint, the "
                                 "model.safetensors of a local save_pretrained folder (with config.json and the tokenizer "
                                 "files; nothing is downloaded); random weights only at detector='tiny'")
            self.model = GroundingDinoForObjectDetection(detector_config(config))
            tokenizer = BertTokenizer(vocab=dict(TINY_VOCABULARY))
            self.config_name = config
        encoded = tokenizer(prompt.lower() if checkpoint is None else prompt)
        ids = [int(i) for i in encoded["input_ids"]]
        tokens = tokenizer.convert_ids_to_tokens(ids)
        if checkpoint is None and TINY_VOCABULARY["[UNK]"] in ids:
            raise ValueError(f"prompt {prompt!r} has words outside the random-weight detector's vocabulary "
                             f"({', '.join(w for w in TINY_VOCABULARY if not w.startswith('['))}); give a detector folder")
        max_len = self.model.config.max_text_len
        if len(ids) > max_len:
            raise ValueError(f"prompt {prompt!r} is {len(ids)} tokens; the detector reads at most {max_len}")
        words = [t not in _SPECIAL for t in tokens]
        if not any(words):
            raise ValueError(f"prompt {prompt!r} has no word tokens")
        self.prompt = prompt
        with torch.device("cpu"):  # token ids are data, even when the model is built on the meta device
            self.register_buffer("input_ids", torch.tensor(ids, dtype=torch.long), persistent=False)
            self.register_buffer("word_tokens", torch.tensor(words, dtype=torch.bool), persistent=False)

    def forward(self, pixel_values: torch.Tensor) -> Detections:
        b = pixel_values.shape[0]
        ids = self.input_ids.unsqueeze(0).expand(b, -1)
        out = self.model(pixel_values=pixel_values, input_ids=ids, attention_mask=torch.ones_like(ids),
                         token_type_ids=torch.zeros_like(ids))
        logits = out.logits[..., : ids.shape[1]][..., self.word_tokens]  # (B, Q, words)
        best = logits.amax(dim=-1)
        return Detections(scores=torch.sigmoid(best), logits=best, boxes=out.pred_boxes)

    def describe(self) -> dict[str, Any]:
        return {"config": self.config_name, "prompt": self.prompt, "queries": int(self.model.config.num_queries)}
