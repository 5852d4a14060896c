"""DGSPNet's ablation, measured here (no paper table is available: DGSPNet is known from its
abstract): both prompt granularities, each alone, without TGCA, without TGSA; every row trained
with the comparison protocol (:func:`irstd_lib.reproductions.comparison.method_config`)."""

from __future__ import annotations

import pandas as pd

from irstd_lib.reproductions.comparison import ablation_table, planned_ablation_runs

ABLATION = (
    ("dgspnet", "coarse + fine prompts, TGCA + TGSA (full)"),
    ("dgspnet_coarse_only", "coarse prompts only"),
    ("dgspnet_fine_only", "fine-grained prompts only"),
    ("dgspnet_wo_tgca", "without TGCA"),
    ("dgspnet_wo_tgsa", "without TGSA"),
)


def ablation(profile: str = "smoke", data_root=None, device: str = "cpu", progress: bool = True, results_dir=None,
             **config_kwargs) -> pd.DataFrame:
    return ablation_table(ABLATION, "dgspnet", profile, data_root, device, progress, results_dir, **config_kwargs)


def planned_runs(profile: str = "smoke", data_root=None, clip_checkpoint=None, sam_checkpoint=None) -> list:
    """The runs of ``dgspnet_ablation`` under ``profile`` (see
    :func:`~irstd_lib.reproductions.comparison.planned_ablation_runs`)."""
    return planned_ablation_runs("dgspnet_ablation", ABLATION, "dgspnet", profile, data_root, clip_checkpoint, sam_checkpoint)
