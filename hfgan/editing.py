"""Edit directions in StyleGAN's w space and style space: found without labels (SeFa, GANSpace) or with them
(InterFaceGAN, StyleSpace), saved and loaded like any hfgan model, and applied by
`StyleGANPipeline(..., directions=...)` as `pipe(ws=w, edits={...})`.

- [`sefa_directions`]: closed form from the generator's style affine weights (Shen & Zhou, 2021): the directions in w
  that move the styles most, the eigenvectors of A^T A over the layers' (row-normalised) affine weights A.
- [`ganspace_directions`]: the principal components of sampled w (Härkönen et al., 2020).
- [`interfacegan_direction`]: the normal of a linear boundary between w with and without an attribute (Shen et al.,
  2020); the labels may come from a user or from an hfgan `DiscriminatorClassifierPipeline`.
- [`stylespace_directions`]: single style channels that mark an attribute (Wu et al., 2021), from the same labels;
  they edit the styles (StyleSpace), one channel of one layer, where w directions move every channel a layer reads.
- [`measure_edit`]: how far an edit moves the images (a perceptual distance, or pixels) and a target score
  ([`classifier_score`]: a classifier pipeline's probability of a label).

Real images get their w from `StyleGANPipeline.invert` (optimisation in w or w+, or pivotal tuning).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from .models.modeling_utils import check_int
from .models.stylegan.directions import EditDirections, style_affines

__all__ = ["EditDirections", "classifier_score", "ganspace_directions", "interfacegan_direction", "measure_edit",
           "sefa_directions", "style_affines", "style_codes", "stylespace_directions"]


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


def binary_labels(labels, count: int) -> torch.Tensor:
    """`labels` as a float (count,) tensor of 0/1; ValueError unless they are `count` values of 0/1 (or booleans)
    with both classes present."""
    y = torch.as_tensor(labels).flatten().float()
    if len(y) != count or not ((y == 0) | (y == 1)).all():
        raise ValueError(f"labels must be {count} values of 0/1 (or booleans)")
    if y.min() == y.max():
        raise ValueError("labels must contain both classes (some 1 and some 0)")
    return y


def interfacegan_direction(latents: torch.Tensor, labels, name: str = "attribute", weight_decay: float = 1e-3,
                           num_steps: int = 200) -> EditDirections:
    """InterFaceGAN's direction for a binary attribute: the unit normal of a logistic-regression boundary between
    the w with the attribute (label 1 / True) and without, pointing towards it. `latents` (N, w_dim) or
    (N, num_ws, w_dim) (layer 0's w is used); `labels` (N,) of 0/1 or booleans, both classes present. The score is
    the boundary's accuracy on these latents."""
    w = latents[:, 0] if latents.dim() == 3 else latents
    if w.dim() != 2:
        raise ValueError(f"latents must have shape (N, w_dim) or (N, num_ws, w_dim), got {tuple(latents.shape)}")
    y = binary_labels(labels, len(w))
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


@torch.no_grad()
def style_codes(generator, ws: torch.Tensor) -> torch.Tensor:
    """Every style the synthesis network computes from `ws` (N, num_ws, w_dim): (N, style size), the layers in
    `style_affines` order (StyleSpace's S; `EditDirections(space="style")` vectors index it)."""
    return torch.cat([affine(ws[:, i].to(affine.weight)) for i, affine in style_affines(generator)], dim=1)


@torch.no_grad()
def stylespace_directions(generator, latents: torch.Tensor, labels, num_directions: int = 5,
                          name: str = "attribute") -> EditDirections:
    """StyleSpace's attribute-specific channels (Wu et al., 2021): the style channels whose mean over the images with
    the attribute (label 1) departs most from their mean over all images, in units of the channel's standard
    deviation over all images. One direction per channel, named `{name}_{layer}_{channel}` (the layer's place in
    `style_affines`), that moves that channel alone, towards the attribute, by one standard deviation per unit of
    strength; the score is the relevance |mean_with - mean_all| / std_all, largest first.

    `latents` (N, num_ws, w_dim), or (N, w_dim) for one w on every layer; `labels` (N,) of 0/1 or booleans, both
    classes present (from a user, or a `DiscriminatorClassifierPipeline`, as for `interfacegan_direction`). Apply
    with `StyleGANPipeline(..., directions=...)` and `pipe(ws=..., edits={name: strength})`: the edit moves the
    styles while rendering, not w."""
    check_int("num_directions", num_directions)
    ws = latents.unsqueeze(1).expand(-1, generator.num_ws, -1) if latents.dim() == 2 else latents
    if ws.dim() != 3 or ws.shape[1:] != (generator.num_ws, generator.config.w_dim):
        raise ValueError(f"latents must have shape (N, {generator.config.w_dim}) or (N, {generator.num_ws}, "
                         f"{generator.config.w_dim}), got {tuple(latents.shape)}")
    y = binary_labels(labels, len(ws)).bool()
    styles = style_codes(generator, ws).float().cpu()  # (N, S)
    mean, std = styles.mean(0), styles.std(0) + 1e-8
    shift = (styles[y].mean(0) - mean) / std  # (S,): where the attribute sits, in standard deviations
    order = shift.abs().argsort(descending=True)[:num_directions]
    sizes = [affine.weight.shape[0] for _, affine in style_affines(generator)]
    starts = torch.tensor([0, *sizes]).cumsum(0)  # each layer's first index in S
    names = []
    for index in order.tolist():
        layer = int((starts[1:] <= index).sum())
        names.append(f"{name}_{layer}_{index - int(starts[layer])}")
    vectors = torch.zeros(len(order), len(mean))
    vectors[torch.arange(len(order)), order] = shift[order].sign() * std[order]  # one channel, one std, towards it
    directions = EditDirections(w_dim=generator.config.w_dim, names=names, method="stylespace", space="style",
                                style_sizes=sizes, scores=[round(float(v), 6) for v in shift[order].abs()])
    return directions.set_vectors(vectors)


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
