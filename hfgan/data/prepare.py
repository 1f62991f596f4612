"""Resize a collection of images once, to the training resolution, into one parquet file (or one per split).

    report = prepare_dataset("photos/", "dataset-resized-64.parquet", size=64)
    print(report.summary())

The output has an `image` column (the `datasets` Image feature, PNG bytes) and, when labels are asked for, a `label`
column (a ClassLabel whose names survive `load_dataset("parquet", ...)`). Images are decoded, converted to RGB,
cropped and resized in worker processes, chunk by chunk, and written as parquet row groups in source order as the
results arrive, so a collection larger than memory works. The file is written under a temporary name and renamed
at the end: an interrupted run leaves no half-written output.

A folder of images with split folders (`train/`, `test/`, `valid/`, ..., `SPLIT_FOLDERS`) gives one file per split,
`<out>/dataset-resized-<size>-<split>.parquet`, with the class folders below the split folders naming the labels.
"""

from __future__ import annotations

import collections
import concurrent.futures
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

import PIL.Image
import pyarrow as pa
import pyarrow.parquet as pq

from ..utils import atomic_write_all
from .images import CROP_MODES, describe_image_error, encode_png, image_payload, open_image, resize_image
from .sources import (
    IMAGE_FOLDER,
    PARQUET_FILE,
    DataSource,
    check_split,
    find_label_column,
    label_classes,
    resolve_data_source,
    source_kind,
)

MIN_SIZE = 8
DEFAULT_ROW_GROUP_SIZE = 256
_CHUNK_SIZE = 32  # images per task sent to a worker

SPLIT_FOLDERS = {
    "train": "train", "training": "train",
    "validation": "validation", "valid": "validation", "val": "validation", "dev": "validation",
    "test": "test", "testing": "test", "eval": "test", "evaluation": "test",
}
"""First-level folder names of a folder of images that hold a split, and the split each holds: the keywords with
which `datasets`' imagefolder (and so `resolve_data_source`) finds splits, so both read a folder the same way."""


class PrepareError(RuntimeError):
    """The source gave nothing to write (empty, or no image could be read)."""


@dataclass
class PrepareReport:
    """What `prepare_dataset` did."""

    output: Path  # the parquet file, or with split folders the folder of one file per split
    size: int
    written: int = 0
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (image name, reason)
    ignored_files: int = 0  # files in a source folder without an image extension
    class_names: list[str] | None = None
    label_source: str = "none"
    seconds: float = 0.0
    num_proc: int = 1
    outputs: dict[str, Path] = field(default_factory=dict)  # split -> its parquet file
    split_counts: dict[str, int] = field(default_factory=dict)  # split -> images written
    split_folders: dict[str, list[str]] = field(default_factory=dict)  # split -> the source folders it came from

    @property
    def images_per_second(self) -> float:
        return (self.written + len(self.skipped)) / self.seconds if self.seconds > 0 else float("inf")

    def summary(self, max_listed: int | None = None) -> str:
        """A closing report: what was written (per split, from split folders), the classes, and each skipped image
        with its reason."""
        lines = [
            f"Wrote {self.written} images ({self.size}x{self.size} RGB) to {self.output} "
            f"in {self.seconds:.1f} s ({self.images_per_second:.0f} images/s, {self.num_proc} "
            f"process{'es' if self.num_proc != 1 else ''})" + (":" if self.split_folders else ".")
        ]
        if self.split_folders:
            lines += [f"  {s}: {self.split_counts.get(s, 0)} images, {path}" for s, path in self.outputs.items()]
            found = [f"{split} ({', '.join(f + '/' for f in names)})" for split, names in self.split_folders.items()]
            lines.append(f"Splits from split folders: {', '.join(found)}.")
        if self.class_names is not None:
            shown = ", ".join(self.class_names[:20]) + (", ..." if len(self.class_names) > 20 else "")
            lines.append(f"Labels from {self.label_source}: {len(self.class_names)} classes ({shown}).")
        if self.ignored_files:
            lines.append(f"Ignored {self.ignored_files} files without an image extension.")
        if self.skipped:
            lines.append(f"Skipped {len(self.skipped)} images:")
            listed = self.skipped if max_listed is None else self.skipped[:max_listed]
            lines += [f"  {name}: {reason}" for name, reason in listed]
            if len(listed) < len(self.skipped):
                lines.append(f"  ... and {len(self.skipped) - len(listed)} more")
        else:
            lines.append("Skipped 0 images.")
        return "\n".join(lines)


