"""hfgan: GANs on the Hugging Face Hub, in the diffusers style.

The import path of every public class here is permanent: `model_index.json` records each component as
`["<defining module>", "<ClassName>"]` (e.g. `["hfgan.models.dcgan", "DCGANGenerator"]`), and
`HfGanPipeline.from_pretrained` loads only hfgan's own models and pipelines. The public names and the loadable ones
are listed once, in `hfgan.registry`.

`import hfgan` is cheap: the names are imported from their modules (and torch and diffusers with them) the
first time they are used (`hfgan._lazy`). It also arranges for transformers to know hfgan's image classifiers once
transformers itself is imported (`hfgan.integrations`), without importing transformers.
"""

from typing import TYPE_CHECKING

from ._lazy import lazy_exports
from .integrations import install_transformers_hook
from .registry import PUBLIC
from .version import __version__

__all__, __getattr__, __dir__ = lazy_exports(__name__, PUBLIC)  # where each public name lives; imported on first use
__all__ += ["__version__"]

install_transformers_hook()

if TYPE_CHECKING:
    from .models.blobgan.discriminator import BlobGANDiscriminator
    from .models.blobgan.encoder import BlobGANEncoder
    from .models.blobgan.generator import BlobGANGenerator
    from .models.blobgan.layout import BlobLayout, render_layout
    from .models.blobgan.layout_net import BlobLayoutNet
    from .models.dcgan import DCGANDiscriminator, DCGANGenerator
    from .models.emoji_cnn import EmojiFeatureNet
    from .models.stylegan.directions import EditDirections
    from .models.stylegan.encoder import StyleGANEncoder
    from .models.stylegan.stylegan2 import StyleGAN2Discriminator, StyleGAN2Generator
    from .models.stylegan.stylegan3 import StyleGAN3Generator
    from .pipelines.blobgan import BlobGANPipeline
    from .pipelines.classifier import DiscriminatorClassifierPipeline
    from .pipelines.dcgan import DCGANPipeline
    from .pipelines.pipeline_utils import HfGanPipeline
    from .pipelines.stylegan import StyleGANPipeline
