"""Data tools: resolve any source once (`resolve_data_source`: "emoji", a parquet file, a folder, a Hub dataset id),
decode its images (`decode_image`, `decode_images`), prepare a collection of images once (`prepare_dataset`,
`hfgan prepare-data`) and load it as tensors for training (`load_image_dataset`, `make_dataloader`); compose
multi-object scenes with boxes from object images (`prepare_scenes`, `hfgan prepare-scenes`);
`DEFAULT_DATASET` ("emoji") is the set shipped in the hfgan repository, released on the Hub as `EMOJI_HUB_ID`.

See docs/datasets.md.
"""

from typing import TYPE_CHECKING

from .._lazy import lazy_exports

_MODULES = {  # where each public name lives; imported on first use
    ".images": ["decode_image", "resize_image", "to_rgb"],
    ".loader": [
        "DEFAULT_DATASET",
        "UNLABELED",
        "ImageTensorDataset",
        "balanced_weights",
        "decode_images",
        "default_dataset_files",
        "default_dataset_path",
        "labeled_subset",
        "load_image_dataset",
        "make_dataloader",
    ],
    ".prepare": [
        "SPLIT_FOLDERS",
        "ImageFolder",
        "PrepareError",
        "PrepareReport",
        "default_num_proc",
        "list_image_folder",
        "prepare_dataset",
    ],
    ".scenes": [
        "Cutout",
        "ObjectSet",
        "Scene",
        "SceneObject",
        "SceneSettings",
        "ScenesReport",
        "compose_scene",
        "cut_out",
        "draw_boxes",
        "make_background",
        "object_cutouts",
        "prepare_scenes",
        "scene_features",
        "scenes_file",
        "scenes_preview",
    ],
    ".sources": [
        "EMOJI",
        "EMOJI_DATA_ENV",
        "EMOJI_HUB_ID",
        "DataSource",
        "emoji_dataset_path",
        "find_label_column",
        "resolve_data_source",
        "source_kind",
    ],
}

__all__, __getattr__, __dir__ = lazy_exports(__name__, _MODULES)

if TYPE_CHECKING:
    from .images import decode_image, resize_image, to_rgb
    from .loader import (
        DEFAULT_DATASET,
        UNLABELED,
        ImageTensorDataset,
        balanced_weights,
        decode_images,
        default_dataset_files,
        default_dataset_path,
        labeled_subset,
        load_image_dataset,
        make_dataloader,
    )
    from .prepare import (
        SPLIT_FOLDERS,
        ImageFolder,
        PrepareError,
        PrepareReport,
        default_num_proc,
        list_image_folder,
        prepare_dataset,
    )
    from .scenes import (
        Cutout,
        ObjectSet,
        Scene,
        SceneObject,
        SceneSettings,
        ScenesReport,
        compose_scene,
        cut_out,
        draw_boxes,
        make_background,
        object_cutouts,
        prepare_scenes,
        scene_features,
        scenes_file,
        scenes_preview,
    )
    from .sources import (
        EMOJI,
        EMOJI_DATA_ENV,
        EMOJI_HUB_ID,
        DataSource,
        emoji_dataset_path,
        find_label_column,
        resolve_data_source,
        source_kind,
    )
