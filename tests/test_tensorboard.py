"""Training that users can watch: the TensorBoard event files a run writes beside its checkpoints
(irstd_lib.engine.tensorboard_log), which change no number, and the status line a ``reproduce``
watcher shows (irstd_lib.progress) through an epoch's steps, its validation and its end."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from irstd_lib.engine import TrainConfig, Trainer
from irstd_lib.engine import tensorboard_log
from irstd_lib.engine.tensorboard_log import LONG_RUN_STEPS, N_PREDICTION_MAPS, tensorboard_wanted
from irstd_lib.models.base import IRSTDModel

EPOCHS = 3


class _TinyDropoutNet(IRSTDModel):
    """Two 3x3 convs with dropout (training draws from the global torch RNG) and a side output."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 4, 3, padding=1)
        self.drop = nn.Dropout2d(0.3)
        self.conv2 = nn.Conv2d(4, 1, 3, padding=1)
        self.side = nn.Conv2d(4, 1, 1)

    def forward(self, image, condition=None):
        h = self.drop(F.relu(self.conv1(image)))
        return {"logits": self.conv2(h), "aux_logits": [self.side(h)], "aux_losses": {}}


def _trainer(root, ckpt_dir, tensorboard):
    from irstd_lib.data import IRSTDDataset
    from irstd_lib.data.transforms import TorchIRSTDDataset, TrainTransform

    torch.manual_seed(5)
    config = TrainConfig(epochs=EPOCHS, batch_size=4, lr=2e-3, optimizer="adam", scheduler="warmup_linear",
                         warmup_epochs=1, seed=3, val_every=1, val_size=None, eval_policy="pad", train_size=32,
                         progress=False)
    train = TorchIRSTDDataset(IRSTDDataset(root, "trainval"), transform=TrainTransform(32), seed=3)
    return Trainer(_TinyDropoutNet(), config, train, IRSTDDataset(root, "test"), ckpt_dir, tensorboard=tensorboard)


def _assert_same_numbers(a: dict, b: dict, skip=()) -> None:
    """Equal, key by key (NaN equals NaN: Pd of a set without targets, hIoU without matches)."""
    assert a.keys() == b.keys()
    for key in a:
        if key in skip:
            continue
        same = a[key] == b[key] or (isinstance(a[key], float) and np.isnan(a[key]) and np.isnan(b[key]))
        assert same, (key, a[key], b[key])


def _events(folder):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(str(folder), size_guidance={"scalars": 0, "images": 0})
    events.Reload()
    return events


def test_the_log_holds_loss_lr_metrics_and_maps_and_changes_no_number(tiny_synthetic_root, tmp_path, one_torch_thread):
    logged = _trainer(tiny_synthetic_root, tmp_path / "logged", tensorboard=True)
    with_log = logged.fit()
    plain = _trainer(tiny_synthetic_root, tmp_path / "plain", tensorboard=False)
    without = plain.fit()
    assert not (tmp_path / "plain" / "tensorboard").exists()
    # the same numbers, epoch by epoch, and the same weights, bit for bit
    assert len(with_log["history"]) == len(without["history"]) == EPOCHS
    for logged_epoch, plain_epoch in zip(with_log["history"], without["history"]):
        _assert_same_numbers(logged_epoch, plain_epoch, skip=("time_s",))
    _assert_same_numbers(with_log["metrics"], without["metrics"])
    for key, value in plain.module.state_dict().items():
        assert torch.equal(value, logged.module.state_dict()[key]), key

    events = _events(tmp_path / "logged" / "tensorboard")
    steps = with_log["steps"]
    assert steps == EPOCHS * 2  # 10 training images, batch 4, the last incomplete batch dropped
    loss = events.Scalars("train/loss")
    assert [e.step for e in loss] == list(range(1, steps + 1))
    assert np.isfinite([e.value for e in loss]).all()
    parts = [a.value + b.value for a, b in zip(events.Scalars("train/loss/main"), events.Scalars("train/loss/aux"))]
    assert parts == pytest.approx([e.value for e in loss], rel=1e-5)  # deep supervision: main + side output
    lrs = [e.value for e in events.Scalars("train/lr")]
    assert len(lrs) == steps and lrs[0] < lrs[1]  # the warm-up raises it
    iou = events.Scalars("val/IoU")
    assert [e.step for e in iou] == [2, 4, 6]
    assert [e.value for e in iou] == pytest.approx([h["val_IoU"] for h in with_log["history"]])
    assert {"val/nIoU", "val/Pd", "val/Fa", "epoch/train_loss", "epoch/time_s"} <= set(events.Tags()["scalars"])
    maps = sorted(t for t in events.Tags()["images"] if t.startswith("predictions/"))
    assert len(maps) == min(N_PREDICTION_MAPS, len(logged.val_data)) == 2  # the tiny set's test split holds 2
    assert maps == [f"predictions/{n}" for n in sorted(logged.val_data.names[:N_PREDICTION_MAPS])]
    first = events.Images(maps[0])
    assert [e.step for e in first] == [2, 4, 6] and first[0].width == 3 * 64 + 4 and first[0].height == 64


def test_when_the_log_is_written(tiny_synthetic_root, tmp_path, monkeypatch, one_torch_thread):
    monkeypatch.delenv(tensorboard_log.ENV_VAR, raising=False)
    assert not tensorboard_wanted(None, LONG_RUN_STEPS - 1) and tensorboard_wanted(None, LONG_RUN_STEPS)
    assert tensorboard_wanted(True, 1) and not tensorboard_wanted(False, 10**6)
    monkeypatch.setenv(tensorboard_log.ENV_VAR, "0")
    assert not tensorboard_wanted(None, 10**6) and tensorboard_wanted(True, 1)
    monkeypatch.setenv(tensorboard_log.ENV_VAR, "1")
    assert tensorboard_wanted(None, 1)
    monkeypatch.setenv(tensorboard_log.ENV_VAR, "maybe")
    with pytest.raises(ValueError, match="IRSTD_TENSORBOARD must be 1 or 0"):
        tensorboard_wanted(None, 1)
    monkeypatch.delenv(tensorboard_log.ENV_VAR)
    _trainer(tiny_synthetic_root, tmp_path / "short", tensorboard=None).fit(stop_after_epoch=1)
    assert not (tmp_path / "short" / "tensorboard").exists()  # a short run writes none by default


def test_the_status_line_follows_steps_validation_and_the_epoch_end(tiny_synthetic_root, tmp_path, monkeypatch,
                                                                     one_torch_thread):
    import irstd_lib.engine.trainer as trainer_module

    lines: list[tuple[str, bool]] = []
    monkeypatch.setattr(trainer_module, "announce_step", lambda text, force=False: lines.append((text, force)))
    result = _trainer(tiny_synthetic_root, tmp_path / "run", tensorboard=False).fit()
    texts = [t for t, _ in lines]
    assert texts[0].startswith("epoch 1/3, step 1/2, loss ")
    validating = texts.index("epoch 1/3, validating")
    done = [t for t in texts if t.startswith("epoch 3/3 done")]
    assert validating == 2 and (texts[validating], True) in lines
    assert done == [f"epoch 3/3 done, loss {result['history'][-1]['train_loss']:.4f}, "
                    f"val IoU {result['history'][-1]['val_IoU']:.4g}"]
    assert all(force for t, force in lines if "validating" in t or "done" in t)
