"""Resize a collection of images once, to the training resolution, into one parquet file.

    report = prepare_dataset("photos/", "dataset-resized-64.parquet", size=64)
    print(report.summary())

The output has an `image` column (the `datasets` Image feature, PNG bytes) and, when labels are asked for, a `label`
column (a ClassLabel whose names survive `load_dataset("parquet", ...)`). Images are decoded, converted to RGB,
cropped and resized in worker processes, chunk by chunk, and written as parquet row groups in source order as the
results arrive, so a collection larger than memory works. The file is written under a temporary name and renamed
at the end: an interrupted run leaves no half-written output.
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

from ..utils import atomic_write
from .images import CROP_MODES, encode_png, image_payload, open_image, resize_image
from .sources import IMAGE_FOLDER, PARQUET_FILE, DataSource, resolve_data_source, source_kind

MIN_SIZE = 8
DEFAULT_ROW_GROUP_SIZE = 256
_CHUNK_SIZE = 32  # images per task sent to a worker


class PrepareError(RuntimeError):
    """The source gave nothing to write (empty, or no image could be read)."""


@dataclass
class PrepareReport:
    """What `prepare_dataset` did."""

    output: Path
    size: int
    written: int = 0
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (image name, reason)
    ignored_files: int = 0  # files in a source folder without an image extension
    class_names: list[str] | None = None
    label_source: str = "none"
    seconds: float = 0.0
    num_proc: int = 1

    @property
    def images_per_second(self) -> float:
        return (self.written + len(self.skipped)) / self.seconds if self.seconds > 0 else float("inf")

    def summary(self, max_listed: int | None = None) -> str:
        """A closing report: what was written, and each skipped image with its reason."""
        lines = [
            f"Wrote {self.written} images ({self.size}x{self.size} RGB) to {self.output} "
            f"in {self.seconds:.1f} s ({self.images_per_second:.0f} images/s, {self.num_proc} "
            f"process{'es' if self.num_proc != 1 else ''})."
        ]
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
# Sources: each gives the total count, the class names and an iterator of chunks of (name, payload, label, path),
# where payload is the image's bytes or a path a worker can open, plus the path to record in the output.
# --------------------------------------------------------------------------------------------------------------------


@dataclass
class _Source:
    description: str
    total: int
    chunks: Callable[[], Iterator[list[tuple[str, Any, int | None, str | None]]]]
    class_names: list[str] | None = None
    label_source: str = "none"
    ignored_files: int = 0
    pre_skipped: list[tuple[str, str]] = field(default_factory=list)


def _parse_label_from(label_from: str | None) -> tuple[str, str | None]:
    if label_from is None or label_from == "none":
        return "none", None
    if label_from in ("auto", "folder"):
        return label_from, None
    if label_from.startswith("column:") and len(label_from) > len("column:"):
        return "column", label_from[len("column:") :]
    raise ValueError(f"label_from must be 'auto', 'folder', 'column:NAME' or 'none', got {label_from!r}")


def _image_extensions() -> set[str]:
    PIL.Image.init()
    return {ext.lower() for ext, fmt in PIL.Image.registered_extensions().items() if fmt in PIL.Image.OPEN}


def _chunked(items: Iterable, n: int) -> Iterator[list]:
    chunk = []
    for item in items:
        chunk.append(item)
        if len(chunk) == n:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _folder_source(root: Path, label_mode: str) -> _Source:
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

    in_class_folder = ["/" in f for f in files]
    if label_mode == "auto":
        classes = {f.split("/", 1)[0] for f in files if "/" in f}
        label_mode = "folder" if all(in_class_folder) and len(classes) >= 2 else "none"
        how = "class folders (auto)"
    else:
        how = "class folders"
    class_names = None
    pre_skipped: list[tuple[str, str]] = []
    if label_mode == "folder":
        class_names = sorted({f.split("/", 1)[0] for f in files if "/" in f})
        if not class_names:
            raise PrepareError(f"label_from='folder' but {root} has no class subfolders with images")
        pre_skipped = [(f, "not inside a class folder (label_from='folder')") for f in files if "/" not in f]
        files = [f for f in files if "/" in f]
        index = {name: i for i, name in enumerate(class_names)}
        items = [(f, str(root / f), index[f.split("/", 1)[0]], f) for f in files]
    else:
        items = [(f, str(root / f), None, f) for f in files]

    return _Source(
        description=f"folder {root}",
        total=len(items),
        chunks=lambda: _chunked(items, _CHUNK_SIZE),
        class_names=class_names,
        label_source=how if class_names is not None else "none",
        ignored_files=ignored,
        pre_skipped=pre_skipped,
    )


def _table_source(source: DataSource, label_mode: str, label_column: str | None) -> _Source:
    """A resolved table (a parquet file or folder, a Hub dataset, a folder of images with metadata), read in batches."""
    import datasets

    features, description = source.features, source.description
    if source.num_rows == 0:
        raise PrepareError(f"{description} has no rows")
    if label_mode == "auto":
        if isinstance(features.get("label"), datasets.ClassLabel):
            label_mode, label_column = "column", "label"
        else:
            candidates = [n for n, f in features.items() if isinstance(f, datasets.ClassLabel)]
            label_mode, label_column = ("column", candidates[0]) if candidates else ("none", None)
        how = f"column {label_column!r} (auto)"
    elif label_mode == "folder":
        raise ValueError(f"label_from='folder' needs a folder of images; {description} is a table (use column:NAME)")
    else:
        how = f"column {label_column!r}"

    class_names = None
    to_index: Callable[[Any], int | None] = lambda value: None
    if label_mode == "column":
        if label_column not in features:
            raise ValueError(f"no column {label_column!r} in {description}; columns: {list(features)}")
        feature = features[label_column]
        if isinstance(feature, datasets.ClassLabel):
            class_names = list(feature.names)
            to_index = lambda value: None if value is None or value < 0 else int(value)
        else:
            values = [v for v in source.column(label_column).unique().to_pylist() if v is not None]
            try:
                values = sorted(values)
            except TypeError:
                values = sorted(values, key=str)
            class_names = [str(v) for v in values]
            index = {v: i for i, v in enumerate(values)}
            to_index = index.get

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
        total=source.num_rows,
        chunks=chunks,
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
    if kind == IMAGE_FOLDER and label_mode != "column":  # class subfolders: walked here, in source order
        return _folder_source(where, label_mode)
    if kind == PARQUET_FILE and os.path.getsize(where) == 0:
        raise PrepareError(f"{source} is empty (zero bytes)")
    # a table, or a folder of images with labels in its metadata.csv/jsonl, which `datasets` reads
    return _table_source(resolve_data_source(source, split, token=token, revision=revision), label_mode, label_column)


# --------------------------------------------------------------------------------------------------------------------
# Work done in the worker processes
# --------------------------------------------------------------------------------------------------------------------


def _describe_error(error: BaseException) -> str:
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
            results.append((name, None, label, stored_path, _describe_error(error)))
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
    split: str = "train",
    token: str | bool | None = None,
    revision: str | None = None,
    row_group_size: int = DEFAULT_ROW_GROUP_SIZE,
    progress: bool = True,
) -> PrepareReport:
    """Resize every image of `source` to `size` x `size` RGB and write them to one parquet file.

    Args:
        source: a folder of images (searched recursively; class subfolders optional), or any other source of
            `resolve_data_source`: a parquet file with an image column, a folder of parquet files, a Hugging Face Hub
            dataset id, `"emoji"` (`split` picks the split).
        output: the parquet to write; by default `dataset-resized-{size}.parquet` in the working directory.
        size: side of the square output images, at least 8.
        crop: "center" (largest centered square, then resize) or "none" (resize the whole image, stretching it).
        label_from: "folder" (the first-level subfolder of a source folder names the class), "column:NAME" (a
            column of a table source, or of a folder's metadata.csv/jsonl), "none", or "auto": class folders when
            every image sits in one of at least two subfolders, a ClassLabel column for a table, else none.
        num_proc: worker processes; by default every core. 1 works in this process.
        overwrite: replace an existing `output`; without it an existing file is an error.
        split, token, revision: for a Hub dataset id.
        row_group_size: images per parquet row group.
        progress: show a progress bar (on stderr).

    Returns:
        a `PrepareReport`: images written, and each image skipped with the reason (unreadable, corrupt, empty, ...).

    Raises:
        ValueError: bad arguments (size below 8, unknown crop or label_from).
        FileExistsError: `output` exists and `overwrite` is false.
        PrepareError: the source has no images, or none of them could be read (nothing is written).
    """
    start = time.perf_counter()
    if not isinstance(size, int) or size < MIN_SIZE:
        raise ValueError(f"size must be an integer of at least {MIN_SIZE}, got {size!r}")
    if crop not in CROP_MODES:
        raise ValueError(f"crop must be one of {CROP_MODES}, got {crop!r}")
    if row_group_size < 1:
        raise ValueError("row_group_size must be at least 1")
    label_mode, label_column = _parse_label_from(label_from)
    output = Path(output if output is not None else f"dataset-resized-{size}.parquet")
    if output.exists() and not overwrite:
        raise FileExistsError(f"{output} exists; pass overwrite=True (--overwrite) to replace it")
    num_proc = default_num_proc() if num_proc is None else max(1, int(num_proc))

    src = _resolve_source(source, split, label_mode, label_column, token, revision)
    if src.total == 0:
        raise PrepareError(f"no images found in {src.description}")
    num_proc = min(num_proc, -(-src.total // _CHUNK_SIZE))  # no idle workers for a small source
    report = PrepareReport(
        output=output, size=size, class_names=src.class_names, label_source=src.label_source,
        ignored_files=src.ignored_files, skipped=list(src.pre_skipped), num_proc=num_proc,
    )  # fmt: skip
    features = output_features(src.class_names)
    schema = features.arrow_schema

    def write(tmp_path: str) -> None:
        from tqdm.auto import tqdm

        bar = tqdm(total=src.total, unit="img", desc="prepare-data", disable=not progress, dynamic_ncols=True)
        rows: dict[str, list] = {"image": [], "label": []}
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
            for results in _ordered_map(worker, src.chunks(), num_proc):
                for name, png, label, stored_path, reason in results:
                    if png is None:
                        report.skipped.append((name, reason))
                    elif src.class_names is not None and label is None:
                        report.skipped.append((name, "missing label"))
                    else:
                        rows["image"].append({"bytes": png, "path": stored_path})
                        rows["label"].append(label)
                        report.written += 1
                        if len(rows["image"]) >= row_group_size:
                            flush()
                bar.update(len(results))
            flush()
        bar.close()
        if report.written == 0:
            raise PrepareError(
                f"no image could be read from {src.description} ({len(report.skipped)} skipped); nothing written\n"
                + "\n".join(f"  {n}: {r}" for n, r in report.skipped[:20])
            )

    atomic_write(output, write)
    report.seconds = time.perf_counter() - start
    return report


class _ChunkWorker:
    """A picklable `_process_chunk` with its settings bound (a lambda would not pickle)."""

    def __init__(self, size: int, crop: str):
        self.size, self.crop = size, crop

    def __call__(self, chunk):
        return _process_chunk(chunk, self.size, self.crop)
