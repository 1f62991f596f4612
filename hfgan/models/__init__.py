from .dcgan import DCGANDiscriminator, DCGANDiscriminatorOutput, DCGANGenerator, DCGANGeneratorOutput
from .emoji_cnn import EmojiFeatureNet, EmojiFeatureNetOutput
from .modeling_utils import HfGanModel

__all__ = [
    "DCGANDiscriminator",
    "DCGANDiscriminatorOutput",
    "DCGANGenerator",
    "DCGANGeneratorOutput",
    "EmojiFeatureNet",
    "EmojiFeatureNetOutput",
    "HfGanModel",
]
