"""Looking at scenes: boxes drawn over a scene (`draw_boxes`), a grid of a scenes dataset's first scenes
(`scenes_preview`)."""

from __future__ import annotations

import math
import os
from typing import Sequence

import PIL.Image
import PIL.ImageDraw

from ...utils import make_image_grid
from ..images import decode_image
from ..sources import resolve_data_source

BOX_COLOURS = ((230, 25, 75), (60, 180, 75), (0, 130, 200), (245, 130, 48), (145, 30, 180), (70, 240, 240))


def draw_boxes(
    image: PIL.Image.Image, boxes: Sequence[Sequence[int]], scale: int = 1, width: int = 1
) -> PIL.Image.Image:
    """`image` enlarged `scale` times (nearest neighbour) with each box `[x0, y0, x1, y1]` (x1, y1 exclusive) drawn as
    an outline, the i-th in the i-th of `BOX_COLOURS` (by depth: red the back object, then green, blue, orange)."""
    image = image.convert("RGB")
    if scale != 1:
        image = image.resize((image.width * scale, image.height * scale), PIL.Image.Resampling.NEAREST)
    else:
        image = image.copy()
    draw = PIL.ImageDraw.Draw(image)
    for i, (x0, y0, x1, y1) in enumerate(boxes):
        outline = BOX_COLOURS[i % len(BOX_COLOURS)]
        draw.rectangle((x0 * scale, y0 * scale, x1 * scale - 1, y1 * scale - 1), outline=outline, width=width)
    return image


def scenes_preview(
    source: str | os.PathLike | dict,
    split: str = "test",
    num: int = 16,
    scale: int | None = None,
    cols: int | None = None,
) -> PIL.Image.Image:
    """A grid of the first `num` scenes of a split of a scenes dataset (a parquet file, a folder or a dict of files, as
    `resolve_data_source` takes it) with their boxes drawn (`draw_boxes`), each enlarged `scale` times (by default
    to about 192 pixels), `cols` to a row (by default as square as can be)."""
    data = resolve_data_source(source, split)
    num = min(num, data.num_rows)
    if num < 1:
        raise ValueError(f"{data.description} has no scenes")
    cells = data.image_cells(0, num)
    boxes = data.column("boxes").slice(0, num).to_pylist()
    images = [PIL.Image.fromarray(decode_image(cell, base_dir=data.base_dir)) for cell in cells]
    scale = scale or max(1, round(192 / images[0].width))
    tiles = [draw_boxes(image, b, scale=scale) for image, b in zip(images, boxes)]
    cols = cols or math.ceil(math.sqrt(num))
    return make_image_grid(tiles, cols=cols, padding=2)
