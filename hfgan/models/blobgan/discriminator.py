"""`BlobGANDiscriminator`: StyleGAN2's residual discriminator with minibatch standard deviation.

Its backbone (`ResidualBackbone`: image -> one feature vector) is shared with BlobGAN's encoder, which asks the same
architecture for blobs instead of a real/fake logit.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from diffusers import ModelMixin  # noqa: F401  diffusers finds a pipeline component's loader by this name in its module
from diffusers.configuration_utils import register_to_config
from diffusers.utils import BaseOutput
from torch import nn

from ..modeling_utils import HfGanModel, check_int
from .generator import power_of_two, stage_channels
from .layers import EqualConv2d, EqualLinear, lrelu, minibatch_stddev


class ResidualBlock(nn.Module):
    """Two 3x3 convolutions then a 2x average-pool, plus a pooled 1x1 skip; the sum is scaled by 1/sqrt(2) to keep
    unit variance. (B, C_in, S, S) -> (B, C_out, S/2, S/2)."""

    def __init__(self, in_channels: int, out_channels: int):
        super().__init__()
        self.conv1 = EqualConv2d(in_channels, in_channels, 3)
        self.conv2 = EqualConv2d(in_channels, out_channels, 3)
        self.skip = EqualConv2d(in_channels, out_channels, 1, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = F.avg_pool2d(lrelu(self.conv2(lrelu(self.conv1(x)))), 2)
        return (y + self.skip(F.avg_pool2d(x, 2))) / math.sqrt(2)


class ResidualBackbone(nn.Module):
    """fromRGB, residual blocks down to 4x4, minibatch standard deviation, a 3x3 convolution and a linear layer:
    (B, 3, S, S) -> (B, C_4) features, C_4 the channels at 4x4."""

    def __init__(self, image_size: int, channel_base: int, channel_max: int, mbstd_group_size: int):
        super().__init__()
        resolutions = [image_size // 2**i for i in range(image_size.bit_length() - 2)]  # S, S/2, ..., 4
        channels = [stage_channels(r, channel_base, channel_max) for r in resolutions]
        self.from_rgb = EqualConv2d(3, channels[0], 1)
        self.blocks = nn.ModuleList([ResidualBlock(a, b) for a, b in zip(channels, channels[1:])])
        self.mbstd_group_size = mbstd_group_size
        self.conv = EqualConv2d(channels[-1] + (1 if mbstd_group_size else 0), channels[-1], 3)
        self.fc = EqualLinear(channels[-1] * 16, channels[-1])
        self.out_features = channels[-1]

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        x = lrelu(self.from_rgb(images))  # (B, C_S, S, S)
        for block in self.blocks:
            x = block(x)  # halves the resolution, down to (B, C_4, 4, 4)
        if self.mbstd_group_size:
            x = minibatch_stddev(x, self.mbstd_group_size)  # (B, C_4 + 1, 4, 4)
        x = lrelu(self.conv(x))
        return lrelu(self.fc(x.flatten(1)))  # (B, C_4)


@dataclass
class BlobGANDiscriminatorOutput(BaseOutput):
    """
    Output of [`BlobGANDiscriminator`].

    Args:
        logits (`torch.Tensor` of shape `(batch_size,)`): Real/fake logits (pre-sigmoid).
        features (`torch.Tensor` of shape `(batch_size, channels)`): The backbone's features before the last layer.
    """

    logits: torch.Tensor
    features: torch.Tensor


class BlobGANDiscriminator(HfGanModel):
    r"""
    BlobGAN's discriminator, StyleGAN2's residual architecture: fromRGB, residual blocks that halve the resolution
    down to 4x4, minibatch standard deviation, a convolution and two linear layers to one real/fake logit.

    Args:
        image_size (`int`, defaults to 256): Input resolution, a power of two >= 4.
        channel_base (`int`, defaults to 32768): Channels at resolution r are `channel_base / r`, ...
        channel_max (`int`, defaults to 512): ... capped at `channel_max`.
        mbstd_group_size (`int`, defaults to 4): Images per minibatch-standard-deviation group (0 disables it; a
            batch not divisible by it uses the largest group size that divides it).

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
    def __init__(self, image_size: int = 256, channel_base: int = 32768, channel_max: int = 512,
                 mbstd_group_size: int = 4):  # fmt: skip
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
