"""Images as training tensors: a parquet file, a dataset folder or a Hub dataset id -> batches in [-1, 1].

    dataset = load_image_dataset(DEFAULT_DATASET, split="train", with_labels=True)
    loader = make_dataloader(dataset, batch_size=64, seed=0)
    for images, labels in loader:  # images: float32 (64, 3, 64, 64) in [-1, 1]; labels: int64 (64,)
        ...

A dataset small enough (by default up to 4 GiB of pixels) is decoded once, in threads, into one uint8 tensor held in
memory (and cached for the process), so an epoch costs an index and a conversion per batch rather than a PNG decode
per image; a larger one is decoded batch by batch as it is read. `make_dataloader` hands whole batches to the
dataset, which slices them out of that tensor at once.
"""

from __future__ import annotations

import collections
import concurrent.futures
import os
import warnings
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch

from .images import CROP_MODES, IMAGE_COLUMN_NAMES, decode_rgb_array, find_image_column

UNLABELED = -1
DEFAULT_MAX_MEMORY_BYTES = 4 << 30

# hfgan/data/loader.py -> the repository root, where data/emoji lives (an editable install points here)
_REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_DATASET = str(_REPO_ROOT / "data" / "emoji")
"""The shipped Noto Color Emoji dataset (64x64, 9 Unicode groups, splits "train" and "test"), a folder of the repo."""



def default_dataset_path() -> Path:
    """The folder of the shipped emoji dataset; a clear error where it is not (an install from a wheel)."""
    path = Path(DEFAULT_DATASET)
    if not (path / "emoji-64-train.parquet").is_file():
        raise FileNotFoundError(
            f"The default emoji dataset is not at {path}. It ships in the hfgan repository (data/emoji/), not in the "
            "wheel: install hfgan from a clone of the repository (`pip install -e .`), or pass a parquet file, a "
            "dataset folder or a Hub dataset id as the source."
        )
    return path


def default_dataset_files() -> dict[str, Path]:
    """{"train": path, "test": path}: the shipped emoji parquet files, for `load_dataset("parquet", data_files=...)`."""
    path = default_dataset_path()
    return {split: path / f"emoji-64-{split}.parquet" for split in ("train", "test")}


# --------------------------------------------------------------------------------------------------------------------
# Reading a source into columns: the image cells (bytes or paths) and the labels
# --------------------------------------------------------------------------------------------------------------------


class _Columns:
    """A source resolved to one split: `num_rows`, `image_cells(start, stop)`, `labels()`, `class_names`."""

    def __init__(self, description: str, features, num_rows: int, slice_fn, column_fn, base_dir: Path | None):
        self.description, self.features, self.num_rows = description, features, num_rows
        self._slice, self._column, self.base_dir = slice_fn, column_fn, base_dir
        self.image_column = _find_image_column(features)

    def image_cells(self, start: int, stop: int) -> list:
        return self._slice(self.image_column, start, stop)

    def image_cells_at(self, indices: Sequence[int]) -> list:
        return self._slice(self.image_column, indices, None)

    def column(self, name: str) -> list:
        return self._column(name)


def _find_image_column(features) -> str:
    name = find_image_column(features, list(features))
    if name is None:
        raise ValueError(f"no image column (an Image feature, or one named {IMAGE_COLUMN_NAMES}): {list(features)}")
    return name


def _parquet_columns(files: list[Path], description: str) -> _Columns:
    import datasets
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = pq.read_schema(files[0])
    features = datasets.Features.from_arrow_schema(schema)
    tables: dict[str, Any] = {}

    def table(name: str):
        if name not in tables:  # read a column only when it is needed
            tables[name] = pa.concat_tables([pq.read_table(f, columns=[name]) for f in files]).column(name)
        return tables[name]

    def slice_fn(name, start, stop):
        column = table(name)
        if stop is None:  # start is a list of indices
            return column.take(pa.array(np.asarray(start, dtype=np.int64))).to_pylist()
        return column.slice(start, stop - start).to_pylist()

    num_rows = sum(pq.ParquetFile(f).metadata.num_rows for f in files)
    return _Columns(description, features, num_rows, slice_fn, lambda name: table(name).to_pylist(), files[0].parent)


