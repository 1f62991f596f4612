"""Perceptual distances between images, differentiable, for training losses (BlobGAN's inversion).

Two, chosen by name with [`perceptual_distance`]:

- `"lpips-vgg"`: [`LPIPS`], the Learned Perceptual Image Patch Similarity of the `lpips` package (Zhang et al., 2018)
  with its VGG16 backbone and its learned linear heads. lpips ships the heads; the VGG16 backbone is torchvision's
  ImageNet weights (`vgg16-397923af.pth`), downloaded into torch hub's cache at first use on a networked machine, or
  read from a local file (`weights=`). Without them it is an error that says how to get them.
- `"emoji-cnn-distance"`: [`EmojiCNNDistance`], the same recipe on the emoji-cnn feature network that hfgan ships
  (`hfgan/metrics/weights/emoji-cnn`), so it works offline. It has no learned heads (every layer weighs the same), and
  it is not LPIPS: its numbers are named `emoji-cnn-distance` everywhere.

Both take two batches of images `(B, 3, H, W)` in [-1, 1] (a generator's range) and return one distance per image
`(B,)`; gradients flow to the images, never to the distance's own weights (frozen, always in eval mode).

The recipe (LPIPS's): for each layer l of the network, unit-normalise the activations over channels at every pixel,
take the squared difference of the two images' normalised activations, weigh its channels (LPIPS: learned weights
w_l; emoji-cnn-distance: all 1), sum over channels, average over pixels, and sum over layers:

    d(x, y) = sum_l mean_{h,w} sum_c w_lc (f_l(x)_chw / |f_l(x)_hw| - f_l(y)_chw / |f_l(y)_hw|)^2

This module imports neither hydra nor wandb.
"""

from __future__ import annotations

import contextlib
import os
import types
from pathlib import Path
from unittest import mock

import torch
import torch.nn.functional as F
from torch import nn

from .metrics.backbones import EMOJI_CNN_WEIGHTS, BackboneWeightsError
from .weights import DownloadableWeights, save_state_dict

__all__ = [
    "PERCEPTUAL_DISTANCES",
    "EmojiCNNDistance",
    "LPIPS",
    "PerceptualDistance",
    "PerceptualWeightsError",
    "perceptual_distance",
    "random_vgg16_weights",
]

VGG16 = DownloadableWeights(  # torchvision's VGG16_Weights.IMAGENET1K_V1, the backbone lpips uses
    url="https://download.pytorch.org/models/vgg16-397923af.pth", sha256_prefix="397923af"
)
VGG16_URL = VGG16.url
# lpips's VGG16 slices, as ranges of torchvision's `features` indices: relu1_2, relu2_2, relu3_3, relu4_3, relu5_3
_VGG_SLICES = (range(0, 4), range(4, 9), range(9, 16), range(16, 23), range(23, 30))


class PerceptualWeightsError(BackboneWeightsError):
    """A perceptual distance's network weights are missing or unreadable; the message says how to supply them."""


def normalize_channels(x: torch.Tensor, eps: float = 1e-10) -> torch.Tensor:
    """Activations (B, C, H, W) divided by their norm over channels at every pixel. lpips adds eps to the norm; here
    it goes under the square root instead, so that an all-zero activation vector (common after a ReLU) has a finite
    gradient rather than 0 * inf = NaN."""
    return x * torch.rsqrt(x.pow(2).sum(dim=1, keepdim=True) + eps)


class PerceptualDistance(nn.Module):
    """A frozen network that measures how different two images look: `forward(a, b) -> (B,)`.

    Subclasses set `name` (what [`perceptual_distance`] takes), `display_name` (for cards and logs), `weights_source`,
    and implement `layer_distances`.
    """

    name: str = ""
    display_name: str = ""
    weights_source: str = ""

    @property
    def key(self) -> str:
        """`name` as a metric or log key: `emoji_cnn_distance`, `lpips_vgg`."""
        return self.name.replace("-", "_")

    def layer_distances(self, a: torch.Tensor, b: torch.Tensor) -> list[torch.Tensor]:
        """One (B,) distance per layer for images in [-1, 1]."""
        raise NotImplementedError

    def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        """Distances (B,) between images `a` and `b`, both `(B, 3, H, W)` in [-1, 1]."""
        if a.dim() != 4 or a.shape[1] != 3 or a.shape != b.shape:
            raise ValueError(f"{self.name} compares two batches of the same shape (B, 3, H, W); got {tuple(a.shape)} "
                             f"and {tuple(b.shape)}")
        return torch.stack(self.layer_distances(a, b)).sum(0)

    def train(self, mode: bool = True):
        return super().train(False)  # a frozen network never leaves eval mode (BatchNorm statistics, dropout)

    def _freeze(self) -> None:
        for p in self.parameters():
            p.requires_grad_(False)
        self.eval()


# ---------------------------------------------------------------------------------------------------- LPIPS (VGG)


