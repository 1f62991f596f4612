"""BlobGAN inversion on held-out scenes, per release and per scene set: the encoder alone, then with refinement
(docs/blobgan.md#invert-a-real-image-into-blobs). Every release sees the same images.

    python benchmarks/bench_blobgan_inversion.py                                   # the zoo's encoder, emoji scenes
    python benchmarks/bench_blobgan_inversion.py --models zoo/blobgan-emoji-scenes-inversion <release> \
        --scenes data/scenes/scenes-64-test.parquet data/icons/scenes-64-test.parquet --refine-steps 100 \
        [--refine-space hidden]

    python benchmarks/bench_blobgan_inversion.py --references --models      # the no-model references alone

`data/icons/scenes-64-test.parquet` holds scenes of objects no emoji model saw (data/icons/build_icon_scenes.py).
Prints one row per (release, scenes, refinement steps) and, with --json, writes them all. `--references` first
prints the PSNR of reconstructions that need no model, made from the test image itself (its mean colour, its boxes
filled with their mean colours, blurs, block means), as a scale for what a PSNR says about a reconstruction.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torchvision.transforms.functional import gaussian_blur

from hfgan import BlobGANPipeline
from hfgan.metrics import load_backbone
from hfgan.metrics.inversion import evaluate_inversion, psnr, scenes_with_boxes

COLUMNS = ("reconstruction_psnr", "object_hit_rate", "blob_in_object_rate", "visible_blobs_per_image",
           "reconstruction_fd_emoji_cnn", "seconds_per_image")


def first_scenes(scenes: str, num: int, image_size: int | None = None) -> tuple[torch.Tensor, list | None]:
    """The first `num` images of a scene parquet (uint8, at `image_size` or as stored) and their boxes (or None)."""
    images, boxes = scenes_with_boxes(scenes, image_size=image_size)
    return images[:num], boxes[:num] if boxes is not None else None


def reference_reconstructions(images: torch.Tensor, boxes: list | None) -> dict[str, torch.Tensor]:
    """Reconstructions made from the images themselves, no model: what a PSNR means on these scenes. `images`:
    `(N, 3, S, S)` in [0, 1]; `boxes`: each image's object boxes as fractions (x0, y0, x1, y1), or None."""
    size = images.shape[-1]
    mean = images.mean(dim=(2, 3), keepdim=True)  # (N, 3, 1, 1)
    references = {"the image's mean colour, flat": mean.expand_as(images)}
    if boxes is not None:
        # a perfect layout of flat blobs, roughly: the background kept, each object box its own mean colour
        filled = images.clone()
        for i, image_boxes in enumerate(boxes):
            for x0, y0, x1, y1 in image_boxes:
                rows = slice(round(y0 * size), round(y1 * size))
                cols = slice(round(x0 * size), round(x1 * size))
                filled[i, :, rows, cols] = images[i, :, rows, cols].mean(dim=(1, 2), keepdim=True)
        references["each object box its mean colour, background kept"] = filled
    for cells in (4, 8, 16):  # block means: the image at cells x cells, shown at full size
        blocks = F.interpolate(F.adaptive_avg_pool2d(images, cells), size=size, mode="nearest")
        references[f"{cells}x{cells} block means"] = blocks
    for sigma in (1, 2, 3, 4, 6):  # Gaussian blurs (kernel of +-3 sigma; the border reflected)
        references[f"Gaussian blur, sigma {sigma} px"] = gaussian_blur(images, 6 * sigma + 1, sigma)
    return references


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", nargs="*", default=["zoo/blobgan-emoji-scenes-inversion"],
                        help="BlobGAN releases with an encoder (folders or Hub ids); none: only --references")
    parser.add_argument("--scenes", nargs="+", default=["data/scenes/scenes-64-test.parquet"],
                        help="scene parquets with boxes (hfgan prepare-scenes)")
    parser.add_argument("--num-eval", type=int, default=1000, help="test images per scene set (the first N)")
    parser.add_argument("--refine-steps", type=int, nargs="*", default=[], help="also with this many refinement steps")
    parser.add_argument("--refine-space", choices=["raw", "hidden"], default="raw", help="pipe.invert's refine_space")
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--json", type=Path, help="write every row here")
    parser.add_argument("--references", action="store_true",
                        help="first the PSNR of reconstructions made without a model, per scene set")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)

    rows = []
    if args.references:
        print("| scenes | reference reconstruction (no model) | PSNR (dB) |\n|---|---|---|")
        for scenes in args.scenes:
            images, boxes = first_scenes(scenes, args.num_eval)
            images = images.float() / 255
            for name, reconstruction in reference_reconstructions(images, boxes).items():
                value = psnr(reconstruction, images).mean().item()
                rows.append({"reference": name, "scenes": scenes, "images": len(images), "reconstruction_psnr": value})
                print(f"| {scenes} | {name} | {value:.2f} |", flush=True)
        print()

    if args.models:
        backbone = load_backbone("emoji-cnn")  # FD of the reconstructions (left out below 256 images, its dimension)
        print("| release | scenes | refinement steps | " + " | ".join(COLUMNS) + " |")
        print("|---" * (3 + len(COLUMNS)) + "|")
    for model in args.models:
        pipe = BlobGANPipeline.from_pretrained(model)
        pipe.set_progress_bar_config(disable=True)
        if pipe.encoder is None:
            raise SystemExit(f"{model} has no encoder/: train one with training/train_inversion.py")
        for scenes in args.scenes:
            images, boxes = first_scenes(scenes, args.num_eval, pipe.encoder.config.image_size)
            for steps in [0, *args.refine_steps]:
                start = time.perf_counter()
                result = evaluate_inversion(pipe, images, boxes, backbone=backbone, num_refine_steps=steps,
                                            refine_space=args.refine_space)
                result["seconds_per_image"] = (time.perf_counter() - start) / len(images)
                rows.append({"release": model, "scenes": scenes, "images": len(images), "refine_steps": steps,
                             "refine_space": args.refine_space, **result})
                cells = [f"{result[c]:.3f}" if c in result else "-" for c in COLUMNS]
                refinement = f"{steps} ({args.refine_space})" if steps else "0"
                print(f"| {model} | {scenes} | {refinement} | " + " | ".join(cells) + " |", flush=True)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2) + "\n")


if __name__ == "__main__":
    main()
