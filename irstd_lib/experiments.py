"""Experiment runs: a config with a stable hash, trained once, reused by every notebook that asks.

A :class:`RunConfig` names everything that changes a trained model's numbers: the model and its
switches, the dataset and splits, the language mode and description source, the CLIP encoder,
the training settings, the seed. Its hash (12 hex digits of SHA-256 over the canonical JSON of
those fields, dataset folders replaced by a fingerprint of their split contents so that the same
data at another path hashes the same) names the run folder::

    results/runs/<hash>/config.json     the config, resolved
    results/runs/<hash>/metrics.json    test metrics (with and without text at test time when the
                                        model uses language), the dataset issues handled on the way
    results/runs/<hash>/history.csv     the training curve (loss, lr, validation metrics)
    results/runs/<hash>/preview.png     a few test images with predictions

Checkpoints live in the cache folder (``$IRSTD_CACHE/runs/<hash>/``), never in the repository,
so that an interrupted run resumes from its last checkpoint and a finished run is not retrained.

Language modes (LGNet's Table 2):

- ``never``: the model has no language fusion block; no text and no CLIP at all;
- ``train``: trained with TD = text + image embedding, tested with TD = image embedding alone;
- ``train_test``: TD = text + image embedding in both phases.

``train`` and ``train_test`` train the same model, so they are one run: its metrics.json holds
both evaluations (``test_without_text`` and ``test_with_text``), and :func:`run_experiment`
returns the one the config asks for.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from irstd_lib.io import atomic_save, atomic_write_json
from irstd_lib.paths import cache_dir
from irstd_lib.results import results_root

LANGUAGE_MODES = ("never", "train", "train_test")
DESCRIPTION_SOURCES = ("files", "quadrant", "semantic")

# Bumped when a change to the library changes trained numbers for the same config, so that
# stale run records are not reused.
RUN_FORMAT_VERSION = 2


def _reject_unknown_keys(values: dict, dataclass_type: type, what: str) -> None:
    unknown = sorted(set(values) - {f.name for f in fields(dataclass_type)})
    if unknown:
        raise ValueError(f"unknown {what}: {', '.join(unknown)}")


@dataclass(frozen=True)
class RunConfig:
    """Everything that defines one trained model. See the module docstring."""

    model: str = "lgnet"
    model_kwargs: dict = field(default_factory=dict)
    dataset: str = "synthetic"  # "synthetic", or a dataset name such as "NUAA-SIRST" (folder given at run time)
    synthetic: dict = field(default_factory=lambda: {"n": 120, "seed": 0, "size": 128})
    split_dir: str | None = None
    train_split: str = "trainval"
    test_split: str = "test"
    on_size_mismatch: str = "resize"
    language: str = "train"
    descriptions: str = "files"
    clip: str = "tiny"  # "tiny", or an open_clip model name such as "ViT-B-16"
    clip_checkpoint: str | None = None
    train: dict = field(default_factory=dict)  # TrainConfig fields that differ from its defaults
    train_size: int = 128
    seed: int = 0
    profile: str = "smoke"

    def __post_init__(self) -> None:
        if self.language not in LANGUAGE_MODES:
            raise ValueError(f"language must be one of {LANGUAGE_MODES}, got {self.language!r}")
        if self.descriptions not in DESCRIPTION_SOURCES:
            raise ValueError(f"descriptions must be one of {DESCRIPTION_SOURCES}, got {self.descriptions!r}")

    @property
    def uses_language(self) -> bool:
        return self.language != "never"

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "RunConfig":
        _reject_unknown_keys(data, cls, "run config keys")
        return cls(**data)

    @classmethod
    def from_file(cls, path: str | os.PathLike) -> "RunConfig":
        path = Path(path)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise ValueError(f"{path}: cannot read run config ({exc})") from exc
        return cls.from_dict(data.get("config", data))


def _canonical(obj: Any) -> str:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), default=str)


def dataset_fingerprint(dataset) -> str:
    """12 hex digits identifying a split's contents: its names and each image's and mask's byte
    size. Cheap (no decoding) and independent of where the folder lives."""
    digest = hashlib.sha256()
    for name, image, mask in zip(dataset.names, dataset.image_paths, dataset.mask_paths):
        digest.update(f"{name}:{Path(image).stat().st_size}:{Path(mask).stat().st_size};".encode())
    return digest.hexdigest()[:12]


def run_hash(config: RunConfig, fingerprints: dict[str, str], clip_key: str | None) -> str:
    """The run's identity. Language modes ``train`` and ``train_test`` share a hash (one trained
    model, two evaluations); the CLIP checkpoint enters by its content hash (``clip_key``)."""
    data = config.to_dict()
    data["language"] = "text_in_training" if config.uses_language else "never"
    data.pop("clip_checkpoint")
    data["clip_key"] = clip_key if config.uses_language else None
    if config.dataset != "synthetic":
        data.pop("synthetic")
    data["data_fingerprints"] = fingerprints
    data["format"] = RUN_FORMAT_VERSION
    return hashlib.sha256(_canonical(data).encode()).hexdigest()[:12]


# ---------------------------------------------------------------------------------------------
# Running a config


@dataclass
class RunResult:
    """A finished run: its hash, folder and metrics (see the module docstring)."""

    config: RunConfig
    hash: str
    run_dir: Path
    checkpoint_dir: Path
    record: dict

    @property
    def metrics(self) -> dict:
        """Test metrics under the config's language mode (text at test time for ``train_test``)."""
        if self.config.language == "train_test" and "test_with_text" in self.record:
            return self.record["test_with_text"]
        return self.record.get("test_without_text", self.record.get("test"))

    def history(self):
        import pandas as pd

        return pd.read_csv(self.run_dir / "history.csv")


