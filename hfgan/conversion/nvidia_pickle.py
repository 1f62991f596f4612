"""Read NVIDIA's StyleGAN2-ADA / StyleGAN3 network pickles without running any code they carry.

The official snapshots (`stylegan2-ada-pytorch`, `stylegan3`) are `pickle.dump`s of a dict such as
`{"G": ..., "D": ..., "G_ema": ..., "augment_pipe": ..., "training_set_kwargs": {...}}`. Each network is an instance of
a class decorated by `torch_utils.persistence.persistent_class`, which pickles as a call
`torch_utils.persistence._reconstruct_persistent_obj(meta)`, `meta` holding the full source text of the module that
defined the class (`module_src`), the class name and the object's `__dict__` (`state`). NVIDIA's loader `exec()`s that
source, so opening such a file with `pickle.load` runs whatever code it carries.

[`RestrictedUnpickler`] resolves only the globals listed in [`ALLOWED_GLOBALS`], each to a stand-in written here:
a persistent object becomes a [`PersistentRecord`] (its source is hashed, never run), numpy arrays and scalars of plain
numeric dtypes are rebuilt from their bytes, tensor storages are read with `torch.load(..., weights_only=True)`.
Every other global, and every persistent id, is refused with [`UnsafePickleError`] before anything is called.

Example:

    >>> from hfgan.conversion import load_network_pickle
    >>> snapshot = load_network_pickle("stylegan3-t-ffhqu-256x256.pkl")
    >>> G = snapshot["G_ema"]
    >>> G.class_name
    'training.networks_stylegan3.Generator'
    >>> weights = G.state_dict()  # {"mapping.fc0.weight": tensor, ..., "synthesis.L0_36_512.affine.weight": ...}
    >>> G.init_kwargs["z_dim"], G.attributes()["img_resolution"]
    (512, 256)
"""

from __future__ import annotations

import collections
import dataclasses
import functools
import hashlib
import io
import math
import os
import pickle
import re
from collections.abc import Iterator, Mapping
from typing import Any, BinaryIO

import numpy as np
import torch

__all__ = [
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
]

NETWORK_KEYS = ("G", "D", "G_ema")


# ----------------------------------------------------------------------------------------------------------------------
# Errors


class NetworkPickleError(ValueError):
    """A file that is not a readable NVIDIA network pickle; the message names the file and the problem."""


class UnsafePickleError(NetworkPickleError, pickle.UnpicklingError):
    """The pickle asks for something the restricted unpickler does not allow (a global outside [`ALLOWED_GLOBALS`], a
    persistent id, an object array, a tensor storage whose inner stream is not weights-only).

    It is both a [`NetworkPickleError`] (so one `except` covers every failure of [`load_network_pickle`]) and a
    `pickle.UnpicklingError` (what `pickle.Unpickler.load` callers expect).
    """


class TensorFlowPickleError(NetworkPickleError):
    """A TensorFlow-era StyleGAN/StyleGAN2 pickle (`dnnlib.tflib.network.Network` objects)."""


class UnknownClassError(NetworkPickleError):
    """A persistent object whose class is not in [`KNOWN_CLASSES`] (a fork's class, say)."""


# ----------------------------------------------------------------------------------------------------------------------
# The official modules, recognised from the source text a record carries

# `meta` names the class but not its module, so the module is recognised by the classes its source defines; the
# networks of stylegan3's `training/networks_stylegan2.py` and stylegan2-ada-pytorch's `training/networks.py` define
# the same classes and are told apart by the paper title in the former's docstring.
_STYLEGAN2_CLASSES = frozenset({
    "FullyConnectedLayer", "Conv2dLayer", "MappingNetwork", "SynthesisLayer", "ToRGBLayer", "SynthesisBlock",
    "SynthesisNetwork", "Generator", "DiscriminatorBlock", "MinibatchStdLayer", "DiscriminatorEpilogue",
    "Discriminator",
})
_STYLEGAN3_CLASSES = frozenset({
    "FullyConnectedLayer", "MappingNetwork", "SynthesisInput", "SynthesisLayer", "SynthesisNetwork", "Generator",
})
_MODULE_SIGNATURES: tuple[tuple[str, frozenset[str], str | None], ...] = (
    # (module, classes its source must define, text its source must contain), first match wins
    ("training.networks_stylegan3", _STYLEGAN3_CLASSES, None),
    ("training.networks_stylegan2", _STYLEGAN2_CLASSES, "Analyzing and Improving the Image Quality of StyleGAN"),
    ("training.networks", _STYLEGAN2_CLASSES, None),  # stylegan2-ada-pytorch
    ("training.augment", frozenset({"AugmentPipe"}), None),
)

