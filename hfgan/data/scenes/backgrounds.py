"""Scene backgrounds: one colour, or a smooth texture (`make_background`)."""

from __future__ import annotations

import math

import numpy as np
import PIL.Image

BACKGROUNDS = ("plain", "textured")
TEXTURES = ("gradient", "stripes", "checker", "noise")


def _random_colour(rng: np.random.Generator) -> np.ndarray:
    return rng.integers(0, 256, 3).astype(np.float32)


def _near_colour(rng: np.random.Generator, colour: np.ndarray, spread: float) -> np.ndarray:
    return np.clip(colour + rng.uniform(-spread, spread, 3), 0, 255).astype(np.float32)


def make_background(
    rng: np.random.Generator, size: int, kind: str = "plain", white_fraction: float = 0.25
) -> tuple[np.ndarray, str]:
    """A `size` x `size` background, `(H, W, 3)` float32 in [0, 255], and its style.

    kind: "plain" (one colour: white with probability `white_fraction`, else a random colour; style "white" or
    "solid") or "textured" (style one of `TEXTURES`: a smooth two-colour gradient, soft stripes, a soft checker or
    low-contrast smooth noise, all at random angles, scales and colours).
    """
    if kind == "plain":
        if rng.random() < white_fraction:
            return np.full((size, size, 3), 255.0, dtype=np.float32), "white"
        return np.broadcast_to(_random_colour(rng), (size, size, 3)).astype(np.float32), "solid"
    if kind != "textured":
        raise ValueError(f"background kind must be one of {BACKGROUNDS}, got {kind!r}")
    style = TEXTURES[int(rng.integers(len(TEXTURES)))]
    coords = (np.arange(size, dtype=np.float32) + 0.5) / size  # pixel centres in (0, 1)
    y, x = coords[:, None], coords[None, :]
    angle = rng.uniform(0, 2 * math.pi)
    along = x * math.cos(angle) + y * math.sin(angle)
    first = _random_colour(rng)
    if style == "gradient":
        second = _random_colour(rng)
        t = (along - along.min()) / max(float(along.max() - along.min()), 1e-6)
    elif style == "stripes":
        second = _near_colour(rng, first, 90.0)
        periods = rng.uniform(2.0, 6.0)
        t = 0.5 + 0.5 * np.sin(2 * math.pi * periods * along + rng.uniform(0, 2 * math.pi))
    elif style == "checker":
        second = _near_colour(rng, first, 60.0)
        cells = rng.uniform(3.0, 8.0)  # cells along a side
        across = -x * math.sin(angle) + y * math.cos(angle)
        wave = np.sin(math.pi * cells * along) * np.sin(math.pi * cells * across)
        t = 0.5 + 0.5 * np.tanh(4.0 * wave)
    else:  # noise: a coarse random grid, smoothly upsampled
        second = _near_colour(rng, first, 70.0)
        grid = int(rng.integers(3, 9))
        coarse = PIL.Image.fromarray(rng.random((grid, grid), dtype=np.float32), mode="F")
        t = np.asarray(coarse.resize((size, size), PIL.Image.Resampling.BICUBIC), dtype=np.float32)
        t = np.clip(t, 0.0, 1.0)
    t = np.broadcast_to(t, (size, size))[..., None]
    return (first * (1.0 - t) + second * t).astype(np.float32), style
