"""Engine tests (CPU, tiny): losses, schedules, optimizers, checkpoints, evaluation, exact resume."""

from __future__ import annotations

import copy

import math

import numpy as np
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from irstd_lib.engine import (
    CheckpointError,
    DeepSupervisionLoss,
    SoftIoULoss,
    TrainConfig,
    Trainer,
    build_optimizer,
    build_scheduler,
    evaluate_model,
    load_checkpoint,
    load_model_weights,
    predict_scores,
    save_checkpoint,
)
from irstd_lib.engine.checkpoint import capture_rng_state, restore_rng_state
from irstd_lib.models.base import IRSTDModel, ParamGroup

DESCRIPTOR_DIM = 16


class TinyConvNet(IRSTDModel):
    """Two 3x3 convs; a side output from the first so deep supervision is exercised; optional
    dropout so that training consumes the global torch RNG (resume must restore it)."""

    def __init__(self, width: int = 4, dropout: float = 0.0):
        super().__init__()
        self.conv1 = nn.Conv2d(1, width, 3, padding=1)
        self.drop = nn.Dropout2d(dropout)
        self.conv2 = nn.Conv2d(width, 1, 3, padding=1)
        self.side = nn.Conv2d(width, 1, 1)

    def forward(self, image, condition=None):
        h = self.drop(F.relu(self.conv1(image)))
        return {"logits": self.conv2(h), "aux_logits": [self.side(h)], "aux_losses": {}}


class MaskOracle(IRSTDModel):
    """Returns +-20 logits from the ground-truth mask of the sample (looked up by index, given by
    the conditioner as the condition), padded like the image: a perfect model, to test
    evaluation plumbing."""

    def __init__(self, dataset):
        super().__init__()
        self.dataset = dataset
        self.dummy = nn.Parameter(torch.zeros(()))

    def forward(self, image, condition=None):
        index = condition
        maps = []
        for i in index.tolist():
            m = torch.as_tensor(self.dataset[i].mask, dtype=torch.float32)
            h, w = image.shape[-2:]
            m = F.pad(m, (0, w - m.shape[1], 0, h - m.shape[0]))
            maps.append(m)
        logits = (torch.stack(maps)[:, None] * 2 - 1) * 20
        return {"logits": logits + 0 * self.dummy, "aux_logits": []}


def descriptor_conditioner(batch, phase):
    """A fixed random descriptor per sample index (its own generator: no global RNG use)."""
    rows = [torch.randn(DESCRIPTOR_DIM, generator=torch.Generator().manual_seed(1000 + int(i)))
            for i in batch["index"]]
    return torch.stack(rows)


# ------------------------------------------------------------------------------------ losses
def test_softiou_perfect_and_empty_prediction():
    mask = torch.zeros(2, 1, 8, 8)
    mask[0, 0, 2:4, 2:5] = 1  # 6 pixels
    mask[1, 0, 6, 6] = 1  # 1 pixel
    perfect = (mask * 2 - 1) * 50
    assert float(SoftIoULoss()(perfect, mask)) == pytest.approx(0.0, abs=1e-6)
    # predicting nothing: soft IoU = (0 + 1) / (7 + 1) over the batch
    nothing = torch.full_like(mask, -50.0)
    assert float(SoftIoULoss()(nothing, mask)) == pytest.approx(1 - 1 / 8, abs=1e-6)
    # per sample: mean of 1/7 and 1/2
    assert float(SoftIoULoss(per_sample=True)(nothing, mask)) == pytest.approx(1 - (1 / 7 + 1 / 2) / 2, abs=1e-6)


