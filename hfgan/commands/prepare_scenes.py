"""`hfgan prepare-scenes [SRC]`: compose multi-object scenes with boxes (for BlobGAN) from object images, into train
and test parquet files."""

from __future__ import annotations

import argparse
import sys


# the flags of the scene settings: SceneSettings field -> help; each flag's type and default are the field's own
SETTING_FLAGS = {
    "size": "side of the square scenes, at least 16",
    "min_objects": "fewest objects in a scene",
    "max_objects": "most objects in a scene",
    "min_scale": "smallest object, its longer side as a share of the scene side",
    "max_scale": "largest object",
    "min_visible": "share of each object that the objects in front must leave visible",
    "textured_fraction": "share of textured backgrounds",
}


def add_parser(subparsers) -> None:
    from hfgan.data.scenes.settings import SceneSettings  # standard library only: --help stays cheap

    defaults = SceneSettings()
    parser = subparsers.add_parser(
        "prepare-scenes",
        help=f"compose scenes of {defaults.min_objects}-{defaults.max_objects} objects with their boxes, from object "
        "images, into train/test parquet files",
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
    )
    parser.add_argument("--out", default="data/scenes", help="folder to write (default: data/scenes)")
    parser.add_argument("--num-train", type=int, default=5000, help="train scenes (default: 5000)")
    parser.add_argument("--num-test", type=int, default=1000, help="test scenes (default: 1000)")
    parser.add_argument("--seed", type=int, default=0, help="seed of every random choice (default: 0)")
    for name, text in SETTING_FLAGS.items():
        default = getattr(defaults, name)
        parser.add_argument(
            f"--{name.replace('_', '-')}", type=type(default), default=default, help=f"{text} (default: {default})"
        )
    parser.add_argument("--overwrite", action="store_true", help="replace existing output files")
    parser.add_argument("--preview", metavar="PNG", help="also write a grid of the first 16 test scenes with boxes")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from hfgan.data import SceneSettings, prepare_scenes, scenes_file, scenes_preview

    try:
        settings = SceneSettings(**{name: getattr(args, name) for name in SETTING_FLAGS})
        report = prepare_scenes(
            args.source,
            args.out,
            num_train=args.num_train,
            num_test=args.num_test,
            seed=args.seed,
            settings=settings,
            overwrite=args.overwrite,
            progress=not args.no_progress,
        )
    except (ValueError, FileExistsError, FileNotFoundError) as error:
        print(f"hfgan prepare-scenes: error: {error}", file=sys.stderr)
        return 2
    print(report.summary())
    if args.preview:
        from hfgan.utils import atomic_write

        preview = scenes_preview({"test": str(scenes_file(args.out, settings.size, "test"))}, split="test")
        atomic_write(args.preview, lambda tmp: preview.save(tmp, format="PNG"))
        print(f"Preview: {args.preview}")
    return 0
