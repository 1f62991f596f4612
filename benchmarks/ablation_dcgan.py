"""The DCGAN recipe ablation on the shipped emoji set (docs/training.md): train each variant, then score it.

Each variant is training/train_dcgan.py with a few overrides; every run gets the same number of steps and the same
number of CPU threads, and runs can go side by side (`--parallel 2 --threads 1` uses both cores of a 2-core machine).
Each release is then scored with the offline emoji-cnn backbone (FD and KID on 2,000 samples against the train split;
these are not FID numbers), and the sample grids are tiled into one picture.

    python benchmarks/ablation_dcgan.py --out outputs/ablation --steps 1500 --parallel 2 --threads 1
    python benchmarks/ablation_dcgan.py --out outputs/ablation --eval-only      # score finished runs again
    python benchmarks/ablation_dcgan.py --variants ns_diffaug_c32 tutorial_c32 --steps 300
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

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


def train(name: str, out: Path, steps: int, threads: int) -> subprocess.Popen:
    overrides = [
        *VARIANTS[name],
        f"output_dir={out / name}",
        "overwrite=true",
        f"max_steps={steps}",
        "logging.wandb=disabled",
        "logging.every=25",
        f"logging.sample_every={max(steps // 3, 1)}",
        "logging.progress_bar=false",
        "checkpoint.every=0",
        "metrics.every=-1",
    ]
    log = open(out / f"{name}.log", "w")
    env = {**os.environ, "OMP_NUM_THREADS": str(threads)}
    cmd = [sys.executable, str(ROOT / "training" / "train_dcgan.py"), *overrides]
    return subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env)


def score(names: list[str], out: Path, num_samples: int) -> dict[str, dict]:
    from hfgan import DCGANPipeline
    from hfgan.metrics import Evaluator

    evaluator = Evaluator(_emoji(), backbone="emoji-cnn", metrics=["fd", "kid"], num_samples=num_samples,
                          resolution=64, kid_subset_size=1000)  # fmt: skip
    results = {}
    for name in names:
        release = out / name / "release"
        if not (release / "model_index.json").is_file():
            print(f"{name}: no release (did it finish? see {out / name}.log)")
            continue
        metrics = evaluator(DCGANPipeline.from_pretrained(release))
        records = [json.loads(line) for line in (out / name / "metrics.jsonl").read_text().splitlines()]
        results[name] = {
            **metrics,
            "steps": records[-1]["step"],
            "images_seen": records[-1]["images_seen"],
            "images_per_second": sum(r["images_per_second"] for r in records[1:]) / max(len(records) - 1, 1),
        }
        print(name, json.dumps(results[name]))
    return results


def _emoji():
    from hfgan.data import default_dataset_path

    return default_dataset_path()


def tile(names: list[str], out: Path) -> None:
    from PIL import Image, ImageDraw

    grids = [(n, Image.open(out / n / "release" / "samples.png")) for n in names if (out / n / "release").is_dir()]
    if not grids:
        return
    w = h = 256  # each 8x8 grid at half size: 32 px per sample
    sheet = Image.new("RGB", (w * len(grids), h + 20), "white")
    for i, (name, grid) in enumerate(grids):
        sheet.paste(grid.convert("RGB").resize((w, h), Image.LANCZOS), (i * w, 20))
        ImageDraw.Draw(sheet).text((i * w + 4, 4), name, fill="black")
    sheet.save(out / "ablation.png")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=Path("outputs/ablation"))
    parser.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=list(VARIANTS))
    parser.add_argument("--steps", type=int, default=1500)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--parallel", type=int, default=2)
    parser.add_argument("--num-samples", type=int, default=2000)
    parser.add_argument("--eval-only", action="store_true")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)

    if not args.eval_only:
        pending, running = list(args.variants), []
        while pending or running:
            while pending and len(running) < args.parallel:
                name = pending.pop(0)
                running.append((name, train(name, args.out, args.steps, args.threads), time.time()))
            time.sleep(5)
            for item in [r for r in running if r[1].poll() is not None]:
                running.remove(item)
                print(f"{item[0]}: exit {item[1].returncode} after {(time.time() - item[2]) / 60:.1f} min")
    results = score(args.variants, args.out, args.num_samples)
    (args.out / "ablation.json").write_text(json.dumps(results, indent=2))
    tile(args.variants, args.out)
    print(f"\n| variant | steps | images/s | FD (emoji-cnn) | KID (emoji-cnn) |\n|---|---|---|---|---|")
    for name, r in results.items():
        fd = next(v for k, v in r.items() if k.startswith("fd_"))
        kid = next((v for k, v in r.items() if k.startswith("kid_") and not k.endswith("_std")), float("nan"))
        print(f"| {name} | {r['steps']} | {r['images_per_second']:.0f} | {fd:.2f} | {kid:.4f} |")


if __name__ == "__main__":
    main()
