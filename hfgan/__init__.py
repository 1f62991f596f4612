"""hfgan: GANs on the Hugging Face Hub, in the diffusers style.

The import path of every public class here is permanent: `model_index.json` records each component as
`["<defining module>", "<ClassName>"]` (e.g. `["hfgan.models.dcgan", "DCGANGenerator"]`), and
`HfGanPipeline.from_pretrained` loads only the classes listed in `__all__`.
"""

__version__ = "0.1.0"

from .models import DCGANDiscriminator, DCGANGenerator
from .pipelines import DCGANPipeline, HfGanPipeline

__all__ = ["DCGANDiscriminator", "DCGANGenerator", "DCGANPipeline", "HfGanPipeline", "__version__"]
