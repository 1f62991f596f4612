"""The one table of hfgan's public names by the module that defines them, importable without torch.

`import hfgan` exports these names (lazily, `hfgan._lazy`), and `HfGanPipeline.from_pretrained` loads only the
model and pipeline classes of `LOADABLE`: a `model_index.json` records each component as `["<defining module>",
"<ClassName>"]` (e.g. `["hfgan.models.dcgan", "DCGANGenerator"]`), so these module paths are permanent. Modules
under `hfgan/` read the table here instead of importing the top-level package, which would import them back.

A new model or pipeline class is added to `LOADABLE` (and to `hfgan/__init__.py`'s `TYPE_CHECKING` imports).
"""

from __future__ import annotations

import importlib

# The classes a model_index.json may name: hfgan's networks and pipelines
LOADABLE: dict[str, list[str]] = {
    "hfgan.models.blobgan.discriminator": ["BlobGANDiscriminator"],
    "hfgan.models.blobgan.encoder": ["BlobGANEncoder"],
    "hfgan.models.blobgan.generator": ["BlobGANGenerator"],
    "hfgan.models.blobgan.layout_net": ["BlobLayoutNet"],
    "hfgan.models.dcgan": ["DCGANDiscriminator", "DCGANGenerator"],
    "hfgan.models.emoji_cnn": ["EmojiFeatureNet"],
    "hfgan.models.stylegan.directions": ["EditDirections"],
    "hfgan.models.stylegan.encoder": ["StyleGANEncoder"],
    "hfgan.models.stylegan.stylegan2": ["StyleGAN2Discriminator", "StyleGAN2Generator"],
    "hfgan.models.stylegan.stylegan3": ["StyleGAN3Generator"],
    "hfgan.pipelines.blobgan": ["BlobGANPipeline"],
    "hfgan.pipelines.classifier": ["DiscriminatorClassifierPipeline"],
    "hfgan.pipelines.dcgan": ["DCGANPipeline"],
    "hfgan.pipelines.stylegan": ["StyleGANPipeline"],
}

# Everything `import hfgan` exports: the loadable classes, the pipelines' base class and BlobGAN's editable layouts
PUBLIC: dict[str, list[str]] = {
    **LOADABLE,
    "hfgan.models.blobgan.layout": ["BlobLayout", "render_layout"],
    "hfgan.pipelines.pipeline_utils": ["HfGanPipeline"],
}


def loadable_classes() -> dict[str, type]:
    """The classes of `LOADABLE` by name, sorted by name (their modules are imported here, torch with them)."""
    classes = {
        name: getattr(importlib.import_module(module), name) for module, names in LOADABLE.items() for name in names
    }
    return dict(sorted(classes.items()))
