"""Images as training tensors: any source (`"emoji"`, a parquet file, a folder, a Hub dataset id) -> batches in [-1, 1].

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
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch

from .images import CROP_MODES, decode_image
from .sources import EMOJI, EMOJI_SPLIT_FILES, DataSource, emoji_dataset_path, label_classes, resolve_data_source

UNLABELED = -1
DEFAULT_MAX_MEMORY_BYTES = 4 << 30

DEFAULT_DATASET = EMOJI
"""The shipped Noto Color Emoji dataset (64x64, 9 Unicode groups, splits "train" and "test"), by its source name
`"emoji"`; `default_dataset_path()` says where it is found."""


def default_dataset_path() -> Path:
    """The folder of the shipped emoji dataset (`hfgan.data.emoji_dataset_path`); a clear error where it is not."""
    return emoji_dataset_path()


def default_dataset_files() -> dict[str, Path]:
    """{"train": path, "test": path}: the shipped emoji parquet files, for `load_dataset("parquet", data_files=...)`."""
    path = default_dataset_path()
    return {split: path / name for split, name in EMOJI_SPLIT_FILES.items()}


# --------------------------------------------------------------------------------------------------------------------
# Decoding
# --------------------------------------------------------------------------------------------------------------------


def _decode_cell(cell: Any, base_dir, size: int | None, crop: str, row: int, description: str) -> np.ndarray:
    try:
        return decode_image(cell, size, crop, base_dir)
    except Exception as error:
        raise ValueError(
            f"{description}: cannot decode the image of row {row} ({error}); clean the data with "
            "`hfgan prepare-data`, which skips unreadable images"
        ) from error


def _decode_into(out: np.ndarray, cells: list, base_dir, resize_to: int | None, crop, first_row: int, description):
    """Decode `cells` into `out` (n, H, W, 3); resize to `resize_to` (None: the images must already be H x W)."""
    for i, cell in enumerate(cells):
        array = _decode_cell(cell, base_dir, resize_to, crop, first_row + i, description)
        if array.shape != out.shape[1:]:
            raise ValueError(
                f"{description}: row {first_row + i} is {array.shape[1]}x{array.shape[0]}, not "
                f"{out.shape[2]}x{out.shape[1]} like the first image; pass image_size= to resize on the fly, or "
                "resize once with `hfgan prepare-data --size N`"
            )
        out[i] = array


def decode_images(
    images: DataSource | Sequence[Any],
    image_size: int | None = None,
    crop: str = "center",
    num_threads: int | None = None,
) -> torch.Tensor:
    """Every image of a source's split (a `DataSource`), or of a sequence of image cells, as one uint8 tensor
    `(N, 3, H, W)`, decoded by `decode_image` in threads (Pillow releases the GIL).

    image_size: crop (`crop`) and resize every image to `image_size` x `image_size`, as `prepare_dataset` does;
    None: the images must all have the size of the first one.
    """
    if isinstance(images, DataSource):
        n, read, base_dir, description = images.num_rows, images.image_cells, images.base_dir, images.description
    else:
        cells = list(images)
        n, read, base_dir, description = len(cells), lambda start, stop: cells[start:stop], None, "images"
    if n == 0:
        raise ValueError(f"{description} has no images")
    first = read(0, 1)  # for a source, this reads the column once, here, rather than racing for it in every thread
    if image_size is None:
        height, width = _decode_cell(first[0], base_dir, None, crop, 0, description).shape[:2]
    else:
        height = width = image_size
    pixels = np.empty((n, height, width, 3), dtype=np.uint8)
    chunk = 256

    def work(start: int) -> None:
        stop = min(n, start + chunk)
        _decode_into(pixels[start:stop], read(start, stop), base_dir, image_size, crop, start, description)

    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, num_threads or os.cpu_count() or 1)) as pool:
        for future in [pool.submit(work, s) for s in range(0, n, chunk)]:
            future.result()
    return torch.from_numpy(pixels).permute(0, 3, 1, 2).contiguous()


def _square_size(source: DataSource) -> int:
    """The side of the source's first image, which must be square (without `image_size=`, no resize is done)."""
    height, width = _decode_cell(source.image_cells(0, 1)[0], source.base_dir, None, "center", 0,
                                 source.description).shape[:2]
    if height != width:
        raise ValueError(
            f"{source.description}: images are {width}x{height}, not square; pass image_size= to center-crop and "
            "resize them on the fly, or prepare them once with `hfgan prepare-data --size N`"
        )
    return width


