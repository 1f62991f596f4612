"""Conversion of networks trained outside hfgan.

`nvidia_pickle` reads NVIDIA's StyleGAN2-ADA / StyleGAN3 network pickles (`network-snapshot-*.pkl`,
`stylegan3-t-ffhqu-256x256.pkl`, ...) without running any code they carry: [`load_network_pickle`] returns the
snapshot dict with a [`PersistentRecord`] for each network, whose `state_dict()` gives its weights under the names
`torch.nn.Module.state_dict()` would. Importing this package imports nothing heavy; torch loads on first use.
"""

from typing import TYPE_CHECKING

from .._lazy import lazy_exports

_MODULES = {  # where each public name lives; imported on first use
    ".nvidia_pickle": [
        "ALLOWED_GLOBALS",
        "KNOWN_CLASSES",
        "NetworkPickleError",
        "PersistentRecord",
        "RestrictedUnpickler",
        "TensorFlowPickleError",
        "UnknownClassError",
        "UnsafePickleError",
        "describe",
        "load_network_pickle",
    ],
}

__all__, __getattr__, __dir__ = lazy_exports(__name__, _MODULES)

if TYPE_CHECKING:
    from .nvidia_pickle import (
        ALLOWED_GLOBALS,
        KNOWN_CLASSES,
        NetworkPickleError,
        PersistentRecord,
        RestrictedUnpickler,
        TensorFlowPickleError,
        UnknownClassError,
        UnsafePickleError,
        describe,
        load_network_pickle,
    )