# --------------------------------------------------------------------------------------------------------------------
# Folders of images
# --------------------------------------------------------------------------------------------------------------------


@dataclass
class ImageFolder:
    """The images below a folder, as `list_image_folder` finds them: sorted by path, hidden files and folders left out.

    Attributes:
        root: the folder.
        splits: `{split: [(path, path in its split, label), ...]}`: each image's path relative to `root`
            ("/"-separated), the same below its split folder (without split folders: the path again), and its class
            index (None: no labels). In the order train, validation, test; without split folders one split, "train".
        split_folders: `{split: the folders it came from}`; empty without split folders.
        class_names: the class folders' names, sorted; None without labels.
        label_source: where the labels came from, for reports: "class folders", "class folders (auto)" or "none".
        ignored_files: files without an image extension.
        skipped: `(path, reason)` of the images left out: outside every split folder, or outside a class folder when
            labels come from folders.
    """

    root: Path
    splits: dict[str, list[tuple[str, str, int | None]]]
    split_folders: dict[str, list[str]] = field(default_factory=dict)
    class_names: list[str] | None = None
    label_source: str = "none"
    ignored_files: int = 0
    skipped: list[tuple[str, str]] = field(default_factory=list)


def _image_extensions() -> set[str]:
    PIL.Image.init()
    return {ext.lower() for ext, fmt in PIL.Image.registered_extensions().items() if fmt in PIL.Image.OPEN}


def _split_by_folder(files: list[str]) -> tuple[dict[str, list[tuple[str, str]]], dict[str, list[str]], list]:
    """`({split: [(path, path in its split)]}, {split: its folders}, skipped)`: the first-level folders named in
    `SPLIT_FOLDERS` hold the splits, and images outside them are skipped; with no such folder, all is "train"."""
    folders = sorted({f.split("/", 1)[0] for f in files if "/" in f and f.split("/", 1)[0] in SPLIT_FOLDERS})
    if not folders:
        return {"train": [(f, f) for f in files]}, {}, []
    splits: dict[str, list[tuple[str, str]]] = {split: [] for split in dict.fromkeys(SPLIT_FOLDERS.values())}
    skipped = []
    for f in files:
        head, _, inner = f.partition("/")
        if inner and head in SPLIT_FOLDERS:
            splits[SPLIT_FOLDERS[head]].append((f, inner))
        else:
            skipped.append((f, f"not inside a split folder ({', '.join(folder + '/' for folder in folders)})"))
    split_folders = {split: [f for f in folders if SPLIT_FOLDERS[f] == split] for split in splits}
    kept = [split for split in splits if splits[split]]
    return {s: splits[s] for s in kept}, {s: split_folders[s] for s in kept}, skipped


