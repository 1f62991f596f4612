"""DCGAN generator and discriminator (Radford et al., 2015) in the diffusers style.

With default arguments both networks are exactly the classic PyTorch DCGAN tutorial architecture
(nz=100, ngf=ndf=64, 3x64x64 images); `image_size` adds or removes a stride-2 stage.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from diffusers import ModelMixin  # noqa: F401  diffusers finds a pipeline component's loader by this name in its module
from diffusers.configuration_utils import register_to_config
from diffusers.utils import BaseOutput
from torch import nn

from .modeling_utils import HfGanModel, check_int, num_stages


def dcgan_init_(module: nn.Module) -> None:
    """DCGAN weight init: conv weights ~ N(0, 0.02); BatchNorm weight ~ N(1, 0.02), bias 0."""
    if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d)):
        nn.init.normal_(module.weight, 0.0, 0.02)
    elif isinstance(module, nn.BatchNorm2d):
        nn.init.normal_(module.weight, 1.0, 0.02)
        nn.init.zeros_(module.bias)


@dataclass
class DCGANGeneratorOutput(BaseOutput):
    """
    Output of [`DCGANGenerator`].

    Args:
        sample (`torch.Tensor` of shape `(batch_size, num_channels, image_size, image_size)`):
            Generated images in [-1, 1].
    """

    sample: torch.Tensor


@dataclass
class DCGANDiscriminatorOutput(BaseOutput):
    """
    Output of [`DCGANDiscriminator`].

    Args:
        probs (`torch.Tensor` of shape `(batch_size,)`):
            Probability that each image is real: the output of the seed's final Sigmoid.
        logits (`torch.Tensor` of shape `(batch_size,)`):
            Pre-sigmoid logit, for numerically stable losses (`F.binary_cross_entropy_with_logits`).
        features (`torch.Tensor` of shape `(batch_size, 8 * base_channels, 4, 4)` at 64 px):
            Activations before the last convolution, for feature matching, linear probes and classifier heads.
    """

    probs: torch.Tensor
    logits: torch.Tensor
    features: torch.Tensor


class DCGANGenerator(HfGanModel):
    r"""
    DCGAN generator: a latent vector is projected to a 4x4 map and upsampled by stride-2 transposed convolutions.

    Args:
        latent_dim (`int`, defaults to 100): Size of the latent vector `z` (the seed's `nz`).
        base_channels (`int`, defaults to 64): Channels of the last hidden stage (the seed's `ngf`); each earlier
            stage doubles it.
        image_size (`int`, defaults to 64): Output resolution, a power of two >= 8 (64 is the seed; 32 and 128 remove
            or add a stage).
        num_channels (`int`, defaults to 3): Channels of the generated images.

    Example:

    ```py
    >>> import torch
    >>> from hfgan import DCGANGenerator

    >>> generator = DCGANGenerator(latent_dim=16, base_channels=8, image_size=16)
    >>> images = generator(torch.randn(4, 16)).sample
    >>> tuple(images.shape)
    (4, 3, 16, 16)
    ```
    """

    _hub_tags = ["dcgan"]
    _card_task = "unconditional-image-generation"
    _card_usage = """\
import torch
from hfgan import DCGANGenerator

generator = DCGANGenerator.from_pretrained("{{ repo_id }}").eval()
images = generator(torch.randn(16, generator.config.latent_dim)).sample  # (16, 3, H, W) in [-1, 1]"""

    @register_to_config
    def __init__(self, latent_dim: int = 100, base_channels: int = 64, image_size: int = 64, num_channels: int = 3):
        super().__init__()
        check_int("latent_dim", latent_dim)
        check_int("base_channels", base_channels)
        check_int("num_channels", num_channels)
        stages = num_stages(image_size)

        channels = base_channels * 2**stages  # 512 at 64 px with base 64
        layers: list[nn.Module] = [
            nn.ConvTranspose2d(latent_dim, channels, 4, 1, 0, bias=False),  # (B, nz, 1, 1) -> (B, C, 4, 4)
            nn.BatchNorm2d(channels),
            nn.ReLU(True),
        ]
        for _ in range(stages):  # each stage doubles the resolution and halves the channels
            layers += [
                nn.ConvTranspose2d(channels, channels // 2, 4, 2, 1, bias=False),
                nn.BatchNorm2d(channels // 2),
                nn.ReLU(True),
            ]
            channels //= 2
        layers += [nn.ConvTranspose2d(channels, num_channels, 4, 2, 1, bias=False), nn.Tanh()]  # -> (B, 3, S, S)
        self.main = nn.Sequential(*layers)
        self.apply(dcgan_init_)

    def forward(self, latents: torch.Tensor, return_dict: bool = True) -> DCGANGeneratorOutput | tuple:
        """
        Args:
            latents (`torch.Tensor` of shape `(batch_size, latent_dim)` or `(batch_size, latent_dim, 1, 1)`).
            return_dict (`bool`, defaults to `True`): return a [`DCGANGeneratorOutput`] instead of a tuple.
        """
        latent_dim = self.config.latent_dim
        if latents.dim() == 2 and latents.shape[1] == latent_dim:
            latents = latents[:, :, None, None]  # (B, nz) -> (B, nz, 1, 1)
        elif not (latents.dim() == 4 and tuple(latents.shape[1:]) == (latent_dim, 1, 1)):
            raise ValueError(
                f"latents must have shape (batch_size, {latent_dim}) or (batch_size, {latent_dim}, 1, 1), "
                f"got {tuple(latents.shape)}"
            )
        sample = self.main(latents)
        if not return_dict:
            return (sample,)
        return DCGANGeneratorOutput(sample=sample)


class DCGANDiscriminator(HfGanModel):
    r"""
    DCGAN discriminator: stride-2 convolutions down to a 4x4 map, then one 4x4 convolution to a real/fake logit.

    `main` keeps the seed's final Sigmoid; `forward` also returns the pre-sigmoid logit (for stable losses) and the
    features before the last convolution (for classifiers and linear probes).

    Args:
        base_channels (`int`, defaults to 64): Channels of the first stage (the seed's `ndf`); each later stage
            doubles it.
        image_size (`int`, defaults to 64): Input resolution, a power of two >= 8.
        num_channels (`int`, defaults to 3): Channels of the input images.

    Example:

    ```py
    >>> import torch
    >>> from hfgan import DCGANDiscriminator

    >>> discriminator = DCGANDiscriminator(base_channels=8, image_size=16)
    >>> out = discriminator(torch.rand(4, 3, 16, 16) * 2 - 1)
    >>> tuple(out.logits.shape), tuple(out.features.shape)
    ((4,), (4, 16, 4, 4))
    ```
    """

    _hub_tags = ["dcgan"]
    _card_task = "image-classification"  # real vs. generated, and with class logits a classifier

    @register_to_config
    def __init__(self, base_channels: int = 64, image_size: int = 64, num_channels: int = 3):
        super().__init__()
        check_int("base_channels", base_channels)
        check_int("num_channels", num_channels)
        stages = num_stages(image_size)

        channels = base_channels
        layers: list[nn.Module] = [
            nn.Conv2d(num_channels, channels, 4, 2, 1, bias=False),  # (B, 3, S, S) -> (B, C, S/2, S/2)
            nn.LeakyReLU(0.2, inplace=True),
        ]
        for _ in range(stages):  # each stage halves the resolution and doubles the channels
            layers += [
                nn.Conv2d(channels, channels * 2, 4, 2, 1, bias=False),
                nn.BatchNorm2d(channels * 2),
                nn.LeakyReLU(0.2, inplace=True),
            ]
            channels *= 2
        layers += [nn.Conv2d(channels, 1, 4, 1, 0, bias=False), nn.Sigmoid()]  # (B, C, 4, 4) -> (B, 1, 1, 1)
        self.main = nn.Sequential(*layers)
        self.apply(dcgan_init_)

    @property
    def feature_dim(self) -> int:
        """Channels of `features` (the map is 4x4)."""
        return self.main[-2].in_channels

    def forward(self, images: torch.Tensor, return_dict: bool = True) -> DCGANDiscriminatorOutput | tuple:
        """
        Args:
            images (`torch.Tensor` of shape `(batch_size, num_channels, image_size, image_size)`), in [-1, 1].
            return_dict (`bool`, defaults to `True`): return a [`DCGANDiscriminatorOutput`] instead of a tuple
                `(probs, logits, features)`.
        """
        size, channels = self.config.image_size, self.config.num_channels
        if images.dim() != 4 or tuple(images.shape[1:]) != (channels, size, size):
            raise ValueError(
                f"images must have shape (batch_size, {channels}, {size}, {size}), got {tuple(images.shape)}"
            )
        features = self.main[:-2](images)  # (B, C, 4, 4)
        logits = self.main[-2](features).flatten()  # (B, 1, 1, 1) -> (B,)
        probs = self.main[-1](logits)
        if not return_dict:
            return (probs, logits, features)
        return DCGANDiscriminatorOutput(probs=probs, logits=logits, features=features)
