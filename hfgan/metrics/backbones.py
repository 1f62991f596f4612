"""Feature backbones: images in [0, 1] in, one feature vector per image out.

Three backbones, chosen by name with [`load_backbone`]:

- `"inception"`: the FID network. Inception-V3 with the TensorFlow weights `pt_inception-2015-12-05` as ported by
  torch-fidelity (the same network and the same TF1-compatible bilinear resize to 299x299 that torch-fidelity and
  torchmetrics use), 2048-d pool features. Distances on it are the standard FID/KID.
- `"dinov2"`: DINOv2 (ViT-B/14 by default) through `transformers`, the CLS token after the final layer norm
  (768-d for ViT-B). Fréchet distance on DINOv2 features (FD_DINOv2, Stein et al. 2023) follows human judgement
  better than FID.
- `"emoji-cnn"`: [`EmojiFeatureNet`], a small CNN trained by this project on the shipped emoji dataset's labels and
  shipped inside the package (256-d features). It needs no network. Its numbers are named `fd_emoji_cnn`, ... and are
  not comparable with anything published.

Every backbone first quantises images to 8 bits (generated images are floats, dataset images are 8-bit: both are
treated alike), then resizes them with its own preprocessing, so images of any size work.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from unittest import mock

import torch
import torch.nn.functional as F
from torch import nn

from ..weights import DownloadableWeights, offline, save_state_dict
from .registry import BACKBONE_REGISTRY, backbone_slug

__all__ = [
    "BACKBONES",
    "BackboneWeightsError",
    "DINOv2Backbone",
    "EmojiCNNBackbone",
    "FeatureBackbone",
    "InceptionBackbone",
    "extract_features",
    "load_backbone",
    "random_inception_weights",
    "to_uint8",
]

INCEPTION = DownloadableWeights(  # the file torch-fidelity and torchmetrics use
    url="https://github.com/toshas/torch-fidelity/releases/download/v0.2.0/weights-inception-2015-12-05-6726825d.pth",
    sha256_prefix="6726825d",
)
INCEPTION_URL = INCEPTION.url
DINOV2_DEFAULT = "facebook/dinov2-base"
EMOJI_CNN_WEIGHTS = Path(__file__).parent / "weights" / "emoji-cnn"
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


class BackboneWeightsError(RuntimeError):
    """A backbone's weights are missing or unreadable; the message says how to supply them."""


def to_uint8(images: torch.Tensor) -> torch.Tensor:
    """Check a batch of RGB images and quantise it to uint8 `(N, 3, H, W)`.

    Accepts float images in [0, 1] (what `pipe(..., output_type="pt")` returns) or uint8 images; a single-channel
    batch is repeated to RGB. Floats outside [0, 1] (e.g. a generator's raw [-1, 1] output) are refused rather than
    silently clipped.
    """
    if not isinstance(images, torch.Tensor):
        raise TypeError(f"images must be a torch.Tensor (N, C, H, W), got {type(images).__name__}")
    if images.dim() != 4 or images.shape[1] not in (1, 3):
        raise ValueError(f"images must have shape (N, 3, H, W) or (N, 1, H, W), got {tuple(images.shape)}")
    if images.shape[1] == 1:
        images = images.expand(-1, 3, -1, -1)
    if images.dtype == torch.uint8:
        return images
    if not images.is_floating_point():
        raise TypeError(f"images must be float in [0, 1] or uint8, got {images.dtype}")
    if images.numel() and (images.min() < -1e-3 or images.max() > 1 + 1e-3):
        raise ValueError(
            f"float images must be in [0, 1], got values in [{float(images.min()):.3f}, {float(images.max()):.3f}]; "
            "a generator's [-1, 1] output becomes [0, 1] with (x + 1) / 2"
        )
    return (images.float() * 255).round().clamp(0, 255).to(torch.uint8)