def list_image_folder(root: str | os.PathLike, label_from: str = "auto") -> ImageFolder:
    """Every image below `root` (by file extension, searched recursively), by split and with its label.

    Splits: first-level folders named as in `SPLIT_FOLDERS` (`train/`, `test/`, `valid/`, ...) hold the splits, as
    `datasets`' imagefolder reads them; images beside them are skipped. Without such folders, every image is "train".
    Labels, below the split folder if any: `label_from="folder"`: the first folder names the class (images outside
    a class folder are skipped); `"auto"`: the same when every image sits in a class folder and there are at least
    two classes, else no labels; `"none"`: no labels.

    Raises:
        PrepareError: no images, or `label_from="folder"` and no class folders.
    """
    root = Path(root)
    extensions = _image_extensions()
    files: list[str] = []  # paths relative to root, "/"-separated
    ignored = 0
    for dirpath, dirnames, filenames in os.walk(root, followlinks=True):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        rel_dir = os.path.relpath(dirpath, root)
        for name in sorted(filenames):
            if name.startswith("."):
                continue
            if os.path.splitext(name)[1].lower() in extensions:
                files.append(name if rel_dir == "." else f"{rel_dir}/{name}".replace(os.sep, "/"))
            else:
                ignored += 1
    if not files:
        raise PrepareError(f"no images found in {root} ({ignored} other files)")

    splits, split_folders, skipped = _split_by_folder(files)
    inner_paths = [inner for entries in splits.values() for _, inner in entries]
    if label_from == "auto":
        classes = {inner.split("/", 1)[0] for inner in inner_paths if "/" in inner}
        label_from = "folder" if all("/" in inner for inner in inner_paths) and len(classes) >= 2 else "none"
        how = "class folders (auto)"
    else:
        how = "class folders"
    if label_from != "folder":
        labeled = {split: [(f, inner, None) for f, inner in entries] for split, entries in splits.items()}
        return ImageFolder(root, labeled, split_folders, ignored_files=ignored, skipped=skipped)

    class_names = sorted({inner.split("/", 1)[0] for inner in inner_paths if "/" in inner})
    if not class_names:
        raise PrepareError(f"label_from='folder' but {root} has no class subfolders with images")
    index = {name: i for i, name in enumerate(class_names)}
    labeled = {}
    for split, entries in splits.items():
        skipped += [(f, "not inside a class folder (label_from='folder')") for f, inner in entries if "/" not in inner]
        labeled[split] = [(f, inner, index[inner.split("/", 1)[0]]) for f, inner in entries if "/" in inner]
    labeled = {split: entries for split, entries in labeled.items() if entries}
    split_folders = {split: split_folders[split] for split in labeled if split in split_folders}
    return ImageFolder(root, labeled, split_folders, class_names, how, ignored, skipped)


# --------------------------------------------------------------------------------------------------------------------
# Sources: each gives, per split, the image count and an iterator of chunks of (name, payload, label, path), where
# payload is the image's bytes or a path a worker can open, plus the path to record in the output; and the class names.
# --------------------------------------------------------------------------------------------------------------------

_Chunks = Callable[[], Iterator[list[tuple]]]  # () -> chunks of (name, payload, label, path to record)


@dataclass
class _Source:
    description: str
    splits: dict[str, tuple[int, _Chunks]]  # split -> (images, their chunks)
    class_names: list[str] | None = None
    label_source: str = "none"
    ignored_files: int = 0
    pre_skipped: list[tuple[str, str]] = field(default_factory=list)
    split_folders: dict[str, list[str]] = field(default_factory=dict)  # non-empty: one output file per split


def _parse_label_from(label_from: str | None) -> tuple[str, str | None]:
    if label_from is None or label_from == "none":
        return "none", None
    if label_from in ("auto", "folder"):
        return label_from, None
    if label_from.startswith("column:") and len(label_from) > len("column:"):
        return "column", label_from[len("column:") :]
    raise ValueError(f"label_from must be 'auto', 'folder', 'column:NAME' or 'none', got {label_from!r}")


def _chunked(items: Iterable, n: int) -> Iterator[list]:
    chunk = []
    for item in items:
        chunk.append(item)
        if len(chunk) == n:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _folder_source(folder: ImageFolder, split: str | None) -> _Source:
    """Every split of a walked folder (one output file each), or only `split` (one file, no split folders)."""
    splits, split_folders = folder.splits, folder.split_folders
    if split is not None:
        check_split(folder.root, split, list(splits))
        splits, split_folders = {split: splits[split]}, {}
    items = {
        name: [(f, str(folder.root / f), label, inner) for f, inner, label in entries]
        for name, entries in splits.items()
    }
    return _Source(
        description=f"folder {folder.root}",
        splits={name: (len(rows), lambda rows=rows: _chunked(rows, _CHUNK_SIZE)) for name, rows in items.items()},
        class_names=folder.class_names,
        label_source=folder.label_source,
        ignored_files=folder.ignored_files,
        pre_skipped=list(folder.skipped),
        split_folders=split_folders,
    )


