"""Does the frozen generator hold the encoder at 15 dB? The encoder trained with the generator learning too.

    # the control: round 17's recipe-loss loop (refined_labels.py train --label-weight 0), G frozen
    OMP_NUM_THREADS=1 python docs/research/blobgan-dead-blobs/joint_generator.py OUT --g-lr 0
    # G trained on the encoder's reconstructions too (the same loss, its gradient into G's weights)
    OMP_NUM_THREADS=1 python docs/research/blobgan-dead-blobs/joint_generator.py OUT --g-lr 2e-4
    # and on its GAN loss against the release's discriminator (trained too), so that its samples stay scenes
    OMP_NUM_THREADS=1 python docs/research/blobgan-dead-blobs/joint_generator.py OUT --g-lr 2e-4 --gan

Rounds 13-17 tried the encoder's teacher, width, head, feedback and per-blob reading with the generator frozen, as
train_inversion.py (and the BlobGAN paper) keep it; each landed within half a decibel of 15 dB, and the encoder fits
64 scenes alone only slowly (round 14). Hypothesis: the frozen generator renders a real scene well only from a
layout of per-scene detail (thin blobs painting parts), which an encoder shared by 5,000 scenes cannot produce; a
generator that also learns to render real scenes from the encoder's layouts (a decoder, as in an autoencoder) meets
the encoder half way, and the encoder alone reconstructs far closer. The cost to watch: the generator's samples
(FD against the training scenes, with the GAN loss or without) and the editability (objects carried when a blob of
the reconstruction moves, and in the samples).

The loop is refined_labels.py's with `--label-weight 0` (the same draws and seed; `--g-lr 0` is round 17's control,
the same operations in the same order, not rerun: its step-0 probe agrees to 0.01 dB): train_inversion.py's loss on
16 real and 16 generated scenes; with `--g-lr` > 0 the same loss's gradient also steps the generator (Adam, betas
(0, 0.99) as train_blobgan.py's); with `--gan` each step is first train_blobgan.py's GAN step (hfgan.steps.gan_step:
D on the 16 real scenes and 16 samples from the frozen layout network, jittered, DiffAugment colour + translation,
lazy R1 0.05 every 16; the non-saturating G loss) with the encoder's loss added to G's (`g_penalty`), the
discriminator's learning rate `--g-lr`'s. The layout network stays frozen. Printed every `--every` steps: PSNR on
the first 256 held-out emoji scenes and on the first 256 training scenes; then evaluate_inversion on both test sets,
carry_rate.py's editability on the first 64 emoji scenes' inversions, and the samples' FD / KID (2,000, emoji-cnn,
against the training scenes) and carrying (256 samples), before and after. Weights go to
OUT/{encoder,generator}.safetensors.
"""
import argparse
import json
import time
from pathlib import Path

import torch
from safetensors.torch import save_file

torch.set_num_threads(1)
from hfgan import BlobGANDiscriminator  # noqa: E402
from hfgan.augment import DiffAugment  # noqa: E402
from hfgan.losses import inversion_loss  # noqa: E402
from hfgan.metrics import Evaluator  # noqa: E402
from hfgan.perceptual import perceptual_distance  # noqa: E402
from hfgan.steps import gan_step  # noqa: E402
from carry_rate import samples_carry  # noqa: E402  (this folder)
from feedback_encoder import draw_fakes  # noqa: E402
from refined_labels import TRAIN, Curve, final_numbers, frozen_pipe, probe_scenes  # noqa: E402


