"""Distances between sets of image features: Fréchet distance, KID, improved precision/recall, memorisation.

Everything here takes feature tensors `(num_samples, feature_dim)`, so any backbone plugs in (see
`hfgan.metrics.backbones`). All arithmetic is done in float64 on the features' device. Too few samples for a metric
raises `ValueError` with the numbers involved: these functions never return NaN for a small set.

References:
    - Fréchet distance (FID): Heusel et al., "GANs Trained by a Two Time-Scale Update Rule Converge to a Local Nash
      Equilibrium", NeurIPS 2017.
    - KID: Bińkowski et al., "Demystifying MMD GANs", ICLR 2018 (unbiased MMD² with the cubic polynomial kernel
      `k(x, y) = (x·y / d + 1)³`, averaged over random subsets).
    - Precision/recall: Kynkäänniemi et al., "Improved Precision and Recall Metric for Assessing Generative Models",
      NeurIPS 2019 (k-NN balls around each sample approximate the real and generated manifolds).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

__all__ = [
    "MemorizationResult",
    "feature_statistics",
    "frechet_distance",
    "frechet_distance_from_statistics",
    "kernel_distance",
    "memorization",
    "nearest_neighbor_distances",
    "precision_recall",
]


def _check_features(features: torch.Tensor, name: str) -> torch.Tensor:
    """`features` as a float64 matrix, or a `ValueError` saying what is wrong with it."""
    if not isinstance(features, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor of shape (num_samples, feature_dim), got {type(features)}")
    if features.dim() != 2:
        raise ValueError(f"{name} must have shape (num_samples, feature_dim), got {tuple(features.shape)}")
    if features.shape[0] == 0 or features.shape[1] == 0:
        raise ValueError(f"{name} is empty: shape {tuple(features.shape)}")
    if not torch.isfinite(features).all():
        raise ValueError(f"{name} contains NaN or infinite values")
    return features.to(torch.float64)


def _check_pair(a: torch.Tensor, b: torch.Tensor, name_a: str, name_b: str) -> tuple[torch.Tensor, torch.Tensor]:
    a, b = _check_features(a, name_a), _check_features(b, name_b)
    if a.shape[1] != b.shape[1]:
        raise ValueError(
            f"{name_a} and {name_b} come from different feature spaces: {a.shape[1]} vs {b.shape[1]} dimensions"
        )
    return a, b.to(a.device)


def feature_statistics(features: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean `(d,)` and unbiased covariance `(d, d)` of `features` `(n, d)`, in float64 (needs n >= 2)."""
    features = _check_features(features, "features")
    if features.shape[0] < 2:
        raise ValueError("feature statistics need at least 2 samples to estimate a covariance")
    mu = features.mean(dim=0)
    centered = features - mu
    sigma = centered.T @ centered / (features.shape[0] - 1)
    return mu, sigma


def _sqrtm_psd(matrix: torch.Tensor) -> torch.Tensor:
    """Square root of a symmetric positive semi-definite matrix (negative round-off eigenvalues clamped to 0)."""
    eigenvalues, eigenvectors = torch.linalg.eigh((matrix + matrix.T) / 2)
    return (eigenvectors * eigenvalues.clamp(min=0).sqrt()) @ eigenvectors.T


