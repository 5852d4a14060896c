"""One config layer below the tables: a table row becomes a :class:`~irstd_lib.runs.RunConfig`.

:func:`run_config` ``(profile, variant, **row)`` reads the profile's protocol of the variant's
system (:class:`~irstd_lib.profiles.SystemProtocol`) and hands it to that system's builder in
:data:`SYSTEM_BUILDERS` (LGNet and SAIST have a condition to set up; every other system is an
image-only model built by :func:`image_only_config`). A row's options are the few a table varies:

- LGNet: ``language`` (``never``, ``train``; default ``train`` for a variant with a language
  fusion block, else ``never``) and ``descriptions`` (``files``, ``quadrant``, ``semantic``;
  default ``files`` for the synthetic set or a folder with ``descriptions/``, else ``semantic``)
  and ``test_descriptions`` (``training_source``: the same source on the test images;
  ``first_pass``: written from the model's own image-only prediction; default: the protocol's);
- every system: ``split_scheme``, a partition of a real dataset (``"saist_50_30_20"``: train on
  its 50 %, choose the checkpoint on its 30 %, test on its 20 %, :func:`partition`; the
  synthetic set keeps its lists): SAIST's Table 1 puts every method on SAIST's partition;
- SAIST: ``split_scheme`` overrides its protocol's partition (the comparison trains SAIST on
  the comparison's splits), and ``descriptions`` (``files``, ``scene``, ``vlm``; default
  ``files`` for a folder with ``scene_descriptions/``, else ``scene``, the rule-based stand-in;
  ``vlm``: SAIST's procedure, a VLM describing each target-removed image,
  :mod:`irstd_lib.conditioning.scene_prompt`).

:class:`RunContext` is what a notebook passes down (profile, data folder, device, checkpoints,
epochs, seeds, results folder), resolved once: callers below it get a :class:`Profile` object.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from irstd_lib.data.splits import SCHEME_SPLITS
from irstd_lib.models import get_variant
from irstd_lib.profiles import Profile, SystemProtocol, get_profile
from irstd_lib.runs import RunConfig

__all__ = ["RunContext", "SYSTEM_BUILDERS", "image_only_config", "lgnet_run_config", "run_config", "saist_run_config",
           "system_folder", "system_of"]


def system_folder(variant) -> str:
    """The system a variant belongs to, as its folder under ``irstd_lib/models/`` names it
    (``sam`` and ``sam_hq`` are SAIST's builder without text: ``saist``)."""
    package = variant.builder_path.partition(":")[0].split(".")
    if package[:2] != ["irstd_lib", "models"] or len(package) < 4:
        raise ValueError(f"{variant.name}: the comparison protocol knows the package's own systems, not {variant.builder_path}")
    return package[2]


def system_of(variant: str) -> str:
    """:func:`system_folder` of a registered variant's name."""
    return system_folder(get_variant(variant))


@dataclass(frozen=True)
class _Inputs:
    """What every builder may read besides the protocol: the run's dataset and the caller's files."""

    data_root: str | os.PathLike | None
    clip_checkpoint: str | None
    sam_checkpoint: str | None
    epochs: int | None
    seed: int
    detector_checkpoint: str | None = None


def partition(dataset: str, split_scheme: str | None) -> dict:
    """The data settings of a partition of a real dataset: its scheme and its (train, val, test)
    lists (:data:`~irstd_lib.data.splits.SCHEME_SPLITS`); nothing for the synthetic set, the
    dataset's own lists or None, so that those configs stay as they were."""
    if split_scheme is None or split_scheme == "standard" or dataset == "synthetic":
        return {}
    return {"split_scheme": split_scheme, **dict(zip(("train_split", "val_split", "test_split"), SCHEME_SPLITS[split_scheme]))}


def _train(p: Profile, protocol: SystemProtocol, epochs: int | None) -> dict:
    base = dict(p.train) if protocol.train_base == "profile" else {}
    train = {**base, **protocol.train}
    if epochs is not None:
        train["epochs"] = int(epochs)
    return train


def lgnet_run_config(p: Profile, variant, protocol: SystemProtocol, inputs: _Inputs, language: str | None = None,
                     descriptions: str | None = None, split_scheme: str | None = None,
                     test_descriptions: str | None = None) -> RunConfig:
    """LGNet: the target descriptor's language mode and description source (see the module docstring);
    ``test_descriptions`` (None: the protocol's, else ``"training_source"``): where the test-time
    text comes from (:mod:`irstd_lib.conditioning.target_descriptor`)."""
    described = variant.conditioning_for(variant.resolved_kwargs(**protocol.model_kwargs)) != "none"
    language = ("train" if described else "never") if language is None else language
    dataset = p.dataset_for(inputs.data_root)
    if descriptions is None:
        has_files = dataset == "synthetic" or (inputs.data_root is not None and (Path(inputs.data_root) / "descriptions").is_dir())
        descriptions = "files" if has_files else "semantic"
    conditioning: dict[str, Any] = {}
    if described:
        clip_text = protocol.conditioning.get("clip_text", "frozen")
        conditioning = {"language": language, "descriptions": descriptions, "clip": protocol.conditioning["clip"],
                        "clip_checkpoint": inputs.clip_checkpoint}
        if clip_text != "frozen" and language != "never":
            conditioning["clip_text"] = clip_text
        test_descriptions = test_descriptions or protocol.conditioning.get("test_descriptions", "training_source")
        if test_descriptions != "training_source" and language != "never":  # only away from the default: hashes stay
            conditioning["test_descriptions"] = test_descriptions
    elif language != "never":
        raise ValueError(f"variant {variant.name!r} has no language fusion block: use language='never'")
    return RunConfig(model=variant.name, model_kwargs=dict(protocol.model_kwargs), data=p.data_config(dataset, **partition(dataset, split_scheme)),
                     conditioning=conditioning, train=_train(p, protocol, inputs.epochs), seed=inputs.seed, profile=p.name)


def saist_run_config(p: Profile, variant, protocol: SystemProtocol, inputs: _Inputs, split_scheme: str | None = None,
                     descriptions: str | None = None) -> RunConfig:
    """SAIST: SAM and CLIP from the caller's checkpoints, whole images at the protocol's size, its
    partition of a real dataset, each image's scene prompt (description files when the folder has
    ``scene_descriptions/``)."""
    kwargs = dict(protocol.model_kwargs)
    guided = variant.kwargs.get("guidance") is not None
    if kwargs.get("sam") != "tiny" and inputs.sam_checkpoint is None:
        raise ValueError(f"profile {p.name!r} trains SAM {kwargs.get('sam')}: pass sam_checkpoint, a local file such as "
                         "sam_vit_b_01ec64.pth (nothing is downloaded)")
    if guided and kwargs.get("clip") != "tiny" and inputs.clip_checkpoint is None:
        raise ValueError(f"profile {p.name!r} uses CLIP {kwargs.get('clip')}: pass clip_checkpoint, a local open_clip weights file")
    if inputs.sam_checkpoint is not None:
        kwargs["sam_checkpoint"] = str(inputs.sam_checkpoint)
    if inputs.clip_checkpoint is not None and guided:
        kwargs["clip_checkpoint"] = str(inputs.clip_checkpoint)
    dataset = p.dataset_for(inputs.data_root)
    size = protocol.size
    # Under SAIST's 50/30/20 (4.1) it trains on the 50 %, chooses its checkpoint on the 30 % and is
    # tested on the 20 % (partition); "standard" keeps the dataset's lists.
    data = p.data_config(dataset, train_size=size, eval_size=size, eval_policy="resize", train_policy="resize",
                         **partition(dataset, protocol.split_scheme if split_scheme is None else split_scheme))
    has_files = inputs.data_root is not None and (Path(inputs.data_root) / "scene_descriptions").is_dir()
    descriptions = descriptions or ("files" if has_files else "scene")
    # The protocol's scene-prompt settings (the paper profile: test images described whole, no mask read).
    conditioning = {"descriptions": descriptions, **protocol.conditioning} if guided else {}
    return RunConfig(model=variant.name, model_kwargs=kwargs, data=data, conditioning=conditioning,
                     train=_train(p, protocol, inputs.epochs), seed=inputs.seed, profile=p.name)


def image_only_config(p: Profile, variant, protocol: SystemProtocol, inputs: _Inputs, split_scheme: str | None = None) -> RunConfig:
    """An image-only model (ACM, DNA-Net, GGL-Net, DGSPNet, which makes its own text): the
    profile's data, budget and sizes with the protocol's widths and training departures."""
    kwargs = dict(protocol.model_kwargs)
    resolved = variant.resolved_kwargs(**kwargs)
    # A pretrained CLIP (DGSPNet's text priors) is read from the caller's file, never downloaded.
    if resolved.get("clip", "tiny") != "tiny" and any(resolved.get(k) for k in ("coarse_prompts", "fine_prompts")):
        if inputs.clip_checkpoint is None:
            raise ValueError(f"profile {p.name!r} builds {variant.name} with CLIP {kwargs.get('clip')}: pass clip_checkpoint, "
                             "a local open_clip weights file (nothing is downloaded)")
        kwargs["clip_checkpoint"] = str(inputs.clip_checkpoint)
    dataset = p.dataset_for(inputs.data_root)
    return RunConfig(model=variant.name, model_kwargs=kwargs, data=p.data_config(dataset, **partition(dataset, split_scheme)),
                     conditioning={}, train=_train(p, protocol, inputs.epochs), seed=inputs.seed, profile=p.name)


def grounding_sam_run_config(p: Profile, variant, protocol: SystemProtocol, inputs: _Inputs,
                             split_scheme: str | None = None) -> RunConfig:
    """GroundingDINO + SAM (LGNet 5.6.3): image-only, the profile's data and sizes, SAM's weights
    from ``sam_checkpoint`` and GroundingDINO's from ``detector_checkpoint`` (its local
    ``model.safetensors``); a full-size detector without weights is refused when the model is built."""
    kwargs = dict(protocol.model_kwargs)
    if kwargs.get("sam", "tiny") != "tiny":
        if inputs.sam_checkpoint is None:
            raise ValueError(f"profile {p.name!r} builds {variant.name} with SAM {kwargs['sam']}: pass sam_checkpoint, "
                             "a local file such as sam_vit_h_4b8939.pth (nothing is downloaded)")
        kwargs["sam_checkpoint"] = str(inputs.sam_checkpoint)
    if inputs.detector_checkpoint is not None:
        kwargs["detector_checkpoint"] = str(inputs.detector_checkpoint)
    dataset = p.dataset_for(inputs.data_root)
    return RunConfig(model=variant.name, model_kwargs=kwargs, data=p.data_config(dataset, **partition(dataset, split_scheme)),
                     conditioning={}, train=_train(p, protocol, inputs.epochs), seed=inputs.seed, profile=p.name)


#: system -> its config builder; a system not listed is image-only (:func:`image_only_config`)
SYSTEM_BUILDERS: dict[str, Callable[..., RunConfig]] = {"lgnet": lgnet_run_config, "saist": saist_run_config,
                                                        "grounding_sam": grounding_sam_run_config}


def run_config(profile: "str | Profile", variant: str, *, data_root: str | os.PathLike | None = None,
               clip_checkpoint: str | None = None, sam_checkpoint: str | None = None, epochs: int | None = None,
               seed: int | None = None, detector_checkpoint: str | None = None, **row: Any) -> RunConfig:
    """The run config of one table row: ``variant`` (a registered learned variant) under
    ``profile``'s protocol of its system, with the row's options (see the module docstring)."""
    p = get_profile(profile)
    v = get_variant(variant)
    if v.kind != "learned":
        raise ValueError(f"{variant} is a classical method: it is scored, not trained")
    system = system_folder(v)
    inputs = _Inputs(data_root, None if clip_checkpoint is None else str(clip_checkpoint),
                     None if sam_checkpoint is None else str(sam_checkpoint), epochs, p.seed if seed is None else int(seed),
                     None if detector_checkpoint is None else str(detector_checkpoint))
    return SYSTEM_BUILDERS.get(system, image_only_config)(p, v, p.protocol(system), inputs, **row)


@dataclass(frozen=True)
class RunContext:
    """What a table needs besides its spec: where and how its rows run. Built once from a
    notebook's parameters (:meth:`of`); ``seed``/``seeds`` choose the rows' seeds
    (:meth:`row_seeds`)."""

    profile: Profile
    data_root: str | os.PathLike | None = None
    device: str = "cpu"
    progress: bool = True
    results_dir: str | os.PathLike | None = None
    clip_checkpoint: str | None = None
    sam_checkpoint: str | None = None
    epochs: int | None = None
    seed: int | None = None
    seeds: Sequence[int] | None = None
    #: GroundingDINO's local weights file (the comparison's GroundingDINO + SAM row at the paper profile)
    detector_checkpoint: str | None = None

    @classmethod
    def of(cls, profile: "str | Profile" = "smoke", **parameters: Any) -> "RunContext":
        """The context of a notebook's parameters (unknown names are refused, by name)."""
        return cls(profile=get_profile(profile), **parameters)

    def config(self, variant: str, seed: int | None = None, **row: Any) -> RunConfig:
        """:func:`run_config` of a row in this context (at ``seed``; None: the profile's)."""
        return run_config(self.profile, variant, data_root=self.data_root, clip_checkpoint=self.clip_checkpoint,
                          sam_checkpoint=self.sam_checkpoint, epochs=self.epochs, seed=seed,
                          detector_checkpoint=self.detector_checkpoint, **row)

    def row_seeds(self) -> tuple[int, ...]:
        """The seeds one table row is trained at: ``seeds`` when given, else ``seed`` alone when
        given (a notebook's ``seed`` parameter), else the profile's ``row_seeds``."""
        if self.seeds is not None:
            seeds = self.seeds
            chosen = tuple(int(s) for s in ([seeds] if isinstance(seeds, (int, np.integer)) else seeds))
            if not chosen:
                raise ValueError("seeds: give at least one seed (or None for the profile's)")
            if len(set(chosen)) != len(chosen):
                raise ValueError(f"seeds: each seed once, got {chosen}")
            return chosen
        if self.seed is not None:
            return (int(self.seed),)
        return tuple(self.profile.row_seeds)
