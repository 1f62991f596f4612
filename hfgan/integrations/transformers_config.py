"""The transformers config of a DCGAN discriminator-classifier (`config.json` at the top of a classifier folder).

Apart from `hfgan.integrations.transformers` (the model) because hfgan registers it with `AutoConfig` while
`transformers.modeling_utils` may still be importing: this module imports transformers' config base only, no torch.
"""

from __future__ import annotations

from transformers.configuration_utils import PreTrainedConfig


class DCGANDiscriminatorConfig(PreTrainedConfig):
    r"""
    transformers' config of a [`DCGANDiscriminator`] with classes, for [`DCGANDiscriminatorForImageClassification`].

    The fields are the discriminator's own (see `DCGANDiscriminator`); its `num_classes` is transformers'
    `num_labels`, and `id2label`/`label2id` are transformers' usual fields, which its image-classification pipeline
    reads.

    Args:
        base_channels (`int`, defaults to 64): Channels of the first stage.
        image_size (`int`, defaults to 64): Input resolution, a power of two >= 8.
        num_channels (`int`, defaults to 3): Channels of the input images.
        classifier (`str`, defaults to `"logits"`): `"logits"` (semi-supervised GAN) or `"probe"` (linear probe).
        probe_grid (`int`, defaults to 4): Side of the max-pooled map of each stage for the probe.
        dropout (`float`, defaults to 0.0): Dropout before the last convolution, in training mode.
        norm (`str`, defaults to `"batch"`): The stages' normalisation: `"batch"`, `"weight"` or `"none"`.
    """

    model_type = "hfgan_dcgan_discriminator"

    base_channels: int = 64
    image_size: int = 64
    num_channels: int = 3
    classifier: str = "logits"
    probe_grid: int = 4
    dropout: float = 0.0
    norm: str = "batch"

    @classmethod
    def from_discriminator(cls, discriminator) -> DCGANDiscriminatorConfig:
        """The config of a `DCGANDiscriminator` that has classes."""
        config = discriminator.config
        id2label = {int(i): name for i, name in config.id2label.items()}
        return cls(
            base_channels=config.base_channels,
            image_size=config.image_size,
            num_channels=config.num_channels,
            classifier=config.classifier,
            probe_grid=config.probe_grid,
            dropout=config.dropout,
            norm=config.get("norm", "batch"),  # a discriminator saved before `norm` existed: BatchNorm
            id2label=id2label,
            label2id={name: i for i, name in id2label.items()},
        )

    def discriminator_kwargs(self) -> dict:
        """The arguments of `DCGANDiscriminator` that build the network this config describes."""
        return {
            "base_channels": self.base_channels,
            "image_size": self.image_size,
            "num_channels": self.num_channels,
            "num_classes": self.num_labels,
            "id2label": self.id2label,
            "classifier": self.classifier,
            "probe_grid": self.probe_grid,
            "dropout": self.dropout,
            "norm": self.norm,
        }
