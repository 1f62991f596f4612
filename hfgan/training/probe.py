"""Linear probes (Radford et al., 2016): an L2-regularised multinomial logistic regression on frozen features."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def fit_linear_probe(
    features: torch.Tensor,
    labels: torch.Tensor,
    num_classes: int,
    l2: float = 1e-2,
    reference: torch.Tensor | None = None,
    max_iter: int = 500,
    sample_weights: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Fit logits = W x + b on `features` (N, F) with integer `labels` (N,); returns `(W, b)` of shapes (K, F), (K,).

    The features are standardised by the mean and standard deviation of `reference` (e.g. every training image's
    features, labeled or not; default: `features`) and the penalty `l2 / 2 * ||W||^2` applies in that standardised
    space, so one `l2` suits features of any scale; the standardisation is folded into the returned `W` and `b`.
    `sample_weights` (N,) weight each image's cross-entropy (e.g. `hfgan.data.balanced_weights`); default equal.
    Solved to convergence with L-BFGS (the objective is convex), deterministic for given inputs.
    """
    if features.dim() != 2 or labels.shape != features.shape[:1]:
        raise ValueError(f"need features (N, F) and labels (N,), got {tuple(features.shape)} and {tuple(labels.shape)}")
    if len(labels) == 0 or int(labels.min()) < 0 or int(labels.max()) >= num_classes:
        raise ValueError(f"labels must be in 0..{num_classes - 1} (and at least one), got {labels.unique().tolist()}")
    features = features.double()
    reference = features if reference is None else reference.double()
    mean, std = reference.mean(0), reference.std(0).clamp_min(1e-6)
    x = (features - mean) / std  # (N, F), standardised
    per_image = torch.full((len(labels),), 1.0 / len(labels), dtype=torch.float64)
    if sample_weights is not None:
        per_image = sample_weights.double() / sample_weights.double().sum()
    weight = torch.zeros(num_classes, x.shape[1], dtype=torch.float64, requires_grad=True)
    bias = torch.zeros(num_classes, dtype=torch.float64, requires_grad=True)
    optimizer = torch.optim.LBFGS([weight, bias], max_iter=max_iter, tolerance_grad=1e-9, line_search_fn="strong_wolfe")

    def closure():
        optimizer.zero_grad()
        cross_entropy = (F.cross_entropy(x @ weight.T + bias, labels, reduction="none") * per_image).sum()
        loss = cross_entropy + 0.5 * l2 * weight.pow(2).sum()
        loss.backward()
        return loss

    optimizer.step(closure)
    with torch.no_grad():
        w = weight / std  # W (x - m) / s + b = (W / s) x + (b - (W / s) m)
        return w.float(), (bias - w @ mean).float()
