"""Classical (model-driven, training-free) baselines, registered beside the learned models.

- ``threshold.py``: the adaptive threshold (mean + k std) both methods binarise with;
- ``tophat.py``: the white Top-Hat filter (disk of radius 5);
- ``robust_pca.py``: robust PCA by inexact ALM, the decomposition IPI solves;
- ``ipi.py``: the infrared patch-image model (Gao et al., TIP 2013).

Both are :class:`~irstd_lib.models.base.ClassicalMethod`\\ s: ``build_model("tophat")`` returns one,
and :func:`irstd_lib.engine.evaluate.evaluate` scores it exactly as it scores a trained network.
"""

from __future__ import annotations

from irstd_lib.models.registry import ModelVariant

VARIANTS = (
    ModelVariant("tophat", "irstd_lib.models.classical.tophat:TopHat", {"radius": 5, "shape": "disk"}, kind="classical",
                 system="Top-Hat", paper="white top-hat filter (morphological baseline of every IRSTD comparison)",
                 description="image minus its opening with a disk of radius 5; threshold mean + 3 std"),
    ModelVariant("ipi", "irstd_lib.models.classical.ipi:IPI", {"patch_size": 50, "stride": 10}, kind="classical",
                 system="IPI", tiny={"patch_size": 16, "stride": 8}, paper="Gao et al., Infrared Patch-Image Model for Small Target Detection in a Single Image (TIP 2013)",
                 description="low-rank + sparse patch-image decomposition (inexact ALM); threshold mean + 3 std"),
)
