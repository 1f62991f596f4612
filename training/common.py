"""The run scaffolding every script in training/ shares (DCGAN, the classifiers; BlobGAN next).

A script keeps its own networks, losses and training step, visible top to bottom; everything around the step is a
[`TrainingRun`]: the output folder, resume of a named set of models, optimisers and other state, logging (console,
JSONL, PNG grids, wandb), the cadence of sample grids, metrics, checkpoints and releases, pushes that collect their
failures, the wall-clock budget `max_minutes`, and a graceful stop on Ctrl-C or SIGTERM. Also here: the config schema
of the groups every script has, and the deterministic batch order. The pieces that need neither hydra nor wandb (EMA,
checkpoints, releases, pushes, the stop signal) live in `hfgan.training`; this module is the only place the scripts
touch wandb.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from omegaconf import MISSING, DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from tqdm.auto import tqdm

from hfgan.augment import diff_augment
from hfgan.cards import to_model_index
from hfgan.losses import d_loss, r1_penalty
from hfgan.training import load_state, resolve_resume, save_checkpoint
from hfgan.training.checkpoint import capture_rng_state, restore_rng_state
from hfgan.training.release import PushError, push_folder, save_release
from hfgan.training.schedule import run_progress
from hfgan.training.stop import GracefulStop
from hfgan.utils import atomic_write

# --------------------------------------------------------------------------------------------------------------------
# Config schema of the groups every script shares. Fields are types only (MISSING): the YAML files in configs/ hold
# every value, so there is one place to read a default.


@dataclass
class DataConfig:
    source: str = MISSING  # "emoji" (the shipped set), a parquet file or folder of parquet, or a Hub dataset id
    split: str = MISSING
    image_size: int = MISSING  # a dataset at another resolution is resized once at load
    name: str = MISSING  # how the card names the dataset (a Hub id when there is one)


@dataclass
class EMAConfig:
    decay: float = MISSING
    warmup: bool = MISSING  # ramp the decay as min(decay, (1 + t) / (10 + t))


@dataclass
class LoggingConfig:
    wandb: str = MISSING  # auto (online with an API key, else offline) | online | offline | disabled
    project: str = MISSING
    run_name: str | None = MISSING
    every: int = MISSING  # steps between scalar logs
    sample_every: int = MISSING  # steps between sample grids (PNG in <output_dir>/samples and wandb)
    num_samples: int = MISSING  # images in each grid, from fixed latents
    progress_bar: bool = MISSING


@dataclass
class CheckpointConfig:
    every: int = MISSING  # steps between checkpoints (0: only at the end)
    keep_last: int = MISSING
    release_every: bool = MISSING  # also write (and push) the release folder at each checkpoint


@dataclass
class HubConfig:
    push: bool = MISSING
    repo_id: str | None = MISSING
    private: bool = MISSING
    push_checkpoints: bool = MISSING
    license: str = MISSING


@dataclass
class MetricsConfig:
    every: int = MISSING  # steps between evaluations (0: only at the end; -1: never)
    metrics: list[str] = MISSING
    backbone: str = MISSING
    num_samples: int = MISSING


# Groups of the GAN scripts (train_dcgan.py, train_classifier.py, train_blobgan.py).


@dataclass
class DCGANModelConfig:  # DCGAN sizes (training/configs/model/)
    latent_dim: int = MISSING
    g_channels: int = MISSING
    d_channels: int = MISSING


@dataclass
class GANOptimConfig:  # Adam with a learning rate for each network of the GAN (training/configs/optim/)
    g_lr: float = MISSING
    d_lr: float = MISSING
    beta1: float = MISSING
    beta2: float = MISSING


@dataclass
class AugmentConfig:
    policy: list[str] = MISSING  # DiffAugment transforms, e.g. [color, translation, cutout]; [] disables it


@dataclass
class RunConfig:
    """The top-level keys of every script; a script's schema subclasses it and adds its own groups."""

    output_dir: str = MISSING
    overwrite: bool = MISSING
    resume: str | None = MISSING
    seed: int = MISSING
    mixed_precision: str = MISSING
    max_steps: int = MISSING  # the step schedule: a run that is not stopped early is reproducible to the bit
    max_minutes: float | None = MISSING  # wall-clock budget: stop, checkpoint and release when it is spent
    batch_size: int = MISSING
    data: DataConfig = field(default_factory=DataConfig)
    logging: LoggingConfig = field(default_factory=LoggingConfig)
    checkpoint: CheckpointConfig = field(default_factory=CheckpointConfig)
    hub: HubConfig = field(default_factory=HubConfig)
    metrics: MetricsConfig = field(default_factory=MetricsConfig)


