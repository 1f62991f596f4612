"""Datasets of scenes: train and test parquet files of composed scenes with their boxes (`prepare_scenes`).

Every scene draws its own random numbers from `(seed, split, index)`, so the output is the same for the same
arguments, and the first N scenes of a split do not depend on how many are made.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from ...utils import atomic_write_all
from ..images import encode_png
from ..prepare import list_image_folder
from ..sources import HUB, IMAGE_FOLDER, PARQUET_FILE, PARQUET_FILES, resolve_data_source, source_kind
from .backgrounds import BACKGROUNDS
from .compose import compose_scene
from .objects import ObjectSet, object_cutouts
from .settings import SceneSettings

SPLIT_IDS = {"train": 0, "test": 1}  # the second entropy word of each split's scenes


def scene_features(class_names: list[str] | None = None):
    """The `datasets` features of a scenes parquet (see `prepare_scenes`); `object_labels` is a list of ClassLabel
    when there are class names, else of ints."""
    import datasets

    sequence = getattr(datasets, "List", None) or datasets.Sequence  # datasets < 4 has only Sequence
    label = datasets.ClassLabel(names=list(class_names)) if class_names is not None else datasets.Value("int32")
    return datasets.Features(
        {
            "image": datasets.Image(),
            "num_objects": datasets.Value("int32"),
            "boxes": sequence(sequence(datasets.Value("int32"), length=4)),
            "object_names": sequence(datasets.Value("string")),
            "object_labels": sequence(label),
            "background": datasets.Value("string"),
        }
    )


@dataclass
class ScenesReport:
    """What `prepare_scenes` did: per split, the file written, scenes, objects per scene, backgrounds."""

    outputs: dict[str, Path]
    size: int
    source: str
    scenes: dict[str, int] = field(default_factory=dict)
    objects_per_scene: dict[str, dict[int, int]] = field(default_factory=dict)  # split -> {count: scenes}
    backgrounds: dict[str, dict[str, int]] = field(default_factory=dict)  # split -> {"plain": n, "textured": n}
    source_objects: dict[str, int] = field(default_factory=dict)  # split -> usable cutouts it draws from
    object_splits: dict[str, str] = field(default_factory=dict)  # split -> the source split its objects come from
    skipped: list[tuple[str, str]] = field(default_factory=list)  # source images without a usable object
    class_names: list[str] | None = None
    seconds: float = 0.0

    @property
    def total_scenes(self) -> int:
        return sum(self.scenes.values())

    def histogram(self) -> dict[int, int]:
        """Objects per scene, over every split: {count: scenes}."""
        total: dict[int, int] = {}
        for counts in self.objects_per_scene.values():
            for n, scenes in counts.items():
                total[n] = total.get(n, 0) + scenes
        return dict(sorted(total.items()))

    def summary(self, max_listed: int = 10) -> str:
        rate = self.total_scenes / self.seconds if self.seconds > 0 else float("inf")
        lines = [
            f"Wrote {' and '.join(f'{n} {s}' for s, n in self.scenes.items())} scenes ({self.size}x{self.size} RGB) "
            f"in {self.seconds:.1f} s ({rate:.0f} scenes/s):"
        ]
        lines += [f"  {split}: {path}" for split, path in self.outputs.items()]
        lines.append(
            f"Objects from {self.source}: "
            + ", ".join(
                f"{self.source_objects[s]} for {s} (split {self.object_splits[s]!r})" for s in self.source_objects
            )
            + (f"; {len(self.class_names)} classes" if self.class_names is not None else "; no labels")
            + "."
        )
        histogram, total = self.histogram(), max(1, self.total_scenes)
        lines.append(
            "Objects per scene: " + ", ".join(f"{n}: {c} ({100 * c / total:.0f}%)" for n, c in histogram.items()) + "."
        )
        kinds: dict[str, int] = {}
        for counts in self.backgrounds.values():
            for kind, n in counts.items():
                kinds[kind] = kinds.get(kind, 0) + n
        lines.append("Backgrounds: " + ", ".join(f"{k} {n}" for k, n in sorted(kinds.items())) + ".")
        if self.skipped:
            lines.append(f"Skipped {len(self.skipped)} source images:")
            lines += [f"  {name}: {reason}" for name, reason in self.skipped[:max_listed]]
            if len(self.skipped) > max_listed:
                lines.append(f"  ... and {len(self.skipped) - max_listed} more")
        else:
            lines.append("Skipped 0 source images.")
        return "\n".join(lines)


def scenes_file(out: str | os.PathLike, size: int, split: str) -> Path:
    """Where `prepare_scenes` writes a split: `<out>/scenes-<size>-<split>.parquet`."""
    return Path(out) / f"scenes-{size}-{split}.parquet"


def _objects_per_split(source, token, revision, max_side) -> dict[str, tuple[ObjectSet, str]]:
    """{scene split: (its objects, the source split they came from)}: the source's own train and test splits when it
    has both, else its one split for both."""
    kwargs = dict(max_side=max_side, token=token, revision=revision)
    try:
        kind, where = source_kind(source)
    except FileNotFoundError as error:
        raise ValueError(str(error)) from error
    train = object_cutouts(source, "train", **kwargs)
    test = None
    if kind == PARQUET_FILE:
        has_test = False
    elif kind == IMAGE_FOLDER:
        has_test = "test" in list_image_folder(where).splits  # a test/ split folder
    elif kind == PARQUET_FILES:
        has_test = "test" in source
    elif kind == HUB:
        has_test = True  # asked for below; a dataset without one falls back to train
    else:
        has_test = "test" in resolve_data_source(source, "train").splits
    if has_test:
        try:
            test = object_cutouts(source, "test", **kwargs)
        except ValueError:
            if kind != HUB:
                raise
    if test is None:
        return {"train": (train, "train"), "test": (train, "train")}
    return {"train": (train, "train"), "test": (test, "test")}


def prepare_scenes(
    source: str | os.PathLike | dict = "emoji",
    out: str | os.PathLike = "data/scenes",
    num_train: int = 5000,
    num_test: int = 1000,
    size: int | None = None,
    seed: int = 0,
    *,
    settings: SceneSettings | None = None,
    overwrite: bool = False,
    row_group_size: int = 256,
    progress: bool = False,
    token: str | bool | None = None,
    revision: str | None = None,
    **options,
) -> ScenesReport:
    """Compose `num_train` and `num_test` scenes (`compose_scene`) of the objects of `source` and write them to
    `<out>/scenes-<size>-train.parquet` and `<out>/scenes-<size>-test.parquet`.

    Train scenes draw their objects from the source's train split and test scenes from its test split when it has
    one (the shipped `"emoji"` set does: no emoji appears in both; so does a folder of images with `train/` and `test/`
    split folders); a source of one split (a parquet file, a folder of images without them) gives both splits all
    its objects. Scene `i` of a split is drawn from its own generator,
    `numpy.random.default_rng([seed, split id, i])`: the same arguments give byte-identical files.

    Columns: `image` (the `datasets` Image feature, PNG bytes), `num_objects` (int32), `boxes` (one `[x0, y0, x1, y1]`
    per object, pixels, x1 and y1 exclusive, back to front), `object_names` (str), `object_labels` (a ClassLabel of
    the source's classes, or ints; -1: no label) and `background` ("plain" or "textured"); the `datasets` features are
    stored in the schema, so `load_dataset("parquet", ...)` reads images and class names back.

    Args:
        source: where the objects come from, as `object_cutouts` takes it.
        out: the folder to write.
        num_train, num_test: scenes per split, at least 1 each.
        size: scene side in pixels, at least 16 (default: the settings', 64).
        seed: the seed of every random choice.
        settings: how the scenes are drawn, a `SceneSettings` (default: its defaults); `size` and any of its fields
            given as keywords (`min_objects=2`, `max_scale=0.5`, `white_fraction=0.5`, ...) replace its values.
        overwrite: replace existing files; without it an existing file is an error and nothing is written.
        row_group_size: scenes per parquet row group.
        progress: show a progress bar (on stderr).
        token, revision: for a Hub dataset.

    Raises:
        ValueError: bad arguments, a missing source, a source without usable objects.
        FileExistsError: an output exists and `overwrite` is false.
    """
    start = time.perf_counter()
    settings = SceneSettings.from_arguments(settings, size=size, **options)
    for name, value in (("num_train", num_train), ("num_test", num_test)):
        if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < 1:
            raise ValueError(f"{name} must be an integer of at least 1, got {value!r}")
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    if row_group_size < 1:
        raise ValueError("row_group_size must be at least 1")
    counts = {"train": int(num_train), "test": int(num_test)}
    outputs = {split: scenes_file(out, settings.size, split) for split in counts}
    if Path(out).exists() and not Path(out).is_dir():
        raise ValueError(f"out must be a folder; {out} is a file")
    existing = [str(p) for p in outputs.values() if p.exists()]
    if existing and not overwrite:
        raise FileExistsError(
            f"{' and '.join(existing)} {'exists' if len(existing) == 1 else 'exist'}; pass overwrite=True "
            "(--overwrite) to replace"
        )

    objects = _objects_per_split(source, token, revision, settings.max_cutout_side)
    class_names = objects["train"][0].class_names
    if objects["test"][0].class_names != class_names:
        raise ValueError(f"the train and test splits of {source} have different class names")
    report = ScenesReport(outputs=outputs, size=int(settings.size), source=str(source), class_names=class_names)
    seen = set()
    for split, (object_set, from_split) in objects.items():
        report.source_objects[split] = len(object_set)
        report.object_splits[split] = from_split
        if id(object_set) not in seen:
            seen.add(id(object_set))
            report.skipped += object_set.skipped

    features = scene_features(class_names)
    schema = features.arrow_schema

    def write_split(split: str, tmp_path: str) -> None:
        from tqdm.auto import tqdm

        object_set, count = objects[split][0], counts[split]
        histogram = {n: 0 for n in range(settings.min_objects, settings.max_objects + 1)}
        backgrounds = {kind: 0 for kind in BACKGROUNDS}
        columns: dict[str, list] = {name: [] for name in features}
        with pq.ParquetWriter(tmp_path, schema) as writer, tqdm(
            total=count, unit="scene", desc=f"prepare-scenes {split}", disable=not progress, dynamic_ncols=True
        ) as bar:

            def flush() -> None:
                if columns["image"]:
                    writer.write_table(pa.Table.from_pydict(columns, schema=schema), row_group_size=row_group_size)
                    for values in columns.values():
                        values.clear()

            for index in range(count):
                rng = np.random.default_rng([int(seed), SPLIT_IDS[split], index])
                scene = compose_scene(rng, object_set, settings=settings)
                columns["image"].append({"bytes": encode_png(scene.image), "path": None})
                columns["num_objects"].append(len(scene.objects))
                columns["boxes"].append(scene.boxes)
                columns["object_names"].append([o.name for o in scene.objects])
                columns["object_labels"].append([o.label for o in scene.objects])
                columns["background"].append(scene.background)
                histogram[len(scene.objects)] += 1
                backgrounds[scene.background] += 1
                if len(columns["image"]) >= row_group_size:
                    flush()
                bar.update(1)
            flush()
        report.scenes[split] = count
        report.objects_per_scene[split] = histogram
        report.backgrounds[split] = backgrounds

    # both files under temporary names, renamed at the end (test, then train): an interrupted run leaves neither
    atomic_write_all(outputs, write_split)
    report.seconds = time.perf_counter() - start
    return report

