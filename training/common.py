"""What the scripts in training/ share that belongs to the command line, not to the package: hydra and wandb.

Everything else around a training step lives in `hfgan.training` (the run, its logger, checkpointer and releaser, the
config schema, the batch order), which imports neither. Here: [`training_run`] makes a `hfgan.training.TrainingRun`
with the command line hydra parsed and a wandb tracker.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

from omegaconf import DictConfig, OmegaConf

from hfgan.training import TrainingRun


class WandbTracker:
    """A wandb run as `hfgan.training.RunLogger`'s tracker: scalars and sample grids, one run per output folder."""

    def __init__(self, cfg: DictConfig, output_dir: Path, mode: str):
        import wandb

        self.wandb = wandb
        self.run = wandb.init(
            project=cfg.logging.project,
            name=cfg.logging.run_name,
            dir=str(output_dir),
            mode=mode,
            config=OmegaConf.to_container(cfg, resolve=True),
            resume="allow",
            id=_wandb_run_id(output_dir),
        )

    def log_scalars(self, step: int, scalars: dict[str, float]) -> None:
        self.run.log(scalars, step=step)

    def log_image(self, step: int, name: str, image) -> None:
        self.run.log({name: self.wandb.Image(image)}, step=step)

    def finish(self) -> None:
        self.run.finish()


def wandb_tracker(cfg: DictConfig, output_dir: Path) -> WandbTracker | None:
    """The run's wandb tracker as `logging.wandb` says: auto (online with an API key, else offline), online, offline
    or disabled (also with `WANDB_MODE=disabled`)."""
    mode = cfg.logging.wandb
    if mode == "auto":
        mode = "online" if os.environ.get("WANDB_API_KEY") or _wandb_logged_in() else "offline"
    if os.environ.get("WANDB_MODE") == "disabled" or mode == "disabled":
        return None
    return WandbTracker(cfg, output_dir, mode)


def _wandb_logged_in() -> bool:
    netrc = Path.home() / ".netrc"
    return netrc.is_file() and "api.wandb.ai" in netrc.read_text()


def _wandb_run_id(output_dir: Path) -> str:
    """One wandb run per output folder, so a resumed run continues its curves."""
    id_file = output_dir / "wandb_run_id.txt"
    if not id_file.is_file():
        id_file.write_text(f"{output_dir.name[:40]}-{int(time.time())}".replace("/", "-"))
    return id_file.read_text().strip()


def launch_command() -> str | None:
    """The command line that started this run (`python training/<script> <overrides>`), when hydra started it."""
    from hydra.core.hydra_config import HydraConfig

    if not HydraConfig.initialized():
        return None
    return " ".join(["python", f"training/{Path(sys.argv[0]).name}", *HydraConfig.get().overrides.task])


def training_run(cfg: DictConfig, accelerator) -> TrainingRun:
    """The `TrainingRun` of a script: its output folder, wandb as `logging.wandb` says, and the command line."""
    return TrainingRun(cfg, accelerator, tracker=lambda out: wandb_tracker(cfg, out), command=launch_command())
