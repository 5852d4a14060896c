"""IPI: the infrared patch-image model.

Gao, Meng, Yang, Wang, Zhou, Hauptmann, "Infrared Patch-Image Model for Small Target Detection in
a Single Image", IEEE TIP 2013:

1. Patch image: slide a ``patch_size`` x ``patch_size`` window with step ``stride`` (paper: 50 and
   10) over the image and stack each vectorised patch as a column: ``D`` is ``p^2 x n``. Where
   ``(H - p)`` is not a multiple of ``stride`` we add a last window flush with the bottom/right
   border so every pixel is covered (the paper does not say; this is the usual implementation).
   An image smaller than the patch uses ``p = min(patch_size, H, W)``.
2. Decompose ``D = B + T`` (low-rank background + sparse target) by robust PCA,
   ``min ||B||_* + lambda ||T||_1``, with ``lambda = L / sqrt(max(m, n))`` and ``L = 1`` (paper).
   The paper solves it with APG; we use the inexact augmented Lagrange multiplier method of
   Lin, Chen & Ma (2010) (same problem, same minimiser, faster), with their defaults:
   ``mu_0 = 1.25 / ||D||_2``, ``rho = 1.5``, stop when ``||D - B - T||_F / ||D||_F < tol`` (1e-7)
   or after ``max_iter`` iterations (100; it typically converges in 25-40).
   Singular value thresholding uses their rank-prediction trick: only the leading ``sv``
   singular triplets are computed (a seeded randomized SVD, Halko et al. 2011, with two power
   iterations) and ``sv`` grows when all of them survive the threshold; a full SVD is used when
   the predicted rank exceeds ``full_svd_fraction`` of ``min(m, n)``. Deterministic for a fixed
   ``seed``.
3. Target image: every pixel takes the **median** (as in the paper) of the values that the
   overlapping target patches give it (``reconstruction="mean"`` is also available).
4. Scores = target image clipped to ``>= 0`` (targets are brighter than their background).
5. Detection: ``segmentation`` (default ``"adaptive"``, mean + k std; the toolbox's and DNA-Net's
   rules are in :mod:`irstd_lib.models.classical.threshold`).
"""

from __future__ import annotations

import math

import numpy as np

from irstd_lib.models.classical.robust_pca import robust_pca_ialm
from irstd_lib.models.classical.threshold import AdaptiveThreshold, as_image, check_segmentation

__all__ = ["IPI", "build_patch_image", "reconstruct_from_patches"]


def _window_starts(length: int, patch: int, stride: int) -> np.ndarray:
    starts = list(range(0, length - patch + 1, stride))
    if starts[-1] != length - patch:
        starts.append(length - patch)
    return np.asarray(starts, dtype=np.int64)


def build_patch_image(image: np.ndarray, patch_size: int, stride: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Patch image ``D`` (``p^2 x n``, one vectorised patch per column) and the window origins."""
    rows = _window_starts(image.shape[0], patch_size, stride)
    cols = _window_starts(image.shape[1], patch_size, stride)
    windows = np.lib.stride_tricks.sliding_window_view(image, (patch_size, patch_size))
    patches = windows[rows][:, cols]  # (nr, nc, p, p)
    matrix = patches.reshape(len(rows) * len(cols), patch_size * patch_size).T
    return np.ascontiguousarray(matrix, dtype=np.float64), rows, cols


def reconstruct_from_patches(
    matrix: np.ndarray, shape: tuple[int, int], patch_size: int, rows: np.ndarray, cols: np.ndarray, how: str = "median"
) -> np.ndarray:
    """Inverse of :func:`build_patch_image`: median (or mean) of the overlapping patch values."""
    p = patch_size
    patches = matrix.T.reshape(len(rows), len(cols), p, p)
    height, width = shape
    if how == "mean":
        total = np.zeros(shape, dtype=np.float64)
        count = np.zeros(shape, dtype=np.float64)
        for i, r in enumerate(rows):
            for j, c in enumerate(cols):
                total[r : r + p, c : c + p] += patches[i, j]
                count[r : r + p, c : c + p] += 1
        return total / count
    if how != "median":
        raise ValueError(f"reconstruction must be 'median' or 'mean', got {how!r}")
    # Windows whose index differs by a multiple of q never overlap when q - 1 >= p / stride
    # (including the extra border-flush window), so they can share one layer of a stack.
    def layers(starts: np.ndarray) -> int:
        if len(starts) == 1:
            return 1
        min_step = int(np.diff(starts[:-1]).min()) if len(starts) > 2 else int(starts[1] - starts[0])
        return min(len(starts), math.ceil(p / max(min_step, 1)) + 1)

    qr, qc = layers(rows), layers(cols)
    stack = np.full((qr * qc, height, width), np.nan, dtype=np.float64)
    for i, r in enumerate(rows):
        for j, c in enumerate(cols):
            layer = (i % qr) * qc + (j % qc)
            stack[layer, r : r + p, c : c + p] = patches[i, j]
    return np.nanmedian(stack, axis=0)


class IPI(AdaptiveThreshold):
    """Infrared patch-image model (Gao et al. 2013); see the module docstring for every choice."""

    def __init__(
        self,
        patch_size: int = 50,
        stride: int = 10,
        lambda_: float | None = None,
        max_iter: int = 100,
        tol: float = 1e-7,
        reconstruction: str = "median",
        k: float = 3.0,
        min_value: float = 0.0,
        full_svd_fraction: float = 0.3,
        seed: int = 0,
        segmentation: str = "adaptive",
    ) -> None:
        if int(patch_size) < 2:
            raise ValueError(f"patch_size must be >= 2, got {patch_size}")
        if int(stride) < 1:
            raise ValueError(f"stride must be >= 1, got {stride}")
        if reconstruction not in ("median", "mean"):
            raise ValueError(f"reconstruction must be 'median' or 'mean', got {reconstruction!r}")
        self.patch_size = int(patch_size)
        self.stride = int(stride)
        self.lambda_ = lambda_
        self.max_iter = int(max_iter)
        self.tol = float(tol)
        self.reconstruction = reconstruction
        self.k = float(k)
        self.min_value = float(min_value)
        self.full_svd_fraction = float(full_svd_fraction)
        self.seed = int(seed)
        self.segmentation = check_segmentation(segmentation)
        self.last_info: dict = {}

    def decompose(self, image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(background, target)`` images (float32 HxW), before clipping."""
        image = as_image(image)
        p = min(self.patch_size, *image.shape)
        matrix, rows, cols = build_patch_image(image, p, self.stride)
        low_rank, sparse, info = robust_pca_ialm(
            matrix, self.lambda_, self.max_iter, self.tol, full_svd_fraction=self.full_svd_fraction, seed=self.seed
        )
        info.update(patch_size=p, patch_matrix_shape=matrix.shape)
        self.last_info = info
        background = reconstruct_from_patches(low_rank, image.shape, p, rows, cols, self.reconstruction)
        target = reconstruct_from_patches(sparse, image.shape, p, rows, cols, self.reconstruction)
        return background.astype(np.float32), target.astype(np.float32)

    def score(self, image: np.ndarray) -> np.ndarray:
        _, target = self.decompose(image)
        return np.maximum(target, 0.0).astype(np.float32)

    def __repr__(self) -> str:
        return (
            f"IPI(patch_size={self.patch_size}, stride={self.stride}, lambda_={self.lambda_}, "
            f"max_iter={self.max_iter}, tol={self.tol}, reconstruction={self.reconstruction!r}, k={self.k}"
            + ("" if self.segmentation == "adaptive" else f", segmentation={self.segmentation!r}") + ")"
        )
