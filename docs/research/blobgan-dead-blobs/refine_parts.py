"""Which part of the encoder's answer holds its missing decibels: refinement of one part of the raw layout at a time.

    OMP_NUM_THREADS=1 python docs/research/blobgan-dead-blobs/refine_parts.py RELEASE [N=64] \
        [--scenes data/scenes/scenes-64-test.parquet] [--steps 50] [--lr 0.05] > out.json

From the encoder's raw answer for each of the first N held-out scenes, `--steps` of `refine_raw` (pipe.invert's
refinement, the squared error) move only one part of the vector, the rest held at the encoder's answer:
- `geometry`: every blob's x, y, s, shape and angle (7 numbers a blob);
- `blob_structure` / `blob_style`: every blob's phi / psi;
- `background`: phi_0 and psi_0;
- `all`: the whole vector (pipe.invert's refinement).
Also, with no refinement, `colour_shift`: the encoder's reconstruction moved by its per-image, per-channel mean
error (the best a global colour correction can do), to say how much of the error is the scene's overall colour.
Printed per way: the mean PSNR over images (dB) and the visible blobs per image.
"""
import argparse
import json

import torch

torch.set_num_threads(1)
from hfgan import BlobGANPipeline  # noqa: E402
from hfgan.models.blobgan.layout_net import PER_BLOB  # noqa: E402
from hfgan.metrics.inversion import scenes_with_boxes  # noqa: E402
from hfgan.pipelines.blobgan import refine_raw  # noqa: E402

from latent_reach import summary  # noqa: E402


def part_masks(num_blobs: int, structure_dim: int, style_dim: int) -> dict[str, torch.Tensor]:
    """Boolean masks over the raw layout vector, one per part (see the module's docstring)."""
    d, e = structure_dim, style_dim
    per_blob = PER_BLOB + d + e
    index = torch.arange(num_blobs * per_blob + d + e)
    in_blob, offset = index < num_blobs * per_blob, index % per_blob
    return {"geometry": in_blob & (offset < PER_BLOB),
            "blob_structure": in_blob & (offset >= PER_BLOB) & (offset < PER_BLOB + d),
            "blob_style": in_blob & (offset >= PER_BLOB + d),
            "background": ~in_blob,
            "all": torch.ones_like(in_blob)}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("release")
    parser.add_argument("n", type=int, nargs="?", default=64)
    parser.add_argument("--scenes", default="data/scenes/scenes-64-test.parquet")
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--lr", type=float, default=0.05, help="pipe.invert's default refine_lr (raw space)")
    args = parser.parse_args()
    pipe = BlobGANPipeline.from_pretrained(args.release)
    gen, encoder = pipe.generator.eval(), pipe.encoder.eval()
    for module in (gen, encoder):
        module.requires_grad_(False)
    size = gen.config.image_size
    target = scenes_with_boxes(args.scenes, image_size=size)[0][: args.n].float() / 127.5 - 1  # (N, 3, S, S)
    with torch.no_grad():
        start = encoder(target).raw  # (N, raw_dim)
        images = gen(encoder.decode(start), noise_mode="const").sample
    results = [summary("encoder", images, target, encoder.decode(start), size)]
    shifted = images + (target - images).mean(dim=(2, 3), keepdim=True)  # the best per-channel offset in L2
    results.append(summary("colour_shift", shifted.clamp(-1, 1), target, encoder.decode(start), size))

    c = encoder.config
    for name, mask in part_masks(c.num_blobs, c.structure_dim, c.style_dim).items():
        free = start[:, mask]  # (N, |part|): the part refined, the rest of the encoder's answer held

        def decode(part, mask=mask):
            return encoder.decode(_assemble(start, mask, part))

        layout = decode(refine_raw(gen, decode, free, target, args.steps, args.lr))
        with torch.no_grad():
            images = gen(layout, noise_mode="const").sample
        results.append(summary(name, images, target, layout, size))
    print(json.dumps({"release": args.release, "scenes": args.scenes, "images": len(target), "steps": args.steps,
                      "lr": args.lr, "results": results}, indent=2))


def _assemble(start: torch.Tensor, mask: torch.Tensor, part: torch.Tensor) -> torch.Tensor:
    """`start` (N, raw_dim) with the columns of `mask` replaced by `part` (N, |mask|), differentiably in `part`."""
    full = start.clone()
    full[:, mask] = part
    return full


if __name__ == "__main__":
    main()
