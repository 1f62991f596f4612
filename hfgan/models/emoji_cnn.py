"""EmojiFeatureNet: the small offline feature network behind the `emoji-cnn` metrics.

It is a plain convolutional classifier trained by `training/train_feature_net.py` on the shipped emoji dataset's
Unicode group and subgroup labels. Its pooled features (the input of the classification heads) play the role that
Inception-V3's pool features play in FID, but on a machine with no network. Distances computed on them are reported
as `fd_emoji_cnn`, `kid_emoji_cnn`, ...: never as FID, and never comparable with a published FID.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from diffusers.configuration_utils import register_to_config
from diffusers.utils import BaseOutput
from torch import nn

from .modeling_utils import HfGanModel, check_int


@dataclass
class EmojiFeatureNetOutput(BaseOutput):
    """
    Output of [`EmojiFeatureNet`].

    Args:
        features (`torch.Tensor` of shape `(batch_size, feature_dim)`):
            Globally average-pooled activations of the last convolution (after ReLU): the metric features.
        group_logits (`torch.Tensor` of shape `(batch_size, num_groups)`):
            Logits of the Unicode group classifier.
        subgroup_logits (`torch.Tensor` of shape `(batch_size, num_subgroups)`):
            Logits of the Unicode subgroup classifier.
    """

    features: torch.Tensor
    group_logits: torch.Tensor | None = None
    subgroup_logits: torch.Tensor | None = None


def _conv_bn_relu(in_channels: int, out_channels: int, stride: int) -> list[nn.Module]:
    return [
        nn.Conv2d(in_channels, out_channels, 3, stride, 1, bias=False),
        nn.BatchNorm2d(out_channels),
        nn.ReLU(inplace=True),
    ]


class EmojiFeatureNet(HfGanModel):
    r"""
    A small CNN for 64x64 RGB images: five 3x3 convolutions (four of stride 2), global average pooling, and two
    linear classifier heads.

    Images are expected in [-1, 1] at `image_size` pixels; [`hfgan.metrics.backbones.EmojiCNNBackbone`] does that
    preprocessing (resize, scale) from [0, 1] images of any size.

    Args:
        num_groups (`int`, defaults to 9): Classes of the first head (Unicode emoji groups).
        num_subgroups (`int`, defaults to 100): Classes of the second head (Unicode emoji subgroups).
        base_channels (`int`, defaults to 32): Channels of the first stage; each later stage doubles them.
        image_size (`int`, defaults to 64): Resolution the network was trained at.
        group_names (`list[str]`, *optional*): Names of the group classes, in logit order.
        subgroup_names (`list[str]`, *optional*): Names of the subgroup classes, in logit order.

    Example:

    ```py
    >>> import torch
    >>> from hfgan.models import EmojiFeatureNet

    >>> net = EmojiFeatureNet(num_groups=3, num_subgroups=5, base_channels=4).eval()
    >>> out = net(torch.rand(2, 3, 64, 64) * 2 - 1)
    >>> tuple(out.features.shape), tuple(out.subgroup_logits.shape)
    ((2, 32), (2, 5))
    ```
    """

    _card_task = "image-feature-extraction"  # the pooled features are what it is for; the heads only trained them

    @register_to_config
    def __init__(
        self,
        num_groups: int = 9,
        num_subgroups: int = 100,
        base_channels: int = 32,
        image_size: int = 64,
        group_names: list[str] | None = None,
        subgroup_names: list[str] | None = None,
    ):
        super().__init__()
        check_int("num_groups", num_groups)
        check_int("num_subgroups", num_subgroups)
        check_int("base_channels", base_channels)
        check_int("image_size", image_size, minimum=16)
        c = base_channels
        self.features = nn.Sequential(
            *_conv_bn_relu(3, c, 2),  # 64 -> 32
            *_conv_bn_relu(c, 2 * c, 2),  # 32 -> 16
            *_conv_bn_relu(2 * c, 2 * c, 1),
            *_conv_bn_relu(2 * c, 4 * c, 2),  # 16 -> 8
            *_conv_bn_relu(4 * c, 8 * c, 2),  # 8 -> 4
            nn.AdaptiveAvgPool2d(1),
            nn.Flatten(),
        )
        self.group_head = nn.Linear(8 * c, num_groups)
        self.subgroup_head = nn.Linear(8 * c, num_subgroups)

    @property
    def feature_dim(self) -> int:
        """Size of the `features` vector (8 x `base_channels`)."""
        return self.group_head.in_features

    def forward(self, images: torch.Tensor, return_dict: bool = True) -> EmojiFeatureNetOutput | tuple:
        """
        Args:
            images (`torch.Tensor` of shape `(batch_size, 3, image_size, image_size)`), in [-1, 1].
            return_dict (`bool`, defaults to `True`): return an [`EmojiFeatureNetOutput`] instead of a tuple
                `(features, group_logits, subgroup_logits)`.
        """
        if images.dim() != 4 or images.shape[1] != 3:
            raise ValueError(f"images must have shape (batch_size, 3, height, width), got {tuple(images.shape)}")
        features = self.features(images)
        group_logits, subgroup_logits = self.group_head(features), self.subgroup_head(features)
        if not return_dict:
            return (features, group_logits, subgroup_logits)
        return EmojiFeatureNetOutput(features=features, group_logits=group_logits, subgroup_logits=subgroup_logits)