class FeatureBackbone(nn.Module):
    """A frozen network mapping images in [0, 1] of any size to features `(N, feature_dim)`.

    Subclasses set `name` (what `--backbone` takes), `slug` (used in metric names: `fd_<slug>`, ...),
    `display_name`, `feature_dim`, and implement `preprocess` (uint8 images to network input) and `embed`. The
    shipped ones take `slug` and `display_name` from their entry in `hfgan.metrics.registry.BACKBONE_REGISTRY`.
    """

    name: str = ""
    slug: str = ""
    display_name: str = ""
    feature_dim: int = 0
    weights_source: str = ""

    def preprocess(self, images: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def embed(self, inputs: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    @torch.no_grad()
    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """Features `(N, feature_dim)` (float32, on CPU) of images `(N, 3, H, W)` in [0, 1] or uint8."""
        device = next(self.parameters()).device
        inputs = self.preprocess(to_uint8(images).to(device))
        return self.embed(inputs).float().cpu()

    def train(self, mode: bool = True):
        return super().train(False)  # a metric network never leaves eval mode (BatchNorm, dropout)

    def fingerprint(self) -> str:
        """Short hash of the weights (and input size), so cached features of different networks never mix."""
        if not hasattr(self, "_fingerprint"):
            digest = hashlib.sha256(f"{self.name}|{getattr(self, 'input_size', '')}".encode())
            for key, tensor in sorted(self.state_dict().items()):
                digest.update(key.encode())
                digest.update(tensor.detach().cpu().contiguous().reshape(-1).view(torch.uint8).numpy().tobytes())
            self._fingerprint = digest.hexdigest()[:16]
        return self._fingerprint


# ---------------------------------------------------------------------------------------------------- Inception-V3


def _fidelity_inception(state_dict: dict[str, torch.Tensor] | None) -> nn.Module:
    """torch-fidelity's Inception-V3 feature extractor with the given weights (random init for `None`).

    torch-fidelity only takes a weights *path* and reads it with `torch.load(weights_only=False)` (arbitrary pickle).
    Instead the weights are read here (safetensors, or `torch.load(weights_only=True)`) and handed to its
    constructor through its `load_state_dict_from_url` hook, patched for the duration of the call only.
    """
    try:
        from torch_fidelity import feature_extractor_inceptionv3 as tfi
    except ImportError as e:  # pragma: no cover - torch-fidelity is a dependency
        raise ImportError("the inception backbone needs torch-fidelity: pip install 'torch-fidelity>=0.3'") from e

    class _Inception(tfi.FeatureExtractorInceptionV3):
        def load_state_dict(self, state_dict, strict: bool = True, assign: bool = False):
            if state_dict is None:  # random initialisation, for tests and timing only
                return None
            return super().load_state_dict(state_dict, strict=strict, assign=assign)

    with mock.patch.object(tfi, "load_state_dict_from_url", lambda *args, **kwargs: state_dict):
        return _Inception("inception-v3-compat", ["2048"], verbose=False)


def _inception_help(reason: str) -> str:
    return (
        f"Inception-V3 FID weights are not available: {reason}.\n"
        f"Download {INCEPTION.url} (sha256 starts with {INCEPTION.sha256_prefix}; the file torch-fidelity and "
        f"torchmetrics use) on a machine with network access, then either pass it with "
        f"`--backbone-weights PATH` (Python: load_backbone('inception', weights=PATH)) or copy it to "
        f"{INCEPTION.cache_path()}.\nWithout network access, `--backbone emoji-cnn` works offline (its numbers are "
        f"not FID)."
    )


class InceptionBackbone(FeatureBackbone):
    """Inception-V3 pool features (2048-d) with the standard FID preprocessing, from torch-fidelity.

    Args:
        weights (`str` or `os.PathLike`, *optional*):
            The weights file `weights-inception-2015-12-05-6726825d.pth` (or the same tensors as `.safetensors`).
            By default the copy in torch hub's cache is used, downloaded there first on a networked machine.
        state_dict (`dict`, *optional*):
            Weights as tensors, instead of a file. `random_init=True` skips weights altogether (tests, timing).
    """

    name = "inception"
    slug = backbone_slug(name)
    display_name = BACKBONE_REGISTRY[name].display_name
    feature_dim = 2048

    def __init__(self, weights: str | os.PathLike | None = None, state_dict=None, random_init: bool = False):
        super().__init__()
        if random_init:
            self.weights_source = "random initialisation (not FID!)"
        elif state_dict is None:
            error = lambda reason: BackboneWeightsError(_inception_help(reason))  # noqa: E731
            state_dict, self.weights_source = INCEPTION.state_dict(weights, error)
        else:
            self.weights_source = "state dict"
        try:
            self.net = _fidelity_inception(state_dict)
        except RuntimeError as e:  # missing/unexpected keys or wrong shapes
            raise BackboneWeightsError(_inception_help(f"the weights do not fit Inception-V3 ({e})")) from e
        self.eval()

    def preprocess(self, images: torch.Tensor) -> torch.Tensor:
        return images  # torch-fidelity takes uint8 and resizes to 299x299 itself, TF1-style

    def embed(self, inputs: torch.Tensor) -> torch.Tensor:
        return self.net(inputs)[0]


def random_inception_weights(path: str | os.PathLike, seed: int = 0) -> Path:
    """Write randomly initialised Inception-V3 weights to `path` (.safetensors or .pth), to test wiring offline.

    Numbers computed with them mean nothing: never report them as FID.
    """
    torch.manual_seed(seed)
    return save_state_dict(_fidelity_inception(None).state_dict(), path)


# ---------------------------------------------------------------------------------------------------------- DINOv2


def _dinov2_help(source: str, reason: str) -> str:
    return (
        f"DINOv2 weights could not be loaded from {source!r}: {reason}.\n"
        f"On a machine with network access run `hf download {DINOV2_DEFAULT} --local-dir dinov2-base`, then pass "
        f"the folder with `--backbone-weights dinov2-base` (Python: load_backbone('dinov2', weights='dinov2-base')). "
        f"A Hub repo id is downloaded when the network is reachable.\nWithout network access, "
        f"`--backbone emoji-cnn` works offline."
    )


class DINOv2Backbone(FeatureBackbone):
    """DINOv2 CLS-token features through `transformers`.

    Preprocessing: bicubic (antialiased) resize of the whole image to `input_size` x `input_size` (no crop, so
    nothing of a generated image is cut away), then ImageNet mean/std normalisation. Features: `pooler_output`, the
    CLS token after the final layer norm.

    Args:
        weights (`str` or `os.PathLike`, *optional*, defaults to `"facebook/dinov2-base"`):
            A local folder saved by `save_pretrained` / `hf download`, or a Hub repo id (downloaded on a networked
            machine; read from the Hub cache when `HF_HUB_OFFLINE=1`).
        input_size (`int`, defaults to 224): Resolution fed to the ViT (a multiple of its patch size).
    """

    name = "dinov2"
    slug = backbone_slug(name)
    display_name = BACKBONE_REGISTRY[name].display_name

    def __init__(self, weights: str | os.PathLike | None = None, input_size: int = 224):
        super().__init__()
        from transformers import AutoModel

        source = str(weights) if weights is not None else DINOV2_DEFAULT
        local = Path(source).is_dir()
        if not local and (Path(source).exists() or source.startswith((".", "/", "~")) or Path(source).is_absolute()):
            raise BackboneWeightsError(_dinov2_help(source, "no such folder"))
        try:
            model = AutoModel.from_pretrained(source, local_files_only=local or offline(), use_safetensors=True)
        except (OSError, ValueError) as e:
            raise BackboneWeightsError(
                _dinov2_help(source, str(e).splitlines()[0] if str(e) else type(e).__name__)
            ) from e
        if not model.config.model_type.startswith("dinov2"):
            raise BackboneWeightsError(_dinov2_help(source, f"it is a {model.config.model_type!r} model, not DINOv2"))
        patch = model.config.patch_size
        if input_size % patch:
            raise ValueError(f"input_size must be a multiple of the patch size {patch}, got {input_size}")
        self.model = model
        self.input_size = input_size
        self.feature_dim = model.config.hidden_size
        self.weights_source = source
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1), persistent=False)
        self.eval()

    def preprocess(self, images: torch.Tensor) -> torch.Tensor:
        x = images.float() / 255
        size = (self.input_size, self.input_size)
        if tuple(x.shape[-2:]) != size:
            x = F.interpolate(x, size=size, mode="bicubic", align_corners=False, antialias=True).clamp(0, 1)
        return (x - self.mean) / self.std

    def embed(self, inputs: torch.Tensor) -> torch.Tensor:
        return self.model(pixel_values=inputs.to(self.model.dtype)).pooler_output


