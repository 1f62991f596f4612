"""Issue 24's second blob target, measured on generated samples: the share of a sample's objects that some visible
blob carries (moving the blob moves the object). With --scenes, the same for the layouts the release's encoder
inverts the first N real scenes into (optionally refined, in the raw vector or in the layout network's last hidden
vector): how editable an inversion is.

    OMP_NUM_THREADS=1 python docs/research/blobgan-dead-blobs/carry_rate.py RELEASE [N=32] [--dx 0.2] > out.json
    OMP_NUM_THREADS=1 python docs/research/blobgan-dead-blobs/carry_rate.py RELEASE 64 \
        --scenes data/scenes/scenes-64-test.parquet --refine-steps 100 [--refine-space hidden]

- The objects of a sample are the connected components (4-connected, at least MIN_AREA pixels) of
  |G(layout) - G(layout with every blob removed)| > THRESHOLD (channel mean, images in [-1, 1]): what the blobs add
  over the background.
- An object is carried by blob k if, with blob k moved right by DX of the width, at least half of the object's pixels
  shifted by DX are object pixels of the moved image, and at least half of the pixels it leaves (its pixels not
  covered by its shifted self) are not: the object went with the blob.
- Only visible blobs are moved (composite alpha > 0.5 somewhere, hfgan's definition). Truncation 1, no jitter.

Needs scipy (connected components); run from the repository root.
"""
import argparse
import json

import numpy as np
import torch
from scipy import ndimage

torch.set_num_threads(1)
from hfgan import BlobGANPipeline  # noqa: E402
from hfgan.metrics.inversion import psnr, scenes_with_boxes, visible_blobs  # noqa: E402

THRESHOLD, MIN_AREA, DX = 0.3, 16, 0.2


def render(gen, layout):
    with torch.no_grad():
        return gen(layout, noise_mode="const").sample  # (B, 3, S, S)


def object_mask(image, background):
    return ((image - background).abs().mean(1) > THRESHOLD).numpy()  # (B, S, S)


def shifted(mask, px):
    """`mask` (..., H, W) moved right by `px` pixels (columns: the last axis), what leaves the frame dropped."""
    out = np.zeros_like(mask)
    if px < mask.shape[-1]:
        out[..., px:] = mask[..., : mask.shape[-1] - px]
    return out


def carry_stats(gen, layout, dx: float = DX) -> dict:
    """The module docstring's measures for `layout` (N scenes) rendered by `gen`: visible blobs and objects per
    scene, and the share of objects a visible blob carries when moved right by `dx` of the width."""
    size = gen.config.image_size if hasattr(gen.config, "image_size") else render(gen, layout[:1]).shape[-1]
    px = round(dx * size)
    empty = layout
    for k in range(layout.num_blobs):
        empty = empty.remove(k)
    image, background = render(gen, layout), render(gen, empty)
    objects = object_mask(image, background)
    visible = visible_blobs(layout, size)  # (N, K)
    moved_masks = {k: object_mask(render(gen, layout.move(k, dx=dx)), background) for k in range(layout.num_blobs)}
    per_sample, counts, carried_total, objects_total = [], [], 0, 0
    for i in range(len(image)):
        labels, num = ndimage.label(objects[i])
        comps = [labels == j for j in range(1, num + 1) if (labels == j).sum() >= MIN_AREA]
        carried = 0
        for comp in comps:
            target = shifted(comp[None], px)[0]
            left = comp & ~target
            for k in np.flatnonzero(visible[i].numpy()):
                moved = moved_masks[k][i]
                arrives = (moved & target).sum() / max(target.sum(), 1) >= 0.5
                leaves = left.sum() == 0 or (moved & left).sum() / left.sum() <= 0.5
                if arrives and leaves:
                    carried += 1
                    break
        counts.append(len(comps))
        carried_total += carried
        objects_total += len(comps)
        if comps:
            per_sample.append(carried / len(comps))
    return {
        "threshold": THRESHOLD, "min_area": MIN_AREA, "dx": dx,
        "visible_blobs_per_sample": round(float(visible.float().sum(1).mean()), 3),
        "objects_per_sample": round(float(np.mean(counts)), 3),
        "carried_share_mean_over_samples": round(float(np.mean(per_sample)), 3) if per_sample else None,
        "carried_share_all_objects": round(carried_total / max(objects_total, 1), 3),
        "object_pixel_share": round(float(objects.mean()), 3),
    }


def samples_carry(pipe, num: int = 256) -> dict:
    """carry_stats on `num` of the layout network's samples (fixed z) rendered by `pipe.generator`: what
    joint_generator.py and plain_autoencoder.py measure on samples."""
    with torch.no_grad():
        z = torch.randn(num, pipe.layout_net.config.latent_dim, generator=torch.Generator().manual_seed(0))
        return carry_stats(pipe.generator, pipe.layout_net(z))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("release")
    parser.add_argument("n", type=int, nargs="?", default=32)
    parser.add_argument("--scenes", help="a scenes parquet: invert its first n images instead of sampling")
    parser.add_argument("--refine-steps", type=int, default=0, help="with --scenes: refine the encoder's layouts")
    parser.add_argument("--refine-space", choices=["raw", "hidden"], default="raw",
                        help="hidden: refine the layout network's last hidden vector instead, from the encoder's "
                        "answer projected onto what its output layers give (pipe.invert's refine_space)")
    parser.add_argument("--refine-lr", type=float, help="pipe.invert's refine_lr (default: its per-space default)")
    parser.add_argument("--dx", type=float, default=DX, help="how far each blob is moved, in image widths")
    args = parser.parse_args()
    release, n = args.release, args.n
    pipe = BlobGANPipeline.from_pretrained(release)
    pipe.set_progress_bar_config(disable=True)
    net, gen = pipe.layout_net.eval(), pipe.generator.eval()
    torch.manual_seed(0)
    if args.scenes:
        images = scenes_with_boxes(args.scenes, image_size=pipe.encoder.config.image_size)[0][:n].float() / 255
        layout = pipe.invert(images, num_refine_steps=args.refine_steps, refine_lr=args.refine_lr,
                             refine_space=args.refine_space, output_type="pt").layouts
        n = len(images)
        reconstruction_psnr = psnr((render(gen, layout) + 1) / 2, images).mean().item()
    else:
        with torch.no_grad():
            layout = net(torch.randn(n, net.config.latent_dim))
    print(json.dumps({
        "release": release, "scenes": args.scenes, "refine_steps": args.refine_steps,
        "refine_space": args.refine_space if args.scenes else None, "samples": n,
        "reconstruction_psnr": round(reconstruction_psnr, 2) if args.scenes else None,
        **carry_stats(gen, layout, args.dx),
    }, indent=1))


if __name__ == "__main__":
    main()
