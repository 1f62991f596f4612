"""StyleGAN3's generator (Karras et al., 2021, "Alias-Free Generative Adversarial Networks"), configs T and R, in
plain PyTorch: no custom CUDA ops, float32 on a CPU.

The synthesis network treats its feature maps as samples of continuous signals. It starts from Fourier features of
a fixed set of frequencies (rotated and translated by an affine map of w, and by a user `transform`), and every layer
is a modulated convolution followed by a filtered leaky ReLU: upsample with a low-pass filter, apply the nonlinearity
at the higher rate, low-pass and downsample, so no layer creates frequencies above its band limit (aliasing) and
details move with the image when it is translated (config T) or rotated (config R).

Parameter and buffer names (`mapping.fc0.weight`, `synthesis.input.freqs`, `synthesis.L3_52_512.up_filter`, ...)
are NVIDIA's, so converting their networks is a copy of tensors (`hfgan convert-pkl`).
"""

from __future__ import annotations

import math
import numpy as np
import torch
import torch.nn.functional as F
from diffusers import ModelMixin  # noqa: F401  diffusers finds a pipeline component's loader by this name in its module
from diffusers.configuration_utils import register_to_config
from torch import nn

from ..layers.filters import design_lowpass_filter, filtered_lrelu
from ..layers.stylegan2 import EqualLinear, modulated_conv2d
from ..modeling_utils import check_int
from .generator import StyleGANGenerator
from .mapping import MappingNetwork


def make_transform(translate: tuple[float, float] = (0.0, 0.0), angle: float = 0.0) -> torch.Tensor:
    """The 3x3 matrix `SynthesisInput.transform` expects for an output translated by `translate` (fractions of the
    image, x right, y down) and rotated by `angle` degrees: the inverse of the image's motion, since it maps output
    coordinates back to the Fourier features' coordinates."""
    a = math.radians(angle)
    forward = torch.tensor([[math.cos(a), math.sin(a), translate[0]],
                            [-math.sin(a), math.cos(a), translate[1]],
                            [0.0, 0.0, 1.0]], dtype=torch.float64)
    return torch.linalg.inv(forward).float()


class SynthesisInput(nn.Module):
    """Fourier features: `channels` sinusoids of fixed random frequencies inside a disc of radius `bandwidth`,
    sampled on a size x size grid that extends past the image by the margin, then mixed by a learned matrix.
    An affine map of w (initialised to the identity) rotates and translates them, and so does the buffer
    `transform` (see [`make_transform`])."""

    def __init__(self, w_dim: int, channels: int, size: int, sampling_rate: float, bandwidth: float):
        super().__init__()
        self.w_dim, self.channels, self.size = w_dim, channels, size
        self.sampling_rate, self.bandwidth = sampling_rate, bandwidth
        freqs = torch.randn(channels, 2)
        radii = freqs.square().sum(dim=1, keepdim=True).sqrt()
        freqs = freqs / (radii * radii.square().exp().pow(0.25)) * bandwidth  # uniform-ish in the disc
        phases = torch.rand(channels) - 0.5
        self.weight = nn.Parameter(torch.randn(channels, channels))
        self.affine = EqualLinear(w_dim, 4, weight_init=0.0, bias_init=[1.0, 0.0, 0.0, 0.0])  # (cos, sin, tx, ty)
        self.register_buffer("transform", torch.eye(3))  # user transform, inverse, wrt the output image
        self.register_buffer("freqs", freqs)
        self.register_buffer("phases", phases)

    def forward(self, w: torch.Tensor) -> torch.Tensor:
        b = w.shape[0]
        t = self.affine(w)  # (B, 4): a rotation (r_c, r_s) and a translation (t_x, t_y)
        t = t / t[:, :2].norm(dim=1, keepdim=True)  # a pure rotation: (r_c, r_s) on the unit circle
        rotate = torch.eye(3, device=w.device).repeat(b, 1, 1)
        rotate[:, 0, 0], rotate[:, 0, 1], rotate[:, 1, 0], rotate[:, 1, 1] = t[:, 0], -t[:, 1], t[:, 1], t[:, 0]
        translate = torch.eye(3, device=w.device).repeat(b, 1, 1)
        translate[:, 0, 2], translate[:, 1, 2] = -t[:, 2], -t[:, 3]
        transforms = rotate @ translate @ self.transform.unsqueeze(0)  # (B, 3, 3)

        freqs = self.freqs.unsqueeze(0)  # (1, C, 2)
        phases = self.phases.unsqueeze(0) + (freqs @ transforms[:, :2, 2:]).squeeze(2)  # (B, C): the translation
        freqs = freqs @ transforms[:, :2, :2]  # (B, C, 2): the rotation
        # fade out frequencies a user transform pushed past the band the first layer can hold
        amplitudes = (1 - (freqs.norm(dim=2) - self.bandwidth) / (self.sampling_rate / 2 - self.bandwidth)).clamp(0, 1)

        theta = torch.eye(2, 3, device=w.device)
        theta[0, 0] = theta[1, 1] = 0.5 * self.size / self.sampling_rate  # grid in units of the image, margin included
        grid = F.affine_grid(theta.unsqueeze(0), [1, 1, self.size, self.size], align_corners=False)  # (1, S, S, 2)
        x = (grid.unsqueeze(3) @ freqs.permute(0, 2, 1)[:, None, None]).squeeze(3)  # (B, S, S, C)
        x = torch.sin((x + phases[:, None, None]) * (2 * math.pi)) * amplitudes[:, None, None]
        x = x @ (self.weight / math.sqrt(self.channels)).t()  # (B, S, S, C): learned mixing
        return x.permute(0, 3, 1, 2)  # (B, C, S, S)