# ------------------------------------------------------------------------------------------------------- emoji-cnn


class EmojiCNNBackbone(FeatureBackbone):
    """The shipped [`EmojiFeatureNet`]: 256-d features, works offline. Metric names: `fd_emoji_cnn`, ...

    Preprocessing: bilinear (antialiased) resize to the network's 64x64, then [0, 1] -> [-1, 1].

    Args:
        weights (`str` or `os.PathLike`, *optional*): A folder saved by `EmojiFeatureNet.save_pretrained`; defaults to
            the one shipped in the package (`hfgan/metrics/weights/emoji-cnn`).
    """

    name = "emoji-cnn"
    slug = backbone_slug(name)
    display_name = BACKBONE_REGISTRY[name].display_name

    def __init__(self, weights: str | os.PathLike | None = None):
        super().__init__()
        from ..models.emoji_cnn import EmojiFeatureNet

        folder = Path(weights) if weights is not None else EMOJI_CNN_WEIGHTS
        if not (folder / "config.json").is_file():
            raise BackboneWeightsError(
                f"emoji-cnn weights not found in {folder}: the package ships them in hfgan/metrics/weights/emoji-cnn "
                f"(reinstall hfgan, or retrain with `python training/train_feature_net.py` in a clone of the "
                f"repository) and `--backbone-weights FOLDER` points at another copy."
            )
        try:
            self.net = EmojiFeatureNet.from_pretrained(folder)
        except (OSError, ValueError) as e:
            raise BackboneWeightsError(f"emoji-cnn weights in {folder} could not be loaded: {e}") from e
        self.input_size = self.net.config.image_size
        self.feature_dim = self.net.feature_dim
        self.weights_source = str(folder)
        self.eval()

    def preprocess(self, images: torch.Tensor) -> torch.Tensor:
        x = images.float() / 255
        size = (self.input_size, self.input_size)
        if tuple(x.shape[-2:]) != size:
            x = F.interpolate(x, size=size, mode="bilinear", align_corners=False, antialias=True).clamp(0, 1)
        return x * 2 - 1

    def embed(self, inputs: torch.Tensor) -> torch.Tensor:
        return self.net(inputs).features


