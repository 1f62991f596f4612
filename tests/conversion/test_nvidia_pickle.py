"""NVIDIA network pickles are read without running anything they carry (hfgan.conversion.nvidia_pickle).

The pickles are made here without NVIDIA's code: fake modules `torch_utils.persistence`, `dnnlib.util` and
`dnnlib.tflib.network` are put in `sys.modules` so that the streams name the official globals, and tiny torch modules
pickle themselves the way `persistent_class` does: `_reconstruct_persistent_obj(meta)`, `meta` holding the module
source, the class name and the object's `__dict__`.
"""

import builtins
import collections
import copy
import copyreg
import hashlib
import io
import json
import os
import pickle
import random
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch

from official_pickles import ADA_SOURCE, STYLEGAN2_SOURCE, STYLEGAN3_SOURCE
from hfgan.conversion import (
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

class Persistent(torch.nn.Module):
    """Pickles like an instance of a `persistent_class` of the module whose source is `source`."""

    source = STYLEGAN3_SOURCE

    def __init__(self, *args, **kwargs):
        super().__init__()
        self._init_args = args
        self._init_kwargs = kwargs

    def __reduce__(self):
        meta = {"type": "class", "version": 6, "module_src": self.source, "class_name": type(self).__name__,
                "state": self.__getstate__()}
        return sys.modules["torch_utils.persistence"]._reconstruct_persistent_obj, (meta,)


class FullyConnectedLayer(Persistent):
    def __init__(self, in_features, out_features, bias=True):
        super().__init__(in_features, out_features, bias=bias)
        self.weight = torch.nn.Parameter(torch.randn(out_features, in_features))
        self.bias = torch.nn.Parameter(torch.randn(out_features)) if bias else None
        self.weight_gain = 1 / np.sqrt(in_features)  # a numpy float64, as in NVIDIA's layers


class SynthesisLayer(Persistent):
    def __init__(self, channels, size, easydict):
        super().__init__(channels, in_size=np.int64(size), filter_kwargs=easydict(taps=np.float32(6)))
        self.affine = FullyConnectedLayer(4, channels)
        self.weight = torch.nn.Parameter(torch.randn(channels, channels, 3, 3))
        self.register_buffer("magnitude_ema", torch.ones([]))
        self.register_buffer("up_filter", None)  # NVIDIA's critically sampled layers register None filters
        self.register_buffer("scratch", torch.zeros(3), persistent=False)
        self.register_buffer("freqs", torch.randn(3, 5).t())  # a view with strides (1, 5)
        self.register_buffer("phases", torch.arange(8, dtype=torch.float64)[3:])  # a view at offset 3
        self.in_size = np.broadcast_to(np.asarray(size), [2])  # not contiguous: reduced by _reconstruct
        self.cutoffs = np.array([2.0, 3.5], dtype=">f4")  # contiguous: _frombuffer under protocol 5; big-endian
        self.padding = [1, 2, 1, 2]


class SynthesisNetwork(Persistent):
    def __init__(self, easydict):
        super().__init__(w_dim=4, img_resolution=8)
        self.layer_names = ["L0_4_8", "L1_8_8"]
        self.L0_4_8 = SynthesisLayer(8, 4, easydict)
        self.L1_8_8 = SynthesisLayer(8, 8, easydict)
        self.register_buffer("steps", torch.tensor([1, 2, 3]))
        self.img_resolution = 8


class MappingNetwork(Persistent):
    def __init__(self):
        super().__init__(z_dim=4, w_dim=4)
        self.fc0 = FullyConnectedLayer(4, 4)
        self.fc1 = FullyConnectedLayer(4, 4, bias=False)
        self.register_buffer("w_avg", torch.randn(4).half())


class Generator(Persistent):
    def __init__(self, easydict):
        super().__init__(z_dim=4, c_dim=0, w_dim=4, img_resolution=8, img_channels=3,
                         mapping_kwargs=easydict(num_layers=2), synthesis_kwargs=easydict(channel_base=np.int64(64)))
        self.z_dim, self.img_resolution = 4, 8
        self.mapping = MappingNetwork()
        self.synthesis = SynthesisNetwork(easydict)


def make_snapshot(official, **changes):
    """A tiny `network-snapshot-*.pkl` dict as NVIDIA's training loop writes it."""
    torch.manual_seed(0)
    G = Generator(official.EasyDict).eval().requires_grad_(False)
    G_ema = Generator(official.EasyDict).eval().requires_grad_(False)
    training_set_kwargs = dict(official.EasyDict(class_name="training.dataset.ImageFolderDataset", resolution=8))
    return {"G": G, "D": None, "G_ema": G_ema, "augment_pipe": None, "training_set_kwargs": training_set_kwargs,
            **changes}


def write(path: Path, obj, protocol=4) -> Path:
    path.write_bytes(pickle.dumps(obj, protocol=protocol))
    return path


class Payload:
    """Unpickles as `func(*args)`."""

    def __init__(self, func, *args):
        self.func, self.args = func, args

    def __reduce__(self):
        return self.func, self.args


def assert_tensors_equal(got: dict, expected: dict):
    assert list(got) == list(expected)
    for name, tensor in expected.items():
        assert type(got[name]) is torch.Tensor, name
        assert got[name].dtype == tensor.dtype and got[name].stride() == tensor.stride(), name
        assert torch.equal(got[name], tensor), name


@pytest.mark.parametrize(
    "protocol, numpy1",  # protocol 3: Python 3.7 (stylegan2-ada-pytorch); 4: Python 3.8+; 5: Python 3.14's default
    [(3, True), (3, False), (4, False), (5, False)],
    ids=["protocol-3-numpy-1", "protocol-3", "protocol-4", "protocol-5"],
)
def test_state_dicts_round_trip_exactly(official, tmp_path, protocol, numpy1):
    snapshot = make_snapshot(official)
    path = write(tmp_path / "network-snapshot-000000.pkl", snapshot, protocol)
    if numpy1:  # the official pickles were written by numpy 1, whose module was numpy.core, not numpy._core
        data = path.read_bytes()
        assert data.count(b"cnumpy._core.multiarray\n") >= 2  # protocol 3 names a global as "c<module>\n<name>\n"
        path.write_bytes(data.replace(b"cnumpy._core.multiarray\n", b"cnumpy.core.multiarray\n"))
    before = {p: p.stat().st_mtime_ns for p in tmp_path.iterdir()}

    data = load_network_pickle(path)

    assert {p: p.stat().st_mtime_ns for p in tmp_path.iterdir()} == before  # the file is only read
    assert list(data) == ["G", "D", "G_ema", "augment_pipe", "training_set_kwargs"]
    assert data["D"] is None and data["augment_pipe"] is None
    assert data["training_set_kwargs"] == {"class_name": "training.dataset.ImageFolderDataset", "resolution": 8}
    for key in ("G", "G_ema"):
        assert_tensors_equal(data[key].state_dict(), snapshot[key].state_dict())
    names = data["G"].state_dict()
    assert "synthesis.L0_4_8.affine.weight" in names
    assert "synthesis.L0_4_8.scratch" not in names and "synthesis.L0_4_8.up_filter" not in names
    assert "mapping.fc1.bias" not in names


def test_records_hold_class_source_hash_arguments_and_attributes(official, tmp_path):
    G = load_network_pickle(write(tmp_path / "G.pkl", make_snapshot(official)))["G"]

    assert isinstance(G, PersistentRecord)
    assert G.module_name == "training.networks_stylegan3"
    assert (G.class_name, G.name) == ("training.networks_stylegan3.Generator", "Generator")
    assert G.source_sha256 == hashlib.sha256(STYLEGAN3_SOURCE.encode()).hexdigest()
    assert G.version == 6 and G.is_known and G.class_name in KNOWN_CLASSES
    G.check_known()  # all official: no error
    assert [path for path, _ in G.records()] == [
        "", "mapping", "mapping.fc0", "mapping.fc1", "synthesis", "synthesis.L0_4_8", "synthesis.L0_4_8.affine",
        "synthesis.L1_8_8", "synthesis.L1_8_8.affine",
    ]
    # init kwargs: EasyDicts are plain dicts, numpy values are Python values
    assert G.init_args == []
    assert G.init_kwargs == {"z_dim": 4, "c_dim": 0, "w_dim": 4, "img_resolution": 8, "img_channels": 3,
                             "mapping_kwargs": {"num_layers": 2}, "synthesis_kwargs": {"channel_base": 64}}
    assert type(G.init_kwargs["mapping_kwargs"]) is dict
    assert type(G.init_kwargs["synthesis_kwargs"]["channel_base"]) is int
    layer = G.state["_modules"]["synthesis"].state["_modules"]["L0_4_8"]
    assert layer.class_name == "training.networks_stylegan3.SynthesisLayer"
    assert layer.init_args == [8] and layer.init_kwargs == {"in_size": 4, "filter_kwargs": {"taps": 6.0}}
    assert type(layer.state["_init_kwargs"]["filter_kwargs"]) is dict  # no stand-in class is left in the raw state
    # attributes: the layer's own, numpy values converted; the raw state keeps numpy's
    assert layer.attributes() == {"in_size": [4, 4], "cutoffs": [2.0, 3.5], "padding": [1, 2, 1, 2]}
    assert isinstance(layer.state["in_size"], np.ndarray) and layer.state["in_size"].dtype == np.int64
    assert layer.state["cutoffs"].dtype == np.dtype(">f4") and layer.state["cutoffs"].flags.writeable
    fc = layer.state["_modules"]["affine"]
    assert fc.attributes() == {"weight_gain": 0.5} and type(fc.attributes()["weight_gain"]) is float
    assert type(fc.state["weight_gain"]) is np.float64
    assert G.attributes() == {"z_dim": 4, "img_resolution": 8}
    assert G.state["_modules"]["synthesis"].attributes() == {"layer_names": ["L0_4_8", "L1_8_8"], "img_resolution": 8}


def test_easydicts_pickled_by_older_pythons_load_as_dicts(official, tmp_path):
    class OldEasyDict:  # before Python 3.11, an EasyDict pickled its empty __dict__ as a state: NEWOBJ, SETITEMS, BUILD
        def __init__(self, **items):
            self.items = items

        @property
        def __class__(self):  # pickle checks that NEWOBJ builds an object of the same class
            return official.EasyDict

        def __reduce__(self):
            return copyreg.__newobj__, (official.EasyDict,), {}, None, iter(self.items.items())

    snapshot = make_snapshot(official, training_set_kwargs=OldEasyDict(resolution=8, xflip=False))
    data = load_network_pickle(write(tmp_path / "G.pkl", snapshot, protocol=3))
    assert type(data["training_set_kwargs"]) is dict
    assert data["training_set_kwargs"] == {"resolution": 8, "xflip": False}


def test_file_objects_and_describe(official, tmp_path):
    snapshot = make_snapshot(official)
    data = load_network_pickle(io.BytesIO(pickle.dumps(snapshot)))
    summary = describe(data).splitlines()
    tensors = snapshot["G"].state_dict()
    numel = sum(tensor.numel() for tensor in tensors.values())
    assert summary[0] == f"G: training.networks_stylegan3.Generator ({len(tensors)} tensors, {numel:,} values)"
    assert summary[1] == "D: None"
    assert "training.dataset.ImageFolderDataset" in summary[4]


@pytest.mark.parametrize(
    "source, module",
    [
        (STYLEGAN3_SOURCE, "training.networks_stylegan3"),
        (STYLEGAN2_SOURCE, "training.networks_stylegan2"),  # stylegan3's copy of the StyleGAN2 networks
        (ADA_SOURCE, "training.networks"),  # stylegan2-ada-pytorch
        ("import torch\nclass AugmentPipe(torch.nn.Module): pass\nclass FullyConnectedLayer: pass\n",
         "training.augment"),
        ("import torch\nclass FullyConnectedLayer(torch.nn.Module): pass\n", None),
    ],
)
def test_the_module_is_recognised_from_the_classes_its_source_defines(official, tmp_path, monkeypatch, source, module):
    monkeypatch.setattr(Persistent, "source", source)
    record = load_network_pickle(write(tmp_path / "fc.pkl", {"G": FullyConnectedLayer(2, 3)}))["G"]
    assert record.module_name == module
    assert record.class_name == (f"{module}.FullyConnectedLayer" if module else "FullyConnectedLayer")


def test_a_forks_classes_load_as_records_and_are_named_as_unknown(official, tmp_path):
    class MyForkLayer(Persistent):  # a fork's module: none of the official ones
        source = "import torch\nclass MyForkLayer(torch.nn.Module): pass\n"

        def __init__(self):
            super().__init__()
            self.gain = torch.nn.Parameter(torch.ones(2))

    class SuperResolution(Persistent):  # a class added to a copy of networks_stylegan3.py
        source = STYLEGAN3_SOURCE + "class SuperResolution(torch.nn.Module): pass\n"

    snapshot = make_snapshot(official)
    snapshot["G"].synthesis.extra = MyForkLayer()
    snapshot["G"].superres = SuperResolution()
    G = load_network_pickle(write(tmp_path / "fork.pkl", snapshot))["G"]

    fork = G.state["_modules"]["synthesis"].state["_modules"]["extra"]
    assert (fork.module_name, fork.class_name, fork.is_known) == (None, "MyForkLayer", False)
    assert G.state["_modules"]["superres"].class_name == "training.networks_stylegan3.SuperResolution"
    assert "synthesis.extra.gain" in G.state_dict()
    with pytest.raises(UnknownClassError, match=r"MyForkLayer \(at synthesis.extra\).*SuperResolution \(at superres\)"):
        G.check_known()
    unknown = "classes not in KNOWN_CLASSES: MyForkLayer, training.networks_stylegan3.SuperResolution"
    assert unknown in describe({"G": G})


def test_module_src_is_never_executed(official, tmp_path, monkeypatch):
    marker = tmp_path / "module_src-ran"
    source = STYLEGAN3_SOURCE + f"\nopen({str(marker)!r}, 'w').write('module_src ran')\n"
    monkeypatch.setattr(Persistent, "source", source)
    path = write(tmp_path / "G.pkl", make_snapshot(official))

    G = load_network_pickle(path)["G"]

    assert not marker.exists()
    assert G.source_sha256 == hashlib.sha256(source.encode()).hexdigest()
    assert G.class_name == "training.networks_stylegan3.Generator"
    exec(compile(source, "module_src", "exec"), {})  # noqa: S102 - what NVIDIA's loader does: the payload is live
    assert marker.exists()


@pytest.mark.parametrize(
    "func, args",
    [
        (os.system, lambda marker: (f"touch {marker}",)),
        (subprocess.call, lambda marker: (["touch", str(marker)],)),
        (builtins.eval, lambda marker: (f"open({str(marker)!r}, 'w')",)),
        (builtins.exec, lambda marker: (f"open({str(marker)!r}, 'w').close()",)),
    ],
    ids=["os.system", "subprocess.call", "eval", "exec"],
)
def test_code_execution_payloads_are_refused_before_they_run(official, tmp_path, func, args):
    marker = tmp_path / "payload-ran"
    snapshot = make_snapshot(official)
    snapshot["G"].mapping.hidden = Payload(func, *args(marker))  # deep inside a network's state
    path = write(tmp_path / "G.pkl", snapshot)

    with pytest.raises(UnsafePickleError, match=f"refused global '{func.__module__}.{func.__name__}'") as info:
        load_network_pickle(path)

    assert str(info.value).startswith(str(path))
    assert isinstance(info.value, NetworkPickleError) and isinstance(info.value, pickle.UnpicklingError)
    assert not marker.exists()
    with pytest.raises(UnsafePickleError, match="refused global"):  # the unpickler alone refuses it too
        RestrictedUnpickler(io.BytesIO(path.read_bytes())).load()


def test_plain_torch_modules_and_other_globals_are_refused(official, tmp_path):
    snapshot = make_snapshot(official)
    snapshot["G"].mapping.act = torch.nn.LeakyReLU()  # official networks hold only persistent classes
    with pytest.raises(UnsafePickleError, match="refused global 'torch.nn.modules.activation.LeakyReLU'"):
        load_network_pickle(write(tmp_path / "G.pkl", snapshot))
    assert all(module.split(".")[0] in {"torch_utils", "dnnlib", "collections", "builtins", "numpy", "torch"}
               for module, _ in ALLOWED_GLOBALS)
    assert ("builtins", "eval") not in ALLOWED_GLOBALS and ("builtins", "getattr") not in ALLOWED_GLOBALS


def test_persistent_ids_are_refused(official, tmp_path):
    class IdPickler(pickle.Pickler):
        def persistent_id(self, obj):
            return ("storage", "0") if obj == "external" else None

    stream = io.BytesIO()
    IdPickler(stream, protocol=4).dump({"G": "external"})
    with pytest.raises(UnsafePickleError, match="refused persistent id"):
        load_network_pickle(io.BytesIO(stream.getvalue()))


@pytest.mark.parametrize("zip_format", [False, True], ids=["legacy", "zip"])
def test_tensor_storages_are_read_weights_only(official, tmp_path, zip_format):
    marker = tmp_path / "storage-payload-ran"
    inner = io.BytesIO()
    torch.save(Payload(os.system, f"touch {marker}"), inner, _use_new_zipfile_serialization=zip_format)
    snapshot = make_snapshot(official)
    snapshot["G"].mapping.hidden = Payload(torch.storage._load_from_bytes, inner.getvalue())

    with pytest.raises(UnsafePickleError, match=r"refused tensor storage: torch.load\(weights_only=True\) failed"):
        load_network_pickle(write(tmp_path / "G.pkl", snapshot))
    assert not marker.exists()

    inner = io.BytesIO()
    torch.save({"not": "a storage"}, inner, _use_new_zipfile_serialization=zip_format)  # weights-only, but no storage
    snapshot["G"].mapping.hidden = Payload(torch.storage._load_from_bytes, inner.getvalue())
    with pytest.raises(UnsafePickleError, match="holds a dict, not a storage"):
        load_network_pickle(write(tmp_path / "G.pkl", snapshot))


def test_tensor_views_must_lie_inside_their_storage(official, tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # TypedStorage is deprecated, and what plain pickle writes
        storage = torch.arange(6.0).storage()
    rebuild = torch._utils._rebuild_tensor_v2

    def load(size, stride, offset=0):
        tensor = Payload(rebuild, storage, offset, size, stride, False, collections.OrderedDict())
        return load_network_pickle(write(tmp_path / "t.pkl", {"G": None, "D": None, "G_ema": None, "t": tensor}))

    # a view that fits loads (the top level then has no network: that error comes last)
    with pytest.raises(NetworkPickleError, match="G, D, G_ema are all None"):
        load((2, 2), (1, 2), offset=1)
    with pytest.raises(NetworkPickleError, match="out of bounds of its storage of 6 elements"):
        load((1000, 1000), (1000, 1))  # torch would grow the storage to 4 MB of uninitialised memory
    with pytest.raises(NetworkPickleError, match="out of bounds"):
        load((2, 3), (3, 1), offset=1)


class PayloadWithState(Payload):
    """Unpickles as `func(*args)`, then pickle's BUILD opcode sets `state` on the result."""

    def __init__(self, func, state, *args):
        super().__init__(func, *args)
        self.state = state

    def __reduce__(self):
        return self.func, self.args, self.state


def test_state_cannot_be_forced_onto_tensors_or_records(official, tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        storage = torch.arange(6.0).storage()
    # Tensor.__setstate__ would set_() the tensor to a view of 1000 x 1000 elements, around the bounds check
    tensor = PayloadWithState(torch._utils._rebuild_tensor_v2, (storage, 0, (1000, 1000), (1000, 1)),
                              storage, 0, (6,), (1,), False, collections.OrderedDict())
    with pytest.raises(UnsafePickleError, match="refused state set on a Tensor"):
        load_network_pickle(write(tmp_path / "t.pkl", {"G": tensor}))
    # a state that shadows a record's method
    reconstruct = sys.modules["torch_utils.persistence"]._reconstruct_persistent_obj
    meta = {"type": "class", "version": 6, "module_src": STYLEGAN3_SOURCE, "class_name": "Generator", "state": {}}
    record = PayloadWithState(reconstruct, {"state_dict": "not a method"}, meta)
    with pytest.raises(UnsafePickleError, match="refused a state for a PersistentRecord"):
        load_network_pickle(write(tmp_path / "r.pkl", {"G": record}))
    # copies of records still work (copy sets all the fields)
    G = load_network_pickle(write(tmp_path / "G.pkl", make_snapshot(official)))["G"]
    assert_tensors_equal(copy.deepcopy(G).state_dict(), G.state_dict())


def test_object_arrays_are_refused(official, tmp_path):
    snapshot = make_snapshot(official)
    snapshot["G"].mapping.table = np.array([1, "two", Payload(print, "ran")], dtype=object)
    with pytest.raises(UnsafePickleError, match="refused numpy dtype 'O8'"):
        load_network_pickle(write(tmp_path / "G.pkl", snapshot))


def test_truncated_pickles_are_named_as_such(official, tmp_path):
    data = pickle.dumps(make_snapshot(official))
    path = tmp_path / "half.pkl"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(NetworkPickleError, match=r"half\.pkl: truncated pickle"):
        load_network_pickle(path)


def _png() -> bytes:
    import PIL.Image

    buffer = io.BytesIO()
    PIL.Image.new("RGB", (4, 4)).save(buffer, format="PNG")
    return buffer.getvalue()


def _torch_save_zip() -> bytes:
    buffer = io.BytesIO()
    torch.save({"weight": torch.zeros(2)}, buffer)
    return buffer.getvalue()


@pytest.mark.parametrize(
    "content, message",
    [
        (lambda: b"", "empty file"),
        (lambda: bytes([0]) + random.Random(0).randbytes(255), "not a network pickle"),
        (lambda: b"\x80\x04" + random.Random(1).randbytes(254), "not a"),  # random bytes after a pickle header
        (_png, r"not a network pickle \(those start with byte 0x80; this file starts with b'\\x89PNG"),
        (_torch_save_zip, r"a zip archive \(a torch.save checkpoint\?\)"),
        (lambda: b"\x80\x09" + bytes(10), "not a pickle of a supported protocol"),
    ],
    ids=["empty", "random", "random-after-header", "png", "torch-save-zip", "protocol-9"],
)
def test_files_that_are_not_pickles_get_a_clear_error(tmp_path, content, message):
    path = tmp_path / "model.pkl"
    path.write_bytes(content())
    with pytest.raises(NetworkPickleError, match=message) as info:
        load_network_pickle(path)
    assert str(info.value).startswith(f"{path}: ")


def test_tensorflow_era_pickles_point_to_legacy_py(official, tmp_path):
    path = write(tmp_path / "stylegan2-ffhq-config-f.pkl", (official.Network(), official.Network(), official.Network()))
    with pytest.raises(TensorFlowPickleError, match="TensorFlow-era pickle .*convert it with NVIDIA's legacy.py first"):
        load_network_pickle(path)


@pytest.mark.parametrize(
    "obj, message",
    [
        ([1, 2, 3], "not a network pickle: its top level is a list"),
        ({"weights": 1}, r"not a network pickle: its top-level dict has keys \['weights'\]"),
        ({"G": 3}, "not a network pickle: 'G' is a int, not a persistent network"),
    ],
)
def test_pickles_that_hold_no_network_are_refused(tmp_path, obj, message):
    with pytest.raises(NetworkPickleError, match=message):
        load_network_pickle(write(tmp_path / "x.pkl", obj))


def test_importing_the_package_imports_nothing_heavy():
    probe = (
        "import hfgan.conversion, json, sys\n"
        "print(json.dumps(sorted(m for m in ('torch', 'numpy') if m in sys.modules)))"
    )
    result = subprocess.run([sys.executable, "-c", probe], check=False, capture_output=True, text=True,
                            timeout=120, cwd=Path(__file__).resolve().parents[2])
    assert result.returncode == 0, result.stderr[-2000:]
    assert json.loads(result.stdout.strip().splitlines()[-1]) == []
