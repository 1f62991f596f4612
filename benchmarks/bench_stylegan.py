"""StyleGAN on a CPU: sampling speed of hfgan's port against NVIDIA's reference ops, translation equivariance (EQ-T)
of both on the same weights, and the separable resampling against its literal order. Prints its numbers.

    OMP_NUM_THREADS=2 python benchmarks/bench_stylegan.py                        # the port alone
    HFGAN_STYLEGAN3_REPO=/path/to/stylegan3 python benchmarks/bench_stylegan.py  # side by side with NVIDIA's code

NVIDIA's code (a local clone, never vendored: its licence is non-commercial) runs its reference ops on a CPU (its CUDA
kernels need a GPU); both networks get the same weights, random ones (no pretrained weights can be downloaded here),
so speed and equivariance are compared, not image quality. EQ-T here: PSNR between the image of a w rendered with the
input translated by t pixels along x and the same image shifted by t, on the pixels both define, for a whole t
(a copy) and a fractional one (t + 1/2, shifted with a Lanczos-3 kernel, `shift_x`), as the paper measures both.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time
from pathlib import Path

import torch

from hfgan import StyleGAN3Generator
from hfgan.conversion.stylegan import hfgan_config
from hfgan.models.layers.filters import upfirdn2d

ROOT = Path(__file__).resolve().parents[1]
CONFIGS = {  # NVIDIA's constructor arguments; 64 px: training/configs/model/stylegan3_small.yaml's sizes
    "stylegan3-t 64 px (small)": dict(z_dim=64, c_dim=0, w_dim=64, img_resolution=64, img_channels=3,
                                      mapping_kwargs={"num_layers": 2}, channel_base=4096, channel_max=64,
                                      num_layers=8, num_critical=2, margin_size=10, num_fp16_res=0),
    "stylegan3-t 256 px (NVIDIA's)": dict(z_dim=512, c_dim=0, w_dim=512, img_resolution=256, img_channels=3,
                                          mapping_kwargs={"num_layers": 2}, channel_base=32768, channel_max=512,
                                          num_fp16_res=0),
}


def official_networks():
    repo = os.environ.get("HFGAN_STYLEGAN3_REPO")
    if not repo:
        return None
    sys.path.insert(0, str(ROOT / "tests" / "fixtures" / "stylegan"))
    from make_parity_fixture import import_official

    return import_official(repo)[1]


def images_per_second(render, ws: torch.Tensor, repeats: int) -> float:
    with torch.no_grad():
        render(ws[:1])  # warm-up
        start = time.perf_counter()
        for _ in range(repeats):
            render(ws)
    return repeats * len(ws) / (time.perf_counter() - start)


def shift_x(images: torch.Tensor, shift: float, taps: int = 3) -> tuple[torch.Tensor, slice]:
    """`images` (B, C, H, W) moved right by `shift` pixels along x, and the columns the result is defined on.

    A whole number of pixels is a copy; a fraction is interpolated with a Lanczos kernel of `taps` lobes,
    L(u) = sinc(u) sinc(u / taps): out[i] = sum_k x[i - n - k] L(k - f) for shift = n + f, k = 1 - taps .. taps
    (the weights normalised to sum to 1), the band-limited shift that a continuous signal's samples allow."""
    width = images.shape[-1]
    n = math.floor(shift)
    f = shift - n
    if f == 0:
        offsets, weights = torch.tensor([0]), torch.tensor([1.0], dtype=images.dtype)
    else:
        offsets = torch.arange(1 - taps, taps + 1)
        u = offsets.to(torch.float64) - f
        weights = (torch.sinc(u) * torch.sinc(u / taps)).to(images.dtype)
        weights = weights / weights.sum()
    out = torch.zeros_like(images)
    low, high = n + int(offsets.max()), width - 1 + n + int(offsets.min())  # every tap inside the image
    valid = slice(max(low, 0), min(high, width - 1) + 1)
    columns = torch.arange(valid.start, valid.stop)
    for k, w in zip(offsets.tolist(), weights):
        out[..., valid] += w * images[..., columns - n - k]
    return out, valid