def synthetic_root(spec: dict) -> Path:
    """The embedded synthetic dataset of a config, written once into the cache folder.

    The folder name carries the generator version, so a newer generator writes beside the
    datasets of older ones instead of refusing the folder they hold.
    """
    from irstd_lib.data.synthetic import GENERATOR_VERSION, write_synthetic_dataset

    n, seed, size = int(spec["n"]), int(spec["seed"]), int(spec["size"])
    name = f"synthetic-v{GENERATOR_VERSION}-n{n}-seed{seed}-{size}px"
    return write_synthetic_dataset(cache_dir("datasets") / name, n=n, seed=seed, size=size)


def resolve_data_root(config: RunConfig, data_root: str | os.PathLike | None) -> Path:
    if config.dataset == "synthetic":
        return synthetic_root(config.synthetic)
    if data_root is None:
        raise ValueError(f"run config names dataset {config.dataset!r}: pass its folder as data_root")
    root = Path(data_root).expanduser()
    if not root.is_dir():
        from irstd_lib.data.errors import DatasetError

        raise DatasetError(root, f"dataset folder for {config.dataset!r} not found")
    return root


def _open_split(config: RunConfig, root: Path, split: str, with_files: bool):
    from irstd_lib.data import IRSTDDataset

    return IRSTDDataset(
        root,
        split=split,
        split_dir=config.split_dir,
        descriptions="target" if with_files else None,
        on_size_mismatch=config.on_size_mismatch,
    )


def descriptions_for(config: RunConfig, root: Path, datasets: list, progress: bool = False) -> dict[str, str]:
    """``name -> description`` for every image of ``datasets`` from the config's source.

    ``files`` reads the descriptions that ship with the dataset (LangIR layout); ``quadrant`` and
    ``semantic`` are generated from the masks once and cached under the cache folder, keyed by
    the split's fingerprint (both sources read the ground truth, which LGNet's training does too;
    at test time the ``train`` mode never uses them).
    """
    if config.descriptions == "files":
        from irstd_lib.data import read_description

        # The description files themselves: no image needs decoding to read them.
        return {name: read_description(path) for ds in datasets for name, path in zip(ds.names, ds.description_paths)}
    texts: dict[str, str] = {}
    for ds in datasets:
        texts.update(generated_descriptions(ds, config.descriptions, progress))
    return texts


def generated_descriptions(dataset, source: str, progress: bool = False) -> dict[str, str]:
    """``name -> description`` from a generating source (``quadrant``, ``semantic``...), written
    once into the cache folder keyed by the split's fingerprint and read back afterwards."""
    from irstd_lib.text.descriptions import describe_dataset, load_descriptions

    out = cache_dir("descriptions", source, dataset_fingerprint(dataset))
    describe_dataset(dataset, source, out_dir=out, progress=progress)
    return load_descriptions(out, names=dataset.names)


