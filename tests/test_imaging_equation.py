from __future__ import annotations

import math

import numpy as np
import pytest

from irstd_lib.imaging_equation import compose, recover_radiance, transmission


def test_transmission_hand_values_and_range():
    assert transmission(0.0, 0.7) == pytest.approx(1.0)
    assert transmission(2.0, 0.5) == pytest.approx(math.exp(-1.0))
    d = np.linspace(0, 50, 101, dtype=np.float32)
    t = transmission(d, 0.3)
    assert t.dtype == np.float32 and t.shape == d.shape
    assert np.all(t > 0) and np.all(t <= 1) and t[0] == 1
    assert np.all(np.diff(t) < 0)  # farther is less transparent


def test_compose_hand_computed():
    # J = 0.2, d = 1, beta = ln 2 -> t = 0.5; I = 0.2 * 0.5 + 0.8 * 0.5 = 0.5
    assert compose(0.2, 1.0, math.log(2), 0.8) == pytest.approx(0.5)
    # t = 1 (no atmosphere) leaves the radiance as it is; t -> 0 gives the airlight
    j = np.array([[0.1, 0.9]], dtype=np.float32)
    assert np.allclose(compose(j, 0.0, 1.0, 0.5), j)
    assert np.allclose(compose(j, 1e4, 1.0, 0.5), 0.5)


def test_numpy_roundtrip_with_broadcasting():
    rng = np.random.default_rng(0)
    j = rng.random((2, 1, 8, 9)).astype(np.float32)
    d = rng.random((2, 1, 8, 9)).astype(np.float32) * 3
    beta = np.array([0.2, 0.9], dtype=np.float32).reshape(2, 1, 1, 1)
    a = np.array([0.3, 0.7], dtype=np.float32).reshape(2, 1, 1, 1)
    i = compose(j, d, beta, a)
    assert i.shape == j.shape and i.dtype == np.float32
    assert not np.allclose(i, j)
    back = recover_radiance(i, d, beta, a)
    assert np.allclose(back, j, atol=1e-5)


def test_min_transmission_clamps():
    # t = e^-5 < 0.1: the clamp divides by 0.1 instead of e^-5
    i, a = 0.6, 0.5
    assert recover_radiance(i, 5.0, 1.0, a, min_transmission=0.1) == pytest.approx((i - a) / 0.1 + a)
    with pytest.raises(ValueError):
        recover_radiance(i, 5.0, 1.0, a, min_transmission=0.0)


def test_torch_roundtrip_mixed_types_and_gradients():
    torch = pytest.importorskip("torch")
    g = torch.Generator().manual_seed(0)
    j = torch.rand(2, 1, 6, 7, generator=g, requires_grad=True)
    d = (torch.rand(2, 1, 6, 7, generator=g) * 2).requires_grad_(True)
    beta = torch.tensor(0.4, requires_grad=True)
    # airlight as a Python float: converted to a tensor of j's dtype and device
    i = compose(j, d, beta, 0.6)
    assert isinstance(i, torch.Tensor) and i.dtype == torch.float32 and i.shape == j.shape
    back = recover_radiance(i, d, beta, 0.6)
    assert torch.allclose(back, j, atol=1e-5)
    # gradients flow to every input; d I / d J = t
    i.sum().backward()
    assert j.grad is not None and d.grad is not None and beta.grad is not None
    assert torch.allclose(j.grad, transmission(d, beta).detach(), atol=1e-6)
    assert torch.isfinite(d.grad).all() and d.grad.abs().sum() > 0


def test_torch_transmission_in_unit_interval_and_numpy_agreement():
    torch = pytest.importorskip("torch")
    d = torch.linspace(0, 20, 41, dtype=torch.float64)
    t = transmission(d, np.float64(0.25))
    assert isinstance(t, torch.Tensor) and t.dtype == torch.float64
    assert bool((t > 0).all()) and bool((t <= 1).all())
    assert np.allclose(t.numpy(), transmission(d.numpy(), 0.25))
