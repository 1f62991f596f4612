"""Train a DCGAN on a small image collection; write samples, checkpoints and a Hub-ready release.

    # the default CPU-friendly recipe on the shipped emoji set (about 20 minutes on 2 cores)
    python training/train_dcgan.py
    # a first look in a few minutes
    python training/train_dcgan.py max_steps=600 output_dir=outputs/dcgan-emoji-quick
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
"""

from __future__ import annotations

import json
import math
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import hydra
import torch
from accelerate import Accelerator
from omegaconf import MISSING, DictConfig, OmegaConf
from tqdm.auto import tqdm

from common import (
    CheckpointConfig,
    DataConfig,
    EMAConfig,
    HubConfig,
    LoggingConfig,
    MetricsConfig,
    OptimConfig,
    RunLogger,
    batch_indices,
    hardware_summary,
    load_training_images,
    make_evaluator,
    prepare_output_dir,
    step_seed,
    validate_config,
)
from hfgan import DCGANDiscriminator, DCGANGenerator, DCGANPipeline
from hfgan.augment import diff_augment, parse_policy
from hfgan.losses import d_loss, g_loss, r1_penalty
from hfgan.metrics import to_model_index
from hfgan.training import EMA, load_state, recalibrate_batch_norm, resolve_resume, save_checkpoint
from hfgan.training.checkpoint import capture_rng_state, restore_rng_state
from hfgan.training.release import PushError, push_folder, save_release


@dataclass
class ModelConfig:
    latent_dim: int = MISSING
    g_channels: int = MISSING
    d_channels: int = MISSING


@dataclass
class LossConfig:
    kind: str = MISSING
    r1_gamma: float = MISSING
    r1_every: int = MISSING


@dataclass
class AugmentConfig:
    policy: list[str] = MISSING  # DiffAugment transforms, e.g. [color, translation, cutout]; [] disables it