def build_clip_encoder(config: RunConfig, device: str = "cpu"):
    from irstd_lib.text.clip_encoder import ClipEncoder

    if config.clip == "tiny":
        return ClipEncoder.tiny(seed=config.seed, device=device)
    if config.clip_checkpoint is None:
        raise ValueError(
            f"clip={config.clip!r} needs clip_checkpoint: a local weights file (nothing is downloaded); "
            "use clip='tiny' for a random small encoder"
        )
    return ClipEncoder(config.clip, checkpoint=config.clip_checkpoint, device=device, seed=config.seed)


def clip_key(config: RunConfig) -> str:
    """The identity of the config's CLIP weights, as ``ClipEncoder.key`` spells it, without
    building the model: the architecture and the checkpoint's content hash (or the random seed)."""
    from irstd_lib.text.clip_encoder import TINY_CLIP_NAME, file_sha256

    name = TINY_CLIP_NAME if config.clip == "tiny" else config.clip
    if config.clip_checkpoint is None:
        if config.clip != "tiny":
            build_clip_encoder(config)  # raises the clear "needs clip_checkpoint" error
        return f"{name}@random-seed{config.seed}"
    path = Path(config.clip_checkpoint).expanduser()
    if not path.is_file():
        raise FileNotFoundError(f"{path}: CLIP checkpoint file not found (weights are never downloaded)")
    return f"{name}@sha256:{file_sha256(path)[:12]}"


class DescriptorConditioner:
    """The engine's conditioner for language-guided models: a batch's target descriptors.

    Every image's CLIP embedding (of the whole, unaugmented image, so that CLIP runs once per
    image and never inside an epoch) and its description's text embedding are computed before
    training. In training a crop of the image gets its full image's descriptor.
    ``use_text_in``: the phases whose descriptors include the text embedding.
    """

    def __init__(self, table: dict, use_text_in: set[str]) -> None:
        self.table = table
        self.use_text_in = set(use_text_in)

    def __call__(self, batch: dict, phase: str) -> dict:
        from irstd_lib.text.target_descriptor import stack_descriptors

        names = batch["name"]
        names = [names] if isinstance(names, str) else list(names)
        return {"descriptor": stack_descriptors(self.table, names, phase in self.use_text_in)}

    def with_text_in(self, phases: set[str]) -> "DescriptorConditioner":
        return DescriptorConditioner(self.table, phases)


def train_config_for(config: RunConfig, device: str, progress: bool):
    from irstd_lib.engine import TrainConfig

    values = {"seed": config.seed, "train_size": config.train_size, "device": device, "progress": progress}
    values.update(config.train)
    _reject_unknown_keys(values, TrainConfig, "training settings in run config")
    return TrainConfig(**values)


@dataclass
class PreparedRun:
    """Everything a run needs before training: data, encoder, identity, model factory."""

    config: RunConfig
    root: Path
    train_set: Any
    test_set: Any
    fingerprints: dict
    clip_key: str | None
    hash: str
    run_dir: Path
    checkpoint_dir: Path
    needs_descriptor: bool
    device: str = "cpu"
    _encoder: Any = None

    @property
    def encoder(self):
        """The CLIP encoder, built on first use (importing open_clip costs ~20 s on a small CPU)."""
        if self._encoder is None and self.needs_descriptor:
            self._encoder = build_clip_encoder(self.config, self.device)
            if self._encoder.key != self.clip_key:
                raise RuntimeError(f"CLIP key {self._encoder.key} differs from the expected {self.clip_key}")
        return self._encoder

    def build_model(self):
        import torch

        from irstd_lib.models import build_model

        kwargs = dict(self.config.model_kwargs)
        if self.needs_descriptor:
            kwargs.setdefault("descriptor_dim", self.encoder.embed_dim)
        torch.manual_seed(self.config.seed)
        return build_model(self.config.model, **kwargs)

    def conditioner(self, progress: bool = False) -> "DescriptorConditioner | None":
        """Descriptors of every train and test image (text in training unless language is never)."""
        if not self.needs_descriptor:
            return None
        from irstd_lib.text.target_descriptor import TargetDescriptorBank

        config = self.config
        texts = descriptions_for(config, self.root, [self.train_set, self.test_set], progress) if config.uses_language else {}
        bank = TargetDescriptorBank(self.encoder)
        table = {}
        for ds in (self.train_set, self.test_set):
            images = [ds[i].image for i in range(len(ds))]
            image_rows = bank.image_embeddings(images)
            text_rows = bank._optional_text_embeddings([texts.get(n) for n in ds.names])
            for name, image_row, text_row in zip(ds.names, image_rows, text_rows):
                table[name] = (image_row, text_row)
        return DescriptorConditioner(table, {"train"} if config.uses_language else set())