def frechet_distance_from_statistics(
    mu1: torch.Tensor, sigma1: torch.Tensor, mu2: torch.Tensor, sigma2: torch.Tensor
) -> float:
    r"""Fréchet distance between the Gaussians N(mu1, sigma1) and N(mu2, sigma2).

    `||mu1 - mu2||² + Tr(sigma1) + Tr(sigma2) - 2 Tr((sigma1 sigma2)^½)`. The trace of the square root is computed as
    `Tr((√sigma1 sigma2 √sigma1)^½)`, the same eigenvalues but from a symmetric matrix, so no complex round-off
    appears and no epsilon is added to the diagonal.
    """
    device = mu1.device
    mu1, mu2 = mu1.to(device, torch.float64), mu2.to(device, torch.float64)
    sigma1, sigma2 = sigma1.to(device, torch.float64), sigma2.to(device, torch.float64)
    d = mu1.shape[0]
    if mu2.shape != (d,) or sigma1.shape != (d, d) or sigma2.shape != (d, d):
        raise ValueError(
            f"statistics do not match: mu1 {tuple(mu1.shape)}, sigma1 {tuple(sigma1.shape)}, "
            f"mu2 {tuple(mu2.shape)}, sigma2 {tuple(sigma2.shape)}"
        )
    sqrt_sigma1 = _sqrtm_psd(sigma1)
    middle = sqrt_sigma1 @ sigma2 @ sqrt_sigma1
    trace_sqrt = torch.linalg.eigvalsh((middle + middle.T) / 2).clamp(min=0).sqrt().sum()
    distance = (mu1 - mu2).square().sum() + sigma1.trace() + sigma2.trace() - 2 * trace_sqrt
    return max(float(distance), 0.0)  # exact 0 for a set against itself, instead of -1e-12 of round-off


def frechet_distance(features_a: torch.Tensor, features_b: torch.Tensor) -> float:
    """Fréchet distance between Gaussians fitted to two feature sets `(n_a, d)` and `(n_b, d)`.

    With Inception-V3 pool features and the standard preprocessing this is the FID. Both sets need at least `d`
    samples: with fewer the covariance is rank-deficient and the value is mostly noise, so it is refused.
    """
    features_a, features_b = _check_pair(features_a, features_b, "features_a", "features_b")
    d = features_a.shape[1]
    for name, features in (("features_a", features_a), ("features_b", features_b)):
        if features.shape[0] < max(d, 2):
            raise ValueError(
                f"Fréchet distance needs at least as many samples as feature dimensions: {name} has "
                f"{features.shape[0]} samples of dimension {d}. Use more samples (>= {max(d, 2)}) or a backbone "
                f"with fewer feature dimensions."
            )
    return frechet_distance_from_statistics(*feature_statistics(features_a), *feature_statistics(features_b))


def _polynomial_kernel(x: torch.Tensor, y: torch.Tensor, degree: int, gamma: float, coef0: float) -> torch.Tensor:
    return (x @ y.T * gamma + coef0) ** degree


def _unbiased_mmd2(k_xx: torch.Tensor, k_xy: torch.Tensor, k_yy: torch.Tensor) -> torch.Tensor:
    """Unbiased MMD² of two equal-size samples (Gretton et al. 2012, eq. 3): within-set sums skip the diagonal."""
    m = k_xx.shape[0]
    within = (k_xx.sum() - k_xx.diagonal().sum() + k_yy.sum() - k_yy.diagonal().sum()) / (m * (m - 1))
    return within - 2 * k_xy.sum() / (m * m)


def kernel_distance(
    features_a: torch.Tensor,
    features_b: torch.Tensor,
    subset_size: int = 1000,
    num_subsets: int = 100,
    degree: int = 3,
    gamma: float | None = None,
    coef0: float = 1.0,
    seed: int = 0,
) -> tuple[float, float]:
    r"""Kernel distance (KID with Inception features): unbiased MMD² with a polynomial kernel, over random subsets.

    Each of `num_subsets` rounds draws `subset_size` samples without replacement from each set and computes the
    unbiased MMD² estimate with `k(x, y) = (gamma x·y + coef0)^degree` (`gamma` defaults to `1 / feature_dim`). The
    estimate is unbiased, so it can be slightly negative for two samples of one distribution.

    Args:
        features_a, features_b: feature sets `(n_a, d)` and `(n_b, d)`; both need `n >= subset_size`.
        subset_size: samples per subset (1000 in the KID paper and torch-fidelity).
        num_subsets: number of subsets averaged (100 in torch-fidelity).
        degree, gamma, coef0: the polynomial kernel.
        seed: seed of the subset draws, so the value is reproducible.

    Returns:
        `(mean, std)` of the MMD² estimates over the subsets.
    """
    features_a, features_b = _check_pair(features_a, features_b, "features_a", "features_b")
    if isinstance(subset_size, bool) or not isinstance(subset_size, int) or subset_size < 2:
        raise ValueError(f"subset_size must be an int >= 2, got {subset_size!r}")
    if isinstance(num_subsets, bool) or not isinstance(num_subsets, int) or num_subsets < 1:
        raise ValueError(f"num_subsets must be a positive int, got {num_subsets!r}")
    for name, features in (("features_a", features_a), ("features_b", features_b)):
        if features.shape[0] < subset_size:
            raise ValueError(
                f"KID needs at least subset_size={subset_size} samples per set: {name} has {features.shape[0]}. "
                f"Use more samples or a smaller subset size."
            )
    gamma = 1.0 / features_a.shape[1] if gamma is None else gamma
    rng = torch.Generator().manual_seed(seed)
    values = torch.empty(num_subsets, dtype=torch.float64)
    for i in range(num_subsets):
        x = features_a[torch.randperm(features_a.shape[0], generator=rng)[:subset_size].to(features_a.device)]
        y = features_b[torch.randperm(features_b.shape[0], generator=rng)[:subset_size].to(features_b.device)]
        k_xx = _polynomial_kernel(x, x, degree, gamma, coef0)
        k_yy = _polynomial_kernel(y, y, degree, gamma, coef0)
        k_xy = _polynomial_kernel(x, y, degree, gamma, coef0)
        values[i] = _unbiased_mmd2(k_xx, k_xy, k_yy).cpu()
    return float(values.mean()), float(values.std(unbiased=False)) if num_subsets > 1 else 0.0