KNOWN_CLASSES: frozenset[str] = frozenset(
    f"{module}.{name}" for module, classes, _ in _MODULE_SIGNATURES for name in classes
)
"""Qualified names of the classes of NVIDIA's official networks (`training.networks_stylegan3.Generator`, ...): a
converter maps these and refuses any other [`PersistentRecord.class_name`]."""

_CLASS_DEFINITION = re.compile(r"^class\s+([A-Za-z_][A-Za-z0-9_]*)", re.MULTILINE)


@functools.lru_cache(maxsize=64)
def _inspect_source(source: str) -> tuple[str | None, str]:
    """`(recognised module or None, sha256)` of a module source; cached because every layer of a network carries the
    same source string. The source is only searched as text: never parsed, compiled or run."""
    defined = set(_CLASS_DEFINITION.findall(source))
    module = next(
        (name for name, classes, marker in _MODULE_SIGNATURES
         if classes <= defined and (marker is None or marker in source)),
        None,
    )
    return module, hashlib.sha256(source.encode("utf-8", "surrogatepass")).hexdigest()


# ----------------------------------------------------------------------------------------------------------------------
# Records


@dataclasses.dataclass(eq=False)
class PersistentRecord:
    """What a `torch_utils.persistence` object of a network pickle holds, read without running its source.

    Attributes:
        module_name (`str` or `None`):
            The official module the record's source is recognised as (`"training.networks_stylegan3"`,
            `"training.networks_stylegan2"`, `"training.networks"` for stylegan2-ada-pytorch, `"training.augment"`),
            or `None` for a source that is none of them (a fork's).
        class_name (`str`):
            `f"{module_name}.{name}"` (`"training.networks_stylegan3.Generator"`), or the bare class name when the
            module is not recognised. Compare it with [`KNOWN_CLASSES`].
        source_sha256 (`str`):
            SHA-256 (hex) of the UTF-8 encoded `module_src`, to pin exact official sources if needed.
        init_args (`list`):
            The positional arguments the object was constructed with, as plain Python values.
        init_kwargs (`dict`):
            The keyword arguments it was constructed with: `EasyDict`s become `dict`s and numpy values Python values,
            recursively.
        state (`dict`):
            The object's raw `__dict__`: `_parameters`, `_buffers` and `_modules` (with records for submodules),
            `_init_args`, `_init_kwargs`, torch's hook dicts and the class's own attributes (numpy values kept).
        version (`int` or `None`):
            `torch_utils.persistence`'s format version (6 in both official repositories).
    """

    module_name: str | None
    class_name: str
    source_sha256: str
    init_args: list = dataclasses.field(default_factory=list, repr=False)
    init_kwargs: dict = dataclasses.field(default_factory=dict, repr=False)
    state: dict = dataclasses.field(default_factory=dict, repr=False)
    version: int | None = None

    def __setstate__(self, state: Any) -> None:
        # copy and pickle give back the fields; a crafted stream could BUILD any attribute, a method's name too
        names = {field.name for field in dataclasses.fields(self)}
        if not isinstance(state, dict) or set(state) != names:
            raise UnsafePickleError("refused a state for a PersistentRecord that is not its fields")
        self.__dict__.update(state)

    @property
    def name(self) -> str:
        """The bare class name (`"Generator"`)."""
        return self.class_name.rpartition(".")[2]

    @property
    def is_known(self) -> bool:
        """Whether `class_name` is one of the official classes in [`KNOWN_CLASSES`]."""
        return self.class_name in KNOWN_CLASSES

    def records(self, prefix: str = "") -> Iterator[tuple[str, PersistentRecord]]:
        """`(dotted path, record)` for this record (path `prefix`) and every submodule record below it, in the order
        of `torch.nn.Module.named_modules` (shared submodules appear once per path).

        Raises:
            NetworkPickleError: `_modules` is malformed or loops back on itself.
        """
        yield from self._walk(prefix, set())

    def _walk(self, prefix: str, active: set[int]) -> Iterator[tuple[str, PersistentRecord]]:
        if id(self) in active:  # a plain recursion would never end
            raise NetworkPickleError(f"{self.class_name} at {prefix or '<root>'!r} contains itself")
        active.add(id(self))
        yield prefix, self
        for name, child in self._named_entries("_modules").items():
            if child is None:
                continue
            if not isinstance(child, PersistentRecord):
                raise NetworkPickleError(
                    f"submodule {_join(prefix, name)!r} of {self.class_name} is a {type(child).__name__}, "
                    "not a persistent network object"
                )
            yield from child._walk(_join(prefix, name), active)
        active.discard(id(self))

    def state_dict(self) -> dict[str, torch.Tensor]:
        """The record's parameters and persistent buffers and those of its submodules, flattened the way
        `torch.nn.Module.state_dict()` does: same dotted names, same order, `None` entries and the buffers named in
        `_non_persistent_buffers_set` skipped, tensors detached.

        Returns:
            `dict[str, torch.Tensor]`: e.g. `{"mapping.fc0.weight": ..., "synthesis.L0_36_512.affine.weight": ...}`.

        Raises:
            NetworkPickleError: a parameter or buffer is not a tensor, or `_modules` is malformed.
        """
        out: dict[str, torch.Tensor] = {}
        for path, record in self.records():
            skipped = record.state.get("_non_persistent_buffers_set") or ()
            if not isinstance(skipped, (set, frozenset, list, tuple)):
                raise NetworkPickleError(f"_non_persistent_buffers_set of {record.class_name} is not a set")
            entries = [(name, value, "parameter") for name, value in record._named_entries("_parameters").items()]
            entries += [
                (name, value, "buffer") for name, value in record._named_entries("_buffers").items()
                if name not in skipped
            ]
            for name, value, kind in entries:
                if value is None:
                    continue
                if not isinstance(value, torch.Tensor):
                    raise NetworkPickleError(
                        f"{kind} {_join(path, name)!r} of {record.class_name} is a {type(value).__name__}, not a tensor"
                    )
                out[_join(path, name)] = value.detach()
        return out

    def attributes(self) -> dict[str, Any]:
        """The record's own non-tensor attributes (`in_size`, `img_resolution`, `layer_names`, ...), numpy values
        turned into Python values and lists; torch's private state (`_parameters`, hooks, `training`, ...), tensors
        and submodule records are left out."""
        return {
            name: _to_plain(value) for name, value in self.state.items()
            if isinstance(name, str) and not name.startswith("_") and name != "training"
            and not isinstance(value, (torch.Tensor, PersistentRecord))
        }

    def check_known(self) -> None:
        """Raise [`UnknownClassError`] naming every record below this one (itself included) whose class is not in
        [`KNOWN_CLASSES`]: what a converter does before mapping weights it would otherwise guess at."""
        unknown = [f"{record.class_name} (at {path or '<root>'})" for path, record in self.records()
                   if not record.is_known]
        if unknown:
            raise UnknownClassError(
                f"{len(unknown)} object(s) of classes that are not NVIDIA's official networks: {', '.join(unknown)}"
            )

    def _named_entries(self, key: str) -> Mapping[str, Any]:
        entries = self.state.get(key)
        if entries is None:  # a persistent class that is not a torch.nn.Module has none
            return {}
        if not isinstance(entries, Mapping) or not all(isinstance(name, str) for name in entries):
            raise NetworkPickleError(f"{key} of {self.class_name} is not a dict of names")
        return entries


