"""NVIDIA's StyleGAN2-ADA and StyleGAN3 networks -> hfgan models and a `StyleGANPipeline` folder.

A network pickle is read by [`load_network_pickle`] (nothing in it runs); each network is a record of its class name,
its constructor arguments and its tensors. Here the constructor arguments become an hfgan config (NVIDIA's names,
with the nested `mapping_kwargs` / `synthesis_kwargs` / `epilogue_kwargs` flattened), the hfgan model is built from
it, and the tensors are copied in under the same names: a missing, extra or mis-shaped tensor is an error naming it.
"""

from __future__ import annotations

import hashlib
import inspect
import os
from pathlib import Path
from typing import Any

# NVIDIA's classes and the hfgan class each converts to; the ADA code base named its module `training.networks`
GENERATORS = {
    "training.networks_stylegan3.Generator": "StyleGAN3Generator",
    "training.networks_stylegan2.Generator": "StyleGAN2Generator",
    "training.networks.Generator": "StyleGAN2Generator",
}
DISCRIMINATORS = {
    "training.networks_stylegan2.Discriminator": "StyleGAN2Discriminator",
    "training.networks.Discriminator": "StyleGAN2Discriminator",
}

# Constructor arguments that change nothing hfgan computes: float16 and memory layout on GPUs, fused or separate
# modulation (the same result) and Freeze-D's frozen layers (training only)
_IGNORED = {"class_name", "num_fp16_res", "fp16_channels_last", "fused_modconv_default", "freeze_layers"}
# Constructor arguments hfgan implements one value of
_FIXED = {"resample_filter": [1, 3, 3, 1], "activation": "lrelu", "embed_features": None, "layer_features": None}
_MAPPING = {"num_layers": "mapping_layers", "lr_multiplier": "mapping_lr_multiplier", "w_avg_beta": "w_avg_beta"}


def _flatten(kwargs: dict[str, Any]) -> dict[str, Any]:
    """Nested kwargs -> one level: `mapping_kwargs` -> `mapping_layers`, ...; the synthesis, block and epilogue
    kwargs merged into the top level (they configure the same network)."""
    flat = {}
    for key, value in kwargs.items():
        if key == "mapping_kwargs":
            flat.update({_MAPPING.get(k, f"mapping_kwargs.{k}"): v for k, v in value.items()})
        elif key in ("synthesis_kwargs", "block_kwargs", "epilogue_kwargs"):
            flat.update(_flatten(value))
        else:
            flat[key] = value
    return flat


def hfgan_config(class_name: str, init_args: list, init_kwargs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """The hfgan class name and config for an NVIDIA network's constructor arguments.

    Raises:
        ValueError: a class hfgan has no port of, positional arguments, or an argument hfgan does not implement
            (named, with its value).
    """
    target = GENERATORS.get(class_name) or DISCRIMINATORS.get(class_name)
    if target is None:
        known = ", ".join(sorted({**GENERATORS, **DISCRIMINATORS}))
        raise ValueError(f"{class_name} has no hfgan port; hfgan converts {known}")
    if init_args:
        raise ValueError(f"{class_name} was built with positional arguments {init_args!r}; expected keywords only")
    from .. import models

    accepted = set(inspect.signature(getattr(models, target)).parameters)
    config = {}
    for key, value in _flatten(init_kwargs).items():
        if key in _IGNORED or (key == "architecture" and value == "skip" and target != "StyleGAN2Discriminator"):
            continue  # "skip" is the only generator architecture hfgan has, and NVIDIA's default
        if key in _FIXED:
            if value != _FIXED[key]:
                raise ValueError(f"{class_name} with {key}={value!r}: hfgan implements only {_FIXED[key]!r}")
            continue
        if key not in accepted:
            raise ValueError(f"{class_name}: hfgan's {target} has no equivalent of {key}={value!r}")
        config[key] = value
    return target, config


def convert_record(record) -> Any:
    """An hfgan model with the weights of a [`PersistentRecord`] from [`load_network_pickle`], in eval mode."""
    from .. import models

    target, config = hfgan_config(record.class_name, record.init_args, record.init_kwargs)
    model = getattr(models, target)(**config)
    state = record.state_dict()
    expected = model.state_dict()
    missing = [k for k in expected if k not in state]
    unexpected = [k for k in state if k not in expected]
    wrong = [f"{k} {tuple(state[k].shape)} (expected {tuple(v.shape)})" for k, v in expected.items()
             if k in state and state[k].shape != v.shape]
    if missing or unexpected or wrong:
        problems = [f"missing {missing[:5]}" if missing else "", f"unexpected {unexpected[:5]}" if unexpected else "",
                    f"mis-shaped {wrong[:5]}" if wrong else ""]
        raise ValueError(f"{record.class_name}'s tensors do not fit hfgan's {target} built from its constructor "
                         f"arguments: {'; '.join(p for p in problems if p)}")
    model.load_state_dict({k: state[k].float() if state[k].is_floating_point() else state[k] for k in expected})
    return model.eval()


def file_sha256(path: str | os.PathLike) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def convert_pickle(src: str | os.PathLike, out_dir: str | os.PathLike, which: str = "G_ema",
                   overwrite: bool = False) -> Path:
    """Convert network `which` of an NVIDIA pickle into a `StyleGANPipeline` folder (safetensors, configs, a model
    card naming the source file's sha256, the networks' classes and their source code's sha256).

    The folder is written under a temporary name and moved into place at the end: an error leaves nothing behind.
    Nothing in the pickle runs (see [`load_network_pickle`]).
    """
    from ..cards import render_model_card
    from ..pipelines.stylegan import StyleGANPipeline
    from ..utils import atomic_directory
    from .nvidia_pickle import load_network_pickle

    src, out_dir = Path(src), Path(out_dir)
    if out_dir.exists() and not overwrite:
        raise FileExistsError(f"{out_dir} exists; pass overwrite=True (--overwrite) to replace it")
    snapshot = load_network_pickle(src)
    if which not in snapshot or not hasattr(snapshot[which], "state_dict"):
        networks = [k for k, v in snapshot.items() if hasattr(v, "state_dict")]
        raise ValueError(f"{src.name} has no network {which!r}; it has {networks}")
    record = snapshot[which]
    if record.class_name not in GENERATORS:
        raise ValueError(f"{src.name}: {which} is a {record.class_name}, not a generator; a StyleGANPipeline needs "
                         f"a generator (G_ema or G)")
    generator = convert_record(record)
    pipe = StyleGANPipeline(generator=generator)
    source = {
        "source file": src.name,
        "source sha256": file_sha256(src),
        "network": which,
        "NVIDIA class": record.class_name,
        "source code sha256": record.source_sha256,
        "converted by": "hfgan convert-pkl (restricted unpickler: nothing from the file was executed)",
        "licence of the weights": "the source's (NVIDIA's pretrained StyleGAN networks: NVIDIA Source Code "
                                  "License, non-commercial); check it before use",
    }
    with atomic_directory(out_dir) as tmp:
        pipe.save_pretrained(tmp)
        card = render_model_card(pipe, out_dir.name, license="other", training=source)
        card.save(tmp / "README.md")
    return out_dir
