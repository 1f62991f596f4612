"""NVIDIA's pickle format without NVIDIA's code, for the conversion tests: the official module names faked in
`sys.modules` (so that what is pickled names NVIDIA's globals) and module sources that name their classes as the
official ones do. Nothing here comes from NVIDIA's code."""

import collections
import sys
import types

import torch

STYLEGAN3_SOURCE = '''"""Generator architecture from the paper
"Alias-Free Generative Adversarial Networks"."""

import torch

class FullyConnectedLayer(torch.nn.Module): pass
class MappingNetwork(torch.nn.Module): pass
class SynthesisInput(torch.nn.Module): pass
class SynthesisLayer(torch.nn.Module): pass
class SynthesisNetwork(torch.nn.Module): pass
class Generator(torch.nn.Module): pass
'''
STYLEGAN2_CLASSES = [
    "FullyConnectedLayer", "Conv2dLayer", "MappingNetwork", "SynthesisLayer", "ToRGBLayer", "SynthesisBlock",
    "SynthesisNetwork", "Generator", "DiscriminatorBlock", "MinibatchStdLayer", "DiscriminatorEpilogue",
    "Discriminator",
]
ADA_SOURCE = "import torch\n" + "".join(f"class {name}(torch.nn.Module): pass\n" for name in STYLEGAN2_CLASSES)
STYLEGAN2_SOURCE = (
    '"""Network architectures from the paper\n'
    '"Analyzing and Improving the Image Quality of StyleGAN"."""\n' + ADA_SOURCE
)


def fake_official_modules(monkeypatch) -> types.SimpleNamespace:
    """Put `torch_utils.persistence`, `dnnlib.util` and `dnnlib.tflib.network` in `sys.modules` (undone with the
    monkeypatch); returns their `EasyDict` and `Network` classes."""

    def _reconstruct_persistent_obj(meta):
        raise AssertionError("the tests only pickle with it; hfgan must never call it")

    class EasyDict(dict):
        pass

    class Network:  # a TensorFlow-era network
        def __init__(self):
            self.name, self.static_kwargs = "G", {"resolution": 8}

    _reconstruct_persistent_obj.__module__ = "torch_utils.persistence"
    _reconstruct_persistent_obj.__qualname__ = "_reconstruct_persistent_obj"
    EasyDict.__module__ = "dnnlib.util"
    EasyDict.__qualname__ = "EasyDict"
    Network.__module__ = "dnnlib.tflib.network"
    Network.__qualname__ = "Network"
    contents = {
        "torch_utils": {},
        "torch_utils.persistence": {"_reconstruct_persistent_obj": _reconstruct_persistent_obj},
        "dnnlib": {},
        "dnnlib.util": {"EasyDict": EasyDict},
        "dnnlib.tflib": {},
        "dnnlib.tflib.network": {"Network": Network},
    }
    for name, attributes in contents.items():
        module = types.ModuleType(name)
        vars(module).update(attributes)
        monkeypatch.setitem(sys.modules, name, module)
    return types.SimpleNamespace(EasyDict=EasyDict, Network=Network)


class OfficialNetwork:
    """Pickles like an instance of a `persistent_class` named `class_name` in a module of source `source`, holding
    `module`'s parameters, buffers and submodules (as NVIDIA's own classes would: records all the way down) and the
    constructor arguments `init_kwargs`. Pickle it while `fake_official_modules` is active."""

    def __init__(self, module: torch.nn.Module, class_name: str, source: str, init_kwargs: dict | None = None):
        self.module, self.class_name, self.source, self.init_kwargs = module, class_name, source, init_kwargs or {}

    def __reduce__(self):
        m = self.module
        state = {
            "training": m.training,
            "_parameters": collections.OrderedDict(m._parameters),
            "_buffers": collections.OrderedDict(m._buffers),
            "_non_persistent_buffers_set": set(m._non_persistent_buffers_set),
            "_modules": collections.OrderedDict(
                (name, OfficialNetwork(child, type(child).__name__, self.source)) for name, child in m._modules.items()
            ),
            "_init_args": (),
            "_init_kwargs": self.init_kwargs,
        }
        meta = {"type": "class", "version": 6, "module_src": self.source, "class_name": self.class_name,
                "state": state}
        return sys.modules["torch_utils.persistence"]._reconstruct_persistent_obj, (meta,)