def _join(prefix: str, name: str) -> str:
    return f"{prefix}.{name}" if prefix else name


# ----------------------------------------------------------------------------------------------------------------------
# Stand-ins for the allowed globals. Each checks the types of its arguments: the pickle stream chooses them.


def _reconstruct_persistent_obj(meta: Any) -> PersistentRecord:
    """Stand-in for `torch_utils.persistence._reconstruct_persistent_obj`: a record; `module_src` is hashed and
    searched for class definitions, never executed."""
    if not isinstance(meta, dict):
        raise NetworkPickleError(f"persistent object metadata is a {type(meta).__name__}, not a dict")
    if meta.get("type") != "class":
        raise NetworkPickleError(f"persistent object of type {meta.get('type')!r}; only 'class' exists")
    source, name, state = meta.get("module_src"), meta.get("class_name"), meta.get("state")
    if not isinstance(source, str) or not isinstance(name, str) or not name.isidentifier():
        raise NetworkPickleError("persistent object metadata without a module source text and a class name")
    if not isinstance(state, dict):
        raise NetworkPickleError(f"persistent object {name} has a state of type {type(state).__name__}, not a dict")
    module, digest = _inspect_source(source)
    version = meta.get("version")
    return PersistentRecord(
        module_name=module,
        class_name=f"{module}.{name}" if module else name,
        source_sha256=digest,
        state=state,  # init_args / init_kwargs are filled by _finalize, once the state holds final values
        version=version if isinstance(version, int) else None,
    )


