"""What the encoder-training scripts share (`training/train_inversion.py` for BlobGAN,
`training/train_stylegan_encoder.py` for StyleGAN): the config schema of an encoder trained against a frozen
generator, its checks, and the frozen networks' identity that a checkpoint carries."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import torch
from omegaconf import MISSING, DictConfig

from ..metrics.registry import INVERSION_METRICS
from .config import RunConfig, check_non_negative


@dataclass
class EncoderModelConfig:  # the encoder's widths: channel_base / resolution, capped at channel_max
    channel_base: int = MISSING
    channel_max: int = MISSING


@dataclass
class PerceptualConfig:
    name: str = MISSING  # lpips-vgg | emoji-cnn-distance (hfgan.perceptual)
    weights: str | None = MISSING  # lpips-vgg: torchvision's VGG16 file; emoji-cnn-distance: a folder; null: default


@dataclass
class InversionLossConfig:
    latent_weight: float = MISSING  # lambda
    pixel_weight: float = MISSING  # mu, on the image L2 terms


@dataclass
class TruncationConfig:  # generated images' latents at psi ~ U[min, max], one psi per image
    min: float = MISSING
    max: float = MISSING


@dataclass
class EncoderOptimConfig:
    lr: float = MISSING
    beta1: float = MISSING
    beta2: float = MISSING


@dataclass
class TestDataConfig:  # the held-out images: evaluation and sample grids
    source: str = MISSING
    split: str | None = MISSING  # null: "train" for a single parquet file (its one split), else "test"


@dataclass
class EncoderRunConfig(RunConfig):
    """RunConfig plus the groups of an encoder trained against a frozen generator (each script adds its source)."""

    model: EncoderModelConfig = field(default_factory=EncoderModelConfig)
    perceptual: PerceptualConfig = field(default_factory=PerceptualConfig)
    loss: InversionLossConfig = field(default_factory=InversionLossConfig)
    truncation: TruncationConfig = field(default_factory=TruncationConfig)
    optim: EncoderOptimConfig = field(default_factory=EncoderOptimConfig)
    test_data: TestDataConfig = field(default_factory=TestDataConfig)


def check_encoder_config(cfg: DictConfig, metrics=tuple(INVERSION_METRICS)) -> None:
    """The values the schema's types cannot check, as `ValueError`s naming the key; `metrics`: the inversion
    metrics this family measures."""
    if not 0 <= cfg.truncation.min <= cfg.truncation.max:
        raise ValueError(f"truncation.min and truncation.max must satisfy 0 <= min <= max, got "
                         f"{cfg.truncation.min} and {cfg.truncation.max}")
    check_non_negative(cfg, "loss.latent_weight", "loss.pixel_weight")
    unknown = [m for m in cfg.metrics.metrics if m not in metrics]
    if unknown:
        raise ValueError(f"metrics.metrics: unknown inversion metric(s) {unknown}; choose from {', '.join(metrics)}")


def inversion_scalars(out: dict[str, torch.Tensor], perceptual) -> dict[str, float]:
    """`hfgan.losses.inversion_loss`'s terms as logged scalars; the perceptual terms carry the distance's own key
    (`emoji_cnn_distance_real`, `lpips_vgg_fake`), so an emoji-cnn-distance is never logged as LPIPS."""
    return {**{f"{perceptual.key}_{kind}": out[f"perceptual_{kind}"].item() for kind in ("real", "fake")},
            **{key: out[key].item() for key in ("l2_real", "l2_fake", "latent_l2")}}


def weights_digest(model: torch.nn.Module) -> str:
    """A short hash of a network's weights and buffers."""
    digest = hashlib.sha256()
    for key, tensor in sorted(model.state_dict().items()):
        digest.update(key.encode())
        digest.update(tensor.detach().cpu().contiguous().reshape(-1).view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()[:16]


class FrozenNetworks:
    """The frozen networks' identity, kept in every checkpoint: resuming against another release is an error naming
    it, not an encoder trained against two generators. `key` is the config key that named the release."""

    def __init__(self, key: str, source: str, **models: torch.nn.Module):
        self.key, self.source = key, source
        self.digests = {name: weights_digest(model) for name, model in models.items()}

    def state_dict(self) -> dict:
        return {"source": self.source, **self.digests}

    def load_state_dict(self, state: dict) -> None:
        changed = [name for name, digest in self.digests.items() if state.get(name) != digest]
        if changed:
            raise ValueError(f"cannot resume: the checkpoint's encoder was trained against "
                             f"{self.key}={state.get('source')}, whose {' and '.join(changed)} differ from those of "
                             f"{self.key}={self.source}")
