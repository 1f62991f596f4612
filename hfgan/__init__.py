"""hfgan: GANs on the Hugging Face Hub, in the diffusers style.

The import path of every public class here is permanent: `model_index.json` records each component as
`["<defining module>", "<ClassName>"]` (e.g. `["hfgan.models.dcgan", "DCGANGenerator"]`), and
`HfGanPipeline.from_pretrained` loads only the classes listed in `__all__`.

`import hfgan` is cheap: the names below are imported from their modules (and torch and diffusers with them) the
first time they are used (`hfgan._lazy`). It also arranges for transformers to know hfgan's image classifiers once
transformers itself is imported (`hfgan.integrations`), without importing transformers.
"""

from typing import TYPE_CHECKING

from ._lazy import lazy_exports
from .integrations import install_transformers_hook

__version__ = "0.1.0"

_MODULES = {  # where each public name lives; imported on first use
    ".models.blobgan.discriminator": ["BlobGANDiscriminator"],
    ".models.blobgan.encoder": ["BlobGANEncoder"],
    ".models.blobgan.generator": ["BlobGANGenerator"],
    ".models.blobgan.layout": ["BlobLayout", "render_layout"],
    ".models.blobgan.layout_net": ["BlobLayoutNet"],
    ".models.dcgan": ["DCGANDiscriminator", "DCGANGenerator"],
    ".models.emoji_cnn": ["EmojiFeatureNet"],
    ".pipelines.blobgan": ["BlobGANPipeline"],
    ".pipelines.classifier": ["DiscriminatorClassifierPipeline"],
    ".pipelines.dcgan": ["DCGANPipeline"],
    ".pipelines.pipeline_utils": ["HfGanPipeline"],
}

__all__, __getattr__, __dir__ = lazy_exports(__name__, _MODULES)
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
    from .pipelines.blobgan import BlobGANPipeline
    from .pipelines.classifier import DiscriminatorClassifierPipeline
    from .pipelines.dcgan import DCGANPipeline
    from .pipelines.pipeline_utils import HfGanPipeline