class SynthesisLayer(nn.Module):
    """One StyleGAN3 layer: modulated convolution (k x k; 1x1 for toRGB), then bias and filtered leaky ReLU from
    `in_size` samples at `in_sampling_rate` to `out_size` samples at `out_sampling_rate`. The filters are designed
    from the cutoffs and half-widths (Kaiser-windowed sinc; a radial jinc for config R's downsampling), and the
    input is divided by its tracked root-mean-square (`magnitude_ema`)."""

    def __init__(self, w_dim: int, is_torgb: bool, is_critically_sampled: bool, in_channels: int, out_channels: int,
                 in_size: int, out_size: int, in_sampling_rate: int, out_sampling_rate: int, in_cutoff: float,
                 out_cutoff: float, in_half_width: float, out_half_width: float, conv_kernel: int = 3,
                 filter_size: int = 6, lrelu_upsampling: int = 2, use_radial_filters: bool = False,
                 conv_clamp: float | None = 256, magnitude_ema_beta: float = 0.999):
        super().__init__()
        self.is_torgb, self.in_channels, self.out_channels = is_torgb, in_channels, out_channels
        self.in_size, self.out_size = in_size, out_size
        self.conv_kernel = 1 if is_torgb else conv_kernel
        self.conv_clamp, self.magnitude_ema_beta = conv_clamp, magnitude_ema_beta
        tmp_sampling_rate = max(in_sampling_rate, out_sampling_rate) * (1 if is_torgb else lrelu_upsampling)

        self.affine = EqualLinear(w_dim, in_channels, bias_init=1.0)
        self.weight = nn.Parameter(torch.randn(out_channels, in_channels, self.conv_kernel, self.conv_kernel))
        self.bias = nn.Parameter(torch.zeros(out_channels))
        self.register_buffer("magnitude_ema", torch.ones(()))

        self.up_factor = round(tmp_sampling_rate / in_sampling_rate)
        self.down_factor = round(tmp_sampling_rate / out_sampling_rate)
        up_taps = filter_size * self.up_factor if self.up_factor > 1 and not is_torgb else 1
        down_taps = filter_size * self.down_factor if self.down_factor > 1 and not is_torgb else 1
        self.register_buffer("up_filter", design_lowpass_filter(up_taps, in_cutoff, in_half_width * 2,
                                                                tmp_sampling_rate))
        self.register_buffer("down_filter", design_lowpass_filter(
            down_taps, out_cutoff, out_half_width * 2, tmp_sampling_rate,
            radial=use_radial_filters and not is_critically_sampled))

        # padding at the upsampled rate so that out_size samples remain after the filters, with the samples' centres
        # where the symmetric interpretation of the grid puts them (the paper's appendix C.3)
        pad_total = (out_size - 1) * self.down_factor + 1  # wanted size before downsampling
        pad_total -= (in_size + self.conv_kernel - 1) * self.up_factor  # the input's size after conv and upsampling
        pad_total += up_taps + down_taps - 2  # what the two filters take away
        pad_lo = (pad_total + self.up_factor) // 2
        self.padding = [pad_lo, pad_total - pad_lo, pad_lo, pad_total - pad_lo]

    def forward(self, x: torch.Tensor, w: torch.Tensor, update_emas: bool = False) -> torch.Tensor:
        if update_emas:  # track E[x^2] while training; the layer divides its input by the root of it
            magnitude = x.detach().float().square().mean()
            self.magnitude_ema.copy_(magnitude.lerp(self.magnitude_ema, self.magnitude_ema_beta))
        styles = self.affine(w)  # (B, C_in)
        if self.is_torgb:  # no demodulation: scale like an equalised-rate 1x1 convolution instead
            styles = styles / math.sqrt(self.in_channels * self.conv_kernel**2)
        x = modulated_conv2d(x, self.weight, styles, demodulate=not self.is_torgb, padding=self.conv_kernel - 1,
                             input_gain=self.magnitude_ema.rsqrt(), prenormalize=True)  # (B, C_out, in + k - 1, ..)
        gain, slope = (1.0, 1.0) if self.is_torgb else (math.sqrt(2.0), 0.2)
        return filtered_lrelu(x, self.up_filter, self.down_filter, self.bias, up=self.up_factor,
                              down=self.down_factor, padding=self.padding, gain=gain, slope=slope,
                              clamp=self.conv_clamp)  # (B, C_out, out_size, out_size)


