from .dcgan import DCGANPipeline

__all__ = ["DCGANPipeline"]
