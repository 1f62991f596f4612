"""How close does any amortised model of this size come to the scenes in the same half hour? A plain autoencoder.

    OMP_NUM_THREADS=1 python docs/research/blobgan-dead-blobs/plain_autoencoder.py OUT --code 1478 [--minutes 30]
    OMP_NUM_THREADS=1 python docs/research/blobgan-dead-blobs/plain_autoencoder.py OUT --code 64
    OMP_NUM_THREADS=1 python docs/research/blobgan-dead-blobs/plain_autoencoder.py OUT --spatial  # 1,472 on 8 x 8
    OMP_NUM_THREADS=1 python docs/research/blobgan-dead-blobs/plain_autoencoder.py OUT --blobs global
    OMP_NUM_THREADS=1 python docs/research/blobgan-dead-blobs/plain_autoencoder.py OUT --blobs grid [--num-blobs K]
    OMP_NUM_THREADS=1 python docs/research/blobgan-dead-blobs/plain_autoencoder.py OUT --blobs grid \
        --decoder generator [--channel-base 1024 --channel-max 128] [--zoo-generator] [--distill W]

Rounds 13-18 found every BlobGAN encoder within half a decibel of 15 dB after 30-60 minutes on one thread, with
the generator frozen or learning too (round 18). A calibration, not a candidate: the zoo encoder's backbone (its
trained weights) and a linear layer to a code of `--code` numbers (1,478: the raw layout's size; 64: the backbone's
features), decoded by the project's DCGAN generator at the DCGAN default's widths (base 32; a fresh one), both
trained on the real half of train_inversion.py's loss only (emoji-cnn-distance + L2 between a training scene and its
reconstruction; batch 16, Adam lr 1e-3 (0.9, 0.99)), the same draws of training scenes as the encoder runs. No blobs
and no GAN: the easiest amortised reconstruction of these scenes with this encoder. If it passes 20 dB in the half
hour, the blob generator's rendering is what holds the BlobGAN encoder; if it too stays far under, 20 dB from an
encoder alone is out of this budget's reach for models of this size, blobs or not. Printed every `--every` steps:
PSNR on the first 256 held-out emoji scenes and the first 256 training scenes; at the end on 1,000 held-out emoji and
icons scenes each.

Round 19 (section 25 of the README here) found the vector code itself what holds it: `--spatial` lays the code on the
backbone's 8 x 8 grid instead (`--code` // 64 channels there, given to the decoder's 8 px stage) and reaches 22 dB in
the same half hour. `--blobs` makes the code a blob layout splatted on that grid as BlobGAN's generator splats its
input (each blob's phi and psi side by side): the zoo encoder's own (`global`) or grid_encoder.py's `GridEncoder`,
which takes the `--num-blobs` cells of largest s (`grid`; the release's K by default).

Round 20 (section 26): `--decoder generator` decodes the layout with BlobGAN's own generator instead, its splats at
every resolution from 8 px to 64 px, fresh (at the release's widths, or `--channel-base` / `--channel-max`), or the
release's GAN-trained one learning on (`--zoo-generator`); its noise the stored maps' (`"const"`, as the pipeline
renders). Its end is then the grid encoder's (every measure of the inversion pipeline, objects hit and carried
included, with this generator), and the weights are saved to OUT/model.safetensors.

Round 21 (section 27): `--distill W` anchors the learning generator to the release's GAN-trained one (frozen, a
copy): each step also draws 16 layouts from the release's layout network as train_inversion.py draws its fakes
(truncation psi ~ U[0.5, 1]) and adds W times the same perceptual + L2 loss between the learning generator's
rendering of them and the frozen generator's. The carry measure is then also taken on 256 of the layout network's
samples (fixed z) rendered by the learned generator.
"""
import argparse
import copy
import json
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from safetensors.torch import save_file

torch.set_num_threads(1)
from hfgan import BlobGANGenerator, DCGANGenerator  # noqa: E402
from hfgan.metrics.inversion import psnr, scenes_with_boxes  # noqa: E402
from hfgan.perceptual import perceptual_distance  # noqa: E402
from hfgan.utils import atomic_write  # noqa: E402
from hfgan.models.blobgan.splat import blob_alphas, splat  # noqa: E402
from carry_rate import samples_carry  # noqa: E402  (this folder)
from feedback_encoder import SCENES, draw_fakes  # noqa: E402
from grid_encoder import GridEncoder  # noqa: E402
from refined_labels import Curve, final_numbers, frozen_pipe, probe_scenes  # noqa: E402