@dataclass
class GANRunConfig(RunConfig):
    """RunConfig plus the groups of every GAN script: the optimisers and DiffAugment (each adds its `model`)."""

    optim: GANOptimConfig = field(default_factory=GANOptimConfig)
    augment: AugmentConfig = field(default_factory=AugmentConfig)


@dataclass
class DCGANRunConfig(GANRunConfig):
    """GANRunConfig with DCGAN's sizes (train_dcgan.py, train_classifier.py)."""

    model: DCGANModelConfig = field(default_factory=DCGANModelConfig)


def validate_config(cfg: DictConfig, schema: type) -> DictConfig:
    """Merge `cfg` into the dataclass `schema`: an unknown key, a wrong type or a missing value is a `ValueError`
    naming the key, and so is a push without a repo id. Returns the typed, read-only config."""
    try:
        typed = OmegaConf.merge(OmegaConf.structured(schema), cfg)
        OmegaConf.to_container(typed, resolve=True, throw_on_missing=True)
    except OmegaConfBaseException as error:
        key = getattr(error, "full_key", None) or "?"
        raise ValueError(f"config error at '{key}': {error.msg if hasattr(error, 'msg') else error}") from None
    if "hub" in typed and typed.hub.push and not typed.hub.repo_id:
        raise ValueError("hub.push=true needs hub.repo_id=<user>/<name>")
    OmegaConf.set_readonly(typed, True)
    return typed


# --------------------------------------------------------------------------------------------------------------------
# Output folder


def prepare_output_dir(output_dir: str | os.PathLike, overwrite: bool, resuming: bool) -> Path:
    """Create the output folder; refuse one that holds another run's results (checkpoints, a release) unless
    resuming or `overwrite=true`. A run that failed before saving anything (bad data, say) is simply run again."""
    out = Path(output_dir)
    run_files = [p for p in ("checkpoints", "release") if (out / p).exists()]
    if run_files and not resuming:
        if not overwrite:
            raise FileExistsError(
                f"{out} holds another run ({', '.join(run_files)}). Pass overwrite=true to replace it, "
                "resume=latest to continue it, or another output_dir."
            )
        for name in ("run.json", "metrics.jsonl", "checkpoints", "release", "samples"):
            target = out / name
            if target.is_dir():
                shutil.rmtree(target)
            elif target.exists():
                target.unlink()
    out.mkdir(parents=True, exist_ok=True)
    return out


def hardware_summary() -> str:
    if torch.cuda.is_available():
        return f"{torch.cuda.device_count()} x {torch.cuda.get_device_name(0)}"
    threads = torch.get_num_threads()
    return f"CPU ({platform.processor() or platform.machine()}, {threads} thread{'s' if threads != 1 else ''})"


# --------------------------------------------------------------------------------------------------------------------
# Deterministic data order and randomness: every step's draws are a function of (seed, step, rank), so a resumed run
# draws exactly what the uninterrupted one would have, on any number of processes.


def step_seed(seed: int, step: int, rank: int = 0) -> int:
    return (seed * 1_000_003 + step * 7_919 + rank * 104_729) % (2**63 - 1)


def batch_indices(num_items: int, batch_size: int, step: int, seed: int, rank: int = 0, world: int = 1):
    """Indices of this process's batch at `step`: epochs are seeded permutations walked in order, each global batch
    split across processes."""
    global_batch = batch_size * world
    start = step * global_batch + rank * batch_size
    out = []
    while len(out) < batch_size:
        epoch, offset = divmod(start + len(out), num_items)
        order = torch.randperm(num_items, generator=torch.Generator().manual_seed(seed * 7_777 + epoch))
        out.extend(order[offset : offset + batch_size - len(out)].tolist())
    return torch.tensor(out)


# --------------------------------------------------------------------------------------------------------------------
# Logging


