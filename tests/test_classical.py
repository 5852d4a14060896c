"""Classical baselines (Top-Hat, IPI) on synthetic images with known answers."""

from __future__ import annotations

import numpy as np
import pytest

from irstd_lib.models import build_model, get_variant, list_variants
from irstd_lib.models.base import ClassicalMethod
from irstd_lib.models.classical.ipi import IPI, build_patch_image, reconstruct_from_patches
from irstd_lib.models.classical.robust_pca import robust_pca_ialm
from irstd_lib.models.classical.threshold import adaptive_threshold
from irstd_lib.models.classical.tophat import TopHat, disk_footprint


def gradient_with_blob(size: int = 64, blob_at: tuple[int, int] = (30, 40)) -> tuple[np.ndarray, np.ndarray]:
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    background = 0.2 + 0.4 * (xx / (size - 1)) + 0.1 * (yy / (size - 1))  # smooth, 0.2..0.7
    image = background.copy()
    mask = np.zeros((size, size), dtype=bool)
    r, c = blob_at
    mask[r - 1 : r + 2, c - 1 : c + 2] = True
    image[mask] += 0.25
    return image.astype(np.float32), mask


def low_rank_with_point(size: int = 64, point: tuple[int, int] = (20, 37)) -> tuple[np.ndarray, np.ndarray]:
    # A sum of two separable patterns: every patch of it is a combination of few vectors,
    # so the patch image is (numerically) low-rank.
    t = np.linspace(0.0, 1.0, size)
    background = 0.3 + 0.2 * np.outer(np.sin(2 * np.pi * t), np.cos(np.pi * t)) + 0.2 * np.outer(t, t)
    image = background.astype(np.float32)
    image[point] += 0.5
    mask = np.zeros_like(image, dtype=bool)
    mask[point] = True
    return image, mask


def test_disk_footprint_matches_hand_count():
    disk = disk_footprint(2)
    assert disk.shape == (5, 5)
    assert disk.sum() == 13  # 1 + 3 + 5 + 3 + 1
    assert disk[2].all() and not disk[0, 0]


def test_adaptive_threshold_is_mean_plus_k_std():
    scores = np.array([[0.0, 0.0], [0.0, 4.0]], dtype=np.float32)  # mean 1, std sqrt(3)
    assert adaptive_threshold(scores, k=2.0) == pytest.approx(1.0 + 2.0 * np.sqrt(3.0))
    assert adaptive_threshold(np.zeros((3, 3)), k=3.0, min_value=0.5) == 0.5


def test_tophat_peaks_on_blob_and_flattens_gradient():
    image, mask = gradient_with_blob()
    scores = TopHat(radius=5).score(image)
    assert scores.dtype == np.float32 and scores.shape == image.shape
    assert scores.min() >= 0.0
    peak = np.unravel_index(np.argmax(scores), scores.shape)
    assert mask[peak]
    # A linear gradient is its own opening: no response away from the blob in the interior. Within
    # one radius of the border, the reflected ramp makes a ridge that the opening cuts a little.
    away = np.zeros_like(mask)
    away[6:-6, 6:-6] = True
    away[24:37, 34:47] = False
    assert scores[away].max() < 1e-5
    assert scores[~mask].max() < 0.2 * scores[mask].min()
    assert scores[mask].min() == pytest.approx(0.25, abs=0.01)  # minus the ramp across the blob


def test_tophat_segment_finds_exactly_the_blob():
    image, mask = gradient_with_blob()
    detector = TopHat()
    np.testing.assert_array_equal(detector.segment(image), mask)
    np.testing.assert_array_equal(detector.segment_scores(detector.scores(image)), mask)


def test_tophat_square_and_bad_arguments():
    image, mask = gradient_with_blob()
    assert mask[np.unravel_index(np.argmax(TopHat(radius=2, shape="square").score(image)), image.shape)]
    with pytest.raises(ValueError, match="shape"):
        TopHat(shape="hexagon")
    with pytest.raises(ValueError, match="radius"):
        TopHat(radius=0)


def test_flat_image_detects_nothing():
    flat = np.full((32, 32), 0.4, dtype=np.float32)
    assert not TopHat().segment(flat).any()
    assert not IPI(patch_size=8, stride=4).segment(flat).any()


@pytest.mark.parametrize("detector", [TopHat(), IPI(patch_size=8, stride=4)])
@pytest.mark.parametrize("bad_shape", [(8,), (2, 8, 8), (1, 1, 8, 8)])
def test_non_2d_input_is_rejected(detector, bad_shape):
    with pytest.raises(ValueError, match="2-D"):
        detector.score(np.zeros(bad_shape, dtype=np.float32))
    with pytest.raises(ValueError, match="2-D"):
        detector.segment_scores(np.zeros(bad_shape, dtype=np.float32))