class _EasyDict(dict):
    """Stand-in for `dnnlib.util.EasyDict`; `_finalize` turns it into a plain dict.

    A subclass rather than `dict` itself because pickle may follow NEWOBJ with BUILD (empty state), which a plain dict
    cannot take; a real EasyDict keeps its items as dict items, so a non-empty attribute state is refused.
    """

    def __setstate__(self, state: Any) -> None:
        if state:
            raise UnsafePickleError("refused an attribute state for a dnnlib.util.EasyDict")


_NUMERIC_KINDS = "biufc"  # bool, int, uint, float, complex: the only dtypes whose arrays are plain bytes


class _DtypeStub:
    """What the `numpy.dtype` stand-in returns: a plain numeric dtype. The BUILD that follows is handled here, not by
    numpy's `dtype.__setstate__`: only the byte order is read from the pickled state."""

    def __init__(self, dtype: np.dtype):
        self.dtype = dtype

    def __setstate__(self, state: Any) -> None:
        # (version, byte order, subarray, names, fields, elsize, alignment, flags[, metadata])
        if not isinstance(state, tuple) or len(state) < 5 or any(part is not None for part in state[2:5]):
            raise UnsafePickleError(f"refused numpy dtype state {state!r:.200}")
        if state[1] not in ("<", ">", "|", "="):
            raise UnsafePickleError(f"refused numpy dtype byte order {state[1]!r:.20}")
        if state[1] in "<>":
            self.dtype = self.dtype.newbyteorder(state[1])


def _numpy_dtype(spec: Any, align: Any = False, copy: Any = True) -> _DtypeStub:
    """Stand-in for `numpy.dtype(spec, align, copy)`: only plain numeric dtypes (`"f4"`, `"i8"`, `"b1"`, ...)."""
    if not isinstance(spec, str) or len(spec) > 8:
        raise UnsafePickleError(f"refused numpy dtype {spec!r:.100}")
    try:
        dtype = np.dtype(spec)
    except Exception as err:  # numpy's parser of dtype strings fails in several ways
        raise UnsafePickleError(f"refused numpy dtype {spec!r}") from err
    if dtype.kind not in _NUMERIC_KINDS or dtype.fields is not None or dtype.subdtype is not None:
        raise UnsafePickleError(
            f"refused numpy dtype {spec!r}: only plain numeric arrays are read (object arrays can hold any object)"
        )
    return _DtypeStub(dtype)


def _dtype_of(value: Any, what: str) -> np.dtype:
    if not isinstance(value, _DtypeStub):
        raise UnsafePickleError(f"{what} with a dtype of type {type(value).__name__}")
    return value.dtype


def _shape_of(value: Any, what: str) -> tuple[int, ...]:
    if not isinstance(value, tuple) or not all(type(n) is int and n >= 0 for n in value):
        raise NetworkPickleError(f"{what} with a malformed shape {value!r:.100}")
    return value


def _array_from_bytes(data: Any, dtype: np.dtype, shape: tuple[int, ...], fortran: bool, what: str) -> np.ndarray:
    if not isinstance(data, (bytes, bytearray)):  # an object array would give a list here
        raise UnsafePickleError(f"refused {what}: its data is a {type(data).__name__}, not bytes")
    count = math.prod(shape)
    if len(data) != count * dtype.itemsize:
        raise NetworkPickleError(f"{what} of shape {shape} and dtype {dtype} with {len(data)} bytes of data")
    flat = np.frombuffer(data, dtype=dtype, count=count)
    return np.array(flat.reshape(shape, order="F" if fortran else "C"), copy=True)  # writable, owns its memory


class _NdarrayToken:
    """Stand-in for the `numpy.ndarray` global, which official pickles pass only as `_reconstruct`'s subtype."""

    def __call__(self, *args: Any, **kwargs: Any) -> None:
        raise UnsafePickleError("refused call of numpy.ndarray")


_NDARRAY = _NdarrayToken()


