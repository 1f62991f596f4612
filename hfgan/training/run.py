"""[`TrainingRun`]: everything around a training script's step, so that each script shows only its own networks, losses
and step, top to bottom.

    with TrainingRun(cfg, accelerator) as run:                     # output folder, logging, the resume point
        run.track(models={...}, optimizers={...}, states={...})    # what a checkpoint holds; restored on resume
        run.set_release(pipeline=..., samples=..., evaluator=..., extra_models=..., card=...)
        while run.next_step():                                     # False at max_steps, max_minutes or Ctrl-C
            ...                                                    # the script's own step, at step `run.step`
            run.step_done(images=cfg.batch_size * world)
            if run.due(cfg.logging.every, at_end=True):
                run.log({...})
            if run.due(cfg.logging.sample_every):
                run.log_samples()
            if run.due(cfg.metrics.every):
                run.evaluate()
            if run.due(cfg.checkpoint.every):
                run.checkpoint(release=cfg.checkpoint.release_every)
        summary = run.finish()                         # final checkpoint and release, push report, summary.json

Its parts: [`RunLogger`] (metrics.jsonl, sample grids, a tracker such as wandb), [`Checkpointer`] (what a checkpoint
holds, saving and resuming) and [`Releaser`] (the release folder and its model card) with a [`HubPusher`]. The run
itself owns the output folder, the step counter, the wall-clock budget `max_minutes`, the progress bar and a graceful
stop on Ctrl-C or SIGTERM. Only the main process writes; all processes agree on when to stop. Nothing here imports
hydra or wandb: a script passes its tracker and its command line in (`training/common.py`).
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from omegaconf import DictConfig, OmegaConf
from tqdm.auto import tqdm

from ..cards import to_model_index
from ..utils import atomic_write
from .batches import real_batch
from .checkpoint import Checkpointer, resolve_resume
from .logger import RunLogger, Tracker
from .release import HubPusher, PushError, Releaser
from .schedule import run_progress
from .stop import GracefulStop

BAR_TICKS = 1000  # the progress bar counts thousandths of the run (steps or budget, whichever is further)


def prepare_output_dir(output_dir: str | Path, overwrite: bool, resuming: bool) -> Path:
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
        for name in ("run.json", "summary.json", "metrics.jsonl", "checkpoints", "release", "samples"):
            target = out / name
            if target.is_dir():
                shutil.rmtree(target)
            elif target.exists():
                target.unlink()
    out.mkdir(parents=True, exist_ok=True)
    return out


class OutputDirInUse(RuntimeError):
    """Another live run holds the output folder."""


def lock_output_dir(output_dir: str | Path):
    """Hold `output_dir/.lock` for a run's life: a second run in the same folder (another terminal, a scheduler's
    retry, the same command with `overwrite=true` while a stopped run still saves) is refused instead of writing into
    files the first one is writing. An advisory `flock`, which the system releases when the process ends, however it
    ends: no stale lock after a crash. Returns the open lock file (close it to release), or None where there is no
    `fcntl` (Windows: no lock)."""
    try:
        import fcntl
    except ImportError:
        return None
    out = Path(output_dir)
    out.mkdir(parents=True, exist_ok=True)
    handle = open(out / ".lock", "a+")  # noqa: SIM115 - held open for the run's life, closed by TrainingRun
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        handle.seek(0)
        owner = handle.read().strip() or "a live process"
        handle.close()
        raise OutputDirInUse(f"{out} is in use by another run ({owner}). Wait for it to end or stop it, or choose "
                             "another output_dir.") from None
    handle.truncate(0)
    handle.write(f"pid {os.getpid()} on {platform.node()}\n")  # for the message above; the lock is the flock
    handle.flush()
    return handle


def hardware_summary() -> str:
    """What the model card's training table says the run ran on."""
    if torch.cuda.is_available():
        return f"{torch.cuda.device_count()} x {torch.cuda.get_device_name(0)}"
    threads = torch.get_num_threads()
    return f"CPU ({platform.processor() or platform.machine()}, {threads} thread{'s' if threads != 1 else ''})"


def check_finite(step: int, loss: torch.Tensor, out: Path) -> None:
    """Stop before a non-finite loss reaches the weights; the last checkpoint stays the last good one."""
    if not torch.isfinite(loss).all():
        raise FloatingPointError(
            f"non-finite loss ({loss.item()}) at step {step + 1}; stopped before it reached the weights. "
            f"The last good checkpoint is in {out / 'checkpoints'} (resume=latest continues from it)."
        )


