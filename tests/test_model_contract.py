"""Every registered method follows one contract: learned models train through the one engine,
and every method, classical or learned, is scored by the one evaluation function."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from irstd_lib.engine import TrainConfig, Trainer, evaluate
from irstd_lib.models import build_model, get_variant, list_variants
from irstd_lib.models.base import ClassicalMethod, IRSTDModel, check_model_output, grouped_parameters

LEARNED = list_variants(kind="learned")


class FixedBatch(torch.utils.data.Dataset):
    """The same four 32x32 crops every epoch: a bright 3x3 target on a smooth background each."""

    def __init__(self, size: int = 32):
        g = torch.Generator().manual_seed(0)
        self.items = []
        for i in range(4):
            image = 0.3 + 0.1 * torch.rand(1, size, size, generator=g)
            mask = torch.zeros(1, size, size)
            r, c = 6 + 5 * i, 20 - 4 * i
            mask[:, r : r + 3, c : c + 3] = 1
            image = image + 0.5 * mask
            self.items.append({"image": image, "mask": mask, "name": f"img{i}", "index": i, "description": ""})

    def __len__(self):
        return len(self.items)

    def __getitem__(self, i):
        return self.items[i]


def tiny(name: str):
    torch.manual_seed(0)
    return build_model(name, **get_variant(name).tiny)


def test_the_registry_lists_every_system():
    names = set(list_variants())
    assert {"lgnet", "lgnet_baseline", "lgnet_fusion", "acm", "dnanet", "tophat", "ipi", "saist", "dgspnet", "ggl_net"} <= names
    for name in names:
        variant = get_variant(name)
        assert variant.kind in ("learned", "classical") and variant.paper and variant.system
        assert (variant.recipe is None) == (variant.kind == "classical")


@pytest.mark.parametrize("name", LEARNED)
def test_every_learned_model_follows_the_contract_and_learns(name, tmp_path):
    model = tiny(name)
    assert isinstance(model, IRSTDModel)
    assert model.conditioning == get_variant(name).conditioning_for(get_variant(name).resolved_kwargs(**get_variant(name).tiny))
    groups = grouped_parameters(model)
    assert sum(p.numel() for g in groups for p in g.params) == model.trainable_parameters() > 0
    data = FixedBatch()
    condition = model.example_condition(4, torch.Generator().manual_seed(1))
    model.eval()
    with torch.no_grad():
        out = check_model_output(model(model.input_spec.prepare(torch.stack([d["image"] for d in data.items])), condition),
                                 4, 32, 32, name)
    assert torch.isfinite(out["logits"]).all()

    # BCE for every model: a uniform check of the shared training path (SoftIoU, ACM's and
    # DNA-Net's own loss, starts near 1 from a model predicting 0.5 everywhere and falls slowly).
    config = TrainConfig.from_recipe(get_variant(name).recipe, epochs=12, batch_size=4, lr=1e-2, optimizer="adam", loss="bce",
                                     scheduler="constant", warmup_epochs=0, weight_decay=0.0, progress=False, train_size=32)
    conditioner = (lambda batch, phase: condition) if condition is not None else None
    trainer = Trainer(model, config, data, None, tmp_path, conditioner=conditioner)
    history = trainer.fit()["history"]
    first, last = history[0]["train_loss"], history[-1]["train_loss"]
    assert np.isfinite(last) and last < 0.8 * first, (name, first, last)


@pytest.mark.parametrize("name", list_variants())
def test_every_method_is_scored_by_the_same_evaluation_function(name, tiny_synthetic_root):
    from irstd_lib.data import IRSTDDataset

    test = IRSTDDataset(tiny_synthetic_root, "test")
    method = tiny(name)
    conditioner = None
    if isinstance(method, IRSTDModel):
        condition = method.example_condition(1, torch.Generator().manual_seed(1))
        conditioner = (lambda batch, phase: condition) if condition is not None else None
    else:
        assert isinstance(method, ClassicalMethod) and list(method.parameters()) == []
    result = evaluate(method, test, size=None, policy="pad", conditioner=conditioner, per_image=True, roc_thresholds=5,
                      keep_maps=[test.names[0]])
    metrics = result["metrics"]
    assert metrics["n_images"] == len(test) and 0.0 <= metrics["IoU"] <= 100.0 and metrics["Fa"] >= 0.0
    assert [row["name"] for row in result["per_image"]] == list(test.names)
    assert sum(row["n_targets"] for row in result["per_image"]) == metrics["n_targets"]
    assert len(result["roc"]["threshold"]) == 5
    score = result["maps"][test.names[0]]
    assert score.shape == test[0].mask.shape and 0.0 <= score.min() and score.max() <= 1.0