class _PendingArray:
    """What the `_reconstruct` stand-in returns; the BUILD that follows gives it the shape, dtype and bytes.
    `_finalize` swaps it for the array."""

    array: np.ndarray | None = None

    def __setstate__(self, state: Any) -> None:
        if self.array is not None:
            raise UnsafePickleError("refused a second state for a numpy array")
        if isinstance(state, tuple) and len(state) == 5:  # numpy writes (version, shape, dtype, is_fortran, data)
            state = state[1:]
        if not isinstance(state, tuple) or len(state) != 4:
            raise NetworkPickleError(f"malformed numpy array state of type {type(state).__name__}")
        shape, dtype, fortran, data = state
        self.array = _array_from_bytes(
            data, _dtype_of(dtype, "numpy array"), _shape_of(shape, "numpy array"), bool(fortran), "numpy array"
        )


def _numpy_reconstruct(subtype: Any, shape: Any, code: Any) -> _PendingArray:
    """Stand-in for `numpy.core.multiarray._reconstruct` (numpy 1) / `numpy._core.multiarray._reconstruct` (numpy 2)."""
    if subtype is not _NDARRAY:
        raise UnsafePickleError(f"refused numpy array of subtype {type(subtype).__name__}")
    return _PendingArray()


def _numpy_frombuffer(data: Any, dtype: Any, shape: Any, order: Any) -> np.ndarray:
    """Stand-in for `numpy._core.numeric._frombuffer`, how numpy reduces an array under pickle protocol 5 (Python
    3.14's default protocol), the data in-band."""
    return _array_from_bytes(
        data, _dtype_of(dtype, "numpy array"), _shape_of(shape, "numpy array"), order == "F", "numpy array"
    )


def _numpy_scalar(dtype: Any, data: Any = None) -> np.generic:
    """Stand-in for `numpy.core.multiarray.scalar`: a numpy scalar (`np.float64(...)`) from its bytes."""
    return _array_from_bytes(data, _dtype_of(dtype, "numpy scalar"), (), False, "numpy scalar")[()]


class _Sealed:
    """A storage, tensor or parameter built by a stand-in, until `_finalize` unwraps it.

    Pickle may follow any object with a BUILD opcode; on a tensor that calls `Tensor.__setstate__`, which `set_()`s
    whatever storage, offset and size the stream chooses, around the bounds check of `_rebuild_tensor`. Sealed values
    refuse it.
    """

    __slots__ = ("value",)

    def __init__(self, value: Any):
        self.value = value

    def __setstate__(self, state: Any) -> None:
        raise UnsafePickleError(f"refused state set on a {type(self.value).__name__}")


def _unseal(value: Any, kind: type, what: str) -> Any:
    value = value.value if isinstance(value, _Sealed) else None
    if not isinstance(value, kind):
        raise UnsafePickleError(f"refused {what}")
    return value


def _load_storage(data: Any) -> _Sealed:
    """Stand-in for `torch.storage._load_from_bytes`: `data` is a `torch.save` stream of one storage, read with
    `weights_only=True` (torch's own restricted unpickler), mapped to the CPU."""
    if not isinstance(data, bytes):
        raise NetworkPickleError(f"tensor storage data is a {type(data).__name__}, not bytes")
    try:
        storage = torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as err:
        # torch's message is long; its "WeightsUnpickler error:" line names what was refused
        found = re.search(r"WeightsUnpickler error: ([^\n]*)", str(err))
        reason = found.group(1) if found else str(err).strip().splitlines()[0]
        raise UnsafePickleError(f"refused tensor storage: torch.load(weights_only=True) failed: {reason}") from err
    except Exception as err:  # a corrupt stream fails in many ways; all mean the same here
        raise NetworkPickleError(f"unreadable tensor storage ({type(err).__name__}: {err})") from err
    if not isinstance(storage, torch.storage.TypedStorage):
        raise UnsafePickleError(f"refused tensor storage: its stream holds a {type(storage).__name__}, not a storage")
    return _Sealed(storage)


def _empty_hooks(hooks: Any, what: str) -> None:
    # torch pickles an empty OrderedDict of backward hooks; hooks are code, so any entry is refused
    if not isinstance(hooks, dict) or hooks:
        raise UnsafePickleError(f"refused {what} with backward hooks")