def _labels(source: DataSource, label_column: str) -> tuple[torch.Tensor, list[str]]:
    if label_column not in source.features:
        raise ValueError(
            f"{source.description} has no label column {label_column!r} (columns: {list(source.features)}); "
            "pass label_column=, or with_labels=False"
        )
    names, to_index = label_classes(source, label_column)
    labels = [to_index(value) for value in source.column(label_column).to_pylist()]
    return torch.tensor([UNLABELED if label is None else label for label in labels], dtype=torch.int64), names


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


def labeled_subset(
    labels: torch.Tensor | Sequence[int], per_class: int, seed: int = 0, groups: Sequence | None = None
) -> torch.Tensor:
    """A seeded, balanced choice of `per_class` labeled units of each class; returns the chosen indices, sorted.

    A unit is one image, or with `groups` (one hashable per image, e.g. the emoji set's `base_name`) every image of
    one group: near-duplicates such as an emoji's skin-tone variants then count as one label, all labeled together.
    Indices whose label is negative (unlabeled) are never chosen. The choice depends only on `labels`, `groups`,
    `per_class` and `seed`.

    Raises:
        ValueError: `per_class` < 1, a class with fewer than `per_class` units (named, with its count), or a group
            that spans two classes.
    """
    if isinstance(per_class, bool) or not isinstance(per_class, int) or per_class < 1:
        raise ValueError(f"per_class must be an int >= 1, got {per_class!r}")
    members, by_class = _units_by_class(labels, groups)
    short = {c: len(units) for c, units in sorted(by_class.items()) if len(units) < per_class}
    if short:
        what = "groups" if groups is not None else "images"
        raise ValueError(
            f"asked for {per_class} labeled {what} per class, but " + ", ".join(
                f"class {c} has {n}" for c, n in list(short.items())[:10]
            ) + f"; use labels per class <= {min(short.values())}, or all labels"
        )
    generator = torch.Generator().manual_seed(seed)
    chosen = []
    for c in sorted(by_class):
        units = by_class[c]
        for k in torch.randperm(len(units), generator=generator)[:per_class].tolist():
            chosen.extend(members[units[k]])
    return torch.sort(torch.tensor(chosen, dtype=torch.int64)).values


def _units_by_class(labels, groups: Sequence | None) -> tuple[dict, dict[int, list]]:
    """The labeled units (an image, or with `groups` a group of images): `{unit: its image indices}` and
    `{class: its units}`, both in first-seen order (deterministic). A group that spans two classes is an error."""
    labels = torch.as_tensor(labels, dtype=torch.int64)
    if groups is not None and len(groups) != len(labels):
        raise ValueError(f"groups has {len(groups)} entries for {len(labels)} labels")
    unit_of = range(len(labels)) if groups is None else groups
    members: dict = {}
    unit_class: dict = {}
    for i, (unit, label) in enumerate(zip(unit_of, labels.tolist())):
        if label < 0:
            continue
        if unit_class.setdefault(unit, label) != label:
            raise ValueError(f"group {unit!r} has images of two classes ({unit_class[unit]} and {label})")
        members.setdefault(unit, []).append(i)
    by_class: dict[int, list] = {}
    for unit, label in unit_class.items():
        by_class.setdefault(label, []).append(unit)
    return members, by_class


def balanced_weights(labels: torch.Tensor | Sequence[int], groups: Sequence | None = None) -> torch.Tensor:
    """Sampling weights (summing to 1) that draw every class equally often, and within a class every group (e.g. an
    emoji with its skin-tone variants) equally often; unlabeled images (label < 0) get 0.

    For balanced accuracy on an imbalanced collection: with labels counted by group, the labeled images of a class
    with many variants would otherwise fill most batches.
    """
    members, by_class = _units_by_class(labels, groups)
    if not members:
        raise ValueError("no labeled image to weight")
    weights = torch.zeros(len(labels), dtype=torch.float64)
    for units in by_class.values():
        for unit in units:  # each class 1/C of the draws, shared by its units, each unit's by its images
            weights[members[unit]] = 1.0 / (len(by_class) * len(units) * len(members[unit]))
    return weights


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
        lazy_columns: DataSource | None = None,
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
                     self._lazy.description)
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
                                      self.image_size, self._lazy, self._crop, rows, self._resize)
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


