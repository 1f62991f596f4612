"""A DCGAN discriminator-classifier as a transformers image-classification model (no `trust_remote_code` needed).

`import hfgan` registers [`DCGANDiscriminatorConfig`] and [`DCGANDiscriminatorForImageClassification`] with
transformers' `AutoConfig` and `AutoModelForImageClassification` (see `hfgan.integrations`), and
[`save_transformers_files`] writes what transformers reads from a folder: `config.json`, `model.safetensors` and
`preprocessor_config.json`. `DiscriminatorClassifierPipeline.save_pretrained` writes them beside `model_index.json`,
so every saved classifier folder loads both ways:

```py
>>> import hfgan  # registers the classes with transformers
>>> from transformers import pipeline
>>> classifier = pipeline("image-classification", model="path/or/repo-id")  # doctest: +SKIP
```

The image processor is transformers' standard `ViTImageProcessor` (resize to `image_size` x `image_size`, bilinear,
then 0-255 -> [-1, 1]); [`image_processor`] builds the same one for `DiscriminatorClassifierPipeline`, so both
pipelines give the same scores.
"""

from __future__ import annotations

import os
from pathlib import Path

import torch
import torch.nn.functional as F
from safetensors.torch import save
from torch import nn
from transformers import PreTrainedModel, ViTImageProcessor
from transformers.image_utils import PILImageResampling
from transformers.modeling_outputs import ImageClassifierOutput
from transformers.utils import SAFE_WEIGHTS_NAME

from .transformers_config import DCGANDiscriminatorConfig

__all__ = [
    "DCGANDiscriminatorConfig",
    "DCGANDiscriminatorForImageClassification",
    "image_processor",
    "save_transformers_files",
]


class DCGANDiscriminatorForImageClassification(PreTrainedModel):
    r"""
    A [`DCGANDiscriminator`] with classes as a transformers image classifier: `logits` are its `class_logits`.

    Its weights are the discriminator's under the prefix `discriminator.` (`model.safetensors`).

    Args:
        config ([`DCGANDiscriminatorConfig`]): the discriminator's fields, with `id2label`.
    """

    config_class = DCGANDiscriminatorConfig
    base_model_prefix = "discriminator"
    main_input_name = "pixel_values"
    input_modalities = ("image",)

    def __init__(self, config: DCGANDiscriminatorConfig):
        super().__init__(config)
        # Imported here, not at the top: registering this class (whenever transformers' modeling_auto is imported,
        # see hfgan.integrations) must not import diffusers, which hfgan.models needs, and may run while diffusers
        # is itself importing
        from ..models.dcgan import DCGANDiscriminator

        self.discriminator = DCGANDiscriminator(**config.discriminator_kwargs())
        self.post_init()

    def _init_weights(self, module: nn.Module) -> None:
        # The discriminator's own initialisation (DCGAN's; torch's default for the probe's Linear), for weights that
        # a checkpoint does not give (imported here for the reason given in __init__)
        from ..models.dcgan import dcgan_init_

        if isinstance(module, nn.Linear):
            module.reset_parameters()
        else:
            dcgan_init_(module)

    def forward(self, pixel_values: torch.Tensor, labels: torch.Tensor | None = None) -> ImageClassifierOutput:
        """
        Args:
            pixel_values (`torch.Tensor` of shape `(batch_size, num_channels, image_size, image_size)`): images in
                [-1, 1], as the image processor gives them.
            labels (`torch.LongTensor` of shape `(batch_size,)`, *optional*): class indices; gives the cross-entropy
                `loss`.
        """
        logits = self.discriminator(pixel_values.to(self.dtype)).class_logits
        loss = None if labels is None else F.cross_entropy(logits, labels)
        return ImageClassifierOutput(loss=loss, logits=logits)


def image_processor(image_size: int) -> ViTImageProcessor:
    """transformers' standard image processor for a classifier of `image_size`: RGB, resized to `image_size` x
    `image_size` (bilinear), 0-255 rescaled to [0, 1] and normalised with mean = std = 0.5, i.e. to [-1, 1]."""
    return ViTImageProcessor(
        do_convert_rgb=True,
        do_resize=True,
        size={"height": image_size, "width": image_size},
        resample=PILImageResampling.BILINEAR,
        do_rescale=True,
        rescale_factor=1 / 255,
        do_normalize=True,
        image_mean=[0.5, 0.5, 0.5],
        image_std=[0.5, 0.5, 0.5],
    )


def save_transformers_files(discriminator, save_directory: str | os.PathLike) -> None:
    """Write the transformers files of a `DCGANDiscriminator` with classes into `save_directory`: `config.json`,
    `model.safetensors` (the weights under `discriminator.`) and `preprocessor_config.json`."""
    folder = Path(save_directory)
    folder.mkdir(parents=True, exist_ok=True)
    config = DCGANDiscriminatorConfig.from_discriminator(discriminator)
    config.architectures = [DCGANDiscriminatorForImageClassification.__name__]
    config.save_pretrained(folder)
    prefix = DCGANDiscriminatorForImageClassification.base_model_prefix
    weights = {f"{prefix}.{name}": t.detach().cpu().contiguous() for name, t in discriminator.state_dict().items()}
    # bytes written by us, not safetensors' save_file: the file gets a new file's usual mode, not a temporary's 0600
    (folder / SAFE_WEIGHTS_NAME).write_bytes(save(weights, metadata={"format": "pt"}))
    image_processor(discriminator.config.image_size).save_pretrained(folder)
