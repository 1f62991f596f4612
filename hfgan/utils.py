"""Small helpers shared by pipelines, training and metrics."""

from __future__ import annotations

import contextlib
import math
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import PIL.Image
import torch


def to_pil(images) -> list[PIL.Image.Image]:
    """Images as PIL: a list of PIL images, an array `(N, H, W, C)` in [0, 1], or a tensor `(N, C, H, W)` in [0, 1]."""
    if isinstance(images, torch.Tensor):
        images = images.detach().float().cpu().permute(0, 2, 3, 1).numpy()
    if isinstance(images, np.ndarray):
        arrays = (images.clip(0, 1) * 255).round().astype(np.uint8)
        return [PIL.Image.fromarray(a[..., 0] if a.shape[-1] == 1 else a) for a in arrays]
    return list(images)


def make_image_grid(images, rows: int | None = None, cols: int | None = None, padding: int = 0) -> PIL.Image.Image:
    """Tile images into one picture, row by row.

    Args:
        images: a list of PIL images, an array `(N, H, W, C)` or a tensor `(N, C, H, W)`, values in [0, 1] (the
            pipeline's `"pil"`, `"np"` and `"pt"` outputs).
        rows, cols: grid shape; by default as square as possible. `rows * cols` must hold every image.
        padding: white pixels between tiles.
    """
    images = to_pil(images)
    if not images:
        raise ValueError("make_image_grid needs at least one image")
    n = len(images)
    if cols is None:
        cols = math.ceil(n / rows) if rows else math.ceil(math.sqrt(n))
    rows = rows or math.ceil(n / cols)
    if rows * cols < n:
        raise ValueError(f"a {rows}x{cols} grid cannot hold {n} images")
    w, h = images[0].size
    grid = PIL.Image.new(images[0].mode, (cols * w + (cols - 1) * padding, rows * h + (rows - 1) * padding), "white")
    for i, image in enumerate(images):
        grid.paste(image, ((i % cols) * (w + padding), (i // cols) * (h + padding)))
    return grid


def atomic_write(path: str | os.PathLike, write) -> Path:
    """Call `write(tmp_path)` on a temporary name beside `path`, then rename it into place.

    A crash part-way leaves the old file (or none) at `path`, never a half-written one.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        write(tmp)
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600 files; give the usual permissions of a new file
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise
    return path


def atomic_write_all(paths: dict, write) -> None:
    """`atomic_write` for several files written in turn: `write(key, tmp_path)` for each `{key: path}` in order, each
    file nested inside the writing of the one before, so none is renamed into place until all are written (the last
    first). An error in any leaves none of them new."""
    if not paths:
        return
    (key, path), *rest = paths.items()

    def write_this_then_the_rest(tmp: str) -> None:
        write(key, tmp)
        atomic_write_all(dict(rest), write)

    atomic_write(path, write_this_then_the_rest)


@contextlib.contextmanager
def atomic_directory(path: str | os.PathLike) -> Iterator[Path]:
    """Build a folder under a temporary name beside `path`, then swap it into place when the block succeeds.

    An error or a kill part-way leaves the old folder (or none) at `path`, never a half-written one.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".tmp-{path.name}-", dir=path.parent))
    try:
        yield tmp
        os.chmod(tmp, 0o777 & ~_umask())  # mkdtemp makes 0700 folders; give the usual permissions of a new one
        if path.exists():
            old = path.with_name(f".old-{path.name}")
            shutil.rmtree(old, ignore_errors=True)
            os.replace(path, old)
            os.replace(tmp, path)
            shutil.rmtree(old)
        else:
            os.replace(tmp, path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _umask() -> int:
    umask = os.umask(0)  # reading the umask means setting it: put it straight back
    os.umask(umask)
    return umask