class PlainAutoencoder(torch.nn.Module):
    def __init__(self, backbone: torch.nn.Module, features: int, code: int, image_size: int):
        super().__init__()
        self.backbone = backbone
        self.to_code = torch.nn.Linear(features, code)
        self.decoder = DCGANGenerator(latent_dim=code, base_channels=32, image_size=image_size)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        code = self.to_code(self.backbone(images))  # (B, code)
        return self.decoder(code[:, :, None, None]).sample  # (B, 3, S, S)


class SpatialAutoencoder(PlainAutoencoder):
    """The same backbone and decoder with the code laid out on the 8 px grid (round 19): `code` // 64 channels at
    each of the 8 x 8 places, read from the backbone's 8 px map by a 1x1 convolution and given to the DCGAN decoder's
    8 px stage (a 3x3 convolution to its 128 channels, BatchNorm, ReLU, then its layers from 8 px up)."""

    def __init__(self, backbone: torch.nn.Module, features: int, code: int, image_size: int):
        super().__init__(backbone, features, code, image_size)
        del self.to_code
        channels = {m.shape[-1]: m.shape[1] for m in backbone(torch.zeros(1, 3, image_size, image_size),
                                                              return_maps=True)[1]}
        stages, width = list(self.decoder.main), 128  # base 32: 128 channels at 8 px
        start = next(i for i, layer in enumerate(stages)  # the decoder's 8 px -> 16 px stage
                     if isinstance(layer, torch.nn.ConvTranspose2d) and layer.in_channels == width)
        self.to_code = torch.nn.Conv2d(channels[8], code // 64, 1)  # (B, C_8, 8, 8) -> (B, code / 64, 8, 8)
        self.decoder = torch.nn.Sequential(torch.nn.Conv2d(code // 64, width, 3, padding=1),
                                           torch.nn.BatchNorm2d(width), torch.nn.ReLU(True), *stages[start:])

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        maps = {m.shape[-1]: m for m in self.backbone(images, return_maps=True)[1]}
        return self.decoder(self.to_code(maps[8]))  # (B, 3, S, S)


class BlobAutoencoder(SpatialAutoencoder):
    """The same decoder from a blob layout (round 19): a BlobGAN encoder's layout (the zoo encoder's, its head
    included, or grid_encoder.py's `GridEncoder` on its backbone) splatted on the 8 px grid, each blob's phi and psi
    side by side (64 + 64 channels; the background's where no blob is), as BlobGAN's generator splats its input grid:
    the code is the layout's 1,478 numbers, held in 10 blobs."""

    def __init__(self, encoder: torch.nn.Module, image_size: int):
        c = encoder.config
        super().__init__(encoder.backbone, encoder.backbone.out_features, 64 * (c.structure_dim + c.style_dim),
                         image_size)
        del self.to_code, self.backbone
        self.encoder = encoder

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        layout = self.encoder(images).layout
        features = torch.cat([layout.features("structure"), layout.features("style")], 2)  # (B, K + 1, D + E)
        return self.decoder(splat(blob_alphas(*layout.splat_args(), 8), features).contiguous())  # (B, 3, S, S)


class GeneratorAutoencoder(torch.nn.Module):
    """A BlobGAN encoder's layout decoded by a BlobGAN generator (round 20): the generator's own rendering, each
    blob's style splatted at every resolution, as a decoder that learns."""

    def __init__(self, encoder: torch.nn.Module, generator: BlobGANGenerator):
        super().__init__()
        self.encoder, self.generator = encoder, generator

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.generator(self.encoder(images).layout, noise_mode="const").sample  # (B, 3, S, S)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("out")
    parser.add_argument("--release", default="zoo/blobgan-emoji-scenes-inversion")
    parser.add_argument("--code", type=int, default=1478)
    parser.add_argument("--spatial", action="store_true", help="the code as code // 64 channels on the 8 px grid")
    parser.add_argument("--blobs", choices=["global", "grid"], help="the code as a BlobGAN layout splatted at 8 px")
    parser.add_argument("--num-blobs", type=int, help="with --blobs grid: the K cells taken (the release's K)")
    parser.add_argument("--decoder", choices=["dcgan", "generator"], default="dcgan",
                        help="with --blobs: the DCGAN decoder from 8 px, or BlobGAN's generator (fresh, or "
                        "the release's with --zoo-generator)")
    parser.add_argument("--channel-base", type=int, help="with --decoder generator: its channel_base (the release's)")
    parser.add_argument("--channel-max", type=int, help="with --decoder generator: its channel_max (the release's)")
    parser.add_argument("--zoo-generator", action="store_true",
                        help="with --decoder generator: start from the release's trained generator")
    parser.add_argument("--distill", type=float, default=0.0,
                        help="with --decoder generator: weight of the release's frozen generator as a teacher on "
                        "the layout network's samples")
    parser.add_argument("--minutes", type=float, default=30)
    parser.add_argument("--every", type=int, default=250)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--num-eval", type=int, default=1000, help="test scenes per set at the end")
    args = parser.parse_args()
    if args.decoder == "generator" and not args.blobs:
        parser.error("--decoder generator decodes a blob layout: give --blobs global|grid")
    if args.zoo_generator and (args.decoder != "generator" or args.channel_base or args.channel_max):
        parser.error("--zoo-generator is the release's generator: give --decoder generator and no widths")
    if args.distill and args.decoder != "generator":
        parser.error("--distill anchors a learning BlobGAN generator: give --decoder generator")
    pipe = frozen_pipe(args.release)
    teacher = copy.deepcopy(pipe.generator) if args.distill else None  # frozen, before --zoo-generator's copy learns
    encoder = pipe.encoder
    size = encoder.config.image_size
    torch.manual_seed(args.seed)
    features = encoder.head.weight.shape[1]
    if args.blobs:
        blob_encoder = encoder if args.blobs == "global" else GridEncoder(encoder, num_blobs=args.num_blobs)
        if args.decoder == "dcgan":
            model = BlobAutoencoder(blob_encoder, size)
        else:
            widths = {k: v for k, v in (("channel_base", args.channel_base), ("channel_max", args.channel_max)) if v}
            generator = (pipe.generator if args.zoo_generator else  # a fresh one: the release's config, new widths
                         BlobGANGenerator.from_config(pipe.generator.config, **widths))
            model = GeneratorAutoencoder(blob_encoder, generator)
    else:
        model = (SpatialAutoencoder if args.spatial else PlainAutoencoder)(encoder.backbone, features, args.code,
                                                                           size)
    model.requires_grad_(True)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3, betas=(0.9, 0.99))
    perceptual = perceptual_distance("emoji-cnn-distance")
    train_images, held_out = probe_scenes(size)
    fitted = train_images[:256].float() / 127.5 - 1
    draws = torch.Generator().manual_seed(args.seed)
    fake_draws = torch.Generator().manual_seed(args.seed + 1)  # its own stream: the real draws stay the runs' own
    b = 16

    curve = Curve(model, model, held_out, fitted)
    step = 0
    curve.add(step)
    while time.time() - curve.start < args.minutes * 60:
        pick = torch.randint(len(train_images), (b,), generator=draws)  # the encoder runs' draws of real scenes
        real = train_images[pick].float() / 127.5 - 1  # (B, 3, S, S)
        reconstruction = model(real)
        loss = perceptual(real, reconstruction).mean() + F.mse_loss(reconstruction, real)  # inversion_loss's real half
        if args.distill:
            with torch.no_grad():
                beta, target = draw_fakes(pipe.layout_net, teacher, b, fake_draws)  # (B, raw), (B, 3, S, S)
            student = model.generator(pipe.layout_net.decode(beta), noise_mode="const").sample
            loss = loss + args.distill * (perceptual(target, student).mean() + F.mse_loss(student, target))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        step += 1
        if step % args.every == 0:
            curve.add(step)
    model.eval().requires_grad_(False)
    if isinstance(model, GeneratorAutoencoder):
        state = {k: v.contiguous() for k, v in model.state_dict().items()}
        atomic_write(Path(args.out) / "model.safetensors", lambda tmp: save_file(state, tmp))
        pipe.encoder, pipe.generator = model.encoder, model.generator
        print(json.dumps({**vars(args), "steps": step, "curve": curve, **final_numbers(pipe, args.num_eval),
                          "carry_256_samples": samples_carry(pipe)}, indent=1))
        return
    results = {}
    for name, path in SCENES.items():
        images = scenes_with_boxes(path, image_size=size)[0][: args.num_eval].float() / 127.5 - 1
        with torch.no_grad():
            scores = torch.cat([psnr((model(chunk).clamp(-1, 1) + 1) / 2, (chunk + 1) / 2)
                                for chunk in images.split(250)])
        results[name] = scores.mean().item()
    print(json.dumps({"code": args.code, "spatial": args.spatial, "blobs": args.blobs, "num_blobs": args.num_blobs,
                      "minutes": args.minutes, "steps": step, "curve": curve, "psnr": results}, indent=1))


if __name__ == "__main__":
    main()
