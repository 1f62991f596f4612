"""Train an encoder for a StyleGAN generator (e4e-style inversion): images -> ws that the frozen generator renders back.

    # a trained StyleGAN release first (python training/train_stylegan.py, or hfgan convert-pkl of NVIDIA's pickle)
    python training/train_stylegan_encoder.py stylegan=outputs/stylegan2-emoji/release
    # W only (edits best) instead of W with per-layer offsets
    python training/train_stylegan_encoder.py stylegan=outputs/stylegan2-emoji/release model.space=w
    # LPIPS with VGG16 as the perceptual term (needs torchvision's ImageNet weights: a local file here)
    python training/train_stylegan_encoder.py stylegan=... perceptual.name=lpips-vgg \
        perceptual.weights=vgg16-397923af.pth
    # tiny, for tests
    python training/train_stylegan_encoder.py experiment=stylegan_encoder_debug stylegan=<a tiny release> \
        output_dir=/tmp/enc
    # continue a run; push the release (the StyleGAN pipeline with its encoder) to the Hub
    python training/train_stylegan_encoder.py stylegan=... resume=latest output_dir=outputs/stylegan-encoder
    python training/train_stylegan_encoder.py stylegan=... hub.push=true hub.repo_id=user/stylegan2-emoji

The loss is BlobGAN's inversion loss (hfgan.losses.inversion_loss) with w in place of the blob layout, plus e4e's
delta regulariser on the per-layer offsets; the generator stays frozen (its EMA weights, as released):

    L = P(x_real, G(E(x_real))) + P(x_fake, G(E(x_fake))) + L2(x_real, G(E(x_real))) + L2(x_fake, G(E(x_fake)))
        + lambda * L2(ws_fake, E(x_fake)) + delta_weight * mean_i ||delta_i(x)||^2

x_fake = G(ws_fake), ws_fake the mapping network's w truncated by a psi drawn per image from
[truncation.min, truncation.max]. P is `perceptual.name` (hfgan.perceptual; `emoji-cnn-distance` offline, which is
not LPIPS and is named as such in the logs and the card).

Every value lives in training/configs/ (train_stylegan_encoder.yaml); an unknown key is an error naming it.
Everything around the step (output folder, resume, logging, checkpoints, releases, pushes) is
`hfgan.training.TrainingRun`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import hydra
import torch
from accelerate import Accelerator
from omegaconf import MISSING, DictConfig

from common import training_run
from hfgan import StyleGAN2Discriminator, StyleGANEncoder, StyleGANPipeline
from hfgan.data import load_image_dataset
from hfgan.losses import inversion_loss
from hfgan.metrics import load_backbone
from hfgan.metrics.inversion import evaluate_stylegan_inversion
from hfgan.models.stylegan.encoder import SPACES
from hfgan.metrics.registry import metric_names  # metrics.metrics names -> their result keys
from hfgan.perceptual import perceptual_distance
from hfgan.pipelines.image_processor import to_pil_images
from hfgan.training import check_finite, check_non_negative, load_training_images, run_main, step_seed, \
    validate_config
from hfgan.training.inversion import EncoderModelConfig, EncoderRunConfig, FrozenNetworks, InversionLossConfig, \
    check_encoder_config, inversion_scalars
from hfgan.utils import make_image_grid

METRICS = ("psnr", "fd", "latent")  # of hfgan.metrics.registry.INVERSION_METRICS; blob alignment is BlobGAN's


@dataclass
class StyleGANEncoderModelConfig(EncoderModelConfig):
    space: str = MISSING  # w | w+


@dataclass
class StyleGANEncoderLossConfig(InversionLossConfig):
    delta_weight: float = MISSING  # e4e's regulariser on the per-layer offsets (space w+)


@dataclass
class TrainStyleGANEncoderConfig(EncoderRunConfig):
    stylegan: str = MISSING  # the StyleGAN release to invert: a folder or a Hub repo id
    model: StyleGANEncoderModelConfig = field(default_factory=StyleGANEncoderModelConfig)
    loss: StyleGANEncoderLossConfig = field(default_factory=StyleGANEncoderLossConfig)


def train(cfg: DictConfig) -> dict:
    """Run one training; returns a summary (steps, images seen, wall time, output paths, metrics, why it stopped)."""
    cfg = validate_config(cfg, TrainStyleGANEncoderConfig)
    check_encoder_config(cfg, METRICS)
    check_non_negative(cfg, "loss.delta_weight")
    if cfg.model.space not in SPACES:
        raise ValueError(f"model.space={cfg.model.space!r}: choose one of {', '.join(SPACES)}")
    accelerator = Accelerator(mixed_precision=cfg.mixed_precision, cpu=not torch.cuda.is_available())
    rank, world = accelerator.process_index, accelerator.num_processes
    device = accelerator.device

    # ---- the frozen generator, the perceptual distance and the test images first: a bad one fails before any output
    source = StyleGANPipeline.from_pretrained(cfg.stylegan)
    discriminator = None  # carried into the release when the source has one, so it can replace the source whole
    if (Path(cfg.stylegan) / "discriminator" / "config.json").is_file():
        discriminator = StyleGAN2Discriminator.from_pretrained(cfg.stylegan, subfolder="discriminator")
    generator = source.generator.eval().requires_grad_(False).to(device)
    if generator.config.c_dim:
        raise ValueError(f"stylegan={cfg.stylegan} is a conditional generator; the encoder trains for unconditional "
                         f"ones")
    image_size = generator.config.img_resolution
    if cfg.data.image_size != image_size:
        raise ValueError(f"data.image_size={cfg.data.image_size}, but the StyleGAN release {cfg.stylegan} renders "
                         f"{image_size}-px images: set data.image_size={image_size}")
    low, high = cfg.truncation.min, cfg.truncation.max
    perceptual = perceptual_distance(cfg.perceptual.name, cfg.perceptual.weights).to(device)
    split = cfg.test_data.split or "test"
    test_set = load_image_dataset(cfg.test_data.source, split=split, image_size=image_size)
    test_images = test_set.uint8(slice(0, max(cfg.metrics.num_samples, cfg.logging.num_samples)))  # (N, 3, S, S)
    print(f"StyleGAN: {cfg.stylegan} (generator frozen). Perceptual term: {perceptual.display_name}, weights "
          f"{perceptual.weights_source}. Test images: {len(test_images)} of {cfg.test_data.source} ({split})",
          flush=True)

    with training_run(cfg, accelerator) as run:
        # ---- data: uint8 images in memory, (N, 3, S, S); batches are drawn by (seed, step, rank)
        dataset = load_training_images(cfg.data)
        if len(dataset) < cfg.batch_size:
            raise ValueError(f"batch_size={cfg.batch_size} is larger than the dataset ({len(dataset)} images)")

        # ---- the encoder (restored from the checkpoint when resuming), starting at the generator's mean w
        torch.manual_seed(cfg.seed)
        encoder = StyleGANEncoder.for_generator(generator, space=cfg.model.space,
                                                channel_base=cfg.model.channel_base,
                                                channel_max=cfg.model.channel_max).to(device)
        opt = torch.optim.Adam(encoder.parameters(), lr=cfg.optim.lr, betas=(cfg.optim.beta1, cfg.optim.beta2))
        frozen = FrozenNetworks("stylegan", cfg.stylegan, generator=generator)
        run.track(models={"encoder": encoder}, optimizers={"opt": opt}, states={"frozen": frozen})
        encoder, opt = accelerator.prepare(encoder, opt)

        def release() -> StyleGANPipeline:
            return StyleGANPipeline(generator=generator, directions=source.directions,
                                    encoder=accelerator.unwrap_model(encoder))

        def inversion_grid(pipe: StyleGANPipeline):  # each test image beside its reconstruction
            images = test_images[: cfg.logging.num_samples]
            pairs = zip(to_pil_images(images.float() / 255), pipe.invert(images, method="encoder").reconstructions)
            return make_image_grid([tile for pair in pairs for tile in pair], cols=2 * min(4, len(images)))

        wanted = list(cfg.metrics.metrics)
        evaluated = test_images[: cfg.metrics.num_samples]

        backbone = {}  # the FD's feature network, loaded at the first evaluation

        def evaluate(pipe: StyleGANPipeline) -> dict[str, float]:
            if "fd" in wanted and not backbone:
                backbone["net"] = load_backbone(cfg.metrics.backbone, device=device)
            results = evaluate_stylegan_inversion(
                pipe, evaluated, method="encoder", num_fakes=cfg.metrics.num_samples if "latent" in wanted else 0,
                truncation_psi=(low, high), seed=cfg.seed, backbone=backbone.get("net"),
            )
            keep = {key for name in wanted for key in metric_names(name, cfg.metrics.backbone, "inversion")}
            return {key: value for key, value in results.items() if key in keep}

        run.set_release(
            pipeline=release,
            samples=inversion_grid,
            evaluator=evaluate if run.is_main and cfg.metrics.every >= 0 else None,
            extra_models={"discriminator": discriminator} if discriminator is not None else None,
            card={
                "StyleGAN": f"{cfg.stylegan}: generator (its EMA weights, as released), frozen",
                "encoder": f"space {cfg.model.space}: ws = w_avg + w(x)"
                + (" + delta_i(x) per layer" if cfg.model.space == "w+" else ""),
                "loss": f"P(x, G(E(x))) + {cfg.loss.pixel_weight} x L2(x, G(E(x))) on real and generated images, + "
                f"{cfg.loss.latent_weight} x L2(ws_fake, E(x_fake))"
                + (f" + {cfg.loss.delta_weight} x mean ||delta_i||^2" if cfg.model.space == "w+" else ""),
                "perceptual term P": f"`{perceptual.name}`: {perceptual.display_name}; weights: "
                f"{perceptual.weights_source}",
                "generated images": f"x_fake = G(ws_fake), ws_fake the mapping's w at truncation psi ~ "
                f"U[{low}, {high}] per image",
                "test data": f"{cfg.test_data.source} ({split}, first {len(evaluated)} images)",
            },
        )

        # ---- the loop
        b = cfg.batch_size
        while run.next_step():
            step = run.step
            torch.manual_seed(step_seed(cfg.seed, step, rank))  # this step's draws depend only on (seed, step, rank)
            real = run.real_batch(dataset)  # (B, 3, S, S) in [-1, 1]

            # x_fake = G(ws_fake), ws_fake the mapping's w truncated towards w_avg by a per-image psi
            with torch.no_grad():
                z = torch.randn(b, generator.config.z_dim, device=device)
                psi = low + (high - low) * torch.rand(b, device=device)  # one truncation psi per image
                ws_fake = generator.map(z, truncation_psi=psi)  # (B, num_ws, w_dim)
                fake = generator.synthesize(ws_fake, noise_mode="const")  # (B, 3, S, S)

            # One encoder pass and one render for both halves; the generator's stored noise, as the pipeline renders
            with accelerator.autocast():
                encoded = encoder(torch.cat([real, fake]))
                reconstruction = generator.synthesize(encoded.ws, noise_mode="const")  # (2B, 3, S, S)
                out = inversion_loss(real, reconstruction[:b], fake, reconstruction[b:], ws_fake.flatten(1),
                                     encoded.ws[b:].flatten(1), lambda x, y: perceptual(x.float(), y.float()),
                                     cfg.loss.latent_weight, cfg.loss.pixel_weight)
                delta = encoded.deltas.float().square().sum(2).mean()  # mean over images and layers of ||delta_i||^2
                loss = out["loss"] + cfg.loss.delta_weight * delta
            check_finite(step, loss, run.out)
            opt.zero_grad(set_to_none=True)
            accelerator.backward(loss)
            opt.step()

            run.step_done(images=b * world)
            if run.due(cfg.logging.every, at_end=True):
                run.log({"loss": loss.item(), **inversion_scalars(out, perceptual), "delta_l2": delta.item()})
            run.periodic()  # sample grid, evaluation, checkpoint: each when due
        return run.finish()


@hydra.main(config_path="configs", config_name="train_stylegan_encoder", version_base=None)
def main(cfg: DictConfig) -> None:
    run_main(train, cfg)


if __name__ == "__main__":
    main()
