"""Named edit directions in a StyleGAN generator's w space, as a model: saved, loaded and pushed with a
`StyleGANPipeline` (its optional `directions` component). `hfgan.editing` finds them (SeFa, GANSpace, InterFaceGAN)."""

from __future__ import annotations

from collections.abc import Mapping

import torch
from diffusers import ModelMixin  # noqa: F401  diffusers finds a pipeline component's loader by this name in its module
from diffusers.configuration_utils import register_to_config

from ..modeling_utils import HfGanModel, check_int

METHODS = ("sefa", "ganspace", "interfacegan", "custom")


class EditDirections(HfGanModel):
    r"""
    Named unit directions in a StyleGAN generator's w space, with where and how they were found.

    Saved as safetensors (the vectors) and a config (names, method, w size, layers, scores); a `StyleGANPipeline`
    carries one as its optional `directions` component, so directions push and load with the pipeline.

    Args:
        w_dim (`int`): Size of w of the generator the directions belong to; applying them to another is an error.
        names (`list[str]`): One unique name per direction (e.g. `["smile", "age"]`).
        method (`str`, defaults to `"custom"`): How they were found: "sefa", "ganspace", "interfacegan" or "custom".
        layers (`list[int]`, *optional*): The w indices (layers) an edit moves; None for all of them. SeFa directions
            found on some layers apply to those layers.
        scores (`list[float]`, *optional*): One number per direction: SeFa's eigenvalue, GANSpace's explained
            variance ratio, InterFaceGAN's training accuracy.

    Example:

    ```py
    >>> import torch
    >>> from hfgan import EditDirections

    >>> directions = EditDirections(w_dim=4, names=["left", "right"])
    >>> directions.set_vectors(torch.tensor([[1.0, 0, 0, 0], [0, 1.0, 0, 0]]))
    >>> directions.apply(torch.zeros(1, 3, 4), {"left": 2.0})[0, :, 0].tolist()
    [2.0, 2.0, 2.0]
    ```
    """

    _hub_tags = ["stylegan", "editing"]
    _card_task = "unconditional-image-generation"

    @register_to_config
    def __init__(self, w_dim: int, names: list[str], method: str = "custom", layers: list[int] | None = None,
                 scores: list[float] | None = None):
        super().__init__()
        check_int("w_dim", w_dim)
        names = list(names)
        if not names or len(set(names)) != len(names) or not all(isinstance(n, str) and n for n in names):
            raise ValueError(f"names must be unique non-empty strings, got {names}")
        if method not in METHODS:
            raise ValueError(f"method must be one of {METHODS}, got {method!r}")
        if scores is not None and len(scores) != len(names):
            raise ValueError(f"scores must have one value per direction ({len(names)}), got {len(scores)}")
        self.register_buffer("vectors", torch.zeros(len(names), w_dim))  # (K, w_dim), unit rows once set

    def set_vectors(self, vectors: torch.Tensor) -> EditDirections:
        """Store `vectors` (K, w_dim), each scaled to unit length (an edit's strength is then in units of w)."""
        expected = (len(self.config.names), self.config.w_dim)
        if vectors.shape != expected:
            raise ValueError(f"vectors must have shape {expected}, got {tuple(vectors.shape)}")
        norms = vectors.norm(dim=1, keepdim=True)
        if (norms == 0).any():
            raise ValueError("a direction is the zero vector")
        self.vectors.copy_(vectors / norms)
        return self

    def direction(self, name: str) -> torch.Tensor:
        """The unit vector (w_dim,) called `name`."""
        return self.vectors[self._index(name)]

    def _index(self, name: str) -> int:
        if name not in self.config.names:
            raise ValueError(f"no direction {name!r}; these directions are {self.config.names}")
        return self.config.names.index(name)

    def check_generator(self, num_ws: int, w_dim: int) -> None:
        """Raise ValueError unless these directions fit a generator with `num_ws` layers of w of size `w_dim`."""
        if w_dim != self.config.w_dim:
            raise ValueError(f"these directions are for a generator with w of size {self.config.w_dim}; this "
                             f"generator's w has size {w_dim}")
        layers = self.config.layers or []
        if any(not 0 <= i < num_ws for i in layers):
            raise ValueError(f"these directions move w layers {layers}; this generator has {num_ws}")

    def apply(self, ws: torch.Tensor, edits: Mapping[str, float]) -> torch.Tensor:
        """ws (B, num_ws, w_dim) moved by strength * direction for each `{name: strength}` of `edits`, on this
        object's layers (all by default); a new tensor."""
        self.check_generator(ws.shape[1], ws.shape[2])
        delta = torch.zeros(ws.shape[2], device=ws.device, dtype=ws.dtype)
        for name, strength in edits.items():
            delta = delta + float(strength) * self.vectors[self._index(name)].to(ws.device, ws.dtype)
        ws = ws.clone()
        layers = self.config.layers if self.config.layers is not None else slice(None)
        ws[:, layers] += delta
        return ws

    def forward(self, ws: torch.Tensor, edits: Mapping[str, float]) -> torch.Tensor:
        return self.apply(ws, edits)
