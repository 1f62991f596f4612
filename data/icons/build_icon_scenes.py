"""Build scenes of objects the emoji-trained models never saw: KDE's Oxygen icons (devices, apps, places, categories)
composed by `hfgan prepare-scenes` with the same recipe as the emoji scenes (1-4 objects, plain or two-tone
backgrounds, 64 px).

The source is Debian's `oxygen-icon-theme` package (LGPL-3, KDE's Oxygen icon set), its 64x64 RGBA PNGs. Neither the
icons nor the scenes are kept in this repository: everyone builds them locally, from the package or any copy of it.
The `emotes` folder (faces, too close to emoji) and the document, action, status and emblem glyphs are left out.

    python data/icons/build_icon_scenes.py                 # apt-get download oxygen-icon-theme, then the scenes
    python data/icons/build_icon_scenes.py --deb oxygen-icon-theme_5.103.0-1_all.deb
    python data/icons/build_icon_scenes.py --icons /usr/share/icons/oxygen/base   # an installed theme

Writes `data/icons/scenes-64-{train,test}.parquet` (200 and 1,000 scenes with their boxes: the test split is what
inversion is measured on:
`python benchmarks/bench_blobgan_inversion.py --scenes data/icons/scenes-64-test.parquet`).
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
CATEGORIES = ("devices", "apps", "places", "categories")  # objects; not emotes (faces), mimetypes, actions, status


def theme_from_deb(deb: Path | None, workdir: Path) -> Path:
    """The theme's `base` folder, unpacked from `deb` (downloaded with apt-get when None)."""
    if deb is None:
        subprocess.run(["apt-get", "download", "oxygen-icon-theme"], cwd=workdir, check=True)
        debs = sorted(workdir.glob("oxygen-icon-theme_*.deb"))
        if not debs:
            raise SystemExit("apt-get download oxygen-icon-theme wrote no .deb: pass --deb or --icons")
        deb = debs[-1]
    subprocess.run(["dpkg-deb", "-x", str(deb), str(workdir / "x")], check=True)
    base = workdir / "x" / "usr" / "share" / "icons" / "oxygen" / "base"
    if not base.is_dir():
        raise SystemExit(f"{deb} has no usr/share/icons/oxygen/base: is it oxygen-icon-theme?")
    return base


def collect(base: Path, out: Path) -> int:
    """Copy the 64x64 PNGs of `CATEGORIES` into the flat folder `out` (category-name.png); returns how many."""
    count = 0
    for category in CATEGORIES:
        for png in sorted((base / "64x64" / category).glob("*.png")):
            shutil.copyfile(png, out / f"{category}-{png.name}")
            count += 1
    if count == 0:
        raise SystemExit(f"no 64x64 PNGs under {base}/64x64/{{{','.join(CATEGORIES)}}}")
    return count


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--deb", type=Path, help="oxygen-icon-theme_*.deb (default: apt-get download it)")
    source.add_argument("--icons", type=Path, help="an unpacked theme's base folder (holding 64x64/)")
    parser.add_argument("--out", type=Path, default=HERE, help="folder of the parquet files (default: beside this)")
    parser.add_argument("--num-test", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        base = args.icons or theme_from_deb(args.deb and args.deb.resolve(), tmp)
        objects = tmp / "objects"
        objects.mkdir()
        print(f"{collect(base, objects)} icons from {base}", flush=True)
        command = [sys.executable, "-m", "hfgan.cli", "prepare-scenes", str(objects), "--out", str(args.out),
                   "--num-train", "200", "--num-test", str(args.num_test), "--seed", str(args.seed), "--overwrite",
                   "--no-progress"]
        subprocess.run(command, check=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
