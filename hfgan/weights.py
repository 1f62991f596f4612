"""Pretrained weights that hfgan cannot ship (the FID Inception network, LPIPS's VGG16): found in a local file the user
names, in torch hub's cache, or downloaded there once with a checksum; where none works (no network, as on machines
behind a firewall), an error whose message says how to supply them.
"""

from __future__ import annotations

import hashlib
import os
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch


def offline() -> bool:
    """True when the user asked for no network (`HF_HUB_OFFLINE=1`, `HFGAN_OFFLINE=1`, `TRANSFORMERS_OFFLINE=1`)."""
    truthy = {"1", "on", "yes", "true"}
    if any(
        os.environ.get(v, "").strip().lower() in truthy
        for v in ("HF_HUB_OFFLINE", "HFGAN_OFFLINE", "TRANSFORMERS_OFFLINE")
    ):
        return True
    from huggingface_hub import constants

    return bool(constants.HF_HUB_OFFLINE)


def read_state_dict(path: Path) -> dict[str, torch.Tensor]:
    """A state dict from a .safetensors or a torch (.pth, .pt) file, tensors only."""
    if path.suffix == ".safetensors":
        from safetensors.torch import load_file

        return load_file(path)
    return torch.load(path, map_location="cpu", weights_only=True)


def save_state_dict(state_dict: dict[str, torch.Tensor], path: str | os.PathLike) -> Path:
    """Write `state_dict` as .safetensors (by the suffix) or with `torch.save`."""
    path = Path(path)
    state_dict = {key: tensor.contiguous() for key, tensor in state_dict.items()}
    if path.suffix == ".safetensors":
        from safetensors.torch import save_file

        save_file(state_dict, path)
    else:
        torch.save(state_dict, path)
    return path


@dataclass(frozen=True)
class DownloadableWeights:
    """Weights published at `url`; torch hub's rule: the file name carries the start of the file's sha256."""

    url: str
    sha256_prefix: str

    @property
    def filename(self) -> str:
        return self.url.rsplit("/", 1)[-1]

    def cache_path(self) -> Path:
        """Where torch hub (and so torchvision, torch-fidelity, torchmetrics) keeps the file once downloaded."""
        return Path(torch.hub.get_dir()) / "checkpoints" / self.filename

    def download(self, target: Path, timeout: float = 30.0) -> None:
        """Fetch the file to `target`: atomic, sha256-checked, with a network timeout. A wrong checksum is a
        `ValueError` (nothing is kept)."""
        from .utils import atomic_write

        def write(tmp):
            digest = hashlib.sha256()
            with urllib.request.urlopen(self.url, timeout=timeout) as response, open(tmp, "wb") as f:
                while chunk := response.read(1 << 20):
                    digest.update(chunk)
                    f.write(chunk)
            if not digest.hexdigest().startswith(self.sha256_prefix):
                raise ValueError(f"the download from {self.url} has the wrong checksum")

        atomic_write(target, write)

    def state_dict(
        self, weights: str | os.PathLike | None, error: Callable[[str], Exception]
    ) -> tuple[dict[str, torch.Tensor], str]:
        """The weights from the file `weights`, or from the cache (downloaded there first when the network may be
        used), and where they came from. Whatever fails raises `error(reason)`, whose message says how to fix it."""
        path = Path(weights) if weights is not None else self.cache_path()
        if weights is None and not path.is_file():
            if offline():
                raise error(f"{path} does not exist and HF_HUB_OFFLINE is set")
            try:
                self.download(path)
            except ValueError as e:
                raise error(str(e)) from e
            except (urllib.error.URLError, OSError, TimeoutError) as e:
                raise error(f"downloading it failed ({e})") from e
        if not path.is_file():
            raise error(f"{path} does not exist")
        try:
            return read_state_dict(path), str(path)
        except Exception as e:
            raise error(f"{path} could not be read as a state dict ({e})") from e