def _table_source(source: DataSource, label_mode: str, label_column: str | None) -> _Source:
    """A resolved table (a parquet file or folder, a Hub dataset, a folder of images with metadata), read in batches."""
    features, description = source.features, source.description
    if source.num_rows == 0:
        raise PrepareError(f"{description} has no rows")
    if label_mode == "auto":
        label_column = find_label_column(features)
        label_mode = "column" if label_column is not None else "none"
        how = f"column {label_column!r} (auto)"
    elif label_mode == "folder":
        raise ValueError(f"label_from='folder' needs a folder of images; {description} is a table (use column:NAME)")
    else:
        how = f"column {label_column!r}"

    class_names = None
    if label_mode == "column":
        if label_column not in features:
            raise ValueError(f"no column {label_column!r} in {description}; columns: {list(features)}")
        class_names, to_index = label_classes(source, label_column)

    image_column = source.image_column
    read_columns = [image_column] + ([label_column] if class_names is not None else [])

    def chunks() -> Iterator[list[tuple[str, Any, int | None, str | None]]]:
        row = 0
        for batch in source.iter_batches(read_columns):
            images = batch.column(image_column).to_pylist()
            labels = batch.column(label_column).to_pylist() if class_names is not None else [None] * len(images)
            chunk = []
            for value, label in zip(images, labels):
                name, payload, stored_path = _image_payload(value, row, source.base_dir)
                chunk.append((name, payload, to_index(label) if class_names is not None else None, stored_path))
                row += 1
                if len(chunk) == _CHUNK_SIZE:
                    yield chunk
                    chunk = []
            if chunk:
                yield chunk

    return _Source(
        description=description,
        splits={source.split: (source.num_rows, chunks)},
        class_names=class_names,
        label_source=how if class_names is not None else "none",
    )


def _image_payload(value: Any, row: int, base_dir: Path | None) -> tuple[str, Any, str | None]:
    """(name for the report, bytes or path to read, path to record) of one cell of an image column."""
    path = value.get("path") if isinstance(value, dict) else value if isinstance(value, str) else None
    name = f"row {row}" + (f" ({path})" if path else "")
    return name, image_payload(value, base_dir), os.path.basename(path) if path else None


def _resolve_source(source, split, label_mode, label_column, token, revision) -> _Source:
    kind, where = source_kind(source)
    if kind == IMAGE_FOLDER and label_mode != "column":  # split and class subfolders: walked here, in source order
        return _folder_source(list_image_folder(where, label_mode), split)
    if kind == PARQUET_FILE and os.path.getsize(where) == 0:
        raise PrepareError(f"{source} is empty (zero bytes)")
    # a table, or a folder of images with labels in its metadata.csv/jsonl, which `datasets` reads
    table = resolve_data_source(source, split or "train", token=token, revision=revision)
    return _table_source(table, label_mode, label_column)


# --------------------------------------------------------------------------------------------------------------------
# Work done in the worker processes
# --------------------------------------------------------------------------------------------------------------------


def _process_chunk(
    chunk: list[tuple[str, Any, int | None, str | None]], size: int, crop: str
) -> list[tuple[str, bytes | None, int | None, str | None, str | None]]:
    """Decode, convert, crop, resize and re-encode each image.

    Returns (name, png bytes or None, label, path to record, skip reason or None) for each image of the chunk.
    """
    results = []
    for name, payload, label, stored_path in chunk:
        if payload is None:
            results.append((name, None, label, stored_path, "no image data"))
            continue
        try:
            image = open_image(payload, draft_size=size)
            png = encode_png(resize_image(image, size, crop))
            results.append((name, png, label, stored_path, None))
        except Exception as error:  # noqa: BLE001 - one bad image never stops the run
            results.append((name, None, label, stored_path, describe_image_error(error)))
    return results


def _ordered_map(fn, chunks: Iterable, num_proc: int) -> Iterator:
    """`map(fn, chunks)` in order, over `num_proc` processes, with a bounded number of chunks in flight."""
    if num_proc <= 1:
        for chunk in chunks:
            yield fn(chunk)
        return
    executor = concurrent.futures.ProcessPoolExecutor(max_workers=num_proc)
    try:
        pending: collections.deque = collections.deque()
        for chunk in chunks:
            pending.append(executor.submit(fn, chunk))
            if len(pending) >= 4 * num_proc:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()
    finally:
        executor.shutdown(wait=True, cancel_futures=True)


