"""Train StyleGAN3 or StyleGAN2 on a small image collection; write samples, checkpoints and a `StyleGANPipeline`.

    # StyleGAN3 (config T) sized for a CPU at 64 px on the shipped emoji set, a one-hour budget (docs/stylegan.md)
    python training/train_stylegan.py
    # StyleGAN2 at the same size
    python training/train_stylegan.py model=stylegan2_small output_dir=outputs/stylegan2-emoji
    # StyleGAN3 config R (rotation equivariant): 1x1 convolutions, radial filters, twice the widths
    python training/train_stylegan.py model=stylegan3_small model.generator.conv_kernel=1 \
        model.generator.use_radial_filters=true model.generator.channel_base=8192 model.generator.channel_max=128
    # tiny, for tests
    python training/train_stylegan.py experiment=stylegan_debug output_dir=/tmp/stylegan-debug
    # your own images
    hfgan prepare-data my_photos/ --size 64 --out dataset-resized-64.parquet
    python training/train_stylegan.py data.source=dataset-resized-64.parquet data.name=my-photos
    # NVIDIA's 256 px configs on GPUs (untested here: no GPU), with your 256 px images
    accelerate launch training/train_stylegan.py experiment=stylegan3_256 data.source=my-256.parquet
    accelerate launch training/train_stylegan.py experiment=stylegan2_256 data.source=my-256.parquet
    # continue a run; push the release (and checkpoints) to the Hub
    python training/train_stylegan.py resume=latest output_dir=outputs/stylegan3-emoji
    python training/train_stylegan.py hub.push=true hub.repo_id=user/stylegan3-emoji

Every value lives in training/configs/ (train_stylegan.yaml and its groups); an unknown key is an error naming it,
and so is a generator or discriminator argument the hfgan class does not take. Ctrl-C (or SIGTERM) stops after the
current step with a checkpoint and a release. The run around the steps is `hfgan.training.TrainingRun`; the steps are
`hfgan.steps.gan_step` (non-saturating loss, lazy R1, DiffAugment), as in train_dcgan.py and train_blobgan.py.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass, field
from typing import Any

import hydra
import torch
from accelerate import Accelerator
from omegaconf import MISSING, DictConfig, OmegaConf

from common import training_run
from hfgan import StyleGAN2Discriminator, StyleGAN2Generator, StyleGAN3Generator, StyleGANPipeline
from hfgan.augment import DiffAugment
from hfgan.steps import gan_scalars, gan_step
from hfgan.training import (
    EMA,
    EMAConfig,
    GANRunConfig,
    check_finite,
    load_training_images,
    make_evaluator,
    run_main,
    step_seed,
    validate_config,
)
from hfgan.utils import make_image_grid

GENERATORS = {"stylegan3": StyleGAN3Generator, "stylegan2": StyleGAN2Generator}


@dataclass
class StyleGANModelConfig:  # training/configs/model/stylegan*.yaml
    kind: str = MISSING  # stylegan3 | stylegan2
    generator: dict[str, Any] = MISSING  # StyleGAN3Generator / StyleGAN2Generator arguments (img_* from the data)
    discriminator: dict[str, Any] = MISSING  # StyleGAN2Discriminator arguments


@dataclass
class LossConfig:
    r1_gamma: float = MISSING
    r1_every: int = MISSING


@dataclass
class TrainStyleGANConfig(GANRunConfig):
    model: StyleGANModelConfig = field(default_factory=StyleGANModelConfig)
    loss: LossConfig = field(default_factory=LossConfig)
    ema: EMAConfig = field(default_factory=EMAConfig)
    truncation_psi: float = MISSING  # of the sample grids (the release samples with any psi)


def build_networks(cfg: DictConfig) -> tuple[torch.nn.Module, StyleGAN2Discriminator]:
    """The generator and discriminator the config describes, at the data's size (an argument the class does not
    take, or a bad value, is a ValueError naming it)."""
    if cfg.model.kind not in GENERATORS:
        raise ValueError(f"model.kind must be one of {sorted(GENERATORS)}, got {cfg.model.kind!r}")
    size = {"img_resolution": cfg.data.image_size, "img_channels": 3}
    networks = []
    for name, cls in (("generator", GENERATORS[cfg.model.kind]), ("discriminator", StyleGAN2Discriminator)):
        kwargs = OmegaConf.to_container(cfg.model[name])
        unknown = sorted(set(kwargs) - (set(inspect.signature(cls).parameters) - set(size)))
        if unknown:
            raise ValueError(f"model.{name}: {cls.__name__} takes no {', '.join(unknown)} (img_resolution and "
                             "img_channels come from the data)")
        networks.append(cls(**kwargs, **size))
    return networks[0], networks[1]


def train(cfg: DictConfig) -> dict:
    """Run one training; returns a summary (steps, images seen, wall time, output paths, metrics, why it stopped)."""
    cfg = validate_config(cfg, TrainStyleGANConfig)
    augment = DiffAugment(list(cfg.augment.policy))  # an unknown transform fails now, not at the first step
    accelerator = Accelerator(mixed_precision=cfg.mixed_precision, cpu=not torch.cuda.is_available())
    rank, world = accelerator.process_index, accelerator.num_processes
    with training_run(cfg, accelerator) as run:
        # ---- data: uint8 images in memory, (N, 3, S, S); batches are drawn by (seed, step, rank)
        dataset = load_training_images(cfg.data)
        if len(dataset) < cfg.batch_size:
            raise ValueError(f"batch_size={cfg.batch_size} is larger than the dataset ({len(dataset)} images)")

        # ---- networks, optimisers, EMA (its buffers follow G's: the mean w and the layers' magnitudes)
        torch.manual_seed(cfg.seed)
        generator, discriminator = build_networks(cfg)
        betas = (cfg.optim.beta1, cfg.optim.beta2)
        opt_g = torch.optim.Adam(generator.parameters(), lr=cfg.optim.g_lr, betas=betas)
        opt_d = torch.optim.Adam(discriminator.parameters(), lr=cfg.optim.d_lr, betas=betas)
        ema = EMA(generator, decay=cfg.ema.decay, warmup=cfg.ema.warmup, copy_buffers=True)
        run.track(models={"generator": generator, "generator_ema": ema.model, "discriminator": discriminator},
                  optimizers={"opt_g": opt_g, "opt_d": opt_d}, states={"ema": ema})
        generator, discriminator, opt_g, opt_d = accelerator.prepare(generator, discriminator, opt_g, opt_d)
        device = accelerator.device
        ema.model.to(device)

        fixed_latents = torch.randn(cfg.logging.num_samples, ema.model.config.z_dim,
                                    generator=torch.Generator().manual_seed(cfg.seed))  # for grids
        run.set_release(
            pipeline=lambda: StyleGANPipeline(generator=ema.model),
            samples=lambda pipe: make_image_grid(pipe(latents=fixed_latents, truncation_psi=cfg.truncation_psi).images),
            evaluator=make_evaluator(cfg, cfg.data.image_size) if run.is_main else None,
            extra_models={"discriminator": discriminator},
            card={
                "loss": f"non-saturating logistic, lazy R1 (gamma {cfg.loss.r1_gamma}, every {cfg.loss.r1_every} "
                        "steps)",
                "augmentation": augment.description,
            },
        )

        # ---- the loop
        def generate() -> torch.Tensor:
            """Generated images (B, 3, S, S); G's running mean of w and layer magnitudes track the training."""
            z = torch.randn(cfg.batch_size, ema.model.config.z_dim, device=device)
            return generator(z, update_emas=True).sample

        while run.next_step():
            step = run.step
            torch.manual_seed(step_seed(cfg.seed, step, rank))  # this step's draws depend only on (seed, step, rank)
            real = run.real_batch(dataset)  # (B, 3, S, S) in [-1, 1]
            d_out, g_out = gan_step(generate, discriminator, real, opt_g, opt_d, augment=augment,
                                    kind="non_saturating", r1_gamma=cfg.loss.r1_gamma, r1_every=cfg.loss.r1_every,
                                    step=step, accelerator=accelerator,
                                    check=lambda loss: check_finite(step, loss, run.out))
            ema.update(accelerator.unwrap_model(generator))

            run.step_done(images=cfg.batch_size * world)
            if run.due(cfg.logging.every, at_end=True):
                run.log({**gan_scalars(d_out, g_out), "ema_decay": ema.current_decay()})
            run.periodic()  # sample grid, evaluation, checkpoint: each when due
        return run.finish()


@hydra.main(config_path="configs", config_name="train_stylegan", version_base=None)
def main(cfg: DictConfig) -> None:
    run_main(train, cfg)


if __name__ == "__main__":
    main()
