"""SAIST's size per module (the paper's Table 3: "SAM + CLIP" 383.28 M and SAIST 389.57 M
trainable parameters), counted without weights (built on PyTorch's ``meta`` device, so a vit_h
costs no memory and nothing is read or downloaded).

:func:`parameter_table` gives one row per (variant, SAM size, text-encoder mode, module): the
module's total and trainable parameters, from :meth:`SAIST.parameter_breakdown`, plus a
``"total"`` row per model. ``python -c "from irstd_lib.models.saist.size import parameter_table;
print(parameter_table())"`` prints it; the figures measured at the time of writing are in
``FIDELITY.md`` and in the docstring of ``irstd_lib.reproductions.saist.table3_size_and_speed``.
"""

from __future__ import annotations

from typing import Any, Iterable

__all__ = ["parameter_table"]


def parameter_table(variants: Iterable[str] = ("clip_sam", "saist"), sams: Iterable[str] = ("vit_b", "vit_l", "vit_h"),
                    clip: str = "ViT-B-16", text_encoders: Iterable[str] = ("frozen", "finetune"),
                    **model_kwargs: Any) -> list[dict[str, Any]]:
    """Rows ``{"variant", "sam", "clip", "text_encoder", "module", "total", "trainable"}``; the
    module ``"total"`` is the whole model (LoRA is counted inside the SAM image encoder and also
    shown on its own row, so the module rows do not sum to it). ``model_kwargs`` go to every
    build (e.g. the paper profile's readings)."""
    import torch

    from irstd_lib.models import build_model

    rows = []
    for variant in variants:
        for sam in sams:
            for text_encoder in text_encoders:
                with torch.device("meta"):
                    model = build_model(variant, sam=sam, clip=clip, text_encoder=text_encoder, **model_kwargs)
                base = {"variant": variant, "sam": sam, "clip": clip, "text_encoder": text_encoder}
                for module, (total, trainable) in model.parameter_breakdown().items():
                    rows.append({**base, "module": module, "total": total, "trainable": trainable})
                params = list(model.parameters())
                rows.append({**base, "module": "total", "total": sum(p.numel() for p in params),
                             "trainable": sum(p.numel() for p in params if p.requires_grad)})
                del model
    return rows
