"""GAN losses as pure functions of discriminator logits (and, for R1, real images), and BlobGAN's inversion loss.

Each function returns a dict of named scalars: `"loss"` is what to backpropagate, the rest are for logging. The
training loop decides what to log. Logits are pre-sigmoid, so every BCE form is computed stably with softplus:
`-log(sigmoid(x)) = softplus(-x)` and `-log(1 - sigmoid(x)) = softplus(x)`.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

LOSSES = ("bce", "non_saturating", "hinge")


def d_loss(kind: str, real_logits: torch.Tensor, fake_logits: torch.Tensor) -> dict[str, torch.Tensor]:
    """Discriminator loss of the given kind (`"bce"`, `"non_saturating"` or `"hinge"`).

    `"bce"` and `"non_saturating"` share the discriminator loss; they differ only in the generator's.
    """
    if kind in ("bce", "non_saturating"):
        loss_real = F.softplus(-real_logits).mean()  # -log(sigmoid(D(x)))
        loss_fake = F.softplus(fake_logits).mean()  # -log(1 - sigmoid(D(G(z))))
    elif kind == "hinge":
        loss_real = F.relu(1 - real_logits).mean()
        loss_fake = F.relu(1 + fake_logits).mean()
    else:
        raise ValueError(f"unknown loss {kind!r}; choose one of {', '.join(LOSSES)}")
    return {
        "loss": loss_real + loss_fake,
        "loss_real": loss_real.detach(),
        "loss_fake": loss_fake.detach(),
        "d_real": torch.sigmoid(real_logits).mean().detach(),  # D(x)
        "d_fake": torch.sigmoid(fake_logits).mean().detach(),  # D(G(z)) before the generator's step
    }


def g_loss(kind: str, fake_logits: torch.Tensor) -> dict[str, torch.Tensor]:
    """Generator loss of the given kind, from the discriminator's logits on generated images."""
    if kind == "bce":
        # The seed's loss: BCE against the "real" label, which for a generator is -log(sigmoid(D(G(z)))).
        # Written as in the tutorial (criterion(output, real_label)); numerically it equals the non-saturating loss.
        loss = F.binary_cross_entropy_with_logits(fake_logits, torch.ones_like(fake_logits))
    elif kind == "non_saturating":
        loss = F.softplus(-fake_logits).mean()  # -log(sigmoid(D(G(z))))
    elif kind == "hinge":
        loss = -fake_logits.mean()
    else:
        raise ValueError(f"unknown loss {kind!r}; choose one of {', '.join(LOSSES)}")
    return {"loss": loss, "d_fake_g": torch.sigmoid(fake_logits).mean().detach()}


def r1_penalty(real_images: torch.Tensor, real_logits: torch.Tensor, gamma: float) -> dict[str, torch.Tensor]:
    """R1 gradient penalty (Mescheder et al., 2018): gamma/2 * E[||grad_x D(x)||^2] on real images.

    `real_images` must have `requires_grad=True` and `real_logits` must have been computed from them.
    """
    (grad,) = torch.autograd.grad(real_logits.sum(), real_images, create_graph=True)
    grad_norm2 = grad.pow(2).flatten(1).sum(1).mean()  # E ||dD/dx||^2
    return {"loss": 0.5 * gamma * grad_norm2, "r1_grad_norm2": grad_norm2.detach()}


# ---------------------------------------------------------------------------------------------------------------------
# Discriminator-classifiers: the semi-supervised GAN (Salimans et al., 2016) and its supervised baseline. With K class
# logits and the fake class's logit fixed at 0, D(x) = Z / (Z + 1), Z = sum_k exp(l_k): the real/fake logit is
# logsumexp(l), so `d_loss` applies to it unchanged (`DCGANDiscriminator` returns it as `logits`).


