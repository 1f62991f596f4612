from typing import TYPE_CHECKING

from .._lazy import lazy_exports

_EXPORTS = {
    "DCGANPipeline": ".dcgan",
    "HfGanPipeline": ".pipeline_utils",
}

__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)

if TYPE_CHECKING:
    from .dcgan import DCGANPipeline
    from .pipeline_utils import HfGanPipeline
