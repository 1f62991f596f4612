"""StyleGAN2's generator and discriminator (Karras et al., 2020, "Analyzing and Improving the Image Quality of
StyleGAN"; the ADA code base's configuration) in plain PyTorch: no custom CUDA ops, float32 on a CPU.

The generator starts from a learned 4x4 constant; each block upsamples 2x through a [1, 3, 3, 1] low-pass filter
inside a modulated convolution, adds per-pixel noise, and adds its toRGB output to the upsampled image so far ("skip"
architecture). The discriminator is residual (or plain, "orig"), with minibatch standard deviation and, for a
conditional network, a projection of the mapped label. [`StyleGAN2Discriminator`] is the discriminator of both
StyleGAN2 and StyleGAN3 (StyleGAN3 kept StyleGAN2's).

Parameter and buffer names (`synthesis.b8.conv0.weight`, `b64.skip.weight`, `b4.fc.bias`, ...) are NVIDIA's, so
converting their networks is a copy of tensors (`hfgan convert-pkl`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from diffusers import ModelMixin  # noqa: F401  diffusers finds a pipeline component's loader by this name in its module
from diffusers.configuration_utils import register_to_config
from diffusers.utils import BaseOutput
from torch import nn

from ..layers.filters import conv2d_resample, setup_filter, upsample2d
from ..layers.stylegan2 import EqualLinear, minibatch_stddev, modulated_conv2d
from ..modeling_utils import HfGanModel, check_int, power_of_two
from .mapping import MappingNetwork
from .generator import StyleGANGenerator, check_noise


def bias_act(x: torch.Tensor, bias: torch.Tensor | None, lrelu: bool, gain: float = 1.0,
             clamp: float | None = None) -> torch.Tensor:
    """Add a per-channel bias, then leaky ReLU (0.2) times sqrt(2) if `lrelu`, times `gain`, clamped to +-clamp."""
    if bias is not None:
        x = x + bias.view(1, -1, *([1] * (x.dim() - 2)))
    if lrelu:
        x = torch.nn.functional.leaky_relu(x, 0.2) * math.sqrt(2.0)
    if gain != 1:
        x = x * gain
    return x if clamp is None else x.clamp(-clamp, clamp)


class Conv2dLayer(nn.Module):
    """An equalised-rate convolution, optionally 2x up- or downsampling through the [1, 3, 3, 1] filter, with bias,
    activation and clamping (the discriminator's layers)."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, bias: bool = True, lrelu: bool = True,
                 up: int = 1, down: int = 1, conv_clamp: float | None = None):
        super().__init__()
        self.lrelu, self.up, self.down, self.conv_clamp = lrelu, up, down, conv_clamp
        self.register_buffer("resample_filter", setup_filter())
        self.padding = kernel_size // 2
        self.weight_gain = 1 / math.sqrt(in_channels * kernel_size**2)
        self.weight = nn.Parameter(torch.randn(out_channels, in_channels, kernel_size, kernel_size))
        self.bias = nn.Parameter(torch.zeros(out_channels)) if bias else None

    def forward(self, x: torch.Tensor, gain: float = 1.0) -> torch.Tensor:
        x = conv2d_resample(x, self.weight * self.weight_gain, self.resample_filter, up=self.up, down=self.down,
                            padding=self.padding)
        clamp = None if self.conv_clamp is None else self.conv_clamp * gain
        return bias_act(x, self.bias, self.lrelu, gain=gain, clamp=clamp)


# ------------------------------------------------------------------------------------------------------- generator


class SynthesisLayer(nn.Module):
    """Modulated 3x3 convolution (2x upsampling when `up=2`), noise times a learned strength, bias, leaky ReLU."""

    def __init__(self, in_channels: int, out_channels: int, w_dim: int, resolution: int, up: int = 1,
                 conv_clamp: float | None = None, kernel_size: int = 3):
        super().__init__()
        self.resolution, self.up, self.conv_clamp, self.padding = resolution, up, conv_clamp, kernel_size // 2
        self.register_buffer("resample_filter", setup_filter())
        self.affine = EqualLinear(w_dim, in_channels, bias_init=1.0)
        self.weight = nn.Parameter(torch.randn(out_channels, in_channels, kernel_size, kernel_size))
        self.register_buffer("noise_const", torch.randn(resolution, resolution))  # for noise_mode="const"
        self.noise_strength = nn.Parameter(torch.zeros(()))
        self.bias = nn.Parameter(torch.zeros(out_channels))

    def forward(self, x: torch.Tensor, w: torch.Tensor, noise_mode: str = "random",
                noise: torch.Tensor | None = None) -> torch.Tensor:
        """`noise` (B or 1, 1, resolution, resolution), when given, replaces what `noise_mode` would add (inversion
        optimises it)."""
        x = modulated_conv2d(x, self.weight, self.affine(w), padding=self.padding, up=self.up,
                             resample_filter=self.resample_filter)  # (B, C_out, resolution, resolution)
        if noise is not None:
            x = x + noise * self.noise_strength
        elif noise_mode == "random":
            x = x + torch.randn(x.shape[0], 1, self.resolution, self.resolution, device=x.device) * self.noise_strength
        elif noise_mode == "const":
            x = x + self.noise_const * self.noise_strength
        elif noise_mode != "none":
            raise ValueError(f"noise_mode must be 'random', 'const' or 'none', got {noise_mode!r}")
        return bias_act(x, self.bias, lrelu=True, clamp=self.conv_clamp)