def eq_t(set_transform, render, ws: torch.Tensor, shift_px: float) -> float:
    """PSNR (dB, images in [-1, 1]) of render(input translated by shift_px) against render() shifted by shift_px
    (`shift_x`: whole pixels copied, fractions Lanczos-interpolated), on the columns both define."""
    with torch.no_grad():
        base = render(ws)
        set_transform(shift_px / base.shape[-1])
        moved = render(ws)
        set_transform(0.0)
    shifted, valid = shift_x(base.double(), shift_px)
    err = (moved.double()[..., valid] - shifted[..., valid]).square().mean()
    return 10 * math.log10(4 / err.item())


def transform_setter(synthesis_input):
    def set_transform(tx: float) -> None:
        m = torch.eye(3)
        m[0, 2] = -tx  # the input's inverse transform: the image moves by +tx
        synthesis_input.transform.copy_(m)
    return set_transform


def bench_network(name: str, official: dict, networks, batch: int, repeats: int) -> None:
    torch.manual_seed(0)
    port = StyleGAN3Generator(**hfgan_config("training.networks_stylegan3.Generator", [], official)[1]).eval()
    with torch.no_grad():
        for p in port.parameters():
            p.add_(torch.randn_like(p) * 0.1)
    ws = port.map(torch.randn(batch, official["z_dim"]), truncation_psi=0.7)
    ips = images_per_second(port.synthesize, ws, repeats)
    shifts = (official["img_resolution"] / 16, official["img_resolution"] / 16 + 0.5)  # whole pixels, and a half
    eq = [eq_t(transform_setter(port.synthesis.input), port.synthesize, ws, shift) for shift in shifts]
    print(f"{name}: hfgan {ips:.2f} images/s (batch {batch}), EQ-T " + ", ".join(
        f"{value:.2f} dB (shift {shift:g} px)" for value, shift in zip(eq, shifts)))
    if networks is None:
        return
    reference = networks.Generator(**official).eval()
    reference.load_state_dict(port.state_dict())
    ref_ips = images_per_second(reference.synthesis, ws, repeats)
    ref_eq = [eq_t(transform_setter(reference.synthesis.input), reference.synthesis, ws, shift) for shift in shifts]
    with torch.no_grad():
        diff = (reference.synthesis(ws) - port.synthesize(ws)).abs().max().item()
    print(f"{name}: NVIDIA's reference ops {ref_ips:.2f} images/s -> hfgan / NVIDIA = {ips / ref_ips:.2f}x; EQ-T "
          + ", ".join(f"{r:.2f} dB (difference {e - r:+.4f} dB)" for e, r in zip(eq, ref_eq))
          + f"; max |image difference| {diff:.1e}")


def bench_resampling(repeats: int) -> None:
    """The separable path (polyphase, strided) against the same filter as one 2-D filter (zero insertion, one strided
    2-D convolution) on StyleGAN3 layer shapes."""
    torch.manual_seed(0)
    for label, shape, taps, up, down, padding in [
        ("up 4, 24 taps, 64 ch 52 px -> 208 px", (8, 64, 54, 54), 24, 4, 1, [-6, -9, -6, -9]),
        ("down 2, 12 taps, 64 ch 180 px -> 84 px", (8, 64, 180, 180), 12, 1, 2, [0, 0, 0, 0]),
    ]:
        x = torch.randn(shape, requires_grad=True)
        f = torch.rand(taps)
        times = []
        for filt in (f, torch.outer(f, f)):
            start = time.perf_counter()
            for _ in range(repeats):
                upfirdn2d(x, filt, up=up, down=down, padding=padding, gain=up**2).sum().backward()
            times.append((time.perf_counter() - start) / repeats)
        print(f"resampling {label}, forward + backward: separable {times[0] * 1e3:.0f} ms, as one 2-D filter "
              f"{times[1] * 1e3:.0f} ms -> {times[1] / times[0]:.2f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads")
    networks = official_networks()
    if networks is None:
        print("HFGAN_STYLEGAN3_REPO not set: the port alone (set it to a clone of NVlabs/stylegan3 for the ratios)")
    for name, official in CONFIGS.items():
        bench_network(name, official, networks, batch=4 if "64" in name else 1, repeats=args.repeats)
    bench_resampling(args.repeats)


if __name__ == "__main__":
    main()
