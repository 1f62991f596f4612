"""`StyleGANEncoder`: an image -> the w latents a StyleGAN generator renders back (inversion in one forward pass).

Encoder for editing (e4e, Tov et al. 2021) in its simplest form: one w for every layer (the space edits are found in)
plus, with `space="w+"`, an offset per layer that starts at zero, so that the encoder's answers start in W and leave
it only as far as training pays for (the training script's `loss.delta_weight` keeps the offsets small). The
backbone is StyleGAN2's residual discriminator, the same one BlobGAN's encoder uses.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from diffusers import ModelMixin  # noqa: F401  diffusers finds a pipeline component's loader by this name in its module
from diffusers.configuration_utils import register_to_config
from diffusers.utils import BaseOutput

from ..layers.stylegan2 import EqualLinear, ResidualBackbone
from ..modeling_utils import HfGanModel, check_int, power_of_two

SPACES = ("w", "w+")


@dataclass
class StyleGANEncoderOutput(BaseOutput):
    """
    Output of [`StyleGANEncoder`].

    Args:
        ws (`torch.Tensor` of shape `(batch_size, num_ws, w_dim)`): The w latents, ready for
            `generator.synthesize(ws)` or `StyleGANPipeline(ws=...)`.
        deltas (`torch.Tensor` of shape `(batch_size, num_ws, w_dim)`): Each layer's offset from the shared w (zeros
            for `space="w"`): what a W+ encoder adds beyond W.
    """

    ws: torch.Tensor
    deltas: torch.Tensor | None = None


class StyleGANEncoder(HfGanModel):
    r"""
    An encoder for a StyleGAN generator: images -> w latents, `ws = w_avg + w(x) + delta_i(x)` for each layer i.

    `w(x)` is one offset from the generator's mean w shared by every layer; with `space="w+"`, `delta_i(x)` adds one
    offset per layer, its head initialised to zero. Train one for a generator with `training/train_stylegan_encoder.py`;
    a [`StyleGANPipeline`] with an `encoder` inverts with `pipe.invert(images, method="encoder")`.

    Args:
        image_size (`int`, defaults to 64): Input resolution, the generator's `img_resolution`.
        num_ws (`int`, defaults to 10): The generator's number of w layers (`generator.num_ws`).
        w_dim (`int`, defaults to 512): The generator's w size.
        space (`str`, defaults to `"w+"`): `"w"` (one w for every layer) or `"w+"` (plus a per-layer offset).
        channel_base (`int`, defaults to 512): Channels at resolution r are `channel_base / r`, ...
        channel_max (`int`, defaults to 128): ... capped at `channel_max`.

    Example:

    ```py
    >>> import torch
    >>> from hfgan import StyleGAN2Generator, StyleGANEncoder

    >>> generator = StyleGAN2Generator(z_dim=8, w_dim=8, img_resolution=16, mapping_layers=2, channel_base=64,
    ...                                channel_max=8)
    >>> encoder = StyleGANEncoder.for_generator(generator, channel_base=64, channel_max=8)
    >>> ws = encoder(torch.rand(2, 3, 16, 16) * 2 - 1).ws  # images in [-1, 1]
    >>> tuple(ws.shape), tuple(generator.synthesize(ws).shape)
    ((2, 6, 8), (2, 3, 16, 16))
    ```
    """

    _hub_tags = ["stylegan", "editing"]
    _card_task = "image-feature-extraction"  # an image in, a representation (its w latents) out

    @register_to_config
    def __init__(self, image_size: int = 64, num_ws: int = 10, w_dim: int = 512, space: str = "w+",
                 channel_base: int = 512, channel_max: int = 128):
        super().__init__()
        power_of_two("image_size", image_size, 4)
        for name, value in (("num_ws", num_ws), ("w_dim", w_dim), ("channel_base", channel_base),
                            ("channel_max", channel_max)):
            check_int(name, value)
        if space not in SPACES:
            raise ValueError(f"space must be one of {SPACES}, got {space!r}")
        self.backbone = ResidualBackbone(image_size, channel_base, channel_max, 0)  # no batch statistics
        features = self.backbone.out_features
        self.w_head = EqualLinear(features, w_dim)  # (B, C_4) -> (B, w_dim)
        # per-layer offsets start at exactly zero: an untrained W+ encoder answers in W
        self.delta_head = EqualLinear(features, num_ws * w_dim, weight_init=0.0) if space == "w+" else None
        self.register_buffer("w_avg", torch.zeros(w_dim))  # the generator's mean w, set by `start_at`

    @classmethod
    def for_generator(cls, generator, **kwargs) -> StyleGANEncoder:
        """An encoder sized for `generator` (its resolution, num_ws and w_dim), starting at its mean w."""
        encoder = cls(image_size=generator.config.img_resolution, num_ws=generator.num_ws,
                      w_dim=generator.config.w_dim, **kwargs)
        encoder.start_at(generator.mapping.w_avg)
        return encoder

    @torch.no_grad()
    def start_at(self, w_avg: torch.Tensor) -> None:
        """Answer relative to `w_avg` (w_dim,), the generator's mean w: an untrained encoder then gives typical
        images rather than arbitrary ones."""
        if tuple(w_avg.shape) != (self.config.w_dim,):
            raise ValueError(f"w_avg must have shape ({self.config.w_dim},), got {tuple(w_avg.shape)}")
        self.w_avg.copy_(w_avg)

    def check_generator(self, generator) -> None:
        """Raise ValueError naming each mismatch unless this encoder's ws fit `generator`."""
        c = self.config
        expected = {"image_size": generator.config.img_resolution, "num_ws": generator.num_ws,
                    "w_dim": generator.config.w_dim}
        mismatches = [f"{key}={c[key]} here but {value} in the generator" for key, value in expected.items()
                      if c[key] != value]
        if mismatches:
            raise ValueError("the encoder does not fit this generator: " + "; ".join(mismatches))

    def forward(self, images: torch.Tensor, return_dict: bool = True) -> StyleGANEncoderOutput | tuple:
        """
        Args:
            images (`torch.Tensor` of shape `(batch_size, 3, image_size, image_size)`): images in [-1, 1].
            return_dict (`bool`, defaults to `True`): return a [`StyleGANEncoderOutput`] instead of a tuple
                `(ws, deltas)`.
        """
        c = self.config
        if images.dim() != 4 or tuple(images.shape[1:]) != (3, c.image_size, c.image_size):
            raise ValueError(f"images must have shape (batch_size, 3, {c.image_size}, {c.image_size}), got "
                             f"{tuple(images.shape)}")
        features = self.backbone(images)  # (B, C_4)
        w = self.w_avg + self.w_head(features)  # (B, w_dim)
        if self.delta_head is not None:
            deltas = self.delta_head(features).view(-1, c.num_ws, c.w_dim)  # (B, num_ws, w_dim)
        else:
            deltas = torch.zeros(len(images), c.num_ws, c.w_dim, device=w.device, dtype=w.dtype)
        ws = w.unsqueeze(1) + deltas  # (B, num_ws, w_dim)
        if not return_dict:
            return (ws, deltas)
        return StyleGANEncoderOutput(ws=ws, deltas=deltas)
