"""StyleGAN2's building blocks in plain PyTorch (no custom CUDA ops), for BlobGAN's generator, discriminator and
encoder: equalised learning rate, modulated convolutions whose style varies over the image, noise injection.

Equalised learning rate (Karras et al., 2018): weights are stored ~ N(0, 1) and scaled by 1/sqrt(fan_in) at every
forward, so Adam's per-parameter step sizes are the same for every layer whatever its fan-in.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

ACT_GAIN = math.sqrt(2.0)  # leaky ReLU(0.2) followed by this gain keeps activations at unit variance


def lrelu(x: torch.Tensor) -> torch.Tensor:
    return F.leaky_relu(x, 0.2) * ACT_GAIN


class EqualLinear(nn.Module):
    def __init__(self, in_features: int, out_features: int, bias: bool = True, bias_init: float = 0.0):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(out_features, in_features))
        self.bias = nn.Parameter(torch.full((out_features,), float(bias_init))) if bias else None
        self.scale = 1 / math.sqrt(in_features)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.linear(x, self.weight * self.scale, self.bias)


class EqualConv2d(nn.Module):
    """A stride-1 'same' convolution with an equalised learning rate."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, bias: bool = True):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(out_channels, in_channels, kernel_size, kernel_size))
        self.bias = nn.Parameter(torch.zeros(out_channels)) if bias else None
        self.scale = 1 / math.sqrt(in_channels * kernel_size**2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.conv2d(x, self.weight * self.scale, self.bias, padding=self.weight.shape[-1] // 2)


class SpatialModulatedConv2d(nn.Module):
    """StyleGAN2's modulated convolution with a style that varies over the image (BlobGAN's splatted styles).

    With one style per image, StyleGAN2 scales the weights' input channels by the style s and divides each output
    channel by sqrt(sum_{i,k} (w_oik s_i)^2) (demodulation). With a style map s(p) the weights cannot be scaled per
    image, but the same maths holds pixel by pixel: conv(x * s) modulates, and the demodulation is
    rsqrt(sum_i (sum_k w_oik^2) s_i(p)^2), a 1x1 convolution of s^2 with the summed squared weights. It is exact for a
    style constant over the kernel's footprint, and a close approximation elsewhere.

    The affine layer maps each blob's style vector to this layer's input channels (bias 1, so a zero style leaves the
    weights as they are) before splatting: splatting is linear and its alphas sum to 1, so splatting the mapped
    vectors equals mapping the splatted map, at C_in instead of style_dim channels and with no per-pixel layer.

    Args:
        style_dim: size E of the blobs' style vectors.
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
        """x (B, C_in, S, S) and the splatted `affine` outputs (B, C_in, S, S) -> (B, C_out, S, S), without the bias
        (see `add_bias`)."""
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
    resolution for deterministic rendering (`noise_mode="const"`: the pipeline, so that an edited layout re-renders
    with everything else unchanged)."""

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