def test_deep_supervision_sums_side_losses_and_model_losses():
    target = torch.zeros(1, 1, 4, 4)
    zeros = torch.zeros(1, 1, 4, 4)  # BCE of logit 0 is ln 2 whatever the target
    outputs = {"logits": zeros, "aux_logits": [zeros, zeros], "aux_losses": {"mmd": torch.tensor(0.5)}}
    total, parts = DeepSupervisionLoss("bce", aux_weight=1.0)(outputs, target)
    assert float(total) == pytest.approx(3 * math.log(2) + 0.5, rel=1e-6)
    assert parts["aux"] == pytest.approx(2 * math.log(2), rel=1e-6)
    assert parts["model/mmd"] == pytest.approx(0.5)
    total, _ = DeepSupervisionLoss("bce", aux_weight=0.5, aux_reduction="mean")(outputs, target)
    assert float(total) == pytest.approx(1.5 * math.log(2) + 0.5, rel=1e-6)
    # BasicIRSTD's reduction: the mean over the final and the side outputs, here (1 + 0 + 0) / 3
    ones = torch.ones(1, 1, 4, 4)
    total, parts = DeepSupervisionLoss("softiou", aux_reduction="mean_all")({"logits": -50 * ones, "aux_logits": [50 * ones, 50 * ones]}, ones)
    assert float(total) == pytest.approx((1 - 1 / 17) / 3, rel=1e-4) and parts["main"] == pytest.approx(1 - 1 / 17, rel=1e-4)
    with pytest.raises(ValueError):
        DeepSupervisionLoss("dice")


# ------------------------------------------------------------------------------ optimizers
def _lrs(scheduler_name, steps, **kw):
    p = [nn.Parameter(torch.zeros(2))]
    opt = build_optimizer("adam", p, lr=1e-3, weight_decay=0.0)
    sched = build_scheduler(scheduler_name, opt, **kw)
    out = []
    for _ in range(steps):
        out.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    return out, opt, sched


def test_warmup_linear_schedule_values():
    lrs, _, _ = _lrs("warmup_linear", 9, epochs=3, steps_per_epoch=3, warmup_epochs=2)
    expected = [1e-3 * k / 6 for k in range(1, 7)] + [1e-3] * 3
    assert lrs == pytest.approx(expected, rel=1e-9)


def test_cosine_schedules_and_exact_resume():
    lrs, _, _ = _lrs("cosine", 5, epochs=2, steps_per_epoch=2, min_lr=1e-4)
    # t/T = 0, 1/4, 2/4, 3/4, 1 -> 1e-4 + 9e-4 * (1 + cos(pi t/T)) / 2
    expected = [1e-4 + 9e-4 * (1 + math.cos(math.pi * k / 4)) / 2 for k in range(5)]
    assert lrs == pytest.approx(expected, rel=1e-9)
    wc, _, _ = _lrs("warmup_cosine", 6, epochs=3, steps_per_epoch=2, warmup_epochs=1)
    # 2 warm-up steps, then t/T = 0, 1/4, 2/4, 3/4 over the remaining 4 steps (min_lr 0)
    cos = [1e-3 * (1 + math.cos(math.pi * k / 4)) / 2 for k in range(4)]
    assert wc == pytest.approx([5e-4, 1e-3] + cos, rel=1e-9)

    # a scheduler restored from its state_dict continues exactly
    full, _, _ = _lrs("warmup_cosine", 8, epochs=4, steps_per_epoch=2, warmup_epochs=1)
    _, opt, sched = _lrs("warmup_cosine", 3, epochs=4, steps_per_epoch=2, warmup_epochs=1)
    p2 = [nn.Parameter(torch.zeros(2))]
    opt2 = build_optimizer("adam", p2, lr=1e-3, weight_decay=0.0)
    sched2 = build_scheduler("warmup_cosine", opt2, epochs=4, steps_per_epoch=2, warmup_epochs=1)
    opt2.load_state_dict(opt.state_dict())
    sched2.load_state_dict(sched.state_dict())
    rest = []
    for _ in range(5):
        rest.append(opt2.param_groups[0]["lr"])
        opt2.step()
        sched2.step()
    assert rest == full[3:]


def test_build_optimizer_adan_uses_timm_defaults():
    from timm.optim import Adan

    opt = build_optimizer("adan", [nn.Parameter(torch.zeros(2))], lr=1e-3, weight_decay=1e-4)
    assert isinstance(opt, Adan)
    group = opt.param_groups[0]
    assert group["lr"] == 1e-3 and group["weight_decay"] == 1e-4
    assert tuple(group["betas"]) == (0.98, 0.92, 0.99)
    with pytest.raises(ValueError):
        build_optimizer("lamb", [nn.Parameter(torch.zeros(2))])