def _pairwise_distances(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Euclidean distances `(len(a), len(b))` in float64, by `||a||² + ||b||² - 2 a·b` (fast, exact enough)."""
    squared = a.square().sum(1, keepdim=True) + b.square().sum(1) - 2 * a @ b.T
    return squared.clamp(min=0).sqrt()


def nearest_neighbor_distances(
    queries: torch.Tensor, keys: torch.Tensor, batch_size: int = 1024
) -> tuple[torch.Tensor, torch.Tensor]:
    """For each query row, the Euclidean distance to its nearest key row and that key's index.

    Returns `(distances (n_queries,) float64, indices (n_queries,) int64)`; computed `batch_size` queries at a time.
    """
    queries, keys = _check_pair(queries, keys, "queries", "keys")
    distances, indices = [], []
    for chunk in queries.split(batch_size):
        d, i = _pairwise_distances(chunk, keys).min(dim=1)
        distances.append(d)
        indices.append(i)
    return torch.cat(distances), torch.cat(indices)


def _kth_neighbor_radii(features: torch.Tensor, k: int, batch_size: int) -> torch.Tensor:
    """Distance from each sample to its k-th nearest neighbour in the same set, itself excluded."""
    radii = []
    for chunk in features.split(batch_size):
        # the (k+1)-th smallest distance: the smallest is the sample itself (distance 0)
        radii.append(_pairwise_distances(chunk, features).kthvalue(k + 1, dim=1).values)
    return torch.cat(radii)


def _coverage(queries: torch.Tensor, centers: torch.Tensor, radii: torch.Tensor, batch_size: int) -> float:
    """Fraction of queries inside at least one ball (center, radius): the k-NN manifold estimate."""
    inside = []
    for chunk in queries.split(batch_size):
        inside.append((_pairwise_distances(chunk, centers) <= radii).any(dim=1))
    return float(torch.cat(inside).double().mean())


def precision_recall(
    real_features: torch.Tensor, fake_features: torch.Tensor, k: int = 3, batch_size: int = 1024
) -> tuple[float, float]:
    """Improved precision and recall (Kynkäänniemi et al. 2019).

    Each set's manifold is the union of balls around its samples, each ball's radius the distance to the sample's
    k-th nearest neighbour within its own set. Precision: fraction of generated samples inside the real manifold
    (fidelity). Recall: fraction of real samples inside the generated manifold (coverage of the data).

    Args:
        real_features, fake_features: `(n_real, d)` and `(n_fake, d)`; both need more than `k` samples.
        k: neighbourhood size (3 in the paper).
        batch_size: rows of the distance matrix held in memory at once.

    Returns:
        `(precision, recall)`, both in [0, 1].
    """
    real, fake = _check_pair(real_features, fake_features, "real_features", "fake_features")
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise ValueError(f"k must be a positive int, got {k!r}")
    for name, features in (("real_features", real), ("fake_features", fake)):
        if features.shape[0] <= k:
            raise ValueError(
                f"precision/recall with k={k} needs more than {k} samples per set: {name} has {features.shape[0]}"
            )
    precision = _coverage(fake, real, _kth_neighbor_radii(real, k, batch_size), batch_size)
    recall = _coverage(real, fake, _kth_neighbor_radii(fake, k, batch_size), batch_size)
    return precision, recall


@dataclass
class MemorizationResult:
    """
    Nearest-training-image distances of generated samples, and of held-out real images for scale.

    Args:
        distances (`torch.Tensor` of shape `(num_samples,)`):
            Feature-space distance from each generated sample to its nearest training image.
        indices (`torch.Tensor` of shape `(num_samples,)`):
            Index of that training image.
        heldout_distances (`torch.Tensor` of shape `(num_heldout,)`, *optional*):
            The same distance for real images the model never saw: what "novel but realistic" looks like.
        closest (`torch.Tensor` of shape `(num_pairs,)`):
            Indices of the generated samples closest to a training image, closest first.
    """

    distances: torch.Tensor
    indices: torch.Tensor
    heldout_distances: torch.Tensor | None
    closest: torch.Tensor

    def summary(self, copy_quantile: float = 0.05) -> dict[str, float]:
        """Scalar summary: quantiles of the sample distances and, with held-out images, two comparisons.

        - `nn_median`, `nn_p05`, `nn_min`: quantiles of each sample's nearest-training-image distance.
        - `ratio`: median sample distance / median held-out distance. Near 1 or above: samples are as far from
          the training set as unseen real images are. Well below 1: samples sit on top of training images.
        - `copy_fraction`: fraction of samples closer to a training image than the `copy_quantile` (5%) quantile of
          held-out images. About `copy_quantile` or less is expected of a model that does not copy; much more means
          near-copies.
        """
        d = self.distances.double()
        out = {
            "nn_median": float(d.median()),
            "nn_p05": float(torch.quantile(d, 0.05)),
            "nn_min": float(d.min()),
        }
        if self.heldout_distances is not None:
            h = self.heldout_distances.double()
            out["heldout_nn_median"] = float(h.median())
            out["ratio"] = float(d.median() / h.median()) if h.median() > 0 else math.inf
            out["copy_fraction"] = float((d < torch.quantile(h, copy_quantile)).double().mean())
        return out


def memorization(
    fake_features: torch.Tensor,
    train_features: torch.Tensor,
    heldout_features: torch.Tensor | None = None,
    num_pairs: int = 8,
    batch_size: int = 1024,
) -> MemorizationResult:
    """Memorisation check: how close each generated sample is to its nearest training image, in feature space.

    A model that copies its training set produces samples much closer to a training image than held-out real
    images are. Compare `distances` with `heldout_distances` (real images of the same distribution that were not
    trained on), see [`MemorizationResult.summary`], and look at the closest pairs
    (`hfgan.metrics.closest_pairs_grid`).

    Args:
        fake_features: `(num_samples, d)` features of generated samples.
        train_features: `(num_train, d)` features of the training images.
        heldout_features: `(num_heldout, d)` features of real images not trained on, *optional*.
        num_pairs: how many closest sample/training pairs to report.
        batch_size: rows of the distance matrix held in memory at once.
    """
    fake, train = _check_pair(fake_features, train_features, "fake_features", "train_features")
    distances, indices = nearest_neighbor_distances(fake, train, batch_size)
    heldout_distances = None
    if heldout_features is not None:
        heldout, _ = _check_pair(heldout_features, train, "heldout_features", "train_features")
        heldout_distances, _ = nearest_neighbor_distances(heldout, train, batch_size)
    closest = distances.argsort(stable=True)[: max(0, min(num_pairs, len(distances)))]
    if heldout_distances is not None:
        heldout_distances = heldout_distances.cpu()
    return MemorizationResult(distances.cpu(), indices.cpu(), heldout_distances, closest.cpu())
