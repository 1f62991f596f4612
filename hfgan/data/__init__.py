"""Data tools: prepare a collection of images once (`prepare_dataset`, `hfgan prepare-data`) and load it as tensors
for training (`load_image_dataset`, `make_dataloader`); `DEFAULT_DATASET` is the emoji set shipped in the repo.

See docs/datasets.md.
"""

from .images import resize_image, to_rgb
from .loader import (
    DEFAULT_DATASET,
    UNLABELED,
    ImageTensorDataset,
    default_dataset_files,
    default_dataset_path,
    labeled_subset,
    load_image_dataset,
    make_dataloader,
)
from .prepare import PrepareError, PrepareReport, default_num_proc, prepare_dataset

__all__ = [
    "DEFAULT_DATASET",
    "UNLABELED",
    "ImageTensorDataset",
    "PrepareError",
    "PrepareReport",
    "default_dataset_files",
    "default_dataset_path",
    "default_num_proc",
    "labeled_subset",
    "load_image_dataset",
    "make_dataloader",
    "prepare_dataset",
    "resize_image",
    "to_rgb",
]
