from .dcgan import DCGANPipeline
from .pipeline_utils import HfGanPipeline

__all__ = ["DCGANPipeline", "HfGanPipeline"]
