"""Multi-object scenes for layout GANs (BlobGAN): 1 to 4 object cutouts at random positions and scales on a plain or
textured background, with every object's box and identity, written as train and test parquet files.

    report = prepare_scenes("emoji", "data/scenes", num_train=5000, num_test=1000, size=64, seed=0)
    print(report.summary())

The pieces work alone too:

    objects = object_cutouts("emoji", split="test")        # RGBA cutouts, with a name and a label each
    scene = compose_scene(np.random.default_rng(0), objects, size=64)
    scene.image, scene.objects[0].box, scene.objects[0].name

Objects come from the shipped emoji set, any parquet file or dataset folder with an image column, a folder of images
(class subfolders name the labels) or a Hub dataset id. Transparent images keep their alpha; opaque ones are cut out
of their background, whose colour is read off the image's border (a soft matte with the background's colour removed
from the edge pixels, so anti-aliased edges leave no halo on a dark background). Each cutout is cropped to its
non-transparent box.

Every scene draws its own random numbers from `(seed, split, index)`, so the output is the same for the same
arguments, and the first N scenes of a split do not depend on how many are made.
"""

from __future__ import annotations

import math
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import PIL.Image
import PIL.ImageDraw
import pyarrow as pa
import pyarrow.parquet as pq

from ..utils import atomic_write
from .images import _rgb_or_rgba, decode_image, encode_png, image_payload, open_image
from .sources import HUB, IMAGE_FOLDER, PARQUET_FILE, PARQUET_FILES, resolve_data_source, source_kind

MIN_SCENE_SIZE = 16
NO_LABEL = -1
BACKGROUNDS = ("plain", "textured")
TEXTURES = ("gradient", "stripes", "checker", "noise")
BOX_ALPHA = 0.1  # an object's box holds its pixels at least this opaque
MIN_FOREGROUND_FRACTION = 0.005  # an image with fewer opaque pixels than this share has no foreground
SPLIT_IDS = {"train": 0, "test": 1}  # the second entropy word of each split's scenes
_ATTEMPTS_PER_OBJECT = 50
_ATTEMPTS_PER_SCENE = 20


# --------------------------------------------------------------------------------------------------------------------
# Cutouts
# --------------------------------------------------------------------------------------------------------------------


@dataclass
class Cutout:
    """One object: an RGBA image cropped to its non-transparent box, its name and its label (-1: none)."""

    image: PIL.Image.Image
    name: str
    label: int = NO_LABEL


@dataclass
class ObjectSet:
    """The cutouts of a source (`object_cutouts`), its class names (None: no labels), and the images skipped."""

    cutouts: list[Cutout]
    class_names: list[str] | None = None
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (image name, reason)
    description: str = ""

    def __len__(self) -> int:
        return len(self.cutouts)

    def __getitem__(self, index: int) -> Cutout:
        return self.cutouts[index]

    def __iter__(self):
        return iter(self.cutouts)


