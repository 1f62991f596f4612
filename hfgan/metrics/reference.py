"""Reference images from a dataset, and their features cached on disk.

A dataset is any source `hfgan.data.resolve_data_source` takes: `"emoji"` (the set shipped in the repository), a
parquet file (one split, called `train`), a folder of parquet files (splits found as `datasets` finds them: the
README's `configs`, or `train`/`test` in the file names), a folder of images, or a Hub dataset repo id. Its image
column is decoded by `hfgan.data.decode_images` to 8-bit RGB (transparency composited on white) and optionally
resized to the model's resolution (center crop and Lanczos, exactly as the training data is prepared).

Reference features are cached as safetensors files named after the dataset, split, resolution and backbone, with a
hash of everything that changes the features: the data files (path, size, modification time; or the Hub revision),
the backbone's weights, the preprocessing version.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from pathlib import Path

import torch

from ..utils import atomic_write

CACHE_VERSION = "2"  # bump when preprocessing changes, so old cached features are not reused (2: prepare's resize)


def default_cache_dir() -> Path:
    """`$HFGAN_CACHE/metrics`, by default `~/.cache/hfgan/metrics`."""
    root = os.environ.get("HFGAN_CACHE") or os.path.join(os.path.expanduser("~"), ".cache", "hfgan")
    return Path(root) / "metrics"


class ReferenceDataset:
    """One split of a dataset: where its images come from and an identity for caching.

    Args:
        data: any source of `hfgan.data.resolve_data_source`: `"emoji"`, a parquet file, a folder of parquet files or
            of images, or a Hub dataset repo id.
        split: the split (`"train"` for a single parquet file).

    Raises:
        ValueError: the dataset has no such split.
        FileNotFoundError: no such file or folder, and not a loadable Hub dataset.
    """

    def __init__(self, data: str | os.PathLike, split: str = "train"):
        from ..data import resolve_data_source

        self.data = str(data)
        self.split = split
        self.source = resolve_data_source(data, split)
        self.files = [str(f) for f in self.source.files]
        self.available_splits = list(self.source.splits)
        self.fingerprint = self.source.fingerprint
        self.name = self.source.name

    def load_images(self, resolution: int | None = None) -> torch.Tensor:
        """The split's images as uint8 `(N, 3, H, W)`, resized to `resolution` when given."""
        from ..data import decode_images

        return decode_images(self.source, resolution)

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