class ToRGBLayer(nn.Module):
    """Modulated 1x1 convolution to RGB without demodulation, scaled like an equalised-rate layer."""

    def __init__(self, in_channels: int, out_channels: int, w_dim: int, conv_clamp: float | None = None):
        super().__init__()
        self.conv_clamp = conv_clamp
        self.affine = EqualLinear(w_dim, in_channels, bias_init=1.0)
        self.weight = nn.Parameter(torch.randn(out_channels, in_channels, 1, 1))
        self.bias = nn.Parameter(torch.zeros(out_channels))
        self.weight_gain = 1 / math.sqrt(in_channels)

    def forward(self, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        x = modulated_conv2d(x, self.weight, self.affine(w) * self.weight_gain, demodulate=False)
        return bias_act(x, self.bias, lrelu=False, clamp=self.conv_clamp)


class SynthesisBlock(nn.Module):
    """One resolution of the generator: the 4x4 constant (first block) or an upsampling layer, a second layer,
    and toRGB added to the upsampled image. It reads num_conv + 1 ws; the next block starts at its toRGB's w."""

    def __init__(self, in_channels: int, out_channels: int, w_dim: int, resolution: int, img_channels: int,
                 conv_clamp: float | None = 256):
        super().__init__()
        self.in_channels = in_channels
        self.register_buffer("resample_filter", setup_filter())
        if in_channels == 0:
            self.const = nn.Parameter(torch.randn(out_channels, resolution, resolution))
        else:
            self.conv0 = SynthesisLayer(in_channels, out_channels, w_dim, resolution, up=2, conv_clamp=conv_clamp)
        self.conv1 = SynthesisLayer(out_channels, out_channels, w_dim, resolution, conv_clamp=conv_clamp)
        self.torgb = ToRGBLayer(out_channels, img_channels, w_dim, conv_clamp=conv_clamp)
        self.num_conv = 1 if in_channels == 0 else 2

    def forward(self, x: torch.Tensor | None, img: torch.Tensor | None, ws: torch.Tensor, noise_mode: str,
                noise: list[torch.Tensor] | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """x (B, C_in, S/2, S/2) or None for the first block, img (B, 3, S/2, S/2) or None, ws (B, num_conv + 1,
        w_dim), and optionally one noise map per layer -> x (B, C_out, S, S), img (B, 3, S, S)."""
        ws = ws.unbind(dim=1)
        noise = noise if noise is not None else [None] * self.num_conv
        if self.in_channels == 0:
            x = self.conv1(self.const.unsqueeze(0).expand(len(ws[0]), -1, -1, -1), ws[0], noise_mode, noise[0])
        else:
            x = self.conv0(x, ws[0], noise_mode, noise[0])
            x = self.conv1(x, ws[1], noise_mode, noise[1])  # (B, C_out, S, S)
        rgb = self.torgb(x, ws[-1])
        img = rgb if img is None else upsample2d(img, self.resample_filter) + rgb
        return x, img


class SynthesisNetwork(nn.Module):
    """ws (B, num_ws, w_dim) -> images: blocks `b4`, `b8`, ... up to the image size, widths channel_base / res
    capped at channel_max."""

    def __init__(self, w_dim: int, img_resolution: int, img_channels: int, channel_base: int = 32768,
                 channel_max: int = 512, conv_clamp: float | None = 256):
        super().__init__()
        self.w_dim = w_dim
        self.block_resolutions = [2**i for i in range(2, img_resolution.bit_length())]  # 4, 8, ..., img_resolution
        channels = {res: min(channel_base // res, channel_max) for res in self.block_resolutions}
        self.num_ws = 0
        for res in self.block_resolutions:
            block = SynthesisBlock(channels[res // 2] if res > 4 else 0, channels[res], w_dim, res, img_channels,
                                   conv_clamp=conv_clamp)
            setattr(self, f"b{res}", block)
            self.num_ws += block.num_conv
        self.num_ws += 1  # the last toRGB

    @property
    def noise_layers(self) -> list[SynthesisLayer]:
        """The layers that add noise, in the order of `forward`'s `noise` list: b4.conv1, b8.conv0, b8.conv1, ..."""
        blocks = [getattr(self, f"b{res}") for res in self.block_resolutions]
        return [layer for block in blocks for layer in ([block.conv1] if block.num_conv == 1 else
                                                        [block.conv0, block.conv1])]

    def forward(self, ws: torch.Tensor, noise_mode: str = "random",
                noise: list[torch.Tensor] | None = None) -> torch.Tensor:
        if ws.dim() != 3 or ws.shape[1:] != (self.num_ws, self.w_dim):
            raise ValueError(f"ws must have shape (batch, {self.num_ws}, {self.w_dim}), got {tuple(ws.shape)}")
        if noise is not None:
            check_noise(noise, [layer.resolution for layer in self.noise_layers], len(ws))
        ws = ws.float()
        x = img = None
        start = 0  # a block's first w and its first noise map: each of its convolutions reads one of each
        for res in self.block_resolutions:
            block = getattr(self, f"b{res}")
            maps = None if noise is None else noise[start : start + block.num_conv]
            x, img = block(x, img, ws.narrow(1, start, block.num_conv + 1), noise_mode, maps)
            start += block.num_conv
        return img  # (B, img_channels, img_resolution, img_resolution)


class StyleGAN2Generator(StyleGANGenerator):
    r"""
    StyleGAN2's generator: a mapping network z -> w and a synthesis network from a learned 4x4 constant, with
    per-pixel noise and the "skip" toRGB architecture. The arguments are NVIDIA's, flattened (`mapping_kwargs`
    become `mapping_*`); the defaults are their 1024 px FFHQ config.

    Args:
        z_dim (`int`, defaults to 512): Size of the latent z.
        c_dim (`int`, defaults to 0): Size of the one-hot class label; 0 for an unconditional generator.
        w_dim (`int`, defaults to 512): Size of w.
        img_resolution (`int`, defaults to 1024): Output resolution, a power of two >= 4.
        img_channels (`int`, defaults to 3): Output channels.
        mapping_layers (`int`, defaults to 8): Layers of the mapping network.
        mapping_lr_multiplier (`float`, defaults to 0.01): Learning-rate multiplier of the mapping layers.
        w_avg_beta (`float`, defaults to 0.998): Decay of the running mean of w (truncation's centre).
        channel_base (`int`, defaults to 32768), channel_max (`int`, defaults to 512): Widths, channel_base /
            resolution capped at channel_max.
        conv_clamp (`float`, *optional*, defaults to 256): Clamp of every layer's output; None for no clamping.

    Example:

    ```py
    >>> import torch
    >>> from hfgan import StyleGAN2Generator

    >>> generator = StyleGAN2Generator(z_dim=8, w_dim=8, img_resolution=16, mapping_layers=2, channel_base=64,
    ...                                channel_max=8)
    >>> out = generator(torch.randn(2, 8), truncation_psi=0.7, noise_mode="const")
    >>> tuple(out.sample.shape), tuple(out.ws.shape)
    ((2, 3, 16, 16), (2, 6, 8))
    ```
    """

    _hub_tags = ["stylegan2"]

    @register_to_config
    def __init__(
        self,
        z_dim: int = 512,
        c_dim: int = 0,
        w_dim: int = 512,
        img_resolution: int = 1024,
        img_channels: int = 3,
        mapping_layers: int = 8,
        mapping_lr_multiplier: float = 0.01,
        w_avg_beta: float = 0.998,
        channel_base: int = 32768,
        channel_max: int = 512,
        conv_clamp: float | None = 256,
    ):
        super().__init__()
        for name in ("z_dim", "w_dim", "img_channels", "mapping_layers", "channel_base", "channel_max"):
            check_int(name, locals()[name])
        check_int("c_dim", c_dim, minimum=0)
        power_of_two("img_resolution", img_resolution, minimum=4)
        self.synthesis = SynthesisNetwork(w_dim, img_resolution, img_channels, channel_base, channel_max, conv_clamp)
        self.num_ws = self.synthesis.num_ws
        self.mapping = MappingNetwork(z_dim, c_dim, w_dim, self.num_ws, num_layers=mapping_layers,
                                      lr_multiplier=mapping_lr_multiplier, w_avg_beta=w_avg_beta)

    @property
    def noise_resolutions(self) -> list[int]:
        return [layer.resolution for layer in self.synthesis.noise_layers]

    def stored_noise(self) -> list[torch.Tensor]:
        return [layer.noise_const[None, None].clone() for layer in self.synthesis.noise_layers]

    def synthesize(self, ws: torch.Tensor, noise_mode: str = "random", update_emas: bool = False,
                   noise: list[torch.Tensor] | None = None) -> torch.Tensor:
        """ws (B, num_ws, w_dim) -> images (B, img_channels, img_resolution, img_resolution). `noise_mode`:
        "random" (fresh noise), "const" (the stored noise maps: the same w gives the same image) or "none";
        `noise`, one (B or 1, 1, S, S) map per layer (sides `noise_resolutions`), replaces it (inversion's optimised
        noise). StyleGAN2's synthesis tracks no statistics: `update_emas` is for StyleGAN3's interface."""
        return self.synthesis(ws, noise_mode=noise_mode, noise=noise)


# --------------------------------------------------------------------------------------------------- discriminator


@dataclass
class StyleGAN2DiscriminatorOutput(BaseOutput):
    """
    Output of [`StyleGAN2Discriminator`].

    Args:
        logits (`torch.Tensor` of shape `(batch_size,)`):
            Real/fake logits (pre-sigmoid); for a conditional discriminator, projected on the mapped label.
    """

    logits: torch.Tensor


class DiscriminatorBlock(nn.Module):
    """One resolution of the discriminator: fromRGB (first block only), a 3x3 convolution, a downsampling 3x3
    convolution, and for "resnet" a downsampling 1x1 skip, the two summed at 1/sqrt(2) each."""

    def __init__(self, in_channels: int, tmp_channels: int, out_channels: int, img_channels: int,
                 architecture: str, conv_clamp: float | None):
        super().__init__()
        self.in_channels, self.architecture = in_channels, architecture
        self.register_buffer("resample_filter", setup_filter())
        if in_channels == 0:
            self.fromrgb = Conv2dLayer(img_channels, tmp_channels, 1, conv_clamp=conv_clamp)
        self.conv0 = Conv2dLayer(tmp_channels, tmp_channels, 3, conv_clamp=conv_clamp)
        self.conv1 = Conv2dLayer(tmp_channels, out_channels, 3, down=2, conv_clamp=conv_clamp)
        if architecture == "resnet":
            self.skip = Conv2dLayer(tmp_channels, out_channels, 1, bias=False, lrelu=False, down=2)

    def forward(self, x: torch.Tensor | None, img: torch.Tensor) -> torch.Tensor:
        if self.in_channels == 0:
            x = self.fromrgb(img)  # (B, C, S, S)
        if self.architecture == "resnet":
            gain = math.sqrt(0.5)  # the sum of two unit-variance branches keeps unit variance
            return self.skip(x, gain=gain) + self.conv1(self.conv0(x), gain=gain)  # (B, C_out, S/2, S/2)
        return self.conv1(self.conv0(x))


class DiscriminatorEpilogue(nn.Module):
    """The 4x4 end: minibatch standard deviation, a 3x3 convolution, a fully connected layer, the output."""

    def __init__(self, in_channels: int, cmap_dim: int, mbstd_group_size: int, mbstd_num_channels: int,
                 conv_clamp: float | None):
        super().__init__()
        self.cmap_dim, self.mbstd_group_size, self.mbstd_num_channels = cmap_dim, mbstd_group_size, mbstd_num_channels
        self.conv = Conv2dLayer(in_channels + mbstd_num_channels, in_channels, 3, conv_clamp=conv_clamp)
        self.fc = EqualLinear(in_channels * 16, in_channels, activation="lrelu")
        self.out = EqualLinear(in_channels, cmap_dim or 1)

    def forward(self, x: torch.Tensor, cmap: torch.Tensor | None) -> torch.Tensor:
        if self.mbstd_num_channels:
            x = minibatch_stddev(x, self.mbstd_group_size)  # (B, C + 1, 4, 4)
        x = self.out(self.fc(self.conv(x).flatten(1)))  # (B, cmap_dim or 1)
        if cmap is not None:  # projection discriminator: the score is the output's agreement with the label
            x = (x * cmap).sum(dim=1, keepdim=True) / math.sqrt(self.cmap_dim)
        return x


class StyleGAN2Discriminator(HfGanModel):
    r"""
    StyleGAN2's discriminator, which StyleGAN3 uses too: residual blocks from the image size down to 4x4 (or plain
    blocks, `architecture="orig"`), minibatch standard deviation, and for a conditional network a projection on the
    label mapped by an 8-layer network. The arguments are NVIDIA's, flattened.

    Args:
        c_dim (`int`, defaults to 0): Size of the one-hot class label; 0 for an unconditional discriminator.
        img_resolution (`int`, defaults to 1024): Input resolution, a power of two >= 8.
        img_channels (`int`, defaults to 3): Input channels.
        architecture (`str`, defaults to `"resnet"`): "resnet" or "orig" (no skip connections).
        channel_base (`int`, defaults to 32768), channel_max (`int`, defaults to 512): Widths, channel_base /
            resolution capped at channel_max.
        conv_clamp (`float`, *optional*, defaults to 256): Clamp of the convolutions' outputs; None for none.
        cmap_dim (`int`, *optional*): Size of the mapped label; None: the channels at 4x4.
        mbstd_group_size (`int`, defaults to 4): Group size of the minibatch standard deviation (the largest
            size up to it that divides the batch).
        mbstd_num_channels (`int`, defaults to 1): 1, or 0 for no minibatch standard deviation.
        mapping_layers (`int`, defaults to 8): Layers of the label mapping (conditional only).

    Example:

    ```py
    >>> import torch
    >>> from hfgan import StyleGAN2Discriminator

    >>> discriminator = StyleGAN2Discriminator(img_resolution=16, channel_base=64, channel_max=8)
    >>> tuple(discriminator(torch.randn(4, 3, 16, 16)).logits.shape)
    (4,)
    ```
    """

    _hub_tags = ["stylegan2"]

    @register_to_config
    def __init__(
        self,
        c_dim: int = 0,
        img_resolution: int = 1024,
        img_channels: int = 3,
        architecture: str = "resnet",
        channel_base: int = 32768,
        channel_max: int = 512,
        conv_clamp: float | None = 256,
        cmap_dim: int | None = None,
        mbstd_group_size: int = 4,
        mbstd_num_channels: int = 1,
        mapping_layers: int = 8,
    ):
        super().__init__()
        for name in ("img_channels", "channel_base", "channel_max", "mbstd_group_size", "mapping_layers"):
            check_int(name, locals()[name])
        check_int("c_dim", c_dim, minimum=0)
        power_of_two("img_resolution", img_resolution, minimum=8)
        if architecture not in ("resnet", "orig"):
            raise ValueError(f"architecture must be 'resnet' or 'orig', got {architecture!r}")
        if mbstd_num_channels not in (0, 1):
            raise ValueError(f"mbstd_num_channels must be 0 or 1, got {mbstd_num_channels}")
        self.block_resolutions = [2**i for i in range(img_resolution.bit_length() - 1, 2, -1)]  # S, S/2, ..., 8
        channels = {res: min(channel_base // res, channel_max) for res in self.block_resolutions + [4]}
        cmap_dim = (channels[4] if cmap_dim is None else cmap_dim) if c_dim else 0
        for res in self.block_resolutions:
            block = DiscriminatorBlock(channels[res] if res < img_resolution else 0, channels[res], channels[res // 2],
                                       img_channels, architecture, conv_clamp)
            setattr(self, f"b{res}", block)
        if c_dim:
            self.mapping = MappingNetwork(0, c_dim, cmap_dim, num_ws=None, num_layers=mapping_layers,
                                          w_avg_beta=None)
        self.b4 = DiscriminatorEpilogue(channels[4], cmap_dim, mbstd_group_size, mbstd_num_channels, conv_clamp)

    def forward(self, images: torch.Tensor, c: torch.Tensor | None = None, return_dict: bool = True):
        """images (B, img_channels, S, S) in [-1, 1] [and labels (B, c_dim)] -> logits (B,)."""
        x = None
        for res in self.block_resolutions:
            x = getattr(self, f"b{res}")(x, images)  # halves the resolution, down to (B, C_4, 4, 4)
        if self.config.c_dim:
            if c is None:
                raise ValueError(f"this discriminator is conditional: pass labels c of shape "
                                 f"(batch, {self.config.c_dim})")
            cmap = self.mapping(None, c)
        else:
            cmap = None
        logits = self.b4(x, cmap).squeeze(1)
        return StyleGAN2DiscriminatorOutput(logits=logits) if return_dict else (logits,)
