"""Discriminator-classifiers vs. labels per class on the shipped emoji set, or any dataset (docs/classifier.md).

For each seed: one unsupervised DCGAN (training/train_dcgan.py, no labels) whose discriminator the linear probe
uses; then, for each number of labels per class (counted by base emoji), the semi-supervised GAN, the supervised-only
baseline and the probe (training/train_classifier.py), all at the same resolution, width, batch size, augmentation
and number of steps. The seed sets the networks' initialisation and the labeled subset. Every classifier is scored
on the fixed test split: balanced accuracy (the headline: People & Body is 59% of the test images) and accuracy.
Writes results.json (one record per run, appended as runs finish, so an interrupted benchmark resumes), prints
the table as markdown and draws the plot (PNG).

    python benchmarks/bench_classifier.py --out outputs/bench-classifier            # the default recipe's 8,000 steps
    python benchmarks/bench_classifier.py --steps 3000 --out outputs/bench-classifier-3000  # a shorter schedule
    python benchmarks/bench_classifier.py --seeds 0 --labels 10 --steps 200         # a quick look
    python benchmarks/bench_classifier.py --out outputs/bench-classifier --report   # table and plot only
    python benchmarks/bench_classifier.py --out outputs/a --report --include outputs/b  # two processes' runs
    python benchmarks/bench_classifier.py --out outputs/bench-classifier-ablation --ablation --labels 10 --seeds 0 1
    python benchmarks/bench_classifier.py --out outputs/bench-norm --ablation --variants ssgan_weight_norm --labels 10
    python benchmarks/bench_classifier.py --dataset data/digits --out outputs/bench-classifier-digits   # MNIST-5k
    python benchmarks/bench_classifier.py --dataset data/letters --group-by glyph --out outputs/bench-classifier-letters
    python benchmarks/bench_classifier.py --ablation --variants ssgan_ramp --labels 10 --steps 3000 --set ema.decay=0.999
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

from _runs import run_training  # the sibling module: a training script run as a command

METHODS = ("ssgan", "supervised", "probe")
NAMES = {"ssgan": "semi-supervised GAN", "supervised": "supervised only", "probe": "linear probe (DCGAN D)"}
# --ablation: one change to the recipe each, at 10 labels per class: what makes the difference
ABLATIONS = {
    "ssgan_non_saturating_g": ("ssgan", ["loss.generator=non_saturating"]),
    "ssgan_no_augment": ("ssgan", ["augment.policy=[]"]),
    "supervised_no_augment": ("supervised", ["augment.policy=[]"]),
    "ssgan_unbalanced_batches": ("ssgan", ["labels.balance=false"]),
    "supervised_unbalanced_batches": ("supervised", ["labels.balance=false"]),
    # the discriminator's normalisation: BatchNorm normalises real and fake batches apart (issue 23's first hypothesis)
    "ssgan_weight_norm": ("ssgan", ["model.d_norm=weight"]),
    "supervised_weight_norm": ("supervised", ["model.d_norm=weight"]),
    "ssgan_no_norm": ("ssgan", ["model.d_norm=none"]),
    "supervised_no_norm": ("supervised", ["model.d_norm=none"]),
    # longer runs: both learning rates ramped down to a tenth over the second half of the run
    "ssgan_ramp": ("ssgan", ["schedule.lr_ramp_down=0.5", "schedule.lr_final=0.1"]),
    "supervised_ramp": ("supervised", ["schedule.lr_ramp_down=0.5", "schedule.lr_final=0.1"]),
    # the ramp plus a self-supervised rotation task on the unlabeled images (Chen et al., 2019)
    "ssgan_ramp_rotation": ("ssgan", ["schedule.lr_ramp_down=0.5", "schedule.lr_final=0.1", "loss.rotation_weight=1"]),
    # the ramp with translations only: colour jitter may erase cues of the classes (skin tones, greens)
    "ssgan_ramp_translation_only": ("ssgan", ["schedule.lr_ramp_down=0.5", "schedule.lr_final=0.1",
                                              "augment.policy=[translation]"]),
    "supervised_ramp_translation_only": ("supervised", ["schedule.lr_ramp_down=0.5", "schedule.lr_final=0.1",
                                                        "augment.policy=[translation]"]),
    # the ramp plus the Pi-model's consistency term on the unlabeled images' classes (Laine & Aila, 2017)
    "ssgan_ramp_consistency": ("ssgan", ["schedule.lr_ramp_down=0.5", "schedule.lr_final=0.1",
                                         "loss.consistency_weight=10"]),
    # Salimans et al.'s discriminator regularisation: dropout 0.5 before the last layer (the default recipe's ramp)
    "ssgan_dropout": ("ssgan", ["model.d_dropout=0.5"]),
    # Salimans et al.'s Gaussian noise on D's input and hidden layers (0.3 / 0.5 in their MNIST network)
    "ssgan_noise": ("ssgan", ["model.d_noise=0.3"]),
    "supervised_noise": ("supervised", ["model.d_noise=0.3"]),
    # ... with translations only, so that consistency does not ask D to ignore colours
    "ssgan_ramp_translation_consistency": ("ssgan", ["schedule.lr_ramp_down=0.5", "schedule.lr_final=0.1",
                                                     "augment.policy=[translation]", "loss.consistency_weight=10"]),
}


def common_overrides(args, seed: int) -> list[str]:
    return [
        "overwrite=true", f"seed={seed}", f"data.image_size={args.image_size}",
        f"batch_size={args.batch_size}", "max_minutes=null", "logging.wandb=disabled", "logging.every=50",
        "logging.progress_bar=false", "checkpoint.every=0", "checkpoint.keep_last=1",
        f"data.source={args.dataset}", f"data.name={args.dataset_name or Path(args.dataset).name}",
        *args.set,
    ]


def train_dcgan(args, seed: int) -> Path:
    """The unsupervised DCGAN of a seed (no labels); returns its release's discriminator folder."""
    out = args.out / f"dcgan-seed{seed}"
    done = out / f"finished-{args.steps}-steps"
    if not done.is_file():
        overrides = [*common_overrides(args, seed), f"max_steps={args.steps}", "metrics.every=-1",
                     "logging.sample_every=0"]
        summary = run_training("train_dcgan", out, overrides)
        if summary["stopped_by"]:
            raise SystemExit(f"{out.name} stopped by {summary['stopped_by']} at step {summary['steps']}")
        done.touch()
    return out / "release" / "discriminator"


