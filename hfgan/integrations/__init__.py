"""hfgan's classes registered with other libraries, without importing those libraries at `import hfgan`.

transformers: a folder that `DiscriminatorClassifierPipeline.save_pretrained` writes is also a transformers model
folder, and after `import hfgan` transformers loads it with no `trust_remote_code`:
`transformers.pipeline("image-classification", model=folder)`, `AutoModelForImageClassification.from_pretrained`,
`AutoConfig.from_pretrained`. For that, hfgan's config and model classes (`hfgan.integrations.transformers`) must be
registered with transformers' auto classes.

transformers has no plugin entry point, and importing its model base class costs seconds (torch with it), so
`import hfgan` only puts a small finder on `sys.meta_path` (`install_transformers_hook`): right after transformers'
`configuration_auto` module has run, it registers hfgan's config class with `AutoConfig`; right after
`modeling_auto` has run, hfgan's model class with `AutoModelForImageClassification`. The config class imports nothing
but transformers' config base, because `configuration_auto` runs while `transformers.modeling_utils` is still being
imported; `modeling_auto` is never imported from inside `modeling_utils`, so the model class may import it (which is
why, with hfgan imported, importing `modeling_auto` also imports `modeling_utils`, as loading any model does anyway).
A module that was imported before hfgan is registered with at once.
"""

from __future__ import annotations

import sys
import warnings
from typing import TYPE_CHECKING

from .._lazy import lazy_exports

_MODULES = {  # where each public name lives; imported on first use (the module imports transformers and torch)
    ".transformers": ["DCGANDiscriminatorConfig", "DCGANDiscriminatorForImageClassification"],
}

__all__, __getattr__, __dir__ = lazy_exports(__name__, _MODULES)

if TYPE_CHECKING:
    from .transformers import DCGANDiscriminatorConfig, DCGANDiscriminatorForImageClassification


def _register_config(configuration_auto) -> None:
    from .transformers_config import DCGANDiscriminatorConfig

    configuration_auto.AutoConfig.register(DCGANDiscriminatorConfig.model_type, DCGANDiscriminatorConfig, exist_ok=True)


def _register_model(modeling_auto) -> None:
    from .transformers import DCGANDiscriminatorConfig, DCGANDiscriminatorForImageClassification

    modeling_auto.AutoModelForImageClassification.register(
        DCGANDiscriminatorConfig, DCGANDiscriminatorForImageClassification, exist_ok=True
    )


# transformers module -> what to register with it once it has run (configuration_auto always runs first: modeling_auto
# imports it)
_TRANSFORMERS_REGISTRATIONS = {
    "transformers.models.auto.configuration_auto": _register_config,
    "transformers.models.auto.modeling_auto": _register_model,
}


def _register(register, module) -> None:
    # A failure must not break `import transformers` for everyone who also imported hfgan: warn instead
    try:
        register(module)
    except Exception as error:  # noqa: BLE001
        warnings.warn(
            f"hfgan could not register its classes with {module.__name__} ({error!r}); transformers will not load "
            "hfgan classifier folders in this process",
            stacklevel=2,
        )


class _RegisterAfterImport:
    """A `sys.meta_path` finder: lets the usual finders find each module of `pending`, and runs its registration
    right after the module's code has run. It leaves `sys.meta_path` once nothing is pending."""

    def __init__(self, pending: dict):
        self.pending = pending

    def find_spec(self, name, path=None, target=None):
        register = self.pending.get(name)
        if register is None:
            return None
        spec = next(
            (
                spec
                for finder in sys.meta_path
                if finder is not self and hasattr(finder, "find_spec")
                and (spec := finder.find_spec(name, path, target)) is not None
            ),
            None,
        )
        if spec is None or spec.loader is None or not hasattr(spec.loader, "exec_module"):
            return spec
        loader = spec.loader

        def exec_module(module):
            del loader.exec_module  # back to the class's own: some loaders (zipimport) serve many modules
            loader.exec_module(module)
            self.pending.pop(name, None)
            if not self.pending and self in sys.meta_path:
                sys.meta_path.remove(self)
            _register(register, module)

        loader.exec_module = exec_module
        return spec


def install_transformers_hook() -> None:
    """Register hfgan's classes with transformers' auto classes now or as soon as transformers imports them.

    Called by `import hfgan`; imports nothing of transformers itself. Calling it again does no harm.
    """
    if any(isinstance(finder, _RegisterAfterImport) for finder in sys.meta_path):
        return
    pending = {}
    for name, register in _TRANSFORMERS_REGISTRATIONS.items():
        if name in sys.modules:
            _register(register, sys.modules[name])
        else:
            pending[name] = register
    if pending:
        sys.meta_path.insert(0, _RegisterAfterImport(pending))
