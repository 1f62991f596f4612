"""Cutting objects out of their images: `cut_out` one image, or `Matting` a stream of them in batches.

Transparent images keep their alpha; opaque ones are cut out of their background, whose colour is read off the
image's border (a soft matte with the background's colour removed from the edge pixels, so anti-aliased edges leave
no halo on a dark background). Each cutout is cropped to its non-transparent box.
"""

from __future__ import annotations

import numpy as np
import PIL.Image

from ..images import rgb_or_rgba

MIN_FOREGROUND_FRACTION = 0.005  # an image with fewer opaque pixels than this share has no foreground


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


class Matting:
    """Many images cut out as `cut_out` does, faster: `add(key, image)` each, then `finish()` gives `{key: cutout or
    None}`. Those with an alpha channel, or no background colour, finish at once; opaque ones of one size are matted
    together, a batch at a time (`_matte`), then finished, so numpy works on whole batches rather than image by image.

    low, edge_width, max_side: as `cut_out` takes them.
    """

    _BATCH_PIXELS = 1 << 20  # pixels matted at once; at most four times as many wait

    def __init__(self, low: float | None, edge_width: int, max_side: int | None):
        self.low, self.edge_width, self.max_side = low, edge_width, max_side
        self.results: dict[int, PIL.Image.Image | None] = {}
        self.pending: dict[tuple[int, int], list[tuple[int, np.ndarray, np.ndarray, float]]] = {}
        self.pending_pixels = 0

    def add(self, key: int, image: PIL.Image.Image) -> None:
        image = rgb_or_rgba(image)
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
    matting = Matting(low, edge_width, max_side)
    matting.add(0, image)
    return matting.finish()[0]
