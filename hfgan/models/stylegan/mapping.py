"""StyleGAN's mapping network z (and a class label) -> w, shared by StyleGAN2 and StyleGAN3, with the running mean
of w (`w_avg`) that truncation pulls towards."""

from __future__ import annotations

import torch
from torch import nn

from ..layers.stylegan2 import EqualLinear


def normalize_2nd_moment(x: torch.Tensor, eps: float = 1e-8) -> torch.Tensor:
    """Scale each row to unit root-mean-square: z and the label embedding are compared on one scale."""
    return x * (x.square().mean(dim=1, keepdim=True) + eps).rsqrt()


class MappingNetwork(nn.Module):
    """z (B, z_dim) [+ a one-hot label (B, c_dim)] -> w broadcast to every layer, (B, num_ws, w_dim).

    Parameter names (`fc0`, ..., `embed`, the buffer `w_avg`) follow NVIDIA's networks, so their weights copy over.

    Args:
        num_layers: fully connected layers (8 in StyleGAN2, 2 in StyleGAN3), leaky ReLU after each.
        lr_multiplier: the layers' learning-rate multiplier (0.01: w moves slowly next to the synthesis network).
        w_avg_beta: decay of the running mean of w that `update_emas=True` tracks while training.
    """

    def __init__(self, z_dim: int, c_dim: int, w_dim: int, num_ws: int | None, num_layers: int = 2,
                 lr_multiplier: float = 0.01, w_avg_beta: float | None = 0.998):
        super().__init__()
        self.z_dim, self.c_dim, self.w_dim, self.num_ws = z_dim, c_dim, w_dim, num_ws
        self.num_layers, self.w_avg_beta = num_layers, w_avg_beta
        self.embed = EqualLinear(c_dim, w_dim) if c_dim > 0 else None
        features = [z_dim + (w_dim if c_dim > 0 else 0)] + [w_dim] * num_layers
        for i in range(num_layers):
            setattr(self, f"fc{i}", EqualLinear(features[i], features[i + 1], activation="lrelu",
                                                lr_multiplier=lr_multiplier))
        if num_ws is not None and w_avg_beta is not None:  # a label-only mapping (StyleGAN2's D) has no mean
            self.register_buffer("w_avg", torch.zeros(w_dim))

    def forward(self, z: torch.Tensor | None, c: torch.Tensor | None = None,
                truncation_psi: float | torch.Tensor = 1.0, truncation_cutoff: int | None = None,
                update_emas: bool = False) -> torch.Tensor:
        """-> (B, num_ws, w_dim), or (B, w_dim) for a mapping built with num_ws=None. `truncation_psi`: one psi for
        every image, or a tensor (B,) of one per image."""
        x = None
        if self.z_dim > 0:
            if z is None or z.dim() != 2 or z.shape[1] != self.z_dim:
                got = None if z is None else tuple(z.shape)
                raise ValueError(f"z must have shape (batch, {self.z_dim}), got {got}")
            x = normalize_2nd_moment(z.float())
        if self.c_dim > 0:
            batch = "batch" if z is None else z.shape[0]
            if c is None or c.dim() != 2 or c.shape[1] != self.c_dim or (z is not None and len(c) != len(z)):
                got = None if c is None else tuple(c.shape)
                raise ValueError(f"this network is conditional: c must have shape ({batch}, {self.c_dim}), got {got}")
            y = normalize_2nd_moment(self.embed(c.float()))
            x = y if x is None else torch.cat([x, y], dim=1)
        for i in range(self.num_layers):
            x = getattr(self, f"fc{i}")(x)  # (B, w_dim)
        if update_emas and hasattr(self, "w_avg"):
            self.w_avg.copy_(x.detach().mean(dim=0).lerp(self.w_avg, self.w_avg_beta))
        if self.num_ws is None:
            return x
        ws = x.unsqueeze(1).repeat(1, self.num_ws, 1)  # (B, num_ws, w_dim)
        if isinstance(truncation_psi, torch.Tensor):  # one psi per image: (B,) -> (B, 1, 1)
            truncation_psi = truncation_psi.to(ws.device, ws.dtype).reshape(-1, 1, 1)
        if isinstance(truncation_psi, torch.Tensor) or truncation_psi != 1:
            cutoff = self.num_ws if truncation_cutoff is None else truncation_cutoff
            ws[:, :cutoff] = self.w_avg.lerp(ws[:, :cutoff], truncation_psi)  # w_avg + psi (w - w_avg)
        return ws