def test_adans_multi_tensor_path_equals_its_per_tensor_path_bit_for_bit():
    """build_optimizer turns on timm's foreach Adan on the CPU for speed; it must not move a number
    (weight decay in one group, none in the other, as the trainer's parameter groups do)."""
    torch.manual_seed(0)
    base = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(), nn.Conv2d(4, 1, 1))
    x, y = torch.randn(4, 1, 16, 16), (torch.rand(4, 1, 16, 16) > 0.9).float()
    weights = []
    for foreach in (None, False):
        model = copy.deepcopy(base)
        decayed = [p for p in model.parameters() if p.ndim > 1]
        plain = [p for p in model.parameters() if p.ndim <= 1]
        groups = [{"params": decayed}, {"params": plain, "weight_decay": 0.0}]
        opt = build_optimizer("adan", groups, lr=1e-2, weight_decay=1e-4, **({} if foreach is None else {"foreach": foreach}))
        assert opt.param_groups[0]["foreach"] is (True if foreach is None else foreach)
        for _ in range(5):
            opt.zero_grad()
            nn.functional.binary_cross_entropy_with_logits(model(x), y).backward()
            opt.step()
        weights.append([p.detach().clone() for p in model.parameters()])
    assert all(torch.equal(a, b) for a, b in zip(*weights))


def test_few_optimizer_steps_lower_the_loss():
    torch.manual_seed(0)
    model = TinyConvNet()
    image = torch.rand(4, 1, 16, 16)
    mask = (image > 0.7).float()
    loss_fn = DeepSupervisionLoss("bce")
    opt = build_optimizer("adan", model.parameters(), lr=3e-2, weight_decay=1e-4)
    with torch.no_grad():
        first, _ = loss_fn(model(image), mask)
    for _ in range(30):
        loss, _ = loss_fn(model(image), mask)
        opt.zero_grad()
        loss.backward()
        opt.step()
    with torch.no_grad():
        last, _ = loss_fn(model(image), mask)
    assert float(last) < 0.7 * float(first)


def test_multistep_schedule_divides_at_milestones():
    lrs, _, _ = _lrs("multistep", 8, epochs=4, steps_per_epoch=2, milestones=(2, 3), gamma=0.1)
    assert lrs == pytest.approx([1e-3] * 4 + [1e-4] * 2 + [1e-5] * 2, rel=1e-9)


# ------------------------------------------------------------------------------ checkpoints
def test_checkpoint_roundtrip_and_rng(tmp_path):
    torch.manual_seed(0)
    model = TinyConvNet()
    opt = build_optimizer("adam", model.parameters(), lr=1e-3, weight_decay=0.0)
    sched = build_scheduler("warmup_linear", opt, epochs=2, steps_per_epoch=2, warmup_epochs=1)
    rng = capture_rng_state()
    expected = (np.random.rand(), torch.rand(1).item(), __import__("random").random())
    path = save_checkpoint(tmp_path / "c.pt", model, opt, sched, epoch=3, step=7, best_metric=0.5,
                           config={"train": {"lr": 1e-3}, "path": tmp_path}, rng_state=rng,
                           history=[{"epoch": 1, "train_loss": np.float32(0.25)}])
    other = TinyConvNet()
    ckpt = load_checkpoint(path, other, build_optimizer("adam", other.parameters(), lr=1e-3, weight_decay=0.0))
    assert ckpt["epoch"] == 3 and ckpt["step"] == 7 and ckpt["best_metric"] == 0.5
    assert ckpt["history"][0]["train_loss"] == 0.25 and ckpt["config"]["path"] == str(tmp_path)
    for a, b in zip(model.state_dict().values(), other.state_dict().values()):
        assert torch.equal(a, b)
    restore_rng_state(ckpt["rng_state"])
    assert (np.random.rand(), torch.rand(1).item(), __import__("random").random()) == expected


