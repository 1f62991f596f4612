"""`hfgan prepare-scenes [SRC]`: compose multi-object scenes with boxes (for BlobGAN) from object images, into train
and test parquet files."""

from __future__ import annotations

import argparse
import sys


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "prepare-scenes",
        help="compose scenes of 1-4 objects with their boxes, from object images, into train/test parquet files",
        description=(
            "Compose SIZE x SIZE scenes of MIN to MAX objects of SRC (the shipped emoji set by default; or a parquet "
            "file, a dataset folder, a folder of object images, a Hub dataset id) at random positions and scales on "
            "plain or textured backgrounds, and write them with every object's box, name and label to "
            "OUT/scenes-SIZE-train.parquet and OUT/scenes-SIZE-test.parquet. Train scenes use the source's train "
            "objects and test scenes its test objects when it has a test split. The same arguments give the same "
            "files."
        ),
    )
    parser.add_argument(
        "source", metavar="SRC", nargs="?", default="emoji",
        help="where the objects come from: 'emoji' (default), a parquet file, a folder of images, a Hub dataset id",
    )  # fmt: skip
    parser.add_argument("--out", default="data/scenes", help="folder to write (default: data/scenes)")
    parser.add_argument("--size", type=int, default=64, help="side of the square scenes, at least 16 (default: 64)")
    parser.add_argument("--num-train", type=int, default=5000, help="train scenes (default: 5000)")
    parser.add_argument("--num-test", type=int, default=1000, help="test scenes (default: 1000)")
    parser.add_argument("--seed", type=int, default=0, help="seed of every random choice (default: 0)")
    parser.add_argument("--min-objects", type=int, default=1, help="fewest objects in a scene (default: 1)")
    parser.add_argument("--max-objects", type=int, default=4, help="most objects in a scene (default: 4)")
    parser.add_argument(
        "--min-scale", type=float, default=0.3, help="smallest object, its longer side as a share of the scene side "
        "(default: 0.3)",
    )  # fmt: skip
    parser.add_argument("--max-scale", type=float, default=0.6, help="largest object (default: 0.6)")
    parser.add_argument(
        "--min-visible", type=float, default=0.6,
        help="share of each object that the objects in front must leave visible (default: 0.6)",
    )  # fmt: skip
    parser.add_argument(
        "--textured-fraction", type=float, default=0.5, help="share of textured backgrounds (default: 0.5)"
    )
    parser.add_argument("--overwrite", action="store_true", help="replace existing output files")
    parser.add_argument("--preview", metavar="PNG", help="also write a grid of the first 16 test scenes with boxes")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from hfgan.data import prepare_scenes, scenes_file, scenes_preview

    try:
        report = prepare_scenes(
            args.source,
            args.out,
            num_train=args.num_train,
            num_test=args.num_test,
            size=args.size,
            seed=args.seed,
            min_objects=args.min_objects,
            max_objects=args.max_objects,
            min_scale=args.min_scale,
            max_scale=args.max_scale,
            min_visible=args.min_visible,
            textured_fraction=args.textured_fraction,
            overwrite=args.overwrite,
            progress=not args.no_progress,
        )
    except (ValueError, FileExistsError, FileNotFoundError) as error:
        print(f"hfgan prepare-scenes: error: {error}", file=sys.stderr)
        return 2
    print(report.summary())
    if args.preview:
        from hfgan.utils import atomic_write

        preview = scenes_preview({"test": str(scenes_file(args.out, args.size, "test"))}, split="test")
        atomic_write(args.preview, lambda tmp: preview.save(tmp, format="PNG"))
        print(f"Preview: {args.preview}")
    return 0
