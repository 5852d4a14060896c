"""The maximum mean discrepancy between SR-CLIP's text and visual prompts (the paper's eq. 8).

For two sets X (m vectors) and Y (n vectors) and a Gaussian kernel
``k(x, y) = exp(-||x - y||^2 / (2 sigma^2))``, the biased (V-statistic) estimate of MMD^2
(Gretton et al., "A Kernel Two-Sample Test", JMLR 2012)::

    MMD^2 = mean k(X, X) + mean k(Y, Y) - 2 mean k(X, Y)        (diagonals included)

It is never negative and exactly zero when the two sets are equal, which the unbiased estimate
is not. Bandwidth: the median heuristic, sigma = the median of the pairwise distances in the
pooled set X u Y, detached from the graph (the loss pulls the sets together, not the kernel
apart); a floor keeps it positive when every point coincides.

The loss of a batch is the mean over its images of the MMD^2 between that image's text-prompt
tokens and visual-prompt tokens.
"""

from __future__ import annotations

import torch

__all__ = ["gaussian_mmd", "median_bandwidth"]


def median_bandwidth(pooled: torch.Tensor, floor: float = 1e-6) -> torch.Tensor:
    """Median pairwise Euclidean distance of (B, N, D) points, per batch element: (B,)."""
    distances = torch.cdist(pooled, pooled)
    n = pooled.shape[1]
    off_diagonal = distances[:, ~torch.eye(n, dtype=torch.bool, device=pooled.device)]
    return off_diagonal.median(dim=-1).values.clamp_min(floor).detach()


def gaussian_mmd(x: torch.Tensor, y: torch.Tensor, sigma: torch.Tensor | float | None = None) -> torch.Tensor:
    """Mean over the batch of the biased MMD^2 between (B, M, D) and (B, N, D) sets."""
    if x.ndim != 3 or y.ndim != 3 or x.shape[0] != y.shape[0] or x.shape[2] != y.shape[2]:
        raise ValueError(f"sets must be (B, M, D) and (B, N, D), got {tuple(x.shape)} and {tuple(y.shape)}")
    x, y = x.float(), y.float()
    if sigma is None:
        sigma = median_bandwidth(torch.cat([x, y], dim=1))
    sigma = torch.as_tensor(sigma, dtype=x.dtype, device=x.device).reshape(-1, 1, 1)

    def kernel(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        return torch.exp(-torch.cdist(a, b).pow(2) / (2 * sigma**2)).mean(dim=(1, 2))

    return (kernel(x, x) + kernel(y, y) - 2 * kernel(x, y)).clamp_min(0.0).mean()