def _hf_columns(dataset, description: str) -> _Columns:
    arrow = dataset.with_format("arrow")

    def slice_fn(name, start, stop):
        view = arrow.select_columns([name])
        rows = view[start:stop] if stop is not None else view[list(map(int, start))]
        return rows.column(name).to_pylist()

    def column_fn(name):
        return arrow.select_columns([name])[:].column(name).to_pylist()

    return _Columns(description, dataset.features, len(dataset), slice_fn, column_fn, None)


def _resolve(source, split: str, token, revision) -> _Columns:
    import datasets

    if isinstance(source, dict):  # {split: parquet path or list of paths}
        if split not in source:
            raise ValueError(f"split {split!r} not in the given files (splits: {sorted(source)})")
        files = source[split]
        files = [Path(f) for f in ([files] if isinstance(files, (str, os.PathLike)) else files)]
        return _parquet_columns(files, f"{[str(f) for f in files]}")

    path = Path(source)
    if path.is_file():
        if path.suffix.lower() != ".parquet":
            raise ValueError(f"{source} is a file but not a parquet file")
        if split != "train":
            raise ValueError(
                f"{source} is a single parquet file, which holds one split ('train'); to load split {split!r}, pass "
                f"a dataset folder with a file per split, or a dict {{{split!r}: path}}"
            )
        return _parquet_columns([path], str(path))
    if path.is_dir():
        builder = datasets.load_dataset_builder(str(path))
        data_files = builder.config.data_files or {}
        if split not in data_files:
            raise ValueError(f"{path} has no split {split!r} (splits: {sorted(data_files)})")
        files = [Path(f) for f in data_files[split]]
        if files and all(f.suffix == ".parquet" and f.is_file() for f in files):
            return _parquet_columns(files, f"{path} split {split!r}")
        dataset = datasets.load_dataset(str(path), split=split)  # an image folder, or other formats
        return _hf_columns(dataset, f"{path} split {split!r}")
    source = str(source)
    if source.endswith(".parquet") or source.startswith((".", "/", "~")) or source.count("/") > 1:
        raise FileNotFoundError(f"{source}: no such file or folder (and not a Hub dataset id)")
    dataset = datasets.load_dataset(source, split=split, token=token, revision=revision)
    return _hf_columns(dataset, f"{source} split {split!r}")


# --------------------------------------------------------------------------------------------------------------------
# Decoding
# --------------------------------------------------------------------------------------------------------------------


def _cell_payload(cell: Any, base_dir: Path | None):
    if isinstance(cell, dict):
        if cell.get("bytes") is not None:
            return cell["bytes"]
        cell = cell.get("path")
    if isinstance(cell, str) and base_dir is not None and not os.path.isabs(cell) and (base_dir / cell).exists():
        return str(base_dir / cell)
    return cell


def _decode_into(out: np.ndarray, cells: list, base_dir, resize_to: int | None, crop, first_row: int, description):
    """Decode `cells` into `out` (n, S, S, 3); resize to `resize_to` (None: the images must already be S x S)."""
    for i, cell in enumerate(cells):
        payload = _cell_payload(cell, base_dir)
        if payload is None:
            raise ValueError(f"{description}: row {first_row + i} has no image")
        try:
            array = decode_rgb_array(payload, resize_to, crop)
        except Exception as error:
            raise ValueError(
                f"{description}: cannot decode the image of row {first_row + i} ({error}); clean the data with "
                "`hfgan prepare-data`, which skips unreadable images"
            ) from error
        if array.shape != out.shape[1:]:
            raise ValueError(
                f"{description}: row {first_row + i} is {array.shape[1]}x{array.shape[0]}, not "
                f"{out.shape[2]}x{out.shape[1]} like the first image; pass image_size= to resize on the fly, or "
                "resize once with `hfgan prepare-data --size N`"
            )
        out[i] = array