def train_classifier(args, method: str, per_class: str, seed: int, discriminator: Path | None, name: str,
                     extra: list[str]) -> dict:
    out = args.out / f"{name}-labels{per_class}-seed{seed}"
    overrides = [
        *common_overrides(args, seed), f"method={method}", f"max_steps={args.steps}", "metrics.every=0",
        f"labels.per_class={'null' if per_class == 'all' else per_class}", f"labels.seed={seed}",
        f"labels.group_by={args.group_by or 'null'}", *extra,
    ]
    if discriminator is not None:
        overrides.append(f"probe.discriminator={discriminator}")
    start = time.time()
    summary = run_training("train_classifier", out, overrides)
    if summary["stopped_by"]:  # Ctrl-C or SIGTERM: not a result; stop here (results.json keeps the finished runs)
        raise SystemExit(f"{out.name} stopped by {summary['stopped_by']} at step {summary['steps']}: not recorded")
    return {"method": name, "labels": per_class, "seed": seed, "steps": summary["steps"],
            "minutes": (time.time() - start) / 60, **summary["metrics"]}


def report(records: list[dict], labels: list[str], out: Path, dataset: str) -> str:
    """The markdown table (mean ± std over seeds) and the plot."""
    def cell(method, per_class, key):
        values = [100 * r[key] for r in records if r["method"] == method and r["labels"] == per_class]
        if not values:
            return None, "-"
        std = statistics.stdev(values) if len(values) > 1 else 0.0
        return statistics.mean(values), f"{statistics.mean(values):.1f} ± {std:.1f} ({len(values)})"

    lines = ["| method | " + " | ".join(f"{n} / class" for n in labels) + " |", "|---|" + "---|" * len(labels)]
    methods = [*METHODS, *(a for a in ABLATIONS if any(r["method"] == a for r in records))]
    for key, title in (("balanced_accuracy", "balanced accuracy"), ("accuracy", "accuracy")):
        for method in methods:
            lines.append(f"| {NAMES.get(method, method)}, {title} | "
                         + " | ".join(cell(method, n, key)[1] for n in labels) + " |")
    curves = {m: [cell(m, n, "balanced_accuracy")[0] for n in labels] for m in METHODS}
    plot(curves, labels, out / "balanced_accuracy.png", dataset)
    return "\n".join(lines)


