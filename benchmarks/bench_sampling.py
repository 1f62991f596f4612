"""Sampling cost of DCGANPipeline on CPU.

1. `pipe(num_images=16)` vs. the bare generator forward pass on the same latents, timed side by side in one run;
   the ratio is the pipeline's overhead (target: under 10%).
2. Peak memory (max RSS) of sampling 10,000 images with a bounded `max_batch_size`, each setting in a fresh
   subprocess so one measurement cannot inherit the other's peak.

    python benchmarks/bench_sampling.py            # default 64 px DCGAN, 2 CPU threads
    python benchmarks/bench_sampling.py --repeats 50 --num-big 10000
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time

import torch

from hfgan import DCGANGenerator, DCGANPipeline


def build_pipe() -> DCGANPipeline:
    torch.manual_seed(0)
    pipe = DCGANPipeline(generator=DCGANGenerator().eval())
    pipe.set_progress_bar_config(disable=True)
    return pipe


def time_it(fn, repeats: int) -> float:
    fn()  # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def overhead(repeats: int, output_type: str) -> dict:
    pipe = build_pipe()
    latents = torch.randn(16, pipe.generator.config.latent_dim, generator=torch.Generator().manual_seed(0))

    @torch.no_grad()
    def bare():
        return pipe.generator(latents).sample

    def pipeline():
        return pipe(latents=latents, output_type=output_type).images

    # interleave the two so drift in machine load hits both alike
    bare_t, pipe_t = [], []
    for _ in range(3):
        bare_t.append(time_it(bare, repeats // 3))
        pipe_t.append(time_it(pipeline, repeats // 3))
    b, p = statistics.median(bare_t), statistics.median(pipe_t)
    return {"output_type": output_type, "bare_ms": 1e3 * b, "pipeline_ms": 1e3 * p, "overhead_pct": 100 * (p / b - 1)}


def peak_memory_child(num_images: int, max_batch_size: int) -> None:
    pipe = build_pipe()
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start = time.perf_counter()
    images = pipe(num_images=num_images, generator=torch.Generator().manual_seed(0), max_batch_size=max_batch_size)
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    assert len(images.images) == num_images
    print(json.dumps({"before_mib": before / 1024, "peak_mib": peak / 1024, "seconds": seconds}))


def peak_memory(num_images: int, max_batch_size: int) -> dict:
    cmd = [sys.executable, __file__, "--child", str(num_images), str(max_batch_size)]
    result = json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout.strip().splitlines()[-1])
    return {"num_images": num_images, "max_batch_size": max_batch_size, **result}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--num-big", type=int, default=10_000)
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[64, 256, 1024])
    parser.add_argument("--child", type=int, nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return peak_memory_child(*args.child)

    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, default DCGAN (64 px, 3.6M params)")
    print("\n1. pipe(num_images=16) vs bare generator forward, same latents (median of interleaved runs)")
    for output_type in ("pt", "np", "pil"):
        r = overhead(args.repeats, output_type)
        print(
            f"  output_type={r['output_type']:>3}: bare {r['bare_ms']:.2f} ms, pipeline {r['pipeline_ms']:.2f} ms, "
            f"overhead {r['overhead_pct']:+.1f}%"
        )
    print(f"\n2. {args.num_big} images (output_type=pil), peak RSS per max_batch_size (fresh process each)")
    for bs in args.batch_sizes:
        r = peak_memory(args.num_big, bs)
        print(
            f"  max_batch_size={bs:>5}: peak {r['peak_mib']:.0f} MiB (model loaded: {r['before_mib']:.0f} MiB), "
            f"{r['seconds']:.1f} s, {args.num_big / r['seconds']:.0f} images/s"
        )


if __name__ == "__main__":
    main()
