"""Per-dataset image statistics that toolboxes normalise inputs with.

BasicIRSTD (``get_img_norm_cfg``) normalises every image by its dataset's mean and standard
deviation, on the 0-255 scale; ACM and DNA-Net are reported under that normalisation. Values here
are on the package's [0, 1] scale (divided by 255). A model's :class:`~irstd_lib.models.base.InputSpec`
takes one of them; ``BASICIRSTD_STATISTICS["NUAA-SIRST"]`` is the default of the CNN baselines.
"""

from __future__ import annotations

__all__ = ["BASICIRSTD_STATISTICS"]

# dataset -> (mean, std) on the [0, 1] scale; BasicIRSTD's values on 0-255 divided by 255.
BASICIRSTD_STATISTICS: dict[str, tuple[float, float]] = {
    name: (mean / 255.0, std / 255.0)
    for name, (mean, std) in {
        "NUAA-SIRST": (101.06385040283203, 34.619606018066406),
        "NUDT-SIRST": (107.80905151367188, 33.02274703979492),
        "IRSTD-1k": (87.4661865234375, 39.71953201293945),
        "NUDT-SIRST-Sea": (43.62403869628906, 18.91838264465332),
        "SIRST4": (62.10432052612305, 23.96998405456543),
        "IRDST-real": (101.54053497314453, 56.49856185913086),
    }.items()
}