def _lpips_help(reason: str) -> str:
    return (
        f"LPIPS (VGG) needs torchvision's VGG16 ImageNet weights, which are not available: {reason}.\n"
        f"Download {VGG16.url} (sha256 starts with {VGG16.sha256_prefix}) on a machine with network access, then "
        f"either pass it as the backbone weights (Python: perceptual_distance('lpips-vgg', weights=PATH) or "
        f"LPIPS(vgg_weights=PATH); training/train_inversion.py: perceptual.weights=PATH; a .pth or .safetensors "
        f"torchvision vgg16 state dict) or copy it to {VGG16.cache_path()}, where torchvision looks.\n"
        f"Without them, perceptual.name=emoji-cnn-distance works offline (an LPIPS-style distance on hfgan's "
        f"emoji-cnn features; it is not LPIPS)."
    )


@contextlib.contextmanager
def _vgg16_trunk_only():
    """While lpips builds its VGG16, torchvision's `vgg16()` gives only the convolutional `features` (random; lpips
    takes nothing else): not the 120M-parameter classifier lpips throws away, nor its deprecated `pretrained=`
    download. The trunk's weights are loaded afterwards, from the file this module chose."""
    import lpips
    from torchvision.models import vgg

    def features_only(*args, **kwargs):
        return types.SimpleNamespace(features=vgg.make_layers(vgg.cfgs["D"]))  # VGG16's convolutions and pools

    with mock.patch.object(lpips.pretrained_networks.tv, "vgg16", features_only):
        yield


def _vgg16_state_dict(weights: str | os.PathLike | None) -> tuple[dict[str, torch.Tensor], str]:
    """torchvision's VGG16 weights from `weights`, or from torch hub's cache (downloaded there first when the network
    is reachable and HF_HUB_OFFLINE / HFGAN_OFFLINE is not set), and where they came from."""
    return VGG16.state_dict(weights, lambda reason: PerceptualWeightsError(_lpips_help(reason)))


class LPIPS(PerceptualDistance):
    """LPIPS with the VGG backbone (the `lpips` package's `LPIPS(net="vgg")`, version 0.1, its learned linear heads).

    Args:
        vgg_weights (`str` or `os.PathLike`, *optional*): torchvision's VGG16 ImageNet weights (`vgg16-397923af.pth`,
            or the same tensors as `.safetensors`; the `features.*` keys are used). By default torch hub's cached copy,
            downloaded there first on a networked machine, as torchvision does.
        random_backbone (`bool`, defaults to `False`): a randomly initialised VGG16 instead (lpips's `pnet_rand`):
            for tests of the wiring only; its numbers are not LPIPS.

    Raises:
        PerceptualWeightsError: the VGG16 weights are missing or unreadable; the message says how to supply them.
    """

    name = "lpips-vgg"
    display_name = "LPIPS (VGG)"

    def __init__(self, vgg_weights: str | os.PathLike | None = None, random_backbone: bool = False):
        super().__init__()
        import lpips

        if random_backbone:
            state_dict, self.weights_source = None, "random VGG16 (wiring tests only: not LPIPS)"
        else:  # the weights first, so that a missing file fails before anything is built
            state_dict, source = _vgg16_state_dict(vgg_weights)
            self.weights_source = f"VGG16 from {source}; the lpips package's v0.1 linear heads"
        with _vgg16_trunk_only():
            self.lpips = lpips.LPIPS(net="vgg", pnet_rand=True, verbose=False)  # the heads come from the package
        if state_dict is not None:
            self._load_vgg(state_dict)
        self._freeze()

    def _load_vgg(self, state_dict: dict[str, torch.Tensor]) -> None:
        """Copy torchvision's `features.<i>.*` tensors into lpips's slices (`slice<s>.<i>.*`, the same index i)."""
        mapped = {}
        for s, indices in enumerate(_VGG_SLICES, start=1):
            for i in indices:
                for kind in ("weight", "bias"):
                    key = f"features.{i}.{kind}"
                    if key in state_dict:
                        mapped[f"slice{s}.{i}.{kind}"] = state_dict[key]
        expected = set(self.lpips.net.state_dict())
        missing = sorted(expected - set(mapped))
        if missing:
            names = ", ".join("features." + key.split(".", 1)[1] for key in missing[:3])
            more = ", ..." if len(missing) > 3 else ""
            reason = f"the file is not torchvision's vgg16 state dict (no {names}{more})"
            raise PerceptualWeightsError(_lpips_help(reason))
        try:
            self.lpips.net.load_state_dict(mapped)
        except RuntimeError as e:  # shapes of another network
            raise PerceptualWeightsError(_lpips_help(f"the weights do not fit VGG16 ({e})")) from e

    def layer_distances(self, a: torch.Tensor, b: torch.Tensor) -> list[torch.Tensor]:
        _, per_layer = self.lpips(a, b, retPerLayer=True)  # each (B, 1, 1, 1); lpips takes [-1, 1] as given
        return [d.flatten() for d in per_layer]


