"""Can the encoder fit a handful of real scenes at all? A release's encoder trained on N held-out scenes alone, with
the generator frozen, on the squared error only (so on PSNR), full batch: where per-image optimisation of the raw
layout reaches 22-25 dB (latent_reach.py), an encoder that cannot memorise N scenes past the mid-teens is held back
by how it is trained through the generator, not by what it has seen.

    OMP_NUM_THREADS=1 python docs/research/blobgan-dead-blobs/encoder_overfit.py RELEASE [N=64] [--steps 600] \
        [--lr 1e-3] > out.json

Printed: the PSNR (dB) on the N fitted scenes every `--every` steps, and at the start and the end on the next N
held-out scenes (not fitted), with the visible blobs per image.

`--space hidden` fits an encoder that answers in the layout network's last hidden vector h (256 numbers) instead of
the raw layout (1,478), decoded by the network's frozen output layers (latent_reach.py's `hidden` way): its head is
the release's, projected onto what those layers can give (least squares), so it starts from nearly the same answer.
"""
import argparse
import json

import torch

torch.set_num_threads(1)
from hfgan import BlobGANPipeline  # noqa: E402
from hfgan.metrics.inversion import scenes_with_boxes  # noqa: E402
from hfgan.models.layers.stylegan2 import EqualLinear  # noqa: E402
from latent_reach import scores  # noqa: E402  (this folder)


def hidden_encoder(encoder, net):
    """images -> layouts through the encoder's backbone, a new equalised head to h, and the layout network's output
    layers; the head starts as the encoder's own projected onto those layers' image: raw = W f + b becomes
    h = P W f + P (b - b_out), P the least-squares inverse of the output layers (W_out, b_out)."""
    head = EqualLinear(encoder.backbone.out_features, net.config.hidden_dim)
    with torch.no_grad():
        weight = encoder.head.weight * encoder.head.scale  # (raw_dim, F): the effective weights
        bias = encoder.head.bias * encoder.head.bias_gain  # (raw_dim,)
        head.weight.copy_(torch.linalg.lstsq(net.output_affine()[0], weight).solution / head.scale)  # (H, F)
        head.bias.copy_(net.project_to_hidden(bias[None])[0] / head.bias_gain)
    return (torch.nn.ModuleList([encoder.backbone, head]),
            lambda images: net.decode(net.hidden_to_raw(head(encoder.backbone(images)))))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("release")
    parser.add_argument("n", type=int, nargs="?", default=64)
    parser.add_argument("--scenes", default="data/scenes/scenes-64-test.parquet")
    parser.add_argument("--steps", type=int, default=600)
    parser.add_argument("--every", type=int, default=50)
    parser.add_argument("--space", choices=["raw", "hidden"], default="raw")
    parser.add_argument("--lr", type=float, default=1e-3, help="train_inversion.py's default")
    args = parser.parse_args()
    pipe = BlobGANPipeline.from_pretrained(args.release)
    gen, encoder = pipe.generator.eval().requires_grad_(False), pipe.encoder.train()
    if args.space == "hidden":
        trained, encode = hidden_encoder(encoder, pipe.layout_net.eval().requires_grad_(False))
    else:
        trained, encode = encoder, lambda images: encoder(images).layout
    size = gen.config.image_size
    scenes = scenes_with_boxes(args.scenes, image_size=size)[0][: 2 * args.n].float() / 127.5 - 1
    fit, other = scenes[: args.n], scenes[args.n:]  # (N, 3, S, S) each

    def score(images: torch.Tensor) -> dict:
        with torch.no_grad():
            layout = encode(images)
            out = gen(layout, noise_mode="const").sample
        return scores(out, images, layout, size)

    start = {"fitted": score(fit), "held_out": score(other)}
    optimizer = torch.optim.Adam(trained.parameters(), lr=args.lr, betas=(0.9, 0.99))  # train_inversion.py's
    curve = []
    for step in range(1, args.steps + 1):
        out = gen(encode(fit), noise_mode="const").sample
        loss = (out - fit).square().mean()
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        if step % args.every == 0 or step == args.steps:
            curve.append({"step": step, **score(fit)})
    print(json.dumps({"release": args.release, "scenes": args.scenes, "n": args.n, "space": args.space, "lr": args.lr,
                      "start": start, "curve": curve, "end_held_out": score(other)}, indent=2))


if __name__ == "__main__":
    main()
