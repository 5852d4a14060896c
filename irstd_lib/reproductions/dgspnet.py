"""DGSPNet's ablation, measured here (no paper table is available: DGSPNet is known from its
abstract): both prompt granularities, each alone, without TGCA, without TGSA, and, from a
third-party reading of the full text (``paper_settings.md``, unverified; ``models/dgspnet/FIDELITY.md``),
the number of fine tokens (1, 2 and 8 against the full model's 4) and that reading of the whole
model (``dgspnet_full_text_reading``); every row trained with the comparison protocol
(:func:`irstd_lib.reproductions.configs.run_config`). The rows are the spec ``dgspnet_ablation``
of :mod:`irstd_lib.reproductions.specs`."""

from __future__ import annotations

from functools import partial

from irstd_lib.reproductions.comparison import ablation_table
from irstd_lib.reproductions.specs import spec

SPEC = spec("dgspnet_ablation")
ABLATION = tuple((r.variant, r.label) for r in SPEC.rows)  # (registered variant, what the row measures)

#: ``ablation(profile="smoke", data_root=None, device="cpu", progress=True, results_dir=None, **notebook_parameters)``
ablation = partial(ablation_table, SPEC)
