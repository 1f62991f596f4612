from typing import TYPE_CHECKING

from .._lazy import lazy_exports

_MODULES = {  # where each public name lives; imported on first use
    ".blobgan": ["BlobGANInversionOutput", "BlobGANPipeline", "BlobGANPipelineOutput"],
    ".classifier": ["DiscriminatorClassifierPipeline"],
    ".dcgan": ["DCGANPipeline"],
    ".pipeline_utils": ["HfGanPipeline"],
    ".stylegan": ["StyleGANPipeline", "StyleGANPipelineOutput"],
}

__all__, __getattr__, __dir__ = lazy_exports(__name__, _MODULES)

if TYPE_CHECKING:
    from .blobgan import BlobGANInversionOutput, BlobGANPipeline, BlobGANPipelineOutput
    from .classifier import DiscriminatorClassifierPipeline
    from .dcgan import DCGANPipeline
    from .pipeline_utils import HfGanPipeline
    from .stylegan import StyleGANPipeline, StyleGANPipelineOutput
