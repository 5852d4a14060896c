"""The steps of one trained run, shared by training (:func:`~irstd_lib.runs.run_experiment`) and
verification (:mod:`irstd_lib.runs.verification`): open the data and compute the run's identity
(:func:`prepare_run`), build and train the model (:func:`fit_run`), and evaluate it on the test
split (:func:`evaluate_run`).

With ``data.val_split`` set (SAIST's 50/30/20 protocol, 4.1: "30% for validation"), the trainer
validates on that list and :func:`select_checkpoint` loads the weights of the best validation
epoch before the test evaluation; without it the final weights are tested, as before."""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from irstd_lib.progress import announce_task
from irstd_lib.runs.config import RunConfig
from irstd_lib.runs.data import open_split, resolve_data_root, training_dataset
from irstd_lib.runs.identity import run_hash, run_identity
from irstd_lib.runs.records import PREVIEW_IMAGES, checkpoint_folder, runs_root

__all__ = ["PreparedRun", "condition_for", "evaluate_run", "fit_run", "hardest_images", "prepare_run", "select_checkpoint"]


@dataclass
class PreparedRun:
    """A run ready to train: its data, identity, folders and conditioning kind."""

    config: RunConfig
    root: Path
    train_set: Any
    test_set: Any
    identity: dict
    hash: str
    run_dir: Path
    checkpoint_dir: Path
    device: str = "cpu"
    val_set: Any = None  # the validation list (data.val_split), None without one

    @property
    def kind(self):
        from irstd_lib.conditioning import get_kind

        return get_kind(self.config.conditioning_kind)

    def prepare_condition(self, progress: bool = False):
        """The kind's conditioners (CLIP embeddings and such are computed, or read from cache)."""
        from irstd_lib.conditioning import ConditioningContext

        splits = {"train": self.train_set, "test": self.test_set}
        if self.val_set is not None:
            splits["val"] = self.val_set
        context = ConditioningContext(self.root, splits, self.config.seed, self.device, progress)
        return self.kind.prepare(self.config.condition_settings, context)

    def build_model(self, condition_kwargs: dict | None = None):
        """The run's model, seeded, with the keyword arguments its condition needs."""
        import torch

        from irstd_lib.models import build_model

        kwargs = {**(condition_kwargs or {}), **self.config.model_kwargs}
        torch.manual_seed(self.config.seed)
        model = build_model(self.config.model, **kwargs)
        if model.conditioning != self.config.conditioning_kind:
            raise RuntimeError(f"{self.config.model} built a model taking {model.conditioning!r}, but its variant "
                               f"declares {self.config.conditioning_kind!r}")
        model.input_spec.check_size(self.config.data.train_size, self.config.data.train_size, "data.train_size")
        return model


def prepare_run(
    config: RunConfig, data_root: str | os.PathLike | None = None, results_dir: str | os.PathLike | None = None, device: str = "cpu"
) -> PreparedRun:
    """Open the data and compute the run's identity and hash (nothing is built or trained)."""
    root = resolve_data_root(config.data, data_root)
    from irstd_lib.conditioning import get_kind

    kind = get_kind(config.conditioning_kind)
    if config.data.train_policy == "crop" and kind.describes_whole_image(config.condition_settings):
        import warnings

        warnings.warn(f"run of {config.model}: its condition describes the whole image (position words), but it trains on "
                      "random crops with flips and transposes, which the words do not follow; use "
                      "data.train_policy='resize' (see irstd_lib.profiles)", UserWarning, stacklevel=2)
    with_files = kind.needs_description_files(config.condition_settings)
    train_set = open_split(config.data, root, config.data.train_split, with_files)
    test_set = open_split(config.data, root, config.data.test_split, with_files)
    val_set = open_split(config.data, root, config.data.val_split, with_files) if config.data.val_split else None
    from irstd_lib.engine.distributed import get_world_size

    fingerprints = {"train": train_set.fingerprint(), "test": test_set.fingerprint()}
    if val_set is not None:  # entered only with a validation list, so earlier runs keep their hashes
        fingerprints["val"] = val_set.fingerprint()
    identity = run_identity(config, fingerprints, get_world_size())
    digest = run_hash(identity)
    return PreparedRun(config, root, train_set, test_set, identity, digest,
                       runs_root(results_dir) / digest, checkpoint_folder(digest), device, val_set)