def _rebuild_tensor(
    storage: Any, offset: Any, size: Any, stride: Any, requires_grad: Any, hooks: Any, metadata: Any = None
) -> _Sealed:
    """Stand-in for `torch._utils._rebuild_tensor_v2`: checks the view lies inside its storage (torch would grow the
    storage to fit, filling it with uninitialised memory), then lets torch build it."""
    storage = _unseal(storage, torch.storage.TypedStorage, "tensor whose storage is not a tensor storage")
    size, stride = _shape_of(size, "tensor"), _shape_of(stride, "tensor")
    if type(offset) is not int or offset < 0 or len(size) != len(stride) or not isinstance(requires_grad, bool):
        raise NetworkPickleError("tensor with a malformed offset, size, stride or requires_grad")
    _empty_hooks(hooks, "tensor")
    if metadata:  # torch >= 2.1 adds it only for tensors with special bits, which no network pickle holds
        raise UnsafePickleError(f"refused tensor metadata {metadata!r:.100}")
    available = storage._untyped_storage.nbytes() // storage.dtype.itemsize
    needed = 0 if 0 in size else offset + 1 + sum((n - 1) * s for n, s in zip(size, stride))
    if needed > available:
        raise NetworkPickleError(
            f"tensor of size {size}, stride {stride} and offset {offset} lies out of bounds of its storage of "
            f"{available} elements"
        )
    hooks = collections.OrderedDict()  # a fresh one: the pickled dict could have been shared with other objects
    return _Sealed(torch._utils._rebuild_tensor_v2(storage, offset, size, stride, requires_grad, hooks))


def _rebuild_parameter(data: Any, requires_grad: Any, hooks: Any) -> _Sealed:
    """Stand-in for `torch._utils._rebuild_parameter`."""
    data = _unseal(data, torch.Tensor, "parameter whose data is not a tensor")
    if not isinstance(requires_grad, bool):
        raise NetworkPickleError("malformed torch.nn.Parameter")
    _empty_hooks(hooks, "parameter")
    return _Sealed(torch.nn.Parameter(data, requires_grad))


_TENSORFLOW_GLOBALS = {("dnnlib.tflib.network", "Network"), ("tfutil", "Network")}

