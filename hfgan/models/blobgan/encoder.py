"""`BlobGANEncoder`: an image -> the blob layout that BlobGAN's generator renders back (inversion).

The discriminator's architecture (`ResidualBackbone`), asked not for real/fake but for blobs: its last features go
through one linear layer to the raw layout vector beta, the unconstrained vector the layout network outputs before its
nonlinearities, and `decode_layout` (the layout network's own) turns beta into a [`BlobLayout`]. So every encoded
layout is a valid one, and the encoder can be trained to match the layout network's beta on generated images.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from diffusers import ModelMixin  # noqa: F401  diffusers finds a pipeline component's loader by this name in its module
from diffusers.configuration_utils import register_to_config
from diffusers.utils import BaseOutput

from ..layers.stylegan2 import EqualLinear, ResidualBackbone
from ..modeling_utils import HfGanModel, check_int, power_of_two
from .layout import BlobLayout
from .layout_net import decode_layout, raw_layout_dim, shape_floor

# what must agree between the encoder and a layout network or generator it works with
_LAYOUT_KEYS = ("num_blobs", "structure_dim", "style_dim", "blob_variance", "max_aspect_ratio", "image_size")


@dataclass
class BlobGANEncoderOutput(BaseOutput):
    """
    Output of [`BlobGANEncoder`].

    Args:
        raw (`torch.Tensor` of shape `(batch_size, raw_dim)`): The raw layout vector beta, before the layout's
            nonlinearities (the space [`BlobLayoutNet.raw`] outputs and truncation interpolates).
        layout ([`BlobLayout`]): beta decoded by [`decode_layout`]: K blobs and a background, ready to render.
    """

    raw: torch.Tensor
    layout: BlobLayout | None = None


class BlobGANEncoder(HfGanModel):
    r"""
    BlobGAN's encoder for inversion: StyleGAN2's residual discriminator backbone (fromRGB, residual blocks down to
    4x4, a convolution and a linear layer) and a linear head to the raw layout vector beta of K blobs and a
    background, decoded by the layout network's own nonlinearities ([`decode_layout`]).

    Minibatch standard deviation is off by default: an encoder's answer for an image must not depend on the other
    images of its batch.

    Args:
        image_size (`int`, defaults to 64): Input resolution, a power of two >= 4: the generator's output size.
        num_blobs (`int`, defaults to 10): K, as the layout network's.
        structure_dim (`int`, defaults to 64): Size of phi, as the layout network's and the generator's.
        style_dim (`int`, defaults to 64): Size of psi, as the layout network's and the generator's.
        blob_variance (`float`, defaults to 0.01): As the layout network's (it sets how beta decodes to blob shapes).
        channel_base (`int`, defaults to 512): Channels at resolution r are `channel_base / r`, ...
        channel_max (`int`, defaults to 64): ... capped at `channel_max`.
        mbstd_group_size (`int`, defaults to 0): Minibatch standard deviation group (0: off, the default).
        max_aspect_ratio (`float`, *optional*): As the layout network's (it bounds the shapes beta decodes to).

    The defaults are the CPU recipe's sizes, as the other BlobGAN classes'; the paper's 256 px sizes are
    `hfgan.models.blobgan.presets.PAPER_256["encoder"]`.

    Example:

    ```py
    >>> import torch
    >>> from hfgan import BlobGANEncoder, BlobGANGenerator

    >>> encoder = BlobGANEncoder(image_size=16, num_blobs=3, structure_dim=4, style_dim=4, channel_base=64,
    ...                          channel_max=8)
    >>> output = encoder(torch.rand(2, 3, 16, 16) * 2 - 1)  # images in [-1, 1]
    >>> tuple(output.raw.shape), output.layout.num_blobs
    ((2, 53), 3)
    >>> generator = BlobGANGenerator(image_size=16, input_size=4, structure_dim=4, style_dim=4, channel_base=64,
    ...                              channel_max=8)
    >>> encoder.check_compatible(generator)  # raises ValueError naming any mismatch
    >>> generator(output.layout).sample.shape
    torch.Size([2, 3, 16, 16])
    ```
    """

    _hub_tags = ["blobgan"]
    _card_task = "image-feature-extraction"  # an image in, a representation (the layout) out

    @register_to_config
    def __init__(
        self,
        image_size: int = 64,
        num_blobs: int = 10,
        structure_dim: int = 64,
        style_dim: int = 64,
        blob_variance: float = 0.01,
        channel_base: int = 512,
        channel_max: int = 64,
        mbstd_group_size: int = 0,
        max_aspect_ratio: float | None = None,
    ):
        super().__init__()
        power_of_two("image_size", image_size, 4)
        for name, value in (("num_blobs", num_blobs), ("structure_dim", structure_dim), ("style_dim", style_dim),
                            ("channel_base", channel_base), ("channel_max", channel_max)):
            check_int(name, value)
        check_int("mbstd_group_size", mbstd_group_size, minimum=0)
        if not blob_variance > 0:
            raise ValueError(f"blob_variance must be > 0, got {blob_variance}")
        shape_floor(max_aspect_ratio)  # raises on a ratio <= 1
        self.backbone = ResidualBackbone(image_size, channel_base, channel_max, mbstd_group_size)
        self.head = EqualLinear(self.backbone.out_features, self.raw_dim)  # (B, C_4) -> (B, raw_dim)

    @property
    def raw_dim(self) -> int:
        c = self.config
        return raw_layout_dim(c.num_blobs, c.structure_dim, c.style_dim)

    def check_compatible(self, model) -> None:
        """Raise `ValueError` naming every mismatch unless this encoder's layouts fit `model`: a [`BlobLayoutNet`]
        (the same K, feature sizes and blob variance, so beta means the same thing), a [`BlobGANGenerator`] (the same
        feature sizes, and the image size it renders, which the encoder reads) or a [`BlobGANPipeline`] (both)."""
        models = [model.layout_net, model.generator] if hasattr(model, "layout_net") else [model]
        mismatches = []
        for other in models:
            config = getattr(other, "config", None)
            if config is None:
                raise ValueError(f"check_compatible takes a BlobLayoutNet, a BlobGANGenerator or a BlobGANPipeline, "
                                 f"got {type(other).__name__}")
            for key in _LAYOUT_KEYS:
                if key in config and config[key] != self.config[key]:
                    mismatches.append(f"{key}={self.config[key]!r} here but {config[key]!r} in the "
                                      f"{type(other).__name__}")
        if mismatches:
            raise ValueError("the encoder's layouts do not fit: " + "; ".join(mismatches))

    @torch.no_grad()
    def init_from_discriminator(self, discriminator) -> None:
        """Copy a trained [`BlobGANDiscriminator`]'s backbone into this encoder's (the same architecture): training
        then starts from features that already tell real scenes apart, not from random ones. The sizes must match
        (`image_size`, `channel_base`, `channel_max`); the discriminator's minibatch standard deviation channel, the
        last input of its 4x4 convolution, has no counterpart here and is dropped. The head is left as it is."""
        mismatches = [f"{key}={self.config[key]!r} here but {discriminator.config[key]!r} in the discriminator"
                      for key in ("image_size", "channel_base", "channel_max")
                      if discriminator.config[key] != self.config[key]]
        if mismatches:
            raise ValueError("the discriminator's backbone does not fit this encoder: " + "; ".join(mismatches))
        source = discriminator.backbone.state_dict()
        for name, tensor in self.backbone.state_dict().items():
            value = source[name]
            if name == "conv.weight":  # (C, C + 1, 3, 3) with minibatch stddev -> (C, C, 3, 3)
                # the equalised learning rate scales by 1/sqrt(fan-in): keep the weights the convolution applies
                value = value[:, : tensor.shape[1]] * (discriminator.backbone.conv.scale / self.backbone.conv.scale)
            tensor.copy_(value)

    @torch.no_grad()
    def start_at(self, raw_mean: torch.Tensor) -> None:
        """Set the head's bias to `raw_mean` (the layout network's `output_mean`), so that an untrained encoder
        predicts about the mean layout instead of arbitrary blobs: training starts from valid, typical scenes."""
        if tuple(raw_mean.shape) != (self.raw_dim,):
            raise ValueError(f"raw_mean must have shape ({self.raw_dim},), got {tuple(raw_mean.shape)}")
        self.head.bias.copy_(raw_mean)

    def decode(self, raw: torch.Tensor) -> BlobLayout:
        """Raw layout vectors (B, raw_dim) -> a [`BlobLayout`] (`decode_layout` with this encoder's sizes)."""
        c = self.config
        return decode_layout(raw, c.num_blobs, c.structure_dim, c.style_dim, c.blob_variance, c.max_aspect_ratio)

    def forward(self, images: torch.Tensor, return_dict: bool = True):
        """
        Args:
            images (`torch.Tensor` of shape `(batch_size, 3, image_size, image_size)`): images in [-1, 1].
            return_dict (`bool`, defaults to `True`): return a [`BlobGANEncoderOutput`] instead of a tuple
                `(raw, layout)`.
        """
        c = self.config
        size = c.image_size
        if images.dim() != 4 or tuple(images.shape[1:]) != (3, size, size):
            raise ValueError(f"images must have shape (batch_size, 3, {size}, {size}), got {tuple(images.shape)}")
        raw = self.head(self.backbone(images))  # (B, raw_dim)
        layout = self.decode(raw)
        if not return_dict:
            return (raw, layout)
        return BlobGANEncoderOutput(raw=raw, layout=layout)
