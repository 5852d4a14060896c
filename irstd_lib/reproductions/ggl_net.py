"""GGL-Net's ablation, measured here (the paper's own ablation table is not available to this
package): the full model, without the gradient branch, without GSM (gradient at the input only),
without TGFM (addition instead); every row trained with the comparison protocol
(:func:`irstd_lib.reproductions.comparison.method_config`)."""

from __future__ import annotations

import pandas as pd

from irstd_lib.reproductions.comparison import ablation_table, planned_ablation_runs

ABLATION = (
    ("ggl_net", "gradient branch + GSM, TGFM (full)"),
    ("ggl_net_wo_gradient", "without the gradient branch"),
    ("ggl_net_wo_gsm", "without GSM (gradient at the input only)"),
    ("ggl_net_wo_tgfm", "without TGFM (addition)"),
)


def ablation(profile: str = "smoke", data_root=None, device: str = "cpu", progress: bool = True, results_dir=None,
             **config_kwargs) -> pd.DataFrame:
    return ablation_table(ABLATION, "ggl_net", profile, data_root, device, progress, results_dir, **config_kwargs)


def planned_runs(profile: str = "smoke", data_root=None, clip_checkpoint=None, sam_checkpoint=None) -> list:
    """The runs of ``ggl_net_ablation`` under ``profile`` (see
    :func:`~irstd_lib.reproductions.comparison.planned_ablation_runs`)."""
    return planned_ablation_runs("ggl_net_ablation", ABLATION, "ggl_net", profile, data_root, clip_checkpoint, sam_checkpoint)