def test_patch_image_round_trip_median_and_mean():
    rng = np.random.default_rng(0)
    image = rng.random((23, 31)).astype(np.float32)
    matrix, rows, cols = build_patch_image(image, 8, 5)
    # (23-8)=15 -> starts 0,5,10,15; (31-8)=23 -> 0,5,10,15,20 plus the flush start 23.
    assert list(rows) == [0, 5, 10, 15] and list(cols) == [0, 5, 10, 15, 20, 23]
    assert matrix.shape == (64, 4 * 6)
    np.testing.assert_array_equal(matrix[:, 0], image[:8, :8].ravel())
    for how in ("median", "mean"):
        back = reconstruct_from_patches(matrix, image.shape, 8, rows, cols, how)
        np.testing.assert_allclose(back, image, atol=1e-6)


def test_median_reconstruction_rejects_a_single_outlying_patch():
    image = np.zeros((20, 20), dtype=np.float32)
    matrix, rows, cols = build_patch_image(image, 8, 4)
    matrix[:, 5] = 1.0  # one patch says "1" where its neighbours say "0"
    median = reconstruct_from_patches(matrix, image.shape, 8, rows, cols, "median")
    mean = reconstruct_from_patches(matrix, image.shape, 8, rows, cols, "mean")
    r, c = rows[5 // len(cols)], cols[5 % len(cols)]
    centre = (r + 4, c + 4)  # covered by 4 patches, only one of them the outlier
    assert median[centre] == 0.0
    assert mean[centre] == pytest.approx(0.25)


def test_rpca_recovers_low_rank_plus_sparse():
    rng = np.random.default_rng(1)
    low = rng.standard_normal((60, 3)) @ rng.standard_normal((3, 50))
    sparse = np.zeros((60, 50))
    idx = rng.choice(60 * 50, size=60, replace=False)
    sparse.flat[idx] = rng.choice([-5.0, 5.0], size=60)
    a, e, info = robust_pca_ialm(low + sparse)
    assert info["converged"]
    assert info["rank"] == 3
    assert np.abs(a - low).max() < 1e-3
    assert np.abs(e - sparse).max() < 1e-3


def test_ipi_separates_point_from_low_rank_background():
    image, mask = low_rank_with_point()
    detector = IPI(patch_size=16, stride=4)
    background, target = detector.decompose(image)
    scores = detector.score(image)
    assert scores.dtype == np.float32 and scores.shape == image.shape
    assert np.unravel_index(np.argmax(scores), scores.shape) == (20, 37)
    assert scores[20, 37] > 0.3  # most of the 0.5 added
    assert scores[20, 37] > 100 * max(np.median(scores), 1e-4)
    assert np.abs(scores[~mask]).max() < 0.05 * scores[20, 37]
    # The background image is the input minus the target.
    assert np.abs(background + target - image).max() < 1e-4
    assert detector.segment_scores(scores)[20, 37]
    assert detector.last_info["converged"]


def test_ipi_default_lambda_is_inverse_sqrt_of_largest_dimension():
    # With lambda = 1/sqrt(max(m, n)) set explicitly the result must be identical to the default.
    image, _ = low_rank_with_point(size=32, point=(10, 12))
    matrix, _, _ = build_patch_image(image, 8, 4)
    lam = 1.0 / np.sqrt(max(matrix.shape))
    np.testing.assert_array_equal(IPI(patch_size=8, stride=4).score(image), IPI(patch_size=8, stride=4, lambda_=lam).score(image))


def test_ipi_is_deterministic_and_handles_small_images():
    image, _ = low_rank_with_point(size=32, point=(10, 12))
    first = IPI(patch_size=8, stride=4).score(image)
    second = IPI(patch_size=8, stride=4).score(image)
    np.testing.assert_array_equal(first, second)
    # A patch larger than the image shrinks to the image.
    tiny = IPI(patch_size=50, stride=10)
    assert tiny.score(image[:20, :24]).shape == (20, 24)
    assert tiny.last_info["patch_size"] == 20


def test_classical_methods_are_registry_entries():
    assert set(list_variants(kind="classical")) == {"tophat", "ipi"}
    detector = build_model("ipi", patch_size=30, stride=5)
    assert isinstance(detector, IPI) and detector.patch_size == 30
    tophat = build_model("tophat")
    assert isinstance(tophat, TopHat) and isinstance(tophat, ClassicalMethod) and tophat.radius == 5
    assert get_variant("tophat").kind == "classical" and get_variant("tophat").recipe is None
    with pytest.raises(KeyError, match="unknown model 'hough'"):
        build_model("hough")
    with pytest.raises(ValueError, match="no weights"):
        build_model("tophat", checkpoint="weights.pt")


def test_evaluate_classical_on_tiny_synthetic(tiny_synthetic_root, tmp_path):
    from irstd_lib.data import IRSTDDataset
    from irstd_lib.scoring import evaluate_classical

    dataset = IRSTDDataset(tiny_synthetic_root, split="test")
    result = evaluate_classical("tophat", dataset, save_pred=tmp_path / "pred", progress=False)
    assert result["method"] == "tophat"
    assert result["n_images"] == len(dataset)
    assert 0.0 <= result["IoU"] <= 100.0  # percent
    assert len(list((tmp_path / "pred").glob("*.png"))) == len(dataset)
    assert len(list((tmp_path / "pred" / "scores").glob("*.npy"))) == len(dataset)
