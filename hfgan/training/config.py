"""The config schema of the groups every training script shares, and its validation.

Fields are types only (`MISSING`): the YAML files in `training/configs/` hold every value, so there is one place to
read a default. A script's schema subclasses [`RunConfig`] (or [`GANRunConfig`]) and adds its own groups;
[`validate_config`] merges the composed config into it, so an unknown key or a wrong type is an error naming the key.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from omegaconf import MISSING, DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException


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
class ScheduleConfig:  # follows the run's progress (its steps or its max_minutes, whichever is further along)
    lr_ramp_down: float = MISSING  # the last fraction of the run over which the learning rates fall linearly
    lr_final: float = MISSING  # ... to this fraction of their value


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


def check_non_negative(cfg: DictConfig, *keys: str) -> None:
    """A `ValueError` naming the first of `keys` (dotted, e.g. "loss.pixel_weight") whose value is negative: for
    weights and other amounts the schema can only type as floats."""
    for key in keys:
        value = OmegaConf.select(cfg, key)
        if value < 0:
            raise ValueError(f"{key} must be >= 0, got {value}")
