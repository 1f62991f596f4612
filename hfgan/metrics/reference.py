"""Reference images from a dataset, and their features cached on disk.

A dataset is a parquet file (one split, called `train`), a folder of parquet files (splits found as `datasets` finds
them: the README's `configs`, or `train`/`test` in the file names), or a Hub dataset repo id. Its `image` column is
decoded to 8-bit RGB (transparency composited on white) and optionally resized to the model's resolution (Lanczos,
as the training data is prepared).

Reference features are cached as safetensors files named after the dataset, split, resolution and backbone, with a
hash of everything that changes the features: the data files (path, size, modification time; or the Hub revision),
the backbone's weights, the preprocessing version.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
from pathlib import Path

import numpy as np
import PIL.Image
import torch

from ..utils import atomic_write

CACHE_VERSION = "1"  # bump when preprocessing changes, so old cached features are not reused
IMAGE_COLUMN = "image"


def default_cache_dir() -> Path:
    """`$HFGAN_CACHE/metrics`, by default `~/.cache/hfgan/metrics`."""
    root = os.environ.get("HFGAN_CACHE") or os.path.join(os.path.expanduser("~"), ".cache", "hfgan")
    return Path(root) / "metrics"


def _to_rgb(image: PIL.Image.Image) -> PIL.Image.Image:
    try:
        from ..data.images import to_rgb  # the training data's own conversion, when present
    except ImportError:  # pragma: no cover
        to_rgb = None
    if to_rgb is not None:
        return to_rgb(image)
    if image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info:
        rgba = image.convert("RGBA")
        return PIL.Image.alpha_composite(PIL.Image.new("RGBA", rgba.size, (255, 255, 255, 255)), rgba).convert("RGB")
    return image.convert("RGB")


def decode_images(cells, resolution: int | None = None) -> torch.Tensor:
    """Image cells (`{"bytes", "path"}` dicts as `datasets` stores them, raw bytes, or PIL images) as a uint8
    tensor `(N, 3, H, W)`; resized to `resolution` x `resolution` with Lanczos when given."""
    arrays = []
    for cell in cells:
        if isinstance(cell, dict):
            cell = cell.get("bytes") or cell.get("path")
        image = (
            cell
            if isinstance(cell, PIL.Image.Image)
            else PIL.Image.open(io.BytesIO(cell) if isinstance(cell, bytes) else cell)
        )
        image = _to_rgb(image)
        if resolution is not None and image.size != (resolution, resolution):
            image = image.resize((resolution, resolution), PIL.Image.Resampling.LANCZOS)
        arrays.append(np.asarray(image, dtype=np.uint8))
    if not arrays:
        raise ValueError("the dataset split has no images")
    sizes = {a.shape for a in arrays}
    if len(sizes) > 1:
        raise ValueError(f"images of different sizes {sorted(sizes)[:4]}: pass a resolution to resize them to")
    return torch.from_numpy(np.stack(arrays)).permute(0, 3, 1, 2).contiguous()


def _local_split_files(data: Path) -> dict[str, list[str]]:
    if data.is_file():
        if data.suffix != ".parquet":
            raise ValueError(f"{data} is not a parquet file")
        return {"train": [str(data)]}
    import datasets

    builder = datasets.load_dataset_builder(str(data))
    files = builder.config.data_files or {}
    return {str(split): [str(f) for f in paths] for split, paths in files.items()}


def _file_fingerprint(files: list[str]) -> str:
    digest = hashlib.sha256()
    for f in sorted(files):
        stat = os.stat(f)
        digest.update(f"{os.path.realpath(f)}|{stat.st_size}|{stat.st_mtime_ns}".encode())
    return digest.hexdigest()[:16]


class ReferenceDataset:
    """One split of a dataset: where its images come from and an identity for caching.

    Args:
        data: a parquet file, a folder of parquet files, or a Hub dataset repo id.
        split: the split (`"train"` for a single parquet file).
    """

    def __init__(self, data: str | os.PathLike, split: str = "train"):
        self.data = str(data)
        self.split = split
        path = Path(data)
        if path.exists():
            splits = _local_split_files(path)
            if split not in splits:
                raise ValueError(f"{data} has no split {split!r}; its splits: {', '.join(splits) or 'none'}")
            self.files = splits[split]
            self.available_splits = list(splits)
            self.fingerprint = _file_fingerprint(self.files)
            self.name = path.resolve().as_posix()
            self._hub = None
        else:
            import datasets

            looks_local = path.suffix == ".parquet" or path.is_absolute() or self.data.startswith((".", "~"))
            if looks_local or self.data.count("/") > 1:  # Hub ids are "name" or "namespace/name"
                raise FileNotFoundError(f"{data}: no such parquet file or folder")
            try:
                dataset = datasets.load_dataset(self.data, split=split)
            except ValueError as e:  # unknown split
                raise ValueError(f"{data}: {e}") from e
            except Exception as e:
                raise FileNotFoundError(
                    f"{data!r} is neither a local parquet file or folder nor a loadable Hub dataset ({e})"
                ) from e
            self.files = []
            self.available_splits = [split]
            self.fingerprint = dataset._fingerprint
            self.name = self.data
            self._hub = dataset

    @classmethod
    def has_split(cls, data: str | os.PathLike, split: str) -> bool:
        """Whether `data` has `split` (local data only; a Hub dataset is asked when it is loaded)."""
        path = Path(data)
        if path.exists():
            return split in _local_split_files(path)
        return True

    def load_images(self, resolution: int | None = None) -> torch.Tensor:
        """The split's images as uint8 `(N, 3, H, W)`."""
        if self._hub is not None:
            import datasets

            column = self._hub.cast_column(IMAGE_COLUMN, datasets.Image(decode=False))[IMAGE_COLUMN]
            return decode_images(column, resolution)
        import pyarrow.parquet as pq

        cells = []
        for f in self.files:
            table = pq.read_table(f, columns=[IMAGE_COLUMN]) if IMAGE_COLUMN in pq.read_schema(f).names else None
            if table is None:
                raise ValueError(f"{f} has no {IMAGE_COLUMN!r} column")
            cells += table.column(IMAGE_COLUMN).to_pylist()
        return decode_images(cells, resolution)

    def cache_key(self, resolution: int | None, backbone) -> dict[str, str]:
        """Everything that determines the reference features, as strings (stored in the cache file too)."""
        return {
            "dataset": self.name,
            "split": self.split,
            "resolution": str(resolution or "native"),
            "backbone": backbone.name,
            "backbone_weights": backbone.fingerprint(),
            "data_fingerprint": self.fingerprint,
            "version": CACHE_VERSION,
        }


def cache_path(cache_dir: Path, key: dict[str, str]) -> Path:
    """`<dataset>-<split>-<resolution>px-<backbone>-<hash>.safetensors` under `cache_dir`."""
    digest = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:16]
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", Path(key["dataset"]).name or "dataset")[:40]
    res = key["resolution"] + ("px" if key["resolution"] != "native" else "")
    return cache_dir / f"{stem}-{key['split']}-{res}-{key['backbone']}-{digest}.safetensors"


def read_cached_features(path: Path, key: dict[str, str]) -> torch.Tensor | None:
    """The cached features at `path` if the file exists and was written for exactly `key`, else None."""
    if not path.is_file():
        return None
    from safetensors import safe_open

    try:
        with safe_open(str(path), framework="pt") as f:
            if (f.metadata() or {}) != key:
                return None
            return f.get_tensor("features")
    except Exception:  # a damaged cache file is recomputed, not fatal
        return None


def write_cached_features(path: Path, key: dict[str, str], features: torch.Tensor) -> Path:
    from safetensors.torch import save_file

    return atomic_write(path, lambda tmp: save_file({"features": features.contiguous()}, tmp, metadata=key))
