"""Data tools: resolve any source once (`resolve_data_source`: "emoji", a parquet file, a folder, a Hub dataset id),
decode its images (`decode_image`, `decode_images`), prepare a collection of images once (`prepare_dataset`,
`hfgan prepare-data`) and load it as tensors for training (`load_image_dataset`, `make_dataloader`);
`DEFAULT_DATASET` ("emoji") is the set shipped in the hfgan repository.

See docs/datasets.md.
"""

from typing import TYPE_CHECKING

from .._lazy import lazy_exports

_EXPORTS = {
    "decode_image": ".images",
    "resize_image": ".images",
    "to_rgb": ".images",
    "DEFAULT_DATASET": ".loader",
    "UNLABELED": ".loader",
    "ImageTensorDataset": ".loader",
    "decode_images": ".loader",
    "default_dataset_files": ".loader",
    "default_dataset_path": ".loader",
    "labeled_subset": ".loader",
    "load_image_dataset": ".loader",
    "make_dataloader": ".loader",
    "PrepareError": ".prepare",
    "PrepareReport": ".prepare",
    "default_num_proc": ".prepare",
    "prepare_dataset": ".prepare",
    "EMOJI": ".sources",
    "EMOJI_DATA_ENV": ".sources",
    "DataSource": ".sources",
    "emoji_dataset_path": ".sources",
    "resolve_data_source": ".sources",
    "source_kind": ".sources",
}

__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)

if TYPE_CHECKING:
    from .images import decode_image, resize_image, to_rgb
    from .loader import (
        DEFAULT_DATASET,
        UNLABELED,
        ImageTensorDataset,
        decode_images,
        default_dataset_files,
        default_dataset_path,
        labeled_subset,
        load_image_dataset,
        make_dataloader,
    )
    from .prepare import PrepareError, PrepareReport, default_num_proc, prepare_dataset
    from .sources import EMOJI, EMOJI_DATA_ENV, DataSource, emoji_dataset_path, resolve_data_source, source_kind
