"""What a training script builds from its config groups: the training images and the sample-quality evaluator."""

from __future__ import annotations

from pathlib import Path

import torch
from omegaconf import DictConfig


def load_training_images(data: DictConfig):
    """The training split as an `hfgan.data.ImageTensorDataset` at `data.image_size` ("emoji": the shipped set).

    A dataset stored at another resolution is center-cropped and resized once, here, with an antialiased filter. A
    missing scenes dataset says how to make it.
    """
    from ..data import load_image_dataset

    try:
        dataset = load_image_dataset(data.source, split=data.split, image_size=data.image_size)
    except FileNotFoundError as error:
        if "scenes" not in str(data.source):
            raise
        raise FileNotFoundError(f"{error}. Make the scenes first: hfgan prepare-scenes --out "
                                f"{Path(data.source).parent} (see docs/datasets.md)") from None
    print(f"Data: {dataset} from {data.source} (split {data.split})", flush=True)
    return dataset


def make_evaluator(cfg: DictConfig, image_size: int):
    """An `hfgan.metrics.Evaluator` for the training data, or None when metrics are off (`metrics.every=-1`)."""
    if cfg.metrics.every < 0:
        return None
    from ..metrics import Evaluator

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
