"""The feature-space maths of hfgan.metrics against independent numpy/scipy computations and known properties."""

import math

import numpy as np
import pytest
import torch
from scipy import linalg
from scipy.spatial.distance import cdist

from hfgan.metrics import (
    feature_statistics,
    frechet_distance,
    frechet_distance_from_statistics,
    kernel_distance,
    memorization,
    nearest_neighbor_distances,
    precision_recall,
)


def gaussian(n, d, seed, shift=0.0, scale=1.0):
    g = torch.Generator().manual_seed(seed)
    mixing = torch.randn(d, d, generator=torch.Generator().manual_seed(1234)) / math.sqrt(d)  # shared covariance
    return (torch.randn(n, d, generator=g) @ mixing) * scale + shift


# ------------------------------------------------------------------------------------------------------- reference


def fid_reference(a: np.ndarray, b: np.ndarray) -> float:
    """The TTUR / pytorch-fid formula: scipy's general matrix square root of sigma1 @ sigma2."""
    mu1, mu2 = a.mean(0), b.mean(0)
    s1, s2 = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    covmean = linalg.sqrtm(s1 @ s2)
    covmean = covmean.real if np.iscomplexobj(covmean) else covmean
    return float(((mu1 - mu2) ** 2).sum() + np.trace(s1) + np.trace(s2) - 2 * np.trace(covmean))


def mmd2_reference(x: np.ndarray, y: np.ndarray) -> float:
    """Unbiased MMD² with the KID kernel, by explicit double sums over i != j."""
    d = x.shape[1]
    k = lambda a, b: (a @ b.T / d + 1) ** 3  # noqa: E731
    m = len(x)
    kxx, kyy, kxy = k(x, x), k(y, y), k(x, y)
    off = ~np.eye(m, dtype=bool)
    return float(kxx[off].sum() / (m * (m - 1)) + kyy[off].sum() / (m * (m - 1)) - 2 * kxy.mean())


def pr_reference(real: np.ndarray, fake: np.ndarray, k: int) -> tuple[float, float]:
    """Improved precision/recall by brute force with scipy distances."""
    rr, ff, fr = cdist(real, real), cdist(fake, fake), cdist(fake, real)
    r_radius = np.sort(rr, axis=1)[:, k]  # column 0 is the point itself
    f_radius = np.sort(ff, axis=1)[:, k]
    precision = (fr <= r_radius[None, :]).any(axis=1).mean()
    recall = (fr.T <= f_radius[None, :]).any(axis=1).mean()
    return float(precision), float(recall)


# ------------------------------------------------------------------------------------------------------------ FD


def test_fd_matches_scipy_reference():
    a, b = gaussian(300, 32, 0), gaussian(250, 32, 1, shift=0.3, scale=1.2)
    ours = frechet_distance(a, b)
    assert ours == pytest.approx(fid_reference(a.double().numpy(), b.double().numpy()), abs=1e-4)


def test_fd_of_a_set_with_itself_is_zero_and_symmetric():
    a, b = gaussian(200, 16, 0), gaussian(200, 16, 1, shift=0.5)
    assert frechet_distance(a, a) == pytest.approx(0.0, abs=1e-8)
    assert frechet_distance(a, b) == pytest.approx(frechet_distance(b, a), rel=1e-9)


def test_fd_of_a_mean_shift_is_the_squared_shift():
    """Same covariance, mean moved by delta in every coordinate: FD = ||delta||² exactly."""
    a = gaussian(500, 8, 0)
    # the trace terms cancel to float64 rounding, which the matrix square root leaves at 1e-9 on some CPUs' BLAS
    assert frechet_distance(a, a + 0.25) == pytest.approx(8 * 0.25**2, rel=1e-7)


def test_fd_grows_with_the_shift_and_separates_same_from_different():
    same = frechet_distance(gaussian(400, 16, 0), gaussian(400, 16, 1))
    shifted = [frechet_distance(gaussian(400, 16, 0), gaussian(400, 16, 1, shift=s)) for s in (0.25, 0.5, 1.0)]
    assert same < 0.5 * shifted[0]
    assert shifted[0] < shifted[1] < shifted[2]