def classification_loss(class_logits: torch.Tensor, labels: torch.Tensor) -> dict[str, torch.Tensor]:
    """Cross-entropy over the images whose label is >= 0 (-1 marks an unlabeled image), and their accuracy.

    Raises `ValueError` for a label >= the number of classes. With no labeled image the loss is 0 (and keeps the
    graph, so `backward` still works).
    """
    num_classes = class_logits.shape[1]
    if labels.numel() and int(labels.max()) >= num_classes:
        raise ValueError(f"label {int(labels.max())} is out of range for {num_classes} classes (0..{num_classes - 1})")
    labeled = labels >= 0
    if not labeled.any():
        zero = class_logits.sum() * 0.0
        return {"loss": zero, "accuracy": zero.detach()}
    logits, targets = class_logits[labeled], labels[labeled]
    loss = F.cross_entropy(logits, targets)  # -log softmax(l)_y: the fake class plays no part for a real image
    accuracy = (logits.argmax(1) == targets).float().mean()
    return {"loss": loss, "accuracy": accuracy.detach()}


def semi_supervised_d_loss(
    labeled_class_logits: torch.Tensor,
    labels: torch.Tensor,
    real_logits: torch.Tensor,
    fake_logits: torch.Tensor,
    unsupervised_weight: float = 1.0,
) -> dict[str, torch.Tensor]:
    """Salimans et al.'s discriminator loss: supervised cross-entropy on the labeled batch plus the unsupervised GAN
    loss -log D(x) - log(1 - D(G(z))) on unlabeled real and generated images (real/fake logits = logsumexp of the
    class logits)."""
    supervised = classification_loss(labeled_class_logits, labels)
    unsupervised = d_loss("non_saturating", real_logits, fake_logits)
    return {
        "loss": supervised["loss"] + unsupervised_weight * unsupervised["loss"],
        "loss_supervised": supervised["loss"].detach(),
        "loss_unsupervised": unsupervised["loss"].detach(),
        "train_accuracy": supervised["accuracy"],
        "d_real": unsupervised["d_real"],
        "d_fake": unsupervised["d_fake"],
    }


def consistency_loss(class_logits: torch.Tensor, other_class_logits: torch.Tensor) -> dict[str, torch.Tensor]:
    """The Pi-model's consistency term (Laine & Aila, 2017) on unlabeled images: the squared distance between the class
    probabilities of two random augmentations of the same images, summed over classes and averaged over images.
    Both views get gradients: the discriminator must agree with itself, with no view as the fixed target."""
    gap = class_logits.softmax(1) - other_class_logits.softmax(1)  # (B, K)
    return {"loss": gap.pow(2).sum(1).mean()}


def feature_matching_loss(real_features: torch.Tensor, fake_features: torch.Tensor) -> dict[str, torch.Tensor]:
    """Generator loss of feature matching (Salimans et al., 2016): || E f(x) - E f(G(z)) ||^2 over a discriminator
    layer's activations f, flattened per image. `real_features` should be detached (the target)."""
    gap = real_features.flatten(1).mean(0) - fake_features.flatten(1).mean(0)  # (F,)
    return {"loss": gap.pow(2).sum(), "feature_gap": gap.abs().mean().detach()}


def blob_size_floor(sizes: torch.Tensor, floor: float) -> dict[str, torch.Tensor]:
    """A floor under each blob's batch-mean size s (BlobGAN; not in the paper): mean over blob indices of
    relu(floor - mean_batch s_k). Zero while every index keeps its mean above the floor; an index the generator
    is shrinking away is pushed back, so it must draw something there (docs/research/blobgan-dead-blobs, H4).
    `sizes` (B, K)."""
    return {"loss": F.relu(floor - sizes.mean(0)).mean()}


def blob_share_floor(alphas: torch.Tensor, floor: float) -> dict[str, torch.Tensor]:
    """A floor under each blob's batch-mean share of the image (BlobGAN; not in the paper): mean over blob indices
    of relu(1 - share_k / floor), share_k the mean over the batch and the pixels of blob k's composite alpha.

    Unlike `blob_size_floor`, a blob earns nothing where no one sees it: parked outside the frame or hidden behind
    other blobs (docs/research/blobgan-dead-blobs, round 2). Dividing by `floor` makes the term's scale independent of
    it. `alphas` (B, K + 1, S, S) from `composite`, the background first; returns `loss` and `min_share`, the
    smallest index's share."""
    share = alphas[:, 1:].mean(dim=(0, 2, 3))  # (K,): each blob's visible share of the image over the batch
    return {"loss": F.relu(1 - share / floor).mean(), "min_share": share.min().detach()}


