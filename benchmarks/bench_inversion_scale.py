"""StyleGAN inversion at full size: time per step and peak memory of each method (W, W+, W with noise maps, PTI) for
NVIDIA-sized generators, on whatever device runs it (docs/editing.md#larger-generators).

    python benchmarks/bench_inversion_scale.py                                  # every size, on the GPU if there is one
    python benchmarks/bench_inversion_scale.py --sizes stylegan2-1024 --methods pti --steps 3
    CUDA_VISIBLE_DEVICES= python benchmarks/bench_inversion_scale.py --threads 2   # a CPU

Weights are random (NVIDIA's pickles cannot be downloaded here, and a convert-pkl'd network costs the same), so the
numbers are cost, not quality. Each (size, method) runs in its own process, so the peak memory is that method's
alone: what the inversion adds above the built generator (activations, gradients, optimiser state, PTI's copy of
the generator; the weights themselves are listed apart): on a GPU `torch.cuda.max_memory_allocated` minus what was
allocated before, on a CPU the peak resident memory of the process minus its resident memory once the generator is
built. One image, `--steps` optimisation steps (and as many PTI steps for `pti`), after one untimed step.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time

import torch

SIZES = {  # NVIDIA's generators: constructor arguments of hfgan's ports
    "stylegan2-256": ("stylegan2", dict(z_dim=512, w_dim=512, img_resolution=256, mapping_layers=8,
                                        channel_base=16384, channel_max=512)),  # StyleGAN2-ADA's paper256
    "stylegan2-1024": ("stylegan2", dict(z_dim=512, w_dim=512, img_resolution=1024, mapping_layers=8,
                                         channel_base=32768, channel_max=512)),  # config-f (FFHQ)
    "stylegan3-t-256": ("stylegan3", dict(z_dim=512, w_dim=512, img_resolution=256, mapping_layers=2,
                                          channel_base=32768, channel_max=512)),
    "stylegan3-t-1024": ("stylegan3", dict(z_dim=512, w_dim=512, img_resolution=1024, mapping_layers=2,
                                           channel_base=32768, channel_max=512)),
}
METHODS = {  # name -> StyleGANPipeline.invert arguments
    "w": dict(method="optimize", space="w"),
    "w+": dict(method="optimize", space="w+"),
    "w-noise": dict(method="optimize", space="w", optimize_noise=True),
    "pti": dict(method="pti", space="w"),
}


def resident_mb() -> float:
    """This process's peak resident memory so far, in MB (Linux reports kB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def measure(size: str, method: str, steps: int) -> dict:
    """One (size, method) in this process: seconds per step and peak memory."""
    from hfgan import StyleGAN2Generator, StyleGAN3Generator, StyleGANPipeline

    kind, kwargs = SIZES[size]
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    torch.manual_seed(0)
    generator = (StyleGAN2Generator if kind == "stylegan2" else StyleGAN3Generator)(**kwargs).eval().to(device)
    pipe = StyleGANPipeline(generator=generator)
    pipe.set_progress_bar_config(disable=True)
    arguments = dict(METHODS[method])
    if arguments.get("optimize_noise") and kind != "stylegan2":
        return {"size": size, "method": method, "skipped": "StyleGAN3 has no noise inputs"}
    image = torch.rand(1, 3, kwargs["img_resolution"], kwargs["img_resolution"])
    pti = arguments["method"] == "pti"

    def run(n: int) -> float:
        start = time.perf_counter()
        pipe.invert(image, num_steps=n, pti_steps=n if pti else 0, num_w_samples=100, output_type="pt", **arguments)
        if device.type == "cuda":
            torch.cuda.synchronize()
        return time.perf_counter() - start

    baseline = resident_mb()  # the generator built: what inversion adds is above this
    run(1)  # warm-up: allocators, kernels
    if device.type == "cuda":
        baseline = torch.cuda.memory_allocated() / 2**20
        torch.cuda.reset_peak_memory_stats()
    seconds = run(steps)
    peak = (torch.cuda.max_memory_allocated() / 2**20 if device.type == "cuda" else resident_mb()) - baseline
    weights = sum(p.numel() * p.element_size() for p in generator.parameters()) / 2**20
    return {"size": size, "method": method, "device": device.type, "threads": torch.get_num_threads(),
            "seconds_per_step": seconds / (2 * steps if pti else steps), "seconds": seconds,
            "peak_memory_mb": peak, "weights_mb": weights}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", nargs="+", choices=list(SIZES), default=list(SIZES))
    parser.add_argument("--methods", nargs="+", choices=list(METHODS), default=list(METHODS))
    parser.add_argument("--steps", type=int, default=5, help="timed steps (PTI: as many tuning steps again)")
    parser.add_argument("--threads", type=int, default=None, help="torch threads on a CPU (default: torch's)")
    parser.add_argument("--out", default=None, help="write the results as JSON here")
    parser.add_argument("--one", nargs=2, metavar=("SIZE", "METHOD"), help=argparse.SUPPRESS)  # the child process
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.one:
        print(json.dumps(measure(*args.one, args.steps)))
        return

    rows = []
    for size in args.sizes:
        for method in args.methods:
            command = [sys.executable, __file__, "--one", size, method, "--steps", str(args.steps)]
            command += ["--threads", str(args.threads)] if args.threads else []
            done = subprocess.run(command, capture_output=True, text=True)
            if done.returncode:
                raise SystemExit(f"{size} {method} failed:\n{done.stderr[-2000:]}")
            rows.append(json.loads(done.stdout.strip().splitlines()[-1]))
            print(json.dumps(rows[-1]), flush=True)
    print("\n| generator | method | device | seconds / step | peak memory (MB) | weights (MB) |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        if "skipped" in r:
            continue
        print(f"| {r['size']} | {r['method']} | {r['device']} ({r['threads']} threads) | {r['seconds_per_step']:.2f} | "
              f"{r['peak_memory_mb']:.0f} | {r['weights_mb']:.0f} |")
    if args.out:
        with open(args.out, "w") as f:
            json.dump(rows, f, indent=1)


if __name__ == "__main__":
    main()