def test_fd_from_statistics_matches_fd_from_features():
    a, b = gaussian(100, 8, 0), gaussian(120, 8, 1, scale=2.0)
    mu1, s1 = feature_statistics(a)
    np.testing.assert_allclose(mu1.numpy(), a.double().mean(0).numpy(), atol=1e-12)
    np.testing.assert_allclose(s1.numpy(), np.cov(a.double().numpy(), rowvar=False), atol=1e-12)
    assert frechet_distance_from_statistics(mu1, s1, *feature_statistics(b)) == frechet_distance(a, b)


def test_fd_refuses_fewer_samples_than_dimensions():
    with pytest.raises(ValueError, match=r"at least as many samples as feature dimensions.*10 samples of dimension 32"):
        frechet_distance(gaussian(10, 32, 0), gaussian(100, 32, 1))
    with pytest.raises(ValueError, match="different feature spaces"):
        frechet_distance(gaussian(100, 8, 0), gaussian(100, 9, 1))
    with pytest.raises(ValueError, match="NaN"):
        frechet_distance(torch.full((20, 4), float("nan")), gaussian(20, 4, 1))


# ----------------------------------------------------------------------------------------------------------- KID


def test_kid_matches_explicit_double_sum_on_the_same_subsets():
    a, b = gaussian(60, 12, 0), gaussian(60, 12, 1, shift=0.2)
    # one subset of the full size: the subset is the whole set, so the reference sees the same samples
    mean, std = kernel_distance(a, b, subset_size=60, num_subsets=1)
    assert mean == pytest.approx(mmd2_reference(a.double().numpy(), b.double().numpy()), abs=1e-4)
    assert std == 0.0


def test_kid_subsets_are_seeded_and_average_the_subset_estimates():
    a, b = gaussian(100, 8, 0), gaussian(100, 8, 1, shift=0.3)
    first = kernel_distance(a, b, subset_size=50, num_subsets=10, seed=3)
    assert first == kernel_distance(a, b, subset_size=50, num_subsets=10, seed=3)
    assert first != kernel_distance(a, b, subset_size=50, num_subsets=10, seed=4)
    # the mean over subsets is the mean of each subset's own unbiased estimate
    rng = torch.Generator().manual_seed(3)
    estimates = []
    for _ in range(10):
        x = a[torch.randperm(100, generator=rng)[:50]]
        y = b[torch.randperm(100, generator=rng)[:50]]
        estimates.append(mmd2_reference(x.double().numpy(), y.double().numpy()))
    assert first[0] == pytest.approx(np.mean(estimates), abs=1e-4)
    assert first[1] == pytest.approx(np.std(estimates), abs=1e-4)


def test_kid_is_unbiased_on_small_sets():
    """Two samples of one distribution: the unbiased estimate averages to 0, the biased (V-statistic) one does not."""
    estimates, biased = [], []
    for seed in range(200):
        x, y = gaussian(12, 8, 2 * seed), gaussian(12, 8, 2 * seed + 1)
        estimates.append(kernel_distance(x, y, subset_size=12, num_subsets=1)[0])
        k = lambda a, b: (a.double() @ b.double().T / 8 + 1) ** 3  # noqa: E731
        biased.append(float(k(x, x).mean() + k(y, y).mean() - 2 * k(x, y).mean()))
    estimates, biased = np.array(estimates), np.array(biased)
    stderr = estimates.std() / np.sqrt(len(estimates))
    assert abs(estimates.mean()) < 3 * stderr
    assert biased.mean() > 10 * stderr  # what the bias would look like: clearly positive
    assert (estimates < 0).any()  # an unbiased estimate of 0 must sometimes be negative


def test_kid_grows_with_the_shift():
    same = kernel_distance(gaussian(200, 8, 0), gaussian(200, 8, 1), subset_size=100, num_subsets=20)[0]
    far = kernel_distance(gaussian(200, 8, 0), gaussian(200, 8, 1, shift=0.5), subset_size=100, num_subsets=20)[0]
    assert far > 0.05 and abs(same) < 0.1 * far


def test_kid_refuses_sets_smaller_than_the_subset():
    with pytest.raises(ValueError, match=r"subset_size=1000 samples per set: features_a has 50"):
        kernel_distance(gaussian(50, 4, 0), gaussian(2000, 4, 1))
    with pytest.raises(ValueError, match="subset_size"):
        kernel_distance(gaussian(50, 4, 0), gaussian(50, 4, 1), subset_size=1)


# ---------------------------------------------------------------------------------------------- precision/recall