@dataclass
class TrainDCGANConfig:
    output_dir: str = MISSING
    overwrite: bool = MISSING
    resume: str | None = MISSING
    seed: int = MISSING
    mixed_precision: str = MISSING
    max_steps: int = MISSING
    max_minutes: float | None = MISSING
    batch_size: int = MISSING
    model: ModelConfig = field(default_factory=ModelConfig)
    data: DataConfig = field(default_factory=DataConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    loss: LossConfig = field(default_factory=LossConfig)
    augment: AugmentConfig = field(default_factory=AugmentConfig)
    ema: EMAConfig = field(default_factory=EMAConfig)
    logging: LoggingConfig = field(default_factory=LoggingConfig)
    checkpoint: CheckpointConfig = field(default_factory=CheckpointConfig)
    hub: HubConfig = field(default_factory=HubConfig)
    metrics: MetricsConfig = field(default_factory=MetricsConfig)


def train(cfg: DictConfig) -> dict:
    """Run one training; returns a summary (steps, images seen, wall time, output paths, metrics)."""
    cfg = validate_config(cfg, TrainDCGANConfig)
    parse_policy(list(cfg.augment.policy))  # fail now, not at the first step
    if cfg.hub.push and not cfg.hub.repo_id:
        raise ValueError("hub.push=true needs hub.repo_id=<user>/<name>")
    # cpu=True where there is no GPU, so that several CPU processes (torchrun) train data-parallel over gloo
    accelerator = Accelerator(mixed_precision=cfg.mixed_precision, cpu=not torch.cuda.is_available())
    rank, world, is_main = accelerator.process_index, accelerator.num_processes, accelerator.is_main_process

    # ---- output folder, resume point, logging
    out = Path(cfg.output_dir)
    resume_from = resolve_resume(cfg.resume, out / "checkpoints")
    if is_main:
        prepare_output_dir(out, cfg.overwrite, resuming=resume_from is not None)
    accelerator.wait_for_everyone()
    config_yaml = OmegaConf.to_yaml(cfg, resolve=True)
    logger = RunLogger(cfg, out, enabled=is_main)
    if is_main:
        print(f"Config:\n{config_yaml}", flush=True)
        (out / "run.json").write_text(json.dumps(OmegaConf.to_container(cfg, resolve=True), indent=2))

    # ---- data: uint8 images in memory, (N, 3, S, S); batches are drawn by (seed, step, rank)
    dataset = load_training_images(cfg.data)
    num_images, image_size = len(dataset), cfg.data.image_size
    if num_images < cfg.batch_size:
        raise ValueError(f"batch_size={cfg.batch_size} is larger than the dataset ({num_images} images)")

    # ---- networks, optimisers, EMA
    torch.manual_seed(cfg.seed)
    generator = DCGANGenerator(cfg.model.latent_dim, cfg.model.g_channels, image_size)
    discriminator = DCGANDiscriminator(cfg.model.d_channels, image_size)
    betas = (cfg.optim.beta1, cfg.optim.beta2)
    opt_g = torch.optim.Adam(generator.parameters(), lr=cfg.optim.g_lr, betas=betas)
    opt_d = torch.optim.Adam(discriminator.parameters(), lr=cfg.optim.d_lr, betas=betas)
    ema = EMA(generator, decay=cfg.ema.decay, warmup=cfg.ema.warmup)

    start_step, images_seen, wall_before = 0, 0, 0.0
    if resume_from is not None:
        state = load_state(resume_from)
        generator.load_state_dict(DCGANGenerator.from_pretrained(resume_from / "generator").state_dict())
        discriminator.load_state_dict(DCGANDiscriminator.from_pretrained(resume_from / "discriminator").state_dict())
        ema.model.load_state_dict(DCGANGenerator.from_pretrained(resume_from / "generator_ema").state_dict())
        opt_g.load_state_dict(state["opt_g"])
        opt_d.load_state_dict(state["opt_d"])
        ema.load_state_dict(state["ema"])
        restore_rng_state(state["rng"])
        start_step, images_seen, wall_before = state["step"], state["images_seen"], state["wall_seconds"]
        if is_main:
            print(f"Resumed from {resume_from} at step {start_step}", flush=True)
    generator, discriminator, opt_g, opt_d = accelerator.prepare(generator, discriminator, opt_g, opt_d)
    device = accelerator.device
    ema.model.to(device)

    # fixed latents for sample grids, and a separate RNG for BatchNorm recalibration: neither touches training draws
    fixed_latents = torch.randn(cfg.logging.num_samples, cfg.model.latent_dim, generator=torch.Generator().manual_seed(cfg.seed))
    evaluator = make_evaluator(cfg, image_size) if is_main else None
    metrics: dict[str, float] = {}

    def ema_pipeline() -> DCGANPipeline:
        """The EMA generator with BatchNorm statistics recomputed for its own weights, wrapped for sampling."""
        bn_rng = torch.Generator(device="cpu").manual_seed(cfg.seed + 1)
        make_z = lambda: torch.randn(cfg.batch_size, cfg.model.latent_dim, generator=bn_rng).to(device)  # noqa: E731
        recalibrate_batch_norm(ema.model, make_z, cfg.ema.bn_batches)
        pipe = DCGANPipeline(generator=ema.model)
        pipe.set_progress_bar_config(disable=True)
        return pipe

    def checkpoint(step: int, final: bool) -> None:
        """Checkpoint, and at the end (or each checkpoint with release_every) the release; push when asked."""
        nonlocal metrics
        pipe = ema_pipeline()  # recalibrate first, so the saved EMA generator samples well as it is
        models = {
            "generator": accelerator.unwrap_model(generator),
            "generator_ema": ema.model,
            "discriminator": accelerator.unwrap_model(discriminator),
        }
        state = {
            "step": step,
            "images_seen": images_seen,
            "wall_seconds": wall_before + time.time() - start_time,
            "opt_g": opt_g.state_dict(),
            "opt_d": opt_d.state_dict(),
            "ema": ema.state_dict(),
            "rng": capture_rng_state(),
        }
        ckpt = save_checkpoint(out / "checkpoints", step, models, state, config_yaml, cfg.checkpoint.keep_last)
        if cfg.hub.push and cfg.hub.push_checkpoints:
            push(ckpt, f"checkpoints/{ckpt.name}")
        if not (final or cfg.checkpoint.release_every):
            return
        grid = logger.log_grid(step, pipe(latents=fixed_latents).images)
        if evaluator is not None and (final or cfg.metrics.every == 0):
            metrics = evaluator(pipe)
            logger.log(step, metrics)
        training = {
            "dataset": cfg.data.name,
            "steps": step,
            "images seen": images_seen,
            "wall time": f"{(state['wall_seconds']) / 60:.1f} min",
            "hardware": hardware_summary(),
            "batch size": cfg.batch_size * world,
            "loss": cfg.loss.kind,
            "augmentation": ", ".join(cfg.augment.policy) or "none",
            "config": config_yaml,
        }
        release = save_release(
            out / "release",
            pipe,
            cfg.hub.repo_id or f"your-name/{out.name}",
            extra_models={"discriminator": models["discriminator"]},
            sample_grid=grid,
            license=cfg.hub.license,
            datasets=[cfg.data.name] if "/" in cfg.data.name else None,
            dataset_name=cfg.data.name,
            training=training,
            metrics=to_model_index(metrics) if metrics else None,
        )
        print(f"Release written to {release}", flush=True)
        if cfg.hub.push:
            push(release, None)

    failed_pushes: list[str] = []

    def push(folder: Path, path_in_repo: str | None) -> None:
        """Push; a failure is reported and training goes on (the run ends with PushError, outputs kept)."""
        try:
            push_folder(folder, cfg.hub.repo_id, path_in_repo, private=cfg.hub.private)
            print(f"Pushed {folder} to {cfg.hub.repo_id}/{path_in_repo or ''}", flush=True)
        except PushError as error:
            print(error, file=sys.stderr, flush=True)
            failed_pushes.append(str(error))

    # ---- the loop
    kind, policy = cfg.loss.kind, list(cfg.augment.policy)
    r1_on = cfg.loss.r1_gamma > 0
    start_time = time.time()
    bar = tqdm(total=cfg.max_steps, initial=start_step, disable=not (is_main and cfg.logging.progress_bar), unit="step")
    step, last_log_time, last_log_images = start_step, start_time, images_seen
    while step < cfg.max_steps:
        torch.manual_seed(step_seed(cfg.seed, step, rank))  # this step's draws depend only on (seed, step, rank)
        idx = batch_indices(num_images, cfg.batch_size, step, cfg.seed, rank, world)
        real = dataset.uint8(idx).to(device).float().div_(127.5).sub_(1.0)  # uint8 -> [-1, 1], (B, 3, S, S)
        z = torch.randn(cfg.batch_size, cfg.model.latent_dim, device=device)

        # Discriminator step: real vs. generated, both through the same DiffAugment
        with accelerator.autocast():
            fake = generator(z).sample
            real_in = real.requires_grad_(r1_on and step % cfg.loss.r1_every == 0)
            real_logits = discriminator(diff_augment(real_in, policy)).logits
            fake_logits = discriminator(diff_augment(fake.detach(), policy)).logits
            d_out = d_loss(kind, real_logits.float(), fake_logits.float())
            d_total = d_out["loss"]
            if real_in.requires_grad:  # lazy R1: every r1_every steps, weighted by r1_every
                r1 = r1_penalty(real_in, real_logits.float(), cfg.loss.r1_gamma * cfg.loss.r1_every)
                d_total = d_total + r1["loss"]
                d_out["r1_grad_norm2"] = r1["r1_grad_norm2"]
        check_finite(step, d_total, out)
        opt_d.zero_grad(set_to_none=True)
        accelerator.backward(d_total)
        opt_d.step()

        # Generator step: fool the just-updated discriminator on freshly augmented fakes
        with accelerator.autocast():
            g_out = g_loss(kind, discriminator(diff_augment(fake, policy)).logits.float())
        check_finite(step, g_out["loss"], out)
        opt_g.zero_grad(set_to_none=True)
        accelerator.backward(g_out["loss"])
        opt_g.step()
        ema.update(accelerator.unwrap_model(generator))

        step += 1
        images_seen += cfg.batch_size * world
        bar.update(1)
        if step % cfg.logging.every == 0 or step == cfg.max_steps:
            now = time.time()
            scalars = {
                "loss_d": d_out["loss"].item(),
                "loss_g": g_out["loss"].item(),
                "d_real": d_out["d_real"].item(),  # D(x)
                "d_fake": d_out["d_fake"].item(),  # D(G(z)) before the G step
                "lr_g": opt_g.param_groups[0]["lr"],
                "lr_d": opt_d.param_groups[0]["lr"],
                "ema_decay": ema.current_decay(),
                "images_per_second": (images_seen - last_log_images) / max(now - last_log_time, 1e-9),
                "images_seen": images_seen,
            }
            if "r1_grad_norm2" in d_out:
                scalars["r1_grad_norm2"] = d_out["r1_grad_norm2"].item()
            logger.log(step, scalars)
            bar.set_postfix(loss_d=f"{scalars['loss_d']:.3f}", loss_g=f"{scalars['loss_g']:.3f}", D_x=f"{scalars['d_real']:.2f}")
            last_log_time, last_log_images = now, images_seen
        out_of_time = cfg.max_minutes is not None and (time.time() - start_time) / 60 >= cfg.max_minutes
        final = step == cfg.max_steps or out_of_time
        if is_main and cfg.logging.sample_every and step % cfg.logging.sample_every == 0 and not final:
            logger.log_grid(step, ema_pipeline()(latents=fixed_latents).images)
        if evaluator is not None and cfg.metrics.every > 0 and step % cfg.metrics.every == 0 and not final:
            metrics = evaluator(ema_pipeline())
            logger.log(step, metrics)
        if is_main and (final or (cfg.checkpoint.every and step % cfg.checkpoint.every == 0)):
            checkpoint(step, final)
        accelerator.wait_for_everyone()
        if out_of_time:
            print(f"max_minutes={cfg.max_minutes} reached at step {step}", flush=True)
            break
    bar.close()
    logger.finish()
    if failed_pushes:
        raise PushError(f"{len(failed_pushes)} push(es) failed; the last one:\n{failed_pushes[-1]}")

    wall = wall_before + time.time() - start_time
    summary = {
        "steps": step,
        "images_seen": images_seen,
        "wall_seconds": wall,
        "output_dir": str(out),
        "release": str(out / "release"),
        "metrics": metrics,
    }
    if is_main:
        print(f"Done: {step} steps, {images_seen} images in {wall / 60:.1f} min. Samples: {out / 'samples'}; "
              f"release: {out / 'release'}", flush=True)
    return summary


def check_finite(step: int, loss: torch.Tensor, out: Path) -> None:
    """Stop before a non-finite loss reaches the weights; the last checkpoint stays the last good one."""
    if not torch.isfinite(loss).all():
        raise FloatingPointError(
            f"non-finite loss ({loss.item()}) at step {step + 1}; stopped before it reached the weights. "
            f"The last good checkpoint is in {out / 'checkpoints'} (resume=latest continues from it)."
        )


@hydra.main(config_path="configs", config_name="train_dcgan", version_base=None)
def main(cfg: DictConfig) -> None:
    try:
        train(cfg)
    except PushError as error:
        print(error, file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
