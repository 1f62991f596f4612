"""What StyleGAN2's and StyleGAN3's generators share: the output, and the interface z -> w (`map`) -> image
(`synthesize`) that the pipeline, inversion and editing use."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from diffusers.utils import BaseOutput

from ..modeling_utils import HfGanModel


@dataclass
class StyleGANGeneratorOutput(BaseOutput):
    """
    Output of [`StyleGAN3Generator`] and [`StyleGAN2Generator`].

    Args:
        sample (`torch.Tensor` of shape `(batch_size, img_channels, img_resolution, img_resolution)`):
            Generated images, roughly in [-1, 1] (not clamped).
        ws (`torch.Tensor` of shape `(batch_size, num_ws, w_dim)`):
            The w latents each layer received (after truncation), for editing and inversion.
    """

    sample: torch.Tensor
    ws: torch.Tensor | None = None


class StyleGANGenerator(HfGanModel):
    """A generator made of `self.mapping` (a [`MappingNetwork`]) and a `synthesize(ws, noise_mode, update_emas)`."""

    _card_task = "unconditional-image-generation"

    def map(self, z: torch.Tensor, c: torch.Tensor | None = None, truncation_psi: float | torch.Tensor = 1.0,
            truncation_cutoff: int | None = None, update_emas: bool = False) -> torch.Tensor:
        """z (B, z_dim) [and labels (B, c_dim)] -> ws (B, num_ws, w_dim), truncated towards `w_avg` by psi (one for
        every image, or a tensor (B,) of one per image) for the first `truncation_cutoff` layers (all by default)."""
        return self.mapping(z, c, truncation_psi=truncation_psi, truncation_cutoff=truncation_cutoff,
                            update_emas=update_emas)

    @property
    def noise_resolutions(self) -> list[int]:
        """The side of each per-pixel noise map `synthesize(noise=...)` takes, in order (none for StyleGAN3)."""
        return []

    def stored_noise(self) -> list[torch.Tensor]:
        """The fixed noise maps `noise_mode="const"` renders with, as a `noise` list of (1, 1, S, S) maps (copies)."""
        return []

    def synthesize(self, ws: torch.Tensor, noise_mode: str = "random", update_emas: bool = False,
                   noise: list[torch.Tensor] | None = None) -> torch.Tensor:
        raise NotImplementedError

    def forward(self, z: torch.Tensor, c: torch.Tensor | None = None, truncation_psi: float = 1.0,
                truncation_cutoff: int | None = None, noise_mode: str = "random", update_emas: bool = False,
                return_dict: bool = True):
        """z (B, z_dim) -> [`StyleGANGeneratorOutput`] (images and the ws they came from), or a tuple."""
        ws = self.map(z, c, truncation_psi, truncation_cutoff, update_emas=update_emas)
        images = self.synthesize(ws, noise_mode=noise_mode, update_emas=update_emas)
        return StyleGANGeneratorOutput(sample=images, ws=ws) if return_dict else (images, ws)


def check_noise(noise: list[torch.Tensor], resolutions: list[int], batch_size: int) -> None:
    """Raise `ValueError` naming the problem unless `noise` holds one (batch_size or 1, 1, S, S) map per entry of
    `resolutions`."""
    if len(noise) != len(resolutions):
        raise ValueError(f"noise must be a list of {len(resolutions)} maps (one per noise layer, sides {resolutions}), "
                         f"got {len(noise)}")
    for i, (n, res) in enumerate(zip(noise, resolutions)):
        if n.dim() != 4 or n.shape[0] not in (1, batch_size) or n.shape[1:] != (1, res, res):
            raise ValueError(f"noise map {i} must have shape ({batch_size} or 1, 1, {res}, {res}), "
                             f"got {tuple(n.shape)}")