class RunLogger:
    """Scalars to the console bar, `metrics.jsonl` and wandb; sample grids to `samples/step-*.png` and wandb."""

    def __init__(self, cfg: DictConfig, output_dir: Path, enabled: bool = True):
        self.output_dir, self.enabled = output_dir, enabled
        self.run = None
        if not enabled:
            return
        mode = cfg.logging.wandb
        if mode == "auto":
            mode = "online" if os.environ.get("WANDB_API_KEY") or _wandb_logged_in() else "offline"
        if os.environ.get("WANDB_MODE") == "disabled":
            mode = "disabled"
        if mode != "disabled":
            import wandb

            self.run = wandb.init(
                project=cfg.logging.project,
                name=cfg.logging.run_name,
                dir=str(output_dir),
                mode=mode,
                config=OmegaConf.to_container(cfg, resolve=True),
                resume="allow",
                id=_wandb_run_id(output_dir),
            )

    def log(self, step: int, scalars: dict[str, Any]) -> None:
        if not self.enabled:
            return
        record = {"step": step, **{k: float(v) for k, v in scalars.items()}}
        with open(self.output_dir / "metrics.jsonl", "a") as f:
            f.write(json.dumps(record) + "\n")
        if self.run is not None:
            self.run.log(scalars, step=step)

    def log_grid(self, step: int, grid) -> Path | None:
        """Save the sample grid (a PIL image) of `step` as samples/step-NNNNNNN.png, and send it to wandb."""
        if not self.enabled:
            return None
        path = atomic_write(self.output_dir / "samples" / f"step-{step:07d}.png", lambda t: grid.save(t, format="PNG"))
        if self.run is not None:
            import wandb

            self.run.log({"samples": wandb.Image(grid)}, step=step)
        return path

    def finish(self) -> None:
        if self.run is not None:
            self.run.finish()
            self.run = None


def _wandb_logged_in() -> bool:
    netrc = Path.home() / ".netrc"
    return netrc.is_file() and "api.wandb.ai" in netrc.read_text()


def _wandb_run_id(output_dir: Path) -> str:
    """One wandb run per output folder, so a resumed run continues its curves."""
    id_file = output_dir / "wandb_run_id.txt"
    if not id_file.is_file():
        id_file.write_text(f"{output_dir.name[:40]}-{int(time.time())}".replace("/", "-"))
    return id_file.read_text().strip()


# --------------------------------------------------------------------------------------------------------------------
# Data and metrics


def load_training_images(data: DataConfig):
    """The training split as an `hfgan.data.ImageTensorDataset` at `data.image_size` ("emoji": the shipped set).

    A dataset stored at another resolution is center-cropped and resized once, here, with an antialiased filter.
    """
    from hfgan.data import load_image_dataset

    dataset = load_image_dataset(data.source, split=data.split, image_size=data.image_size)
    print(f"Data: {dataset} from {data.source} (split {data.split})", flush=True)
    return dataset


def make_evaluator(cfg: DictConfig, image_size: int):
    """An `hfgan.metrics.Evaluator` for the training data, or None when metrics are off (`metrics.every=-1`)."""
    if cfg.metrics.every < 0:
        return None
    from hfgan.metrics import Evaluator

    return Evaluator(
        cfg.data.source,
        backbone=cfg.metrics.backbone,
        metrics=list(cfg.metrics.metrics),
        num_samples=cfg.metrics.num_samples,
        split=cfg.data.split,
        resolution=image_size,
        device="cuda" if torch.cuda.is_available() else "cpu",
        seed=cfg.seed,
    )


# --------------------------------------------------------------------------------------------------------------------
# The GAN step's pieces that train_dcgan.py and train_blobgan.py share


def gan_d_loss(discriminator, real: torch.Tensor, fake: torch.Tensor, policy: list[str], kind: str, r1_gamma: float,
               r1_every: int, step: int) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:  # fmt: skip
    """The discriminator's loss on real and generated images (detached), both through the same DiffAugment, plus lazy
    R1 on the real images every `r1_every` steps, weighted by `r1_every`. Returns (what to backpropagate, the named
    scalars of `hfgan.losses.d_loss` and `r1_grad_norm2` on R1 steps)."""
    real = real.requires_grad_(r1_gamma > 0 and step % r1_every == 0)
    real_logits = discriminator(diff_augment(real, policy)).logits
    fake_logits = discriminator(diff_augment(fake.detach(), policy)).logits
    out = d_loss(kind, real_logits.float(), fake_logits.float())
    total = out["loss"]
    if real.requires_grad:
        r1 = r1_penalty(real, real_logits.float(), r1_gamma * r1_every)
        total = total + r1["loss"]
        out["r1_grad_norm2"] = r1["r1_grad_norm2"]
    return total, out


