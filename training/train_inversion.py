"""Train a BlobGAN encoder (inversion): real images -> blob layouts that the frozen BlobGAN generator renders back.

    # the scenes, and a trained BlobGAN (the zoo's, or your own run's release), first
    hfgan prepare-scenes --out data/scenes
    # the default CPU recipe: an encoder for zoo/blobgan-emoji-scenes at 64 px, a one-hour budget
    python training/train_inversion.py
    # another BlobGAN release: a folder or a Hub repo id
    python training/train_inversion.py blobgan=outputs/blobgan-emoji-scenes/release
    # LPIPS with VGG16 as the paper's perceptual term (needs torchvision's ImageNet weights: downloaded on a networked
    # machine, or a local file)
    python training/train_inversion.py perceptual.name=lpips-vgg perceptual.weights=vgg16-397923af.pth
    # tiny, for tests
    python training/train_inversion.py experiment=inversion_debug blobgan=<a tiny release> output_dir=/tmp/inv
    # continue a run; push the release (the BlobGAN pipeline with its encoder) to the Hub
    python training/train_inversion.py resume=latest output_dir=outputs/blobgan-emoji-scenes-inversion
    python training/train_inversion.py hub.push=true hub.repo_id=user/blobgan-emoji-scenes

The loss (hfgan.losses.inversion_loss), with G and the layout network frozen (G's EMA weights, as released):

    L = P(x_real, G(E(x_real))) + P(x_fake, G(E(x_fake))) + L2(x_real, G(E(x_real))) + L2(x_fake, G(E(x_fake)))
        + lambda * L2(beta_fake, E(x_fake))        (loss.latent_weight; loss.pixel_weight scales the L2 terms, 1)

x_fake = G(beta_fake), beta_fake the layout network's raw output at a truncation psi drawn per image from
[truncation.min, truncation.max]. P is the perceptual distance `perceptual.name`: `lpips-vgg` (LPIPS, VGG backbone) or,
where no ImageNet weights can be had (the CPU default), `emoji-cnn-distance` (an LPIPS-style distance on hfgan's
emoji-cnn features, which is not LPIPS and is named as such in the logs and the model card).

Every value lives in training/configs/ (train_inversion.yaml); an unknown key is an error naming it. Everything around
the step (output folder, resume, logging, checkpoints, releases, pushes) is `hfgan.training.TrainingRun`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import hydra
import torch
from accelerate import Accelerator
from omegaconf import MISSING, DictConfig

from common import training_run
from hfgan import BlobGANDiscriminator, BlobGANEncoder, BlobGANPipeline, render_layout
from hfgan.losses import inversion_loss
from hfgan.metrics.inversion import evaluate_inversion, scenes_with_boxes
from hfgan.metrics.registry import metric_names  # metrics.metrics names -> their result keys
from hfgan.perceptual import perceptual_distance
from hfgan.training import check_finite, load_training_images, run_main, step_seed, validate_config
from hfgan.training.inversion import (
    EncoderModelConfig, EncoderRunConfig, FrozenNetworks, check_encoder_config, inversion_scalars,
)
from hfgan.pipelines.image_processor import to_pil_images
from hfgan.utils import make_image_grid


@dataclass
class BlobGANEncoderModelConfig(EncoderModelConfig):
    init: str = MISSING  # random | discriminator (the release's trained discriminator's backbone)


@dataclass
class TrainInversionConfig(EncoderRunConfig):
    blobgan: str = MISSING  # the BlobGAN release to invert: a folder or a Hub repo id
    model: BlobGANEncoderModelConfig = field(default_factory=BlobGANEncoderModelConfig)


def load_blobgan(source: str) -> tuple[BlobGANPipeline, BlobGANDiscriminator | None]:
    """The BlobGAN release (a folder or a Hub repo id), and its discriminator when the folder has one (carried into
    this run's release, so that it can replace the BlobGAN release whole)."""
    try:
        pipe = BlobGANPipeline.from_pretrained(source)
    except (OSError, ValueError) as error:
        if Path(source).is_dir() or (isinstance(error, ValueError) and "holds a" in str(error)):
            raise  # a folder that is not a BlobGAN release, or a release of another pipeline: the error says so
        raise FileNotFoundError(
            f"blobgan={source} is neither a BlobGAN release folder here nor a Hub repo that loads "
            f"({type(error).__name__}: {error}). Train one first (python training/train_blobgan.py writes "
            f"outputs/blobgan-emoji-scenes/release) "
            f"and pass blobgan=<that folder>, or a Hub repo id."
        ) from None
    discriminator = None
    if (Path(source) / "discriminator" / "config.json").is_file():
        discriminator = BlobGANDiscriminator.from_pretrained(source, subfolder="discriminator")
    return pipe, discriminator


def inversion_grid(pipe: BlobGANPipeline, images: torch.Tensor, per_row: int = 4):
    """The sample grid: each test image, its reconstruction and its encoded blobs side by side, `per_row` triplets a
    row."""
    output = pipe.invert(images)
    size = output.reconstructions[0].width
    blobs = render_layout(output.layouts, size=size, numbers=False)
    originals = to_pil_images(images.float() / 255)
    tiles = [tile for triplet in zip(originals, output.reconstructions, blobs) for tile in triplet]
    return make_image_grid(tiles, cols=3 * min(per_row, len(images)))


def train(cfg: DictConfig) -> dict:
    """Run one training; returns a summary (steps, images seen, wall time, output paths, metrics, why it stopped)."""
    cfg = validate_config(cfg, TrainInversionConfig)
    check_encoder_config(cfg)
    if cfg.model.init not in ("random", "discriminator"):
        raise ValueError(f"model.init must be random or discriminator, got {cfg.model.init!r}")
    accelerator = Accelerator(mixed_precision=cfg.mixed_precision, cpu=not torch.cuda.is_available())
    rank, world = accelerator.process_index, accelerator.num_processes
    device = accelerator.device

    # ---- the frozen BlobGAN, the perceptual distance and the test scenes first: a bad one fails before any output
    source, discriminator = load_blobgan(cfg.blobgan)
    if cfg.model.init == "discriminator" and discriminator is None:
        raise ValueError(f"model.init=discriminator, but the BlobGAN release {cfg.blobgan} has no discriminator/ "
                         f"folder to start from")
    layout_net, generator = source.layout_net.eval(), source.generator.eval()
    for network in (layout_net, generator):
        network.requires_grad_(False).to(device)
    image_size = generator.config.image_size
    if cfg.data.image_size != image_size:
        raise ValueError(f"data.image_size={cfg.data.image_size}, but the BlobGAN release {cfg.blobgan} renders "
                         f"{image_size}-px images: set data.image_size={image_size}")
    low, high = cfg.truncation.min, cfg.truncation.max
    truncated = (low, high) != (1.0, 1.0)
    if truncated and int(layout_net.mean_samples) == 0:  # a release always has it; a bare layout network may not
        layout_net.compute_mean(4096, generator=torch.Generator().manual_seed(cfg.seed + 1))
    perceptual = perceptual_distance(cfg.perceptual.name, cfg.perceptual.weights).to(device)
    try:
        test_images, test_boxes = scenes_with_boxes(cfg.test_data.source, cfg.test_data.split, image_size)
    except FileNotFoundError as error:
        raise FileNotFoundError(f"test_data.source: {error}. Make the scenes first: hfgan prepare-scenes --out "
                                f"{Path(cfg.test_data.source).parent} (see docs/datasets.md)") from None
    wanted = list(cfg.metrics.metrics)
    if "alignment" in wanted and test_boxes is None:
        raise ValueError(f"test_data.source={cfg.test_data.source} has no boxes column, so the blob-object alignment "
                         f"cannot be measured: drop alignment from metrics.metrics")
    print(f"BlobGAN: {cfg.blobgan} (generator and layout network frozen). Perceptual term: {perceptual.display_name}, "
          f"weights {perceptual.weights_source}", flush=True)

    with training_run(cfg, accelerator) as run:
        # ---- data: uint8 images in memory, (N, 3, S, S); batches are drawn by (seed, step, rank)
        dataset = load_training_images(cfg.data)
        if len(dataset) < cfg.batch_size:
            raise ValueError(f"batch_size={cfg.batch_size} is larger than the dataset ({len(dataset)} images)")

        # ---- the encoder (restored from the checkpoint when resuming) and its optimiser
        torch.manual_seed(cfg.seed)
        c = layout_net.config
        encoder = BlobGANEncoder(image_size, c.num_blobs, c.structure_dim, c.style_dim, c.blob_variance,
                                 cfg.model.channel_base, cfg.model.channel_max, max_aspect_ratio=c.max_aspect_ratio)
        encoder.check_compatible(source)
        if cfg.model.init == "discriminator":
            encoder.init_from_discriminator(discriminator)
        if int(layout_net.mean_samples):
            encoder.start_at(layout_net.output_mean)  # an untrained encoder predicts the mean layout, not noise
        opt = torch.optim.Adam(encoder.parameters(), lr=cfg.optim.lr, betas=(cfg.optim.beta1, cfg.optim.beta2))
        frozen = FrozenNetworks("blobgan", cfg.blobgan, layout_net=layout_net, generator=generator)
        run.track(models={"encoder": encoder}, optimizers={"opt": opt}, states={"frozen": frozen})
        encoder, opt = accelerator.prepare(encoder, opt)

        def release() -> BlobGANPipeline:
            return BlobGANPipeline(layout_net=layout_net, generator=generator,
                                   encoder=accelerator.unwrap_model(encoder))

        grid_images = test_images[: cfg.logging.num_samples]
        evaluated = test_images[: cfg.metrics.num_samples]

        backbone = {}  # the FD's feature network, loaded at the first evaluation

        def evaluate(pipe: BlobGANPipeline) -> dict[str, float]:
            if "fd" in wanted and not backbone:
                from hfgan.metrics import load_backbone

                backbone["net"] = load_backbone(cfg.metrics.backbone, device=device)
            results = evaluate_inversion(
                pipe, evaluated, test_boxes[: len(evaluated)] if "alignment" in wanted else None,
                num_fakes=cfg.metrics.num_samples if "latent" in wanted else 0, truncation_psi=(low, high),
                seed=cfg.seed, backbone=backbone.get("net"),
            )
            keep = {key for name in wanted for key in metric_names(name, cfg.metrics.backbone, "inversion")}
            return {key: value for key, value in results.items() if key in keep}

        run.set_release(
            pipeline=release,
            samples=lambda pipe: inversion_grid(pipe, grid_images),
            evaluator=evaluate if run.is_main and cfg.metrics.every >= 0 else None,
            extra_models={"discriminator": discriminator} if discriminator is not None else None,
            card={
                "BlobGAN": f"{cfg.blobgan}: generator (its EMA weights, as released) and layout network, frozen",
                "loss": f"P(x, G(E(x))) + {cfg.loss.pixel_weight} x L2(x, G(E(x))) on real and generated images, + "
                f"{cfg.loss.latent_weight} x L2(beta_fake, E(x_fake))",
                "perceptual term P": f"`{perceptual.name}`: {perceptual.display_name}; weights: "
                f"{perceptual.weights_source}",
                "generated images": f"x_fake = G(beta_fake), beta_fake from the layout network at truncation psi ~ "
                f"U[{low}, {high}] per image",
                "test data": f"{cfg.test_data.source} (first {len(evaluated)} images); a blob is visible where its "
                "composite alpha exceeds 0.5",
            },
        )

        # ---- the loop
        b = cfg.batch_size
        while run.next_step():
            step = run.step
            torch.manual_seed(step_seed(cfg.seed, step, rank))  # this step's draws depend only on (seed, step, rank)
            real = run.real_batch(dataset)  # (B, 3, S, S) in [-1, 1]

            # x_fake = G(beta_fake), beta_fake the layout network's raw output at a per-image truncation psi
            with torch.no_grad():
                beta_fake = layout_net.raw(torch.randn(b, c.latent_dim, device=device))  # (B, raw_dim)
                if truncated:
                    beta_fake = layout_net.truncate(beta_fake, low + (high - low) * torch.rand(b, device=device))
                fake = generator(layout_net.decode(beta_fake), noise_mode="const").sample  # (B, 3, S, S)

            # One encoder pass and one render for both halves (no batch statistics anywhere: they do not mix); the
            # generator's fixed noise, as the pipeline renders
            with accelerator.autocast():
                encoded = encoder(torch.cat([real, fake]))
                reconstruction = generator(encoded.layout, noise_mode="const").sample  # (2B, 3, S, S)
                out = inversion_loss(real, reconstruction[:b], fake, reconstruction[b:], beta_fake, encoded.raw[b:],
                                     lambda x, y: perceptual(x.float(), y.float()), cfg.loss.latent_weight,
                                     cfg.loss.pixel_weight)
            check_finite(step, out["loss"], run.out)
            opt.zero_grad(set_to_none=True)
            accelerator.backward(out["loss"])
            opt.step()

            run.step_done(images=b * world)
            if run.due(cfg.logging.every, at_end=True):
                run.log({"loss": out["loss"].item(), **inversion_scalars(out, perceptual)})
            run.periodic()  # sample grid, evaluation, checkpoint: each when due
        return run.finish()


@hydra.main(config_path="configs", config_name="train_inversion", version_base=None)
def main(cfg: DictConfig) -> None:
    run_main(train, cfg)


if __name__ == "__main__":
    main()
