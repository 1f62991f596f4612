"""Edit directions in StyleGAN's w space: found without labels (SeFa, GANSpace) or with them (InterFaceGAN), saved and
loaded like any hfgan model, and applied by `StyleGANPipeline(..., directions=...)` as `pipe(ws=w, edits={...})`.

- [`sefa_directions`]: closed form from the generator's style affine weights (Shen & Zhou, 2021): the directions in w
  that move the styles most, the eigenvectors of A^T A over the layers' (row-normalised) affine weights A.
- [`ganspace_directions`]: the principal components of sampled w (Härkönen et al., 2020).
- [`interfacegan_direction`]: the normal of a linear boundary between w with and without an attribute (Shen et al.,
  2020); the labels may come from a user or from an hfgan `DiscriminatorClassifierPipeline`.
- [`measure_edit`]: how far an edit moves the images (a perceptual distance, or pixels) and a target score
  ([`classifier_score`]: a classifier pipeline's probability of a label).

Real images get their w from `StyleGANPipeline.invert` (optimisation in w or w+, or pivotal tuning).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from .models.modeling_utils import check_int
from .models.stylegan.directions import EditDirections

__all__ = ["EditDirections", "classifier_score", "ganspace_directions", "interfacegan_direction", "measure_edit",
           "sefa_directions", "style_affines"]


def style_affines(generator) -> list[tuple[int, torch.nn.Module]]:
    """(w index, affine layer) of every style the synthesis network reads from w: each StyleGAN2 convolution and
    toRGB, each StyleGAN3 layer (not the input's transform)."""
    synthesis = generator.synthesis
    if hasattr(synthesis, "layer_names"):  # StyleGAN3: layer i reads ws[i + 1]
        return [(i + 1, getattr(synthesis, name).affine) for i, name in enumerate(synthesis.layer_names)]
    found, start = [], 0
    for res in synthesis.block_resolutions:  # StyleGAN2: a block reads ws[start : start + num_conv + 1]
        block = getattr(synthesis, f"b{res}")
        convs = [block.conv1] if block.num_conv == 1 else [block.conv0, block.conv1]
        found += [(start + i, conv.affine) for i, conv in enumerate(convs)]
        found.append((start + block.num_conv, block.torgb.affine))
        start += block.num_conv
    return found


@torch.no_grad()
def sefa_directions(generator, num_directions: int = 5, layers: Sequence[int] | None = None) -> EditDirections:
    """SeFa's directions: the top eigenvectors of A^T A, A the style affine weights (one row per style channel,
    each row scaled to unit length) of the layers `layers` (w indices; all by default). No sampling, no labels.
    Scores are the eigenvalues, largest first."""
    affines = [(i, a) for i, a in style_affines(generator) if layers is None or i in layers]
    if not affines:
        raise ValueError(f"no style layer has a w index in {list(layers)}")
    check_int("num_directions", num_directions)
    weights = torch.cat([a.weight.float() for _, a in affines])  # (sum of channels, w_dim)
    weights = weights / weights.norm(dim=1, keepdim=True)
    eigenvalues, eigenvectors = torch.linalg.eigh(weights.T @ weights)  # ascending
    order = eigenvalues.argsort(descending=True)[:num_directions]
    w_dim = weights.shape[1]
    directions = EditDirections(w_dim=w_dim, names=[f"sefa_{k}" for k in range(len(order))], method="sefa",
                                layers=sorted({i for i, _ in affines}) if layers is not None else None,
                                scores=[round(float(v), 6) for v in eigenvalues[order]])
    return directions.set_vectors(eigenvectors[:, order].T)


@torch.no_grad()
def ganspace_directions(generator, num_directions: int = 5, num_samples: int = 10000,
                        seed: int = 0) -> EditDirections:
    """GANSpace's directions: the principal components of w for `num_samples` z ~ N(0, I) (untruncated). Scores are
    the ratios of w's variance each explains, largest first."""
    check_int("num_directions", num_directions)
    if num_samples <= num_directions:
        raise ValueError(f"num_samples ({num_samples}) must exceed num_directions ({num_directions})")
    mapping = generator.mapping
    rng = torch.Generator().manual_seed(seed)
    z = torch.randn(num_samples, mapping.z_dim, generator=rng)
    c = None
    if mapping.c_dim:  # a conditional generator: classes drawn uniformly
        c = torch.nn.functional.one_hot(torch.randint(mapping.c_dim, (num_samples,), generator=rng), mapping.c_dim)
    device = next(generator.parameters()).device
    w = torch.cat([mapping(z[i:i + 1000].to(device), None if c is None else c[i:i + 1000].float().to(device))[:, 0]
                   for i in range(0, num_samples, 1000)]).float().cpu()  # (N, w_dim)
    centred = w - w.mean(0)
    _, singular, components = torch.linalg.svd(centred, full_matrices=False)
    variance = singular**2
    k = min(num_directions, len(variance))
    directions = EditDirections(w_dim=w.shape[1], names=[f"pc_{i}" for i in range(k)], method="ganspace",
                                scores=[round(float(v), 6) for v in (variance[:k] / variance.sum())])
    return directions.set_vectors(components[:k])


def interfacegan_direction(latents: torch.Tensor, labels, name: str = "attribute", weight_decay: float = 1e-3,
                           num_steps: int = 200) -> EditDirections:
    """InterFaceGAN's direction for a binary attribute: the unit normal of a logistic-regression boundary between
    the w with the attribute (label 1 / True) and without, pointing towards it. `latents` (N, w_dim) or
    (N, num_ws, w_dim) (layer 0's w is used); `labels` (N,) of 0/1 or booleans, both classes present. The score is
    the boundary's accuracy on these latents."""
    w = latents[:, 0] if latents.dim() == 3 else latents
    if w.dim() != 2:
        raise ValueError(f"latents must have shape (N, w_dim) or (N, num_ws, w_dim), got {tuple(latents.shape)}")
    y = torch.as_tensor(labels).flatten().float()
    if len(y) != len(w) or not ((y == 0) | (y == 1)).all():
        raise ValueError(f"labels must be {len(w)} values of 0/1 (or booleans)")
    if y.min() == y.max():
        raise ValueError("labels must contain both classes (some 1 and some 0)")
    w = w.detach().float().cpu()
    mean, std = w.mean(0), w.std(0) + 1e-8
    x = (w - mean) / std  # standardised: one weight decay fits every w scale
    weight = torch.zeros(w.shape[1], requires_grad=True)
    bias = torch.zeros((), requires_grad=True)
    optimizer = torch.optim.LBFGS([weight, bias], max_iter=num_steps, line_search_fn="strong_wolfe")

    def closure():
        optimizer.zero_grad()
        loss = torch.nn.functional.binary_cross_entropy_with_logits(x @ weight + bias, y)
        loss = loss + weight_decay * weight.square().sum()
        loss.backward()
        return loss

    optimizer.step(closure)
    with torch.no_grad():
        accuracy = ((x @ weight + bias > 0).float() == y).float().mean().item()
        normal = weight / std  # the boundary's normal back in w's coordinates: w . (weight / std) + const
    directions = EditDirections(w_dim=w.shape[1], names=[name], method="interfacegan", scores=[round(accuracy, 6)])
    return directions.set_vectors(normal[None])


def classifier_score(classifier, label: str):
    """A `score(images) -> (N,)` function for [`measure_edit`]: the probability an hfgan
    `DiscriminatorClassifierPipeline` (or any transformers-style image classifier pipeline) gives `label`.
    Images are (N, 3, H, W) tensors in [0, 1]."""

    def score(images: torch.Tensor) -> torch.Tensor:
        predictions = classifier(list(images.cpu()), top_k=None)
        found = [[p["score"] for p in per_image if p["label"] == label] for per_image in predictions]
        if not all(found):
            raise ValueError(f"the classifier has no label {label!r}")
        return torch.tensor([f[0] for f in found])

    return score


@torch.no_grad()
def measure_edit(pipe, ws: torch.Tensor, name: str, strengths: Sequence[float] = (-3.0, -1.5, 1.5, 3.0),
                 directions: EditDirections | None = None, score=None, perceptual=None) -> list[dict[str, float]]:
    """What an edit does to images: for each strength, the mean distance of the edited images to the unedited ones
    (`perceptual`, e.g. LPIPS, or else the mean absolute pixel change in [0, 1]) and, with a `score` function
    (e.g. [`classifier_score`]), the mean change of the target score. `ws` (N, num_ws, w_dim); `pipe` a
    `StyleGANPipeline` (its directions unless `directions` is given)."""
    source = pipe(ws=ws, output_type="pt").images  # (N, 3, S, S) in [0, 1]
    source_score = score(source) if score is not None else None
    rows = []
    for strength in strengths:
        edited = pipe(ws=ws, edits={name: strength}, directions=directions, output_type="pt").images
        if perceptual is not None:
            distance = perceptual(edited * 2 - 1, source * 2 - 1).mean().item()  # the distances take [-1, 1]
        else:
            distance = (edited - source).abs().mean().item()
        row = {"strength": float(strength), "distance_to_source": distance}
        if score is not None:
            row["score_change"] = (score(edited) - source_score).mean().item()
        rows.append(row)
    return rows