# decoded tensors kept for the process: (source's cache key, size, crop) -> (images, source)
_CACHE: collections.OrderedDict = collections.OrderedDict()
_CACHE_ENTRIES = 4


def load_image_dataset(
    source: str | os.PathLike | dict | None = None,
    split: str = "train",
    image_size: int | None = None,
    with_labels: bool = False,
    labeled_per_class: int | None = None,
    seed: int = 0,
    label_column: str = "label",
    labeled_by: str | None = None,
    crop: str = "center",
    max_memory_bytes: int = DEFAULT_MAX_MEMORY_BYTES,
    num_threads: int | None = None,
    token: str | bool | None = None,
    revision: str | None = None,
    cache: bool = True,
) -> ImageTensorDataset:
    """A torch Dataset of images in [-1, 1] (and labels) from any source `resolve_data_source` takes.

    Args:
        source: `"emoji"` (the shipped set, `DEFAULT_DATASET`, the default), a parquet file (one split), a dict
            `{split: parquet path(s)}`, a dataset folder (parquet files per split), a folder of images, or a Hub
            dataset id.
        split: "train", "test", ...
        image_size: side of the images wanted. Images of another size are center-cropped (`crop`) and resized on
            the fly, once, with an antialiased filter. None: the dataset's own size (images must be square).
        with_labels: return `(image, label)` pairs; labels come from `label_column` (a ClassLabel keeps its names).
        labeled_per_class: keep the labels of only this many images per class, a seeded choice (`seed`); the others
            get label -1. Implies `with_labels`.
        seed: seed of the labeled subset.
        label_column: the column of labels (a ClassLabel, or any values, whose sorted distinct values become the
            classes).
        labeled_by: a column that groups near-duplicate images (e.g. `"base_name"` on the emoji set): the labeled
            subset then counts `labeled_per_class` groups per class and labels all of each group's images.
        max_memory_bytes: decode into one in-memory uint8 tensor when the pixels fit in this many bytes; else decode
            each batch as it is read.
        num_threads: threads decoding into memory (default: all cores).
        token, revision: for a Hub dataset id.
        cache: reuse the tensor decoded by an earlier call in this process (same unchanged data, split, size, crop).
    """
    if crop not in CROP_MODES:
        raise ValueError(f"crop must be one of {CROP_MODES}, got {crop!r}")
    if image_size is not None and (not isinstance(image_size, int) or image_size < 1):
        raise ValueError(f"image_size must be a positive integer, got {image_size!r}")
    with_labels = with_labels or labeled_per_class is not None

    resolved = resolve_data_source(DEFAULT_DATASET if source is None else source, split, token=token, revision=revision)
    key = (resolved.cache_key, image_size, crop)
    if cache and key in _CACHE and _CACHE[key][0].numel() <= max_memory_bytes:
        _CACHE.move_to_end(key)
        images, resolved = _CACHE[key]
    else:
        if resolved.num_rows == 0:
            raise ValueError(f"{resolved.description} has no images")
        images = None
        size = image_size or _square_size(resolved)
        if resolved.num_rows * 3 * size * size <= max_memory_bytes:
            images = decode_images(resolved, image_size, crop, num_threads)
        if cache and images is not None:
            _CACHE[key] = (images, resolved)
            while len(_CACHE) > _CACHE_ENTRIES:
                _CACHE.popitem(last=False)
    size = images.shape[-1] if images is not None else (image_size or _square_size(resolved))

    labels = class_names = true_labels = None
    if with_labels:
        true_labels, class_names = _labels(resolved, label_column)
        labels = true_labels
        if labeled_per_class is not None:
            groups = None
            if labeled_by is not None:
                if labeled_by not in resolved.features:
                    raise ValueError(f"{resolved.description} has no column {labeled_by!r} to group labels by "
                                     f"(columns: {list(resolved.features)})")
                groups = resolved.column(labeled_by).to_pylist()
            keep = labeled_subset(true_labels, labeled_per_class, seed, groups)
            labels = torch.full_like(true_labels, UNLABELED)
            labels[keep] = true_labels[keep]
    if images is not None:
        return ImageTensorDataset(images, labels, class_names, true_labels)
    resize = image_size is not None
    return ImageTensorDataset(None, labels, class_names, true_labels, size, resolved, crop, resize=resize)


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
