"""Training pieces shared by every hfgan training script (DCGAN now; classifier and BlobGAN later).

The scripts themselves live in `training/` with their hydra configs; nothing here imports hydra or wandb.
"""

from .checkpoint import list_checkpoints, load_state, resolve_resume, save_checkpoint
from .ema import EMA, recalibrate_batch_norm
from .stop import GracefulStop

__all__ = ["EMA", "GracefulStop", "list_checkpoints", "load_state", "recalibrate_batch_norm", "resolve_resume", "save_checkpoint"]