def _decode_all(columns: _Columns, image_size: int, resize: bool, crop: str, num_threads: int) -> torch.Tensor:
    """Every image of `columns` as one uint8 tensor (N, 3, S, S); threads decode (Pillow releases the GIL)."""
    n = columns.num_rows
    pixels = np.empty((n, image_size, image_size, 3), dtype=np.uint8)
    chunk = 256
    columns.image_cells(0, 1)  # read the column once, here, rather than racing for it in every thread

    def work(start: int) -> None:
        stop = min(n, start + chunk)
        cells = columns.image_cells(start, stop)
        resize_to = image_size if resize else None
        _decode_into(pixels[start:stop], cells, columns.base_dir, resize_to, crop, start, columns.description)

    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, num_threads)) as pool:
        for future in [pool.submit(work, s) for s in range(0, n, chunk)]:
            future.result()
    return torch.from_numpy(pixels).permute(0, 3, 1, 2).contiguous()


def _first_image_size(columns: _Columns) -> int:
    array = decode_rgb_array(_cell_payload(columns.image_cells(0, 1)[0], columns.base_dir))
    height, width = array.shape[:2]
    if height != width:
        raise ValueError(
            f"{columns.description}: images are {width}x{height}, not square; pass image_size= to center-crop and "
            "resize them on the fly, or prepare them once with `hfgan prepare-data --size N`"
        )
    return width


def _labels(columns: _Columns, label_column: str) -> tuple[torch.Tensor, list[str]]:
    import datasets

    if label_column not in columns.features:
        raise ValueError(
            f"{columns.description} has no label column {label_column!r} (columns: {list(columns.features)}); "
            "pass label_column=, or with_labels=False"
        )
    feature = columns.features[label_column]
    values = columns.column(label_column)
    if isinstance(feature, datasets.ClassLabel):
        names = list(feature.names)
        labels = [UNLABELED if v is None or v < 0 else int(v) for v in values]
    else:
        unique = sorted({v for v in values if v is not None}, key=lambda v: (isinstance(v, str), v))
        index = {v: i for i, v in enumerate(unique)}
        names = [str(v) for v in unique]
        labels = [UNLABELED if v is None else index[v] for v in values]
    return torch.tensor(labels, dtype=torch.int64), names


# --------------------------------------------------------------------------------------------------------------------
# The dataset
# --------------------------------------------------------------------------------------------------------------------


def _numpy_index(index):
    if isinstance(index, torch.Tensor):
        return index.numpy() if index.dim() else int(index)
    if isinstance(index, (list, tuple)):
        return np.asarray(index, dtype=np.int64)
    return index


def _to_unit_range(pixels: torch.Tensor) -> torch.Tensor:
    """uint8 [0, 255] -> float32 [-1, 1].

    On the CPU this goes through numpy, single-threaded: torch's elementwise kernels use a thread pool whose threads
    stall for whole scheduler slices when the cores are busy (measured: 60x slower per batch on a loaded 2-core
    machine), and a batch is too small to gain from threads anyway.
    """
    if pixels.device.type != "cpu":
        return pixels.float().div_(127.5).sub_(1.0)
    out = pixels.numpy().astype(np.float32)
    np.divide(out, np.float32(127.5), out=out)
    np.subtract(out, np.float32(1.0), out=out)
    return torch.from_numpy(out)


def labeled_subset(labels: torch.Tensor | Sequence[int], per_class: int, seed: int = 0) -> torch.Tensor:
    """A seeded choice of `per_class` indices of each class (all of a class that has fewer), sorted.

    Indices whose label is negative (unlabeled) are never chosen. The choice depends only on `labels`, `per_class`
    and `seed`.
    """
    labels = torch.as_tensor(labels, dtype=torch.int64)
    if per_class < 1:
        raise ValueError(f"per_class must be at least 1, got {per_class}")
    generator = torch.Generator().manual_seed(seed)
    chosen = []
    short = []
    for c in torch.unique(labels[labels >= 0]).tolist():
        members = torch.nonzero(labels == c).flatten()
        if len(members) < per_class:
            short.append((c, len(members)))
        chosen.append(members[torch.randperm(len(members), generator=generator)[:per_class]])
    if short:
        warnings.warn(
            f"labeled_subset: {len(short)} classes have fewer than {per_class} images and are taken whole: "
            + ", ".join(f"class {c} ({n})" for c, n in short[:10]),
            stacklevel=2,
        )
    if not chosen:
        return torch.empty(0, dtype=torch.int64)
    return torch.sort(torch.cat(chosen)).values