def blob_overlap(opacities: torch.Tensor) -> dict[str, torch.Tensor]:
    """How much of the blobs' opacity is drawn where other blobs already are (BlobGAN; not in the paper): per pixel,
    sum_i o_i - (1 - prod_i (1 - o_i)), the opacities' total less the coverage, averaged over the batch and the
    pixels. It is the alpha mass the blobs lose to the blobs in front of them, summed over blobs, so it does not
    depend on their depth order; about zero where at most one blob is opaque. Against objects drawn by clusters of
    overlapping blobs, of which none moves the whole object (docs/research/blobgan-dead-blobs, round 9).
    `opacities` (B, K, S, S) from `blob_opacities`."""
    coverage = 1 - torch.prod(1 - opacities, dim=1)  # (B, S, S): the share of each pixel some blob covers
    return {"loss": (opacities.sum(1) - coverage).mean()}


def shift_pixels(x: torch.Tensor, dx: int, dy: int) -> torch.Tensor:
    """`x` (..., H, W) moved `dx` pixels right and `dy` down; what leaves the frame is dropped, what enters is 0."""
    h, w = x.shape[-2:]
    out = torch.zeros_like(x)
    if abs(dx) < w and abs(dy) < h:
        out[..., max(dy, 0) : h + min(dy, 0), max(dx, 0) : w + min(dx, 0)] = \
            x[..., max(-dy, 0) : h + min(-dy, 0), max(-dx, 0) : w + min(-dx, 0)]
    return out


def blob_move_consistency(
    image: torch.Tensor, moved: torch.Tensor, alpha: torch.Tensor, moved_alpha: torch.Tensor, dx: int, dy: int
) -> dict[str, torch.Tensor]:
    """Whether a moved blob took what it drew along and left the rest as it was (BlobGAN; not in the paper;
    docs/research/blobgan-dead-blobs, round 11). `image` and `moved` (B, C, S, S): a layout's rendering and the same
    layout's with one blob per image moved (dx, dy) whole pixels, drawn with the same noise; `alpha` and
    `moved_alpha` (B, S, S): that blob's composite alpha before and after.

    - `carried`: in the blob's new footprint, |moved - image shifted by (dx, dy)|;
    - `kept`: outside both footprints, |moved - image|;
    each a mean weighted by its footprint (moved_alpha; 1 - max(alpha, moved_alpha)), so a smaller blob is not a
    cheaper one. `image` and the alphas are targets and weights, without gradients: only the moved rendering is
    pulled. `loss` is their sum. In training (weight 1) it made blobs larger and carried less, not more (round 11)."""
    target = shift_pixels(image.detach(), dx, dy)  # (B, C, S, S): what the blob drew, where it now is
    weight = (moved_alpha * shift_pixels(torch.ones_like(alpha), dx, dy)).detach()[:, None]  # (B, 1, S, S)
    carried = (weight * (moved - target).abs()).sum() / (weight.sum() * image.shape[1]).clamp_min(1e-8)
    rest = (1 - torch.maximum(alpha, moved_alpha)).detach()[:, None]  # (B, 1, S, S): neither footprint
    kept = (rest * (moved - image.detach()).abs()).sum() / (rest.sum() * image.shape[1]).clamp_min(1e-8)
    return {"loss": carried + kept, "carried": carried.detach(), "kept": kept.detach()}


# ---------------------------------------------------------------------------------------------------------------------
# BlobGAN inversion: an encoder E maps images to the raw layout vector beta; the frozen generator G renders it back.


