"""Named edit directions in a StyleGAN generator's w space or its style space, as a model: saved, loaded and pushed
with a `StyleGANPipeline` (its optional `directions` component). `hfgan.editing` finds them (SeFa, GANSpace,
InterFaceGAN, StyleSpace)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping

import torch
from diffusers import ModelMixin  # noqa: F401  diffusers finds a pipeline component's loader by this name in its module
from diffusers.configuration_utils import register_to_config

from ..modeling_utils import HfGanModel, check_int

METHODS = ("sefa", "ganspace", "interfacegan", "stylespace", "custom")
SPACES = ("w", "style")


class EditDirections(HfGanModel):
    r"""
    Named directions in a StyleGAN generator's w space (unit vectors) or in its style space, with where and how they
    were found.

    Saved as safetensors (the vectors) and a config (names, method, w size, layers, scores); a `StyleGANPipeline`
    carries one as its optional `directions` component, so directions push and load with the pipeline.

    Style space (`space="style"`, StyleSpace, Wu et al. 2021) is the concatenation of every style the synthesis
    network computes from w (`style_affines`: each layer's per-channel modulation, in that order); a style direction
    is added to those styles while rendering (`edit_styles`), so it can move one channel of one layer alone, which
    no move of w can. Its vectors keep their scale (`hfgan.editing.stylespace_directions`: one unit is one standard
    deviation of the channel).

    Args:
        w_dim (`int`): Size of w of the generator the directions belong to; applying them to another is an error.
        names (`list[str]`): One unique name per direction (e.g. `["smile", "age"]`).
        method (`str`, defaults to `"custom"`): How they were found: "sefa", "ganspace", "interfacegan" or "custom".
        layers (`list[int]`, *optional*): The w indices (layers) an edit moves; None for all of them. SeFa directions
            found on some layers apply to those layers.
        scores (`list[float]`, *optional*): One number per direction: SeFa's eigenvalue, GANSpace's explained
            variance ratio, InterFaceGAN's training accuracy, StyleSpace's relevance.
        space (`str`, defaults to `"w"`): `"w"` or `"style"`.
        style_sizes (`list[int]`, *optional*): For `space="style"`: the channels of each style layer of the
            generator (`[affine.weight.shape[0] for _, affine in style_affines(generator)]`); the vectors have their
            sum as length.

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
                 scores: list[float] | None = None, space: str = "w", style_sizes: list[int] | None = None):
        super().__init__()
        check_int("w_dim", w_dim)
        names = list(names)
        if not names or len(set(names)) != len(names) or not all(isinstance(n, str) and n for n in names):
            raise ValueError(f"names must be unique non-empty strings, got {names}")
        if method not in METHODS:
            raise ValueError(f"method must be one of {METHODS}, got {method!r}")
        if scores is not None and len(scores) != len(names):
            raise ValueError(f"scores must have one value per direction ({len(names)}), got {len(scores)}")
        if space not in SPACES:
            raise ValueError(f"space must be one of {SPACES}, got {space!r}")
        if (space == "style") != (style_sizes is not None):
            raise ValueError("style_sizes is required with space='style', and only then")
        if space == "style" and layers is not None:
            raise ValueError("layers is for w directions; a style direction says per channel what it moves")
        size = w_dim if space == "w" else sum(style_sizes)
        self.register_buffer("vectors", torch.zeros(len(names), size))  # (K, w_dim) unit rows, or (K, style size)

    def set_vectors(self, vectors: torch.Tensor) -> EditDirections:
        """Store `vectors` (K, w_dim), each scaled to unit length (an edit's strength is then in units of w), or for
        style directions (K, sum(style_sizes)) as they are."""
        expected = tuple(self.vectors.shape)
        if vectors.shape != expected:
            raise ValueError(f"vectors must have shape {expected}, got {tuple(vectors.shape)}")
        norms = vectors.norm(dim=1, keepdim=True)
        if (norms == 0).any():
            raise ValueError("a direction is the zero vector")
        self.vectors.copy_(vectors / norms if self.config.space == "w" else vectors)
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

    def check_fits(self, generator) -> list[torch.nn.Module]:
        """Raise ValueError naming the mismatch unless these directions fit `generator` (its w, and for style
        directions its style layers' channels); returns its style affine layers."""
        self.check_generator(generator.num_ws, generator.config.w_dim)
        affines = [affine for _, affine in style_affines(generator)]
        sizes = [affine.weight.shape[0] for affine in affines]
        if self.config.space == "style" and sizes != list(self.config.style_sizes):
            raise ValueError(f"these style directions are for style layers of {list(self.config.style_sizes)} "
                             f"channels; this generator's have {sizes}")
        return affines

    def _delta(self, edits: Mapping[str, float]) -> torch.Tensor:
        """sum of strength * vector over `{name: strength}`: (w_dim,) or (style size,)."""
        delta = torch.zeros(self.vectors.shape[1], device=self.vectors.device, dtype=self.vectors.dtype)
        for name, strength in edits.items():
            delta = delta + float(strength) * self.vectors[self._index(name)]
        return delta

    @contextlib.contextmanager
    def edit_styles(self, generator, edits: Mapping[str, float]) -> Iterator[None]:
        """Inside the block, every forward of `generator` adds strength * direction to its styles for each
        `{name: strength}` (style directions only); on leaving, the generator is as it was."""
        if self.config.space != "style":
            raise ValueError("edit_styles is for style directions; w directions move w: apply(ws, edits)")
        affines = self.check_fits(generator)
        offsets = self._delta(edits).split(list(self.config.style_sizes))  # one (C_l,) per style layer
        hooks = [affine.register_forward_hook(lambda module, inputs, styles, offset=offset:
                                              styles + offset.to(styles.device, styles.dtype))
                 for affine, offset in zip(affines, offsets) if offset.any()]
        try:
            yield
        finally:
            for hook in hooks:
                hook.remove()

    def apply(self, ws: torch.Tensor, edits: Mapping[str, float]) -> torch.Tensor:
        """ws (B, num_ws, w_dim) moved by strength * direction for each `{name: strength}` of `edits`, on this
        object's layers (all by default); a new tensor. w directions only (style directions: `edit_styles`)."""
        if self.config.space != "w":
            raise ValueError("style directions act on the styles, not on w: render with StyleGANPipeline(ws=..., "
                             "edits=...) or inside `with directions.edit_styles(generator, edits)`")
        self.check_generator(ws.shape[1], ws.shape[2])
        delta = self._delta(edits).to(ws.device, ws.dtype)
        ws = ws.clone()
        layers = self.config.layers if self.config.layers is not None else slice(None)
        ws[:, layers] += delta
        return ws

    def forward(self, ws: torch.Tensor, edits: Mapping[str, float]) -> torch.Tensor:
        return self.apply(ws, edits)


def style_affines(generator) -> list[tuple[int, torch.nn.Module]]:
    """(w index, affine layer) of every style the synthesis network reads from w: each StyleGAN2 convolution and
    toRGB, each StyleGAN3 layer (not the input's transform)."""
    synthesis = generator.synthesis
    if hasattr(synthesis, "layer_names"):  # StyleGAN3: layer i reads ws[i + 1]
        return [(i + 1, getattr(synthesis, name).affine) for i, name in enumerate(synthesis.layer_names)]
    found, start = [], 0
    for res in synthesis.block_resolutions:  # StyleGAN2: a block reads ws[start : start + num_conv + 1]
        block = getattr(synthesis, f"b{res}")
        convs = [block.conv1] if block.num_conv == 1 else [block.conv0, block.conv1]
        found += [(start + i, conv.affine) for i, conv in enumerate(convs)]
        found.append((start + block.num_conv, block.torgb.affine))
        start += block.num_conv
    return found
