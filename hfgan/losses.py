"""GAN losses as pure functions of discriminator logits (and, for R1, real images).

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
