"""The DCGAN recipe ablations on the shipped emoji set (docs/training.md): train each variant, then score it.

Each variant is training/train_dcgan.py with a few overrides; every run gets the same number of steps (`--steps`)
or the same wall-clock time (`--minutes`: the budget each variant spends as it likes, in steps, batch or width), and
the same number of CPU threads; runs can go side by side (`--parallel 2 --threads 1` uses both cores of a 2-core
machine, each run then goes about as fast as an older 2-core CPU alone: docs/training.md). Each release is then scored with
the offline emoji-cnn backbone (FD and KID on 2,000 samples against the train split; these are not FID numbers),
and the sample grids of the first seed are tiled into one picture.

    python benchmarks/ablation_dcgan.py --out outputs/ablation --steps 1500 --parallel 2 --threads 1
    python benchmarks/ablation_dcgan.py --out outputs/ablation --eval-only      # score finished runs again
    python benchmarks/ablation_dcgan.py --variants ns_diffaug_c32 tutorial_c32 --steps 300
    # issue 13: the budgeted recipe, one change at a time, 20 minutes each, two seeds (three for the last two)
    python benchmarks/ablation_dcgan.py --out outputs/ablation-budget --minutes 20 --steps 1000000 --seeds 0 1 \
        --variants steps7000 lr5e-4 lr5e-4_b32 lr5e-4_b32_ramp lr5e-4_b32_ramp_c16 lr5e-4_b16_ramp_c16
    python benchmarks/ablation_dcgan.py --out outputs/ablation-budget --minutes 20 --steps 1000000 --seeds 2 \
        --variants lr5e-4_b32_ramp_c16 lr5e-4_b16_ramp_c16
    # what the default command (plan=auto) gives in 5 and in 60 minutes on this machine
    python benchmarks/ablation_dcgan.py --out outputs/budget-5min --minutes 5 --variants default
    # a machine 6x faster for 5 minutes, emulated by the steps it would make (the schedules read progress, not time)
    python benchmarks/ablation_dcgan.py --out outputs/fast-5min --steps 14300 --variants plan_short
    python benchmarks/ablation_dcgan.py --out outputs/slow-60min --steps 28200 --variants plan_short --threads 2 \
        --parallel 1  # the slow machine's 60 minutes (3x the steps of its 20), on an idle machine
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import time
from pathlib import Path

from _runs import training_command  # the sibling module: training/train_dcgan.py run as a command

SMALL = ["model.g_channels=32", "model.d_channels=32"]
CT, CTC = "augment.policy=[color,translation]", "augment.policy=[color,translation,cutout]"
# Every variant spells out what it changes, so the table stays right when the defaults move.
VARIANTS: dict[str, list[str]] = {
    # the seed's recipe (plain BCE, no augmentation, batch 128, raw generator), at the width the others use
    "tutorial_c32": ["experiment=tutorial_bce", *SMALL],
    "ns_no_augment_c32": [*SMALL, "augment.policy=[]", "loss.r1_gamma=0"],
    "ns_diffaug_c32": [*SMALL, CTC, "loss.r1_gamma=0"],
    "ns_diffaug_r1_c32": [*SMALL, CTC, "loss.r1_gamma=0.2"],
    "ns_color_translation_c32": [*SMALL, CT, "loss.r1_gamma=0"],
    "ns_color_translation_r1_c32": [*SMALL, CT, "loss.r1_gamma=0.2"],
    "hinge_color_translation_c32": [*SMALL, CT, "loss.kind=hinge", "loss.r1_gamma=0"],
    "ns_color_translation_no_ema_warmup_c32": [*SMALL, CT, "loss.r1_gamma=0", "ema.warmup=false"],
    # the full-width seed architecture: 4x the compute per image
    "ns_color_translation_c64": ["model=dcgan", CT, "loss.r1_gamma=0"],
}
# The budgeted recipe (issue 13), one change at a time from the 7,000-step recipe it replaced
LR5, B32 = ["optim.g_lr=5e-4", "optim.d_lr=5e-4"], ["batch_size=32"]
RAMP = ["schedule.lr_ramp_down=0.5", "schedule.lr_final=0.1"]  # the last half of the budget, down to 0.1x
C24, C16 = ["model.g_channels=24", "model.d_channels=24"], ["model.g_channels=16", "model.d_channels=16"]
VARIANTS |= {
    "default": [],  # plan=auto: what `python training/train_dcgan.py max_minutes=M` does on this machine
    "plan_short": ["plan=short"],  # with --steps and no --minutes: another machine's budget, emulated by its steps
    "steps7000": ["experiment=steps7000"],  # = plan=full
    "lr5e-4": ["experiment=steps7000", *LR5],
    "lr5e-4_b32": ["experiment=steps7000", *LR5, *B32],
    "lr5e-4_b32_ramp": ["experiment=steps7000", *LR5, *B32, *RAMP],
    "lr5e-4_b32_ramp_c24": ["experiment=steps7000", *LR5, *B32, *RAMP, *C24],
    "lr5e-4_b32_ramp_c16": ["experiment=steps7000", *LR5, *B32, *RAMP, *C16],
    "lr5e-4_b32_c16": ["experiment=steps7000", *LR5, *B32, *C16],  # lr5e-4_b32_ramp_c16 without its ramp-down
    "lr1e-3_b32_ramp_c24": ["experiment=steps7000", "optim.g_lr=1e-3", "optim.d_lr=1e-3", *B32, *RAMP, *C24],
    "lr5e-4_b16_ramp_c16": ["experiment=steps7000", *LR5, "batch_size=16", *RAMP, *C16],  # = plan=short
}


def train(name: str, seed: int, out: Path, steps: int | None, minutes: float | None, threads: int) -> subprocess.Popen:
    run = f"{name}-seed{seed}"
    overrides = [
        *VARIANTS[name],
        f"seed={seed}",
        f"output_dir={out / run}",
        "overwrite=true",
        *([f"max_steps={steps}"] if steps is not None else []),  # None: the recipe's own
        f"max_minutes={minutes if minutes is not None else 'null'}",
        "logging.wandb=disabled",
        "logging.every=25",
        f"logging.sample_every={max(steps // 3, 1) if minutes is None else 0}",  # --minutes: the final grid only
        "logging.progress_bar=false",
        "checkpoint.every=0",
        "metrics.every=-1",
    ]
    log = open(out / f"{run}.log", "w")
    env = {**os.environ, "OMP_NUM_THREADS": str(threads)}
    return subprocess.Popen(training_command("train_dcgan", overrides), stdout=log, stderr=subprocess.STDOUT, env=env)


def score(runs: list[str], out: Path, num_samples: int) -> dict[str, dict]:
    from hfgan import DCGANPipeline
    from hfgan.metrics import Evaluator

    evaluator = Evaluator(_emoji(), backbone="emoji-cnn", metrics=["fd", "kid"], num_samples=num_samples,
                          resolution=64, kid_subset_size=1000)
    results = {}
    for run in runs:
        release = out / run / "release"
        if not (release / "model_index.json").is_file():
            print(f"{run}: no release (did it finish? see {out / run}.log)")
            continue
        metrics = evaluator(DCGANPipeline.from_pretrained(release))
        records = [json.loads(line) for line in (out / run / "metrics.jsonl").read_text().splitlines()]
        records = [r for r in records if "images_per_second" in r]
        results[run] = {
            "fd": next(v for k, v in metrics.items() if k.startswith("fd_")),
            "kid": next(v for k, v in metrics.items() if k.startswith("kid_") and not k.endswith("_std")),
            "steps": records[-1]["step"],
            "images_seen": records[-1]["images_seen"],
            "images_per_second": sum(r["images_per_second"] for r in records[1:]) / max(len(records) - 1, 1),
        }
        print(run, json.dumps(results[run]))
    return results


def _emoji():
    from hfgan.data import default_dataset_path

    return default_dataset_path()


def tile(run_dirs: list[Path], sheet: Path, labels: list[str] | None = None) -> None:
    """The release sample grids of `run_dirs`, side by side at half size, each under its label, into `sheet`."""
    from PIL import Image, ImageDraw

    labels = labels or [d.name for d in run_dirs]
    grids = [(label, Image.open(d / "release" / "samples.png")) for label, d in zip(labels, run_dirs)
             if (d / "release" / "samples.png").is_file()]
    if not grids:
        return
    w = h = 256  # each 8x8 grid at half size: 32 px per sample
    image = Image.new("RGB", (w * len(grids), h + 20), "white")
    for i, (label, grid) in enumerate(grids):
        image.paste(grid.convert("RGB").resize((w, h), Image.LANCZOS), (i * w, 20))
        ImageDraw.Draw(image).text((i * w + 4, 4), label, fill="black")
    image.save(sheet)


def table(results: dict[str, dict], variants: list[str], seeds: list[int]) -> str:
    """One row a variant: the mean over seeds, the spread (min-max) and each seed's value."""
    rows = ["| variant | steps | images/s | FD (emoji-cnn): mean (min-max) | per seed | KID (emoji-cnn): mean | per seed |",
            "|---|---|---|---|---|---|---|"]
    for name in variants:
        got = [results[f"{name}-seed{s}"] for s in seeds if f"{name}-seed{s}" in results]
        if not got:
            continue
        fd, kid = [r["fd"] for r in got], [r["kid"] for r in got]
        steps = "/".join(str(r["steps"]) for r in got)
        speed = sum(r["images_per_second"] for r in got) / len(got)
        rows.append(f"| {name} | {steps} | {speed:.0f} | {sum(fd) / len(fd):.2f} ({min(fd):.2f}-{max(fd):.2f}) | "
                    f"{' / '.join(f'{v:.2f}' for v in fd)} | {sum(kid) / len(kid):.4f} | "
                    f"{' / '.join(f'{v:.4f}' for v in kid)} |")
    return "\n".join(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=Path("outputs/ablation"))
    parser.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=list(VARIANTS))
    parser.add_argument("--seeds", nargs="+", type=int, default=[0])
    parser.add_argument("--steps", type=int, default=None, help="the step schedule (default 1500; with --minutes: "
                        "an upper bound, default the recipe's own max_steps)")
    parser.add_argument("--minutes", type=float, default=None, help="equal wall time: each run's max_minutes")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--parallel", type=int, default=2)
    parser.add_argument("--num-samples", type=int, default=2000)
    parser.add_argument("--eval-only", action="store_true")
    parser.add_argument("--sheet", nargs="+", metavar=("PNG", "LABEL=RUN_DIR"),
                        help="only tile the sample grids of finished runs into PNG, e.g. --sheet grids.png "
                        "'5 min=outputs/budget-5min/default-seed0' '20 min=...'")
    args = parser.parse_args()
    if args.sheet:
        pairs = [item.split("=", 1) for item in args.sheet[1:]]
        tile([Path(d) for _, d in pairs], Path(args.sheet[0]), [label for label, _ in pairs])
        return
    args.out.mkdir(parents=True, exist_ok=True)
    steps = (args.steps or 1500) if args.minutes is None else args.steps
    runs = [(name, seed) for seed in args.seeds for name in args.variants]  # seed-major: first seeds finish first

    if not args.eval_only:
        pending, running = list(runs), []
        while pending or running:
            while pending and len(running) < args.parallel:
                name, seed = pending.pop(0)
                proc = train(name, seed, args.out, steps, args.minutes, args.threads)
                running.append((f"{name}-seed{seed}", proc, time.time()))
            time.sleep(5)
            for item in [r for r in running if r[1].poll() is not None]:
                running.remove(item)
                print(f"{item[0]}: exit {item[1].returncode} after {(time.time() - item[2]) / 60:.1f} min")
    results = score([f"{n}-seed{s}" for n, s in runs], args.out, args.num_samples)
    (args.out / "ablation.json").write_text(json.dumps(results, indent=2))
    tile([args.out / f"{name}-seed{args.seeds[0]}" for name in args.variants], args.out / "ablation.png")
    print("\n" + table(results, args.variants, args.seeds))


if __name__ == "__main__":
    main()
