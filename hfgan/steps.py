"""The GAN training step that every unconditional GAN script shares: one discriminator step, then one generator step.

The losses themselves are pure functions of tensors in `hfgan.losses`; this module runs them on networks, through the
augmentation object the step receives (`hfgan.augment.DiffAugment`, or any `augment(images) -> images`), and
returns their named scalars; the training script decides what to log. A family plugs in its own way of generating
(`generate() -> images`: DCGAN's `generator(z)`, BlobGAN's layout network then generator) and its own discriminator
(anything whose output has `.logits`).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable

import torch

from .losses import d_loss, g_loss, r1_penalty

Augment = Callable[[torch.Tensor], torch.Tensor]


def gan_d_loss(discriminator, real: torch.Tensor, fake: torch.Tensor, augment: Augment, kind: str, r1_gamma: float,
               r1_every: int, step: int) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """The discriminator's loss on real and generated images (detached), both through the same `augment`, plus lazy
    R1 on the real images every `r1_every` steps, weighted by `r1_every`. Returns (what to backpropagate, the named
    scalars of `hfgan.losses.d_loss` and `r1_grad_norm2` on R1 steps)."""
    real = real.requires_grad_(r1_gamma > 0 and step % r1_every == 0)
    real_logits = discriminator(augment(real)).logits
    fake_logits = discriminator(augment(fake.detach())).logits
    out = d_loss(kind, real_logits.float(), fake_logits.float())
    total = out["loss"]
    if real.requires_grad:
        r1 = r1_penalty(real, real_logits.float(), r1_gamma * r1_every)
        total = total + r1["loss"]
        out["r1_grad_norm2"] = r1["r1_grad_norm2"]
    return total, out


def gan_step(
    generate: Callable[[], torch.Tensor],
    discriminator: torch.nn.Module,
    real: torch.Tensor,
    opt_g: torch.optim.Optimizer,
    opt_d: torch.optim.Optimizer,
    *,
    augment: Augment,
    kind: str,
    r1_gamma: float,
    r1_every: int,
    step: int,
    accelerator=None,
    check: Callable[[torch.Tensor], None] | None = None,
    g_penalty: Callable[[], torch.Tensor] | None = None,
) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]]:
    """
    One discriminator step, then one generator step, on one batch of real images.

    Args:
        generate (`Callable[[], torch.Tensor]`): draws a batch of generated images `(B, 3, S, S)` with gradients to
            everything `opt_g` updates; called once, under autocast.
        discriminator (`torch.nn.Module`): returns an output with `.logits` `(B,)` or `(B, 1)`.
        real (`torch.Tensor`): real images `(B, 3, S, S)` in [-1, 1].
        opt_g, opt_d (`torch.optim.Optimizer`): the generator's (every network `generate` trains) and D's optimisers.
        augment: applied to every image D sees, real and fake (`hfgan.augment.DiffAugment`, or `lambda x: x`).
        kind (`str`): the loss of `hfgan.losses.d_loss`/`g_loss` (`"non_saturating"`, `"bce"`, `"hinge"`, ...).
        r1_gamma, r1_every (`float`, `int`): lazy R1 on the reals every `r1_every` steps (`r1_gamma=0`: none).
        step (`int`): the step's index, for R1's cadence.
        accelerator (`accelerate.Accelerator`, *optional*): its autocast and backward; None: plain fp32 backward.
        check (`Callable[[torch.Tensor], None]`, *optional*): called on each loss before its backward (e.g. to stop
            before a non-finite loss reaches the weights).
        g_penalty (`Callable[[], torch.Tensor]`, *optional*): a term added to the generator's loss, called after
            `generate` (e.g. a prior on what `generate` drew); logged as `penalty`.

    Returns:
        `(d_out, g_out)`: the named scalars of the discriminator's loss (`loss`, `d_real`, `d_fake`, and
        `r1_grad_norm2` on R1 steps) and of the generator's (`loss`).
    """
    autocast = accelerator.autocast if accelerator is not None else contextlib.nullcontext
    backward = accelerator.backward if accelerator is not None else torch.Tensor.backward
    # Discriminator step: real vs. generated, both through the same augmentation, lazy R1 on the reals
    with autocast():
        fake = generate()  # (B, 3, S, S), kept with its graph for the generator step
        d_total, d_out = gan_d_loss(discriminator, real, fake, augment, kind, r1_gamma, r1_every, step)
    if check is not None:
        check(d_total)
    opt_d.zero_grad(set_to_none=True)
    backward(d_total)
    opt_d.step()

    # Generator step: fool the just-updated discriminator on freshly augmented fakes
    with autocast():
        g_out = g_loss(kind, discriminator(augment(fake)).logits.float())
        if g_penalty is not None:
            g_out["penalty"] = g_penalty()
            g_out["loss"] = g_out["loss"] + g_out["penalty"]
    if check is not None:
        check(g_out["loss"])
    opt_g.zero_grad(set_to_none=True)
    backward(g_out["loss"])
    opt_g.step()
    return d_out, g_out


def gan_scalars(d_out: dict[str, torch.Tensor], g_out: dict[str, torch.Tensor]) -> dict[str, float]:
    """The scalars to log of a GAN step: both losses, D(x), D(G(z)) before the G step, and R1's gradient norm."""
    scalars = {"loss_d": d_out["loss"].item(), "loss_g": g_out["loss"].item(), "d_real": d_out["d_real"].item(),
               "d_fake": d_out["d_fake"].item()}
    if "r1_grad_norm2" in d_out:
        scalars["r1_grad_norm2"] = d_out["r1_grad_norm2"].item()
    if "penalty" in g_out:
        scalars["g_penalty"] = g_out["penalty"].item()
    return scalars