def prepare_run(
    config: RunConfig, data_root: str | os.PathLike | None = None, results_dir: str | os.PathLike | None = None, device: str = "cpu"
) -> PreparedRun:
    """Open the data, build the CLIP encoder when the model needs descriptors, compute the hash."""
    root = resolve_data_root(config, data_root)
    with_files = config.descriptions == "files" and config.uses_language
    train_set = _open_split(config, root, config.train_split, with_files)
    test_set = _open_split(config, root, config.test_split, with_files)
    fingerprints = {"train": dataset_fingerprint(train_set), "test": dataset_fingerprint(test_set)}
    from irstd_lib.models import build_model

    probe = build_model(config.model, **config.model_kwargs)
    needs_descriptor = bool(getattr(probe, "uses_descriptor", False))
    key = clip_key(config) if needs_descriptor else None
    digest = run_hash(config, fingerprints, key)
    return PreparedRun(config, root, train_set, test_set, fingerprints, key, digest,
                       results_root(results_dir) / "runs" / digest, cache_dir("runs", digest), needs_descriptor, device)


def run_experiment(
    config: RunConfig,
    data_root: str | os.PathLike | None = None,
    results_dir: str | os.PathLike | None = None,
    device: str = "cpu",
    progress: bool = True,
    retrain: bool = False,
) -> RunResult:
    """Train and evaluate ``config`` once; later calls return the recorded run.

    The run folder is ``<results>/runs/<hash>/``; its ``metrics.json`` is written last, so a run
    counts as finished only when everything else is in place. An interrupted run resumes from
    the last checkpoint in ``$IRSTD_CACHE/runs/<hash>/``. The final weights are evaluated (no
    selection on the test split); ``best.pt`` beside them is kept for users who validate.
    """
    from irstd_lib.data.transforms import TorchIRSTDDataset, TrainTransform
    from irstd_lib.engine import Trainer

    prep = prepare_run(config, data_root, results_dir, device)
    metrics_path = prep.run_dir / "metrics.json"
    if metrics_path.is_file() and not retrain:
        return RunResult(config, prep.hash, prep.run_dir, prep.checkpoint_dir, json.loads(metrics_path.read_text()))
    if retrain and prep.checkpoint_dir.is_dir():
        import shutil

        shutil.rmtree(prep.checkpoint_dir)
        prep.checkpoint_dir.mkdir(parents=True)

    atomic_write_json(prep.run_dir / "config.json", {"hash": prep.hash, "config": config.to_dict(), "data_fingerprints": prep.fingerprints,
                                                      "clip_key": prep.clip_key})
    conditioner = prep.conditioner(progress)
    train_cfg = train_config_for(config, device, progress)
    model = prep.build_model()
    train_data = TorchIRSTDDataset(prep.train_set, transform=TrainTransform(config.train_size), seed=config.seed)
    trainer = Trainer(model, train_cfg, train_data, val_data=None, checkpoint_dir=prep.checkpoint_dir, conditioner=conditioner)
    fit = trainer.fit()

    record: dict[str, Any] = {"hash": prep.hash, "profile": config.profile, "dataset": config.dataset,
                              "issues": list(prep.train_set.issues) + list(prep.test_set.issues)}
    record.update(_evaluate_all(trainer.model, prep, train_cfg, device, conditioner))
    history = fit.get("history", [])
    record["epochs"] = len(history)
    record["train_seconds"] = round(sum(h.get("time_s", 0.0) for h in history), 1)

    _write_history(prep.run_dir / "history.csv", history)
    _write_preview(prep.run_dir / "preview.png", trainer.model, prep.test_set, train_cfg, device, conditioner)
    atomic_write_json(metrics_path, record)
    return RunResult(config, prep.hash, prep.run_dir, prep.checkpoint_dir, record)


