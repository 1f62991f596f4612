"""Training pieces shared by every hfgan training script: the run around a step ([`TrainingRun`] with its logger,
checkpointer and releaser), the config schema, the seeded batch order, EMA, schedules, the linear probe.

The scripts themselves live in `training/` with their hydra configs; nothing here imports hydra or wandb.
"""

from typing import TYPE_CHECKING

from .._lazy import lazy_exports

_MODULES = {  # where each public name lives; imported on first use
    ".batches": ["batch_indices", "real_batch", "step_seed"],
    ".checkpoint": ["Checkpointer", "list_checkpoints", "load_state", "resolve_resume", "save_checkpoint"],
    ".config": [
        "AugmentConfig",
        "CheckpointConfig",
        "DCGANModelConfig",
        "DCGANRunConfig",
        "DataConfig",
        "EMAConfig",
        "GANOptimConfig",
        "GANRunConfig",
        "HubConfig",
        "LoggingConfig",
        "MetricsConfig",
        "RunConfig",
        "ScheduleConfig",
        "check_non_negative",
        "validate_config",
    ],
    ".ema": ["EMA", "recalibrate_batch_norm"],
    ".factories": ["load_training_images", "make_evaluator"],
    ".logger": ["RunLogger", "Tracker"],
    ".probe": ["fit_linear_probe"],
    ".release": ["HubPusher", "PushError", "Releaser", "push_folder", "save_release"],
    ".run": ["OutputDirInUse", "TrainingRun", "check_finite", "hardware_summary", "lock_output_dir",
             "prepare_output_dir", "run_main"],
    ".schedule": ["ramp_down", "run_progress", "set_learning_rates"],
    ".stop": ["GracefulStop"],
}

__all__, __getattr__, __dir__ = lazy_exports(__name__, _MODULES)

if TYPE_CHECKING:
    from .batches import batch_indices, real_batch, step_seed
    from .checkpoint import Checkpointer, list_checkpoints, load_state, resolve_resume, save_checkpoint
    from .config import (
        AugmentConfig,
        CheckpointConfig,
        DCGANModelConfig,
        DCGANRunConfig,
        DataConfig,
        EMAConfig,
        GANOptimConfig,
        GANRunConfig,
        HubConfig,
        LoggingConfig,
        MetricsConfig,
        RunConfig,
        ScheduleConfig,
        check_non_negative,
        validate_config,
    )
    from .ema import EMA, recalibrate_batch_norm
    from .factories import load_training_images, make_evaluator
    from .logger import RunLogger, Tracker
    from .probe import fit_linear_probe
    from .release import HubPusher, PushError, Releaser, push_folder, save_release
    from .run import (
        OutputDirInUse,
        TrainingRun,
        check_finite,
        hardware_summary,
        lock_output_dir,
        prepare_output_dir,
        run_main,
    )
    from .schedule import ramp_down, run_progress, set_learning_rates
    from .stop import GracefulStop
