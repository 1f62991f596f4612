"""Training glue shared by every script in training/ (DCGAN now; the classifier and BlobGAN scripts later).

Config checking, the output folder, logging (console, JSONL, PNG grids, wandb), the fixed-latent sample grid and the
deterministic batch order. The pieces that need neither hydra nor wandb (EMA, checkpoints, releases) live in
`hfgan.training`; this module is the only place the scripts touch wandb.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from omegaconf import MISSING, DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from hfgan.utils import atomic_write, make_image_grid

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
class OptimConfig:
    g_lr: float = MISSING
    d_lr: float = MISSING
    beta1: float = MISSING
    beta2: float = MISSING


@dataclass
class EMAConfig:
    decay: float = MISSING
    warmup: bool = MISSING  # ramp the decay as min(decay, (1 + t) / (10 + t))
    bn_batches: int = MISSING  # batches used to recompute the EMA generator's BatchNorm statistics before sampling


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


def validate_config(cfg: DictConfig, schema: type) -> DictConfig:
    """Merge `cfg` into the dataclass `schema`: an unknown key, a wrong type or a missing value is a `ValueError`
    naming the key. Returns the typed, read-only config."""
    try:
        typed = OmegaConf.merge(OmegaConf.structured(schema), cfg)
        OmegaConf.to_container(typed, resolve=True, throw_on_missing=True)
    except OmegaConfBaseException as error:
        key = getattr(error, "full_key", None) or "?"
        raise ValueError(f"config error at '{key}': {error.msg if hasattr(error, 'msg') else error}") from None
    OmegaConf.set_readonly(typed, True)
    return typed


# --------------------------------------------------------------------------------------------------------------------
# Output folder


def prepare_output_dir(output_dir: str | os.PathLike, overwrite: bool, resuming: bool) -> Path:
    """Create the output folder; refuse one that holds another run unless resuming or `overwrite=true`."""
    out = Path(output_dir)
    run_files = [p for p in ("run.json", "checkpoints", "release") if (out / p).exists()]
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
    return f"CPU ({platform.processor() or platform.machine()}, {torch.get_num_threads()} threads)"


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

    def log_grid(self, step: int, images) -> Path | None:
        if not self.enabled:
            return None
        grid = make_image_grid(images)
        path = atomic_write(self.output_dir / "samples" / f"step-{step:07d}.png", lambda t: grid.save(t, format="PNG"))
        if self.run is not None:
            import wandb

            self.run.log({"samples": wandb.Image(grid)}, step=step)
        return path

    def finish(self) -> None:
        if self.run is not None:
            self.run.finish()


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


def resolve_source(source: str) -> str:
    """`data.source` as a path or Hub id: "emoji" is the dataset shipped in the repository."""
    from hfgan.data import default_dataset_path

    return str(default_dataset_path()) if source == "emoji" else source


def load_training_images(data: DataConfig):
    """The training split as an `hfgan.data.ImageTensorDataset` at `data.image_size` ("emoji": the shipped set).

    A dataset stored at another resolution is center-cropped and resized once, here, with an antialiased filter.
    """
    from hfgan.data import load_image_dataset

    dataset = load_image_dataset(resolve_source(data.source), split=data.split, image_size=data.image_size)
    print(f"Data: {dataset} from {data.source} (split {data.split})", flush=True)
    return dataset


def make_evaluator(cfg: DictConfig, image_size: int):
    """An `hfgan.metrics.Evaluator` for the training data, or None when metrics are off (`metrics.every=-1`)."""
    if cfg.metrics.every < 0:
        return None
    from hfgan.metrics import Evaluator

    return Evaluator(
        resolve_source(cfg.data.source),
        backbone=cfg.metrics.backbone,
        metrics=list(cfg.metrics.metrics),
        num_samples=cfg.metrics.num_samples,
        split=cfg.data.split,
        resolution=image_size,
        device="cuda" if torch.cuda.is_available() else "cpu",
        seed=cfg.seed,
    )
