"""CPU time to evaluate 10,000 generated images, per backbone: feature extraction plus FD, KID and precision/recall.

The Inception-V3 and DINOv2 networks are randomly initialised with the right architecture (this machine has no
network to download their weights): the time of a forward pass does not depend on the weights, but the numbers they
would give mean nothing, so none are printed. emoji-cnn uses its shipped weights.

Feature extraction of the big networks is timed on `--timed-images` images and extrapolated linearly to
`--num-images` (the output says which rows are extrapolated); the metric maths always runs at full size, on
random features of the backbone's dimension against a reference of `--num-reference` features (the emoji train split
has 3106 images). On a CPU shared with other jobs, `OMP_WAIT_POLICY=PASSIVE` keeps OpenMP's spinning threads from
slowing everything down (up to 5x for emoji-cnn here).

    OMP_WAIT_POLICY=PASSIVE python benchmarks/bench_metrics.py          # all backbones, 2 CPU threads
    python benchmarks/bench_metrics.py --backbones emoji-cnn --timed-images 10000
"""

from __future__ import annotations

import argparse
import json
import platform
import tempfile
import time
from pathlib import Path

import torch

from hfgan import DCGANGenerator, DCGANPipeline
from hfgan.metrics import frechet_distance, kernel_distance, load_backbone, precision_recall
from hfgan.metrics.backbones import random_inception_weights


def build_backbone(name: str, tmp: Path):
    if name == "inception":
        return load_backbone("inception", weights=random_inception_weights(tmp / "inception.safetensors"))
    if name == "dinov2":
        from transformers import Dinov2Config, Dinov2Model

        Dinov2Model(Dinov2Config()).save_pretrained(tmp / "dinov2-base-random")  # ViT-B/14, as facebook/dinov2-base
        return load_backbone("dinov2", weights=tmp / "dinov2-base-random")
    return load_backbone(name)


def timed(fn):
    start = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - start


def bench(name: str, args, tmp: Path, samples: torch.Tensor) -> dict:
    backbone = build_backbone(name, tmp)
    n_timed = min(args.timed_images.get(name, args.num_images), args.num_images)
    backbone(samples[:2])  # warm-up
    features, seconds = timed(lambda: torch.cat([backbone(c) for c in samples[:n_timed].split(args.batch_size)]))
    per_image = seconds / n_timed
    d = backbone.feature_dim
    g = torch.Generator().manual_seed(0)
    fake, real = torch.randn(args.num_images, d, generator=g), torch.randn(args.num_reference, d, generator=g)
    _, fd_s = timed(lambda: frechet_distance(fake, real))
    _, kid_s = timed(lambda: kernel_distance(fake, real, subset_size=1000, num_subsets=100))
    _, pr_s = timed(lambda: precision_recall(real, fake, k=3))
    return {
        "backbone": name,
        "feature_dim": d,
        "weights": "random init (timing only)" if name != "emoji-cnn" else "shipped",
        "timed_images": n_timed,
        "features_s_per_image": per_image,
        "features_s": per_image * args.num_images,
        "features_extrapolated": n_timed < args.num_images,
        "fd_s": fd_s,
        "kid_s": kid_s,
        "pr_s": pr_s,
        "total_s": per_image * args.num_images + fd_s + kid_s + pr_s,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backbones", nargs="+", default=["emoji-cnn", "inception", "dinov2"])
    parser.add_argument("--num-images", type=int, default=10_000)
    parser.add_argument("--num-reference", type=int, default=3106)
    parser.add_argument(
        "--timed-images", type=int, help="images actually embedded by inception/dinov2 (default 64 / 32)"
    )
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--json", help="also write the results here")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    given = args.timed_images
    args.timed_images = {"inception": given or 64, "dinov2": given or 32, "emoji-cnn": args.num_images}

    pipe = DCGANPipeline(generator=DCGANGenerator().eval())  # the default 64 px DCGAN
    pipe.set_progress_bar_config(disable=True)
    samples, sampling_s = timed(
        lambda: pipe(num_images=args.num_images, generator=torch.Generator().manual_seed(0), output_type="pt").images
    )
    print(f"CPU: {platform.processor() or platform.machine()}, {args.threads} threads, torch {torch.__version__}")
    print(f"Sampling {args.num_images} images from the default 64 px DCGAN: {sampling_s:.1f} s (not counted below)\n")

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.backbones:
            rows.append(bench(name, args, Path(tmp), samples))
            r = rows[-1]
            extrapolated = f" (extrapolated from {r['timed_images']})" if r["features_extrapolated"] else ""
            print(
                f"{name:<10} d={r['feature_dim']:<5} features {r['features_s']:8.1f} s{extrapolated}  "
                f"FD {r['fd_s']:5.2f} s  KID(100x1000) {r['kid_s']:5.2f} s  PR(k=3) {r['pr_s']:5.2f} s  "
                f"total {r['total_s']:8.1f} s  [{r['weights']}]",
                flush=True,
            )
    if args.json:
        Path(args.json).write_text(json.dumps({"sampling_s": sampling_s, "rows": rows}, indent=2))


if __name__ == "__main__":
    main()
