"""How close does any amortised model of this size come to the scenes in the same half hour? A plain autoencoder.

    OMP_NUM_THREADS=1 python docs/research/blobgan-dead-blobs/plain_autoencoder.py OUT --code 1478 [--minutes 30]
    OMP_NUM_THREADS=1 python docs/research/blobgan-dead-blobs/plain_autoencoder.py OUT --code 64

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
"""
import argparse
import json
import time

import torch
import torch.nn.functional as F

torch.set_num_threads(1)
from hfgan import DCGANGenerator  # noqa: E402
from hfgan.metrics.inversion import psnr, scenes_with_boxes  # noqa: E402
from hfgan.perceptual import perceptual_distance  # noqa: E402
from feedback_encoder import SCENES  # noqa: E402  (this folder)
from refined_labels import frozen_pipe, probe_psnr, probe_scenes  # noqa: E402


class PlainAutoencoder(torch.nn.Module):
    def __init__(self, backbone: torch.nn.Module, features: int, code: int, image_size: int):
        super().__init__()
        self.backbone = backbone
        self.to_code = torch.nn.Linear(features, code)
        self.decoder = DCGANGenerator(latent_dim=code, base_channels=32, image_size=image_size)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        code = self.to_code(self.backbone(images))  # (B, code)
        return self.decoder(code[:, :, None, None]).sample  # (B, 3, S, S)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("out")
    parser.add_argument("--release", default="zoo/blobgan-emoji-scenes-inversion")
    parser.add_argument("--code", type=int, default=1478)
    parser.add_argument("--minutes", type=float, default=30)
    parser.add_argument("--every", type=int, default=250)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--num-eval", type=int, default=1000, help="test scenes per set at the end")
    args = parser.parse_args()

    encoder = frozen_pipe(args.release).encoder
    size = encoder.config.image_size
    torch.manual_seed(args.seed)
    features = encoder.head.weight.shape[1]
    model = PlainAutoencoder(encoder.backbone, features, args.code, size).requires_grad_(True)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3, betas=(0.9, 0.99))
    perceptual = perceptual_distance("emoji-cnn-distance")
    train_images, held_out = probe_scenes(size)
    fitted = train_images[:256].float() / 127.5 - 1
    draws = torch.Generator().manual_seed(args.seed)
    b = 16

    def point(step: int) -> dict:
        model.eval()
        result = {"step": step, "minutes": round((time.time() - start) / 60, 2),
                  "held_out": probe_psnr(model, held_out), "train": probe_psnr(model, fitted)}
        model.train()
        return result

    start, step = time.time(), 0
    curve = [point(0)]
    print(json.dumps(curve[-1]), flush=True)
    while time.time() - start < args.minutes * 60:
        pick = torch.randint(len(train_images), (b,), generator=draws)  # the encoder runs' draws of real scenes
        real = train_images[pick].float() / 127.5 - 1  # (B, 3, S, S)
        reconstruction = model(real)
        loss = perceptual(real, reconstruction).mean() + F.mse_loss(reconstruction, real)  # inversion_loss's real half
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        step += 1
        if step % args.every == 0:
            curve.append(point(step))
            print(json.dumps(curve[-1]), flush=True)
    model.eval()
    results = {}
    for name, path in SCENES.items():
        images = scenes_with_boxes(path, image_size=size)[0][: args.num_eval].float() / 127.5 - 1
        with torch.no_grad():
            scores = torch.cat([psnr((model(chunk).clamp(-1, 1) + 1) / 2, (chunk + 1) / 2)
                                for chunk in images.split(250)])
        results[name] = scores.mean().item()
    print(json.dumps({"code": args.code, "minutes": args.minutes, "steps": step, "curve": curve, "psnr": results},
                     indent=1))


if __name__ == "__main__":
    main()