def gan_scalars(d_out: dict[str, torch.Tensor], g_out: dict[str, torch.Tensor]) -> dict[str, float]:
    """The logged scalars of a GAN step: both losses, D(x), D(G(z)) before the G step, and R1's gradient norm."""
    scalars = {"loss_d": d_out["loss"].item(), "loss_g": g_out["loss"].item(), "d_real": d_out["d_real"].item(),
               "d_fake": d_out["d_fake"].item()}  # fmt: skip
    if "r1_grad_norm2" in d_out:
        scalars["r1_grad_norm2"] = d_out["r1_grad_norm2"].item()
    return scalars


def check_finite(step: int, loss: torch.Tensor, out: Path) -> None:
    """Stop before a non-finite loss reaches the weights; the last checkpoint stays the last good one."""
    if not torch.isfinite(loss).all():
        raise FloatingPointError(
            f"non-finite loss ({loss.item()}) at step {step + 1}; stopped before it reached the weights. "
            f"The last good checkpoint is in {out / 'checkpoints'} (resume=latest continues from it)."
        )


def choose_plan(cfg: DictConfig, accelerator, seconds_per_step: Callable[[DictConfig], float]) -> DictConfig:
    """Resolve `plan: auto` to the name of one of `plans`: the first whose whole schedule (its `max_steps`) fits
    `max_minutes` at this machine's speed, measured by `seconds_per_step(cfg with that plan)` (a few timed steps),
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
            minutes = seconds_per_step(trial) * trial.max_steps / 60
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


# --------------------------------------------------------------------------------------------------------------------
# The run


class TrainingRun:
    """Everything around a script's training step: output folder, resume, logging, cadence, checkpoints, releases,
    pushes, the wall-clock budget and a graceful stop.

        with TrainingRun(cfg, accelerator) as run:                 # output folder, logging, the resume point
            run.track(models={...}, optimizers={...}, states={...})    # what a checkpoint holds; restored on resume
            run.set_release(pipeline=..., samples=..., evaluator=..., extra_models=..., card=...)
            while run.next_step():                                     # False at max_steps, max_minutes or Ctrl-C
                ...  # the script's own training step, at step `run.step`
                run.end_step(images=cfg.batch_size * world, scalars=lambda: {...})
            summary = run.finish()                                     # final checkpoint and release, push report

    Models are saved with `save_pretrained` in a folder of their name, and loaded back on resume with their own
    class's `from_pretrained`; optimisers and `states` (anything with `state_dict`/`load_state_dict`) go into the
    checkpoint's `training_state.pt` under their names. Only the main process writes; all processes agree on when to
    stop.
    """

    def __init__(self, cfg: DictConfig, accelerator):
        self.cfg, self.accelerator = cfg, accelerator
        self.is_main, self.world = accelerator.is_main_process, accelerator.num_processes
        self.out = Path(cfg.output_dir)
        self.resume_from = resolve_resume(cfg.resume, self.out / "checkpoints")
        if self.is_main:
            prepare_output_dir(self.out, cfg.overwrite, resuming=self.resume_from is not None)
        accelerator.wait_for_everyone()
        self.config_yaml = OmegaConf.to_yaml(cfg, resolve=True)  # the values this run used, plan included
        self.logger = RunLogger(cfg, self.out, enabled=self.is_main)
        if self.is_main:
            print(f"Config:\n{self.config_yaml}", flush=True)
            (self.out / "run.json").write_text(json.dumps(OmegaConf.to_container(cfg, resolve=True), indent=2))
        self.start_time = time.time()
        self.step = self.start_step = self.images_seen = 0
        self.wall_before = 0.0
        self.metrics: dict[str, float] = {}
        self.failed_pushes: list[str] = []
        self.models: dict[str, torch.nn.Module] = {}
        self.optimizers: dict[str, torch.optim.Optimizer] = {}
        self.states: dict[str, Any] = {}
        self.pipeline = self.samples = self.evaluator = None
        self.extra_models: dict[str, torch.nn.Module] = {}
        self.card: dict[str, Any] = {}
        self.stop = GracefulStop()
        self.stop_reason: str | None = None
        self.progress = 0.0  # the fraction of the run done (steps or budget, whichever is further): for schedules
        self._bar = None
        self._last_checkpoint = self._evaluated = -1
        self._last_log = (self.start_time, 0)

    def __enter__(self) -> TrainingRun:
        return self

    def __exit__(self, *exc) -> None:
        """Whatever ended the block (an error too): Ctrl-C gets its usual meaning back, and the logs are closed."""
        self.stop.__exit__()
        if self._bar is not None:
            self._bar.close()
        self.logger.finish()

    # ---------------------------------------------------------------------------------------------------- set-up

    def track(self, models: dict[str, torch.nn.Module], optimizers=None, states=None) -> None:
        """Name what a checkpoint holds (before `accelerator.prepare`), and restore it all when resuming."""
        self.models, self.optimizers, self.states = dict(models), dict(optimizers or {}), dict(states or {})
        if self.resume_from is None:
            return
        saved = load_state(self.resume_from)
        for name, model in self.models.items():
            loaded = type(model).from_pretrained(self.resume_from / name)
            changed = [f"{key}={loaded.config.get(key)!r} there, {value!r} here" for key, value in model.config.items()
                       if not key.startswith("_") and loaded.config.get(key) != value]  # fmt: skip
            if changed:  # e.g. another label set (num_classes) or width: say which, not torch's size mismatch
                raise ValueError(f"cannot resume {name} from {self.resume_from}: its config differs from this "
                                 f"run's: {'; '.join(changed)}")  # fmt: skip
            model.load_state_dict(loaded.state_dict())
        for name, obj in {**self.optimizers, **self.states}.items():
            obj.load_state_dict(saved[name])
        restore_rng_state(saved["rng"])
        self.step = self.start_step = saved["step"]
        self.images_seen, self.wall_before = saved["images_seen"], saved["wall_seconds"]
        self._last_log = (time.time(), self.images_seen)
        if self.is_main:
            print(f"Resumed from {self.resume_from} at step {self.step}", flush=True)

    def set_release(
        self,
        pipeline: Callable[[], Any],
        samples: Callable[[Any], Any] | None = None,
        evaluator: Callable[[Any], dict[str, float]] | None = None,
        extra_models: dict[str, torch.nn.Module] | None = None,
        card: dict[str, Any] | None = None,
    ) -> None:
        """What the run samples, evaluates and releases.

        Args:
            pipeline: builds the pipeline to release from the current weights (e.g. the EMA generator); called before
                every checkpoint, grid and evaluation, so it may also refresh state that a checkpoint saves.
            samples: `samples(pipeline) -> PIL image`, the sample grid (of fixed latents, so grids compare across
                steps), or None for a pipeline that draws no images.
                None for a pipeline that draws no images.
            evaluator: `evaluator(pipeline) -> {metric: value}`, run every `metrics.every` steps and at the end.
            extra_models: saved in the release beside the pipeline, each in a folder of its name.
            card: the script's own facts for the model card's training table (loss, augmentation, ...).
        """
        self.pipeline, self.samples, self.evaluator = pipeline, samples, evaluator
        self.extra_models, self.card = dict(extra_models or {}), dict(card or {})

    # ------------------------------------------------------------------------------------------------------ loop

    def elapsed_minutes(self) -> float:
        return (time.time() - self.start_time) / 60

    def next_step(self) -> bool:
        """Whether to run step `self.step`: False once at `max_steps`, past `max_minutes`, or after Ctrl-C/SIGTERM."""
        cfg = self.cfg
        if self._bar is None:  # the loop starts: catch Ctrl-C from here on, show progress
            self.stop.__enter__()
            show = self.is_main and cfg.logging.progress_bar
            self._bar = tqdm(total=cfg.max_steps, initial=self.step, disable=not show, unit="step")
        if self.step >= cfg.max_steps:
            return False
        stop, elapsed = self._agree(self.stop.requested is not None, self.elapsed_minutes())
        self.progress = run_progress(self.step, cfg.max_steps, elapsed, cfg.max_minutes)
        reason = self.stop.requested
        if reason is None and cfg.max_minutes is not None and elapsed >= cfg.max_minutes:
            reason = f"max_minutes={cfg.max_minutes}"
        if stop or reason is not None:
            self.stop_reason = reason or "another process stopped"
            return False
        return True

    def end_step(self, images: int, scalars: Callable[[], dict[str, float]]) -> None:
        """Count the step just trained; log `scalars()` (called only on logging steps), grids, metrics and
        checkpoints on their cadence. The last step's checkpoint and release are `finish`'s."""
        cfg = self.cfg
        self.step += 1
        self.images_seen += images
        self._bar.update(1)
        step, last = self.step, self.step == cfg.max_steps
        if step % cfg.logging.every == 0 or last:
            now, (then, images_then) = time.time(), self._last_log
            values = {**scalars(), "images_per_second": (self.images_seen - images_then) / max(now - then, 1e-9),
                      "images_seen": self.images_seen}  # fmt: skip
            self.logger.log(step, values)
            self._bar.set_postfix({k: f"{v:.3f}" for k, v in values.items() if k.startswith(("loss", "d_"))})
            self._last_log = (now, self.images_seen)
        if last:
            return
        grids = self.samples is not None and cfg.logging.sample_every
        if self.is_main and grids and step % cfg.logging.sample_every == 0:
            self.logger.log_grid(step, self.samples(self.pipeline()))
        if self.is_main and self.evaluator is not None and cfg.metrics.every > 0 and step % cfg.metrics.every == 0:
            self._evaluate(self.pipeline())
        if cfg.checkpoint.every and step % cfg.checkpoint.every == 0:
            self.checkpoint(release=cfg.checkpoint.release_every)

    def finish(self) -> dict[str, Any]:
        """The final checkpoint and release, the stop message, the push report; returns a summary of the run."""
        if self._bar is not None:
            self._bar.close()
        if self.step > self.start_step or self.start_step == 0:  # a fresh run with no step to train still releases
            self.checkpoint(release=True, final=True)
        wall = self.wall_before + time.time() - self.start_time
        if self.is_main:
            if self.stop_reason is not None:
                print(self._resume_hint(), flush=True)
            samples = f"Samples: {self.out / 'samples'}; " if self.samples is not None else ""
            print(f"Done: {self.step} steps, {self.images_seen} images in {wall / 60:.1f} min. {samples}release: "
                  f"{self.out / 'release'}", flush=True)  # fmt: skip
        if self.failed_pushes:
            raise PushError(f"{len(self.failed_pushes)} push(es) failed; the last one:\n{self.failed_pushes[-1]}")
        return {
            "steps": self.step,
            "images_seen": self.images_seen,
            "wall_seconds": wall,
            "output_dir": str(self.out),
            "release": str(self.out / "release"),
            "metrics": self.metrics,
            "stopped_by": self.stop_reason,
        }

    # ---------------------------------------------------------------------------------------- checkpoint, release

    def checkpoint(self, release: bool, final: bool = False) -> None:
        """Save a checkpoint (and with `release`, the release folder) of the current step; push when asked. The
        `final` release (from `finish`) is always evaluated."""
        cfg, step = self.cfg, self.step
        if self.is_main:
            pipe = self.pipeline()  # first, so that state it refreshes (BatchNorm statistics) is what gets saved
            wall_seconds = self.wall_before + time.time() - self.start_time
            if step != self._last_checkpoint:  # a stop right after a scheduled checkpoint only adds the release
                state = {
                    "step": step,
                    "images_seen": self.images_seen,
                    "wall_seconds": wall_seconds,
                    **{name: obj.state_dict() for name, obj in {**self.optimizers, **self.states}.items()},
                    "rng": capture_rng_state(),
                }
                models = {name: self.accelerator.unwrap_model(m) for name, m in self.models.items()}
                ckpt = save_checkpoint(self.out / "checkpoints", step, models, state, self.config_yaml,
                                       cfg.checkpoint.keep_last)  # fmt: skip
                self._last_checkpoint = step
                if cfg.hub.push and cfg.hub.push_checkpoints:
                    self._push(ckpt, f"checkpoints/{ckpt.name}")
            if release:
                self._release(pipe, wall_seconds, final)
        self.accelerator.wait_for_everyone()

    def _release(self, pipe, wall_seconds: float, final: bool) -> None:
        cfg, step = self.cfg, self.step
        grid = None
        if self.samples is not None:
            grid = self.logger.log_grid(step, self.samples(pipe))
        if self.evaluator is not None and (final or cfg.metrics.every == 0) and self._evaluated != step:
            self._evaluate(pipe)
        steps = f"{step} of {cfg.max_steps} (stopped by {self.stop_reason})" if self.stop_reason else f"{step}"
        command = launch_command()
        training = {
            "command": f"`{command}`" if command else None,
            "dataset": cfg.data.name,
            "steps": steps,
            "images seen": self.images_seen,
            "wall time": f"{wall_seconds / 60:.1f} min",
            "hardware": hardware_summary(),
            "batch size": cfg.batch_size * self.world,
            **self.card,
            "config": self.config_yaml,
        }
        training = {key: value for key, value in training.items() if value is not None}
        release = save_release(
            self.out / "release",
            pipe,
            cfg.hub.repo_id or f"your-name/{self.out.name}",
            extra_models={name: self.accelerator.unwrap_model(m) for name, m in self.extra_models.items()},
            sample_grid=grid,
            license=cfg.hub.license,
            datasets=[cfg.data.name] if "/" in cfg.data.name else None,
            dataset_name=cfg.data.name,
            training=training,
            metrics=to_model_index(self.metrics) if self.metrics else None,
        )
        print(f"Release written to {release}", flush=True)
        if cfg.hub.push:
            self._push(release, None)

    def _evaluate(self, pipe) -> None:
        self.metrics, self._evaluated = self.evaluator(pipe), self.step
        self.logger.log(self.step, self.metrics)

    def _push(self, folder: Path, path_in_repo: str | None) -> None:
        """Push; a failure is reported and training goes on (`finish` raises PushError, outputs kept)."""
        try:
            push_folder(folder, self.cfg.hub.repo_id, path_in_repo, private=self.cfg.hub.private)
            print(f"Pushed {folder} to {self.cfg.hub.repo_id}/{path_in_repo or ''}", flush=True)
        except PushError as error:
            print(error, file=sys.stderr, flush=True)
            self.failed_pushes.append(str(error))

    # ------------------------------------------------------------------------------------------------- helpers

    def _agree(self, flag: bool, minutes: float) -> tuple[bool, float]:
        """(`flag` on any process, the mean of `minutes`): every process stops at the same step and follows the
        same schedule."""
        if self.world == 1:
            return flag, minutes
        t = torch.tensor([float(flag), minutes], device=self.accelerator.device, dtype=torch.float64)
        flags, total = self.accelerator.reduce(t, reduction="sum").tolist()
        return flags > 0, total / self.world

    def _resume_hint(self) -> str:
        command = launch_command() or f"python training/{Path(sys.argv[0]).name}"
        overrides = [a for a in command.split(" ") if not a.startswith(("resume=", "output_dir=", "overwrite="))]
        return (
            f"Stopped early ({self.stop_reason}) at step {self.step} of {self.cfg.max_steps}. The checkpoint and the "
            f"release of what was trained so far are in {self.out}. Continue with:\n    "
            + " ".join([*overrides, "resume=latest", f"output_dir={self.out}"])
        )


def launch_command() -> str | None:
    """The command line that started this run (`python training/<script> <overrides>`), when hydra started it."""
    from hydra.core.hydra_config import HydraConfig

    if not HydraConfig.initialized():
        return None
    return " ".join(["python", f"training/{Path(sys.argv[0]).name}", *HydraConfig.get().overrides.task])


def run_main(train: Callable[[DictConfig], dict], cfg: DictConfig) -> None:
    """A script's `main`: train, and exit with the shell's code for how it ended (1: a push failed, outputs kept;
    130/143: stopped by Ctrl-C/SIGTERM after saving)."""
    try:
        summary = train(cfg)
    except PushError as error:
        print(error, file=sys.stderr)
        sys.exit(1)
    if summary["stopped_by"] in ("SIGINT", "SIGTERM"):
        sys.exit(130 if summary["stopped_by"] == "SIGINT" else 143)