class SynthesisNetwork(nn.Module):
    """w for each layer (B, num_layers + 2, w_dim) -> images. Cutoffs and stopbands grow geometrically from the
    first layer to the last `num_critical` layers (critically sampled at the image's Nyquist rate); each layer's
    sampling rate is the smallest power of two above twice its stopband, its width channel_base / 2 / cutoff
    (at most channel_max), and its grid the sampling rate plus `margin_size` on each side (the image size for the
    last two)."""

    def __init__(self, w_dim: int, img_resolution: int, img_channels: int, channel_base: int = 32768,
                 channel_max: int = 512, num_layers: int = 14, num_critical: int = 2, first_cutoff: float = 2,
                 first_stopband: float = 2**2.1, last_stopband_rel: float = 2**0.3, margin_size: int = 10,
                 output_scale: float = 0.25, **layer_kwargs):
        super().__init__()
        self.w_dim, self.img_resolution, self.num_ws = w_dim, img_resolution, num_layers + 2
        self.output_scale = output_scale
        # the design in float64, as in the paper's equations, so converted networks get the same integers
        last_cutoff = img_resolution / 2
        last_stopband = last_cutoff * last_stopband_rel
        exponents = np.minimum(np.arange(num_layers + 1) / (num_layers - num_critical), 1)
        cutoffs = first_cutoff * (last_cutoff / first_cutoff) ** exponents  # f_c per layer
        stopbands = first_stopband * (last_stopband / first_stopband) ** exponents  # f_t per layer
        sampling_rates = np.exp2(np.ceil(np.log2(np.minimum(stopbands * 2, img_resolution))))  # s per layer
        half_widths = np.maximum(stopbands, sampling_rates / 2) - cutoffs  # f_h per layer
        sizes = sampling_rates + margin_size * 2
        sizes[-2:] = img_resolution
        channels = np.rint(np.minimum((channel_base / 2) / cutoffs, channel_max))
        channels[-1] = img_channels

        self.input = SynthesisInput(w_dim, int(channels[0]), int(sizes[0]), sampling_rates[0], cutoffs[0])
        self.layer_names = []
        for i in range(num_layers + 1):
            prev = max(i - 1, 0)
            layer = SynthesisLayer(
                w_dim, is_torgb=i == num_layers, is_critically_sampled=i >= num_layers - num_critical,
                in_channels=int(channels[prev]), out_channels=int(channels[i]), in_size=int(sizes[prev]),
                out_size=int(sizes[i]), in_sampling_rate=int(sampling_rates[prev]),
                out_sampling_rate=int(sampling_rates[i]), in_cutoff=cutoffs[prev], out_cutoff=cutoffs[i],
                in_half_width=half_widths[prev], out_half_width=half_widths[i], **layer_kwargs)
            name = f"L{i}_{layer.out_size}_{layer.out_channels}"  # NVIDIA's names: index, size, channels
            setattr(self, name, layer)
            self.layer_names.append(name)

    def forward(self, ws: torch.Tensor, update_emas: bool = False) -> torch.Tensor:
        if ws.dim() != 3 or ws.shape[1:] != (self.num_ws, self.w_dim):
            raise ValueError(f"ws must have shape (batch, {self.num_ws}, {self.w_dim}), got {tuple(ws.shape)}")
        ws = ws.float().unbind(dim=1)
        x = self.input(ws[0])  # (B, C_0, size_0, size_0)
        for name, w in zip(self.layer_names, ws[1:]):
            x = getattr(self, name)(x, w, update_emas=update_emas)
        return x * self.output_scale  # (B, img_channels, img_resolution, img_resolution)


