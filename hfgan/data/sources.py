"""Where images come from: `resolve_data_source` turns any source into one split's rows, for every reader.

    source = resolve_data_source("emoji", split="test")
    source.num_rows, source.image_column  # 549, "image"
    cells = source.image_cells(0, 4)      # [{"bytes": b"\\x89PNG...", "path": ...}, ...]: decode with `decode_image`

A source is one of
- `"emoji"`: the Noto Color Emoji set shipped in the hfgan repository (`data/emoji/`), found as
  `emoji_dataset_path` says, else the Hub dataset `EMOJI_HUB_ID` (the name always means this set: write `./emoji`
  for a folder of that name);
- a parquet file: one split, `"train"`;
- a dict `{split: parquet path or list of paths}`;
- a folder: a dataset folder when it holds a parquet file anywhere below it (its splits found as `datasets` finds
  them: the README's `configs`, or `train`/`test` in the file names), otherwise a folder of images (read by
  `datasets`' imagefolder, with the labels of its class subfolders or its `metadata.csv`/`.jsonl`);
- a Hugging Face Hub dataset id, `"name"` or `"namespace/name"` (`token`, `revision`).

`source_kind` makes the decision alone, without reading anything, for `prepare_dataset`, which walks a folder of
images itself; the training loader, the metrics' reference images and the feature-net training script read every
source through `resolve_data_source`.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

import numpy as np

from .images import IMAGE_COLUMN_NAMES, find_image_column

EMOJI = "emoji"
"""The name of the emoji set shipped in the hfgan repository, a source like any other."""
EMOJI_DATA_ENV = "HFGAN_EMOJI_DATA"
EMOJI_SPLIT_FILES = {"train": "emoji-64-train.parquet", "test": "emoji-64-test.parquet"}
EMOJI_HUB_ID = "hfgan/emoji-64"
"""The Hub dataset the shipped emoji set is released as (`data/emoji/` as it is, its README the card): where
`"emoji"` is read from when no local copy is found, so an installed package trains its default without a clone."""

# what `source_kind` answers
PARQUET_FILES = "parquet-files"  # a dict {split: files}
PARQUET_FILE = "parquet-file"
DATASET_FOLDER = "dataset-folder"
IMAGE_FOLDER = "image-folder"
HUB = "hub"


def emoji_dataset_path() -> Path:
    """The folder (absolute) of the shipped emoji set (`emoji-64-train.parquet`, `emoji-64-test.parquet`).

    It is the folder `$HFGAN_EMOJI_DATA` when that is set, else `data/emoji` under the working directory (a clone of
    the repository, where the training scripts and tests run). It is not in the wheel: the library never looks for
    it beside its own files.

    The source `"emoji"` goes on to the Hub dataset `EMOJI_HUB_ID` where this finds no folder (`source_kind`); this
    function answers only for a local copy.

    Raises:
        FileNotFoundError: it is not there; the message says where the set comes from and how to point at it.
    """
    folder, where = _emoji_folder()
    if all((folder / name).is_file() for name in EMOJI_SPLIT_FILES.values()):
        return folder
    raise FileNotFoundError(_emoji_missing(f"is not in {folder} ({where})"))


def _emoji_folder() -> tuple[Path, str]:
    """Where a local copy of the emoji set is looked for (absolute), and how that place was chosen."""
    configured = os.environ.get(EMOJI_DATA_ENV)
    if configured:  # when set, the only place: a wrong setting is an error, not a silent fall-back
        folder, where = Path(configured).expanduser(), f"${EMOJI_DATA_ENV}"
    else:
        folder, where = Path("data") / "emoji", "data/emoji under the working directory"
    return folder.absolute(), where  # absolute: still right after a later change of the working directory


def _emoji_missing(what: str) -> str:
    """The message for a shipped emoji set that cannot be found: `what` went wrong, then every way to get it."""
    return (
        f"The shipped emoji dataset ({', '.join(EMOJI_SPLIT_FILES.values())}) {what}. It ships in the hfgan "
        f"repository's data/emoji/ folder, not in the installed package: run from a clone of the repository, set "
        f"{EMOJI_DATA_ENV}=/path/to/data/emoji, or pass that folder's path instead of 'emoji'. Without a local copy "
        f"(and with {EMOJI_DATA_ENV} unset) 'emoji' is read from the Hub dataset {EMOJI_HUB_ID!r}, which needs the "
        "network or the Hub cache. Any parquet file, dataset folder, folder of images or Hub dataset id works as a "
        "source too."
    )


def _looks_local(source: str) -> bool:
    """A string that can only mean a path: Hub ids are `name` or `namespace/name`, without a file suffix."""
    return source.endswith(".parquet") or source.startswith((".", "/", "~")) or source.count("/") > 1


def source_kind(source: str | os.PathLike | dict) -> tuple[str, Any]:
    """What kind of source `source` is, and where: `(kind, location)`, reading nothing but the file system's names.

    Kinds: `PARQUET_FILES` (location: the dict), `PARQUET_FILE` and `DATASET_FOLDER` and `IMAGE_FOLDER` (a `Path`;
    `"emoji"` is the shipped set's dataset folder), `HUB` (the id; `"emoji"` without a local copy is `EMOJI_HUB_ID`).

    Raises:
        FileNotFoundError: a path that does not exist (or `$HFGAN_EMOJI_DATA` naming a folder without the set).
        ValueError: a file that is not parquet.
    """
    if isinstance(source, dict):
        return PARQUET_FILES, source
    if isinstance(source, str) and source == EMOJI:
        try:
            return DATASET_FOLDER, emoji_dataset_path()
        except FileNotFoundError:
            if os.environ.get(EMOJI_DATA_ENV):  # a setting names the one place: no silent fall-back to the Hub
                raise
            return HUB, EMOJI_HUB_ID
    path = Path(source).expanduser()
    if path.is_file():
        if path.suffix.lower() != ".parquet":
            raise ValueError(
                f"{source} is a file but not a parquet file; give a parquet file, a folder (of parquet files or of "
                "images) or a Hub dataset id"
            )
        return PARQUET_FILE, path
    if path.is_dir():
        return (DATASET_FOLDER if any(path.glob("**/*.parquet")) else IMAGE_FOLDER), path
    if isinstance(source, os.PathLike) or _looks_local(str(source)):
        raise FileNotFoundError(f"{source}: no such parquet file or folder (and not a Hub dataset id)")
    return HUB, str(source)


def _file_fingerprint(files: Sequence[Path]) -> str:
    """A hash of the files' real paths, sizes and modification times: it changes when any of them does."""
    digest = hashlib.sha256()
    for f in sorted(str(f) for f in files):
        stat = os.stat(f)
        digest.update(f"{os.path.realpath(f)}|{stat.st_size}|{stat.st_mtime_ns}".encode())
    return digest.hexdigest()[:16]


@dataclass(eq=False)
class DataSource:
    """One split of a source, resolved by `resolve_data_source`: its rows, and what identifies them.

    Exactly one of `files` (the split's parquet files, read column by column when needed) and `dataset` (a loaded
    `datasets.Dataset`: a Hub dataset, a folder of images) holds the rows.

    Attributes:
        name: the source's identity, the resolved path of a file or folder, or the Hub id.
        split: the split.
        description: for messages, e.g. `"data/emoji split 'test'"`.
        features: the `datasets.Features` of the split.
        image_column: the column holding the images.
        num_rows: images in the split.
        splits: every split of the source (a Hub dataset: only `split`, the others are not asked for).
        fingerprint: changes when the data does (the files' paths, sizes and modification times; the Hub dataset's
            fingerprint, which follows its revision); with `name` and `split` a cache key, `cache_key`.
        files: the split's parquet files.
        dataset: the loaded `datasets.Dataset`.
        base_dir: where relative image paths in the cells are found (beside the parquet files).
    """

    name: str
    split: str
    description: str
    features: Any = field(repr=False)
    image_column: str
    num_rows: int
    splits: tuple[str, ...]
    fingerprint: str
    files: tuple[Path, ...] = ()
    dataset: Any = None
    base_dir: Path | None = None
    _columns: dict = field(default_factory=dict, repr=False)

    @property
    def cache_key(self) -> tuple[str, str, str]:
        """`(name, split, fingerprint)`: equal for two resolutions of the same, unchanged data."""
        return (self.name, self.split, self.fingerprint)

    def column(self, name: str):
        """The whole column `name` as a `pyarrow.ChunkedArray`, read once and kept."""
        if name not in self._columns:
            if name not in self.features:
                raise ValueError(f"{self.description} has no column {name!r} (columns: {list(self.features)})")
            if self.dataset is not None:
                self._columns[name] = self.dataset.with_format("arrow").select_columns([name])[:].column(name)
            else:
                import pyarrow as pa
                import pyarrow.parquet as pq

                self._columns[name] = pa.chunked_array(
                    [chunk for f in self.files for chunk in pq.read_table(f, columns=[name]).column(name).chunks],
                    type=pq.read_schema(self.files[0]).field(name).type,
                )
        return self._columns[name]

    def image_cells(self, start: int = 0, stop: int | None = None) -> list:
        """The image cells of rows `start:stop` (`{"bytes", "path"}` dicts, as `datasets` stores images)."""
        stop = self.num_rows if stop is None else stop
        return self.column(self.image_column).slice(start, max(0, stop - start)).to_pylist()

    def image_cells_at(self, rows: Sequence[int]) -> list:
        """The image cells of the given rows, in that order."""
        import pyarrow as pa

        return self.column(self.image_column).take(pa.array(np.asarray(rows, dtype=np.int64))).to_pylist()

    def iter_batches(self, columns: list[str], batch_size: int = 256) -> Iterator:
        """The given columns, `batch_size` rows at a time (pyarrow tables or record batches), without reading the
        whole split into memory."""
        if self.dataset is not None:
            view = self.dataset.with_format("arrow").select_columns(columns)
            for start in range(0, len(view), batch_size):
                yield view[start : start + batch_size]
            return
        import pyarrow.parquet as pq

        for f in self.files:
            yield from pq.ParquetFile(f).iter_batches(batch_size=batch_size, columns=columns)


def find_label_column(features) -> str | None:
    """The label column of a table, for readers not told which: `label` when it is a ClassLabel, else the first
    ClassLabel; None if neither (a plain column holds labels only when named, e.g. `label_from="column:NAME"`)."""
    import datasets

    if isinstance(features.get("label"), datasets.ClassLabel):
        return "label"
    return next((name for name, feature in features.items() if isinstance(feature, datasets.ClassLabel)), None)


def label_classes(source: DataSource, column: str) -> tuple[list[str], Callable[[Any], int | None]]:
    """The class names of a label column and the function from one of its values to a class index (None: no label).

    A ClassLabel keeps its names, and its negative values (and None) are no label; the sorted distinct values of any
    other column are the classes, named by `str` (None is no label).
    """
    import datasets

    feature = source.features[column]
    if isinstance(feature, datasets.ClassLabel):
        return list(feature.names), lambda value: None if value is None or value < 0 else int(value)
    values = [v for v in source.column(column).unique().to_pylist() if v is not None]
    try:
        values = sorted(values)
    except TypeError:  # values of several types: an order all the same
        values = sorted(values, key=str)
    index = {v: i for i, v in enumerate(values)}
    return [str(v) for v in values], index.get


def _image_column(features, description: str) -> str:
    name = find_image_column(features, list(features))
    if name is None:
        raise ValueError(
            f"{description}: no image column (an Image feature, or one named {IMAGE_COLUMN_NAMES}); columns: "
            f"{list(features)}"
        )
    return name


def _from_files(name: str, split: str, splits, files: list[Path], description: str) -> DataSource:
    import datasets
    import pyarrow.parquet as pq

    features = datasets.Features.from_arrow_schema(pq.read_schema(files[0]))
    return DataSource(
        name=name, split=split, description=description, features=features,
        image_column=_image_column(features, description),
        num_rows=sum(pq.ParquetFile(f).metadata.num_rows for f in files), splits=tuple(splits),
        fingerprint=_file_fingerprint(files), files=tuple(files), base_dir=files[0].parent,
    )


def _from_dataset(name: str, split: str, splits, dataset, description: str) -> DataSource:
    return DataSource(
        name=name, split=split, description=description, features=dataset.features,
        image_column=_image_column(dataset.features, description), num_rows=len(dataset), splits=tuple(splits),
        fingerprint=dataset._fingerprint, dataset=dataset,
    )


def check_split(where, split: str, splits) -> None:
    """A `ValueError` naming `where`'s splits when `split` is not one of them."""
    if split not in splits:
        raise ValueError(f"{where} has no split {split!r}; its splits: {', '.join(splits) or 'none'}")


def _folder_splits(path: Path, image_folder: bool) -> dict[str, list[Path]]:
    """{split: files} of a folder, as `datasets` finds them (the README's `configs`, or the files' names)."""
    import datasets

    if image_folder:
        builder = datasets.load_dataset_builder("imagefolder", data_dir=str(path))
    else:
        builder = datasets.load_dataset_builder(str(path))
    data_files = builder.config.data_files or {}
    if not data_files:
        raise ValueError(f"{path} holds no data files `datasets` can read")
    return {str(split): [Path(f) for f in files] for split, files in data_files.items()}


def resolve_data_source(
    source: str | os.PathLike | dict,
    split: str = "train",
    *,
    token: str | bool | None = None,
    revision: str | None = None,
) -> DataSource:
    """One split of a source (see the module: `"emoji"`, a parquet file, a dict of parquet files per split, a dataset
    folder, a folder of images, a Hub dataset id), as a `DataSource`.

    Parquet files are not read here beyond their schema and row counts; a folder of images and a Hub dataset are
    loaded with `datasets` (a Hub dataset is downloaded into its cache).

    Raises:
        FileNotFoundError: a path that does not exist, a Hub dataset that cannot be loaded, the shipped emoji set
            where it is not (the message says where to get it).
        ValueError: no such split, no image column, a file that is not parquet.
    """
    import datasets

    kind, where = source_kind(source)
    if kind == PARQUET_FILES:
        check_split("the given files", split, list(where))
        given = where[split]
        files = [Path(f) for f in ([given] if isinstance(given, (str, os.PathLike)) else given)]
        return _from_files(files[0].resolve().as_posix(), split, list(where), files, str([str(f) for f in files]))
    if kind == PARQUET_FILE:
        if split != "train":
            raise ValueError(
                f"{source} is a single parquet file, which holds one split ('train'), so it has no split {split!r}; "
                f"pass a dataset folder with a file per split, or a dict {{{split!r}: path}}"
            )
        return _from_files(where.resolve().as_posix(), split, ["train"], [where], str(source))
    description = f"{source} split {split!r}"
    if kind == DATASET_FOLDER:
        splits = _folder_splits(where, image_folder=False)
        check_split(source, split, list(splits))
        if all(f.suffix == ".parquet" and f.is_file() for f in splits[split]):
            return _from_files(where.resolve().as_posix(), split, list(splits), splits[split], description)
        dataset = datasets.load_dataset(str(where), split=split)  # parquet beside other formats: `datasets` reads it
        return _from_dataset(where.resolve().as_posix(), split, list(splits), dataset, description)
    if kind == IMAGE_FOLDER:
        splits = _folder_splits(where, image_folder=True)
        check_split(source, split, list(splits))
        dataset = datasets.load_dataset("imagefolder", data_dir=str(where), split=split)
        return _from_dataset(where.resolve().as_posix(), split, list(splits), dataset, description)
    try:
        dataset = datasets.load_dataset(where, split=split, token=token, revision=revision)
    except ValueError as error:  # an unknown split
        raise ValueError(f"{source}: {error}") from error
    except Exception as error:
        if source == EMOJI:  # neither a local copy nor the release on the Hub: every way to get the set
            folder, place = _emoji_folder()
            raise FileNotFoundError(_emoji_missing(
                f"is not in {folder} ({place}), and the Hub dataset {where!r} could not be loaded ({error})"
            )) from error
        raise FileNotFoundError(
            f"{source!r} is neither a local parquet file or folder nor a loadable Hub dataset ({error})"
        ) from error
    return _from_dataset(where, split, [split], dataset, description)