def test_precision_recall_match_brute_force_reference():
    real, fake = gaussian(150, 6, 0), gaussian(120, 6, 1, shift=0.4, scale=0.7)
    for k in (1, 3, 5):
        ours = precision_recall(real, fake, k=k, batch_size=37)  # batching must not change the result
        ref = pr_reference(real.double().numpy(), fake.double().numpy(), k)
        assert ours == pytest.approx(ref, abs=1e-4)


def test_precision_recall_see_fidelity_and_coverage_apart():
    real = gaussian(300, 4, 0)
    assert precision_recall(real, real.clone()) == (1.0, 1.0)
    # samples collapsed near the center of the data: realistic (high precision) but covering little (low recall)
    collapsed = gaussian(300, 4, 1, scale=0.2)
    precision, recall = precision_recall(real, collapsed)
    assert precision > 0.9 and recall < 0.5
    # samples far away: neither
    assert precision_recall(real, gaussian(300, 4, 1, shift=10.0)) == (0.0, 0.0)


def test_precision_recall_need_more_than_k_samples():
    with pytest.raises(ValueError, match="more than 3 samples"):
        precision_recall(gaussian(3, 4, 0), gaussian(50, 4, 1), k=3)


# -------------------------------------------------------------------------------------------------- memorisation


def test_nearest_neighbors_match_scipy():
    q, keys = gaussian(70, 5, 0), gaussian(90, 5, 1)
    d, i = nearest_neighbor_distances(q, keys, batch_size=16)
    ref = cdist(q.double().numpy(), keys.double().numpy())
    np.testing.assert_allclose(d.numpy(), ref.min(1), atol=1e-6)
    np.testing.assert_array_equal(i.numpy(), ref.argmin(1))


def test_memorization_flags_copies_of_training_images():
    train, heldout = gaussian(200, 8, 0), gaussian(100, 8, 1)
    novel = gaussian(100, 8, 2)
    copies = torch.cat([train[:50] + 1e-3, gaussian(50, 8, 3)])  # half the samples are near-copies

    clean = memorization(novel, train, heldout).summary()
    copied = memorization(copies, train, heldout, num_pairs=5)
    summary = copied.summary()
    assert 0.7 < clean["ratio"] < 1.4 and clean["copy_fraction"] < 0.15
    assert summary["copy_fraction"] >= 0.5 and summary["nn_min"] < 0.01
    # the closest pairs are copies, each paired with the training image it copies
    assert set(copied.closest.tolist()) <= set(range(50))
    np.testing.assert_array_equal(copied.indices[copied.closest].numpy(), copied.closest.numpy())
    assert copied.distances[copied.closest].max() < 0.01


def test_memorization_without_heldout_reports_distances_only():
    result = memorization(gaussian(20, 4, 0), gaussian(30, 4, 1), num_pairs=50)
    assert set(result.summary()) == {"nn_median", "nn_p05", "nn_min"}
    assert len(result.closest) == 20  # no more pairs than samples


# ------------------------------------------------------------------------------------ agreement with torch-fidelity


def test_agrees_with_torch_fidelity_on_the_same_features():
    """torch-fidelity's own feature-level functions (what its and torchmetrics' FID report) give the same numbers."""
    tf_fid = pytest.importorskip("torch_fidelity.metric_fid")
    from torch_fidelity.metric_kid import kid_features_to_metric
    from torch_fidelity.metric_prc import prc_features_to_metric

    fake, real = gaussian(120, 16, 0, shift=0.2), gaussian(100, 16, 1)
    expected_fd = tf_fid.fid_statistics_to_metric(
        tf_fid.fid_features_to_statistics(fake.double()), tf_fid.fid_features_to_statistics(real.double()), False
    )["frechet_inception_distance"]
    assert frechet_distance(fake, real) == pytest.approx(expected_fd, abs=1e-4)
    # one subset holding every sample: the subset draw cannot differ
    kid = kid_features_to_metric(fake[:100].double(), real.double(), kid_subsets=1, kid_subset_size=100, verbose=False)
    assert kernel_distance(fake[:100], real, subset_size=100, num_subsets=1)[0] == pytest.approx(
        kid["kernel_inception_distance_mean"], abs=1e-4
    )
    prc = prc_features_to_metric(fake, real, prc_neighborhood=3, prc_batch_size=64, save_cpu_ram=False, verbose=False)
    assert precision_recall(real, fake, k=3) == pytest.approx((prc["precision"], prc["recall"]), abs=1e-4)