class ImageTensorDataset(torch.utils.data.Dataset):
    """Images as float tensors in [-1, 1], (3, S, S), with optional labels.

    `dataset[i]` is an image tensor, or `(image, label)` when the dataset has labels; `dataset[list_of_indices]`
    returns the whole batch at once (what `make_dataloader` uses). With a labeled subset (semi-supervised work),
    images outside it have label `UNLABELED` (-1); `true_labels` keeps every label.

    Attributes:
        images: uint8 tensor (N, 3, S, S) when decoded in memory, else None (decoded per batch).
        labels: int64 tensor (N,) or None; -1 marks an unlabeled image.
        true_labels: every label, before the labeled subset was chosen (None without labels).
        labeled_indices: the indices that keep their label (all, without a labeled subset).
        class_names: names of the classes, or None.
        image_size: S.
    """

    def __init__(
        self,
        images: torch.Tensor | None,
        labels: torch.Tensor | None = None,
        class_names: list[str] | None = None,
        true_labels: torch.Tensor | None = None,
        image_size: int | None = None,
        lazy_columns: _Columns | None = None,
        crop: str = "center",
        indices: torch.Tensor | None = None,
        resize: bool = True,
    ):
        if images is None and lazy_columns is None:
            raise ValueError("need images, or columns to decode them from")
        self.images = images
        self.labels = labels
        self.true_labels = true_labels if true_labels is not None else labels
        self.class_names = class_names
        self.image_size = image_size if image_size is not None else images.shape[-1]
        self._lazy = lazy_columns
        self._crop = crop
        self._indices = indices  # rows of the lazy source that this dataset covers
        self._resize = resize  # whether the lazy source's images are resized to image_size

    @property
    def with_labels(self) -> bool:
        return self.labels is not None

    @property
    def labeled_indices(self) -> torch.Tensor:
        if self.labels is None:
            return torch.empty(0, dtype=torch.int64)
        return torch.nonzero(self.labels >= 0).flatten()

    @property
    def num_classes(self) -> int | None:
        return len(self.class_names) if self.class_names is not None else None

    def __len__(self) -> int:
        if self.images is not None:
            return self.images.shape[0]
        return len(self._indices) if self._indices is not None else self._lazy.num_rows

    def uint8(self, index) -> torch.Tensor:
        """Images at `index` (an int, a slice, or a list/tensor of indices) as uint8, without conversion."""
        if self.images is not None:
            if self.images.device.type == "cpu":  # numpy: no thread pool to stall on a busy machine
                return torch.from_numpy(self.images.numpy()[_numpy_index(index)])
            return self.images[index]
        rows = torch.arange(len(self))[index] if not isinstance(index, int) else torch.tensor([index])
        if self._indices is not None:
            rows = self._indices[rows]
        rows = rows.reshape(-1).tolist()
        out = np.empty((len(rows), self.image_size, self.image_size, 3), dtype=np.uint8)
        cells = self._lazy.image_cells_at(rows)
        resize_to = self.image_size if self._resize else None
        _decode_into(out, cells, self._lazy.base_dir, resize_to, self._crop, rows[0] if rows else 0,
                     self._lazy.description)  # fmt: skip
        batch = torch.from_numpy(out).permute(0, 3, 1, 2)
        return batch[0] if isinstance(index, int) else batch

    def __getitem__(self, index):
        if isinstance(index, (list, tuple, np.ndarray)):
            index = torch.as_tensor(index, dtype=torch.int64)
        images = _to_unit_range(self.uint8(index))
        if self.labels is None:
            return images
        return images, self.labels[index]

    def __getitems__(self, indices):  # torch's batched fetch, for a DataLoader with batch_size and collate_fn
        batch = self[list(indices)]
        if self.labels is None:
            return list(batch.unbind(0))
        images, labels = batch
        return list(zip(images.unbind(0), labels.unbind(0)))

    def subset(self, indices) -> ImageTensorDataset:
        """A dataset of the images at `indices` (sharing memory), e.g. `dataset.subset(dataset.labeled_indices)`."""
        indices = torch.as_tensor(indices, dtype=torch.int64)
        pick = (lambda t: t[indices] if t is not None else None)
        if self.images is None:
            rows = self._indices[indices] if self._indices is not None else indices
            return ImageTensorDataset(None, pick(self.labels), self.class_names, pick(self.true_labels),
                                      self.image_size, self._lazy, self._crop, rows, self._resize)  # fmt: skip
        return ImageTensorDataset(self.images[indices], pick(self.labels), self.class_names, pick(self.true_labels))

    def to(self, device) -> ImageTensorDataset:
        """Move the decoded images and labels to `device` (e.g. the GPU: batches are then sliced there)."""
        if self.images is None:
            raise ValueError("a dataset decoded per batch stays on the CPU; move the batches instead")
        self.images = self.images.to(device)
        for name in ("labels", "true_labels"):
            if getattr(self, name) is not None:
                setattr(self, name, getattr(self, name).to(device))
        return self

    def __repr__(self) -> str:
        where = "in memory" if self.images is not None else "decoded per batch"
        labels = f", {self.num_classes} classes, {len(self.labeled_indices)} labeled" if self.with_labels else ""
        return f"ImageTensorDataset({len(self)} images, {self.image_size}x{self.image_size}{labels}, {where})"


