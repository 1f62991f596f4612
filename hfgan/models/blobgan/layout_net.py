"""`BlobLayoutNet`: Gaussian noise -> a layout of K blobs (BlobGAN's layout network), in the diffusers style."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from diffusers import ModelMixin  # noqa: F401  diffusers finds a pipeline component's loader by this name in its module
from diffusers.configuration_utils import register_to_config
from torch import nn

from ..modeling_utils import HfGanModel, check_int
from .layout import BlobLayout

PER_BLOB = 7  # raw outputs per blob besides its features: x, y, s, two shape logits, the angle's 2-vector
MIN_SHAPE = 0.01  # floor of the shape sigmoids: a variance ratio (a / b) of at most 101, axes at most 10.05:1


def pixel_norm(x: torch.Tensor, eps: float = 1e-8) -> torch.Tensor:
    """x / sqrt(mean(x^2)) over the last dimension: unit root-mean-square features (StyleGAN's pixel norm)."""
    return x * torch.rsqrt(x.pow(2).mean(dim=-1, keepdim=True) + eps)


class BlobLayoutNet(HfGanModel):
    r"""
    BlobGAN's layout network: an MLP from noise z to K blobs and a background, returned as a [`BlobLayout`].

    For each blob: its centre (x, y) in [0, 1]^2 through a sigmoid; its size s; its shape, two sigmoids rescaled
    so that a * b = `blob_variance`^2 (the area is set by s alone); its angle, from a normalised 2-vector; a structure
    feature phi and a style feature psi, both pixel-normalised. The background has its own phi_0 and psi_0.
    Truncation (`truncation_psi` < 1) pulls the raw outputs toward their mean over z (`compute_mean`) before those
    nonlinearities, so a truncated layout is still a valid one. The nonlinearities are [`decode_layout`], which
    BlobGAN's encoder ([`BlobGANEncoder`]) shares: it predicts the same raw vector.

    Args:
        latent_dim (`int`, defaults to 64): Size of z.
        num_blobs (`int`, defaults to 10): K.
        structure_dim (`int`, defaults to 64): Size of phi (the generator's input channels).
        style_dim (`int`, defaults to 64): Size of psi (the generator's modulation input).
        hidden_dim (`int`, defaults to 256): Width of the MLP.
        num_layers (`int`, defaults to 4): Hidden layers of the MLP.
        blob_variance (`float`, defaults to 0.01): The geometric mean of a blob's two axis variances; a circular blob
            of size s covers a disc of radius sqrt(blob_variance * s) (0.2 of the image at s = 4).
        shared_blob_head (`bool`, defaults to `False`): Make every blob with the same weights, from the MLP's output
            and the blob's own fixed random rotation of z, instead of one output layer with K blobs' worth of
            outputs (the paper's). Then no blob index has weights of its own to be born larger or to shrink alone;
            only the depth order tells blobs apart.
        max_aspect_ratio (`float`, *optional*): The longest a blob's long axis may be against its short one (a
            ratio > 1; 2 allows ellipses twice as long as wide). `None`, the default, allows about 10:1.

    The defaults are the CPU recipe's sizes, as the other BlobGAN classes'; the paper's 256 px sizes are
    `hfgan.models.blobgan.presets.PAPER_256["layout_net"]`.

    Example:

    ```py
    >>> import torch
    >>> from hfgan import BlobLayoutNet

    >>> net = BlobLayoutNet(latent_dim=8, num_blobs=3, structure_dim=4, style_dim=5, hidden_dim=16, num_layers=2)
    >>> layout = net(torch.randn(2, 8))
    >>> tuple(layout.xs.shape), tuple(layout.structure.shape), tuple(layout.background_style.shape)
    ((2, 3), (2, 3, 4), (2, 5))
    ```
    """

    _hub_tags = ["blobgan"]
    _card_task = "unconditional-image-generation"

    @register_to_config
    def __init__(
        self,
        latent_dim: int = 64,
        num_blobs: int = 10,
        structure_dim: int = 64,
        style_dim: int = 64,
        hidden_dim: int = 256,
        num_layers: int = 4,
        blob_variance: float = 0.01,
        shared_blob_head: bool = False,
        max_aspect_ratio: float | None = None,
    ):
        super().__init__()
        for name, value in (("latent_dim", latent_dim), ("num_blobs", num_blobs), ("structure_dim", structure_dim),
                            ("style_dim", style_dim), ("hidden_dim", hidden_dim), ("num_layers", num_layers)):
            check_int(name, value)
        if not blob_variance > 0:
            raise ValueError(f"blob_variance must be > 0, got {blob_variance}")
        shape_floor(max_aspect_ratio)  # raises on a ratio <= 1
        layers: list[nn.Module] = []
        width = latent_dim
        for _ in range(num_layers):
            layers += [nn.Linear(width, hidden_dim), nn.LeakyReLU(0.2)]
            width = hidden_dim
        self.mlp = nn.Sequential(*layers)
        per_blob = PER_BLOB + structure_dim + style_dim
        if shared_blob_head:
            # each blob's own view of z: a fixed orthogonal map, so every index sees noise of the same distribution
            self.register_buffer("blob_rotations", torch.linalg.qr(torch.randn(num_blobs, latent_dim, latent_dim))[0])
            self.blob_hidden = nn.Linear(hidden_dim + latent_dim, hidden_dim)  # the MLP's output and the blob's view
            self.blobs = nn.Linear(hidden_dim, per_blob)  # the same weights for every blob: (B, K, P)
        else:
            self.blobs = nn.Linear(hidden_dim, num_blobs * per_blob)  # (B, K * P)
        self.background = nn.Linear(hidden_dim, structure_dim + style_dim)
        for layer in [*self.mlp, *([self.blob_hidden] if shared_blob_head else [])]:
            if isinstance(layer, nn.Linear):  # He init for leaky ReLU: the hidden activations keep their scale
                nn.init.normal_(layer.weight, std=(2 / (1.04 * layer.in_features)) ** 0.5)
                nn.init.zeros_(layer.bias)
        for head in (self.blobs, self.background):  # raw outputs ~ N(0, 1): blobs start spread over the image with
            nn.init.normal_(head.weight, std=hidden_dim**-0.5)  # sizes around 0; torch's default init gave outputs
            nn.init.zeros_(head.bias)  # of std ~0.1, every blob piled at the centre, and a run whose layouts never spread
        self.register_buffer("output_mean", torch.zeros(self.raw_dim))  # for truncation; see compute_mean
        self.register_buffer("mean_samples", torch.zeros((), dtype=torch.int64))

    @property
    def raw_dim(self) -> int:
        c = self.config
        return raw_layout_dim(c.num_blobs, c.structure_dim, c.style_dim)

    def raw(self, latents: torch.Tensor) -> torch.Tensor:
        """The MLP's raw outputs (B, raw_dim), before any nonlinearity: what truncation interpolates."""
        if latents.dim() != 2 or latents.shape[1] != self.config.latent_dim:
            raise ValueError(f"latents must have shape (batch_size, {self.config.latent_dim}), got {tuple(latents.shape)}")
        latents = pixel_norm(latents)  # z normalised first, as StyleGAN's mapping network does
        hidden = self.mlp(latents)  # (B, H)
        if self.config.shared_blob_head:
            views = torch.einsum("kij,bj->bki", self.blob_rotations, latents)  # (B, K, Z), blob i's rotation of z
            # as much variance in the view as in the H-wide MLP output: blobs of one image start as spread as before
            views = views * (hidden.shape[1] / views.shape[2]) ** 0.5
            inputs = torch.cat([hidden[:, None].expand(-1, views.shape[1], -1), views], dim=2)  # (B, K, H + Z)
            blobs = self.blobs(F.leaky_relu(self.blob_hidden(inputs), 0.2)).flatten(1)  # (B, K, P) -> (B, K * P)
            return torch.cat([blobs, self.background(hidden)], dim=1)
        return self.hidden_to_raw(hidden)

    def _check_default_head(self) -> None:
        if self.config.shared_blob_head:
            raise ValueError("with shared_blob_head=True the raw outputs depend on z as well as on the MLP's hidden "
                             "vector: there is no map from the hidden vector alone")

    def hidden_to_raw(self, hidden: torch.Tensor) -> torch.Tensor:
        """The MLP's last hidden vectors (B, hidden_dim) -> raw outputs (B, raw_dim), through the output layers (the
        default head only: a shared blob head also reads each blob's view of z)."""
        self._check_default_head()
        return torch.cat([self.blobs(hidden), self.background(hidden)], dim=1)

    def output_affine(self) -> tuple[torch.Tensor, torch.Tensor]:
        """`hidden_to_raw` as one affine map: weight `(raw_dim, hidden_dim)` and bias `(raw_dim,)`."""
        self._check_default_head()
        weights, biases = zip(*[(layer.weight, layer.bias) for layer in (self.blobs, self.background)])
        return torch.cat(weights), torch.cat(biases)

    def project_to_hidden(self, raw: torch.Tensor) -> torch.Tensor:
        """The hidden vectors (B, hidden_dim) whose raw outputs are nearest `raw` (B, raw_dim) in least squares:
        any raw layout (an encoder's answer) moved into the set of layouts the output layers can give, a space of
        `hidden_dim` numbers where the raw one has `raw_dim`."""
        weight, bias = self.output_affine()
        return torch.linalg.lstsq(weight, (raw - bias).T).solution.T  # W h = raw - b: (raw_dim, H) x (H, B)

    @torch.no_grad()
    def compute_mean(self, num_samples: int = 4096, generator: torch.Generator | None = None) -> None:
        """Store the mean raw output over `num_samples` draws of z, the point truncation pulls toward."""
        z = torch.randn(num_samples, self.config.latent_dim, generator=generator).to(self.device, self.dtype)
        self.output_mean.copy_(self.raw(z).mean(0))
        self.mean_samples.fill_(num_samples)

    def truncate(self, raw: torch.Tensor, truncation_psi: float | torch.Tensor) -> torch.Tensor:
        """Raw outputs (B, raw_dim) pulled toward the stored mean: mean + psi * (raw - mean). `truncation_psi` is a
        float, or a (B,) tensor with one psi per image (the inversion's training draws fakes at mixed truncations)."""
        if int(self.mean_samples) == 0:
            raise ValueError("truncation needs the mean layout output: call layout_net.compute_mean() first")
        if isinstance(truncation_psi, torch.Tensor):
            if truncation_psi.shape != (raw.shape[0],):
                raise ValueError(f"truncation_psi must be a float or a tensor of shape ({raw.shape[0]},) (one per "
                                 f"image), got shape {tuple(truncation_psi.shape)}")
            truncation_psi = truncation_psi.to(raw)[:, None]  # (B, 1): each image's own psi
        return self.output_mean + truncation_psi * (raw - self.output_mean)

    def decode(self, raw: torch.Tensor) -> BlobLayout:
        """Raw outputs (B, raw_dim) -> a [`BlobLayout`] (`decode_layout` with this network's sizes)."""
        c = self.config
        return decode_layout(raw, c.num_blobs, c.structure_dim, c.style_dim, c.blob_variance, c.max_aspect_ratio)

    def forward(self, latents: torch.Tensor, truncation_psi: float = 1.0) -> BlobLayout:
        """
        Args:
            latents (`torch.Tensor` of shape `(batch_size, latent_dim)`): z ~ N(0, I).
            truncation_psi (`float`, defaults to 1.0): 1 samples the full distribution; 0 gives the mean layout for
                every z. Needs `compute_mean` to have run (a trained release has it).
        """
        raw = self.raw(latents)  # (B, raw_dim)
        if truncation_psi != 1.0:
            raw = self.truncate(raw, truncation_psi)
        return self.decode(raw)


def raw_layout_dim(num_blobs: int, structure_dim: int, style_dim: int) -> int:
    """Size of the raw layout vector: K blobs of (x, y, s, two shape logits, the angle's 2-vector, phi, psi), then the
    background's phi_0 and psi_0."""
    return num_blobs * (PER_BLOB + structure_dim + style_dim) + structure_dim + style_dim


def shape_floor(max_aspect_ratio: float | None) -> float:
    """The floor f of the shape sigmoids that bounds a blob's axes to `max_aspect_ratio`: the variances a, b are in
    (f, 1 + f) before rescaling, so sqrt(a / b) <= sqrt((1 + f) / f) = r when f = 1 / (r^2 - 1); `None` gives
    `MIN_SHAPE`."""
    if max_aspect_ratio is None:
        return MIN_SHAPE
    if not max_aspect_ratio > 1:
        raise ValueError(f"max_aspect_ratio must be > 1 (a blob's long axis against its short one), "
                         f"got {max_aspect_ratio}")
    return 1 / (max_aspect_ratio**2 - 1)


def decode_layout(raw: torch.Tensor, num_blobs: int, structure_dim: int, style_dim: int,
                  blob_variance: float, max_aspect_ratio: float | None = None) -> BlobLayout:
    """The raw layout vector (B, raw_dim) -> a [`BlobLayout`]: the nonlinearities shared by [`BlobLayoutNet`] and
    BlobGAN's encoder, so that both speak the same unconstrained space (what truncation interpolates, and what the
    encoder is trained to predict).

    Per blob, in order: x, y (sigmoids: centres in [0, 1]^2), s (as is), two shape logits (sigmoids rescaled so that
    a * b = `blob_variance`^2: only s sets the area), a 2-vector (normalised: the angle, with no wrap-around), phi and
    psi (pixel-normalised); then the background's phi_0 and psi_0 (pixel-normalised). `max_aspect_ratio` bounds the
    shapes (`shape_floor`).
    """
    k, d, e = num_blobs, structure_dim, style_dim
    expected = raw_layout_dim(k, d, e)
    if raw.dim() != 2 or raw.shape[1] != expected:
        raise ValueError(f"a raw layout of {k} blobs with structure_dim={d} and style_dim={e} has shape (batch_size, "
                         f"{expected}), got {tuple(raw.shape)}")
    blobs, background = raw[:, : -(d + e)].view(-1, k, PER_BLOB + d + e), raw[:, -(d + e) :]  # (B, K, P), (B, D+E)
    xy = torch.sigmoid(blobs[..., 0:2])  # centres in [0, 1]^2
    # (B, K, 2) in (f, 1 + f), then rescaled to a * b = variance^2; the floor f bounds the aspect ratio and keeps
    # a * b > 0 (a sigmoid that underflows to 0 made rsqrt(a * b) infinite and a training run NaN)
    shape = torch.sigmoid(blobs[..., 3:5]) + shape_floor(max_aspect_ratio)
    shape = blob_variance * shape * torch.rsqrt(shape.prod(dim=-1, keepdim=True))
    direction = F.normalize(blobs[..., 5:7], dim=-1)  # a unit 2-vector: the angle without a wrap-around
    return BlobLayout(
        xs=xy[..., 0], ys=xy[..., 1], sizes=blobs[..., 2], shapes=shape,
        angles=torch.atan2(direction[..., 1], direction[..., 0]),
        structure=pixel_norm(blobs[..., PER_BLOB : PER_BLOB + d]), style=pixel_norm(blobs[..., PER_BLOB + d :]),
        background_structure=pixel_norm(background[:, :d]), background_style=pixel_norm(background[:, d:]),
    )
