"""StyleGAN2's building blocks (Karras et al., 2020) in plain PyTorch, with no custom CUDA ops: equalised learning
rate, modulated convolutions whose style may vary over the image, noise injection, the synthesis layer and toRGB, and
the residual discriminator backbone with minibatch standard deviation. BlobGAN's generator, discriminator and encoder
are made of them (`hfgan.models.blobgan`); parameter names are part of every saved model's weights.

Equalised learning rate (Karras et al., 2018): weights are stored ~ N(0, 1) and scaled by 1/sqrt(fan_in) at every
forward, so Adam's per-parameter step sizes are the same for every layer whatever its fan-in.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from .filters import conv2d_resample

ACT_GAIN = math.sqrt(2.0)  # leaky ReLU(0.2) followed by this gain keeps activations at unit variance


def lrelu(x: torch.Tensor) -> torch.Tensor:
    return F.leaky_relu(x, 0.2) * ACT_GAIN


class EqualLinear(nn.Module):
    """A linear layer with an equalised learning rate (StyleGAN's fully connected layer).

    Args:
        bias_init: every bias (1 for style affines), or one value per output.
        lr_multiplier: scales this layer's effective learning rate: the stored weights are divided by it and the
            forward multiplies it back (StyleGAN's mapping network uses 0.01).
        weight_init: the standard deviation of the effective initial weights (0 for StyleGAN3's input transform).
        activation: "linear", or "lrelu" (leaky ReLU 0.2 times sqrt(2), after the bias).
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True, bias_init=0.0,
                 lr_multiplier: float = 1.0, weight_init: float = 1.0, activation: str = "linear"):
        super().__init__()
        if activation not in ("linear", "lrelu"):
            raise ValueError(f"activation must be 'linear' or 'lrelu', got {activation!r}")
        self.weight = nn.Parameter(torch.randn(out_features, in_features) * (weight_init / lr_multiplier))
        bias_init = torch.as_tensor(bias_init, dtype=torch.float32).expand(out_features)
        self.bias = nn.Parameter(bias_init / lr_multiplier) if bias else None
        self.scale = lr_multiplier / math.sqrt(in_features)
        self.bias_gain = lr_multiplier
        self.activation = activation

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        bias = None if self.bias is None else self.bias * self.bias_gain
        x = F.linear(x, self.weight * self.scale, bias)
        return lrelu(x) if self.activation == "lrelu" else x


class EqualConv2d(nn.Module):
    """A stride-1 'same' convolution with an equalised learning rate."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, bias: bool = True):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(out_channels, in_channels, kernel_size, kernel_size))
        self.bias = nn.Parameter(torch.zeros(out_channels)) if bias else None
        self.scale = 1 / math.sqrt(in_channels * kernel_size**2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.conv2d(x, self.weight * self.scale, self.bias, padding=self.weight.shape[-1] // 2)


def stage_channels(resolution: int, channel_base: int, channel_max: int) -> int:
    """StyleGAN's width rule: channel_base / resolution, capped at channel_max (wide at coarse resolutions)."""
    return max(1, min(channel_base // resolution, channel_max))


# ------------------------------------------------------------------------------------------------------ synthesis


def modulated_conv2d(x: torch.Tensor, weight: torch.Tensor, styles: torch.Tensor, demodulate: bool = True,
                     padding: int = 0, up: int = 1, resample_filter: torch.Tensor | None = None,
                     input_gain: torch.Tensor | None = None, prenormalize: bool = False,
                     fused: bool | None = None) -> torch.Tensor:
    """StyleGAN2's modulated convolution with one style per image (StyleGAN2 and StyleGAN3): scale the weights'
    input channels by the style, divide each output channel by its norm (demodulation), upsampled 2x through
    `resample_filter` when `up=2` ([`conv2d_resample`]).

    x (B, C_in, H, W), weight (C_out, C_in, k, k), styles (B, C_in) -> (B, C_out, H', W').

    Args:
        input_gain: a scalar or (B, C_in) scale of the input channels (StyleGAN3: 1 / its tracked input magnitude).
        prenormalize: StyleGAN3 normalises weights and styles to unit mean square first; the demodulation cancels
            it up to rounding, but it keeps float16 in range, and parity with NVIDIA's outputs needs the same order.
        fused: one grouped convolution with per-image weights (faster without gradients), or scale the activations
            before and after one shared convolution (the same result; about 2x faster to train on a CPU, whose
            grouped convolutions' backward is slow). None: fused unless gradients are being recorded.
    """
    b = x.shape[0]
    c_out, c_in, kh, kw = weight.shape
    if demodulate and prenormalize:
        weight = weight * weight.square().mean(dim=[1, 2, 3], keepdim=True).rsqrt()
        styles = styles * styles.square().mean().rsqrt()
    if fused is None:
        fused = not torch.is_grad_enabled()
    if not fused:
        if demodulate:  # sum_{i,k} (w_oik s_i)^2 = sum_i s_i^2 sum_k w_oik^2: no per-image weights needed
            dcoefs = (styles.square() @ weight.square().sum(dim=[2, 3]).T + 1e-8).rsqrt()  # (B, C_out): unit norm
        if input_gain is not None:  # after the demodulation, which would cancel it
            styles = styles * input_gain.expand(b, c_in)
        x = conv2d_resample(x * styles.to(x.dtype)[:, :, None, None], weight.to(x.dtype), resample_filter, up=up,
                            padding=padding)  # (B, C_out, H', W')
        return x * dcoefs.to(x.dtype)[:, :, None, None] if demodulate else x
    w = weight.unsqueeze(0) * styles[:, None, :, None, None]  # (B, C_out, C_in, k, k)
    if demodulate:
        w = w * (w.square().sum(dim=[2, 3, 4], keepdim=True) + 1e-8).rsqrt()  # unit norm per output channel
    if input_gain is not None:  # after the demodulation, which would cancel it
        w = w * input_gain.expand(b, c_in)[:, None, :, None, None]
    x = conv2d_resample(x.reshape(1, b * c_in, *x.shape[2:]), w.reshape(b * c_out, c_in, kh, kw).to(x.dtype),
                        resample_filter, up=up, padding=padding, groups=b)  # (1, B * C_out, H', W')
    return x.reshape(b, c_out, *x.shape[2:])


class SpatialModulatedConv2d(nn.Module):
    """StyleGAN2's modulated convolution with a style that may vary over the image (BlobGAN's splatted styles).

    With one style per image, StyleGAN2 scales the weights' input channels by the style s and divides each output
    channel by sqrt(sum_{i,k} (w_oik s_i)^2) (demodulation). With a style map s(p) the weights cannot be scaled per
    image, but the same maths holds pixel by pixel: conv(x * s) modulates, and the demodulation is
    rsqrt(sum_i (sum_k w_oik^2) s_i(p)^2), a 1x1 convolution of s^2 with the summed squared weights. It is exact for a
    style constant over the kernel's footprint, and a close approximation elsewhere.

    The affine layer maps a style vector to this layer's input channels (bias 1, so a zero style leaves the weights
    as they are); the caller spreads the mapped vectors over the image. BlobGAN maps each blob's style before
    splatting: splatting is linear and its alphas sum to 1, so splatting the mapped vectors equals mapping the
    splatted map, at C_in instead of style_dim channels and with no per-pixel layer.

    Args:
        style_dim: size E of the style vectors.
        demodulate: False for toRGB layers, as in StyleGAN2.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, style_dim: int, demodulate: bool = True):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(out_channels, in_channels, kernel_size, kernel_size))
        self.bias = nn.Parameter(torch.zeros(out_channels))
        self.affine = EqualLinear(style_dim, in_channels, bias_init=1.0)
        self.scale = 1 / math.sqrt(in_channels * kernel_size**2)
        self.demodulate = demodulate

    def forward(self, x: torch.Tensor, style: torch.Tensor) -> torch.Tensor:
        """x (B, C_in, S, S) and a map of `affine` outputs (B, C_in, S, S), e.g. splatted -> (B, C_out, S, S), without
        the bias (see `add_bias`)."""
        weight = self.weight * self.scale  # (C_out, C_in, k, k)
        out = F.conv2d(x * style, weight, padding=weight.shape[-1] // 2)  # (B, C_out, S, S)
        if self.demodulate:
            summed = weight.pow(2).sum(dim=(2, 3), keepdim=True)  # (C_out, C_in, 1, 1)
            out = out * torch.rsqrt(F.conv2d(style.pow(2), summed) + 1e-8)  # unit expected variance per pixel
        return out

    def add_bias(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.bias[None, :, None, None]


class NoiseInjection(nn.Module):
    """Per-pixel Gaussian noise scaled by a learned strength (starts at 0), and a fixed noise map of this layer's
    resolution for deterministic rendering (`noise_mode="const"`: BlobGAN's pipeline, so that an edited layout
    re-renders with everything else unchanged)."""

    def __init__(self, resolution: int):
        super().__init__()
        self.strength = nn.Parameter(torch.zeros(()))
        self.register_buffer("const_noise", torch.randn(1, 1, resolution, resolution))

    def forward(self, x: torch.Tensor, noise_mode: str) -> torch.Tensor:
        if noise_mode == "random":
            noise = torch.randn(x.shape[0], 1, *x.shape[2:], device=x.device, dtype=x.dtype)
        elif noise_mode == "const":
            noise = self.const_noise
        elif noise_mode == "none":
            return x
        else:
            raise ValueError(f"noise_mode must be 'random', 'const' or 'none', got {noise_mode!r}")
        return x + self.strength * noise


class SynthesisLayer(nn.Module):
    """Modulated 3x3 convolution (after a 2x bilinear upsampling when `up`), noise, bias, leaky ReLU."""

    def __init__(self, in_channels: int, out_channels: int, style_dim: int, resolution: int, up: bool = False):
        super().__init__()
        self.up = up
        self.conv = SpatialModulatedConv2d(in_channels, out_channels, 3, style_dim)
        self.noise = NoiseInjection(resolution)

    def forward(self, x: torch.Tensor, style: torch.Tensor, noise_mode: str) -> torch.Tensor:
        if self.up:
            x = F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False)  # (B, C, 2S, 2S)
        return lrelu(self.conv.add_bias(self.noise(self.conv(x, style), noise_mode)))


class ToRGB(nn.Module):
    """Modulated 1x1 convolution to RGB, without demodulation (StyleGAN2's toRGB)."""

    def __init__(self, in_channels: int, style_dim: int):
        super().__init__()
        self.conv = SpatialModulatedConv2d(in_channels, 3, 1, style_dim, demodulate=False)

    def forward(self, x: torch.Tensor, style: torch.Tensor) -> torch.Tensor:
        return self.conv.add_bias(self.conv(x, style))


# -------------------------------------------------------------------------------------------------- discriminator


def minibatch_stddev(x: torch.Tensor, group_size: int = 4) -> torch.Tensor:
    """x (B, C, H, W) with one channel appended: the standard deviation over groups of images, averaged over channels
    and pixels (StyleGAN's minibatch standard deviation; D sees how varied a batch is). The group is the largest size
    <= `group_size` that divides the batch."""
    b, c, h, w = x.shape
    g = next(g for g in range(min(group_size, b), 0, -1) if b % g == 0)
    y = x.float().view(g, b // g, c, h, w)
    y = (y.var(dim=0, unbiased=False) + 1e-8).sqrt().mean(dim=(1, 2, 3))  # (B / g,)
    y = y.to(x.dtype).view(1, b // g, 1, 1, 1).expand(g, -1, 1, h, w).reshape(b, 1, h, w)
    return torch.cat([x, y], dim=1)


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
    """StyleGAN2's residual discriminator up to its last features: fromRGB, residual blocks down to 4x4, minibatch
    standard deviation (0 `mbstd_group_size`: none), a 3x3 convolution and a linear layer: (B, 3, S, S) -> (B, C_4)
    features, C_4 the channels at 4x4. A discriminator puts a logit head on it, BlobGAN's encoder a layout head."""

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

    def forward(self, images: torch.Tensor, return_maps: bool = False):
        """(B, 3, S, S) -> features (B, C_4); with `return_maps`, also the feature maps on the way, (B, C_S, S, S)
        after fromRGB, then each block's output down to (B, C_4, 4, 4) (what reads features under a region)."""
        x = lrelu(self.from_rgb(images))  # (B, C_S, S, S)
        maps = [x]
        for block in self.blocks:
            x = block(x)  # halves the resolution, down to (B, C_4, 4, 4)
            maps.append(x)
        if self.mbstd_group_size:
            x = minibatch_stddev(x, self.mbstd_group_size)  # (B, C_4 + 1, 4, 4)
        x = lrelu(self.conv(x))
        features = lrelu(self.fc(x.flatten(1)))  # (B, C_4)
        return (features, maps) if return_maps else features
