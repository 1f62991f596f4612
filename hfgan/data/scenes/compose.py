"""One scene: objects drawn from a set of cutouts, placed at random scales and positions on a background, each with
its box (`compose_scene`, as `SceneSettings` says).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
import PIL.Image

from .backgrounds import make_background
from .objects import Cutout, ObjectSet
from .settings import SceneSettings

BOX_ALPHA = 0.1  # an object's box holds its pixels at least this opaque
_ATTEMPTS_PER_OBJECT = 50
_ATTEMPTS_PER_SCENE = 20


@dataclass
class SceneObject:
    """One object of a scene: its box `[x0, y0, x1, y1]` in pixels (x1, y1 exclusive: the smallest box holding every
    pixel where the object is at least `BOX_ALPHA` opaque), name, label (-1: none), depth (0: the back; later objects
    are in front) and the share of its opacity that no object in front hides."""

    box: list[int]
    name: str
    label: int
    depth: int
    visible: float
    index: int  # which cutout of the object set


@dataclass
class Scene:
    """A composed scene: the RGB image, its objects in depth order (back to front), the background kind ("plain" or
    "textured") and style (`make_background`), and the bare background image."""

    image: PIL.Image.Image
    objects: list[SceneObject]
    background: str
    style: str
    background_image: PIL.Image.Image

    @property
    def boxes(self) -> list[list[int]]:
        return [o.box for o in self.objects]



def _resized(cutout: PIL.Image.Image, side: int) -> tuple[np.ndarray, np.ndarray]:
    """The cutout with its longer side `side` pixels: (RGB float32, alpha float32 in [0, 1])."""
    factor = side / max(cutout.size)
    new_size = (max(1, min(side, round(cutout.width * factor))), max(1, min(side, round(cutout.height * factor))))
    resized = cutout.resize(new_size, PIL.Image.Resampling.LANCZOS) if new_size != cutout.size else cutout
    array = np.asarray(resized, dtype=np.float32)
    return array[..., :3], array[..., 3] / 255.0


def compose_scene(
    rng: np.random.Generator,
    cutouts: Sequence[Cutout] | ObjectSet,
    size: int | None = None,
    *,
    settings: SceneSettings | None = None,
    **options,
) -> Scene:
    """One `size` x `size` RGB scene of `min_objects` to `max_objects` objects (uniformly many), drawn from `cutouts`
    with replacement, on a background drawn by `make_background` ("textured" with probability `textured_fraction`).

    Each object's longer side is a uniform `min_scale` to `max_scale` share of the scene side, its aspect kept (Lanczos
    resize, premultiplied alpha); it lies wholly inside the scene, at a uniform position, pasted in front of the
    objects before it. Objects may overlap, but every object keeps at least `min_visible` of its opacity unhidden by
    the objects in front (placements that would hide more are drawn again).

    The settings are `settings` (default: `SceneSettings()`, 64 pixels, 1 to 4 objects, ...) with `size` and any
    field given as a keyword in `options` replaced, e.g. `compose_scene(rng, cutouts, 32, min_objects=2)`.

    Raises:
        ValueError: bad settings, no cutouts, or objects that cannot be placed (lower `max_scale` or `min_visible`).
    """
    settings = SceneSettings.from_arguments(settings, size=size, **options)
    if len(cutouts) == 0:
        raise ValueError("compose_scene needs at least one cutout")
    size = int(settings.size)
    background_kind = "textured" if rng.random() < settings.textured_fraction else "plain"
    background, style = make_background(rng, size, background_kind, settings.white_fraction)
    count = int(rng.integers(settings.min_objects, settings.max_objects + 1))
    for _ in range(_ATTEMPTS_PER_SCENE):
        placed = _place_objects(rng, cutouts, size, count, settings)
        if placed is not None:
            break
    else:
        raise ValueError(
            f"could not place {count} objects of {settings.min_scale}-{settings.max_scale} of the side with "
            f"min_visible={settings.min_visible} in {_ATTEMPTS_PER_SCENE} tries; lower max_scale, max_objects or "
            "min_visible"
        )
    canvas = background.copy()
    objects = []
    for depth, (index, x, y, rgb, alpha, visible_map) in enumerate(placed):
        h, w = alpha.shape
        region = canvas[y : y + h, x : x + w]
        region += (rgb - region) * alpha[..., None]
        ys, xs = np.nonzero(alpha >= BOX_ALPHA)
        box = [x + int(xs.min()), y + int(ys.min()), x + int(xs.max()) + 1, y + int(ys.max()) + 1]
        cutout = cutouts[index]
        visible = float(visible_map.sum() / alpha.sum())
        objects.append(SceneObject(box, cutout.name, int(cutout.label), depth, round(visible, 4), index))
    image = PIL.Image.fromarray(np.clip(canvas.round(), 0, 255).astype(np.uint8), mode="RGB")
    bare = PIL.Image.fromarray(np.clip(background.round(), 0, 255).astype(np.uint8), mode="RGB")
    return Scene(image, objects, background_kind, style, bare)


def _place_objects(rng, cutouts, size: int, count: int, settings: SceneSettings):
    """[(cutout index, x, y, rgb, alpha, visible alpha map)] back to front, or None when an object found no place."""
    min_visible = settings.min_visible
    placed: list[list] = []
    for _ in range(count):
        index = int(rng.integers(len(cutouts)))
        for _ in range(_ATTEMPTS_PER_OBJECT):
            side = max(2, round(rng.uniform(settings.min_scale, settings.max_scale) * size))
            rgb, alpha = _resized(cutouts[index].image, side)
            h, w = alpha.shape
            x, y = int(rng.integers(0, size - w + 1)), int(rng.integers(0, size - h + 1))
            if not (alpha >= BOX_ALPHA).any():
                continue
            cover = np.zeros((size, size), dtype=np.float32)
            cover[y : y + h, x : x + w] = alpha
            hidden = [p[5] * (1.0 - cover) for p in placed]
            if all(m.sum() >= min_visible * p[4].sum() for m, p in zip(hidden, placed)):
                for p, m in zip(placed, hidden):
                    p[5] = m
                visible_map = np.zeros((size, size), dtype=np.float32)
                visible_map[y : y + h, x : x + w] = alpha
                placed.append([index, x, y, rgb, alpha, visible_map])
                break
        else:
            return None
    return [(i, x, y, rgb, a, m[y : y + a.shape[0], x : x + a.shape[1]]) for i, x, y, rgb, a, m in placed]
