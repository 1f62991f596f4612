"""Turning any image into the RGB square that training wants.

Every mode becomes 8-bit RGB: transparency (RGBA, LA, PA, palette or grayscale with a transparent colour) is
composited on white, 16-bit and 32-bit grayscale are scaled (Pillow's own `convert` would clip them at 255), CMYK
and the rest go through Pillow's converters. Then an optional center crop and an antialiased (Lanczos) resize.
"""

from __future__ import annotations

import io
import os
from typing import Any

import numpy as np
import PIL.Image
import PIL.ImageOps

WHITE = (255, 255, 255)
CROP_MODES = ("center", "none")

# modes that carry an alpha channel of their own
_ALPHA_MODES = {"RGBA", "LA", "PA", "La", "RGBa"}


def _scale_to_uint8(image: PIL.Image.Image) -> PIL.Image.Image:
    """A high-bit-depth single-channel image as mode "L", scaling rather than clipping."""
    array = np.asarray(image)
    if image.mode.startswith("I;16"):
        scaled = array.astype(np.float32) / 257.0
    elif image.mode == "F":
        array = array.astype(np.float32)
        finite_max = float(np.nanmax(array)) if array.size else 0.0
        scaled = array * 255.0 if finite_max <= 1.0 else array
    else:  # "I": 32-bit integers, in practice a 16-bit PNG opened by an older decoder
        array = array.astype(np.float64)
        scaled = array / 257.0 if array.size and array.max() > 255 else array
    return PIL.Image.fromarray(np.nan_to_num(scaled).round().clip(0, 255).astype(np.uint8), mode="L")


def rgb_or_rgba(image: PIL.Image.Image) -> PIL.Image.Image:
    """Any Pillow image as 8-bit "RGB", or "RGBA" when it has transparency (an alpha channel or a transparent key)."""
    if image.mode in ("RGB", "RGBA"):
        return image
    if image.mode.startswith("I") or image.mode == "F":
        image = _scale_to_uint8(image)
    if image.mode == "1":
        image = image.convert("L")
    if image.mode in _ALPHA_MODES or "transparency" in image.info:
        if image.mode == "La":
            image = image.convert("LA")
        return image.convert("RGBA")
    return image.convert("RGB")


def _on_background(rgba: PIL.Image.Image, background: tuple[int, int, int]) -> PIL.Image.Image:
    base = PIL.Image.new("RGBA", rgba.size, (*background, 255))
    return PIL.Image.alpha_composite(base, rgba).convert("RGB")


def to_rgb(image: PIL.Image.Image, background: tuple[int, int, int] = WHITE) -> PIL.Image.Image:
    """Any Pillow image as 8-bit RGB, transparent parts composited on `background` (white by default)."""
    image = rgb_or_rgba(image)
    return _on_background(image, background) if image.mode == "RGBA" else image


def center_crop_box(width: int, height: int) -> tuple[int, int, int, int]:
    """The largest centered square of a `width` x `height` image, as a (left, upper, right, lower) box."""
    side = min(width, height)
    left = (width - side) // 2
    top = (height - side) // 2
    return (left, top, left + side, top + side)


def resize_image(image: PIL.Image.Image, size: int, crop: str = "center") -> PIL.Image.Image:
    """Any image as an RGB `size` x `size` square.

    crop: "center" keeps the largest centered square, then resizes it; "none" resizes the whole image to the
    square, which stretches images that are not square already. Transparency is composited on white.
    """
    if crop not in CROP_MODES:
        raise ValueError(f"crop must be one of {CROP_MODES}, got {crop!r}")
    image = rgb_or_rgba(image)
    if crop == "center" and image.width != image.height:
        image = image.crop(center_crop_box(*image.size))  # a crop, so nothing outside it bleeds in at the edges
    if image.size != (size, size):
        # Lanczos is antialiased when shrinking; reducing_gap first reduces by whole factors (fast, near-identical).
        # RGBA is resized premultiplied by Pillow, so compositing after the resize, on fewer pixels, gives the same
        # picture as compositing before it.
        image = image.resize((size, size), PIL.Image.Resampling.LANCZOS, reducing_gap=3.0)
    return _on_background(image, WHITE) if image.mode == "RGBA" else image