_STAND_INS: dict[tuple[str, str], Any] = {
    ("torch_utils.persistence", "_reconstruct_persistent_obj"): _reconstruct_persistent_obj,
    ("dnnlib.util", "EasyDict"): _EasyDict,
    ("collections", "OrderedDict"): collections.OrderedDict,
    ("builtins", "set"): set,  # protocol 3 (Python 3.7, stylegan2-ada-pytorch) writes sets as set([...])
    ("numpy", "ndarray"): _NDARRAY,
    ("numpy", "dtype"): _numpy_dtype,
    ("numpy.core.multiarray", "_reconstruct"): _numpy_reconstruct,
    ("numpy._core.multiarray", "_reconstruct"): _numpy_reconstruct,
    ("numpy.core.multiarray", "scalar"): _numpy_scalar,
    ("numpy._core.multiarray", "scalar"): _numpy_scalar,
    ("numpy.core.numeric", "_frombuffer"): _numpy_frombuffer,
    ("numpy._core.numeric", "_frombuffer"): _numpy_frombuffer,
    ("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor,
    ("torch._utils", "_rebuild_parameter"): _rebuild_parameter,
    ("torch.storage", "_load_from_bytes"): _load_storage,
}

ALLOWED_GLOBALS: frozenset[tuple[str, str]] = frozenset(_STAND_INS)
"""The `(module, name)` globals [`RestrictedUnpickler`] resolves, each to a stand-in of this module."""


# ----------------------------------------------------------------------------------------------------------------------
# The unpickler


class RestrictedUnpickler(pickle.Unpickler):
    """A `pickle.Unpickler` for NVIDIA network pickles that resolves only [`ALLOWED_GLOBALS`], to safe stand-ins.

    `load()` returns the unpickled object with a [`PersistentRecord`] for each persistent object, `dict`s for
    `EasyDict`s and numpy arrays and scalars for theirs. Nothing named by the stream is imported or called but the
    stand-ins; refusals raise [`UnsafePickleError`] naming the global (`refused global 'posix.system'`), a
    TensorFlow-era network raises [`TensorFlowPickleError`]. Most callers want [`load_network_pickle`].
    """

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in _TENSORFLOW_GLOBALS:
            raise TensorFlowPickleError(
                f"TensorFlow-era pickle ({module}.{name}): convert it with NVIDIA's legacy.py first "
                "(stylegan2-ada-pytorch or stylegan3), then read the converted pickle"
            )
        try:
            return _STAND_INS[(module, name)]
        except (KeyError, TypeError):  # TypeError: an unhashable name from a crafted stream
            raise UnsafePickleError(f"refused global '{module}.{name}'") from None

    def persistent_load(self, pid: Any) -> Any:
        # network pickles have no persistent ids; torch.save streams do, and are not read here
        raise UnsafePickleError(f"refused persistent id {pid!r:.100}: network pickles have none")

    def load(self) -> Any:
        return _finalize(super().load(), {})


def _finalize(obj: Any, memo: dict[int, tuple[Any, Any]]) -> Any:
    """Replace the stand-ins' placeholders by final values (arrays, dtypes, plain dicts), in place where the container
    is mutable, and fill each record's `init_args` / `init_kwargs`. `memo` keeps shared objects shared and ends
    cycles."""
    key = id(obj)
    if key in memo:
        return memo[key][1]
    if isinstance(obj, _Sealed):
        return obj.value  # a tensor or storage: not walked, and its memory is not worth a memo entry
    if isinstance(obj, _PendingArray):
        if obj.array is None:
            raise NetworkPickleError("numpy array without its data")
        value: Any = obj.array
    elif isinstance(obj, _DtypeStub):
        value = obj.dtype
    elif isinstance(obj, PersistentRecord):
        memo[key] = (obj, obj)
        obj.state = _finalize(obj.state, memo)
        args, kwargs = obj.state.get("_init_args", ()), obj.state.get("_init_kwargs", {})
        if not isinstance(args, (list, tuple)) or not isinstance(kwargs, dict):
            raise NetworkPickleError(f"{obj.class_name} with malformed _init_args or _init_kwargs")
        obj.init_args, obj.init_kwargs = list(_to_plain(args)), _to_plain(kwargs)
        return obj
    elif isinstance(obj, _EasyDict):
        value = {}
        memo[key] = (obj, value)
        value.update((name, _finalize(item, memo)) for name, item in obj.items())
        return value
    elif isinstance(obj, dict):
        memo[key] = (obj, obj)
        for name, item in obj.items():
            obj[name] = _finalize(item, memo)
        return obj
    elif isinstance(obj, list):
        memo[key] = (obj, obj)
        obj[:] = [_finalize(item, memo) for item in obj]
        return obj
    elif isinstance(obj, tuple):
        value = tuple(_finalize(item, memo) for item in obj)
    elif isinstance(obj, (set, frozenset)):
        value = type(obj)(_finalize(item, memo) for item in obj)
    else:
        return obj
    memo[key] = (obj, value)
    return value


def _to_plain(value: Any) -> Any:
    """Plain Python values for reading: dicts for mappings, lists/tuples kept, numpy arrays as lists, numpy scalars
    as Python scalars, dtypes as strings; tensors and records are kept as they are."""
    if isinstance(value, Mapping):
        return {name: _to_plain(item) for name, item in value.items()}
    if isinstance(value, list):
        return [_to_plain(item) for item in value]
    if isinstance(value, tuple):
        return tuple(_to_plain(item) for item in value)
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.dtype):
        return str(value)
    return value


# ----------------------------------------------------------------------------------------------------------------------
# Loading


def _describe_header(header: bytes) -> str | None:
    """What is wrong with a file that starts with `header`, or None if it may be a network pickle."""
    if not header:
        return "empty file, not a pickle"
    if header.startswith(b"PK\x03\x04"):
        return "a zip archive (a torch.save checkpoint?), not a network pickle"
    if header[0] != 0x80:  # the PROTO opcode; NVIDIA's pickles use protocol 3 or 4
        return f"not a network pickle (those start with byte 0x80; this file starts with {header[:8]!r})"
    if len(header) > 1 and not 2 <= header[1] <= pickle.HIGHEST_PROTOCOL:
        return f"not a pickle of a supported protocol (protocol byte {header[1]})"
    return None


def _peek(file: BinaryIO, size: int) -> bytes | None:
    try:
        if file.seekable():
            position = file.tell()
            header = file.read(size)
            file.seek(position)
            return header
    except (AttributeError, OSError):
        pass
    return None  # a stream that cannot go back: the unpickler alone decides


