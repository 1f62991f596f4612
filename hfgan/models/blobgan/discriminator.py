"""`BlobGANDiscriminator`: StyleGAN2's residual discriminator with minibatch standard deviation.

Its backbone (`ResidualBackbone` from `hfgan.models.layers.stylegan2`: image -> one feature vector) is shared with
BlobGAN's encoder, which asks the same architecture for blobs instead of a real/fake logit.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from diffusers import ModelMixin  # noqa: F401  diffusers finds a pipeline component's loader by this name in its module
from diffusers.configuration_utils import register_to_config
from diffusers.utils import BaseOutput

from ..layers.stylegan2 import EqualLinear, ResidualBackbone
from ..modeling_utils import HfGanModel, check_int, power_of_two


@dataclass
class BlobGANDiscriminatorOutput(BaseOutput):
    """
    Output of [`BlobGANDiscriminator`].

    Args:
        logits (`torch.Tensor` of shape `(batch_size,)`): Real/fake logits (pre-sigmoid).
        features (`torch.Tensor` of shape `(batch_size, channels)`): The backbone's features before the last layer.
    """

    logits: torch.Tensor
    features: torch.Tensor | None = None


class BlobGANDiscriminator(HfGanModel):
    r"""
    BlobGAN's discriminator, StyleGAN2's residual architecture: fromRGB, residual blocks that halve the resolution
    down to 4x4, minibatch standard deviation, a convolution and two linear layers to one real/fake logit.

    Args:
        image_size (`int`, defaults to 64): Input resolution, a power of two >= 4.
        channel_base (`int`, defaults to 512): Channels at resolution r are `channel_base / r`, ...
        channel_max (`int`, defaults to 64): ... capped at `channel_max`.
        mbstd_group_size (`int`, defaults to 4): Images per minibatch-standard-deviation group (0 disables it; a
            batch not divisible by it uses the largest group size that divides it).

    The defaults are the CPU recipe's sizes, as the other BlobGAN classes'; the paper's 256 px sizes are
    `hfgan.models.blobgan.presets.PAPER_256["discriminator"]`.

    Example:

    ```py
    >>> import torch
    >>> from hfgan import BlobGANDiscriminator

    >>> discriminator = BlobGANDiscriminator(image_size=16, channel_base=64, channel_max=8)
    >>> discriminator(torch.randn(4, 3, 16, 16)).logits.shape
    torch.Size([4])
    ```
    """

    _hub_tags = ["blobgan"]
    _card_task = "unconditional-image-generation"

    @register_to_config
    def __init__(self, image_size: int = 64, channel_base: int = 512, channel_max: int = 64,
                 mbstd_group_size: int = 4):
        super().__init__()
        power_of_two("image_size", image_size, 4)
        check_int("channel_base", channel_base)
        check_int("channel_max", channel_max)
        check_int("mbstd_group_size", mbstd_group_size, minimum=0)
        self.backbone = ResidualBackbone(image_size, channel_base, channel_max, mbstd_group_size)
        self.head = EqualLinear(self.backbone.out_features, 1)

    def forward(self, images: torch.Tensor, return_dict: bool = True):
        """
        Args:
            images (`torch.Tensor` of shape `(batch_size, 3, image_size, image_size)`): images in [-1, 1].
        """
        size = self.config.image_size
        if images.dim() != 4 or tuple(images.shape[1:]) != (3, size, size):
            raise ValueError(f"images must have shape (batch_size, 3, {size}, {size}), got {tuple(images.shape)}")
        features = self.backbone(images)  # (B, C)
        logits = self.head(features).squeeze(1)  # (B,)
        if not return_dict:
            return (logits, features)
        return BlobGANDiscriminatorOutput(logits=logits, features=features)