def open_image(source: bytes | str | os.PathLike, draft_size: int | None = None) -> PIL.Image.Image:
    """Open and fully decode an image from bytes or a path, applying its EXIF orientation.

    Raises `ValueError` for an empty file and Pillow's own errors (`PIL.UnidentifiedImageError`, `OSError` for a
    truncated file, ...) for anything it cannot decode: the caller decides whether to skip.
    draft_size: lets JPEG decode at a reduced scale that still covers `draft_size` pixels (much faster for photos).
    """
    if isinstance(source, (bytes, bytearray, memoryview)):
        if len(source) == 0:
            raise ValueError("empty (zero bytes)")
        fp = io.BytesIO(source)
    else:
        if os.path.getsize(source) == 0:
            raise ValueError("empty file (zero bytes)")
        fp = open(source, "rb")
    try:
        image = PIL.Image.open(fp)
        if draft_size and image.format == "JPEG":
            image.draft("RGB", (draft_size, draft_size))
        image.load()
        image = PIL.ImageOps.exif_transpose(image) or image
    finally:
        if not isinstance(fp, io.BytesIO):
            fp.close()
    return image


def describe_image_error(error: BaseException) -> str:
    """Why an image could not be read, in a few words for a report of skipped images (what `open_image` raised)."""
    if isinstance(error, PIL.UnidentifiedImageError):
        return "not an image Pillow can read (corrupt or unknown format)"
    if isinstance(error, PIL.Image.DecompressionBombError):
        return f"too many pixels ({error})"
    message = str(error).strip() or type(error).__name__
    if isinstance(error, ValueError) and "zero bytes" in message:
        return message
    if isinstance(error, FileNotFoundError):
        return "file not found"
    if isinstance(error, PermissionError):
        return "permission denied"
    if isinstance(error, (OSError, SyntaxError, ValueError, EOFError)):  # what Pillow raises on damaged data
        return f"corrupt or truncated image ({message[:200]})"
    return f"unreadable ({type(error).__name__}: {message[:200]})"


def encode_png(image: PIL.Image.Image, optimize: bool = False) -> bytes:
    """PNG bytes of `image` (lossless); `optimize` trades encoding time for a smaller file."""
    buffer = io.BytesIO()
    if optimize:
        image.save(buffer, format="PNG", optimize=True)
    else:
        image.save(buffer, format="PNG", compress_level=6)
    return buffer.getvalue()


def image_payload(cell: Any, base_dir: str | os.PathLike | None = None) -> bytes | str | PIL.Image.Image | None:
    """What to open for one image cell: its bytes, a path (a relative one found under `base_dir` when it exists
    there, as `datasets` stores paths relative to the data file), or a Pillow image; None for an empty cell.

    A cell is what an image column holds: a `{"bytes", "path"}` dict (the `datasets` Image feature), raw bytes, a
    path, or a Pillow image.
    """
    if isinstance(cell, dict):
        if cell.get("bytes") is not None:
            return bytes(cell["bytes"])
        cell = cell.get("path")
    if isinstance(cell, (bytes, bytearray, memoryview)):
        return bytes(cell)
    if isinstance(cell, os.PathLike):
        cell = os.fspath(cell)
    if isinstance(cell, str) and base_dir is not None and not os.path.isabs(cell):
        candidate = os.path.join(base_dir, cell)
        if os.path.exists(candidate):
            return candidate
    return cell if isinstance(cell, (str, PIL.Image.Image)) else None


def decode_image(
    cell: Any, size: int | None = None, crop: str = "center", base_dir: str | os.PathLike | None = None
) -> np.ndarray:
    """One image cell (bytes, a path, a Pillow image, or a `{"bytes", "path"}` dict) as an `(H, W, 3)` uint8 RGB
    array: transparency composited on white and, when `size` is given, cropped (`crop`) and resized to `size` x
    `size` with the antialiased Lanczos filter, exactly as `prepare_dataset` does.

    Raises `ValueError` for an empty cell and Pillow's own errors for data it cannot decode (see `open_image`).
    """
    payload = image_payload(cell, base_dir)
    if payload is None:
        raise ValueError("no image data")
    image = payload if isinstance(payload, PIL.Image.Image) else open_image(payload, draft_size=size)
    image = resize_image(image, size, crop) if size else to_rgb(image)
    return np.asarray(image, dtype=np.uint8)


IMAGE_COLUMN_NAMES = ("image", "img", "images", "picture", "pixel_values")


def find_image_column(features, columns) -> str | None:
    """The image column of a table: the first `datasets.Image` feature, else a conventional name; None if neither."""
    import datasets

    for name, feature in (features or {}).items():
        if isinstance(feature, datasets.Image):
            return name
    return next((name for name in IMAGE_COLUMN_NAMES if name in columns), None)