def inversion_loss(
    real: torch.Tensor,
    real_reconstruction: torch.Tensor,
    fake: torch.Tensor,
    fake_reconstruction: torch.Tensor,
    fake_raw: torch.Tensor,
    predicted_fake_raw: torch.Tensor,
    perceptual,
    latent_weight: float = 10.0,
    pixel_weight: float = 1.0,
) -> dict[str, torch.Tensor]:
    """BlobGAN's inversion loss, exactly (at the default `pixel_weight=1`):

        L = P(x_real, G(E(x_real))) + P(x_fake, G(E(x_fake)))
            + mu * (L2(x_real, G(E(x_real))) + L2(x_fake, G(E(x_fake)))) + lambda * L2(beta_fake, E(x_fake))

    where x_fake = G(beta_fake) is generated from a layout network's raw layout beta_fake.

    Args:
        real, real_reconstruction: x_real and G(E(x_real)), `(B, 3, H, W)` in [-1, 1].
        fake, fake_reconstruction: x_fake and G(E(x_fake)), `(B', 3, H, W)`.
        fake_raw, predicted_fake_raw: beta_fake and E(x_fake), `(B', raw_dim)`.
        perceptual: `perceptual(a, b) -> (B,)` distances (an `hfgan.perceptual.PerceptualDistance`); P is its mean
            over the batch.
        latent_weight: lambda.
        pixel_weight: mu, the weight of the two image L2 terms against P (1 in the paper, whose P is LPIPS; a
            perceptual distance of another size shifts the balance, which mu restores).

    L2 is the mean squared error over every element (pixels and channels, or raw layout coordinates) and the batch.

    Returns:
        `"loss"` and each term unweighted (detached): `"perceptual_real"`, `"perceptual_fake"`, `"l2_real"`,
        `"l2_fake"`, `"latent_l2"` (mu * l2 and lambda * latent_l2 are their shares of the loss).
    """
    for name, (a, b) in {"real": (real, real_reconstruction), "fake": (fake, fake_reconstruction),
                         "fake_raw": (fake_raw, predicted_fake_raw)}.items():
        if a.shape != b.shape:
            raise ValueError(f"{name} and its prediction must have the same shape, got {tuple(a.shape)} and "
                             f"{tuple(b.shape)}")
    terms = {
        "perceptual_real": perceptual(real, real_reconstruction).mean(),
        "perceptual_fake": perceptual(fake, fake_reconstruction).mean(),
        "l2_real": F.mse_loss(real_reconstruction, real),
        "l2_fake": F.mse_loss(fake_reconstruction, fake),
        "latent_l2": F.mse_loss(predicted_fake_raw, fake_raw),
    }
    loss = (terms["perceptual_real"] + terms["perceptual_fake"] + pixel_weight * (terms["l2_real"] + terms["l2_fake"])
            + latent_weight * terms["latent_l2"])
    return {"loss": loss, **{name: value.detach() for name, value in terms.items()}}


# ---------------------------------------------------------------------------------------------------------------------
# StyleGAN2 inversion with noise maps: the projector's regulariser keeps optimised noise from carrying the image.


def noise_regularization(noise: list[torch.Tensor], min_size: int = 8) -> dict[str, torch.Tensor]:
    """StyleGAN2's noise regulariser (Karras et al. 2020, the projector): per image, the sum over every noise map and
    every scale of the squared autocorrelation at a one-pixel shift, across and down,

        sum_maps sum_scales mean(n * roll_x(n))^2 + mean(n * roll_y(n))^2,

    each map halved by 2x2 average pooling while larger than `min_size`. Unit Gaussian noise scores ~0; noise that
    drew image structure (smooth, correlated) scores high, so the image must come from w. `noise`: maps
    (B, 1, S, S); returns `loss` (B,), one value per image (each reaches only its own maps)."""
    loss = 0.0
    for n in noise:
        while True:
            loss = loss + (n * n.roll(1, dims=3)).mean(dim=(1, 2, 3)).square()  # across: (B,)
            loss = loss + (n * n.roll(1, dims=2)).mean(dim=(1, 2, 3)).square()  # down
            if n.shape[-1] <= min_size:
                break
            n = F.avg_pool2d(n, kernel_size=2)  # the next scale: correlation over 2, 4, ... pixels
    return {"loss": loss}