def random_vgg16_weights(path: str | os.PathLike, seed: int = 0) -> Path:
    """Write randomly initialised VGG16 weights to `path` (.safetensors or .pth) under torchvision's key names
    (`features.<i>.weight`, ...; the convolutions only), to test the wiring of `LPIPS(vgg_weights=...)` offline.

    Numbers computed with them mean nothing: never report them as LPIPS.
    """
    import lpips

    torch.manual_seed(seed)
    with _vgg16_trunk_only():
        trunk = lpips.pretrained_networks.vgg16(requires_grad=False, pretrained=False)  # lpips's slices, random
    return save_state_dict({f"features.{key.split('.', 1)[1]}": tensor for key, tensor in trunk.state_dict().items()},
                           path)


# ------------------------------------------------------------------------------------------- emoji-cnn distance


class EmojiCNNDistance(PerceptualDistance):
    """An LPIPS-style distance on hfgan's shipped emoji-cnn feature network ([`EmojiFeatureNet`]): not LPIPS.

    The activations after each of its five convolution stages (32, 16, 16, 8 and 4 pixels at its 64-px input) are
    unit-normalised over channels, their squared differences summed over channels and averaged over pixels, and the
    layers summed with equal weights: LPIPS's recipe without its learned heads (there are none for this network).
    Images are resized (bilinear, antialiased: differentiable) to the network's 64 px first. It needs no network
    access, which is why it exists; it measures what a small CNN trained on emoji labels sees, nothing more.

    Args:
        weights (`str` or `os.PathLike`, *optional*): a folder saved by `EmojiFeatureNet.save_pretrained`; defaults to
            the one shipped in the package (`hfgan/metrics/weights/emoji-cnn`).
    """

    name = "emoji-cnn-distance"
    display_name = "emoji-cnn-distance (LPIPS-style, on emoji-cnn features; not LPIPS)"

    def __init__(self, weights: str | os.PathLike | None = None):
        super().__init__()
        from .models.emoji_cnn import EmojiFeatureNet

        folder = Path(weights) if weights is not None else EMOJI_CNN_WEIGHTS
        if not (folder / "config.json").is_file():
            raise PerceptualWeightsError(
                f"emoji-cnn weights not found in {folder}: the package ships them in hfgan/metrics/weights/emoji-cnn "
                "(reinstall hfgan); a folder saved by EmojiFeatureNet.save_pretrained works too."
            )
        self.net = EmojiFeatureNet.from_pretrained(folder)
        self.input_size = self.net.config.image_size
        # the outputs of each conv-BN-ReLU stage: the ReLUs of `features` (then come the pooling and flattening)
        self.taps = [i for i, m in enumerate(self.net.features) if isinstance(m, nn.ReLU)]
        # the shipped weights by their place in the package, not this machine's path (it goes into model cards)
        shipped = "shipped with hfgan (hfgan/metrics/weights/emoji-cnn)"
        self.weights_source = str(folder) if weights is not None else shipped
        self._freeze()

    def layer_distances(self, a: torch.Tensor, b: torch.Tensor) -> list[torch.Tensor]:
        x = torch.cat([a, b])  # one pass for both batches: (2B, 3, H, W)
        size = (self.input_size, self.input_size)
        if tuple(x.shape[-2:]) != size:
            x = F.interpolate(x, size=size, mode="bilinear", align_corners=False, antialias=True)
        distances = []
        for i, module in enumerate(self.net.features[: self.taps[-1] + 1]):
            x = module(x)
            if i in self.taps:
                fa, fb = normalize_channels(x).chunk(2)  # (B, C, h, w) each
                distances.append((fa - fb).pow(2).sum(dim=1).mean(dim=(1, 2)))  # (B,)
        return distances


# -------------------------------------------------------------------------------------------------------- factory

PERCEPTUAL_DISTANCES = {"lpips-vgg": LPIPS, "emoji-cnn-distance": EmojiCNNDistance}


def perceptual_distance(name: str, weights: str | os.PathLike | None = None) -> PerceptualDistance:
    """A perceptual distance by name: `"lpips-vgg"` ([`LPIPS`]; `weights`: torchvision's VGG16 weights file) or
    `"emoji-cnn-distance"` ([`EmojiCNNDistance`]; `weights`: an emoji-cnn folder).

    Raises:
        ValueError: an unknown name.
        PerceptualWeightsError: the weights are missing or unreadable; the message says how to supply them.
    """
    if name not in PERCEPTUAL_DISTANCES:
        hint = " (LPIPS with the VGG backbone is 'lpips-vgg')" if "lpips" in str(name).lower() else ""
        raise ValueError(f"unknown perceptual distance {name!r}{hint}; choose one of {', '.join(PERCEPTUAL_DISTANCES)}")
    return PERCEPTUAL_DISTANCES[name](weights)