# decoded tensors kept for the process: (source key, split, size, crop) -> (images, columns)
_CACHE: collections.OrderedDict = collections.OrderedDict()
_CACHE_ENTRIES = 4


def _cache_key(source, split, image_size, crop):
    if isinstance(source, dict):
        files = tuple(sorted((k, str(v)) for k, v in source.items()))
        return ("files", files, split, image_size, crop)
    path = Path(source)
    if path.exists():
        stamps = tuple(
            (str(p), p.stat().st_mtime_ns, p.stat().st_size)
            for p in ([path] if path.is_file() else sorted(path.glob("**/*.parquet")))
        )
        return ("path", str(path.resolve()), stamps, split, image_size, crop)
    return None  # a Hub id: no cheap way to know it did not change


def load_image_dataset(
    source: str | os.PathLike | dict | None = None,
    split: str = "train",
    image_size: int | None = None,
    with_labels: bool = False,
    labeled_per_class: int | None = None,
    seed: int = 0,
    label_column: str = "label",
    crop: str = "center",
    max_memory_bytes: int = DEFAULT_MAX_MEMORY_BYTES,
    num_threads: int | None = None,
    token: str | bool | None = None,
    revision: str | None = None,
    cache: bool = True,
) -> ImageTensorDataset:
    """A torch Dataset of images in [-1, 1] (and labels) from a parquet, a dataset folder or a Hub dataset id.

    Args:
        source: a parquet file (one split), a dict `{split: parquet path(s)}`, a dataset folder (parquet files per
            split, or images), or a Hub dataset id. Default: the shipped emoji dataset, `DEFAULT_DATASET`.
        split: "train", "test", ...
        image_size: side of the images wanted. Images of another size are center-cropped (`crop`) and resized on
            the fly, once, with an antialiased filter. None: the dataset's own size (images must be square).
        with_labels: return `(image, label)` pairs; labels come from `label_column` (a ClassLabel keeps its names).
        labeled_per_class: keep the labels of only this many images per class, a seeded choice (`seed`); the others
            get label -1. Implies `with_labels`.
        seed: seed of the labeled subset.
        max_memory_bytes: decode into one in-memory uint8 tensor when the pixels fit in this many bytes; else decode
            each batch as it is read.
        num_threads: threads decoding into memory (default: all cores).
        token, revision: for a Hub dataset id.
        cache: reuse the tensor decoded by an earlier call in this process (same local files, split, size, crop).
    """
    if crop not in CROP_MODES:
        raise ValueError(f"crop must be one of {CROP_MODES}, got {crop!r}")
    if image_size is not None and (not isinstance(image_size, int) or image_size < 1):
        raise ValueError(f"image_size must be a positive integer, got {image_size!r}")
    if source is None:
        source = default_dataset_path()
    elif not isinstance(source, dict) and Path(source) == Path(DEFAULT_DATASET):
        source = default_dataset_path()  # the clear error where the repository is not there
    with_labels = with_labels or labeled_per_class is not None

    key = _cache_key(source, split, image_size, crop) if cache else None
    if key is not None and key in _CACHE and _CACHE[key][0].numel() <= max_memory_bytes:
        _CACHE.move_to_end(key)
        images, columns = _CACHE[key]
    else:
        columns = _resolve(source, split, token, revision)
        if columns.num_rows == 0:
            raise ValueError(f"{columns.description} has no images")
        images = None
        size = image_size or _first_image_size(columns)
        if columns.num_rows * 3 * size * size <= max_memory_bytes:
            images = _decode_all(columns, size, image_size is not None, crop, num_threads or os.cpu_count() or 1)
        if key is not None and images is not None:
            _CACHE[key] = (images, columns)
            while len(_CACHE) > _CACHE_ENTRIES:
                _CACHE.popitem(last=False)
    size = images.shape[-1] if images is not None else (image_size or _first_image_size(columns))

    labels = class_names = true_labels = None
    if with_labels:
        true_labels, class_names = _labels(columns, label_column)
        labels = true_labels
        if labeled_per_class is not None:
            keep = labeled_subset(true_labels, labeled_per_class, seed)
            labels = torch.full_like(true_labels, UNLABELED)
            labels[keep] = true_labels[keep]
    if images is not None:
        return ImageTensorDataset(images, labels, class_names, true_labels)
    resize = image_size is not None
    return ImageTensorDataset(None, labels, class_names, true_labels, size, columns, crop, resize=resize)


