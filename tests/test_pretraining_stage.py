"""The trainer's pre-training stage (TrainConfig.pretrain_epochs) and DGSPNet's, the third-party
reading of its full text: "a pre-training stage with an image-text contrastive loss plus a
reconstruction MSE (Eq. 10)" (paper_settings.md, unverified)."""

from __future__ import annotations

import pytest
import torch

from irstd_lib.engine import Trainer, TrainConfig
from irstd_lib.models import build_model, get_variant

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def tiny_dgspnet(**overrides):
    torch.manual_seed(0)
    return build_model("dgspnet", **{**get_variant("dgspnet").tiny, **overrides})


def _trainer(root, ckpt_dir, model, epochs=2, pretrain_epochs=1):
    from irstd_lib.data import IRSTDDataset
    from irstd_lib.data.transforms import TorchIRSTDDataset, TrainTransform

    config = TrainConfig(epochs=epochs, pretrain_epochs=pretrain_epochs, batch_size=4, lr=2e-3, optimizer="adam",
                         scheduler="constant", warmup_epochs=0,
                         seed=7, val_every=1, val_size=None, eval_policy="pad", train_size=32, progress=False)
    train = TorchIRSTDDataset(IRSTDDataset(root, "trainval"), transform=TrainTransform(32), seed=7)
    return Trainer(model, config, train, IRSTDDataset(root, "test"), ckpt_dir)


def test_the_losses_pair_each_image_with_its_own_clip_embedding():
    model = tiny_dgspnet()
    images = torch.rand(4, 1, 32, 32)
    losses = model.pretraining_losses(images)
    assert set(losses) == {"contrastive", "reconstruction"}
    assert all(v.ndim == 0 and torch.isfinite(v) for v in losses.values())
    # the reconstruction MSE is that of the normalised embeddings, weighted by its switch
    weighted = tiny_dgspnet(pretrain_reconstruction_weight=3.0).pretraining_losses(images)
    assert float(weighted["reconstruction"].detach()) == pytest.approx(3 * float(losses["reconstruction"].detach()), rel=1e-5)
    assert float(weighted["contrastive"].detach()) == pytest.approx(float(losses["contrastive"].detach()), rel=1e-5)
    # what the stage trains: the encoder and the mapping, not the decoder, the head or the attentions
    sum(losses.values()).backward()
    grads = {n.split(".")[0]: p.grad is not None and bool(p.grad.abs().sum() > 0)
             for n, p in model.named_parameters() if p.requires_grad}
    assert grads["encoder"] and grads["fine"]
    assert not grads["decoder"] and not grads["head"] and not grads["tgca"] and not grads["tgsa"]


def test_a_few_steps_lower_the_pretraining_loss():
    model = tiny_dgspnet()
    images = torch.rand(8, 1, 32, 32)
    optimizer = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=3e-3)
    losses = []
    for _ in range(15):
        loss = sum(model.pretraining_losses(images).values())
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(float(loss.detach()))
    assert losses[-1] < 0.9 * losses[0], losses


def test_without_fine_prompts_there_is_nothing_to_pretrain():
    with pytest.raises(ValueError, match="needs fine_prompts=True"):
        tiny_dgspnet(fine_prompts=False).pretraining_losses(torch.rand(2, 1, 32, 32))


def test_the_trainer_pretrains_first_then_detects(tiny_synthetic_root, tmp_path):
    model = tiny_dgspnet()
    head_before = model.head.weight.detach().clone()
    trainer = _trainer(tiny_synthetic_root, tmp_path / "run", model)
    first = trainer.fit(stop_after_epoch=1)
    # epoch 1 is the pre-training stage: its losses, no validation, the detection head untouched
    row = first["history"][0]
    assert row["stage"] == "pretrain" and {"loss/contrastive", "loss/reconstruction"} <= set(row)
    assert not any(k.startswith("val_") for k in row)
    assert torch.equal(model.head.weight, head_before)
    result = _trainer(tiny_synthetic_root, tmp_path / "run", model).fit()  # resumed into the detection stage
    assert result["finished"] and "stage" not in result["history"][1] and "val_IoU" in result["history"][1]
    assert result["best_epoch"] == 2  # the checkpoint is chosen among detection epochs only
    assert not torch.equal(model.head.weight, head_before)


def test_a_model_without_a_stage_or_too_many_pretrain_epochs_is_refused(tiny_synthetic_root, tmp_path):
    torch.manual_seed(0)
    acm = build_model("acm", **get_variant("acm").tiny)
    with pytest.raises(ValueError, match="ACM defines no pre-training stage|defines no pre-training stage"):
        _trainer(tiny_synthetic_root, tmp_path / "a", acm).fit()
    with pytest.raises(ValueError, match="pretrain_epochs must be >= 0 and fewer than epochs"):
        TrainConfig(epochs=2, pretrain_epochs=2)


def test_a_run_without_the_stage_keeps_its_hash():
    from irstd_lib.runs import RunConfig
    from irstd_lib.runs.identity import run_identity

    config = RunConfig(model="dgspnet", train={"epochs": 4})
    assert "pretrain_epochs" not in run_identity(config, {"train": "x", "test": "y"})["train"]
    staged = RunConfig(model="dgspnet", train={"epochs": 4, "pretrain_epochs": 1})
    assert run_identity(staged, {"train": "x", "test": "y"})["train"]["pretrain_epochs"] == 1
