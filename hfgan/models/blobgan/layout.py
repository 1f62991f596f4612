"""`BlobLayout`: the blobs of a batch of scenes, the handle users edit, and `render_layout` to look at one.

Every edit returns a new layout and leaves the old one as it was, so an edit can be undone by keeping the original.
Edits apply to blob `i` of every image in the batch (select one image first with `layout[n]`).
"""

from __future__ import annotations

import dataclasses

import torch

from .splat import blob_alphas, splat, splat_layout

REMOVED_SIZE = -100.0  # sigmoid(-100 - d^2) is 0 in float32: a blob this small is gone from every pixel


@dataclasses.dataclass(frozen=True)
class BlobLayout:
    """K blobs per image, and the background, as batch-first tensors (blob index order is depth order: a higher
    index is in front).

    Attributes:
        xs, ys: (B, K) centres in [0, 1] (x to the right, y down).
        sizes: (B, K) s: a blob covers roughly the pixels with squared Mahalanobis distance below s.
        shapes: (B, K, 2) variances (a, b) along the blob's own axes.
        angles: (B, K) the first axis's angle in radians.
        structure: (B, K, D) the features splatted into the generator's input grid (phi).
        style: (B, K, E) the features splatted into every layer's modulation (psi).
        background_structure: (B, D) phi_0; background_style: (B, E) psi_0.
    """

    xs: torch.Tensor
    ys: torch.Tensor
    sizes: torch.Tensor
    shapes: torch.Tensor
    angles: torch.Tensor
    structure: torch.Tensor
    style: torch.Tensor
    background_structure: torch.Tensor
    background_style: torch.Tensor

    def __post_init__(self):
        b, k = self.xs.shape
        expected = {"ys": (b, k), "sizes": (b, k), "shapes": (b, k, 2), "angles": (b, k),
                    "structure": (b, k), "style": (b, k), "background_structure": (b,), "background_style": (b,)}
        for name, shape in expected.items():
            if tuple(getattr(self, name).shape[: len(shape)]) != shape:
                raise ValueError(f"BlobLayout.{name} has shape {tuple(getattr(self, name).shape)}; with xs of shape "
                                 f"{(b, k)} it must start with {shape}")

    @property
    def num_blobs(self) -> int:
        return self.xs.shape[1]

    def __len__(self) -> int:
        return self.xs.shape[0]

    def __getitem__(self, index) -> BlobLayout:
        """The layout of some images of the batch (an int keeps a batch of one)."""
        index = [index] if isinstance(index, int) else index
        return self._map(lambda tensor: tensor[index])

    @classmethod
    def cat(cls, layouts: list[BlobLayout]) -> BlobLayout:
        """The layouts of several batches as one batch, in order (they must have the same blob count and feature
        sizes)."""
        if not layouts:
            raise ValueError("BlobLayout.cat needs at least one layout")
        return cls(**{f.name: torch.cat([getattr(layout, f.name) for layout in layouts])
                      for f in dataclasses.fields(cls)})

    def to(self, *args, **kwargs) -> BlobLayout:
        """Every tensor moved or cast as `torch.Tensor.to(*args, **kwargs)` would (e.g. `layout.to("cuda")`)."""
        return self._map(lambda tensor: tensor.to(*args, **kwargs))

    def _map(self, fn) -> BlobLayout:
        """A layout of `fn(tensor)` for every tensor of this one."""
        return BlobLayout(**{f.name: fn(getattr(self, f.name)) for f in dataclasses.fields(self)})

    def jittered(self, xy: float, size: float, angle: float, generator: torch.Generator | None = None) -> BlobLayout:
        """Every blob's centre, size and angle shifted by uniform noise in [-xy, xy], [-size, size], [-angle, angle]:
        BlobGAN's training-time jitter, so the generator cannot rely on exact blob positions and blobs stay handles
        that move their content. Differentiable with respect to the layout."""

        def noise(like: torch.Tensor, scale: float) -> torch.Tensor:
            u = torch.rand(like.shape, generator=generator, device=like.device, dtype=like.dtype)
            return (2 * u - 1) * scale

        return self._with(xs=self.xs + noise(self.xs, xy), ys=self.ys + noise(self.ys, xy),
                          sizes=self.sizes + noise(self.sizes, size), angles=self.angles + noise(self.angles, angle))

    def one_moved(self, distance: float, generator: torch.Generator | None = None) -> BlobLayout:
        """In every image, one blob picked at random moved `distance` (image fractions) in a random direction: a move
        as large as an edit's, where `jittered` moves every blob a little. Meant to let a discriminator see an object
        drawn by several blobs come apart; in training it did not raise how often a blob carries an object
        (docs/research/blobgan-dead-blobs, round 10). Differentiable with respect to the layout."""
        b, k = self.xs.shape
        pick = torch.randint(k, (b,), generator=generator, device=self.xs.device)
        theta = 2 * torch.pi * torch.rand(b, generator=generator, device=self.xs.device, dtype=self.xs.dtype)
        return self.blobs_moved(pick, distance * theta.cos(), distance * theta.sin())

    def blobs_moved(self, index: torch.Tensor, dx: torch.Tensor | float, dy: torch.Tensor | float) -> BlobLayout:
        """In image n, blob `index[n]` moved by (dx[n], dy[n]) in image fractions (`index` (B,) integers; `dx`, `dy`
        (B,) or one number for every image): `move` with a blob of each image's own. Differentiable with respect to
        the layout."""
        chosen = torch.nn.functional.one_hot(index, self.num_blobs).to(self.xs.dtype)  # (B, K): 1 at the moved blob
        dx, dy = (torch.as_tensor(d, dtype=self.xs.dtype, device=self.xs.device).expand(len(self)) for d in (dx, dy))
        return self._with(xs=self.xs + dx[:, None] * chosen, ys=self.ys + dy[:, None] * chosen)

    # ------------------------------------------------------------------------------------------------------ edits

    def _check(self, i: int) -> int:
        if not -self.num_blobs <= i < self.num_blobs:
            raise IndexError(f"blob {i} does not exist: the layout has {self.num_blobs} blobs (0..{self.num_blobs - 1})")
        return i % self.num_blobs

    def _with(self, **changes) -> BlobLayout:
        return dataclasses.replace(self, **changes)

    def _set(self, name: str, i: int, value) -> torch.Tensor:
        tensor = getattr(self, name).clone()
        tensor[:, i] = value
        return tensor

    def move(self, i: int, dx: float = 0.0, dy: float = 0.0) -> BlobLayout:
        """Blob `i` moved by (dx, dy) in image fractions (dx = 0.25: a quarter of the width to the right)."""
        i = self._check(i)
        return self._with(xs=self._set("xs", i, self.xs[:, i] + dx), ys=self._set("ys", i, self.ys[:, i] + dy))

    def resize(self, i: int, ds: float) -> BlobLayout:
        """Blob `i` with its size s changed by `ds` (positive: larger)."""
        i = self._check(i)
        return self._with(sizes=self._set("sizes", i, self.sizes[:, i] + ds))

    def remove(self, i: int) -> BlobLayout:
        """Blob `i` gone (its size set to `REMOVED_SIZE`); the blob count, and so every other index, is kept."""
        i = self._check(i)
        return self._with(sizes=self._set("sizes", i, REMOVED_SIZE))

    def restyle(self, i: int, other: BlobLayout, j: int) -> BlobLayout:
        """Blob `i` with the style of blob `j` of `other` (a layout of one image, or of as many as this one)."""
        i, j = self._check(i), other._check(j)
        return self._with(style=self._set("style", i, other.style[:, j]))

    def duplicate(self, i: int, dx: float = 0.0, dy: float = 0.0) -> BlobLayout:
        """A copy of blob `i`, moved by (dx, dy), added in front of every blob (index K: the count grows by one)."""
        i = self._check(i)
        copy = {name: getattr(self, name)[:, i : i + 1] for name in ("xs", "ys", "sizes", "shapes", "angles",
                                                                        "structure", "style")}
        copy["xs"], copy["ys"] = copy["xs"] + dx, copy["ys"] + dy
        return self._with(**{name: torch.cat([getattr(self, name), blob], dim=1) for name, blob in copy.items()})

    # ------------------------------------------------------------------------------------------------- splatting

    def splat_args(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """(centers (B, K, 2), variances (B, K, 2), angles (B, K), sizes (B, K)) for `hfgan.models.blobgan.splat`."""
        return torch.stack([self.xs, self.ys], dim=-1), self.shapes, self.angles, self.sizes

    def features(self, kind: str) -> torch.Tensor:
        """(B, K + 1, C) features with the background's first: `kind` is "structure" or "style"."""
        background = {"structure": self.background_structure, "style": self.background_style}[kind]
        return torch.cat([background[:, None], getattr(self, kind)], dim=1)

    def splat(self, kind: str, grid_sizes: list[int] | tuple[int, ...]) -> list[torch.Tensor]:
        """The `kind` features splatted at each size: one (B, C, S, S) grid per size."""
        return splat_layout(*self.splat_args(), self.features(kind), grid_sizes)


def blob_colours(num_blobs: int) -> torch.Tensor:
    """(K + 1, 3) colours in [0, 1]: light grey for the background, then well-separated hues (golden-ratio steps)."""
    import colorsys

    hues = [(0.13 + 0.618034 * i) % 1.0 for i in range(num_blobs)]
    colours = [(0.92, 0.92, 0.92)] + [colorsys.hsv_to_rgb(h, 0.75, 0.95) for h in hues]
    return torch.tensor(colours)


@torch.no_grad()
def render_layout(layout: BlobLayout, size: int = 256, numbers: bool = True) -> list:
    """The blobs as coloured ellipses, one PIL image per image of the batch: exactly the alphas the generator's grid
    is splatted with, each blob in its own colour (blob i keeps its colour across edits), with its index at its centre
    when `numbers` and it is visible."""
    import PIL.Image
    import PIL.ImageDraw

    centers, variances, angles, sizes = (t.float().cpu() for t in layout.splat_args())
    alphas = blob_alphas(centers, variances, angles, sizes, size)  # (B, K + 1, S, S)
    palette = blob_colours(layout.num_blobs)[None].expand(len(layout), -1, -1)  # (B, K + 1, 3)
    pixels = splat(alphas, palette).clamp(0, 1).mul(255).round().byte().permute(0, 2, 3, 1).numpy()  # (B, S, S, 3)
    images = []
    for n, array in enumerate(pixels):
        image = PIL.Image.fromarray(array)
        if numbers:
            draw = PIL.ImageDraw.Draw(image)
            for i in range(layout.num_blobs):
                x, y = (centers[n, i] * size).tolist()
                if 0 <= x < size and 0 <= y < size and alphas[n, i + 1].max() > 0.5:  # on the canvas and visible
                    draw.text((x - 3, y - 5), str(i), fill=(0, 0, 0))
        images.append(image)
    return images
