"""Profiles: one parameter that scales every notebook.

A :class:`Profile` holds the data and training budget every run shares, and one typed
:class:`SystemProtocol` per system (model arguments, training settings, sizes, split,
conditioning). :func:`irstd_lib.reproductions.configs.run_config` turns a table row into a
:class:`~irstd_lib.runs.RunConfig` from them, so changing a setting here changes every table
consistently. The measured reasons behind the settings are in the README ("Profiles").

- ``smoke`` (default): a 2-core CPU in minutes; the embedded synthetic set, tiny widths and
  tiny random encoders. It proves the pipeline end to end; its numbers are not the papers'.
- ``paper``: the papers' settings, for a GPU, a real dataset folder and local checkpoints.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Mapping

__all__ = ["PROFILES", "Profile", "SystemProtocol", "get_profile"]

TRAIN_BASES = ("profile", "variant")


@dataclass(frozen=True)
class SystemProtocol:
    """How one system's runs are configured under a profile.

    - ``model_kwargs``: overrides of the registered variant's arguments (widths, encoders);
    - ``train``: training settings over ``train_base``: ``"profile"`` (the profile's shared
      budget, then these) or ``"variant"`` (the variant's own recipe, then these);
    - ``size``: whole images resized to ``size`` for training and testing (None: the profile's
      sizes and policies);
    - ``split_scheme``: the partition of a real dataset (``"standard"``: its own lists);
    - ``conditioning``: settings of the system's condition (LGNet: ``clip``, ``clip_text``).
    """

    model_kwargs: Mapping = field(default_factory=dict)
    train: Mapping = field(default_factory=dict)
    train_base: str = "profile"
    size: int | None = None
    split_scheme: str = "standard"
    conditioning: Mapping = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.train_base not in TRAIN_BASES:
            raise ValueError(f"train_base must be one of {TRAIN_BASES}, got {self.train_base!r}")


@dataclass(frozen=True)
class Profile:
    name: str
    dataset: str
    synthetic: Mapping
    train: Mapping
    train_size: int
    eval_size: int | None
    systems: Mapping[str, SystemProtocol]
    eval_policy: str = "resize"
    train_policy: str = "resize"
    train_split: str = "trainval"
    seed: int = 0
    # Seeds each system's reference model is trained with to measure the seed spread stated beside
    # every table (irstd_lib.reproductions.seeds); the first is ``seed``, the run the tables hold.
    spread_seeds: tuple = (0, 1, 2)
    # Seeds every table row is trained at (a notebook's ``seeds`` overrides them).
    row_seeds: tuple = (0,)
    notes: str = ""

    def protocol(self, system: str) -> SystemProtocol:
        """The protocol of ``system`` (a folder name under ``irstd_lib/models/``)."""
        try:
            return self.systems[system]
        except KeyError:
            raise ValueError(f"profile {self.name!r} has no protocol for system {system!r}; "
                             f"it has {', '.join(self.systems)}") from None

    def dataset_for(self, data_root=None) -> str:
        """The dataset a run reads: the profile's own, or the folder ``data_root`` names."""
        from pathlib import Path

        return self.dataset if data_root is None else Path(data_root).name

    def data_config(self, dataset: str | None = None, **overrides):
        """The profile's :class:`~irstd_lib.runs.DataConfig` (its synthetic set, or the named
        real dataset whose folder is given at run time)."""
        from irstd_lib.runs import DataConfig

        values = dict(dataset=dataset or self.dataset, synthetic=dict(self.synthetic), train_split=self.train_split,
                      test_split="test", train_size=self.train_size, eval_size=self.eval_size, eval_policy=self.eval_policy,
                      train_policy=self.train_policy)
        return DataConfig(**{**values, **overrides})


def _systems(**protocols: SystemProtocol) -> Mapping[str, SystemProtocol]:
    return MappingProxyType(dict(protocols))


PROFILES: dict[str, Profile] = {
    "smoke": Profile(
        name="smoke",
        dataset="synthetic",
        synthetic={"n": 120, "seed": 0, "size": 128},
        # 20 epochs of batch 8 at lr 1e-2 with a cosine decay, one CPU thread a run (README, "Profiles"):
        # one thread trains these 64 px runs as fast as two, so reproduce trains two runs side by side
        # (irstd_lib.reproductions.pool), and 20 epochs, not the earlier 40, is what fits the 30-minute
        # budget on the slowest 2-core machine measured (AMD EPYC Zen 3, AVX2: 24 epochs came to about
        # 30 minutes). At lr 5e-3, 20 epochs left LGNet's baseline at IoU 0.9 (40 epochs: 47); at 1e-2,
        # 24.5 (24 epochs: 34; LGNet 38, GGL-Net 40, DGSPNet 49; one-thread trial runs on that machine).
        train={"epochs": 20, "batch_size": 8, "optimizer": "adan", "lr": 1e-2, "weight_decay": 1e-4,
               "scheduler": "warmup_cosine", "warmup_epochs": 1, "val_every": 4, "cpu_threads": 1},
        # Whole images halved to 64 px: 128 px costs 2.8 times as much per step (measured).
        train_size=64,
        eval_size=64,
        systems=_systems(
            lgnet=SystemProtocol(model_kwargs={"width": 16}, conditioning={"clip": "tiny", "clip_text": "frozen"}),
            # The tiny SAM and CLIP, whole 128 px images (64 px gives the 8-px patches an 8x8 grid:
            # IoU 2.1), the profile's budget with SAIST's Adam at a CPU learning rate.
            saist=SystemProtocol(model_kwargs={"sam": "tiny", "clip": "tiny", "depth_width": 8, "coop_context": 4},
                                 train={"optimizer": "adam", "lr": 1e-3, "weight_decay": 0.0, "scheduler": "warmup_cosine",
                                        "warmup_epochs": 1},
                                 size=128),
            # Widths costing about what LGNet width 16 costs per step; lr 1e-2 (the profile's own since
            # 2026-12-07; before it, theirs alone) because at 5e-3 ACM's and DNA-Net's SoftIoU runs
            # never left p ~ 0.5 (DNA-Net IoU 0.00).
            # DNA-Net keeps the earlier 40 epochs: at 20 and 24 its maps never reached 0.5 (IoU 0.00; 40: 49.95).
            acm=SystemProtocol(train={"lr": 1e-2}),
            dnanet=SystemProtocol(model_kwargs={"base_channels": 4}, train={"lr": 1e-2, "epochs": 40}),
            # The batch SoftIoU: the authors' per-image one is an attractor on few-pixel targets
            # (GGL-Net without GSM: every logit below -3.6, IoU 0.00).
            ggl_net=SystemProtocol(model_kwargs={"base_channels": 4}, train={"loss": "softiou"}),
            dgspnet=SystemProtocol(model_kwargs={"clip": "tiny", "base_channels": 8}),
            # The tiny GroundingDINO and SAM, random; the profile's 64 px images resized inside the model
            # to the tiny SAM's 128 (its 8-px patches: a 16x16 grid, as SAIST's smoke runs); SAIST's Adam.
            grounding_sam=SystemProtocol(model_kwargs={"detector": "tiny", "sam": "tiny", "top_k": 4, "image_size": 128},
                                         train={"optimizer": "adam", "lr": 1e-3, "weight_decay": 0.0}),
        ),
        notes="CPU, synthetic data, tiny widths, random CLIP: proves the pipeline; numbers are not the papers'.",
    ),
    "paper": Profile(
        name="paper",
        dataset="NUAA-SIRST",
        synthetic={"n": 1000, "seed": 0, "size": 512},
        # LGNet's recipe: Adan 1e-3, weight decay 1e-4, 10 warm-up epochs, 600 epochs of batch 8;
        # bf16 autocast on CUDA (ignored on a CPU).
        train={"epochs": 600, "batch_size": 8, "optimizer": "adan", "lr": 1e-3, "weight_decay": 1e-4,
               "scheduler": "warmup_linear", "warmup_epochs": 10, "val_every": 10, "amp": "bf16"},
        train_size=512,
        eval_size=512,
        row_seeds=(0, 1, 2),  # every row a mean and sd over three seeds
        systems=_systems(
            # The paper's "fine-tuned CLIP text encoder" (at 0.01 of the lr, the condition's default). Text
            # at test from the model's own first pass (the paper's test text is GPT-4V's, which sees no
            # mask); the mask-derived test text is the labelled upper bound (test_descriptions="training_source").
            lgnet=SystemProtocol(model_kwargs={"width": 64},
                                 conditioning={"clip": "ViT-B-16", "clip_text": "finetune", "test_descriptions": "first_pass"}),
            # SAIST's own recipe (Adam 1e-4, cosine, 400 epochs, batch 4), 1024 px, its 50/30/20 split.
            # Model kwargs: the paper's readings of section 3 (irstd_lib/models/saist/FIDELITY.md): CLIP's
            # frozen image encoder "processes infrared images without target" (in training; the whole
            # image at test, where the paper is silent); Visual from the image encoder (3.2.1); the final
            # projection widened 2x (3.2.3, factor not given); only the image encoder frozen (3.1); eqs. 1-2's
            # exp(cos) without a temperature; A from the prompt tokens and I from SAM's output token
            # (3.3.2); d = ResNet(I) as depth bins (eqs. 11-12). Scene prompts: the training images described
            # with the target mask removed (3.4: "Each infrared image, with the target mask removed, is
            # encoded"), the test and validation images whole, reading no test mask (the paper is silent on a
            # detector's test-time text; the masked test text stays available, labelled: mask_target_test=True).
            saist=SystemProtocol(model_kwargs={"sam": "vit_b", "clip": "ViT-B-16", "clip_image_train": "targets_removed",
                                               "clip_image_test": "whole", "visual_source": "image_encoder",
                                               "projection_width_factor": 2, "text_encoder": "finetune",
                                               "relation_temperature": "equation", "imaging_tokens": "sam",
                                               "depth_input": "degraded", "depth_readout": "bins"},
                                 train={"amp": "bf16"}, conditioning={"mask_target_test": False},
                                 train_base="variant", size=1024, split_scheme="saist_50_30_20"),
            acm=SystemProtocol(),
            dnanet=SystemProtocol(),
            ggl_net=SystemProtocol(),
            dgspnet=SystemProtocol(model_kwargs={"clip": "ViT-B-16"}),
            # LGNet 5.6.3 "finetune[s] a pre-trained GroundingDINO+SAM" and says no more: Grounded-SAM's
            # pair (GroundingDINO Swin-T, SAM ViT-H) from local weights, the package's SAM fine-tuning
            # recipe (saist_paper: Adam 1e-4, cosine, 400 epochs, batch 4), the profile's 512 px images
            # resized inside the model to SAM's 1024.
            grounding_sam=SystemProtocol(model_kwargs={"detector": "swin_t", "sam": "vit_h"}, train={"amp": "bf16"},
                                         train_base="variant"),
        ),
        notes="GPU; the papers' settings (paper_settings.md); needs data_root and the CLIP and SAM checkpoints.",
    ),
}


def get_profile(profile: "str | Profile") -> Profile:
    """The profile named ``profile`` (a :class:`Profile` is returned as it is)."""
    if isinstance(profile, Profile):
        return profile
    try:
        return PROFILES[profile]
    except KeyError:
        raise ValueError(f"unknown profile {profile!r}; choose one of {', '.join(PROFILES)}") from None
