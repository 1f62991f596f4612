"""hfgan: GANs on the Hugging Face Hub, in the diffusers style.

The import path of every public class here is permanent: `model_index.json` records `["hfgan", "<ClassName>"]`.
"""

__version__ = "0.1.0"

from .models import DCGANDiscriminator, DCGANGenerator
from .pipelines import DCGANPipeline

__all__ = ["DCGANDiscriminator", "DCGANGenerator", "DCGANPipeline", "__version__"]
