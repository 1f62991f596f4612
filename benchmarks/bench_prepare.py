"""Throughput of `prepare_dataset` (what `hfgan prepare-data` runs): images per second, one process vs. all cores.

Also, for comparison, the training side: `load_image_dataset` decoding the shipped emoji train split into memory, and
`make_dataloader` serving batches of 64 from it.

The source is a folder of PNGs made from the shipped emoji dataset: each emoji upscaled to SOURCE_SIZE and given an
alpha channel (transparent background, as users' PNGs often have), in one subfolder per group, so every image goes
through the whole path: PNG decode, RGBA -> RGB on white, center crop, antialiased resize, PNG encode, parquet write.
Each setting runs `--repeats` times (median reported) into a fresh output. Besides wall-clock images per second,
it reports images per CPU-second (this process and its workers, from getrusage), which stays meaningful on a machine
shared with other jobs, where the wall-clock speedup from more processes is capped by the cores actually free.

    python benchmarks/bench_prepare.py                      # ~4,000 PNGs of 256x256 -> 64x64
    python benchmarks/bench_prepare.py --num-images 1000 --source-size 512 --repeats 1
    python benchmarks/bench_prepare.py --source-dir /tmp/pngs   # make the PNGs there once, reuse them later
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import PIL.Image


def make_source(folder: Path, num_images: int, source_size: int) -> int:
    """Write `num_images` RGBA PNGs of `source_size` px into class subfolders; returns the bytes written."""
    from hfgan.data import load_image_dataset

    emoji = load_image_dataset(split="train", with_labels=True)
    pixels = emoji.images.permute(0, 2, 3, 1).numpy()
    total = 0
    for i in range(num_images):
        j = i % len(emoji)
        rgb = PIL.Image.fromarray(pixels[j]).resize((source_size, source_size), PIL.Image.Resampling.BICUBIC)
        alpha = (np.asarray(rgb).min(axis=2) < 250).astype(np.uint8) * 255  # white background -> transparent
        image = rgb.convert("RGBA")
        image.putalpha(PIL.Image.fromarray(alpha))
        path = folder / emoji.class_names[emoji.labels[j]].replace(" & ", "-") / f"{i:05d}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        image.save(path, format="PNG", compress_level=6)
        total += path.stat().st_size
    return total


def run(source: Path, out_dir: Path, size: int, num_proc: int, repeats: int) -> dict:
    from hfgan.data import prepare_dataset

    def cpu_seconds() -> float:
        own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
        return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime

    times, cpu_times = [], []
    for r in range(repeats):
        out = out_dir / f"out-{num_proc}-{r}.parquet"
        start, cpu_start = time.perf_counter(), cpu_seconds()
        report = prepare_dataset(source, out, size=size, num_proc=num_proc, progress=False)
        times.append(time.perf_counter() - start)
        cpu_times.append(cpu_seconds() - cpu_start)  # workers are reaped when the run ends, so they count
        written, output_bytes = report.written, out.stat().st_size
        out.unlink()
    seconds, cpu = statistics.median(times), statistics.median(cpu_times)
    return {
        "num_proc": num_proc,
        "seconds": round(seconds, 2),
        "images_per_second": round(written / seconds, 1),
        "cpu_seconds": round(cpu, 2),
        "images_per_cpu_second": round(written / cpu, 1),
        "written": written,
        "output_mb": round(output_bytes / 1e6, 2),
    }


def loader_throughput(epochs: int = 10) -> dict:
    """The training side, for comparison: decoding the shipped emoji train split once, then epochs of batches."""
    from hfgan.data import load_image_dataset, make_dataloader

    start = time.perf_counter()
    dataset = load_image_dataset(split="train", with_labels=True, cache=False)
    decode = time.perf_counter() - start
    loader = make_dataloader(dataset, batch_size=64, seed=0)
    start, seen = time.perf_counter(), 0
    for _ in range(epochs):
        for images, _labels in loader:
            seen += len(images)
    return {
        "decode_seconds": round(decode, 2),
        "decoded_images_per_second": round(len(dataset) / decode),
        "batch_images_per_second": round(seen / (time.perf_counter() - start)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--num-images", type=int, default=4000)
    parser.add_argument("--source-size", type=int, default=256, help="side of the source PNGs")
    parser.add_argument("--size", type=int, default=64, help="--size of prepare-data")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--source-dir", type=Path, help="where to make the source PNGs (reused if already there)")
    args = parser.parse_args()

    from hfgan.data import default_num_proc

    cores = default_num_proc()
    with tempfile.TemporaryDirectory(prefix="bench-prepare-") as tmp:
        tmp = Path(tmp)
        source = args.source_dir or tmp / "src"
        start = time.perf_counter()
        existing = sorted(source.glob("*/*.png")) if source.is_dir() else []
        if len(existing) == args.num_images:
            source_bytes = sum(p.stat().st_size for p in existing)
        else:
            source_bytes = make_source(source, args.num_images, args.source_size)
        made = time.perf_counter() - start
        load = os.getloadavg()[0]
        results = [run(source, tmp, args.size, n, args.repeats) for n in sorted({1, cores})]
    print(
        json.dumps(
            {
                "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
                f"load average {load:.1f} before the runs",
                "source": f"{args.num_images} RGBA PNGs, {args.source_size}x{args.source_size}, "
                f"{source_bytes / 1e6:.0f} MB (made in {made:.0f} s)",
                "size": args.size,
                "results": results,
                "speedup": round(results[-1]["images_per_second"] / results[0]["images_per_second"], 2),
                "loader (emoji train split, batches of 64)": loader_throughput(),
            },
            indent=1,
        )
    )


if __name__ == "__main__":
    main()
