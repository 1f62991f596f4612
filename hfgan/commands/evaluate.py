"""`hfgan evaluate`: FD / KID / precision-recall / memorisation of a trained pipeline against a dataset, as JSON."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def add_parser(subparsers) -> None:
    from hfgan.metrics.registry import BACKBONE_REGISTRY, METRICS  # the registry's names, without importing torch

    parser = subparsers.add_parser(
        "evaluate",
        help="compute FD/KID/precision-recall/memorisation of a pipeline against a dataset",
        description=(
            "Sample --num-samples images from --model in chunks, embed them with --backbone, and compare them with "
            "the --split images of --data (features cached on disk). 'inception' gives the standard FID/KID; "
            "'dinov2' gives FD_DINOv2; 'emoji-cnn' works offline and its numbers are named fd_emoji_cnn, ... "
            "(never FID). See docs/metrics.md for the protocol."
        ),
    )
    parser.add_argument("--model", required=True, help="pipeline folder or Hub repo id")
    parser.add_argument(
        "--data", required=True, help="'emoji' (the shipped set), parquet file, folder, or Hub dataset repo id"
    )
    parser.add_argument("--split", default="train", help="reference split: the one the model was trained on (train)")
    parser.add_argument(
        "--heldout-split", default="test", help="split of real images not trained on, the memorisation baseline (test)"
    )
    parser.add_argument("--metrics", nargs="+", choices=METRICS, default=["fd"], help="default: fd")
    parser.add_argument("--num-samples", type=int, default=10_000, help="generated images (default 10000)")
    parser.add_argument("--backbone", choices=list(BACKBONE_REGISTRY), default="inception", help="default: inception")
    parser.add_argument(
        "--backbone-weights",
        help="inception: the weights file (.pth or .safetensors); dinov2: a folder or Hub repo id; emoji-cnn: a folder",
    )
    parser.add_argument(
        "--resolution", type=int, help="resize reference images to this size first (default: the model's resolution)"
    )
    parser.add_argument("--batch-size", type=int, default=250, help="images sampled and embedded at once")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--kid-subset-size", type=int, default=1000)
    parser.add_argument("--kid-subsets", type=int, default=100)
    parser.add_argument("--pr-k", type=int, default=3, help="neighbourhood size of precision/recall (3)")
    parser.add_argument("--num-pairs", type=int, default=8, help="closest sample/training pairs to show (8)")
    parser.add_argument("--out", default="metrics.json", help="JSON file to write (default: metrics.json)")
    parser.add_argument("--cache-dir", help="reference feature cache (default: $HFGAN_CACHE/metrics)")
    parser.add_argument("--no-cache", action="store_true", help="do not read or write the reference feature cache")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import logging

    from hfgan.metrics import BackboneWeightsError, Evaluator
    from hfgan.pipelines.pipeline_utils import HfGanPipeline, generation_problem

    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        pipe = HfGanPipeline.from_pretrained(args.model).to(args.device)
        if (problem := generation_problem(pipe)) is not None:
            raise ValueError(problem)  # reported below like every other bad argument
        resolution = args.resolution or getattr(getattr(pipe, "generator", None), "config", {}).get("image_size")
        evaluator = Evaluator(
            args.data,
            backbone=args.backbone,
            metrics=args.metrics,
            num_samples=args.num_samples,
            split=args.split,
            heldout=args.heldout_split,
            resolution=resolution,
            backbone_weights=args.backbone_weights,
            batch_size=args.batch_size,
            device=args.device,
            seed=args.seed,
            kid_subset_size=args.kid_subset_size,
            kid_subsets=args.kid_subsets,
            pr_k=args.pr_k,
            num_pairs=args.num_pairs,
            cache_dir=False if args.no_cache else args.cache_dir,
        )
        result = evaluator.evaluate(pipe)
    except (BackboneWeightsError, ValueError, FileNotFoundError) as e:
        print(f"hfgan evaluate: error: {e}", file=sys.stderr)
        return 2
    result.protocol["model"] = str(args.model)
    out = result.save(args.out)
    width = max(map(len, result.metrics))
    for name, value in result.metrics.items():
        print(f"{name:<{width}}  {value:.6g}")
    print(f"Wrote {Path(out).resolve()}")
    if result.closest_pairs is not None:
        print(
            f"Closest sample/training pairs: {json.loads(Path(out).read_text())['memorization']['closest_pairs_image']}"
        )
    return 0
