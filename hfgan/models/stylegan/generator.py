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
    ws: torch.Tensor


class StyleGANGenerator(HfGanModel):
    """A generator made of `self.mapping` (a [`MappingNetwork`]) and a `synthesize(ws, noise_mode, update_emas)`."""

    _card_task = "unconditional-image-generation"

    def map(self, z: torch.Tensor, c: torch.Tensor | None = None, truncation_psi: float | torch.Tensor = 1.0,
            truncation_cutoff: int | None = None, update_emas: bool = False) -> torch.Tensor:
        """z (B, z_dim) [and labels (B, c_dim)] -> ws (B, num_ws, w_dim), truncated towards `w_avg` by psi (one for
        every image, or a tensor (B,) of one per image) for the first `truncation_cutoff` layers (all by default)."""
        return self.mapping(z, c, truncation_psi=truncation_psi, truncation_cutoff=truncation_cutoff,
                            update_emas=update_emas)

    def synthesize(self, ws: torch.Tensor, noise_mode: str = "random", update_emas: bool = False) -> torch.Tensor:
        raise NotImplementedError

    def forward(self, z: torch.Tensor, c: torch.Tensor | None = None, truncation_psi: float = 1.0,
                truncation_cutoff: int | None = None, noise_mode: str = "random", update_emas: bool = False,
                return_dict: bool = True):
        """z (B, z_dim) -> [`StyleGANGeneratorOutput`] (images and the ws they came from), or a tuple."""
        ws = self.map(z, c, truncation_psi, truncation_cutoff, update_emas=update_emas)
        images = self.synthesize(ws, noise_mode=noise_mode, update_emas=update_emas)
        return StyleGANGeneratorOutput(sample=images, ws=ws) if return_dict else (images, ws)
