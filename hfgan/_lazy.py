"""Lazy package namespaces: `import hfgan` costs milliseconds, and torch and diffusers load on first use.

Each package `__init__` lists where its public names live and gets a module `__getattr__` (PEP 562) that imports the
submodule the first time a name is used; `from hfgan import DCGANPipeline`, `hfgan.DCGANPipeline` and every documented
import path work as before. The same names are imported under `TYPE_CHECKING` for type checkers and editors.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable


def lazy_exports(
    package: str, modules: dict[str, list[str]]
) -> tuple[list[str], Callable[[str], object], Callable[[], list[str]]]:
    """`(__all__, __getattr__, __dir__)` for `package`, whose public names live in submodules:
    `{".submodule": ["Name", ...]}`."""
    exports = {name: module for module, names in modules.items() for name in names}

    def __getattr__(name: str) -> object:
        if name not in exports:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(exports[name], package), name)
        setattr(sys.modules[package], name, value)  # later look-ups skip this function
        return value

    def __dir__() -> list[str]:
        return sorted({*vars(sys.modules[package]), *exports})

    return sorted(exports), __getattr__, __dir__