BACKBONES = {name: globals()[spec.class_name] for name, spec in BACKBONE_REGISTRY.items()}  # the registry's names


def load_backbone(
    name: str, weights: str | os.PathLike | None = None, device: str | torch.device = "cpu"
) -> FeatureBackbone:
    """A feature backbone by name: `"inception"`, `"dinov2"` or `"emoji-cnn"`.

    Args:
        name: which backbone.
        weights: a local weights file (inception) or folder (dinov2, emoji-cnn), or for dinov2 a Hub repo id. By
            default: inception and dinov2 are fetched on a networked machine (and read from their caches after
            that); emoji-cnn is read from the package.
        device: where the network runs.

    Raises:
        BackboneWeightsError: the weights are missing or unreadable; the message says how to supply them.
    """
    if name not in BACKBONES:
        raise ValueError(f"unknown backbone {name!r}; choose one of {', '.join(BACKBONES)}")
    return BACKBONES[name](weights).to(device)


def extract_features(backbone: FeatureBackbone, images: torch.Tensor, batch_size: int = 256) -> torch.Tensor:
    """Features `(N, feature_dim)` of `images` `(N, 3, H, W)` (float in [0, 1] or uint8), `batch_size` at a time."""
    if len(images) == 0:
        return torch.empty(0, backbone.feature_dim)
    return torch.cat([backbone(chunk) for chunk in images.split(batch_size)])