def test_checkpoint_errors_name_the_file(tmp_path):
    model = TinyConvNet()
    path = save_checkpoint(tmp_path / "tiny.pt", model)
    # wrong keys: a different architecture
    lgnet_like = nn.Sequential(nn.Conv2d(1, 2, 3))
    with pytest.raises(CheckpointError) as info:
        load_checkpoint(path, lgnet_like)
    message = str(info.value)
    assert str(path) in message and "missing" in message and "unexpected" in message and "conv1.weight" in message
    # shape mismatch
    with pytest.raises(CheckpointError, match="shape mismatch") as info:
        load_model_weights(path, TinyConvNet(width=6))
    assert str(path) in str(info.value)
    # not a torch file / not a checkpoint / absent
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"this is not a checkpoint")
    with pytest.raises(CheckpointError, match="junk.pt"):
        load_checkpoint(junk, model)
    bare = tmp_path / "bare.pt"
    torch.save(model.state_dict(), bare)
    with pytest.raises(CheckpointError, match="not an irstd-lang training checkpoint"):
        load_checkpoint(bare, model)
    load_model_weights(bare, TinyConvNet())  # a bare state_dict is fine for weights only
    with pytest.raises(CheckpointError, match="missing.pt"):
        load_checkpoint(tmp_path / "missing.pt", model)


# ------------------------------------------------------------------------------ evaluation
def test_evaluate_perfect_model_scores_100(tiny_synthetic_root):
    from irstd_lib.data import IRSTDDataset

    test = IRSTDDataset(tiny_synthetic_root, "test")
    oracle = MaskOracle(test)
    cond = lambda batch, phase: batch["index"]  # noqa: E731
    # pad to a multiple of 48: 64 -> 96, cropped back to 64 before scoring
    metrics = evaluate_model(oracle, test, size=48, policy="pad", conditioner=cond)
    assert metrics["IoU"] == pytest.approx(100.0)
    assert metrics["Pd"] == pytest.approx(100.0)
    assert metrics["Fa"] == pytest.approx(0.0)
    assert metrics["n_images"] == len(test)
    scores = list(predict_scores(oracle, test, size=48, policy="pad", conditioner=cond, batch_size=2))
    assert [s.name for s, _ in scores] == list(test.names)
    for sample, score in scores:
        assert score.shape == sample.mask.shape and score.dtype == np.float32
        assert np.array_equal(score > 0.5, sample.mask)


# ------------------------------------------------------------------------------ training
def _make_run(root, ckpt_dir, epochs=3, model_kind="lgnet", **overrides):
    from irstd_lib.data import IRSTDDataset
    from irstd_lib.data.transforms import TorchIRSTDDataset, TrainTransform
    from irstd_lib.models import build_model

    torch.manual_seed(123)
    if model_kind == "lgnet":
        model = build_model("lgnet", width=4, descriptor_dim=DESCRIPTOR_DIM, fusion_blocks=True, language_fusion=True)
    else:
        model = TinyConvNet(width=4, dropout=0.3)
    config = TrainConfig(epochs=epochs, batch_size=4, lr=2e-3, weight_decay=1e-4, optimizer="adan",
                         scheduler="warmup_linear", warmup_epochs=1, loss="bce", seed=7,
                         val_every=1, val_size=None, eval_policy="pad", train_size=32,
                         grad_clip=5.0, progress=False, **overrides)
    train = TorchIRSTDDataset(IRSTDDataset(root, "trainval"), transform=TrainTransform(32), seed=7)
    val = IRSTDDataset(root, "test")
    return Trainer(model, config, train, val, ckpt_dir, conditioner=descriptor_conditioner)