class StyleGAN3Generator(StyleGANGenerator):
    r"""
    StyleGAN3's generator: a mapping network z -> w, and an alias-free synthesis network w -> image (configs T and
    R). The arguments are NVIDIA's, flattened (`mapping_kwargs` become `mapping_*`); the defaults are config T at
    1024 px. Config R is `conv_kernel=1, use_radial_filters=True` with channel_base and channel_max doubled.

    Args:
        z_dim (`int`, defaults to 512): Size of the latent z.
        c_dim (`int`, defaults to 0): Size of the one-hot class label; 0 for an unconditional generator.
        w_dim (`int`, defaults to 512): Size of w.
        img_resolution (`int`, defaults to 1024): Output resolution.
        img_channels (`int`, defaults to 3): Output channels.
        mapping_layers (`int`, defaults to 2): Layers of the mapping network.
        mapping_lr_multiplier (`float`, defaults to 0.01): Learning-rate multiplier of the mapping layers.
        w_avg_beta (`float`, defaults to 0.998): Decay of the running mean of w (truncation's centre).
        channel_base (`int`, defaults to 32768), channel_max (`int`, defaults to 512): Widths, channel_base / 2 /
            cutoff capped at channel_max.
        num_layers (`int`, defaults to 14): Synthesis layers, toRGB excluded.
        num_critical (`int`, defaults to 2): Critically sampled layers at the end.
        first_cutoff (`float`, defaults to 2), first_stopband (`float`, defaults to 2**2.1),
        last_stopband_rel (`float`, defaults to 2**0.3): The filters' frequency progression.
        margin_size (`int`, defaults to 10): Samples computed outside the image on each side.
        output_scale (`float`, defaults to 0.25): Scale of the output.
        conv_kernel (`int`, defaults to 3): Convolution size (1 for config R).
        filter_size (`int`, defaults to 6): Filter taps per unit of the lower rate when resampling.
        lrelu_upsampling (`int`, defaults to 2): How much higher the rate is where the leaky ReLU runs.
        use_radial_filters (`bool`, defaults to False): Radially symmetric downsampling filters (config R).
        conv_clamp (`float`, *optional*, defaults to 256): Clamp of every layer's output; None for no clamping.
        magnitude_ema_beta (`float`, defaults to 0.999): Decay of each layer's tracked input magnitude.

    Example:

    ```py
    >>> import torch
    >>> from hfgan import StyleGAN3Generator

    >>> generator = StyleGAN3Generator(z_dim=8, w_dim=8, img_resolution=16, channel_base=256, channel_max=8,
    ...                                num_layers=4, num_critical=1, margin_size=2)
    >>> out = generator(torch.randn(2, 8), truncation_psi=0.7)
    >>> tuple(out.sample.shape), tuple(out.ws.shape)
    ((2, 3, 16, 16), (2, 6, 8))
    ```
    """

    _hub_tags = ["stylegan3"]

    @register_to_config
    def __init__(
        self,
        z_dim: int = 512,
        c_dim: int = 0,
        w_dim: int = 512,
        img_resolution: int = 1024,
        img_channels: int = 3,
        mapping_layers: int = 2,
        mapping_lr_multiplier: float = 0.01,
        w_avg_beta: float = 0.998,
        channel_base: int = 32768,
        channel_max: int = 512,
        num_layers: int = 14,
        num_critical: int = 2,
        first_cutoff: float = 2,
        first_stopband: float = 2**2.1,
        last_stopband_rel: float = 2**0.3,
        margin_size: int = 10,
        output_scale: float = 0.25,
        conv_kernel: int = 3,
        filter_size: int = 6,
        lrelu_upsampling: int = 2,
        use_radial_filters: bool = False,
        conv_clamp: float | None = 256,
        magnitude_ema_beta: float = 0.999,
    ):
        super().__init__()
        for name in ("z_dim", "w_dim", "img_resolution", "img_channels", "mapping_layers", "channel_base",
                     "channel_max", "conv_kernel", "filter_size", "lrelu_upsampling"):
            check_int(name, locals()[name])
        check_int("c_dim", c_dim, minimum=0)
        check_int("margin_size", margin_size, minimum=0)
        check_int("num_critical", num_critical, minimum=0)
        if check_int("num_layers", num_layers) <= num_critical:
            raise ValueError(f"num_layers ({num_layers}) must be larger than num_critical ({num_critical})")
        self.synthesis = SynthesisNetwork(
            w_dim, img_resolution, img_channels, channel_base=channel_base, channel_max=channel_max,
            num_layers=num_layers, num_critical=num_critical, first_cutoff=first_cutoff,
            first_stopband=first_stopband, last_stopband_rel=last_stopband_rel, margin_size=margin_size,
            output_scale=output_scale, conv_kernel=conv_kernel, filter_size=filter_size,
            lrelu_upsampling=lrelu_upsampling, use_radial_filters=use_radial_filters, conv_clamp=conv_clamp,
            magnitude_ema_beta=magnitude_ema_beta)
        self.num_ws = self.synthesis.num_ws
        self.mapping = MappingNetwork(z_dim, c_dim, w_dim, self.num_ws, num_layers=mapping_layers,
                                      lr_multiplier=mapping_lr_multiplier, w_avg_beta=w_avg_beta)

    def synthesize(self, ws: torch.Tensor, noise_mode: str = "random", update_emas: bool = False,
                   noise: list[torch.Tensor] | None = None) -> torch.Tensor:
        """ws (B, num_ws, w_dim) -> images (B, img_channels, img_resolution, img_resolution). StyleGAN3 has no noise
        inputs: `noise_mode` is accepted for StyleGAN2's interface and changes nothing, and `noise` must be empty."""
        if noise:
            raise ValueError(f"StyleGAN3 has no noise inputs, got {len(noise)} noise maps")
        return self.synthesis(ws, update_emas=update_emas)

    def set_transform(self, translate: tuple[float, float] = (0.0, 0.0), angle: float = 0.0) -> None:
        """Translate (fractions of the image) and rotate (degrees) every image this generator makes from now on:
        the Fourier features move, and with them everything drawn on them. `set_transform()` resets."""
        self.synthesis.input.transform.copy_(make_transform(translate, angle))