def sample_stats(pipe, evaluator: Evaluator, num_carry: int) -> dict:
    """The samples' FD / KID and carry_rate.py's measures on `num_carry` samples (fixed z)."""
    return {**evaluator(pipe), **samples_carry(pipe, num_carry)}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("out")
    parser.add_argument("--release", default="zoo/blobgan-emoji-scenes-inversion")
    parser.add_argument("--g-lr", type=float, default=2e-4, help="0: the generator frozen (the control)")
    parser.add_argument("--gan", action="store_true", help="the generator's GAN loss too, D trained")
    parser.add_argument("--minutes", type=float, default=30)
    parser.add_argument("--every", type=int, default=250)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--num-eval", type=int, default=1000, help="test scenes per set at the end")
    args = parser.parse_args()
    if args.gan and not args.g_lr:
        parser.error("--gan trains the generator: give it --g-lr > 0")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    pipe = frozen_pipe(args.release)
    net, gen, encoder = pipe.layout_net, pipe.generator, pipe.encoder
    size = gen.config.image_size
    evaluator = Evaluator(TRAIN, metrics=["fd", "kid"], num_samples=2000, resolution=size)
    before = sample_stats(pipe, evaluator, 256)
    print(json.dumps({"samples_before": before}), flush=True)

    encoder.requires_grad_(True)
    opt_e = torch.optim.Adam(encoder.parameters(), lr=1e-3, betas=(0.9, 0.99))  # train_inversion.py's
    if args.g_lr:
        gen.requires_grad_(True)
        opt_g = torch.optim.Adam(gen.parameters(), lr=args.g_lr, betas=(0.0, 0.99))  # train_blobgan.py's betas
    if args.gan:
        disc = BlobGANDiscriminator.from_pretrained(args.release, subfolder="discriminator").train()
        opt_d = torch.optim.Adam(disc.parameters(), lr=args.g_lr, betas=(0.0, 0.99))
        augment = DiffAugment(["color", "translation"])
        gan_draws = torch.Generator().manual_seed(args.seed + 1)  # apart from `draws`, which the control shares
    perceptual = perceptual_distance("emoji-cnn-distance")
    train_images, held_out = probe_scenes(size)
    fitted = train_images[:256].float() / 127.5 - 1
    draws = torch.Generator().manual_seed(args.seed)
    b = 16

    curve = Curve(encoder, lambda x: gen(encoder(x).layout, noise_mode="const").sample, held_out, fitted)
    step = 0
    curve.add(step)
    while time.time() - curve.start < args.minutes * 60:
        pick = torch.randint(len(train_images), (b,), generator=draws)
        real = train_images[pick].float() / 127.5 - 1  # (B, 3, S, S)
        with torch.no_grad():
            beta_fake, fake = draw_fakes(net, gen, b, draws)  # the same draws as the control's

        def reconstruction_loss() -> torch.Tensor:  # train_inversion.py's, into E and (when it learns) G
            raw = encoder(torch.cat([real, fake])).raw  # (2B, raw_dim)
            reconstruction = gen(encoder.decode(raw), noise_mode="const").sample  # (2B, 3, S, S)
            return inversion_loss(real, reconstruction[:b], fake, reconstruction[b:], beta_fake, raw[b:],
                                  perceptual)["loss"]

        opt_e.zero_grad(set_to_none=True)
        if args.gan:
            z = torch.randn(b, net.config.latent_dim, generator=gan_draws)
            torch.manual_seed(args.seed * 1_000_003 + step)  # the jitter's and augmentation's draws

            def generate() -> torch.Tensor:
                with torch.no_grad():
                    layout = net(z).jittered(0.04, 0.5, 0.1)  # train_blobgan.py's jitter
                return gen(layout).sample

            gan_step(generate, disc, real, opt_g, opt_d, augment=augment, kind="non_saturating", r1_gamma=0.05,
                     r1_every=16, step=step, g_penalty=reconstruction_loss)  # G's step: GAN loss + E's loss
        else:
            loss = reconstruction_loss()
            if args.g_lr:
                opt_g.zero_grad(set_to_none=True)
            loss.backward()
            if args.g_lr:
                opt_g.step()
        opt_e.step()
        step += 1
        if step % args.every == 0:
            curve.add(step)
    encoder.eval().requires_grad_(False)
    gen.eval().requires_grad_(False)
    for name, module in (("encoder", encoder), ("generator", gen)):
        save_file({k: v.contiguous() for k, v in module.state_dict().items()}, out / f"{name}.safetensors")
    print(json.dumps({"release": args.release, "g_lr": args.g_lr, "gan": args.gan, "minutes": args.minutes,
                      "steps": step, "curve": curve, **final_numbers(pipe, args.num_eval),
                      "samples_before": before, "samples_after": sample_stats(pipe, evaluator, 256)}, indent=1))


if __name__ == "__main__":
    main()
