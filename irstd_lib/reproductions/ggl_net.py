"""GGL-Net's ablation, measured here (the paper's own ablation table is not available to this
package): the full model, without the gradient branch, without GSM (gradient at the input only),
without TGFM (addition instead); every row trained
with the comparison protocol (:func:`irstd_lib.reproductions.configs.run_config`). The rows are
the spec ``ggl_net_ablation`` of :mod:`irstd_lib.reproductions.specs`."""

from __future__ import annotations

from functools import partial

from irstd_lib.reproductions.comparison import ablation_table
from irstd_lib.reproductions.specs import spec

SPEC = spec("ggl_net_ablation")
ABLATION = tuple((r.variant, r.label) for r in SPEC.rows)  # (registered variant, what the row measures)

#: ``ablation(profile="smoke", data_root=None, device="cpu", progress=True, results_dir=None, **notebook_parameters)``
ablation = partial(ablation_table, SPEC)
