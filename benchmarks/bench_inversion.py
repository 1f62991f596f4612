"""StyleGAN inversion on CPU, method by method: reconstruction PSNR and perceptual distance on held-out real images and
on generated images with known w, and the wall time per image (docs/editing.md).

Methods: `w` and `w+` (StyleGAN2's projector schedule, `StyleGANPipeline.invert`), `w-noise` and `w+-noise` (the same
with StyleGAN2's noise maps optimised under its noise regulariser), `pti` (w, then pivotal tuning of a
copy of the generator) and `encoder` (one forward pass; the release must have an encoder:
training/train_stylegan_encoder.py). Every method sees the same images; the perceptual column is the distance named by
--perceptual (emoji-cnn-distance offline; lpips-vgg with --perceptual-weights).

    python benchmarks/bench_inversion.py --model outputs/stylegan-encoder/release            # 16 emoji test images
    python benchmarks/bench_inversion.py --model <release> --methods w w+ --num-images 64 --num-steps 200
    python benchmarks/bench_inversion.py --model <release> --perceptual lpips-vgg --perceptual-weights vgg16.pth
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch

METHODS = {  # name -> StyleGANPipeline.invert arguments
    "w": dict(method="optimize", space="w"),
    "w+": dict(method="optimize", space="w+"),
    "w-noise": dict(method="optimize", space="w", optimize_noise=True),  # StyleGAN2: noise maps optimised too
    "w+-noise": dict(method="optimize", space="w+", optimize_noise=True),
    "pti": dict(method="pti", space="w"),
    "encoder": dict(method="encoder"),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", required=True, help="a StyleGAN release folder or Hub id")
    parser.add_argument("--images", default="emoji", help="data source of the held-out real images")
    parser.add_argument("--split", default="test")
    parser.add_argument("--num-images", type=int, default=16, help="real images, and as many generated ones")
    parser.add_argument("--methods", nargs="+", choices=list(METHODS), default=list(METHODS))
    parser.add_argument("--num-steps", type=int, default=100, help="optimisation steps (w, w+, pti's first stage)")
    parser.add_argument("--pti-steps", type=int, default=100)
    parser.add_argument("--truncation", type=float, nargs=2, default=(0.5, 1.0), help="psi range of the fakes")
    parser.add_argument("--perceptual", default="emoji-cnn-distance")
    parser.add_argument("--perceptual-weights", default=None)
    parser.add_argument("--optimize-with-perceptual", action="store_true",
                        help="add the perceptual distance to the optimisation's squared error")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's)")
    parser.add_argument("--out", type=Path, default=None, help="write the results as JSON here")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)

    from hfgan import StyleGANPipeline
    from hfgan.data import load_image_dataset
    from hfgan.metrics.inversion import evaluate_stylegan_inversion
    from hfgan.perceptual import perceptual_distance

    pipe = StyleGANPipeline.from_pretrained(args.model)
    pipe.set_progress_bar_config(disable=True)
    size = pipe.generator.config.img_resolution
    images = load_image_dataset(args.images, split=args.split, image_size=size).uint8(slice(0, args.num_images))
    perceptual = perceptual_distance(args.perceptual, args.perceptual_weights)
    rows = {}
    for name in args.methods:
        if name == "encoder" and pipe.encoder is None:
            print(f"{name}: skipped, {args.model} has no encoder")
            continue
        if name.endswith("-noise") and not pipe.generator.noise_resolutions:
            print(f"{name}: skipped, {args.model}'s generator has no noise inputs (StyleGAN3)")
            continue
        kwargs = dict(METHODS[name])
        method = kwargs.pop("method")
        if name != "encoder":
            kwargs.update(num_steps=args.num_steps, perceptual=perceptual if args.optimize_with_perceptual else None)
        if name == "pti":
            kwargs.update(pti_steps=args.pti_steps)
        rows[name] = evaluate_stylegan_inversion(
            pipe, images, method=method, num_fakes=len(images), truncation_psi=tuple(args.truncation),
            perceptual=perceptual, batch_size=8, invert_kwargs=kwargs)
        print(name, json.dumps({k: round(v, 4) for k, v in rows[name].items()}), flush=True)

    key = f"reconstruction_{perceptual.key}"
    print(f"\n{len(images)} real images ({args.images}, {args.split}) and {len(images)} generated ones "
          f"(psi in {args.truncation}); {args.num_steps} optimisation steps, {args.pti_steps} PTI steps\n")
    print(f"| method | PSNR real (dB) | {perceptual.name} real | PSNR generated (dB) | w error generated | "
          "seconds / image |")
    print("|---|---|---|---|---|---|")
    for name, r in rows.items():
        print(f"| {name} | {r['reconstruction_psnr']:.2f} | {r[key]:.4f} | {r['fake_reconstruction_psnr']:.2f} | "
              f"{r['latent_error']:.4f} | {r['seconds_per_image']:.2f} |")
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps({"args": {k: str(v) for k, v in vars(args).items()}, "results": rows},
                                       indent=1))


if __name__ == "__main__":
    main()
