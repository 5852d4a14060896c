"""The infrared imaging (atmospheric scattering) equation.

SAIST (Zhang et al., CVPR 2025) models an observed infrared image with the atmospheric
scattering model that dehazing work uses (Koschmieder's law), and the synthetic generator of
this package (:mod:`irstd_lib.data.synthetic`) composes its scenes with the same equation::

    I(x) = J(x) t(x) + A (1 - t(x)),        t(x) = exp(-beta d(x))

and its inverse, which recovers the scene radiance from an observation::

    J(x) = I(x) e^(beta d(x)) - A (e^(beta d(x)) - 1)      (= (I - A) / t + A)

Symbols:

- ``I``: the observed image (what the sensor records), same units as ``J`` and ``A``
  (in this package: normalised grey levels in [0, 1]).
- ``J``: the scene radiance, i.e. what the sensor would record with no atmosphere between it
  and the scene (targets and background as they are emitted).
- ``t``: the transmission (transmittance) of the atmosphere along the line of sight, in (0, 1]
  for ``d >= 0`` and ``beta >= 0``; ``t = 1`` is a perfectly clear path.
- ``beta``: the atmospheric attenuation (extinction) coefficient, per unit of depth; >= 0.
- ``d``: the depth, i.e. the distance from the sensor to the scene point, >= 0.
- ``A``: the atmospheric light ("airlight"): the radiance of the atmosphere itself, which the
  path adds in proportion to ``1 - t``.

All three functions work on ``numpy`` arrays (and Python scalars) and on ``torch`` tensors
alike, with ordinary broadcasting: the library is chosen by the types of the arguments. If any
argument is a ``torch.Tensor`` the computation is done in torch (other arguments are converted
to tensors of the first tensor's dtype and device), gradients flow through every argument that
requires them, and a tensor is returned. Otherwise numpy is used; numpy keeps ``float32`` inputs
in ``float32`` (Python floats do not promote them, NEP 50). Torch is never imported by this
module: it is only used when the caller already passes tensors.

Where the papers are silent: ``recover_radiance`` is the exact inverse by default. The optional
``min_transmission`` clamps ``t`` from below before dividing (as dark-channel dehazing does with
``t0 = 0.1``), which bounds the amplification ``e^(beta d)`` of noise for very distant points;
with it the result is no longer the exact inverse where ``t < min_transmission``.
"""

from __future__ import annotations

import sys
from typing import Any

import numpy as np

__all__ = ["transmission", "compose", "recover_radiance"]


def _torch_reference(*values: Any):
    """The first torch tensor among ``values`` (None when there is none)."""
    torch = sys.modules.get("torch")
    if torch is None:
        return None
    for value in values:
        if isinstance(value, torch.Tensor):
            return value
    return None


def _as_tensors(reference, *values: Any) -> list:
    """Convert the non-tensor ``values`` to tensors of ``reference``'s dtype and device.

    Integer reference tensors would truncate the exponential, so a floating dtype is used then.
    """
    torch = sys.modules["torch"]
    dtype = reference.dtype if reference.is_floating_point() else torch.get_default_dtype()
    out = []
    for value in values:
        if isinstance(value, torch.Tensor):
            out.append(value if value.is_floating_point() else value.to(dtype))
        else:
            out.append(torch.as_tensor(np.asarray(value), dtype=dtype, device=reference.device))
    return out


def _as_arrays(*values: Any) -> list:
    out = []
    for value in values:
        if isinstance(value, np.ndarray):
            out.append(value if np.issubdtype(value.dtype, np.floating) else value.astype(np.float64))
        elif np.isscalar(value) and not isinstance(value, (np.generic,)):
            out.append(value)  # Python scalars stay weak so that float32 arrays stay float32
        else:
            arr = np.asarray(value)
            out.append(arr if np.issubdtype(arr.dtype, np.floating) else arr.astype(np.float64))
    return out


def transmission(depth: Any, beta: Any) -> Any:
    """Atmospheric transmission ``t = exp(-beta d)``.

    ``depth`` (``d``) and ``beta`` broadcast against each other. For ``d >= 0`` and ``beta >= 0``
    the result lies in (0, 1] (it may underflow to 0 for astronomically large ``beta d``).
    """
    ref = _torch_reference(depth, beta)
    if ref is not None:
        torch = sys.modules["torch"]
        depth, beta = _as_tensors(ref, depth, beta)
        return torch.exp(-beta * depth)
    depth, beta = _as_arrays(depth, beta)
    return np.exp(-beta * depth)


def compose(radiance: Any, depth: Any, beta: Any, airlight: Any) -> Any:
    """Observed image ``I = J t + A (1 - t)`` with ``t = exp(-beta d)``.

    Args:
        radiance: scene radiance ``J``.
        depth: depth ``d`` (distance to the scene point), >= 0.
        beta: attenuation coefficient ``beta``, >= 0.
        airlight: atmospheric light ``A``.

    All arguments broadcast against each other (e.g. a ``(B, 1, H, W)`` radiance with a
    ``(B, 1, 1, 1)`` airlight and a scalar ``beta``).
    """
    ref = _torch_reference(radiance, depth, beta, airlight)
    if ref is not None:
        radiance, depth, beta, airlight = _as_tensors(ref, radiance, depth, beta, airlight)
    else:
        radiance, depth, beta, airlight = _as_arrays(radiance, depth, beta, airlight)
    t = transmission(depth, beta)
    return radiance * t + airlight * (1 - t)


def recover_radiance(
    image: Any, depth: Any, beta: Any, airlight: Any, min_transmission: float | None = None
) -> Any:
    """Scene radiance ``J = I e^(beta d) - A (e^(beta d) - 1)``, the inverse of :func:`compose`.

    Args:
        image: observed image ``I``.
        depth: depth ``d``, >= 0.
        beta: attenuation coefficient ``beta``, >= 0.
        airlight: atmospheric light ``A``.
        min_transmission: None (default) for the exact inverse; a value in (0, 1] clamps
            ``t = e^(-beta d)`` from below first (``J = (I - A) / max(t, t0) + A``), bounding the
            noise amplification for distant points.
    """
    if min_transmission is not None and not 0 < float(min_transmission) <= 1:
        raise ValueError(f"min_transmission must be in (0, 1], got {min_transmission}")
    ref = _torch_reference(image, depth, beta, airlight)
    if ref is not None:
        torch = sys.modules["torch"]
        image, depth, beta, airlight = _as_tensors(ref, image, depth, beta, airlight)
        if min_transmission is None:
            inv_t = torch.exp(beta * depth)
        else:
            inv_t = 1.0 / torch.clamp(torch.exp(-beta * depth), min=float(min_transmission))
    else:
        image, depth, beta, airlight = _as_arrays(image, depth, beta, airlight)
        if min_transmission is None:
            inv_t = np.exp(beta * depth)
        else:
            inv_t = 1.0 / np.maximum(np.exp(-beta * depth), min_transmission)
    return image * inv_t - airlight * (inv_t - 1)
