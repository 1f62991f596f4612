"""DCGAN generator and discriminator (Radford et al., 2015) in the diffusers style.

With default arguments both networks are exactly the classic PyTorch DCGAN tutorial architecture
(nz=100, ngf=ndf=64, 3x64x64 images); `image_size` adds or removes a stride-2 stage.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from diffusers import ModelMixin  # noqa: F401  diffusers finds a pipeline component's loader by this name in its module
from diffusers.configuration_utils import register_to_config
from diffusers.utils import BaseOutput
from torch import nn

from .modeling_utils import HfGanModel, check_int, num_stages


def dcgan_init_(module: nn.Module) -> None:
    """DCGAN weight init: conv weights ~ N(0, 0.02); BatchNorm weight ~ N(1, 0.02), bias 0."""
    if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d)):
        nn.init.normal_(module.weight, 0.0, 0.02)
    elif isinstance(module, nn.BatchNorm2d):
        nn.init.normal_(module.weight, 1.0, 0.02)
        nn.init.zeros_(module.bias)


@dataclass
class DCGANGeneratorOutput(BaseOutput):
    """
    Output of [`DCGANGenerator`].

    Args:
        sample (`torch.Tensor` of shape `(batch_size, num_channels, image_size, image_size)`):
            Generated images in [-1, 1].
    """

    sample: torch.Tensor


@dataclass
class DCGANDiscriminatorOutput(BaseOutput):
    """
    Output of [`DCGANDiscriminator`].

    Args:
        probs (`torch.Tensor` of shape `(batch_size,)`):
            Probability that each image is real: the seed's final Sigmoid, or with class logits Z / (Z + 1).
        logits (`torch.Tensor` of shape `(batch_size,)`):
            Real/fake logit (pre-sigmoid), for numerically stable losses. With class logits l_1..l_K from the final
            convolution (`num_classes=K`, `classifier="logits"`), it is log(sum_k exp(l_k)).
        features (`torch.Tensor` of shape `(batch_size, 8 * base_channels, 4, 4)` at 64 px):
            Activations before the last convolution, for feature matching.
        class_logits (`torch.Tensor` of shape `(batch_size, num_classes)`, *optional*):
            Class logits of a discriminator-classifier (`num_classes` set); softmax over them gives class
            probabilities. None without classes.
    """

    probs: torch.Tensor
    logits: torch.Tensor | None = None
    features: torch.Tensor | None = None
    class_logits: torch.Tensor | None = None


class DCGANGenerator(HfGanModel):
    r"""
    DCGAN generator: a latent vector is projected to a 4x4 map and upsampled by stride-2 transposed convolutions.

    Args:
        latent_dim (`int`, defaults to 100): Size of the latent vector `z` (the seed's `nz`).
        base_channels (`int`, defaults to 64): Channels of the last hidden stage (the seed's `ngf`); each earlier
            stage doubles it.
        image_size (`int`, defaults to 64): Output resolution, a power of two >= 8 (64 is the seed; 32 and 128 remove
            or add a stage).
        num_channels (`int`, defaults to 3): Channels of the generated images.

    Example:

    ```py
    >>> import torch
    >>> from hfgan import DCGANGenerator

    >>> generator = DCGANGenerator(latent_dim=16, base_channels=8, image_size=16)
    >>> images = generator(torch.randn(4, 16)).sample
    >>> tuple(images.shape)
    (4, 3, 16, 16)
    ```
    """

    _hub_tags = ["dcgan"]
    _card_task = "unconditional-image-generation"

    @register_to_config
    def __init__(self, latent_dim: int = 100, base_channels: int = 64, image_size: int = 64, num_channels: int = 3):
        super().__init__()
        check_int("latent_dim", latent_dim)
        check_int("base_channels", base_channels)
        check_int("num_channels", num_channels)
        stages = num_stages(image_size)

        channels = base_channels * 2**stages  # 512 at 64 px with base 64
        layers: list[nn.Module] = [
            nn.ConvTranspose2d(latent_dim, channels, 4, 1, 0, bias=False),  # (B, nz, 1, 1) -> (B, C, 4, 4)
            nn.BatchNorm2d(channels),
            nn.ReLU(True),
        ]
        for _ in range(stages):  # each stage doubles the resolution and halves the channels
            layers += [
                nn.ConvTranspose2d(channels, channels // 2, 4, 2, 1, bias=False),
                nn.BatchNorm2d(channels // 2),
                nn.ReLU(True),
            ]
            channels //= 2
        layers += [nn.ConvTranspose2d(channels, num_channels, 4, 2, 1, bias=False), nn.Tanh()]  # -> (B, 3, S, S)
        self.main = nn.Sequential(*layers)
        self.apply(dcgan_init_)

    def forward(self, latents: torch.Tensor, return_dict: bool = True) -> DCGANGeneratorOutput | tuple:
        """
        Args:
            latents (`torch.Tensor` of shape `(batch_size, latent_dim)` or `(batch_size, latent_dim, 1, 1)`).
            return_dict (`bool`, defaults to `True`): return a [`DCGANGeneratorOutput`] instead of a tuple.
        """
        latent_dim = self.config.latent_dim
        if latents.dim() == 2 and latents.shape[1] == latent_dim:
            latents = latents[:, :, None, None]  # (B, nz) -> (B, nz, 1, 1)
        elif not (latents.dim() == 4 and tuple(latents.shape[1:]) == (latent_dim, 1, 1)):
            raise ValueError(
                f"latents must have shape (batch_size, {latent_dim}) or (batch_size, {latent_dim}, 1, 1), "
                f"got {tuple(latents.shape)}"
            )
        sample = self.main(latents)
        if not return_dict:
            return (sample,)
        return DCGANGeneratorOutput(sample=sample)


class DCGANDiscriminator(HfGanModel):
    r"""
    DCGAN discriminator: stride-2 convolutions down to a 4x4 map, then one 4x4 convolution to a real/fake logit.

    `main` keeps the seed's final Sigmoid; `forward` also returns the pre-sigmoid logit (for stable losses) and the
    features before the last convolution (for feature matching).

    With `num_classes=K` it is also an image classifier, in one of two ways (`classifier`):

    - `"logits"`: the semi-supervised GAN of Salimans et al. (2016). The last convolution gives K class logits
      l_1..l_K and the fake class has its logit fixed at 0, so the probability that an image is real is
      D(x) = Z / (Z + 1) with Z = sum_k exp(l_k), i.e. the real/fake logit is log Z.
    - `"probe"`: a linear probe (Radford et al., 2016) on an unsupervised discriminator. Every stage's activations
      are max-pooled to a `probe_grid` x `probe_grid` map and concatenated (`probe_features`), and a linear layer
      (`probe`) maps them to class logits. The real/fake output is the unsupervised one, unchanged.

    Args:
        base_channels (`int`, defaults to 64): Channels of the first stage (the seed's `ndf`); each later stage
            doubles it.
        image_size (`int`, defaults to 64): Input resolution, a power of two >= 8.
        num_channels (`int`, defaults to 3): Channels of the input images.
        num_classes (`int`, *optional*): Classes of a discriminator-classifier (at least 2); None: real/fake only,
            the seed's discriminator.
        id2label (`dict`, *optional*): Class names by index, as in transformers (`{"0": "cat", "1": "dog"}`); stored
            with string keys. Defaults to `LABEL_0`, `LABEL_1`, ...
        classifier (`str`, defaults to `"logits"`): `"logits"` (semi-supervised GAN, supervised baseline) or
            `"probe"` (linear probe); used only with `num_classes`.
        probe_grid (`int`, defaults to 4): Side of the max-pooled map of each stage in `probe_features`.
        dropout (`float`, defaults to 0.0): Dropout on `features` before the last convolution, in training mode (a
            regulariser for classifiers trained from few labels; Salimans et al. use dropout in D).
        norm (`str`, defaults to `"batch"`): The normalisation of the stages: `"batch"` (BatchNorm, the seed's),
            `"weight"` (weight normalisation of every convolution, no BatchNorm: Salimans et al.'s discriminator,
            whose output does not depend on which other images share its batch) or `"none"`.
        noise (`float`, defaults to 0.0): Standard deviation of Gaussian noise added to the input and to every
            stage's activations, in training mode (Salimans et al.'s semi-supervised discriminator: 0.3 on the input
            and 0.5 on hidden layers of their MNIST network; here one value for all).

    Example:

    ```py
    >>> import torch
    >>> from hfgan import DCGANDiscriminator

    >>> discriminator = DCGANDiscriminator(base_channels=8, image_size=16)
    >>> out = discriminator(torch.rand(4, 3, 16, 16) * 2 - 1)
    >>> tuple(out.logits.shape), tuple(out.features.shape)
    ((4,), (4, 16, 4, 4))
    >>> classifier = DCGANDiscriminator(base_channels=8, image_size=16, num_classes=3, id2label={0: "a", 1: "b", 2: "c"})
    >>> tuple(classifier(torch.zeros(4, 3, 16, 16)).class_logits.shape), classifier.labels
    ((4, 3), ['a', 'b', 'c'])
    ```
    """

    _hub_tags = ["dcgan"]
    _card_task = "image-classification"  # real vs. generated, and with class logits a classifier

    @register_to_config
    def __init__(
        self,
        base_channels: int = 64,
        image_size: int = 64,
        num_channels: int = 3,
        num_classes: int | None = None,
        id2label: dict | None = None,
        classifier: str = "logits",
        probe_grid: int = 4,
        dropout: float = 0.0,
        norm: str = "batch",
        noise: float = 0.0,
    ):
        super().__init__()
        check_int("base_channels", base_channels)
        check_int("num_channels", num_channels)
        check_int("probe_grid", probe_grid)
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {dropout}")
        if isinstance(noise, bool) or not isinstance(noise, (int, float)) or not (math.isfinite(noise) and noise >= 0):
            raise ValueError(f"noise must be a finite standard deviation >= 0, got {noise}")
        if norm not in NORMS:
            raise ValueError(f"norm must be one of {NORMS}, got {norm!r}")
        stages = num_stages(image_size)
        if num_classes is not None:
            check_int("num_classes", num_classes, minimum=2)
            if classifier not in CLASSIFIERS:
                raise ValueError(f"classifier must be one of {CLASSIFIERS}, got {classifier!r}")
            self.register_to_config(id2label=normalize_id2label(id2label, num_classes))
        elif id2label is not None:
            raise ValueError("id2label needs num_classes")

        channels = base_channels
        layers: list[nn.Module] = [
            nn.Conv2d(num_channels, channels, 4, 2, 1, bias=False),  # (B, 3, S, S) -> (B, C, S/2, S/2)
            nn.LeakyReLU(0.2, inplace=True),
        ]
        probe_dim = channels
        for _ in range(stages):  # each stage halves the resolution and doubles the channels
            layers += [
                nn.Conv2d(channels, channels * 2, 4, 2, 1, bias=norm != "batch"),  # BatchNorm brings its own bias
                *([nn.BatchNorm2d(channels * 2)] if norm == "batch" else []),
                nn.LeakyReLU(0.2, inplace=True),
            ]
            channels *= 2
            probe_dim += channels
        logit_channels = num_classes if num_classes is not None and classifier == "logits" else 1
        layers += [nn.Conv2d(channels, logit_channels, 4, 1, 0, bias=False), nn.Sigmoid()]  # (B, C, 4, 4) -> (B, K, 1, 1)
        self.main = nn.Sequential(*layers)
        self.apply(dcgan_init_)
        if norm == "weight":  # w = g v / ||v||, one g per output channel, set from the initial weights
            for module in self.main:
                if isinstance(module, nn.Conv2d):
                    nn.utils.parametrizations.weight_norm(module)
        self.probe = None
        if num_classes is not None and classifier == "probe":
            self.probe = nn.Linear(probe_dim * probe_grid**2, num_classes)

    @property
    def feature_dim(self) -> int:
        """Channels of `features` (the map is 4x4)."""
        return self.main[-2].in_channels

    @property
    def labels(self) -> list[str] | None:
        """Class names in index order, or None without classes."""
        if self.config.num_classes is None:
            return None
        return [self.config.id2label[str(i)] for i in range(self.config.num_classes)]

    def stage_features(self, images: torch.Tensor) -> list[torch.Tensor]:
        """Activations after each stage's LeakyReLU, from (B, C, S/2, S/2) down to (B, 8C, 4, 4) at 64 px (with
        `noise` added in training mode)."""
        self._check_images(images)
        out, x = [], self._noisy(images)
        for layer in self.main[:-2]:
            x = layer(x)
            if isinstance(layer, nn.LeakyReLU):
                x = self._noisy(x)
                out.append(x)
        return out

    def _noisy(self, x: torch.Tensor) -> torch.Tensor:
        sigma = self.config.noise
        return x + sigma * torch.randn_like(x) if sigma and self.training else x

    def probe_features(self, images: torch.Tensor) -> torch.Tensor:
        """The linear probe's input: every stage max-pooled to `probe_grid`^2 and concatenated, (B, probe_dim)."""
        return self._pool_stages(self.stage_features(images))

    def _pool_stages(self, stages: list[torch.Tensor]) -> torch.Tensor:
        grid = self.config.probe_grid
        return torch.cat([F.adaptive_max_pool2d(f, grid).flatten(1) for f in stages], dim=1)  # (B, probe_dim)

    def with_probe(self, weight: torch.Tensor, bias: torch.Tensor, id2label: dict | list | None = None):
        """A new discriminator-classifier (`classifier="probe"`): this one's weights plus the linear probe
        `class_logits = weight @ probe_features + bias`, with `weight` (K, probe_dim) and `bias` (K,)."""
        if self.config.num_classes is not None and self.config.classifier == "logits":
            raise ValueError("with_probe needs a real/fake discriminator or a probe classifier, not class logits")
        config = {k: v for k, v in self.config.items() if not k.startswith("_")}
        classifier = type(self)(**{**config, "num_classes": weight.shape[0], "id2label": id2label,
                                   "classifier": "probe"})
        state = {k: v for k, v in self.state_dict().items() if not k.startswith("probe.")}
        state.update({"probe.weight": weight, "probe.bias": bias})
        classifier.load_state_dict(state)  # strict: a probe_dim that does not match raises here
        return classifier.to(self.device).train(self.training)

    def forward(self, images: torch.Tensor, return_dict: bool = True) -> DCGANDiscriminatorOutput | tuple:
        """
        Args:
            images (`torch.Tensor` of shape `(batch_size, num_channels, image_size, image_size)`), in [-1, 1].
            return_dict (`bool`, defaults to `True`): return a [`DCGANDiscriminatorOutput`] instead of a tuple
                `(probs, logits, features)`, with `class_logits` last for a classifier.
        """
        class_logits = None
        if self.probe is not None:
            stages = self.stage_features(images)
            features = stages[-1]  # (B, C, 4, 4)
            class_logits = self.probe(self._pool_stages(stages))  # (B, probe_dim) -> (B, K)
        elif self.config.noise and self.training:
            features = self.stage_features(images)[-1]  # (B, C, 4, 4), noise on the input and every stage
        else:
            self._check_images(images)
            features = self.main[:-2](images)  # (B, C, 4, 4)
        dropped = F.dropout(features, self.config.dropout, self.training) if self.config.dropout else features
        logits = self.main[-2](dropped).flatten(1)  # (B, 1 or K, 1, 1) -> (B, 1 or K)
        if logits.shape[1] > 1:  # semi-supervised: class logits, the fake class's logit fixed at 0
            class_logits = logits
            logits = torch.logsumexp(class_logits, dim=1)  # log Z, so sigmoid(log Z) = Z / (Z + 1)
        else:
            logits = logits[:, 0]
        probs = torch.sigmoid(logits)  # the seed's final Sigmoid
        out = DCGANDiscriminatorOutput(probs=probs, logits=logits, features=features, class_logits=class_logits)
        return out if return_dict else out.to_tuple()  # the tuple leaves out a None class_logits, as diffusers does

    def _check_images(self, images: torch.Tensor) -> None:
        size, channels = self.config.image_size, self.config.num_channels
        if images.dim() != 4 or tuple(images.shape[1:]) != (channels, size, size):
            raise ValueError(
                f"images must have shape (batch_size, {channels}, {size}, {size}), got {tuple(images.shape)}"
            )


CLASSIFIERS = ("logits", "probe")
NORMS = ("batch", "weight", "none")


def normalize_id2label(id2label: dict | list | None, num_classes: int) -> dict[str, str]:
    """`{"0": name, ...}` for classes 0..num_classes-1 (JSON keeps string keys); `LABEL_i` when None."""
    if id2label is None:
        return {str(i): f"LABEL_{i}" for i in range(num_classes)}
    if isinstance(id2label, (list, tuple)):
        id2label = dict(enumerate(id2label))
    try:
        out = {str(int(k)): str(v) for k, v in id2label.items()}
    except (AttributeError, TypeError, ValueError):
        raise ValueError(f"id2label must map class indices to names, got {id2label!r}") from None
    if set(out) != {str(i) for i in range(num_classes)}:
        raise ValueError(f"id2label must name exactly the classes 0..{num_classes - 1}, got keys {sorted(out)}")
    return out