def fit_run(config: RunConfig, prep: PreparedRun, device: str, progress: bool, channels_last: bool | None, is_main: bool = True):
    """Build the run's condition, model and trainer, and train (resuming from the cache):
    ``(trainer, fit summary, condition, train config)``."""
    from irstd_lib.engine import Trainer
    from irstd_lib.engine.distributed import main_process_first

    with main_process_first():
        condition = prep.prepare_condition(progress and is_main)
    train_cfg = config.train_config(device, progress)
    if channels_last is None:
        channels_last = str(device).startswith("cuda")
    if channels_last:
        train_cfg = replace(train_cfg, channels_last=True)
    model = prep.build_model(condition.model_kwargs)
    condition = condition_for(model, condition)
    train_data = training_dataset(config, prep.train_set, pad_value=model.input_spec.pad_value)
    trainer = Trainer(model, train_cfg, train_data, val_data=prep.val_set, checkpoint_dir=prep.checkpoint_dir, conditioner=condition.train,
                      run_info={"hash": prep.hash, "model": config.model})
    if is_main:
        announce_task(f"training {config.model} (run {prep.hash})")
    return trainer, trainer.fit(), condition, train_cfg


def condition_for(model, condition):
    """The prepared condition as ``model`` needs it: with the conditioners asking the evaluation
    for the test images' masks when the model reads them at test time (``reads_test_ground_truth``,
    SAIST's ``clip_image_test="targets_removed_by_ground_truth"``; its record is labelled so,
    :mod:`irstd_lib.runs.ground_truth`); as it is otherwise, evaluation batches then carrying no mask."""
    return condition.reading_test_masks() if getattr(model, "reads_test_ground_truth", False) else condition


def select_checkpoint(trainer, fit: dict) -> dict | None:
    """Under a validation list, load the weights of the best validation epoch (``best.pt``) into
    ``trainer.module`` and say which: ``{"epoch", "metric", "value", "every"}``; None
    (the final weights stay) without one. The trainer writes ``best.pt`` at each epoch whose
    validation ``select_metric`` beats every earlier one (the first of equal values wins)."""
    if trainer.val_data is None:
        return None
    if fit.get("best_epoch") is None or not trainer.best_path.is_file():
        raise RuntimeError(f"run in {trainer.checkpoint_dir}: validated, but no best checkpoint was written")
    from irstd_lib.engine import load_model_weights

    load_model_weights(trainer.best_path, trainer.module)
    return {"epoch": int(fit["best_epoch"]), "metric": fit["select_metric"], "value": float(fit["best_metric"]),
            "every": int(trainer.config.val_every)}


def hardest_images(per_image: list[dict], n: int) -> list[str]:
    """The ``n`` images with targets that a method finds hardest: lowest IoU, then the smallest
    target area (ties by name)."""
    rows = [r for r in per_image if r["n_targets"] > 0]
    rows.sort(key=lambda r: (r["intersection"] / max(r["union"], 1), r["target_pixels"], r["name"]))
    return [r["name"] for r in rows[:n]]


def evaluate_run(model, test_set, train_cfg, conditioners: dict, primary: str, device: str = "cpu", progress: bool = False):
    """Every evaluation of a trained model: ``(metrics per evaluation, details per evaluation,
    score maps of the primary evaluation's first and hardest test images)``."""
    from irstd_lib.engine import evaluate
    from irstd_lib.engine.evaluate import ROC_THRESHOLDS

    first = list(test_set.names[:PREVIEW_IMAGES])
    metrics, details, maps = {}, {}, {}
    for name, conditioner in list(conditioners.items()):
        if hasattr(conditioner, "bind"):
            # A test condition made by the trained model itself (LGNet's first-pass text,
            # irstd_lib.models.lgnet.first_pass): bound here, and in place, so later readers get it.
            def first_pass(image_only):
                from irstd_lib.engine import predict

                return predict(model, test_set, size=train_cfg.val_size, policy=train_cfg.eval_policy, device=device,
                               conditioner=image_only, threshold=train_cfg.threshold, amp=train_cfg.amp)

            conditioner = conditioners[name] = conditioner.bind(first_pass)
        result = evaluate(model, test_set, size=train_cfg.val_size, policy=train_cfg.eval_policy, device=device,
                          conditioner=conditioner, threshold=train_cfg.threshold, progress=progress, amp=train_cfg.amp,
                          per_image=True, roc_thresholds=ROC_THRESHOLDS, keep_maps=first if name == primary else ())
        metrics[name] = result["metrics"]
        details[name] = {"per_image": result["per_image"], "roc": result["roc"]}
        if hasattr(conditioner, "descriptions"):  # texts the trained model wrote for itself: kept with its record
            details[name]["texts"] = dict(conditioner.descriptions)
        if name == primary:
            maps.update(result["maps"])
            hard = [n for n in hardest_images(result["per_image"], PREVIEW_IMAGES) if n not in maps]
            if hard:
                from irstd_lib.engine import predict

                indices = [test_set.index_of(n) for n in hard]
                for p in predict(model, test_set, size=train_cfg.val_size, policy=train_cfg.eval_policy, device=device,
                                 conditioner=conditioner, threshold=train_cfg.threshold, amp=train_cfg.amp, indices=indices):
                    maps[p.sample.name] = p.scores
    return metrics, details, maps