@pytest.mark.parametrize("model_kind", ["lgnet", "tiny_dropout"])
def test_resumed_run_equals_uninterrupted_run(tiny_synthetic_root, tmp_path, model_kind):
    """LGNet with descriptors (optimizer/scheduler state must be restored) and a dropout model
    (the global RNG state must be restored too)."""
    full = _make_run(tiny_synthetic_root, tmp_path / "full", model_kind=model_kind)
    result_full = full.fit()
    assert result_full["finished"] and result_full["epochs_completed"] == 3
    assert [h["epoch"] for h in result_full["history"]] == [1, 2, 3]
    assert (tmp_path / "full" / "last.pt").is_file() and (tmp_path / "full" / "best.pt").is_file()
    assert result_full["steps"] == 3 * 2  # 10 training images, batch 4, last batch dropped

    killed = _make_run(tiny_synthetic_root, tmp_path / "resumed", model_kind=model_kind)
    partial = killed.fit(stop_after_epoch=1)
    assert not partial["finished"] and partial["epochs_completed"] == 1

    torch.manual_seed(999)  # whatever the process did in between must not matter
    resumed = _make_run(tiny_synthetic_root, tmp_path / "resumed", model_kind=model_kind)
    result_resumed = resumed.fit()
    assert result_resumed["finished"]
    # NaN (a breakdown term with nothing to divide, e.g. hIoU's error shares) equals NaN here
    same = lambda a, b: a == b or (isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b))
    assert result_resumed["metrics"].keys() == result_full["metrics"].keys()
    assert all(same(result_resumed["metrics"][k], result_full["metrics"][k]) for k in result_full["metrics"]), \
        (result_resumed["metrics"], result_full["metrics"])
    assert [h["train_loss"] for h in result_resumed["history"]] == [h["train_loss"] for h in result_full["history"]]
    full_state, resumed_state = full.module.state_dict(), resumed.module.state_dict()
    assert full_state.keys() == resumed_state.keys()
    for key in full_state:
        assert torch.equal(full_state[key], resumed_state[key]), key
    # a finished run resumed again trains nothing more
    again = _make_run(tiny_synthetic_root, tmp_path / "resumed", model_kind=model_kind).fit()
    assert again["steps"] == result_full["steps"]
    assert all(same(again["metrics"][k], result_full["metrics"][k]) for k in result_full["metrics"])


def test_resume_with_other_config_is_refused(tiny_synthetic_root, tmp_path):
    _make_run(tiny_synthetic_root, tmp_path / "run", epochs=1).fit()
    other = _make_run(tiny_synthetic_root, tmp_path / "run", epochs=1, min_lr=1e-5)
    with pytest.raises(CheckpointError, match="min_lr"):
        other.fit()


def test_train_config_rejects_unknown_settings():
    with pytest.raises(ValueError, match="optimizer"):
        TrainConfig(optimizer="lamb")
    with pytest.raises(ValueError, match="amp"):
        TrainConfig(amp="fp8")
    cfg = TrainConfig.from_recipe("saist_paper", epochs=2)
    assert (cfg.optimizer, cfg.scheduler, cfg.lr, cfg.epochs) == ("adam", "cosine", 1e-4, 2)
    assert TrainConfig.from_recipe("lgnet_paper") == TrainConfig()  # the defaults are LGNet's paper settings
    with pytest.raises(ValueError, match="aux_reduction"):
        TrainConfig(aux_reduction="max")


class TwoHeads(IRSTDModel):
    """A frozen encoder and two trainable heads with their own learning rates."""

    def __init__(self):
        super().__init__()
        self.encoder = nn.Conv2d(1, 4, 3, padding=1)
        self.encoder.requires_grad_(False)
        self.head = nn.Conv2d(4, 1, 1)
        self.adapter = nn.Conv2d(4, 4, 1)

    def forward(self, image, condition=None):
        h = self.encoder(image)
        return {"logits": self.head(h + self.adapter(h)), "aux_logits": [], "aux_losses": {}}

    def parameter_groups(self):
        return [ParamGroup("head", list(self.head.parameters())),
                ParamGroup("adapter", list(self.adapter.parameters()), lr_scale=10.0, weight_decay=0.0)]


def test_parameter_groups_reach_the_optimizer_and_frozen_weights_never_do(tiny_synthetic_root, tmp_path):
    from irstd_lib.data import IRSTDDataset
    from irstd_lib.data.transforms import TorchIRSTDDataset, TrainTransform

    train = TorchIRSTDDataset(IRSTDDataset(tiny_synthetic_root, "trainval"), transform=TrainTransform(32), seed=0)
    config = TrainConfig(epochs=1, batch_size=4, lr=1e-3, weight_decay=1e-4, optimizer="adam", scheduler="constant",
                         progress=False, param_groups={"head": {"lr": 5e-3}})
    model = TwoHeads()
    frozen = model.encoder.weight.detach().clone()
    trainer = Trainer(model, config, train, None, tmp_path)
    groups = {g["name"]: g for g in trainer.optimizer.param_groups}
    assert set(groups) == {"head", "adapter"}
    assert groups["head"]["lr"] == 5e-3 and groups["head"]["weight_decay"] == 1e-4  # run override, run decay
    assert groups["adapter"]["lr"] == pytest.approx(1e-2) and groups["adapter"]["weight_decay"] == 0.0
    optimised = {id(p) for g in trainer.optimizer.param_groups for p in g["params"]}
    assert id(model.encoder.weight) not in optimised and id(model.encoder.bias) not in optimised
    trainer.fit()
    assert torch.equal(model.encoder.weight, frozen)
    with pytest.raises(ValueError, match="does not have"):
        Trainer(TwoHeads(), TrainConfig(progress=False, param_groups={"decoder": {"lr": 1.0}}), train, None, tmp_path / "x")
    with pytest.raises(TypeError, match="IRSTDModel"):
        Trainer(nn.Conv2d(1, 1, 1), TrainConfig(progress=False), train, None, tmp_path / "y")


