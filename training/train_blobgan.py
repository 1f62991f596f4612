"""Train BlobGAN (noise -> blob layout -> image) on a collection of scenes; write samples, checkpoints and a release.

    # the scenes (1 to 4 emoji on plain or textured backgrounds), once
    hfgan prepare-scenes --out data/scenes
    # the default CPU recipe at 64 px: a one-hour budget (docs/blobgan.md); the zoo's blobgan-emoji-scenes
    python training/train_blobgan.py
    # a first look in a few minutes
    python training/train_blobgan.py max_minutes=5 output_dir=outputs/blobgan-quick
    # tiny, for tests
    python training/train_blobgan.py experiment=blobgan_debug output_dir=/tmp/blobgan-debug
    # your own scenes: prepare them from your objects, or use any prepared parquet of images
    hfgan prepare-scenes my_objects/ --out data/my-scenes
    python training/train_blobgan.py data.source=data/my-scenes/scenes-64-train.parquet data.name=my-scenes
    # the paper's 256 px model on a GPU (untested here: no GPU), on one or several GPUs
    accelerate launch training/train_blobgan.py experiment=blobgan256
    # continue a run; push the release (and checkpoints) to the Hub
    python training/train_blobgan.py resume=latest output_dir=outputs/blobgan-emoji-scenes
    python training/train_blobgan.py hub.push=true hub.repo_id=user/blobgan-emoji-scenes

Every value lives in training/configs/ (train_blobgan.yaml and its groups); an unknown key is an error naming it.
Ctrl-C (or SIGTERM) stops after the current step with a checkpoint and a release; a second Ctrl-C stops at once.
Everything around the D and G steps (output folder, resume, logging, checkpoints, releases, pushes) is
`hfgan.training.TrainingRun`; the steps are `hfgan.steps.gan_step`, as in train_dcgan.py.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import hydra
import torch
from accelerate import Accelerator
from omegaconf import MISSING, DictConfig

from common import training_run
from hfgan import BlobGANDiscriminator, BlobGANGenerator, BlobGANPipeline, BlobLayoutNet, render_layout
from hfgan.augment import DiffAugment
from hfgan.losses import blob_move_consistency, blob_overlap, blob_share_floor, blob_size_floor
from hfgan.metrics.inversion import blob_usage
from hfgan.models.blobgan.splat import blob_alphas, blob_opacities
from hfgan.steps import gan_scalars, gan_step
from hfgan.training import (
    EMA,
    EMAConfig,
    GANOptimConfig,
    GANRunConfig,
    check_finite,
    check_non_negative,
    load_training_images,
    make_evaluator,
    run_main,
    step_seed,
    validate_config,
)
from hfgan.training.checkpoint import capture_rng_state, restore_rng_state
from hfgan.utils import make_image_grid


@dataclass
class BlobGANModelConfig:  # training/configs/model/blobgan_*.yaml
    latent_dim: int = MISSING
    num_blobs: int = MISSING
    structure_dim: int = MISSING
    style_dim: int = MISSING
    layout_hidden_dim: int = MISSING
    layout_layers: int = MISSING
    blob_variance: float = MISSING
    shared_blob_head: bool = MISSING
    max_aspect_ratio: float | None = MISSING
    input_size: int = MISSING
    g_channel_base: int = MISSING
    g_channel_max: int = MISSING
    pooled_alphas: bool = MISSING
    d_channel_base: int = MISSING
    d_channel_max: int = MISSING


@dataclass
class BlobGANOptimConfig(GANOptimConfig):
    layout_lr: float = MISSING


@dataclass
class LossConfig:
    r1_gamma: float = MISSING
    r1_every: int = MISSING
    size_floor: float = MISSING
    size_floor_weight: float = MISSING
    share_floor: float = MISSING
    share_floor_weight: float = MISSING
    overlap_weight: float = MISSING
    move_consistency_weight: float = MISSING
    move_consistency_distance: float = MISSING


# LossConfig's blob terms; 0: off
PENALTY_WEIGHTS = ("size_floor_weight", "share_floor_weight", "overlap_weight", "move_consistency_weight")


@dataclass
class JitterConfig:
    xy: float = MISSING
    size: float = MISSING
    angle: float = MISSING
    move_one: float = MISSING


@dataclass
class TrainBlobGANConfig(GANRunConfig):
    model: BlobGANModelConfig = field(default_factory=BlobGANModelConfig)
    optim: BlobGANOptimConfig = field(default_factory=BlobGANOptimConfig)
    loss: LossConfig = field(default_factory=LossConfig)
    jitter: JitterConfig = field(default_factory=JitterConfig)
    ema: EMAConfig = field(default_factory=EMAConfig)
    truncation_samples: int = MISSING


def samples_beside_layouts(pipe: BlobGANPipeline, latents: torch.Tensor, per_row: int = 8):
    """The sample grid: each sample beside its blobs (`render_layout`), `per_row` pairs a row."""
    output = pipe(latents=latents)
    layouts = render_layout(output.layouts, size=output.images[0].width, numbers=False)
    tiles = [tile for pair in zip(output.images, layouts) for tile in pair]
    return make_image_grid(tiles, cols=2 * min(per_row, len(latents)))


def train(cfg: DictConfig) -> dict:
    """Run one training; returns a summary (steps, images seen, wall time, output paths, metrics, why it stopped)."""
    cfg = validate_config(cfg, TrainBlobGANConfig)
    check_non_negative(cfg, *(f"loss.{key}" for key in PENALTY_WEIGHTS))  # a negative one rewards what it charges
    augment = DiffAugment(list(cfg.augment.policy))  # an unknown transform fails now, not at the first step
    accelerator = Accelerator(mixed_precision=cfg.mixed_precision, cpu=not torch.cuda.is_available())
    rank, world = accelerator.process_index, accelerator.num_processes
    with training_run(cfg, accelerator) as run:
        # ---- data: uint8 images in memory, (N, 3, S, S); batches are drawn by (seed, step, rank)
        dataset = load_training_images(cfg.data)
        image_size = cfg.data.image_size
        if len(dataset) < cfg.batch_size:
            raise ValueError(f"batch_size={cfg.batch_size} is larger than the dataset ({len(dataset)} images)")

        # ---- networks, optimisers, EMA; all restored from the checkpoint when resuming
        torch.manual_seed(cfg.seed)
        m = cfg.model
        layout_net = BlobLayoutNet(m.latent_dim, m.num_blobs, m.structure_dim, m.style_dim, m.layout_hidden_dim,
                                   m.layout_layers, m.blob_variance, m.shared_blob_head, m.max_aspect_ratio)
        generator = BlobGANGenerator(image_size, m.input_size, m.structure_dim, m.style_dim, m.g_channel_base,
                                     m.g_channel_max, m.pooled_alphas)
        discriminator = BlobGANDiscriminator(image_size, m.d_channel_base, m.d_channel_max)
        betas = (cfg.optim.beta1, cfg.optim.beta2)
        opt_g = torch.optim.Adam([{"params": generator.parameters(), "lr": cfg.optim.g_lr},
                                  {"params": layout_net.parameters(), "lr": cfg.optim.layout_lr}], betas=betas)
        opt_d = torch.optim.Adam(discriminator.parameters(), lr=cfg.optim.d_lr, betas=betas)
        ema_layout = EMA(layout_net, decay=cfg.ema.decay, warmup=cfg.ema.warmup)
        ema_generator = EMA(generator, decay=cfg.ema.decay, warmup=cfg.ema.warmup)
        run.track(
            models={"layout_net": layout_net, "generator": generator, "layout_net_ema": ema_layout.model,
                    "generator_ema": ema_generator.model, "discriminator": discriminator},
            optimizers={"opt_g": opt_g, "opt_d": opt_d},
            states={"ema_layout": ema_layout, "ema_generator": ema_generator},
        )
        layout_net, generator, discriminator, opt_g, opt_d = accelerator.prepare(
            layout_net, generator, discriminator, opt_g, opt_d
        )
        device = accelerator.device
        ema_layout.model.to(device)
        ema_generator.model.to(device)

        def ema_pipeline() -> BlobGANPipeline:
            """The EMA networks, with the layout network's mean output (truncation) computed for its own weights."""
            mean_rng = torch.Generator().manual_seed(cfg.seed + 1)  # its own RNG: training draws stay as is
            ema_layout.model.compute_mean(cfg.truncation_samples, generator=mean_rng)
            return BlobGANPipeline(layout_net=ema_layout.model, generator=ema_generator.model)

        fixed_rng = torch.Generator().manual_seed(cfg.seed)
        fixed_latents = torch.randn(cfg.logging.num_samples, m.latent_dim, generator=fixed_rng)  # for grids
        run.set_release(
            pipeline=ema_pipeline,
            samples=lambda pipe: samples_beside_layouts(pipe, fixed_latents),
            evaluator=make_evaluator(cfg, image_size) if run.is_main else None,
            extra_models={"discriminator": discriminator},
            card={
                "loss": f"non-saturating logistic, lazy R1 (gamma {cfg.loss.r1_gamma}, every {cfg.loss.r1_every} steps)",
                "augmentation": augment.description,
                "blobs": f"{m.num_blobs}, jittered by xy ±{cfg.jitter.xy}, size ±{cfg.jitter.size}, "
                f"angle ±{cfg.jitter.angle} while training"
                + (f"; one blob per image moved {cfg.jitter.move_one}" if cfg.jitter.move_one else ""),
            },
        )

        # ---- the loop
        jitter, layouts, drawn = cfg.jitter, [], {}
        if cfg.loss.move_consistency_weight and world > 1:
            raise ValueError("loss.move_consistency_weight renders twice per step, tested only in one process: "
                             "run it without accelerate's multi-process launch")

        def generate() -> torch.Tensor:
            """Generated images from jittered layouts (the layout kept for logging), (B, 3, S, S)."""
            z = torch.randn(cfg.batch_size, m.latent_dim, device=device)
            layouts[:] = [layout_net(z)]  # before jitter: what the model chose, for logging
            layout = layouts[0].jittered(jitter.xy, jitter.size, jitter.angle)
            layout = layout.one_moved(jitter.move_one) if jitter.move_one else layout
            if not cfg.loss.move_consistency_weight:
                return generator(layout).sample
            drawn.update(layout=layout, rng=capture_rng_state())  # the noise the image draws, to draw it again
            drawn["image"] = generator(layout).sample
            return drawn["image"]

        def move_consistency() -> torch.Tensor:
            """loss.move_consistency_weight's term: the step's fakes rendered again, with the same noise, with one
            blob per image moved loss.move_consistency_distance in a random direction (whole pixels)."""
            layout, image = drawn["layout"], drawn["image"]
            theta = 2 * torch.pi * torch.rand(()).item()
            dx, dy = (round(cfg.loss.move_consistency_distance * image_size * f(theta)) for f in (math.cos, math.sin))
            pick = torch.randint(layout.num_blobs, (len(layout),), device=device)
            moved_layout = layout.blobs_moved(pick, dx / image_size, dy / image_size)
            after = capture_rng_state()
            restore_rng_state(drawn["rng"])  # the fake's noise, drawn again
            try:
                moved = generator(moved_layout).sample
            finally:
                restore_rng_state(after)  # later draws as if this render had drawn nothing
            rows = torch.arange(len(layout), device=device)
            with torch.no_grad():  # weights, not targets of the loss
                alpha, moved_alpha = (blob_alphas(*lay.splat_args(), image_size)[rows, pick + 1]  # (B, S, S)
                                      for lay in (layout, moved_layout))
            return blob_move_consistency(image, moved, alpha, moved_alpha, dx, dy)["loss"]

        def blob_penalties() -> torch.Tensor:
            """Keeps every blob index's mean size above loss.size_floor and its mean share of the image (composite
            alpha on the input grid) above loss.share_floor, charges the blobs' overlap on that grid, and a moved
            blob that does not carry what it drew (`move_consistency`); each off with weight 0."""
            loss = cfg.loss.size_floor_weight * blob_size_floor(layouts[0].sizes, cfg.loss.size_floor)["loss"]
            if cfg.loss.share_floor_weight:
                alphas = blob_alphas(*layouts[0].splat_args(), m.input_size)  # (B, K + 1, S, S)
                loss = loss + cfg.loss.share_floor_weight * blob_share_floor(alphas, cfg.loss.share_floor)["loss"]
            if cfg.loss.overlap_weight:
                opacities = blob_opacities(*layouts[0].splat_args(), m.input_size)  # (B, K, S, S)
                loss = loss + cfg.loss.overlap_weight * blob_overlap(opacities)["loss"]
            if cfg.loss.move_consistency_weight:
                loss = loss + cfg.loss.move_consistency_weight * move_consistency()
            return loss

        penalised = any(cfg.loss[key] for key in PENALTY_WEIGHTS)

        while run.next_step():
            step = run.step
            torch.manual_seed(step_seed(cfg.seed, step, rank))  # this step's draws depend only on (seed, step, rank)
            real = run.real_batch(dataset)  # (B, 3, S, S) in [-1, 1]
            # D step, then G step (the generator and the layout network together, through opt_g)
            d_out, g_out = gan_step(generate, discriminator, real, opt_g, opt_d, augment=augment,
                                    kind="non_saturating", r1_gamma=cfg.loss.r1_gamma, r1_every=cfg.loss.r1_every,
                                    step=step, accelerator=accelerator,
                                    check=lambda loss: check_finite(step, loss, run.out),
                                    g_penalty=blob_penalties if penalised else None)
            ema_layout.update(accelerator.unwrap_model(layout_net))
            ema_generator.update(accelerator.unwrap_model(generator))

            run.step_done(images=cfg.batch_size * world)
            if run.due(cfg.logging.every, at_end=True):
                run.log({**gan_scalars(d_out, g_out),
                         "blob_size_mean": layouts[0].sizes.mean().item(),  # s: do blobs grow, shrink or vanish?
                         **blob_usage(layouts[0], image_size),  # how many blobs a sample uses, and which
                         "ema_decay": ema_generator.current_decay()})
            run.periodic()  # sample grid, evaluation, checkpoint: each when due
        return run.finish()


@hydra.main(config_path="configs", config_name="train_blobgan", version_base=None)
def main(cfg: DictConfig) -> None:
    run_main(train, cfg)


if __name__ == "__main__":
    main()
