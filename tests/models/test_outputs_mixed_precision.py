"""Every network's output survives accelerate's mixed precision (`mixed_precision="bf16"` or `"fp16"` on a GPU): the
prepared model's forward casts its output back to float32 by rebuilding the output class from one dict,
`type(output)({name: value})`, which only works when every field after the first has a default (as in diffusers).
Found on a GPU: BlobGAN's 256 px config with bf16 stopped at its first step with a TypeError."""

import importlib
import pkgutil

import pytest
import torch
from accelerate.utils.operations import convert_to_fp32
from diffusers.utils import BaseOutput

import hfgan.models
from hfgan import BlobGANDiscriminator, DCGANDiscriminator


def output_classes() -> list[type]:
    for module in pkgutil.walk_packages(hfgan.models.__path__, "hfgan.models."):
        importlib.import_module(module.name)
    found, stack = [], [BaseOutput]
    while stack:
        for cls in stack.pop().__subclasses__():
            stack.append(cls)
            if cls.__module__.startswith("hfgan.models."):  # networks; pipelines are never prepared
                found.append(cls)
    return sorted(found, key=lambda cls: cls.__name__)


def test_every_model_output_class_is_found():
    names = {cls.__name__ for cls in output_classes()}
    assert {"BlobGANDiscriminatorOutput", "DCGANDiscriminatorOutput", "StyleGANGeneratorOutput"} <= names


@pytest.mark.parametrize("cls", output_classes(), ids=lambda cls: cls.__name__)
def test_output_rebuilds_from_half_precision(cls):
    fields = list(cls.__dataclass_fields__)
    half = cls(**{name: torch.full((2, 3), i + 0.5, dtype=torch.bfloat16) for i, name in enumerate(fields)})
    back = convert_to_fp32(half)
    assert type(back) is cls
    for i, name in enumerate(fields):
        assert back[name].dtype == torch.float32, name
        assert torch.equal(back[name], torch.full((2, 3), i + 0.5)), name


@pytest.mark.parametrize("make", [lambda: BlobGANDiscriminator(image_size=16, channel_base=64, channel_max=8),
                                  lambda: DCGANDiscriminator(base_channels=4, image_size=16, num_classes=3)],
                         ids=["blobgan", "dcgan-classifier"])
def test_discriminator_forward_under_autocast(make):
    model = make().eval()
    with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16):
        out = model(torch.randn(2, 3, 16, 16))
    back = convert_to_fp32(out)  # what accelerate's prepared forward does with it
    assert type(back) is type(out)
    assert back.logits.dtype == torch.float32 and back.features.dtype == torch.float32