class TrainingRun:
    """
    Everything around a script's training step: output folder, resume, logging, cadence, checkpoints, releases,
    pushes, the wall-clock budget and a graceful stop (see the module's docstring for the loop).

    Args:
        cfg (`DictConfig`): the validated config (`hfgan.training.config.RunConfig`'s groups).
        accelerator (`accelerate.Accelerator`): processes, devices and unwrapping.
        tracker (`Callable[[Path], Tracker]`, *optional*): makes the experiment tracker for the output folder (the
            scripts' wandb run); called on the main process only.
        command (`str`, *optional*): the command line that started the run, for the model card and the resume hint.
    """

    def __init__(self, cfg: DictConfig, accelerator, tracker: Callable[[Path], Tracker | None] | None = None,
                 command: str | None = None):
        self.cfg, self.accelerator, self.command = cfg, accelerator, command
        self.is_main, self.world = accelerator.is_main_process, accelerator.num_processes
        self.out = Path(cfg.output_dir)
        resume_from = resolve_resume(cfg.resume, self.out / "checkpoints")
        self._lock = None
        if self.is_main:
            self._lock = lock_output_dir(self.out)  # before anything in the folder is replaced
            prepare_output_dir(self.out, cfg.overwrite, resuming=resume_from is not None)
        accelerator.wait_for_everyone()
        config_yaml = OmegaConf.to_yaml(cfg, resolve=True)  # the values this run used, plan included
        self.logger = RunLogger(self.out, self.is_main, tracker(self.out) if tracker and self.is_main else None)
        self.checkpointer = Checkpointer(self.out / "checkpoints", resume_from, config_yaml, cfg.checkpoint.keep_last,
                                         unwrap=accelerator.unwrap_model)
        self.pusher = HubPusher(cfg.hub.repo_id if cfg.hub.push else None, private=cfg.hub.private)
        self.releaser: Releaser | None = None
        if self.is_main:
            print(f"Config:\n{config_yaml}", flush=True)
            (self.out / "run.json").write_text(json.dumps(OmegaConf.to_container(cfg, resolve=True), indent=2))
        self.start_time = time.time()
        self.step = self.start_step = self.images_seen = 0
        self.wall_before = 0.0
        self.metrics: dict[str, float] = {}
        self.stop = GracefulStop()
        self.stop_reason: str | None = None
        self.progress = 0.0  # the fraction of the run done (steps or budget, whichever is further): for schedules
        self._bar = None
        self._bar_scalars = ""
        self._evaluated = -1
        self._last_log = (self.start_time, 0)

    def __enter__(self) -> TrainingRun:
        return self

    def __exit__(self, *exc) -> None:
        """Whatever ended the block (an error too): Ctrl-C gets its usual meaning back, and the logs are closed."""
        self.stop.__exit__()
        if self._bar is not None:
            self._bar.close()
        self.logger.finish()
        if self._lock is not None:
            self._lock.close()  # the folder is free for the next run

    # ---------------------------------------------------------------------------------------------------- set-up

    def track(self, models: dict[str, torch.nn.Module], optimizers=None, states=None) -> None:
        """Name what a checkpoint holds (before `accelerator.prepare`), and restore it all when resuming."""
        counters = self.checkpointer.track(models, optimizers, states)
        if counters is None:
            return
        self.step = self.start_step = counters["step"]
        self.images_seen, self.wall_before = counters["images_seen"], counters["wall_seconds"]
        self._last_log = (time.time(), self.images_seen)
        if self.is_main:
            print(f"Resumed from {self.checkpointer.resume_from} at step {self.step}", flush=True)

    def set_release(self, pipeline: Callable[[], Any], samples: Callable[[Any], Any] | None = None,
                    evaluator: Callable[[Any], dict[str, float]] | None = None,
                    extra_models: dict[str, torch.nn.Module] | None = None, card: dict[str, Any] | None = None) -> None:
        """What the run samples, evaluates and releases: the arguments of [`Releaser`] (pass the evaluator on the
        main process only)."""
        self.releaser = Releaser(pipeline, samples, evaluator, extra_models, card)

    def real_batch(self, dataset) -> torch.Tensor:
        """This process's batch of real images at this step, `(B, 3, S, S)` in [-1, 1] on the accelerator's device,
        drawn by (seed, step, rank) (`hfgan.training.batches.real_batch`)."""
        return real_batch(dataset, self.cfg.batch_size, self.step, self.cfg.seed, self.accelerator.process_index,
                          self.world, self.accelerator.device)

    # ------------------------------------------------------------------------------------------------------ loop

    def elapsed_minutes(self) -> float:
        return (time.time() - self.start_time) / 60

    def next_step(self) -> bool:
        """Whether to run step `self.step`: False once at `max_steps`, past `max_minutes`, or after Ctrl-C/SIGTERM."""
        cfg = self.cfg
        if self._bar is None:  # the loop starts: catch Ctrl-C from here on, show progress
            self.stop.__enter__()
            show = self.is_main and cfg.logging.progress_bar
            bar_format = "{desc}: {percentage:3.0f}%|{bar}| [{elapsed}<{remaining}{postfix}]"
            self._bar = tqdm(total=BAR_TICKS, disable=not show, bar_format=bar_format)
        stop, elapsed = self._agree(self.stop.requested is not None, self.elapsed_minutes())
        self.progress = run_progress(self.step, cfg.max_steps, elapsed, cfg.max_minutes)
        self._update_bar(elapsed)
        if self.step >= cfg.max_steps:
            return False
        reason = self.stop.requested
        if reason is None and cfg.max_minutes is not None and elapsed >= cfg.max_minutes:
            reason = f"max_minutes={cfg.max_minutes}"
        if stop or reason is not None:
            self.stop_reason = reason or "another process stopped"
            return False
        return True

    def step_done(self, images: int) -> None:
        """Count the step just trained (`images`: over every process)."""
        self.step += 1
        self.images_seen += images

    def due(self, every: int, at_end: bool = False) -> bool:
        """Whether something done every `every` steps (0 or less: never) falls on the step just done. The last step
        of the schedule is `finish`'s (its checkpoint, grid and evaluation come with the release) unless `at_end`."""
        if self.step == self.cfg.max_steps:
            return at_end
        return every > 0 and self.step % every == 0

    def periodic(self) -> None:
        """What comes every so many steps, each on the steps it is due: the sample grid (`logging.sample_every`), the
        evaluation (`metrics.every`) and the checkpoint (`checkpoint.every`, with a release when
        `checkpoint.release_every`). The last step's come with `finish`'s release."""
        cfg = self.cfg
        if self.due(cfg.logging.sample_every):
            self.log_samples()
        if self.due(cfg.metrics.every):
            self.evaluate()
        if self.due(cfg.checkpoint.every):
            self.checkpoint(release=cfg.checkpoint.release_every)

    def log(self, scalars: dict[str, float]) -> None:
        """Log `scalars` at this step, with the images per second since the last log and the images seen."""
        now, (then, images_then) = time.time(), self._last_log
        values = {**scalars, "images_per_second": (self.images_seen - images_then) / max(now - then, 1e-9),
                  "images_seen": self.images_seen}
        self.logger.log(self.step, values)
        self._bar_scalars = ", ".join(f"{k}={v:.3f}" for k, v in values.items() if k.startswith(("loss", "d_")))
        self._last_log = (now, self.images_seen)

    def log_samples(self) -> Path | None:
        """Save (and send to the tracker) the sample grid of this step; main process only."""
        if not self.is_main or self.releaser.samples is None:
            return None
        return self.logger.log_grid(self.step, self.releaser.samples(self.releaser.pipeline()))

    def evaluate(self, pipe=None) -> None:
        """Evaluate the release's pipeline (`pipe`, or one built now) and log the metrics; main process only."""
        if self.releaser.evaluator is None:
            return
        pipe = pipe if pipe is not None else self.releaser.pipeline()
        self.metrics, self._evaluated = self.releaser.evaluator(pipe), self.step
        self.logger.log(self.step, self.metrics)

    def finish(self) -> dict[str, Any]:
        """The final checkpoint and release, the stop message, the push report; returns a summary of the run."""
        if self._bar is not None:
            self._bar.close()
        if self.step > self.start_step or self.start_step == 0:  # a fresh run with no step to train still releases
            self.checkpoint(release=True, final=True)
        wall = self.wall_seconds()
        if self.is_main:
            if self.stop_reason is not None:
                print(self._resume_hint(), flush=True)
            samples = f"Samples: {self.out / 'samples'}; " if self.releaser.samples is not None else ""
            print(f"Done: {self.step:,} steps, {self.images_seen:,} images in {wall / 60:.1f} min. {samples}release: "
                  f"{self.out / 'release'}", flush=True)
        summary = {
            "steps": self.step,
            "images_seen": self.images_seen,
            "wall_seconds": wall,
            "output_dir": str(self.out),
            "release": str(self.out / "release"),
            "metrics": self.metrics,
            "stopped_by": self.stop_reason,
        }
        if self.is_main:  # for whoever ran the script as a command (a benchmark, a scheduler)
            atomic_write(self.out / "summary.json", lambda tmp: Path(tmp).write_text(json.dumps(summary, indent=2)))
        self.pusher.raise_failures()
        return summary

    # ---------------------------------------------------------------------------------------- checkpoint, release

    def wall_seconds(self) -> float:
        """The run's wall time so far, earlier sessions of a resumed run included."""
        return self.wall_before + self.elapsed_minutes() * 60

    def checkpoint(self, release: bool = False, final: bool = False) -> None:
        """Save a checkpoint (and with `release`, the release folder) of the current step; push when asked. The
        `final` release (from `finish`) is always evaluated."""
        cfg = self.cfg
        if self.is_main:
            pipe = self.releaser.pipeline()  # first, so that state it refreshes (BatchNorm statistics) is saved
            counters = {"step": self.step, "images_seen": self.images_seen, "wall_seconds": self.wall_seconds()}
            ckpt = self.checkpointer.save(self.step, counters)  # None: this step's checkpoint is already saved
            if ckpt is not None and cfg.hub.push_checkpoints:
                self.pusher.push(ckpt, f"checkpoints/{ckpt.name}")
            if release:
                self._release(pipe, final)
        self.accelerator.wait_for_everyone()

    def _release(self, pipe, final: bool) -> None:
        cfg = self.cfg
        grid = None
        if self.releaser.samples is not None:
            grid = self.logger.log_grid(self.step, self.releaser.samples(pipe))
        if (final or cfg.metrics.every == 0) and self._evaluated != self.step:
            self.evaluate(pipe)
        training = {
            "command": f"`{self.command}`" if self.command else None,
            "dataset": cfg.data.name,
            "steps": self._steps_text(),
            "images seen": f"{int(self.images_seen):,}",
            "wall time": f"{self.wall_seconds() / 60:.1f} min",
            "hardware": hardware_summary(),
            "batch size": cfg.batch_size * self.world,
        }
        release = self.releaser.write(self.out / "release", pipe, cfg.hub.repo_id or f"your-name/{self.out.name}",
                                      grid, training, self.checkpointer.config_yaml,
                                      to_model_index(self.metrics) if self.metrics else None, cfg.hub.license,
                                      cfg.data.name, unwrap=self.accelerator.unwrap_model)
        print(f"Release written to {release}", flush=True)
        self.pusher.push(release, None)

    # ------------------------------------------------------------------------------------------------- helpers

    def _clock_leads(self, elapsed: float) -> bool:
        """Whether the budget, not the step schedule, is what ends this run (its fraction is the further one)."""
        cfg = self.cfg
        return cfg.max_minutes is not None and elapsed / cfg.max_minutes >= self.step / cfg.max_steps

    def _update_bar(self, elapsed: float) -> None:
        """Progress in the unit that ends the run: minutes of the budget (and steps done) where the clock leads,
        steps of the schedule otherwise; never a step count the budget will not reach."""
        cfg = self.cfg
        if self._clock_leads(elapsed):
            text = f"{elapsed:.1f}/{cfg.max_minutes:g} min, {self.step:,} steps"
        else:
            text = f"{self.step:,}/{cfg.max_steps:,} steps"
        self._bar.set_description_str(text, refresh=False)
        self._bar.set_postfix_str(self._bar_scalars, refresh=False)
        self._bar.update(int(self.progress * BAR_TICKS) - self._bar.n)

    def _steps_text(self) -> str:
        """The model card's steps: '15,000 steps in 20.0 minutes (budget)' where the clock ended the run."""
        cfg, minutes = self.cfg, self.wall_seconds() / 60
        reason = self.stop_reason
        if reason is None:
            return f"{self.step:,}"
        if reason.startswith("max_minutes"):
            return f"{self.step:,} steps in {minutes:.1f} minutes (budget)"
        if self._clock_leads(self.elapsed_minutes()):
            return f"{self.step:,} steps in {minutes:.1f} minutes (stopped by {reason})"
        return f"{self.step:,} of {cfg.max_steps:,} (stopped by {reason})"

    def _agree(self, flag: bool, minutes: float) -> tuple[bool, float]:
        """(`flag` on any process, the mean of `minutes`): every process stops at the same step and follows the
        same schedule."""
        if self.world == 1:
            return flag, minutes
        t = torch.tensor([float(flag), minutes], device=self.accelerator.device, dtype=torch.float64)
        flags, total = self.accelerator.reduce(t, reduction="sum").tolist()
        return flags > 0, total / self.world

    def _resume_hint(self) -> str:
        command = self.command or f"python training/{Path(sys.argv[0]).name}"
        overrides = [a for a in command.split(" ") if not a.startswith(("resume=", "output_dir=", "overwrite="))]
        where = "" if self._clock_leads(self.elapsed_minutes()) else f" of {self.cfg.max_steps:,}"
        reason = self.stop_reason
        budget = reason.startswith("max_minutes")
        why = f"The budget ({reason}) ended the run" if budget else f"Stopped early ({reason})"
        return (
            f"{why} at step {self.step:,}{where}. The checkpoint and the release of what was trained so far are in "
            f"{self.out}. Continue with:\n    "
            + " ".join([*overrides, "resume=latest", f"output_dir={self.out}"])
        )


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
