from typing import TYPE_CHECKING

from .._lazy import lazy_exports

_EXPORTS = {
    "DCGANDiscriminator": ".dcgan",
    "DCGANDiscriminatorOutput": ".dcgan",
    "DCGANGenerator": ".dcgan",
    "DCGANGeneratorOutput": ".dcgan",
    "EmojiFeatureNet": ".emoji_cnn",
    "EmojiFeatureNetOutput": ".emoji_cnn",
    "HfGanModel": ".modeling_utils",
}

__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)

if TYPE_CHECKING:
    from .dcgan import DCGANDiscriminator, DCGANDiscriminatorOutput, DCGANGenerator, DCGANGeneratorOutput
    from .emoji_cnn import EmojiFeatureNet, EmojiFeatureNetOutput
    from .modeling_utils import HfGanModel