def _load(file: BinaryIO, name: str) -> dict[str, Any]:
    header = _peek(file, 8)
    problem = _describe_header(header) if header is not None else None
    if problem:
        raise NetworkPickleError(f"{name}: {problem}")
    try:
        data = RestrictedUnpickler(file).load()
    except NetworkPickleError as err:
        raise type(err)(f"{name}: {err}") from err
    except EOFError as err:
        raise NetworkPickleError(f"{name}: truncated pickle (the file ends before the pickle does)") from err
    except pickle.UnpicklingError as err:
        if "truncated" in str(err):
            raise NetworkPickleError(f"{name}: truncated pickle ({err})") from err
        raise NetworkPickleError(f"{name}: not a valid pickle ({err})") from err
    except RecursionError as err:
        raise NetworkPickleError(f"{name}: pickle nested too deeply to read") from err
    except Exception as err:  # a malformed stream fails in many ways inside pickle and numpy
        raise NetworkPickleError(f"{name}: not a readable network pickle ({type(err).__name__}: {err})") from err

    expected = "expected a dict with 'G', 'D' and/or 'G_ema'"
    if not isinstance(data, dict):
        raise NetworkPickleError(f"{name}: not a network pickle: its top level is a {type(data).__name__}, {expected}")
    present = [key for key in NETWORK_KEYS if key in data]
    if not present:
        keys = ", ".join(repr(key) for key in list(data)[:10])
        raise NetworkPickleError(f"{name}: not a network pickle: its top-level dict has keys [{keys}], {expected}")
    for key in present:
        if data[key] is not None and not isinstance(data[key], PersistentRecord):
            raise NetworkPickleError(
                f"{name}: not a network pickle: {key!r} is a {type(data[key]).__name__}, not a persistent network"
            )
    if all(data[key] is None for key in present):
        raise NetworkPickleError(f"{name}: not a network pickle: {', '.join(present)} are all None")
    return data


def load_network_pickle(path_or_file: str | os.PathLike[str] | BinaryIO) -> dict[str, Any]:
    """Read an NVIDIA StyleGAN2-ADA / StyleGAN3 network pickle without running any code it carries.

    Args:
        path_or_file (`str`, `os.PathLike` or binary file object):
            The `.pkl` file. It is only read.

    Returns:
        `dict`: the snapshot dict as pickled (`"G"`, `"D"`, `"G_ema"`, `"augment_pipe"`, `"training_set_kwargs"`,
        ...), each network a [`PersistentRecord`] and each `EasyDict` a `dict`.

    Raises:
        UnsafePickleError: the pickle names a global outside [`ALLOWED_GLOBALS`] (the message names it), has a
            persistent id, an object array or a tensor storage that is not weights-only.
        TensorFlowPickleError: a TensorFlow-era pickle; NVIDIA's `legacy.py` converts those.
        NetworkPickleError: (the base class of both) the file is empty, truncated, not a pickle, or its top level is
            not a dict holding at least one network under `"G"`, `"D"` or `"G_ema"`. Every message starts with the
            file's name.
        OSError: the file cannot be opened.
    """
    if isinstance(path_or_file, (str, os.PathLike)):
        name = os.fspath(path_or_file)
        with open(name, "rb") as file:
            return _load(file, name)
    name = getattr(path_or_file, "name", None)
    return _load(path_or_file, name if isinstance(name, str) else "<file object>")


def describe(snapshot: Mapping[str, Any]) -> str:
    """A few lines on what a loaded snapshot holds: each network's class, number of tensors and values, and the
    classes that are not in [`KNOWN_CLASSES`].

    Args:
        snapshot (`Mapping[str, Any]`): what [`load_network_pickle`] returned.

    Returns:
        `str`: one line per top-level entry, e.g.
        `G_ema: training.networks_stylegan3.Generator (143 tensors, 24,767,458 values)`.
    """
    lines = []
    for key, value in snapshot.items():
        if isinstance(value, PersistentRecord):
            tensors = value.state_dict()
            numel = sum(tensor.numel() for tensor in tensors.values())
            line = f"{key}: {value.class_name} ({len(tensors)} tensors, {numel:,} values)"
            unknown = sorted({record.class_name for _, record in value.records() if not record.is_known})
            if unknown:
                line += f"; classes not in KNOWN_CLASSES: {', '.join(unknown)}"
        else:
            line = f"{key}: {value!r:.100}"
        lines.append(line)
    return "\n".join(lines)
