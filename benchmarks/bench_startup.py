"""Start-up cost of hfgan's entry points, as ratios to `python -c "import torch"` on the same machine.

Every command runs in a fresh interpreter, interleaved round by round so that drift in machine load hits all of
them alike; the median of the rounds is reported. Targets (issue "Fast to start, cheap to call"):

- `hfgan --help`, `hfgan prepare-data --help`, `hfgan evaluate --help`: at most 0.15x `import torch`
- `python -c "import hfgan"`: at most 0.15x `import torch`
- `python -c "from hfgan import DCGANPipeline"`: at most the diffusers import it needs, plus 10%

    python benchmarks/bench_startup.py              # 7 rounds
    python benchmarks/bench_startup.py --rounds 15
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time

PY = sys.executable
HFGAN = shutil.which("hfgan") or os.path.join(os.path.dirname(PY), "hfgan")

COMMANDS = {
    "import torch": [PY, "-c", "import torch"],
    # what DCGANPipeline needs from diffusers: the pipeline and model base classes and the pipeline output
    "import diffusers (needed)": [
        PY, "-c", "from diffusers import ConfigMixin, DiffusionPipeline, ImagePipelineOutput, ModelMixin",
    ],
    "hfgan --help": [HFGAN, "--help"],
    "hfgan prepare-data --help": [HFGAN, "prepare-data", "--help"],
    "hfgan evaluate --help": [HFGAN, "evaluate", "--help"],
    "hfgan sample --help": [HFGAN, "sample", "--help"],
    "import hfgan": [PY, "-c", "import hfgan"],
    "from hfgan import DCGANPipeline": [PY, "-c", "from hfgan import DCGANPipeline"],
    "python (empty)": [PY, "-c", "pass"],
}

TARGETS = {  # name -> (reference, largest ratio allowed)
    "hfgan --help": ("import torch", 0.15),
    "hfgan prepare-data --help": ("import torch", 0.15),
    "hfgan evaluate --help": ("import torch", 0.15),
    "import hfgan": ("import torch", 0.15),
    "from hfgan import DCGANPipeline": ("import diffusers (needed)", 1.10),
}


def time_once(cmd: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()

    for cmd in COMMANDS.values():  # warm the file cache once, untimed
        time_once(cmd)
    times: dict[str, list[float]] = {name: [] for name in COMMANDS}
    for _ in range(args.rounds):
        for name, cmd in COMMANDS.items():
            times[name].append(time_once(cmd))
    median = {name: statistics.median(t) for name, t in times.items()}

    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cores; median of {args.rounds} interleaved rounds")
    torch_s = median["import torch"]
    for name, seconds in median.items():
        line = f"  {name:<36} {seconds * 1e3:8.0f} ms  {seconds / torch_s:5.2f}x import torch"
        if name in TARGETS:
            reference, limit = TARGETS[name]
            ratio = seconds / median[reference]
            verdict = "ok" if ratio <= limit else "MISSED"
            line += f"   target: {ratio:.2f}x {reference} <= {limit:.2f}x  {verdict}"
        print(line)


if __name__ == "__main__":
    main()
