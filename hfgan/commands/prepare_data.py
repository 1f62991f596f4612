"""`hfgan prepare-data SRC`: resize a folder, a parquet or a Hub dataset once, into one training-ready parquet."""

from __future__ import annotations

import argparse
import sys


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "prepare-data",
        help="resize images once to the training resolution, into a parquet file",
        description=(
            "Resize every image of SRC (a folder of images, class subfolders optional; a parquet file; or a Hub "
            "dataset id) to SIZE x SIZE RGB and write them, with optional labels, to one parquet file that "
            "`load_dataset('parquet', data_files=OUT)` and the training scripts read. A folder of images with split "
            "folders (train/, test/, validation/ or valid/, ...; class folders below them) gives one file per split, "
            "OUT/dataset-resized-SIZE-SPLIT.parquet, read back by `load_image_dataset(OUT, split=...)`. Unreadable "
            "images are skipped and listed."
        ),
    )
    parser.add_argument("source", metavar="SRC", help="folder of images, parquet file, or Hub dataset id")
    parser.add_argument("--size", type=int, default=64, help="side of the square output images (default: 64)")
    parser.add_argument(
        "--out",
        help="parquet file to write (default: dataset-resized-SIZE.parquet); for split folders, the folder to write "
        "a file per split to (default: dataset-resized-SIZE/)",
    )
    parser.add_argument(
        "--crop", choices=["center", "none"], default="center",
        help="center: crop the largest centered square, then resize; none: resize the whole image (default: center)",
    )
    parser.add_argument(
        "--label-from", default="auto", metavar="folder|column:NAME|none|auto",
        help="where labels come from: class subfolders, a column, none; auto (default) uses class subfolders or a "
        "ClassLabel column when there are some",
    )
    parser.add_argument("--num-proc", type=int, default=None, help="worker processes (default: all cores)")
    parser.add_argument("--overwrite", action="store_true", help="replace OUT if it exists")
    parser.add_argument(
        "--split",
        help="split of a Hub dataset or dataset folder (default: train); of a folder of images with split folders, "
        "write only this split to OUT as one file (default: every split)",
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from hfgan.data import PrepareError, prepare_dataset

    try:
        report = prepare_dataset(
            args.source,
            args.out,
            size=args.size,
            crop=args.crop,
            label_from=args.label_from,
            num_proc=args.num_proc,
            overwrite=args.overwrite,
            split=args.split,
            progress=not args.no_progress,
        )
    except (PrepareError, ValueError, FileExistsError, FileNotFoundError) as error:
        print(f"hfgan prepare-data: error: {error}", file=sys.stderr)
        return 1
    print(report.summary())
    return 0
