"""The objects of a scene: every image of a source as an RGBA cutout (`object_cutouts`), with a name and a label.

Objects come from the shipped emoji set, any parquet file or dataset folder with an image column, a folder of images
(split folders name the splits, class subfolders the labels) or a Hub dataset id.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import PIL.Image

from ..images import describe_image_error, image_payload, open_image
from ..prepare import PrepareError, list_image_folder
from ..sources import IMAGE_FOLDER, check_split, find_label_column, label_classes, resolve_data_source, source_kind
from .matting import Matting

NO_LABEL = -1


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


def _table_objects(source, split: str, token, revision) -> tuple[list[tuple[str, Any, int]], list[str] | None, str]:
    """(name, payload, label) of every row of one split of a table source, its class names, its description."""
    import datasets

    data = resolve_data_source(source, split, token=token, revision=revision)
    features = data.features
    label_column = find_label_column(features)
    class_names, to_index = label_classes(data, label_column) if label_column else (None, None)
    name_column = next(
        (n for n in ("name", "object_name", "title") if isinstance(features.get(n), datasets.Value)
         and features[n].dtype in ("string", "large_string")), None,
    )
    cells = data.column(data.image_column).to_pylist()
    labels = data.column(label_column).to_pylist() if label_column else [None] * len(cells)
    names = data.column(name_column).to_pylist() if name_column else [None] * len(cells)
    rows = []
    for row, (cell, label, name) in enumerate(zip(cells, labels, names)):
        path = cell.get("path") if isinstance(cell, dict) else cell if isinstance(cell, str) else None
        if name is None:
            name = os.path.splitext(os.path.basename(path))[0] if path else f"row {row}"
        label = to_index(label) if label_column else None
        rows.append((str(name), image_payload(cell, data.base_dir), NO_LABEL if label is None else label))
    return rows, class_names, data.description


def _folder_objects(source, root: Path, split: str) -> tuple[list[tuple[str, Any, int]], list[str] | None, str]:
    """(name, path, label) of every image of one split of a folder of images, its class names, its description."""
    try:
        folder = list_image_folder(root)
    except PrepareError as error:
        raise ValueError(f"no usable objects: {error}") from error
    if not folder.split_folders and split != "train":
        raise ValueError(f"{source} is a folder of images, which holds one split ('train'), not {split!r}")
    check_split(source, split, list(folder.splits))
    rows = [
        (os.path.splitext(inner)[0], str(root / path), NO_LABEL if label is None else label)
        for path, inner, label in folder.splits[split]
    ]
    return rows, folder.class_names, f"folder {root}" + (f" split {split!r}" if folder.split_folders else "")


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
            ClassLabel column), a folder of images (names: their paths without extension, below the split folder;
            labels: class subfolders, when every image sits in one of at least two), or a Hub dataset id.
        split: the split of a dataset folder, `"emoji"`, a Hub dataset or a folder of images with split folders
            (`train/`, `test/`, ...); a parquet file and a folder of images without them have only `"train"`.
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
        rows, class_names, description = _folder_objects(source, where, split)
    else:
        try:
            rows, class_names, description = _table_objects(source, split, token, revision)
        except FileNotFoundError as error:
            raise ValueError(str(error)) from error
    objects = ObjectSet([], class_names=class_names, description=description)
    matting = Matting(low, edge_width, max_side)
    problems: dict[int, str] = {}
    for key, (name, payload, _) in enumerate(rows):
        if payload is None:
            problems[key] = "no image data"
            continue
        try:
            matting.add(key, payload if isinstance(payload, PIL.Image.Image) else open_image(payload))
        except Exception as error:  # noqa: BLE001 - one bad image never stops the run
            problems[key] = describe_image_error(error)
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
