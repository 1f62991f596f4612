"""Train a DCGAN on a small image collection; write samples, checkpoints and a Hub-ready release.

    # the default on the shipped emoji set: 20 minutes, with the plan that suits this machine (plan=auto times a
    # few steps: the 7,000-step recipe where it fits, else the short-budget one)
    python training/train_dcgan.py
    # the 7,000-step recipe whatever the machine's speed (reproducible to the bit)
    python training/train_dcgan.py max_minutes=null
    # a first look in a few minutes; a plan of your choosing
    python training/train_dcgan.py max_minutes=5 output_dir=outputs/dcgan-emoji-quick
    python training/train_dcgan.py plan=short max_minutes=60
    # the classic tutorial recipe (plain BCE, no augmentation, batch 128), for comparison
    python training/train_dcgan.py experiment=tutorial_bce
    # tiny, for tests
    python training/train_dcgan.py experiment=debug output_dir=/tmp/dcgan-debug
    # your own images: prepare once, then train
    hfgan prepare-data my_photos/ --size 64 --out dataset-resized-64.parquet
    python training/train_dcgan.py data.source=dataset-resized-64.parquet data.name=my-photos
    # CelebA 64x64 on a GPU, and on several GPUs or nodes with no code change
    python training/train_dcgan.py experiment=celeba64 data.source=celeba-64.parquet
    accelerate launch --multi_gpu --num_processes 4 training/train_dcgan.py experiment=celeba64
    # data-parallel on CPU processes too (gloo), e.g. to check a multi-process setup without GPUs
    torchrun --standalone --nproc_per_node 2 training/train_dcgan.py experiment=debug output_dir=/tmp/ddp
    # continue a run, from its folder or from its Hub repo
    python training/train_dcgan.py resume=latest output_dir=outputs/dcgan-emoji
    python training/train_dcgan.py resume=user/dcgan-emoji output_dir=outputs/dcgan-emoji-more
    # push the release (and checkpoints) to the Hub; the token comes from HF_TOKEN or `hf auth login`
    python training/train_dcgan.py hub.push=true hub.repo_id=user/dcgan-emoji

Every value lives in training/configs/ (train_dcgan.yaml and its groups); an unknown key is an error naming it.
Ctrl-C (or SIGTERM) stops after the current step with a checkpoint and a release; a second Ctrl-C stops at once.
Everything around the D and G steps (output folder, resume, logging, checkpoints, releases, pushes) is
`hfgan.training.TrainingRun`; the steps are `hfgan.steps.gan_step`, which train_blobgan.py runs too.
"""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass, field
from pathlib import Path

import hydra
import torch
from accelerate import Accelerator
from omegaconf import MISSING, DictConfig, OmegaConf

from common import training_run
from hfgan import DCGANDiscriminator, DCGANGenerator, DCGANPipeline
from hfgan.augment import DiffAugment
from hfgan.steps import gan_scalars, gan_step
from hfgan.training import (
    EMA,
    DCGANRunConfig,
    EMAConfig,
    ScheduleConfig,
    check_finite,
    load_training_images,
    make_evaluator,
    ramp_down,
    recalibrate_batch_norm,
    resolve_resume,
    run_main,
    set_learning_rates,
    step_seed,
    validate_config,
)
from hfgan.utils import make_image_grid


@dataclass
class LossConfig:
    kind: str = MISSING
    r1_gamma: float = MISSING
    r1_every: int = MISSING


@dataclass
class GeneratorEMAConfig(EMAConfig):
    bn_batches: int = MISSING  # batches used to recompute the EMA generator's BatchNorm statistics before sampling


@dataclass
class PlanConfig:  # a recipe's sizes for a budget (train_dcgan.yaml's `plans`)
    channels: int = MISSING
    batch_size: int = MISSING
    max_steps: int = MISSING
    lr: float = MISSING
    lr_ramp_down: float = MISSING


@dataclass
class TrainDCGANConfig(DCGANRunConfig):
    plan: str = MISSING
    plans: dict[str, PlanConfig] = field(default_factory=dict)
    loss: LossConfig = field(default_factory=LossConfig)
    schedule: ScheduleConfig = field(default_factory=ScheduleConfig)
    ema: GeneratorEMAConfig = field(default_factory=GeneratorEMAConfig)


