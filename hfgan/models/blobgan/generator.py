"""`BlobGANGenerator`: a blob layout -> an image, by StyleGAN2 synthesis modulated by the splatted blob styles."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from diffusers import ModelMixin  # noqa: F401  diffusers finds a pipeline component's loader by this name in its module
from diffusers.configuration_utils import register_to_config
from diffusers.utils import BaseOutput
from torch import nn

from ..layers.stylegan2 import SynthesisLayer, ToRGB, stage_channels
from ..modeling_utils import HfGanModel, check_int, power_of_two
from .layout import BlobLayout
from .splat import blob_alphas, halve, splat


@dataclass
class BlobGANGeneratorOutput(BaseOutput):
    """
    Output of [`BlobGANGenerator`].

    Args:
        sample (`torch.Tensor` of shape `(batch_size, 3, image_size, image_size)`):
            Generated images, roughly in [-1, 1] (not clamped: StyleGAN2 has no output nonlinearity).
    """

    sample: torch.Tensor


class BlobGANGenerator(HfGanModel):
    r"""
    BlobGAN's generator: StyleGAN2 synthesis (modulated convolutions with demodulation, noise injection, bilinear
    upsampling, toRGB skip connections) whose input is the layout's structure features splatted on an
    `input_size` grid, and whose every layer is modulated by the layout's style features splatted at that layer's
    resolution, so each blob styles the pixels it covers.

    At each resolution from `input_size` to `image_size`: (an upsampling layer, except at `input_size`) a layer, and a
    toRGB whose output is added to the upsampled RGB of the resolution before.

    Args:
        image_size (`int`, defaults to 64): Output resolution, a power of two.
        input_size (`int`, defaults to 8): Side of the splatted structure grid the synthesis starts from, a power of
            two <= `image_size` (the paper: 16 at 256 px).
        structure_dim (`int`, defaults to 64): Size of the layout's structure features (phi).
        style_dim (`int`, defaults to 64): Size of the layout's style features (psi).
        channel_base (`int`, defaults to 512): Channels at resolution r are `channel_base / r`, ...
        channel_max (`int`, defaults to 64): ... capped at `channel_max` (StyleGAN2's rule; the defaults: 64 channels
            at 8 px down to 8 at 64 px).
        pooled_alphas (`bool`, defaults to `False`): Compute the blobs' alphas once at `image_size` and average them
            down to each coarser grid (as BlobGAN's authors do), instead of sampling each grid at its pixel centres,
            where a blob thinner than a coarse grid's pixel can fall between its samples and vanish there.

    The defaults are the CPU recipe's sizes, which [`BlobLayoutNet`]'s and [`BlobGANEncoder`]'s defaults fit; the
    paper's 256 px sizes are `hfgan.models.blobgan.presets.PAPER_256["generator"]`.

    Example:

    ```py
    >>> import torch
    >>> from hfgan import BlobGANGenerator, BlobLayoutNet

    >>> layout_net = BlobLayoutNet(latent_dim=8, num_blobs=3, structure_dim=4, style_dim=5, hidden_dim=16)
    >>> generator = BlobGANGenerator(image_size=16, input_size=4, structure_dim=4, style_dim=5, channel_base=64,
    ...                              channel_max=8)
    >>> generator(layout_net(torch.randn(2, 8))).sample.shape
    torch.Size([2, 3, 16, 16])
    ```
    """

    _hub_tags = ["blobgan"]
    _card_task = "unconditional-image-generation"

    @register_to_config
    def __init__(
        self,
        image_size: int = 64,
        input_size: int = 8,
        structure_dim: int = 64,
        style_dim: int = 64,
        channel_base: int = 512,
        channel_max: int = 64,
        pooled_alphas: bool = False,
    ):
        super().__init__()
        power_of_two("image_size", image_size, 4)
        power_of_two("input_size", input_size, 1)
        if input_size > image_size:
            raise ValueError(f"input_size ({input_size}) must be <= image_size ({image_size})")
        for name, value in (("structure_dim", structure_dim), ("style_dim", style_dim),
                            ("channel_base", channel_base), ("channel_max", channel_max)):
            check_int(name, value)
        self.resolutions = [input_size * 2**i for i in range(image_size.bit_length() - input_size.bit_length() + 1)]
        channels = [stage_channels(r, channel_base, channel_max) for r in self.resolutions]
        self.input_layer = SynthesisLayer(structure_dim, channels[0], style_dim, input_size)
        self.layers = nn.ModuleList()  # per resolution after the first: an upsampling layer, then a layer
        for r, c_in, c_out in zip(self.resolutions[1:], channels, channels[1:]):
            self.layers.append(nn.ModuleList([SynthesisLayer(c_in, c_out, style_dim, r, up=True),
                                              SynthesisLayer(c_out, c_out, style_dim, r)]))
        self.to_rgb = nn.ModuleList([ToRGB(c, style_dim) for c in channels])

    def check_layout(self, layout: BlobLayout) -> None:
        """Raise `ValueError` naming the mismatch if `layout`'s feature sizes are not this generator's."""
        c = self.config
        for kind, got, expected in (("structure", layout.structure.shape[-1], c.structure_dim),
                                    ("style", layout.style.shape[-1], c.style_dim)):
            if got != expected:
                raise ValueError(f"the layout's {kind} features have size {got}, but this generator takes "
                                 f"{kind}_dim={expected}: the layout network and the generator do not match")

    def alphas(self, layout: BlobLayout) -> list[torch.Tensor]:
        """The blobs' alphas (B, K + 1, S, S) at each of the synthesis's resolutions, the coarsest first: sampled at
        each grid's pixel centres, or (`pooled_alphas`) averaged down from `image_size`."""
        args = layout.splat_args()
        if not self.config.pooled_alphas:
            return [blob_alphas(*args, r) for r in self.resolutions]
        alphas = [blob_alphas(*args, self.config.image_size)]
        while len(alphas) < len(self.resolutions):  # 2x2 means of 2x2 means: the mean over each coarse pixel
            alphas.append(halve(alphas[-1]))
        return alphas[::-1]  # (B, K + 1, S, S) from the coarsest S

    @staticmethod
    def splat_modulations(alphas: torch.Tensor, styles: torch.Tensor, layers: list[nn.Module],
                          extra: torch.Tensor | None = None) -> tuple[torch.Tensor, ...]:
        """The style maps of `layers` in one splat by `alphas` (B, K + 1, S, S): each blob's style (B, K + 1, E)
        mapped to each layer's input channels by its affine layer, concatenated, spread over the pixels by the
        alphas, and split again; `extra` features (B, K + 1, D) are splatted along and returned last."""
        features = [layer.conv.affine(styles) for layer in layers] + ([extra] if extra is not None else [])
        return splat(alphas, torch.cat(features, dim=2)).split([f.shape[2] for f in features], dim=1)

    def style_maps(self, layout: BlobLayout) -> Iterator[tuple[torch.Tensor, ...]]:
        """Every splat of a forward (`forward` renders from these, `bench_blobgan.py` times them), one resolution at
        a time, the coarsest first, so that a resolution's maps can be freed before the next's are made: the input
        layer's and its ToRGB's style maps and the structure grid, then at each finer resolution the upsampling
        layer's, the layer's and its ToRGB's style maps, (B, C, S, S) each."""
        styles = layout.features("style")  # (B, K + 1, E), the background first
        alphas = self.alphas(layout)
        yield self.splat_modulations(alphas[0], styles, [self.input_layer, self.to_rgb[0]],
                                     extra=layout.features("structure"))
        for a, (up, conv), to_rgb in zip(alphas[1:], self.layers, self.to_rgb[1:]):
            yield self.splat_modulations(a, styles, [up, conv, to_rgb])

    def forward(self, layout: BlobLayout, noise_mode: str = "random", return_dict: bool = True):
        """
        Args:
            layout ([`BlobLayout`]): the blobs of a batch, e.g. from [`BlobLayoutNet`] or an edit of its output.
            noise_mode (`str`, defaults to `"random"`): `"random"` draws fresh noise (training), `"const"` uses the
                fixed noise maps stored with the weights (the same layout always renders the same image), `"none"`.
            return_dict (`bool`, defaults to `True`): return a [`BlobGANGeneratorOutput`] instead of a tuple.
        """
        self.check_layout(layout)
        maps = self.style_maps(layout.to(self.device, self.dtype))
        s_in, s_rgb, structure = next(maps)
        x = self.input_layer(structure, s_in, noise_mode)  # (B, C0, S0, S0) from the splatted structure grid
        rgb = self.to_rgb[0](x, s_rgb)  # (B, 3, S0, S0)
        for (s_up, s_conv, s_rgb), (up, conv), to_rgb in zip(maps, self.layers, self.to_rgb[1:]):
            x = conv(up(x, s_up, noise_mode), s_conv, noise_mode)  # (B, C, S, S), S twice the last
            rgb = F.interpolate(rgb, scale_factor=2, mode="bilinear", align_corners=False) + to_rgb(x, s_rgb)
        if not return_dict:
            return (rgb,)
        return BlobGANGeneratorOutput(sample=rgb)
