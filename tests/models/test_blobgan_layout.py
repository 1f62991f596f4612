"""BlobLayout edits return new layouts that splat as expected; render_layout draws them."""

import dataclasses

import numpy as np
import pytest
import torch

from hfgan.models.blobgan.layout import REMOVED_SIZE, BlobLayout, render_layout
from hfgan.models.blobgan.splat import blob_opacities, composite


def make_layout(batch=2, k=3, d=4, e=5, seed=0):
    g = torch.Generator().manual_seed(seed)
    return BlobLayout(
        xs=torch.tensor([[0.25, 0.5, 0.75]] * batch)[:, :k], ys=torch.full((batch, k), 0.5),
        sizes=torch.full((batch, k), 3.0), shapes=torch.full((batch, k, 2), 0.004), angles=torch.zeros(batch, k),
        structure=torch.randn(batch, k, d, generator=g), style=torch.randn(batch, k, e, generator=g),
        background_structure=torch.randn(batch, d, generator=g), background_style=torch.randn(batch, e, generator=g),
    )


def visible(layout, i, size=32):
    """Where blob i shows in the splatted grid: its alpha, (S, S), for the first image."""
    return composite(blob_opacities(*layout.splat_args(), size))[0, i + 1]


def centroid(weights: torch.Tensor) -> torch.Tensor:
    """(x, y) of the weighted centre of an (S, S) map, in pixels."""
    rows, cols = torch.meshgrid(torch.arange(weights.shape[0]), torch.arange(weights.shape[1]), indexing="ij")
    return torch.stack([(cols * weights).sum(), (rows * weights).sum()]) / weights.sum()


def test_moving_a_blob_moves_what_it_covers_the_same_way():
    layout = make_layout()
    moved = layout.move(1, dx=0.1, dy=-0.05)
    assert torch.equal(layout.xs[:, 1], torch.tensor([0.5, 0.5]))  # the original is untouched
    shift = centroid(visible(moved, 1)) - centroid(visible(layout, 1))  # pixels of the 32-px grid
    assert shift[0] > 2 and shift[1] < -0.5  # right and up, as asked (0.1 * 32 = 3.2 and -0.05 * 32 = -1.6)
    change = (moved.splat("structure", [32])[0] - layout.splat("structure", [32])[0]).abs().sum(1)[0]  # (S, S)
    gained = (visible(moved, 1) - visible(layout, 1)).clamp_min(0)
    assert centroid(change * (gained > 0.05))[0] > centroid(change)[0]  # the rendered change grows on the right


def test_one_moved_moves_one_blob_per_image_by_the_distance():
    layout = make_layout(batch=64, k=3)
    xs = layout.xs.clone().requires_grad_()
    moved = dataclasses.replace(layout, xs=xs).one_moved(0.2, generator=torch.Generator().manual_seed(0))
    step = torch.stack([moved.xs - layout.xs, moved.ys - layout.ys], dim=-1).norm(dim=-1)  # (B, K)
    assert torch.equal((step > 1e-6).sum(1), torch.ones(64, dtype=torch.long))  # one blob in each image
    assert torch.allclose(step.max(1).values, torch.full((64,), 0.2))
    assert len(set(step.argmax(1).tolist())) == 3  # every index gets picked
    directions = torch.stack([moved.xs - layout.xs, moved.ys - layout.ys], dim=-1).sum(1) / 0.2  # (B, 2) unit
    assert directions[:, 0].min() < -0.5 < 0.5 < directions[:, 0].max()  # left and right, up and down
    assert directions[:, 1].min() < -0.5 < 0.5 < directions[:, 1].max()
    assert torch.equal(moved.sizes, layout.sizes) and torch.equal(moved.style, layout.style)
    moved.xs.sum().backward()
    assert torch.equal(xs.grad, torch.ones_like(xs))  # differentiable: the move is added to the layout's own xs


def test_resize_remove_restyle_duplicate():
    layout = make_layout()
    assert (layout.resize(0, 2.0).sizes[:, 0] == 5.0).all()
    removed = layout.remove(2)
    (grid,) = removed.splat("structure", [16])
    right = grid[:, :, 8, 13]  # where blob 2 was, only the background is left
    torch.testing.assert_close(right, layout.background_structure, atol=1e-4, rtol=0)
    assert removed.sizes[0, 2] == REMOVED_SIZE and removed.num_blobs == 3

    other = make_layout(batch=1, seed=1)
    restyled = layout.restyle(0, other, 2)
    assert torch.equal(restyled.style[:, 0], other.style[:, 2].expand(2, -1))
    assert torch.equal(restyled.structure, layout.structure)  # the structure stays

    doubled = layout.duplicate(0, dx=0.5)
    assert doubled.num_blobs == 4 and torch.equal(doubled.style[:, 3], layout.style[:, 0])
    assert torch.allclose(doubled.xs[:, 3], layout.xs[:, 0] + 0.5)
    with pytest.raises(IndexError, match="blob 3 does not exist"):
        layout.move(3, 0.1)


def test_bad_shapes_and_selection():
    layout = make_layout()
    assert len(layout[1]) == 1 and torch.equal(layout[1].style[0], layout.style[1])
    with pytest.raises(ValueError, match="BlobLayout.ys"):
        BlobLayout(**{**layout.__dict__, "ys": torch.zeros(2, 4)})


def test_render_layout_draws_each_blob_in_its_own_colour():
    images = render_layout(make_layout(), size=64, numbers=False)
    assert len(images) == 2 and images[0].size == (64, 64)
    pixels = np.asarray(images[0]).reshape(-1, 3)
    assert len({tuple(p) for p in pixels[::7]}) > 3  # background and three blob colours (and their blends)
    left, right = np.asarray(images[0])[32, 16], np.asarray(images[0])[32, 48]
    assert not np.array_equal(left, right)  # blob 0 and blob 2 differ in colour
    gone = np.asarray(render_layout(make_layout().remove(0), size=64, numbers=False)[0])[32, 16]
    assert np.abs(gone.astype(int) - 235).max() <= 1  # the background's light grey where blob 0 was
