"""What a scene looks like: one frozen dataclass, `SceneSettings`, read by `compose_scene`, `prepare_scenes` and
`hfgan prepare-scenes` (whose flags default to its fields).

Standard library only: the command builds its `--help` from these defaults without importing numpy or Pillow.
"""

from __future__ import annotations

import dataclasses
import math
import numbers
from dataclasses import dataclass

MIN_SCENE_SIZE = 16


def _is_integer(value) -> bool:
    # numbers.Integral covers numpy's integer scalars (numpy registers them) without importing numpy here
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


@dataclass(frozen=True)
class SceneSettings:
    """How the scenes of `compose_scene` and `prepare_scenes` are drawn; checked when made (a `ValueError` names the
    first bad field).

    Attributes:
        size: scene side in pixels, at least `MIN_SCENE_SIZE` (16).
        min_objects, max_objects: objects per scene, uniformly many in this range (at least 1).
        min_scale, max_scale: each object's longer side as a share of the scene side, uniform in this range
            (0 < min_scale <= max_scale <= 1, and at least 2 pixels).
        min_visible: the share of each object's opacity that the objects in front must leave visible, in [0, 1].
        textured_fraction: the share of textured backgrounds (the rest are plain), in [0, 1].
        white_fraction: the share of plain backgrounds that are white (the rest one random colour), in [0, 1].
    """

    size: int = 64
    min_objects: int = 1
    max_objects: int = 4
    min_scale: float = 0.3
    max_scale: float = 0.6
    min_visible: float = 0.6
    textured_fraction: float = 0.5
    white_fraction: float = 0.25

    def __post_init__(self) -> None:
        size = self.size
        if not _is_integer(size) or size < MIN_SCENE_SIZE:
            raise ValueError(f"size must be an integer of at least {MIN_SCENE_SIZE}, got {size!r}")
        for name in ("min_objects", "max_objects"):
            if not _is_integer(getattr(self, name)):
                raise ValueError(f"{name} must be an integer, got {getattr(self, name)!r}")
        if self.min_objects < 1:
            raise ValueError(f"min_objects must be at least 1, got {self.min_objects}")
        if self.min_objects > self.max_objects:
            raise ValueError(f"min_objects ({self.min_objects}) must not exceed max_objects ({self.max_objects})")
        if not (0 < self.min_scale <= self.max_scale <= 1):
            raise ValueError(
                f"the scale range must satisfy 0 < min_scale <= max_scale <= 1 (fractions of the scene side), got "
                f"min_scale={self.min_scale}, max_scale={self.max_scale}"
            )
        if self.min_scale * size < 2:
            raise ValueError(f"min_scale={self.min_scale} makes objects under 2 pixels in a {size}-pixel scene")
        if not 0 <= self.min_visible <= 1:
            raise ValueError(f"min_visible must be in [0, 1], got {self.min_visible}")
        for name in ("textured_fraction", "white_fraction"):
            if not 0 <= getattr(self, name) <= 1:
                raise ValueError(f"{name} must be in [0, 1], got {getattr(self, name)}")

    @classmethod
    def from_arguments(cls, settings: SceneSettings | None = None, **overrides) -> SceneSettings:
        """`settings` (default: the defaults) with the fields in `overrides` replaced; a None override keeps the
        field, so a function can take both `settings=` and single fields as keywords."""
        given = {name: value for name, value in overrides.items() if value is not None}
        unknown = sorted(set(given) - {f.name for f in dataclasses.fields(cls)})
        if unknown:
            raise TypeError(f"unknown scene settings {unknown}; the fields of SceneSettings are "
                            f"{[f.name for f in dataclasses.fields(cls)]}")
        base = settings if settings is not None else cls()
        return dataclasses.replace(base, **given) if given else base

    @property
    def max_cutout_side(self) -> int:
        """The longest side a cutout needs for these scenes: twice the largest object (plenty for a clean Lanczos
        downscale), and at least 64."""
        return max(64, 2 * math.ceil(self.max_scale * self.size))
