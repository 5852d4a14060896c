"""Robust PCA by the inexact augmented Lagrange multiplier method (Lin, Chen & Ma, 2010), with
their rank-prediction trick for partial SVDs: the decomposition IPI solves."""

from __future__ import annotations

import math

import numpy as np

__all__ = ["robust_pca_ialm"]


def _randomized_svd(matrix: np.ndarray, rank: int, rng: np.random.Generator, oversample: int = 10, power_iters: int = 2):
    m, n = matrix.shape
    k = min(rank + oversample, min(m, n))
    q = matrix @ rng.standard_normal((n, k))
    q, _ = np.linalg.qr(q)
    for _ in range(power_iters):
        z, _ = np.linalg.qr(matrix.T @ q)
        q, _ = np.linalg.qr(matrix @ z)
    u_small, s, vt = np.linalg.svd(q.T @ matrix, full_matrices=False)
    return (q @ u_small)[:, :rank], s[:rank], vt[:rank]


def _gram_svd(matrix: np.ndarray, min_value: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Singular triplets with ``s > min_value`` through the eigendecomposition of the smaller Gram
    matrix (``X^T X`` or ``X X^T``): 3-5x faster than LAPACK's SVD for the tall patch images of IPI.
    It squares the condition number, so singular values below ~1e-8 of the largest lose accuracy;
    the inexact ALM never thresholds that low (its final ``1/mu`` is ~1e-7 ||D||_2 / 1.25).
    Returns ``(U_k, s_all, Vt_k)`` with all singular values (descending) but only the kept vectors."""
    m, n = matrix.shape
    tall = m >= n
    gram = matrix.T @ matrix if tall else matrix @ matrix.T
    eigenvalues, eigenvectors = np.linalg.eigh(gram)
    eigenvalues, eigenvectors = eigenvalues[::-1], eigenvectors[:, ::-1]
    s = np.sqrt(np.maximum(eigenvalues, 0.0))
    k = int((s > min_value).sum())
    if k == 0:
        return np.zeros((m, 0)), s, np.zeros((0, n))
    if tall:
        v = eigenvectors[:, :k]
        u = (matrix @ v) / s[:k]
        return u, s, v.T
    u = eigenvectors[:, :k]
    vt = (u.T @ matrix) / s[:k, None]
    return u, s, vt


def robust_pca_ialm(
    matrix: np.ndarray,
    lambda_: float | None = None,
    max_iter: int = 100,
    tol: float = 1e-7,
    rho: float = 1.5,
    full_svd_fraction: float = 0.3,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray, dict]:
    """Robust PCA ``D = A + E`` (low rank + sparse) by inexact ALM (Lin, Chen & Ma 2010).

    Returns ``(A, E, info)`` with ``info = {"iterations", "rank", "residual", "converged"}``.
    """
    d = np.asarray(matrix, dtype=np.float64)
    m, n = d.shape
    if lambda_ is None:
        lambda_ = 1.0 / math.sqrt(max(m, n))
    rng = np.random.default_rng(seed)
    norm_fro = float(np.linalg.norm(d))
    if norm_fro == 0.0:
        return np.zeros_like(d), np.zeros_like(d), {"iterations": 0, "rank": 0, "residual": 0.0, "converged": True}
    norm_two = float(np.linalg.norm(d, 2))
    norm_inf = float(np.abs(d).max()) / lambda_
    y = d / max(norm_two, norm_inf)
    a = np.zeros_like(d)
    e = np.zeros_like(d)
    mu = 1.25 / norm_two
    mu_bar = mu * 1e7
    min_dim = min(m, n)
    sv = min(10, min_dim)
    residual = math.inf
    iteration = 0
    svp = 0
    for iteration in range(1, max_iter + 1):
        t = d - a + y / mu
        e = np.maximum(t - lambda_ / mu, 0.0) + np.minimum(t + lambda_ / mu, 0.0)
        target = d - e + y / mu
        if sv > full_svd_fraction * min_dim:
            u, s, vt = _gram_svd(target, 1.0 / mu)
        else:
            u, s, vt = _randomized_svd(target, sv, rng)
        svp = int((s > 1.0 / mu).sum())
        # Rank prediction (Lin et al.'s code): grow the partial SVD while every value survives.
        sv = min(svp + 1, min_dim) if svp < sv else min(svp + max(1, round(0.05 * min_dim)), min_dim)
        a = (u[:, :svp] * (s[:svp] - 1.0 / mu)) @ vt[:svp]
        z = d - a - e
        y = y + mu * z
        mu = min(mu * rho, mu_bar)
        residual = float(np.linalg.norm(z)) / norm_fro
        if residual < tol:
            break
    info = {"iterations": iteration, "rank": svp, "residual": residual, "converged": residual < tol}
    return a, e, info