def test_atomic_copy_gives_the_same_bytes_and_survives_a_rewrite_of_either_name(tmp_path):
    """best.pt and last.pt of an improving epoch are one file (irstd_lib.io.atomic_copy); the
    writers replace files rather than write into them, so rewriting one name leaves the other."""
    from irstd_lib.io import atomic_copy, atomic_write_bytes

    best, last = tmp_path / "best.pt", tmp_path / "last.pt"
    atomic_write_bytes(best, b"epoch 3 weights")
    atomic_write_bytes(last, b"epoch 2 weights")
    atomic_copy(best, last)
    assert last.read_bytes() == best.read_bytes() == b"epoch 3 weights"
    atomic_write_bytes(last, b"epoch 4 weights")  # a later epoch that does not improve
    assert best.read_bytes() == b"epoch 3 weights" and last.read_bytes() == b"epoch 4 weights"
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []


def test_keep_every_keeps_each_kth_epoch_outside_the_runs_identity(tiny_synthetic_root, tmp_path):
    """``keep_every=2`` over 4 epochs keeps epoch_0002.pt and epoch_0004.pt beside last.pt; the
    kept epoch 2 is the state a run stopped after epoch 2 saved; a stop between last.pt and the
    copy is mended on resume; the setting changes neither a run's numbers nor its hash."""
    from irstd_lib.runs import RunConfig
    from irstd_lib.runs.identity import run_identity

    kept = _make_run(tiny_synthetic_root, tmp_path / "kept", epochs=4, model_kind="tiny_dropout", keep_every=2)
    result = kept.fit()
    assert sorted(p.name for p in (tmp_path / "kept").glob("epoch_*.pt")) == ["epoch_0002.pt", "epoch_0004.pt"]
    plain = _make_run(tiny_synthetic_root, tmp_path / "plain", epochs=4, model_kind="tiny_dropout")
    assert plain.fit(stop_after_epoch=2)["epochs_completed"] == 2
    at_2 = torch.load(tmp_path / "kept" / "epoch_0002.pt", weights_only=False)
    plain_2 = torch.load(tmp_path / "plain" / "last.pt", weights_only=False)
    assert at_2["epoch"] == 2 and at_2["step"] == plain_2["step"]
    assert [h["train_loss"] for h in at_2["history"]] == [h["train_loss"] for h in plain_2["history"]]
    assert all(torch.equal(at_2["model"][k], plain_2["model"][k]) for k in plain_2["model"])
    assert torch.load(tmp_path / "kept" / "epoch_0004.pt", weights_only=False)["epoch"] == 4

    # The plain run resumes with keep_every on (a runtime setting): the epoch it stopped at is
    # kept on resume, as a stop between writing last.pt and its copy would need.
    resumed = _make_run(tiny_synthetic_root, tmp_path / "plain", epochs=4, model_kind="tiny_dropout", keep_every=2).fit()
    assert sorted(p.name for p in (tmp_path / "plain").glob("epoch_*.pt")) == ["epoch_0002.pt", "epoch_0004.pt"]
    assert [h["train_loss"] for h in resumed["history"]] == [h["train_loss"] for h in result["history"]]
    with pytest.raises(ValueError, match="keep_every must be >= 0"):
        TrainConfig(keep_every=-1)
    prints = {"train": "x", "test": "y"}
    assert run_identity(RunConfig(model="acm", train={"keep_every": 50}), prints) == run_identity(RunConfig(model="acm"), prints)