def build_networks(cfg: DictConfig, image_size: int):
    """The generator, the discriminator and their Adam optimisers, as `cfg` sizes them."""
    generator = DCGANGenerator(cfg.model.latent_dim, cfg.model.g_channels, image_size)
    discriminator = DCGANDiscriminator(cfg.model.d_channels, image_size)
    betas = (cfg.optim.beta1, cfg.optim.beta2)
    opt_g = torch.optim.Adam(generator.parameters(), lr=cfg.optim.g_lr, betas=betas)
    opt_d = torch.optim.Adam(discriminator.parameters(), lr=cfg.optim.d_lr, betas=betas)
    return generator, discriminator, opt_g, opt_d


def dcgan_step(cfg, accelerator, generator, discriminator, opt_g, opt_d, augment, real, z, step: int, check=None):
    """One D step, then one G step (`hfgan.steps.gan_step`) with `cfg`'s loss and R1; returns the named scalars of
    both losses."""
    return gan_step(lambda: generator(z).sample, discriminator, real, opt_g, opt_d, augment=augment, kind=cfg.loss.kind,
                    r1_gamma=cfg.loss.r1_gamma, r1_every=cfg.loss.r1_every, step=step, accelerator=accelerator,
                    check=check)


def seconds_per_step(cfg: DictConfig, accelerator, steps: int = 4) -> float:
    """This machine's time for one training step of `cfg`'s networks on random images, after one warm-up step."""
    size = cfg.data.image_size
    generator, discriminator, opt_g, opt_d = build_networks(cfg, size)
    generator, discriminator = generator.to(accelerator.device), discriminator.to(accelerator.device)
    real = torch.rand(cfg.batch_size, 3, size, size, device=accelerator.device) * 2 - 1
    z = torch.randn(cfg.batch_size, cfg.model.latent_dim, device=accelerator.device)
    augment = DiffAugment(list(cfg.augment.policy))
    timings = []
    for step in range(steps + 1):
        start = time.perf_counter()
        dcgan_step(cfg, accelerator, generator, discriminator, opt_g, opt_d, augment, real, z, step)
        timings.append(time.perf_counter() - start)
    return statistics.median(timings[1:])


def checked(cfg: DictConfig) -> DictConfig:
    """The typed config; an unknown key, a wrong type or an unknown augmentation is an error now, not at a step."""
    cfg = validate_config(cfg, TrainDCGANConfig)
    DiffAugment(list(cfg.augment.policy))
    return cfg


def choose_plan(cfg: DictConfig, accelerator) -> DictConfig:
    """Resolve `plan: auto` to the name of one of `plans`: the first whose whole schedule (its `max_steps`) fits
    `max_minutes` at this machine's speed, measured by `seconds_per_step` (a few timed steps of that plan),
    else the last one, made for short budgets. No budget: the first. Resuming: the plan the checkpoint's run chose.
    Every process takes the main process's choice. Returns `cfg` with `plan` set (the rest of the config reads its
    values through `${plans.${plan}.<key>}`)."""
    if cfg.plan != "auto":
        if cfg.plan not in cfg.plans:
            raise ValueError(f"plan={cfg.plan!r} is not one of auto, {', '.join(cfg.plans)}")
        return cfg
    names = list(cfg.plans)
    resumed = resolve_resume(cfg.resume, Path(cfg.output_dir) / "checkpoints")
    if resumed is not None and (resumed / "config.yaml").is_file():
        chosen, why = OmegaConf.load(resumed / "config.yaml").plan, f"as in {resumed}"
    elif cfg.max_minutes is None:
        chosen, why = names[0], "no max_minutes"
    else:
        chosen, why = names[-1], "no plan's schedule fits the budget"
        for name in names[:-1]:
            trial = OmegaConf.merge(cfg, {"plan": name})
            minutes = seconds_per_step(checked(trial), accelerator) * trial.max_steps / 60
            if accelerator.is_main_process:
                print(f"plan {name}: {trial.max_steps} steps would take about {minutes:.1f} min here", flush=True)
            if minutes <= cfg.max_minutes:
                chosen, why = name, f"its {trial.max_steps} steps fit max_minutes={cfg.max_minutes}"
                break
    if accelerator.num_processes > 1:
        from accelerate.utils import broadcast_object_list

        chosen, why = broadcast_object_list([chosen, why])
    if accelerator.is_main_process:
        print(f"plan={chosen} ({why})", flush=True)
    return OmegaConf.merge(cfg, {"plan": chosen})


