"""Training pieces shared by every hfgan training script (DCGAN now; classifier and BlobGAN later).

The scripts themselves live in `training/` with their hydra configs; nothing here imports hydra or wandb.
"""

from typing import TYPE_CHECKING

from .._lazy import lazy_exports

_EXPORTS = {
    "list_checkpoints": ".checkpoint",
    "load_state": ".checkpoint",
    "resolve_resume": ".checkpoint",
    "save_checkpoint": ".checkpoint",
    "EMA": ".ema",
    "recalibrate_batch_norm": ".ema",
    "GracefulStop": ".stop",
}

__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)

if TYPE_CHECKING:
    from .checkpoint import list_checkpoints, load_state, resolve_resume, save_checkpoint
    from .ema import EMA, recalibrate_batch_norm
    from .stop import GracefulStop