def plot(curves: dict[str, list], labels: list[str], path: Path, dataset: str) -> None:
    """Balanced accuracy (%) against labels per class, one line per method (PIL: no plotting dependency)."""
    from PIL import Image, ImageDraw

    w, h, left, bottom, top = 640, 400, 60, 50, 20
    image = Image.new("RGB", (w, h), "white")
    draw = ImageDraw.Draw(image)
    x_of = lambda i: left + 30 + i * (w - left - 60) / max(len(labels) - 1, 1)  # noqa: E731
    y_of = lambda v: h - bottom - v / 100 * (h - bottom - top)  # noqa: E731
    draw.line([(left, top), (left, h - bottom), (w - 10, h - bottom)], fill="black")
    for v in range(0, 101, 20):
        draw.line([(left - 4, y_of(v)), (w - 10, y_of(v))], fill=(225, 225, 225))
        draw.text((left - 30, y_of(v) - 6), f"{v}%", fill="black")
    for i, n in enumerate(labels):
        draw.text((x_of(i) - 8, h - bottom + 8), str(n), fill="black")
    draw.text((w // 2 - 60, h - 22), "labels per class" + (" (base emoji)" if dataset == "emoji" else ""), fill="black")
    draw.text((left + 4, 2), f"balanced accuracy on the {dataset} test split, mean of seeds", fill="black")
    colours = {"ssgan": (200, 40, 40), "supervised": (40, 90, 200), "probe": (40, 150, 60)}
    for k, (method, values) in enumerate(curves.items()):
        points = [(x_of(i), y_of(v)) for i, v in enumerate(values) if v is not None]
        if len(points) > 1:
            draw.line(points, fill=colours[method], width=3)
        for x, y in points:
            draw.ellipse([x - 4, y - 4, x + 4, y + 4], fill=colours[method])
        draw.rectangle([w - 210, top + 10 + 18 * k, w - 196, top + 22 + 18 * k], fill=colours[method])
        draw.text((w - 190, top + 10 + 18 * k), NAMES[method], fill="black")
    image.save(path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=Path("outputs/bench-classifier"))
    parser.add_argument("--dataset", default="emoji", help="data.source: the shipped emoji set (its 9 groups), or any "
                        "prepared dataset with train and test splits and a label column")
    parser.add_argument("--dataset-name", help="data.name (default: the source's folder or file name)")
    parser.add_argument("--group-by", help="labels.group_by: a column of near-duplicates that count as one label "
                        "(default: base_name for emoji, none otherwise)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--labels", nargs="+", default=["1", "5", "10", "25", "all"])
    parser.add_argument("--methods", nargs="+", default=list(METHODS), choices=METHODS)
    parser.add_argument("--steps", type=int, default=8000,
                        help="training steps of every network (GANs and baseline): the default recipe's 8,000")
    parser.add_argument("--image-size", type=int, default=32)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--ablation", action="store_true", help="the one-change variants (ABLATIONS) instead")
    parser.add_argument("--variants", nargs="+", choices=list(ABLATIONS), help="with --ablation: only these")
    parser.add_argument("--set", nargs="+", default=[], metavar="KEY=VALUE",
                        help="more overrides of every run, e.g. ema.decay=0.999 (record them with the results)")
    parser.add_argument("--report", action="store_true", help="only print the table and draw the plot")
    parser.add_argument("--include", nargs="+", type=Path, default=[], metavar="OUT",
                        help="also the finished runs of these --out folders (a benchmark split over processes, each "
                        "with its own --out); a run already in --out is not taken twice")
    args = parser.parse_args()
    if args.group_by is None and args.dataset == "emoji":
        args.group_by = "base_name"  # skin-tone variants share their base emoji's label
    if args.dataset == "emoji" and args.dataset_name is None:
        args.dataset_name = "noto-color-emoji-64"
    args.out.mkdir(parents=True, exist_ok=True)
    results = args.out / "results.json"

    def finished(folder: Path) -> list[dict]:  # a run cut short is not a result (the probe trains no step)
        found = folder / "results.json"
        return [r for r in (json.loads(found.read_text()) if found.is_file() else []) if r["steps"] in (args.steps, 0)]

    def key(record: dict) -> tuple:
        return record["method"], record["labels"], record["seed"]

    records = finished(args.out)  # this folder's runs, the ones its results.json keeps
    others = []  # --include's: reported and skipped here, never written into this folder's results.json
    for folder in args.include:
        if not (folder / "results.json").is_file():
            raise SystemExit(f"--include {folder}: no results.json there")
        seen = {key(r) for r in records + others}
        others += [r for r in finished(folder) if key(r) not in seen]

    done = {key(r) for r in records + others}
    runs = ([(name, method, extra) for name, (method, extra) in ABLATIONS.items()
             if not args.variants or name in args.variants] if args.ablation
            else [(method, method, []) for method in args.methods])  # (record name, method, extra overrides)
    for seed in [] if args.report else args.seeds:
        discriminator = train_dcgan(args, seed) if any(m == "probe" for _, m, _ in runs) else None
        for per_class in args.labels:
            for name, method, extra in runs:
                if (name, per_class, seed) in done:
                    continue
                records.append(train_classifier(args, method, per_class, seed,
                                                discriminator if method == "probe" else None, name, extra))
                print(json.dumps(records[-1]), flush=True)
                results.write_text(json.dumps(records, indent=1))
    print(f"\n{args.steps} steps, {args.image_size} px, batch {args.batch_size}; mean ± std over seeds (runs)\n")
    print(report(records + others, args.labels, args.out, args.dataset_name or args.dataset))


if __name__ == "__main__":
    main()