def make_dataloader(
    dataset: ImageTensorDataset | str | os.PathLike | dict | None = None,
    batch_size: int = 64,
    shuffle: bool = True,
    drop_last: bool = True,
    seed: int = 0,
    num_workers: int = 0,
    **load_kwargs,
) -> torch.utils.data.DataLoader:
    """A DataLoader of whole batches: `images` (B, 3, S, S) in [-1, 1], or `(images, labels)` with labels.

    `dataset` is an `ImageTensorDataset`, or a source for `load_image_dataset` (which gets `load_kwargs` and `seed`).
    The shuffling order is seeded (`seed`). Batches are sliced from the decoded tensor in one indexing operation:
    keep `num_workers=0` for a dataset in memory; workers only help one decoded per batch.
    """
    if not isinstance(dataset, ImageTensorDataset):
        dataset = load_image_dataset(dataset, seed=seed, **load_kwargs)
    elif load_kwargs:
        raise TypeError(f"loading options {sorted(load_kwargs)} need a source, not a loaded dataset")
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    if len(dataset) < batch_size and drop_last:
        raise ValueError(
            f"{len(dataset)} images make no full batch of {batch_size}: lower batch_size, or drop_last=False"
        )
    if shuffle:
        sampler = torch.utils.data.RandomSampler(dataset, generator=torch.Generator().manual_seed(seed))
    else:
        sampler = torch.utils.data.SequentialSampler(dataset)
    batches = torch.utils.data.BatchSampler(sampler, batch_size=batch_size, drop_last=drop_last)
    # batch_size=None: each "index" the loader fetches is a whole list, which the dataset slices in one go
    return torch.utils.data.DataLoader(dataset, sampler=batches, batch_size=None, num_workers=num_workers)
