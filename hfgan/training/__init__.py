"""Training pieces shared by every hfgan training script (DCGAN, the classifiers; BlobGAN later).

The scripts themselves live in `training/` with their hydra configs; nothing here imports hydra or wandb.
"""

from typing import TYPE_CHECKING

from .._lazy import lazy_exports

_MODULES = {  # where each public name lives; imported on first use
    ".checkpoint": ["list_checkpoints", "load_state", "resolve_resume", "save_checkpoint"],
    ".ema": ["EMA", "recalibrate_batch_norm"],
    ".probe": ["fit_linear_probe"],
    ".schedule": ["ramp_down", "run_progress"],
    ".stop": ["GracefulStop"],
}

__all__, __getattr__, __dir__ = lazy_exports(__name__, _MODULES)

if TYPE_CHECKING:
    from .checkpoint import list_checkpoints, load_state, resolve_resume, save_checkpoint
    from .ema import EMA, recalibrate_batch_norm
    from .probe import fit_linear_probe
    from .schedule import ramp_down, run_progress
    from .stop import GracefulStop