def _background_colour(rgb: np.ndarray, tolerance: int = 24) -> tuple[np.ndarray, float] | None:
    """The colour most of the image's border shares and how much the border pixels of that colour vary around it (the
    95th percentile of their largest channel difference), or None when no colour covers a quarter of the border."""
    border = np.concatenate([rgb[0], rgb[-1], rgb[1:-1, 0], rgb[1:-1, -1]])
    if len(border) > 512:  # a regular subsample is plenty
        border = border[np.linspace(0, len(border) - 1, 512).astype(np.int64)]
    border = border.astype(np.int16)
    corners = border[[0, len(rgb[0]) - 1, len(rgb[0]), 2 * len(rgb[0]) - 1]]
    exact = (border[None, :, :] == corners[:, None, :]).all(axis=2).sum(axis=1)
    if exact.max() * 2 >= len(border):  # a corner's exact colour holds half the border: a flat background
        centre = corners[int(np.argmax(exact))]
    else:  # the candidate with most border pixels close to it: a frequent exact colour or one of a spread of pixels
        codes = (border[:, 0].astype(np.int32) << 16) | (border[:, 1].astype(np.int32) << 8) | border[:, 2]
        _, first, frequency = np.unique(codes, return_index=True, return_counts=True)
        frequent = first[np.argsort(-frequency, kind="stable")[:8]]
        candidates = np.concatenate([border[frequent], border[:: max(1, len(border) // 24)]])
        neighbours = (np.abs(candidates[:, None, :] - border[None, :, :]).max(axis=2) <= tolerance).sum(axis=1)
        centre = candidates[int(np.argmax(neighbours))]
    members = border[np.abs(border - centre).max(axis=1) <= tolerance]
    if len(members) * 4 < len(border):
        return None
    colour = np.median(members, axis=0).round().astype(np.int16)
    spread = np.sort(np.abs(members - colour).max(axis=1))
    return colour, float(spread[int(0.95 * (len(spread) - 1))])


def _connected_to_border(mask: np.ndarray) -> np.ndarray:
    """The pixels of `mask`, `(H, W)` or a batch `(N, H, W)`, that a 4-connected path inside `mask` joins to the border
    of their image. With scipy installed its connected-component labelling, else the same answer with numpy alone."""
    try:
        from scipy import ndimage
    except ImportError:
        return _connected_to_border_numpy(mask)
    single = mask.ndim == 2
    mask = mask[None] if single else mask
    structure = np.zeros((3, 3, 3), dtype=bool)
    structure[1] = [[0, 1, 0], [1, 1, 1], [0, 1, 0]]  # 4-connected within each image, never across images
    labels, count = ndimage.label(mask, structure=structure)
    on_border = np.zeros(count + 1, dtype=bool)
    for edge in (labels[:, 0], labels[:, -1], labels[:, :, 0], labels[:, :, -1]):
        on_border[edge] = True
    on_border[0] = False  # the label of pixels outside `mask`
    reached = on_border[labels]
    return reached[0] if single else reached


def _connected_to_border_numpy(mask: np.ndarray) -> np.ndarray:
    """`_connected_to_border` without scipy: alternating row and column sweeps, in each of which a whole run of `mask`
    pixels along a row (then a column) is reached when any pixel of it is, so the passes needed grow with the turns
    of the paths, not their length."""
    single = mask.ndim == 2
    mask = mask[None] if single else mask
    n, h, w = mask.shape
    reached = np.zeros_like(mask)
    reached[:, 0], reached[:, -1] = mask[:, 0], mask[:, -1]
    reached[:, :, 0], reached[:, :, -1] = mask[:, :, 0], mask[:, :, -1]
    # run ids: the pixels of one run of `mask` along a row share the count of non-mask pixels before them in the row,
    # offset to be unique to the row (and the same along columns)
    row_runs = np.cumsum(~mask, axis=2) + np.arange(n * h).reshape(n, h, 1) * (w + 1)
    col_runs = np.cumsum(~mask, axis=1) + np.arange(n * w).reshape(n, 1, w) * (h + 1)
    count = int(reached.sum())
    while True:
        hit = np.zeros(n * h * (w + 1), dtype=bool)
        hit[row_runs[reached]] = True
        reached = hit[row_runs] & mask
        hit = np.zeros(n * w * (h + 1), dtype=bool)
        hit[col_runs[reached]] = True
        reached = hit[col_runs] & mask
        count, before = int(reached.sum()), count
        if count == before:
            return reached[0] if single else reached


def _dilate(mask: np.ndarray, radius: int) -> np.ndarray:
    """`mask` (`(..., H, W)`) grown by `radius` pixels (a square neighbourhood)."""
    grown = mask.copy()
    for _ in range(radius):
        step = grown.copy()
        step[..., 1:, :] |= grown[..., :-1, :]
        step[..., :-1, :] |= grown[..., 1:, :]
        grown = step.copy()
        grown[..., :, 1:] |= step[..., :, :-1]
        grown[..., :, :-1] |= step[..., :, 1:]
    return grown


_RIM_BARRIER = 128  # a pixel this far from the background colour (largest channel difference) stops the rim
_FAINTEST = 8 / 255  # rim pixels less opaque than this are background
_RAMP = 48.0  # where the foreground colour is unknown or close to the background: opaque at `low` + this


def _box_sums_at(array: np.ndarray, radius: int, where: np.ndarray) -> np.ndarray:
    """The sums of integer `array` (`(N, H, W, C)`) over the (2 radius + 1)-pixel squares (clipped to the image) around
    the pixels of the mask `where` (`(N, H, W)`): `(count, C)` integers, in the order of `np.nonzero(where)`."""
    n, h, w, c = array.shape
    dtype = np.int32 if h * w * 256 < 2**31 else np.int64  # the largest sum: every pixel 255
    integral = np.zeros((n, h + 1, w + 1, c), dtype=dtype)
    integral[:, 1:, 1:] = array.cumsum(axis=1, dtype=dtype).cumsum(axis=2, dtype=dtype)
    k, y, x = np.nonzero(where)
    y0, y1 = np.clip(y - radius, 0, h), np.clip(y + radius + 1, 0, h)
    x0, x1 = np.clip(x - radius, 0, w), np.clip(x + radius + 1, 0, w)
    return integral[k, y1, x1] - integral[k, y0, x1] - integral[k, y1, x0] + integral[k, y0, x0]


def _matte(
    rgb: np.ndarray, background: np.ndarray, low: np.ndarray, edge_width: int
) -> tuple[np.ndarray, np.ndarray]:
    """Cut a batch of opaque images `(N, H, W, 3)` out of their backgrounds (`(N, 3)`, with thresholds `low`, `(N,)`),
    as `cut_out` says: `(colours, alphas)`, uint8 `(N, H, W, 3)` and `(N, H, W)`."""
    channels = np.abs(rgb.astype(np.int16) - background[:, None, None, :])
    difference = np.maximum(np.maximum(channels[..., 0], channels[..., 1]), channels[..., 2])
    exterior = _connected_to_border(difference < low[:, None, None])
    # the rim: near the exterior, and not behind a pixel far from the background colour (a light part that an
    # outline encloses stays solid)
    open_to_border = _dilate(_connected_to_border(difference < _RIM_BARRIER), 1)
    rim = _dilate(exterior, edge_width) & ~exterior & open_to_border
    core = ~exterior & ~rim
    # the object's own colour beside each rim pixel: the mean colour of the solid pixels around it
    solid = np.concatenate([rgb * core[..., None], core[..., None]], axis=-1, dtype=np.int32)
    sums = _box_sums_at(solid, edge_width + 1, rim)
    known = sums[:, 3] > 0
    foreground = sums[:, :3] / np.maximum(sums[:, 3:], 1)
    # a rim pixel is the mix alpha * foreground + (1 - alpha) * background: alpha by projecting it on that line; with
    # no foreground colour, or one too close to the background, a ramp over the distance to the background
    which = np.nonzero(rim)[0]
    colour = rgb[rim].astype(np.float32)
    behind = background[which].astype(np.float32)
    towards = (foreground - behind).astype(np.float32)
    reach = (towards * towards).sum(axis=1)
    projected = ((colour - behind) * towards).sum(axis=1) / np.maximum(reach, 1.0)
    ramp = (difference[rim] - low[which]) / _RAMP
    alpha_rim = np.clip(np.where(known & (reach >= 32.0**2), projected, ramp), 0.0, 1.0)
    alpha_rim[alpha_rim < _FAINTEST] = 0.0  # specks (Lanczos ringing around the object) are not part of it
    alpha = np.where(exterior, 0, 255).astype(np.uint8)
    alpha[rim] = (alpha_rim * 255.0).round().astype(np.uint8)
    # and its colour, which composited at that opacity over the background gives the pixel: no background left in it
    rgb = rgb.copy()
    rgb[rim] = np.clip(behind + (colour - behind) / np.maximum(alpha_rim, 1e-3)[:, None], 0, 255).round()
    return rgb, alpha


def _finish_cutout(rgb: np.ndarray, alpha: np.ndarray, max_side: int | None) -> PIL.Image.Image | None:
    """The RGBA cutout of colours `(H, W, 3)` and opacities `(H, W)`: cropped to its non-transparent box and shrunk to
    `max_side`; None without foreground."""
    if (alpha >= 128).sum() < max(1.0, MIN_FOREGROUND_FRACTION * alpha.size):
        return None
    ys, xs = np.nonzero(alpha)
    y0, y1, x0, x1 = int(ys.min()), int(ys.max()) + 1, int(xs.min()), int(xs.max()) + 1
    rgb, alpha = rgb[y0:y1, x0:x1], alpha[y0:y1, x0:x1]
    rgba = np.dstack([np.where(alpha[..., None] > 0, rgb, 0).astype(np.uint8), alpha])  # nothing in transparent pixels
    cutout = PIL.Image.fromarray(rgba, mode="RGBA")
    if max_side is not None and max(cutout.size) > max_side:
        factor = max_side / max(cutout.size)
        new_size = (max(1, round(cutout.width * factor)), max(1, round(cutout.height * factor)))
        cutout = cutout.resize(new_size, PIL.Image.Resampling.LANCZOS, reducing_gap=3.0)
    return cutout


class _Matting:
    """Images queued for `cut_out`: those with an alpha channel, or no background colour, finish at once; opaque ones of
    one size are matted together, a batch at a time (`_matte`), then finished. `finish()` gives each key's cutout."""

    _BATCH_PIXELS = 1 << 20  # pixels matted at once; at most four times as many wait

    def __init__(self, low: float | None, edge_width: int, max_side: int | None):
        self.low, self.edge_width, self.max_side = low, edge_width, max_side
        self.results: dict[int, PIL.Image.Image | None] = {}
        self.pending: dict[tuple[int, int], list[tuple[int, np.ndarray, np.ndarray, float]]] = {}
        self.pending_pixels = 0

    def add(self, key: int, image: PIL.Image.Image) -> None:
        image = _rgb_or_rgba(image)
        if self.max_side is not None and max(image.size) > 4 * self.max_side:  # far more pixels than a cutout keeps
            factor = 4 * self.max_side / max(image.size)
            size = (max(1, round(image.width * factor)), max(1, round(image.height * factor)))
            image = image.resize(size, PIL.Image.Resampling.LANCZOS, reducing_gap=3.0)
        rgba = np.asarray(image, dtype=np.uint8)
        if image.mode == "RGBA" and rgba[..., 3].min() < 255:
            self.results[key] = _finish_cutout(rgba[..., :3], rgba[..., 3], self.max_side)
            return
        rgb = rgba[..., :3]
        found = _background_colour(rgb) if min(rgb.shape[:2]) >= 3 else None
        if found is None:
            self.results[key] = _finish_cutout(rgb, np.full(rgb.shape[:2], 255, np.uint8), self.max_side)
            return
        background, noise = found
        low = self.low if self.low is not None else min(32.0, 4.0 + 2.0 * noise)  # above the background's noise
        shape = rgb.shape[:2]
        batch = self.pending.setdefault(shape, [])
        batch.append((key, rgb, background, low))
        self.pending_pixels += shape[0] * shape[1]
        if len(batch) * shape[0] * shape[1] >= self._BATCH_PIXELS:
            self._run(shape)
        elif self.pending_pixels >= 4 * self._BATCH_PIXELS:  # many sizes: do them all
            self.finish()

    def _run(self, shape: tuple[int, int]) -> None:
        batch = self.pending.pop(shape, [])
        if not batch:
            return
        self.pending_pixels -= len(batch) * shape[0] * shape[1]
        keys, rgbs, backgrounds, lows = zip(*batch)
        lows = np.asarray(lows, dtype=np.float32)
        colours, alphas = _matte(np.stack(rgbs), np.stack(backgrounds), lows, self.edge_width)
        for key, rgb, alpha in zip(keys, colours, alphas):
            self.results[key] = _finish_cutout(rgb, alpha, self.max_side)

    def finish(self) -> dict[int, PIL.Image.Image | None]:
        for shape in list(self.pending):
            self._run(shape)
        return self.results


def cut_out(
    image: PIL.Image.Image,
    low: float | None = None,
    edge_width: int = 2,
    max_side: int | None = None,
) -> PIL.Image.Image | None:
    """An RGBA cutout of the object in `image`, cropped to its non-transparent box; None when it has no foreground.

    An image with transparency keeps its alpha. An opaque one is cut out of its background, the colour shared by most
    of its border: pixels within `low` of that colour (largest channel difference) and joined to the border through
    such pixels are transparent (`low`, by default 4 plus twice the variation of the border's background pixels: 4 on
    a flat colour, at most 32). The object's rim, the pixels up to `edge_width` from them, gets a soft edge: each rim
    pixel is read as a mix of the background colour and the object's colour beside it (carried out from the solid
    pixels inside), its opacity the share of the object in the mix and its colour the object's, so an anti-aliased
    edge pasted on another background shows no halo of the old one. Everything else is opaque, so a light part of
    the object that its outline encloses (the white of an eye, a plate) stays solid; one that touches the background
    through a gap in the outline goes transparent with it (a few white flags of the emoji set). An opaque image with
    no dominant border colour is kept whole. An image with an alpha channel that is opaque everywhere counts as
    opaque.

    No foreground: fewer than `MIN_FOREGROUND_FRACTION` of the pixels are at least half opaque.
    max_side: a cutout whose longer side is larger is shrunk to it (Lanczos, on premultiplied alpha).
    """
    matting = _Matting(low, edge_width, max_side)
    matting.add(0, image)
    return matting.finish()[0]


def _describe(error: BaseException) -> str:
    from .prepare import _describe_error

    return _describe_error(error)


def _table_objects(source, split: str, token, revision) -> tuple[list[tuple[str, Any, int]], list[str] | None, str]:
    """(name, payload, label) of every row of one split of a table source, its class names, its description."""
    import datasets

    data = resolve_data_source(source, split, token=token, revision=revision)
    features = data.features
    label_column = "label" if isinstance(features.get("label"), datasets.ClassLabel) else None
    if label_column is None:
        label_column = next((n for n, f in features.items() if isinstance(f, datasets.ClassLabel)), None)
    class_names = list(features[label_column].names) if label_column else None
    name_column = next(
        (n for n in ("name", "object_name", "title") if isinstance(features.get(n), datasets.Value)
         and features[n].dtype in ("string", "large_string")), None,
    )  # fmt: skip
    cells = data.column(data.image_column).to_pylist()
    labels = data.column(label_column).to_pylist() if label_column else [None] * len(cells)
    names = data.column(name_column).to_pylist() if name_column else [None] * len(cells)
    rows = []
    for row, (cell, label, name) in enumerate(zip(cells, labels, names)):
        path = cell.get("path") if isinstance(cell, dict) else cell if isinstance(cell, str) else None
        if name is None:
            name = os.path.splitext(os.path.basename(path))[0] if path else f"row {row}"
        label = NO_LABEL if label is None or label < 0 else int(label)
        rows.append((str(name), image_payload(cell, data.base_dir), label))
    return rows, class_names, data.description


def _folder_objects(root: Path) -> tuple[list[tuple[str, Any, int]], list[str] | None, str]:
    from .prepare import _folder_source

    src = _folder_source(root, "auto")
    rows = [
        (os.path.splitext(rel)[0], path, NO_LABEL if label is None else label)
        for chunk in src.chunks()
        for _, path, label, rel in chunk
    ]
    return rows, src.class_names, src.description


def object_cutouts(
    source: str | os.PathLike | dict = "emoji",
    split: str = "train",
    *,
    low: float | None = None,
    edge_width: int = 2,
    max_side: int | None = None,
    token: str | bool | None = None,
    revision: str | None = None,
) -> ObjectSet:
    """The objects of one split of `source` as RGBA cutouts (see `cut_out`), each with a name and a label.

    Args:
        source: `"emoji"` (the shipped set: names from its `name` column, labels its 9 Unicode groups), a parquet
            file or dataset folder with an image column (names from a `name` column or the image paths, labels from a
            ClassLabel column), a folder of images (names: their paths without extension; labels: class subfolders,
            when every image sits in one of at least two), or a Hub dataset id.
        split: the split of a dataset folder, `"emoji"` or a Hub dataset; a parquet file and a folder of images have
            only `"train"`.
        low, edge_width: the matte of opaque images (see `cut_out`).
        max_side: shrink larger cutouts to this longer side.

    Returns:
        an `ObjectSet`: the cutouts in source order, the class names (None without labels), and every image skipped
        with the reason (unreadable, or no foreground).

    Raises:
        ValueError: a missing path, a source without an image column or without the split, or no usable object.
    """
    try:
        kind, where = source_kind(source)
    except FileNotFoundError as error:
        raise ValueError(str(error)) from error
    if kind == IMAGE_FOLDER:
        if split != "train":
            raise ValueError(f"{source} is a folder of images, which holds one split ('train'), not {split!r}")
        from .prepare import PrepareError

        try:
            rows, class_names, description = _folder_objects(where)
        except PrepareError as error:
            raise ValueError(f"no usable objects: {error}") from error
    else:
        try:
            rows, class_names, description = _table_objects(source, split, token, revision)
        except FileNotFoundError as error:
            raise ValueError(str(error)) from error
    objects = ObjectSet([], class_names=class_names, description=description)
    matting = _Matting(low, edge_width, max_side)
    problems: dict[int, str] = {}
    for key, (name, payload, _) in enumerate(rows):
        if payload is None:
            problems[key] = "no image data"
            continue
        try:
            matting.add(key, payload if isinstance(payload, PIL.Image.Image) else open_image(payload))
        except Exception as error:  # noqa: BLE001 - one bad image never stops the run
            problems[key] = _describe(error)
    cutouts = matting.finish()
    for key, (name, _, label) in enumerate(rows):
        cutout = cutouts.get(key)
        if cutout is not None:
            objects.cutouts.append(Cutout(cutout, name, label))
        else:
            objects.skipped.append((name, problems.get(key, "no foreground")))
    if not objects.cutouts:
        reasons = "; ".join(f"{n}: {r}" for n, r in objects.skipped[:5])
        raise ValueError(
            f"no usable objects in {description}: all {len(objects.skipped)} images skipped"
            + (f" ({reasons}{', ...' if len(objects.skipped) > 5 else ''})" if reasons else "")
        )
    return objects


# --------------------------------------------------------------------------------------------------------------------
# Backgrounds and scenes
# --------------------------------------------------------------------------------------------------------------------


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


def _check_scene_arguments(
    size: int, min_objects: int, max_objects: int, min_scale: float, max_scale: float, min_visible: float,
    textured_fraction: float, white_fraction: float,
) -> None:  # fmt: skip
    if not isinstance(size, (int, np.integer)) or isinstance(size, bool) or size < MIN_SCENE_SIZE:
        raise ValueError(f"size must be an integer of at least {MIN_SCENE_SIZE}, got {size!r}")
    for name, value in (("min_objects", min_objects), ("max_objects", max_objects)):
        if not isinstance(value, (int, np.integer)) or isinstance(value, bool):
            raise ValueError(f"{name} must be an integer, got {value!r}")
    if min_objects < 1:
        raise ValueError(f"min_objects must be at least 1, got {min_objects}")
    if min_objects > max_objects:
        raise ValueError(f"min_objects ({min_objects}) must not exceed max_objects ({max_objects})")
    if not (0 < min_scale <= max_scale <= 1):
        raise ValueError(
            f"the scale range must satisfy 0 < min_scale <= max_scale <= 1 (fractions of the scene side), got "
            f"min_scale={min_scale}, max_scale={max_scale}"
        )
    if min_scale * size < 2:
        raise ValueError(f"min_scale={min_scale} makes objects under 2 pixels in a {size}-pixel scene")
    if not 0 <= min_visible <= 1:
        raise ValueError(f"min_visible must be in [0, 1], got {min_visible}")
    for name, value in (("textured_fraction", textured_fraction), ("white_fraction", white_fraction)):
        if not 0 <= value <= 1:
            raise ValueError(f"{name} must be in [0, 1], got {value}")


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
    size: int = 64,
    *,
    min_objects: int = 1,
    max_objects: int = 4,
    min_scale: float = 0.3,
    max_scale: float = 0.6,
    min_visible: float = 0.6,
    textured_fraction: float = 0.5,
    white_fraction: float = 0.25,
) -> Scene:
    """One `size` x `size` RGB scene of `min_objects` to `max_objects` objects (uniformly many), drawn from `cutouts`
    with replacement, on a background drawn by `make_background` ("textured" with probability `textured_fraction`).

    Each object's longer side is a uniform `min_scale` to `max_scale` share of the scene side, its aspect kept (Lanczos
    resize, premultiplied alpha); it lies wholly inside the scene, at a uniform position, pasted in front of the
    objects before it. Objects may overlap, but every object keeps at least `min_visible` of its opacity unhidden by
    the objects in front (placements that would hide more are drawn again).

    Raises:
        ValueError: bad arguments, no cutouts, or objects that cannot be placed (lower `max_scale` or `min_visible`).
    """
    _check_scene_arguments(
        size, min_objects, max_objects, min_scale, max_scale, min_visible, textured_fraction, white_fraction
    )
    if len(cutouts) == 0:
        raise ValueError("compose_scene needs at least one cutout")
    size = int(size)
    background_kind = "textured" if rng.random() < textured_fraction else "plain"
    background, style = make_background(rng, size, background_kind, white_fraction)
    count = int(rng.integers(min_objects, max_objects + 1))
    for _ in range(_ATTEMPTS_PER_SCENE):
        placed = _place_objects(rng, cutouts, size, count, min_scale, max_scale, min_visible)
        if placed is not None:
            break
    else:
        raise ValueError(
            f"could not place {count} objects of {min_scale}-{max_scale} of the side with min_visible={min_visible} "
            f"in {_ATTEMPTS_PER_SCENE} tries; lower max_scale, max_objects or min_visible"
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


def _place_objects(rng, cutouts, size, count, min_scale, max_scale, min_visible):
    """[(cutout index, x, y, rgb, alpha, visible alpha map)] back to front, or None when an object found no place."""
    placed: list[list] = []
    for _ in range(count):
        index = int(rng.integers(len(cutouts)))
        for _ in range(_ATTEMPTS_PER_OBJECT):
            side = max(2, round(rng.uniform(min_scale, max_scale) * size))
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


# --------------------------------------------------------------------------------------------------------------------
# Datasets of scenes
# --------------------------------------------------------------------------------------------------------------------


def scene_features(class_names: list[str] | None = None):
    """The `datasets` features of a scenes parquet (see `prepare_scenes`); `object_labels` is a list of ClassLabel
    when there are class names, else of ints."""
    import datasets

    sequence = getattr(datasets, "List", None) or datasets.Sequence  # datasets < 4 has only Sequence
    label = datasets.ClassLabel(names=list(class_names)) if class_names is not None else datasets.Value("int32")
    return datasets.Features(
        {
            "image": datasets.Image(),
            "num_objects": datasets.Value("int32"),
            "boxes": sequence(sequence(datasets.Value("int32"), length=4)),
            "object_names": sequence(datasets.Value("string")),
            "object_labels": sequence(label),
            "background": datasets.Value("string"),
        }
    )


@dataclass
class ScenesReport:
    """What `prepare_scenes` did: per split, the file written, scenes, objects per scene, backgrounds."""

    outputs: dict[str, Path]
    size: int
    source: str
    scenes: dict[str, int] = field(default_factory=dict)
    objects_per_scene: dict[str, dict[int, int]] = field(default_factory=dict)  # split -> {count: scenes}
    backgrounds: dict[str, dict[str, int]] = field(default_factory=dict)  # split -> {"plain": n, "textured": n}
    source_objects: dict[str, int] = field(default_factory=dict)  # split -> usable cutouts it draws from
    object_splits: dict[str, str] = field(default_factory=dict)  # split -> the source split its objects come from
    skipped: list[tuple[str, str]] = field(default_factory=list)  # source images without a usable object
    class_names: list[str] | None = None
    seconds: float = 0.0

    @property
    def total_scenes(self) -> int:
        return sum(self.scenes.values())

    def histogram(self) -> dict[int, int]:
        """Objects per scene, over every split: {count: scenes}."""
        total: dict[int, int] = {}
        for counts in self.objects_per_scene.values():
            for n, scenes in counts.items():
                total[n] = total.get(n, 0) + scenes
        return dict(sorted(total.items()))

    def summary(self, max_listed: int = 10) -> str:
        rate = self.total_scenes / self.seconds if self.seconds > 0 else float("inf")
        lines = [
            f"Wrote {' and '.join(f'{n} {s}' for s, n in self.scenes.items())} scenes ({self.size}x{self.size} RGB) "
            f"in {self.seconds:.1f} s ({rate:.0f} scenes/s):"
        ]
        lines += [f"  {split}: {path}" for split, path in self.outputs.items()]
        lines.append(
            f"Objects from {self.source}: "
            + ", ".join(
                f"{self.source_objects[s]} for {s} (split {self.object_splits[s]!r})" for s in self.source_objects
            )
            + (f"; {len(self.class_names)} classes" if self.class_names is not None else "; no labels")
            + "."
        )
        histogram, total = self.histogram(), max(1, self.total_scenes)
        lines.append(
            "Objects per scene: " + ", ".join(f"{n}: {c} ({100 * c / total:.0f}%)" for n, c in histogram.items()) + "."
        )
        kinds: dict[str, int] = {}
        for counts in self.backgrounds.values():
            for kind, n in counts.items():
                kinds[kind] = kinds.get(kind, 0) + n
        lines.append("Backgrounds: " + ", ".join(f"{k} {n}" for k, n in sorted(kinds.items())) + ".")
        if self.skipped:
            lines.append(f"Skipped {len(self.skipped)} source images:")
            lines += [f"  {name}: {reason}" for name, reason in self.skipped[:max_listed]]
            if len(self.skipped) > max_listed:
                lines.append(f"  ... and {len(self.skipped) - max_listed} more")
        else:
            lines.append("Skipped 0 source images.")
        return "\n".join(lines)


def scenes_file(out: str | os.PathLike, size: int, split: str) -> Path:
    """Where `prepare_scenes` writes a split: `<out>/scenes-<size>-<split>.parquet`."""
    return Path(out) / f"scenes-{size}-{split}.parquet"


def _objects_per_split(source, token, revision, max_side) -> dict[str, tuple[ObjectSet, str]]:
    """{scene split: (its objects, the source split they came from)}: the source's own train and test splits when it
    has both, else its one split for both."""
    kwargs = dict(max_side=max_side, token=token, revision=revision)
    try:
        kind, _ = source_kind(source)
    except FileNotFoundError as error:
        raise ValueError(str(error)) from error
    train = object_cutouts(source, "train", **kwargs)
    test = None
    if kind not in (IMAGE_FOLDER, PARQUET_FILE):
        if kind == PARQUET_FILES:
            has_test = "test" in source
        elif kind == HUB:
            has_test = True  # asked for below; a dataset without one falls back to train
        else:
            has_test = "test" in resolve_data_source(source, "train").splits
        if has_test:
            try:
                test = object_cutouts(source, "test", **kwargs)
            except ValueError:
                if kind != HUB:
                    raise
    if test is None:
        return {"train": (train, "train"), "test": (train, "train")}
    return {"train": (train, "train"), "test": (test, "test")}


def prepare_scenes(
    source: str | os.PathLike | dict = "emoji",
    out: str | os.PathLike = "data/scenes",
    num_train: int = 5000,
    num_test: int = 1000,
    size: int = 64,
    seed: int = 0,
    *,
    min_objects: int = 1,
    max_objects: int = 4,
    min_scale: float = 0.3,
    max_scale: float = 0.6,
    min_visible: float = 0.6,
    textured_fraction: float = 0.5,
    white_fraction: float = 0.25,
    overwrite: bool = False,
    row_group_size: int = 256,
    progress: bool = False,
    token: str | bool | None = None,
    revision: str | None = None,
) -> ScenesReport:
    """Compose `num_train` and `num_test` scenes (`compose_scene`) of the objects of `source` and write them to
    `<out>/scenes-<size>-train.parquet` and `<out>/scenes-<size>-test.parquet`.

    Train scenes draw their objects from the source's train split and test scenes from its test split when it has
    one (the shipped `"emoji"` set does: no emoji appears in both); a source of one split (a parquet file, a folder of
    images) gives both splits all its objects. Scene `i` of a split is drawn from its own generator,
    `numpy.random.default_rng([seed, split id, i])`: the same arguments give byte-identical files.

    Columns: `image` (the `datasets` Image feature, PNG bytes), `num_objects` (int32), `boxes` (one `[x0, y0, x1, y1]`
    per object, pixels, x1 and y1 exclusive, back to front), `object_names` (str), `object_labels` (a ClassLabel of
    the source's classes, or ints; -1: no label) and `background` ("plain" or "textured"); the `datasets` features are
    stored in the schema, so `load_dataset("parquet", ...)` reads images and class names back.

    Args:
        source: where the objects come from, as `object_cutouts` takes it.
        out: the folder to write.
        num_train, num_test: scenes per split, at least 1 each.
        size: scene side in pixels, at least 16.
        seed: the seed of every random choice.
        min_objects, max_objects, min_scale, max_scale, min_visible, textured_fraction, white_fraction: see
            `compose_scene` and `make_background`.
        overwrite: replace existing files; without it an existing file is an error and nothing is written.
        row_group_size: scenes per parquet row group.
        progress: show a progress bar (on stderr).
        token, revision: for a Hub dataset.

    Raises:
        ValueError: bad arguments, a missing source, a source without usable objects.
        FileExistsError: an output exists and `overwrite` is false.
    """
    start = time.perf_counter()
    _check_scene_arguments(
        size, min_objects, max_objects, min_scale, max_scale, min_visible, textured_fraction, white_fraction
    )
    for name, value in (("num_train", num_train), ("num_test", num_test)):
        if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < 1:
            raise ValueError(f"{name} must be an integer of at least 1, got {value!r}")
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    if row_group_size < 1:
        raise ValueError("row_group_size must be at least 1")
    counts = {"train": int(num_train), "test": int(num_test)}
    outputs = {split: scenes_file(out, size, split) for split in counts}
    if Path(out).exists() and not Path(out).is_dir():
        raise ValueError(f"out must be a folder; {out} is a file")
    existing = [str(p) for p in outputs.values() if p.exists()]
    if existing and not overwrite:
        raise FileExistsError(
            f"{' and '.join(existing)} {'exists' if len(existing) == 1 else 'exist'}; pass overwrite=True "
            "(--overwrite) to replace"
        )

    # cutouts are shrunk to twice the largest size a scene uses: plenty for a clean Lanczos downscale
    max_side = max(64, 2 * math.ceil(max_scale * size))
    objects = _objects_per_split(source, token, revision, max_side)
    class_names = objects["train"][0].class_names
    if objects["test"][0].class_names != class_names:
        raise ValueError(f"the train and test splits of {source} have different class names")
    report = ScenesReport(outputs=outputs, size=int(size), source=str(source), class_names=class_names)
    seen = set()
    for split, (object_set, from_split) in objects.items():
        report.source_objects[split] = len(object_set)
        report.object_splits[split] = from_split
        if id(object_set) not in seen:
            seen.add(id(object_set))
            report.skipped += object_set.skipped

    features = scene_features(class_names)
    schema = features.arrow_schema
    options = dict(
        min_objects=min_objects, max_objects=max_objects, min_scale=min_scale, max_scale=max_scale,
        min_visible=min_visible, textured_fraction=textured_fraction, white_fraction=white_fraction,
    )  # fmt: skip

    def write_split(split: str, tmp_path: str) -> None:
        from tqdm.auto import tqdm

        object_set, count = objects[split][0], counts[split]
        histogram = {n: 0 for n in range(min_objects, max_objects + 1)}
        backgrounds = {kind: 0 for kind in BACKGROUNDS}
        columns: dict[str, list] = {name: [] for name in features}
        with pq.ParquetWriter(tmp_path, schema) as writer, tqdm(
            total=count, unit="scene", desc=f"prepare-scenes {split}", disable=not progress, dynamic_ncols=True
        ) as bar:  # fmt: skip

            def flush() -> None:
                if columns["image"]:
                    writer.write_table(pa.Table.from_pydict(columns, schema=schema), row_group_size=row_group_size)
                    for values in columns.values():
                        values.clear()

            for index in range(count):
                rng = np.random.default_rng([int(seed), SPLIT_IDS[split], index])
                scene = compose_scene(rng, object_set, size, **options)
                columns["image"].append({"bytes": encode_png(scene.image), "path": None})
                columns["num_objects"].append(len(scene.objects))
                columns["boxes"].append(scene.boxes)
                columns["object_names"].append([o.name for o in scene.objects])
                columns["object_labels"].append([o.label for o in scene.objects])
                columns["background"].append(scene.background)
                histogram[len(scene.objects)] += 1
                backgrounds[scene.background] += 1
                if len(columns["image"]) >= row_group_size:
                    flush()
                bar.update(1)
            flush()
        report.scenes[split] = count
        report.objects_per_scene[split] = histogram
        report.backgrounds[split] = backgrounds

    def write_train(tmp_train: str) -> None:
        write_split("train", tmp_train)
        atomic_write(outputs["test"], lambda tmp_test: write_split("test", tmp_test))

    # both files under temporary names, renamed at the end (test, then train): an interrupted run leaves neither
    atomic_write(outputs["train"], write_train)
    report.seconds = time.perf_counter() - start
    return report


# --------------------------------------------------------------------------------------------------------------------
# Looking at scenes
# --------------------------------------------------------------------------------------------------------------------

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
    from ..utils import make_image_grid

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
