"""`hfgan sample`: write a grid of samples from a pipeline folder or Hub repo id."""

from __future__ import annotations

import argparse
import inspect
import sys
from pathlib import Path


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser("sample", help="write a PNG grid of samples from a trained pipeline")
    parser.add_argument("--model", help="pipeline folder or Hub repo id; without it, an untrained DCGAN")
    parser.add_argument("--out", default="samples.png", help="PNG file to write (default: samples.png)")
    parser.add_argument("--num-images", type=int, default=16)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--class-label", type=int, default=None,
                        help="class index for a conditional generator (e.g. a converted NVIDIA network trained with "
                        "labels); every image gets this class")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import torch

    from hfgan.models.dcgan import DCGANGenerator
    from hfgan.pipelines.dcgan import DCGANPipeline
    from hfgan.pipelines.pipeline_utils import HfGanPipeline, generation_problem
    from hfgan.utils import atomic_write, make_image_grid

    if args.model:
        pipe = HfGanPipeline.from_pretrained(args.model)  # whichever hfgan pipeline model_index.json names
        if (problem := generation_problem(pipe)) is not None:
            print(f"error: {args.model}: {problem}", file=sys.stderr)
            return 2
    else:
        print("No --model given: sampling an untrained DCGAN (noise), to check the installation.")
        pipe = DCGANPipeline(generator=DCGANGenerator())
    pipe = pipe.to(args.device)
    labels = {}
    if args.class_label is not None:
        if "class_labels" not in inspect.signature(pipe.__call__).parameters:
            print(f"error: {type(pipe).__name__} takes no class label; drop --class-label", file=sys.stderr)
            return 2
        labels = {"class_labels": args.class_label}
    try:
        images = pipe(num_images=args.num_images, generator=torch.Generator().manual_seed(args.seed), **labels).images
    except ValueError as error:  # e.g. a conditional generator sampled without a class, or a class out of range
        hint = " (hfgan sample --class-label N)" if "class_labels" in str(error) else ""
        print(f"error: {args.model}: {error}{hint}", file=sys.stderr)
        return 2
    grid = make_image_grid(images)
    out = atomic_write(args.out, lambda tmp: grid.save(tmp, format="PNG"))
    print(f"Wrote {len(images)} samples as a {grid.size[0]}x{grid.size[1]} grid to {Path(out).resolve()}")
    return 0
