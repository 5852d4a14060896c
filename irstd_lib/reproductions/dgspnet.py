"""DGSPNet's ablation, measured here (no paper table is available: DGSPNet is known from its
abstract): both prompt granularities, each alone, without TGCA, without TGSA; every row trained
with the comparison protocol (:func:`irstd_lib.reproductions.configs.run_config`). The rows are
the spec ``dgspnet_ablation`` of :mod:`irstd_lib.reproductions.specs`."""

from __future__ import annotations

import pandas as pd

from irstd_lib.reproductions.comparison import ablation_table
from irstd_lib.reproductions.specs import spec

SPEC = spec("dgspnet_ablation")
#: (registered variant, what the row measures)
ABLATION = tuple((r.variant, r.label) for r in SPEC.rows)


def ablation(profile: str = "smoke", data_root=None, device: str = "cpu", progress: bool = True, results_dir=None,
             **config_kwargs) -> pd.DataFrame:
    return ablation_table(SPEC, profile, data_root, device, progress, results_dir, **config_kwargs)