def _evaluate_all(model, prep: PreparedRun, train_cfg, device: str, conditioner) -> dict:
    from irstd_lib.engine import evaluate_model

    def evaluate(cond) -> dict:
        return evaluate_model(model, prep.test_set, size=train_cfg.val_size, policy=train_cfg.eval_policy,
                              device=device, conditioner=cond, threshold=train_cfg.threshold)

    if conditioner is not None and prep.config.uses_language:
        return {"test_without_text": evaluate(conditioner.with_text_in({"train"})),
                "test_with_text": evaluate(conditioner.with_text_in({"train", "test"}))}
    return {"test": evaluate(conditioner)}


def load_trained_model(
    config: RunConfig, data_root=None, results_dir=None, device: str = "cpu", progress: bool = False, text_at_test: bool | None = None
):
    """The trained model of ``config`` (trained first if needed), its test set and its conditioner.

    When the run is recorded but its checkpoint was removed from the cache, the run is trained
    again (deterministically, so the same weights come back). ``text_at_test`` defaults to the
    config's language mode (``train_test``: True).
    """
    from irstd_lib.engine import load_model_weights

    run = run_experiment(config, data_root, results_dir, device, progress)
    weights = run.checkpoint_dir / "last.pt"
    if not weights.is_file():
        run = run_experiment(config, data_root, results_dir, device, progress, retrain=True)
    prep = prepare_run(config, data_root, results_dir, device)
    model = prep.build_model()
    load_model_weights(weights, model)
    model.eval()
    conditioner = prep.conditioner(progress)
    if conditioner is not None and config.uses_language:
        with_text = config.language == "train_test" if text_at_test is None else text_at_test
        conditioner = conditioner.with_text_in({"train", "test"} if with_text else {"train"})
    return model, prep.test_set, conditioner, run


def _write_history(path: Path, history: list[dict]) -> None:
    import pandas as pd

    from irstd_lib.io import atomic_write_text

    atomic_write_text(path, pd.DataFrame(history).to_csv(index=False))


def _write_preview(path: Path, model, dataset, train_cfg, device: str, conditioner, n: int = 4) -> None:
    """A small figure: the first ``n`` test images, their masks and the predicted probabilities."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import io as _io

    import matplotlib.pyplot as plt

    from irstd_lib.engine import predict_scores
    from irstd_lib.io import atomic_write_bytes

    pairs = list(predict_scores(model, dataset, size=train_cfg.val_size, policy=train_cfg.eval_policy,
                                device=device, conditioner=conditioner, indices=range(min(n, len(dataset)))))
    fig, axes = plt.subplots(3, len(pairs), figsize=(2.2 * len(pairs), 6.6), squeeze=False)
    for col, (sample, scores) in enumerate(pairs):
        for row, (image, title) in enumerate(((sample.image, sample.name), (sample.mask, "mask"), (scores, "probability"))):
            ax = axes[row, col]
            ax.imshow(image, cmap="gray", vmin=0, vmax=1)
            ax.set_title(title, fontsize=8)
            ax.axis("off")
    fig.tight_layout()
    buffer = _io.BytesIO()
    fig.savefig(buffer, format="png", dpi=80, metadata={"Software": None})
    plt.close(fig)
    atomic_write_bytes(path, buffer.getvalue())


def find_run(run: str | os.PathLike, results_dir: str | os.PathLike | None = None) -> dict:
    """The record (metrics.json) of a finished run, given its hash or its folder."""
    path = Path(run)
    if not path.is_dir():
        path = results_root(results_dir) / "runs" / str(run)
    metrics = path / "metrics.json"
    if not metrics.is_file():
        raise FileNotFoundError(f"{metrics}: no finished run here (train it with `python -m irstd_lib train --config ...`)")
    return json.loads(metrics.read_text(encoding="utf-8"))
