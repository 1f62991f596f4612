"""DiffAugment (Zhao et al., 2020, "Differentiable Augmentation for Data-Efficient GAN Training").

The same random, differentiable transforms are applied to every image the discriminator sees, real and fake, so D
cannot overfit a small training set while gradients still flow through the augmentation to the generator.
Images are `(B, C, H, W)` in [-1, 1]; randomness comes from torch's global RNG (checkpointed by the training loop).

A training step receives its augmentation as an object, `augment(images) -> images` with a `description` for the
model card ([`DiffAugment`] here); another policy (ADA's adaptive pipeline, say) plugs in as another such object.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

POLICIES = ("color", "translation", "cutout")


def parse_policy(policy: str | list[str] | tuple[str, ...] | None) -> tuple[str, ...]:
    """`"color,translation,cutout"` (or a list) -> a checked tuple of transform names; empty/None -> ()."""
    if not policy:
        return ()
    names = tuple(p.strip() for p in policy.split(",")) if isinstance(policy, str) else tuple(policy)
    unknown = [p for p in names if p not in POLICIES]
    if unknown:
        raise ValueError(f"unknown DiffAugment transform(s) {unknown}; choose from {', '.join(POLICIES)}")
    return names


def diff_augment(x: torch.Tensor, policy: str | list[str] | tuple[str, ...] | None = "color,translation,cutout"):
    """Apply the DiffAugment transforms named in `policy`, in order, with fresh randomness per image."""
    for name in parse_policy(policy):
        x = _TRANSFORMS[name](x)
    return x


class DiffAugment:
    """
    DiffAugment as the object a training step receives: `augment(images)` applies `policy`'s transforms in order.

    Args:
        policy (`str` or `list[str]`): transform names from `POLICIES` (`"color,translation,cutout"` or a list);
            empty or None: images pass unchanged.

    Example:

    ```py
    >>> import torch
    >>> from hfgan.augment import DiffAugment

    >>> augment = DiffAugment(["translation", "cutout"])
    >>> augment(torch.zeros(2, 3, 8, 8)).shape
    torch.Size([2, 3, 8, 8])
    >>> augment.description
    'translation, cutout'
    ```
    """

    def __init__(self, policy: str | list[str] | tuple[str, ...] | None = "color,translation,cutout"):
        self.policy = parse_policy(policy)  # an unknown name fails here, before any training step

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        return diff_augment(x, self.policy)

    @property
    def description(self) -> str:
        """What the model card's training table says: the transforms, or "none"."""
        return ", ".join(self.policy) or "none"

    def __repr__(self) -> str:
        return f"DiffAugment({list(self.policy)!r})"


def rand_color(x: torch.Tensor) -> torch.Tensor:
    """Random brightness (+-0.5), saturation (x0..2) and contrast (x0.5..1.5), per image."""
    b = x.shape[0]
    x = x + (torch.rand(b, 1, 1, 1, device=x.device, dtype=x.dtype) - 0.5)
    mean_c = x.mean(dim=1, keepdim=True)  # per-pixel grey level
    x = (x - mean_c) * (torch.rand(b, 1, 1, 1, device=x.device, dtype=x.dtype) * 2) + mean_c
    mean_all = x.mean(dim=(1, 2, 3), keepdim=True)
    x = (x - mean_all) * (torch.rand(b, 1, 1, 1, device=x.device, dtype=x.dtype) + 0.5) + mean_all
    return x


def rand_translation(x: torch.Tensor, ratio: float = 0.125) -> torch.Tensor:
    """Shift each image by up to `ratio` of its size in x and y, filling the uncovered border with zeros."""
    b, _, h, w = x.shape
    sh, sw = int(h * ratio + 0.5), int(w * ratio + 0.5)
    dy = torch.randint(-sh, sh + 1, (b, 1, 1), device=x.device)
    dx = torch.randint(-sw, sw + 1, (b, 1, 1), device=x.device)
    rows = torch.arange(h, device=x.device).view(1, h, 1) + dy + 1  # (B, H, 1) row read from the 1-px-padded image
    cols = torch.arange(w, device=x.device).view(1, 1, w) + dx + 1  # (B, 1, W)
    rows, cols = rows.clamp(0, h + 1), cols.clamp(0, w + 1)  # out-of-range reads land in the zero padding
    padded = F.pad(x, [1, 1, 1, 1])  # (B, C, H+2, W+2)
    batch = torch.arange(b, device=x.device).view(b, 1, 1)
    return padded.permute(0, 2, 3, 1)[batch, rows, cols].permute(0, 3, 1, 2)  # (B, H, W, C) -> (B, C, H, W)


def rand_cutout(x: torch.Tensor, ratio: float = 0.5) -> torch.Tensor:
    """Zero one square of `ratio` times the image size at a random place in each image."""
    b, _, h, w = x.shape
    ch, cw = int(h * ratio + 0.5), int(w * ratio + 0.5)
    cy = torch.randint(0, h + (1 - ch % 2), (b, 1, 1), device=x.device)  # centre of the square
    cx = torch.randint(0, w + (1 - cw % 2), (b, 1, 1), device=x.device)
    ys = torch.arange(h, device=x.device).view(1, h, 1)
    xs = torch.arange(w, device=x.device).view(1, 1, w)
    inside = ((ys - cy + ch // 2) >= 0) & ((ys - cy + ch // 2) < ch) & ((xs - cx + cw // 2) >= 0) & (
        (xs - cx + cw // 2) < cw
    )  # (B, H, W)
    return x * (~inside).unsqueeze(1).to(x.dtype)


_TRANSFORMS = {"color": rand_color, "translation": rand_translation, "cutout": rand_cutout}


def rotate_quarters(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The self-supervised rotation task's input (Chen et al., 2019, SS-GAN): image i turned by (i mod 4) x 90
    degrees counter-clockwise, and those quarter turns as class targets. Returns `(rotated, turns)`, `(B, C, S, S)` and
    `(B,)` in 0..3; the batch's order is random already, so the assignment needs no randomness of its own."""
    if x.shape[-1] != x.shape[-2]:
        raise ValueError(f"rotate_quarters needs square images, got {tuple(x.shape[-2:])}")
    rotated = x.clone()
    for k in (1, 2, 3):
        rotated[k::4] = torch.rot90(x[k::4], k, dims=(-2, -1))
    return rotated, torch.arange(len(x), device=x.device) % 4  # (B, C, S, S), (B,)
