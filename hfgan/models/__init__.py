from .dcgan import DCGANDiscriminator, DCGANDiscriminatorOutput, DCGANGenerator, DCGANGeneratorOutput
from .modeling_utils import HfGanModel

__all__ = [
    "DCGANDiscriminator",
    "DCGANDiscriminatorOutput",
    "DCGANGenerator",
    "DCGANGeneratorOutput",
    "HfGanModel",
]