def default_num_proc() -> int:
    """All the cores this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def output_features(class_names: list[str] | None):
    """The `datasets` features of a prepared parquet: an Image, and a ClassLabel when there are labels."""
    import datasets

    features = {"image": datasets.Image()}
    if class_names is not None:
        features["label"] = datasets.ClassLabel(names=list(class_names))
    return datasets.Features(features)


def prepare_dataset(
    source: str | os.PathLike,
    output: str | os.PathLike | None = None,
    size: int = 64,
    crop: str = "center",
    label_from: str | None = "auto",
    num_proc: int | None = None,
    overwrite: bool = False,
    split: str | None = None,
    token: str | bool | None = None,
    revision: str | None = None,
    row_group_size: int = DEFAULT_ROW_GROUP_SIZE,
    progress: bool = True,
) -> PrepareReport:
    """Resize every image of `source` to `size` x `size` RGB and write them to one parquet file, or to one per split
    for a folder of images with split folders.

    Args:
        source: a folder of images (searched recursively; split folders and class subfolders optional), or any other
            source of `resolve_data_source`: a parquet file with an image column, a folder of parquet files, a Hugging
            Face Hub dataset id, `"emoji"` (`split` picks the split).
        output: the parquet to write; by default `dataset-resized-{size}.parquet` in the working directory. For a
            folder of images with split folders (`train/`, `test/`, `valid/`, ...: `SPLIT_FOLDERS`), the folder to
            write one file per split to, `dataset-resized-{size}-{split}.parquet` (by default
            `dataset-resized-{size}/`): `load_image_dataset(output, split="test")` reads a split back.
        size: side of the square output images, at least 8.
        crop: "center" (largest centered square, then resize) or "none" (resize the whole image, stretching it).
        label_from: "folder" (the first-level subfolder of a source folder, or of its split folders, names the
            class), "column:NAME" (a column of a table source, or of a folder's metadata.csv/jsonl), "none", or
            "auto": class folders when every image sits in one of at least two subfolders, a ClassLabel column for a
            table, else none.
        num_proc: worker processes; by default every core. 1 works in this process.
        overwrite: replace existing output files; without it an existing file is an error.
        split: the split of a table source (default "train"); for a folder of images with split folders, write only
            this split, to one file (default: every split).
        token, revision: for a Hub dataset id.
        row_group_size: images per parquet row group.
        progress: show a progress bar (on stderr).

    Returns:
        a `PrepareReport`: images written (per split), the splits and classes found, and each image skipped with
        the reason (unreadable, corrupt, empty, outside a split or class folder, ...).

    Raises:
        ValueError: bad arguments (size below 8, unknown crop or label_from, a split the source lacks, a parquet
            file as the output of split folders).
        FileExistsError: an output file exists and `overwrite` is false.
        PrepareError: the source has no images, or none of them (of a split) could be read (nothing is written).
    """
    start = time.perf_counter()
    if not isinstance(size, int) or size < MIN_SIZE:
        raise ValueError(f"size must be an integer of at least {MIN_SIZE}, got {size!r}")
    if crop not in CROP_MODES:
        raise ValueError(f"crop must be one of {CROP_MODES}, got {crop!r}")
    if row_group_size < 1:
        raise ValueError("row_group_size must be at least 1")
    label_mode, label_column = _parse_label_from(label_from)
    num_proc = default_num_proc() if num_proc is None else max(1, int(num_proc))

    src = _resolve_source(source, split, label_mode, label_column, token, revision)
    output, outputs = _outputs(source, output, size, src)
    existing = [str(path) for path in outputs.values() if path.exists()]
    if existing and not overwrite:
        raise FileExistsError(
            f"{' and '.join(existing)} {'exists' if len(existing) == 1 else 'exist'}; pass overwrite=True "
            f"(--overwrite) to replace {'it' if len(existing) == 1 else 'them'}"
        )
    counts = {name: count for name, (count, _) in src.splits.items()}
    if sum(counts.values()) == 0:
        raise PrepareError(f"no images found in {src.description}")
    num_proc = min(num_proc, -(-max(counts.values()) // _CHUNK_SIZE))  # no idle workers for a small source
    report = PrepareReport(
        output=output, size=size, class_names=src.class_names, label_source=src.label_source,
        ignored_files=src.ignored_files, skipped=list(src.pre_skipped), num_proc=num_proc, outputs=outputs,
        split_folders=src.split_folders,
    )
    features = output_features(src.class_names)
    schema = features.arrow_schema

    def write(split_name: str, tmp_path: str) -> None:
        from tqdm.auto import tqdm

        desc = f"prepare-data {split_name}" if src.split_folders else "prepare-data"
        bar = tqdm(total=counts[split_name], unit="img", desc=desc, disable=not progress, dynamic_ncols=True)
        rows: dict[str, list] = {"image": [], "label": []}
        written = 0
        with pq.ParquetWriter(tmp_path, schema) as writer:

            def flush() -> None:
                if not rows["image"]:
                    return
                arrays = {"image": rows["image"]}
                if src.class_names is not None:
                    arrays["label"] = rows["label"]
                writer.write_table(pa.Table.from_pydict(arrays, schema=schema), row_group_size=row_group_size)
                rows["image"], rows["label"] = [], []

            worker = _ChunkWorker(size, crop)
            for results in _ordered_map(worker, src.splits[split_name][1](), num_proc):
                for name, png, label, stored_path, reason in results:
                    if png is None:
                        report.skipped.append((name, reason))
                    elif src.class_names is not None and label is None:
                        report.skipped.append((name, "missing label"))
                    else:
                        rows["image"].append({"bytes": png, "path": stored_path})
                        rows["label"].append(label)
                        written += 1
                        if len(rows["image"]) >= row_group_size:
                            flush()
                bar.update(len(results))
            flush()
        bar.close()
        if written == 0:
            what = f"split {split_name!r} of {src.description}" if src.split_folders else src.description
            raise PrepareError(
                f"no image could be read from {what} ({len(report.skipped)} skipped); nothing written\n"
                + "\n".join(f"  {n}: {r}" for n, r in report.skipped[:20])
            )
        report.split_counts[split_name] = written
        report.written += written

    # every file under a temporary name, renamed once all are written: an interrupted run leaves none
    atomic_write_all(outputs, write)
    report.seconds = time.perf_counter() - start
    return report


def split_file(folder: str | os.PathLike, size: int, split: str) -> Path:
    """Where `prepare_dataset` writes one split of split folders: `<folder>/dataset-resized-<size>-<split>.parquet`
    (the split in the name, where `datasets` and `resolve_data_source` find it)."""
    return Path(folder) / f"dataset-resized-{size}-{split}.parquet"


def _outputs(source, output, size: int, src: _Source) -> tuple[Path, dict[str, Path]]:
    """`(what the report calls the output, {split: parquet file})`: `output` itself for one split, else a file per
    split in the folder `output`."""
    if not src.split_folders:
        output = Path(output if output is not None else f"dataset-resized-{size}.parquet")
        return output, {next(iter(src.splits)): output}
    folder = Path(output if output is not None else f"dataset-resized-{size}")
    if folder.suffix.lower() == ".parquet" or folder.is_file():
        raise ValueError(
            f"{source} has split folders ({', '.join(src.splits)}), written to one file each in a folder; give a "
            f"folder as the output, not {folder} (or choose one split with split=, --split)"
        )
    outputs = {name: split_file(folder, size, name) for name in src.splits}
    # any other parquet file there would be read as part of the splits (a run at another size, say)
    others = sorted(str(p) for p in folder.glob("**/*.parquet") if p not in outputs.values()) if folder.is_dir() else []
    if others:
        raise ValueError(
            f"{folder} holds other parquet files ({', '.join(others[:5])}{', ...' if len(others) > 5 else ''}), "
            "which datasets and load_image_dataset would read as part of the splits; write to a new or empty folder"
        )
    return folder, outputs


class _ChunkWorker:
    """A picklable `_process_chunk` with its settings bound (a lambda would not pickle)."""

    def __init__(self, size: int, crop: str):
        self.size, self.crop = size, crop

    def __call__(self, chunk):
        return _process_chunk(chunk, self.size, self.crop)
