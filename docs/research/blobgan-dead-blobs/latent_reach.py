"""How close this generator can get to real scenes from the layouts its layout network draws, against from any layout:
where issue 24's 20 dB target for the encoder is lost.

    OMP_NUM_THREADS=1 python docs/research/blobgan-dead-blobs/latent_reach.py RELEASE [N=64] \
        [--scenes data/scenes/scenes-64-test.parquet] [--steps 200] [--restarts 4] > out.json

Each of the first N held-out scenes is reconstructed three ways, all with the generator frozen and its fixed noise,
every optimisation `refine_raw` (pipe.invert's refinement: Adam on the image's own squared error, so on PSNR):
- `encoder`: the release's encoder alone (left out if the release has none);
- `z`: the best of `--restarts` latents z, each optimised for `--steps`: layouts the layout network can draw (no
  truncation), the set the encoder's latent term ties it to;
- `hidden`: the layout MLP's last hidden vector h optimised for `--steps`, from the best z's: every layout the
  network's output layers can give, a superset of what z reaches (h is free in R^H, not only the MLP's image), so an
  upper bound on the layout network's reach where `z` is a lower one (default blob head only);
- `raw`: the raw layout vector optimised for `--steps`, from the encoder's answer (else from the layout network's
  mean): any layout, as `pipe.invert(num_refine_steps=...)` does with the squared error alone.
Printed per way: the mean PSNR over images (dB, as `evaluate_inversion` counts it) and the visible blobs per image.
With `--fakes`, the targets are N of the generator's own samples instead (truncation 1): an exact z exists, so the
`z` row says how much of the gap the optimisation itself leaves.
"""
import argparse
import json

import torch

torch.set_num_threads(1)
from hfgan import BlobGANPipeline  # noqa: E402
from hfgan.models.blobgan.layout_net import pixel_norm  # noqa: E402
from hfgan.metrics.inversion import psnr, scenes_with_boxes, visible_blobs  # noqa: E402
from hfgan.pipelines.blobgan import refine_raw  # noqa: E402
from hfgan.pipelines.pipeline_utils import reconstruction_distance  # noqa: E402


def scores(images: torch.Tensor, target: torch.Tensor, layout, size: int) -> dict:
    """The mean PSNR of `images` against `target` (both in [-1, 1]) and the visible blobs per image of `layout`."""
    return {"psnr": psnr((images + 1) / 2, (target + 1) / 2).mean().item(),
            "visible_blobs_per_image": visible_blobs(layout, size).sum(1).float().mean().item()}


def summary(name: str, images: torch.Tensor, target: torch.Tensor, layout, size: int) -> dict:
    return {"way": name, **scores(images, target, layout, size)}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("release")
    parser.add_argument("n", type=int, nargs="?", default=64)
    parser.add_argument("--scenes", default="data/scenes/scenes-64-test.parquet")
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--restarts", type=int, default=4)
    parser.add_argument("--z-lr", type=float, default=0.03)
    parser.add_argument("--fakes", action="store_true", help="invert generated samples instead of the scenes")
    parser.add_argument("--hidden-lr", type=float, default=0.03)
    parser.add_argument("--raw-lr", type=float, default=0.05, help="pipe.invert's default refine_lr")
    args = parser.parse_args()
    pipe = BlobGANPipeline.from_pretrained(args.release)
    net, gen, encoder = pipe.layout_net.eval(), pipe.generator.eval(), pipe.encoder
    for module in (net, gen, encoder):
        if module is not None:
            module.requires_grad_(False)
    size = gen.config.image_size
    torch.manual_seed(0)
    if args.fakes:
        with torch.no_grad():
            target = gen(net(torch.randn(args.n, net.config.latent_dim)), noise_mode="const").sample
    else:
        target = scenes_with_boxes(args.scenes, image_size=size)[0][: args.n].float() / 127.5 - 1  # (N, 3, S, S)
    n = len(target)

    def render(layout):
        with torch.no_grad():
            return gen(layout, noise_mode="const").sample

    results = []
    if encoder is not None:
        with torch.no_grad():
            encoded = encoder(target)
        start = encoded.raw
        results.append(summary("encoder", render(encoded.layout), target, encoded.layout, size))
    else:
        start = net.output_mean.expand(n, -1)

    # any layout: the raw vector, from the encoder's answer (pipe.invert's refinement, squared error alone)
    layout = net.decode(refine_raw(gen, net.decode, start, target, args.steps, args.raw_lr))
    results.append(summary("raw", render(layout), target, layout, size))

    # the layout network's layouts: the best of several latents per image (the same refinement, through the MLP)
    targets = target.repeat(args.restarts, 1, 1, 1)  # (R * N, 3, S, S)
    z = refine_raw(gen, lambda z: net.decode(net.raw(z)), torch.randn(args.restarts * n, net.config.latent_dim),
                   targets, args.steps, args.z_lr)
    error = reconstruction_distance(render(net.decode(net.raw(z))), targets)  # (R * N,)
    best = error.view(args.restarts, n).argmin(0)  # (N,) which restart each image keeps
    z = z.view(args.restarts, n, -1)[best, torch.arange(n)]  # (N, Z)
    layout = net.decode(net.raw(z))
    results.append(summary("z", render(layout), target, layout, size))

    if not net.config.shared_blob_head:  # the output layers alone, from the hidden vector of each image's best z
        heads = lambda hidden: net.decode(net.hidden_to_raw(hidden))  # noqa: E731
        with torch.no_grad():
            hidden = net.mlp(pixel_norm(z))  # (N, H)
        layout = heads(refine_raw(gen, heads, hidden, target, args.steps, args.hidden_lr))
        results.append(summary("hidden", render(layout), target, layout, size))

    scenes = "generated" if args.fakes else args.scenes
    print(json.dumps({"release": args.release, "scenes": scenes, "images": n, "steps": args.steps,
                      "restarts": args.restarts, "results": results}, indent=2))


if __name__ == "__main__":
    main()
