"""BlobGAN inversion on held-out scenes, per release and per scene set: the encoder alone, then with refinement
(docs/blobgan.md#invert-a-real-image-into-blobs). Every release sees the same images.

    python benchmarks/bench_blobgan_inversion.py                                   # the zoo's encoder, emoji scenes
    python benchmarks/bench_blobgan_inversion.py --models zoo/blobgan-emoji-scenes-inversion <release> \
        --scenes data/scenes/scenes-64-test.parquet data/icons/scenes-64-test.parquet --refine-steps 100

`data/icons/scenes-64-test.parquet` holds scenes of objects no emoji model saw (data/icons/build_icon_scenes.py).
Prints one row per (release, scenes, refinement steps) and, with --json, writes them all.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch

from hfgan import BlobGANPipeline
from hfgan.metrics import load_backbone
from hfgan.metrics.inversion import evaluate_inversion, scenes_with_boxes

COLUMNS = ("reconstruction_psnr", "object_hit_rate", "blob_in_object_rate", "visible_blobs_per_image",
           "reconstruction_fd_emoji_cnn", "seconds_per_image")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", nargs="+", default=["zoo/blobgan-emoji-scenes-inversion"],
                        help="BlobGAN releases with an encoder (folders or Hub ids)")
    parser.add_argument("--scenes", nargs="+", default=["data/scenes/scenes-64-test.parquet"],
                        help="scene parquets with boxes (hfgan prepare-scenes)")
    parser.add_argument("--num-eval", type=int, default=1000, help="test images per scene set (the first N)")
    parser.add_argument("--refine-steps", type=int, nargs="*", default=[], help="also with this many refinement steps")
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--json", type=Path, help="write every row here")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)

    backbone = load_backbone("emoji-cnn")  # FD of the reconstructions (left out below 256 images, its dimension)
    rows = []
    print("| release | scenes | refinement steps | " + " | ".join(COLUMNS) + " |")
    print("|---" * (3 + len(COLUMNS)) + "|")
    for model in args.models:
        pipe = BlobGANPipeline.from_pretrained(model)
        pipe.set_progress_bar_config(disable=True)
        if pipe.encoder is None:
            raise SystemExit(f"{model} has no encoder/: train one with training/train_inversion.py")
        for scenes in args.scenes:
            images, boxes = scenes_with_boxes(scenes, image_size=pipe.encoder.config.image_size)
            images, boxes = images[: args.num_eval], boxes[: args.num_eval] if boxes is not None else None
            for steps in [0, *args.refine_steps]:
                start = time.perf_counter()
                result = evaluate_inversion(pipe, images, boxes, backbone=backbone, num_refine_steps=steps)
                result["seconds_per_image"] = (time.perf_counter() - start) / len(images)
                rows.append({"release": model, "scenes": scenes, "images": len(images), "refine_steps": steps,
                             **result})
                cells = [f"{result[c]:.3f}" if c in result else "-" for c in COLUMNS]
                print(f"| {model} | {scenes} | {steps} | " + " | ".join(cells) + " |", flush=True)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2) + "\n")


if __name__ == "__main__":
    main()
