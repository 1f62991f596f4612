from typing import TYPE_CHECKING

from .._lazy import lazy_exports

_MODULES = {  # where each public name lives; imported on first use
    ".blobgan.discriminator": ["BlobGANDiscriminator", "BlobGANDiscriminatorOutput"],
    ".blobgan.encoder": ["BlobGANEncoder", "BlobGANEncoderOutput"],
    ".blobgan.generator": ["BlobGANGenerator", "BlobGANGeneratorOutput"],
    ".blobgan.layout": ["BlobLayout", "render_layout"],
    ".blobgan.layout_net": ["BlobLayoutNet"],
    ".dcgan": ["DCGANDiscriminator", "DCGANDiscriminatorOutput", "DCGANGenerator", "DCGANGeneratorOutput"],
    ".emoji_cnn": ["EmojiFeatureNet", "EmojiFeatureNetOutput"],
    ".modeling_utils": ["HfGanModel"],
    ".stylegan.directions": ["EditDirections"],
    ".stylegan.encoder": ["StyleGANEncoder", "StyleGANEncoderOutput"],
    ".stylegan.stylegan2": ["StyleGAN2Discriminator", "StyleGAN2DiscriminatorOutput", "StyleGAN2Generator"],
    ".stylegan.generator": ["StyleGANGeneratorOutput"],
    ".stylegan.stylegan3": ["StyleGAN3Generator"],
}

__all__, __getattr__, __dir__ = lazy_exports(__name__, _MODULES)

if TYPE_CHECKING:
    from .blobgan.discriminator import BlobGANDiscriminator, BlobGANDiscriminatorOutput
    from .blobgan.encoder import BlobGANEncoder, BlobGANEncoderOutput
    from .blobgan.generator import BlobGANGenerator, BlobGANGeneratorOutput
    from .blobgan.layout import BlobLayout, render_layout
    from .blobgan.layout_net import BlobLayoutNet
    from .dcgan import DCGANDiscriminator, DCGANDiscriminatorOutput, DCGANGenerator, DCGANGeneratorOutput
    from .emoji_cnn import EmojiFeatureNet, EmojiFeatureNetOutput
    from .modeling_utils import HfGanModel
    from .stylegan.directions import EditDirections
    from .stylegan.encoder import StyleGANEncoder, StyleGANEncoderOutput
    from .stylegan.stylegan2 import StyleGAN2Discriminator, StyleGAN2DiscriminatorOutput, StyleGAN2Generator
    from .stylegan.generator import StyleGANGeneratorOutput
    from .stylegan.stylegan3 import StyleGAN3Generator