def train(cfg: DictConfig) -> dict:
    """Run one training; returns a summary (steps, images seen, wall time, output paths, metrics, why it stopped)."""
    # cpu=True where there is no GPU, so that several CPU processes (torchrun) train data-parallel over gloo
    accelerator = Accelerator(mixed_precision=cfg.mixed_precision, cpu=not torch.cuda.is_available())
    cfg = checked(choose_plan(cfg, accelerator))
    augment = DiffAugment(list(cfg.augment.policy))  # every image D sees, real and fake
    rank, world = accelerator.process_index, accelerator.num_processes
    with training_run(cfg, accelerator) as run:  # output folder, logging, resume point; Ctrl-C handling inside
        # ---- data: uint8 images in memory, (N, 3, S, S); batches are drawn by (seed, step, rank)
        dataset = load_training_images(cfg.data)
        image_size = cfg.data.image_size
        if len(dataset) < cfg.batch_size:
            raise ValueError(f"batch_size={cfg.batch_size} is larger than the dataset ({len(dataset)} images)")

        # ---- networks, optimisers, EMA; all restored from the checkpoint when resuming
        torch.manual_seed(cfg.seed)
        generator, discriminator, opt_g, opt_d = build_networks(cfg, image_size)
        ema = EMA(generator, decay=cfg.ema.decay, warmup=cfg.ema.warmup)
        run.track(
            models={"generator": generator, "generator_ema": ema.model, "discriminator": discriminator},
            optimizers={"opt_g": opt_g, "opt_d": opt_d},
            states={"ema": ema},
        )
        generator, discriminator, opt_g, opt_d = accelerator.prepare(generator, discriminator, opt_g, opt_d)
        device = accelerator.device
        ema.model.to(device)

        def ema_pipeline() -> DCGANPipeline:
            """The EMA generator with BatchNorm statistics recomputed for its own weights, wrapped for sampling."""
            bn_rng = torch.Generator(device="cpu").manual_seed(cfg.seed + 1)  # its own RNG: training draws stay as is
            z_shape = (cfg.batch_size, cfg.model.latent_dim)
            make_z = lambda: torch.randn(z_shape, generator=bn_rng).to(device)  # noqa: E731
            recalibrate_batch_norm(ema.model, make_z, cfg.ema.bn_batches)
            return DCGANPipeline(generator=ema.model)

        fixed_rng = torch.Generator().manual_seed(cfg.seed)
        fixed_latents = torch.randn(cfg.logging.num_samples, cfg.model.latent_dim, generator=fixed_rng)  # for grids
        run.set_release(
            pipeline=ema_pipeline,
            samples=lambda pipe: make_image_grid(pipe(latents=fixed_latents).images),
            evaluator=make_evaluator(cfg, image_size) if run.is_main else None,
            extra_models={"discriminator": discriminator},
            card={"plan": cfg.plan, "loss": cfg.loss.kind, "augmentation": augment.description},
        )

        # ---- the loop
        while run.next_step():
            step = run.step
            lr_scale = ramp_down(run.progress, cfg.schedule.lr_ramp_down, cfg.schedule.lr_final)  # by steps or clock
            set_learning_rates([(opt_g, cfg.optim.g_lr), (opt_d, cfg.optim.d_lr)], lr_scale)
            torch.manual_seed(step_seed(cfg.seed, step, rank))  # this step's draws depend only on (seed, step, rank)
            real = run.real_batch(dataset)  # (B, 3, S, S) in [-1, 1]
            z = torch.randn(cfg.batch_size, cfg.model.latent_dim, device=device)
            d_out, g_out = dcgan_step(cfg, accelerator, generator, discriminator, opt_g, opt_d, augment, real, z, step,
                                      check=lambda loss: check_finite(step, loss, run.out))
            ema.update(accelerator.unwrap_model(generator))

            run.step_done(images=cfg.batch_size * world)
            if run.due(cfg.logging.every, at_end=True):
                run.log({**gan_scalars(d_out, g_out), "lr_g": opt_g.param_groups[0]["lr"],
                         "lr_d": opt_d.param_groups[0]["lr"], "ema_decay": ema.current_decay()})
            run.periodic()  # sample grid, evaluation, checkpoint: each when due
        return run.finish()


@hydra.main(config_path="configs", config_name="train_dcgan", version_base=None)
def main(cfg: DictConfig) -> None:
    run_main(train, cfg)


if __name__ == "__main__":
    main()
