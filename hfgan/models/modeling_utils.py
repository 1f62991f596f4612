"""The base class of every hfgan network, and the config checks they share."""

from __future__ import annotations

import functools
import math

from diffusers import ConfigMixin, ModelMixin

from ..hub import HubMixin, check_model_folder


def check_int(name: str, value, minimum: int = 1) -> int:
    """Raise `ValueError` naming `name` unless `value` is an int >= `minimum` (bools are refused)."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{name} must be an int, got {type(value).__name__} {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    return value


def power_of_two(name: str, value, minimum: int) -> int:
    """Raise `ValueError` naming `name` unless `value` is a power of two >= `minimum` (an int, bools refused)."""
    check_int(name, value, minimum)
    if value & (value - 1):
        raise ValueError(f"{name} must be a power of two >= {minimum}, got {value}")
    return value


def num_stages(image_size) -> int:
    """Hidden stride-2 stages between the 4x4 map and the image: 3 at 64 px, 2 at 32 px, 4 at 128 px."""
    check_int("image_size", image_size, minimum=8)
    if image_size & (image_size - 1):
        raise ValueError(f"image_size must be a power of two >= 8 (e.g. 32, 64, 128), got {image_size}")
    return int(math.log2(image_size)) - 3


class HfGanModel(HubMixin, ModelMixin, ConfigMixin):
    """A diffusers `ModelMixin`/`ConfigMixin` that loads safetensors only and pushes an hfgan model card."""

    config_name = "config.json"

    @functools.wraps(ModelMixin.save_pretrained)  # diffusers' signature, so pipelines pass variant= and the like on
    def save_pretrained(self, *args, **kwargs):
        return self._save_pretrained(ModelMixin.save_pretrained, *args, **kwargs)

    @classmethod
    def from_pretrained(cls, pretrained_model_name_or_path, **kwargs):
        if kwargs.get("use_safetensors") is False:
            raise ValueError("hfgan loads safetensors weights only; use_safetensors=False is not supported")
        check_model_folder(pretrained_model_name_or_path, kwargs.get("subfolder"))
        kwargs["use_safetensors"] = True
        return super().from_pretrained(pretrained_model_name_or_path, **kwargs)
