"""BlobGANPipeline: sampling, seeded determinism, rendering edited layouts, save/load through the pipeline base."""

import numpy as np
import pytest
import torch

from hfgan import BlobGANGenerator, BlobGANPipeline, BlobLayoutNet, HfGanPipeline
from hfgan.models.blobgan.layout import REMOVED_SIZE


@pytest.fixture
def pipe():
    torch.manual_seed(0)
    layout_net = BlobLayoutNet(latent_dim=8, num_blobs=3, structure_dim=4, style_dim=4, hidden_dim=16, num_layers=2)
    layout_net.compute_mean(256, generator=torch.Generator().manual_seed(0))
    generator = BlobGANGenerator(image_size=16, input_size=4, structure_dim=4, style_dim=4, channel_base=64,
                                 channel_max=8)  # fmt: skip
    pipe = BlobGANPipeline(layout_net=layout_net, generator=generator)
    pipe.set_progress_bar_config(disable=True)
    return pipe


def seeded(seed=0):
    return torch.Generator().manual_seed(seed)


def test_output_images_and_layouts(pipe):
    output = pipe(num_images=5, generator=seeded())
    assert len(output.images) == 5 and output.images[0].size == (16, 16)
    assert len(output.layouts) == 5 and output.layouts.num_blobs == 3 and output.layouts.xs.device.type == "cpu"
    pt = pipe(num_images=2, output_type="pt", generator=seeded()).images
    assert pt.shape == (2, 3, 16, 16) and 0 <= pt.min() and pt.max() <= 1
    images, layouts = pipe(num_images=2, output_type="np", generator=seeded(), return_dict=False)
    assert images.shape == (2, 16, 16, 3) and len(layouts) == 2


def test_seeded_determinism_and_chunking(pipe):
    a = pipe(num_images=4, output_type="pt", generator=seeded(1)).images
    b = pipe(num_images=4, output_type="pt", generator=seeded(1), max_batch_size=3).images
    torch.testing.assert_close(a, b)
    assert not torch.equal(a, pipe(num_images=4, output_type="pt", generator=seeded(2)).images)


def test_a_returned_layout_renders_the_same_images(pipe):
    output = pipe(num_images=3, output_type="pt", generator=seeded())
    torch.testing.assert_close(pipe(layout=output.layouts, output_type="pt").images, output.images)
    one = pipe(layout=output.layouts[1], output_type="pt").images
    torch.testing.assert_close(one, output.images[1:2])


def test_truncation_to_the_mean_gives_one_scene(pipe):
    images = pipe(num_images=3, truncation_psi=0.0, output_type="pt", generator=seeded()).images
    torch.testing.assert_close(images[0], images[2])


def column_centroid(change: torch.Tensor) -> float:
    """x of the weighted centre of a (H, W) map, as a fraction of the width."""
    cols = (torch.arange(change.shape[1]) + 0.5) / change.shape[1]
    return float((change.sum(0) * cols).sum() / change.sum())


@pytest.mark.parametrize("dx", [0.35, -0.35])
def test_moving_a_blob_moves_the_change_the_same_way(pipe, dx):
    """One visible blob (the others removed), moved by dx: the change between the renders is centred on the
    dx side of where the blob was (it leaves its old place and appears at the new one)."""
    layout = pipe(num_images=1, generator=seeded()).layouts
    layout = layout.remove(0).remove(2)
    layout = placed(layout, 1, x=0.5 - dx / 2)
    before = pipe(layout=layout, output_type="pt").images[0]
    after = pipe(layout=layout.move(1, dx=dx), output_type="pt").images[0]
    change = (after - before).abs().sum(0)  # (H, W)
    assert change.sum() > 0.1
    shift = column_centroid(change) - float(layout.xs[0, 1])
    assert np.sign(shift) == np.sign(dx) and abs(shift) > 0.05


def placed(layout, i, x):
    """`layout` with blob i at (x, 0.5), large and round, so it clearly covers part of the 16-px image."""
    layout = layout.move(i, dx=x - float(layout.xs[0, i]), dy=0.5 - float(layout.ys[0, i]))
    return layout.resize(i, 6.0 - float(layout.sizes[0, i]))


def test_removing_every_blob_leaves_the_background(pipe):
    layout = pipe(num_images=2, generator=seeded()).layouts
    for i in range(3):
        layout = layout.remove(i)
    assert (layout.sizes == REMOVED_SIZE).all()
    images = pipe(layout=layout, output_type="pt").images
    other = pipe(num_images=2, generator=seeded(5)).layouts
    for i in range(3):
        other = other.remove(i)
    other = with_background(other, layout)
    torch.testing.assert_close(pipe(layout=other, output_type="pt").images, images)  # only the background counts


def with_background(layout, source):
    import dataclasses

    return dataclasses.replace(layout, background_structure=source.background_structure,
                               background_style=source.background_style)  # fmt: skip


def test_save_load_round_trip_through_the_base_class(pipe, tmp_path):
    pipe.save_pretrained(tmp_path / "blobgan")
    loaded = HfGanPipeline.from_pretrained(tmp_path / "blobgan")
    assert type(loaded) is BlobGANPipeline
    assert int(loaded.layout_net.mean_samples) == 256  # the truncation mean travels with the weights
    for psi in (1.0, 0.5):
        a = pipe(num_images=2, truncation_psi=psi, output_type="pt", generator=seeded()).images
        b = loaded(num_images=2, truncation_psi=psi, output_type="pt", generator=seeded()).images
        torch.testing.assert_close(a, b)


def test_bad_requests(pipe):
    layout = pipe(num_images=2, generator=seeded()).layouts
    with pytest.raises(ValueError, match="either latents .* or layout"):
        pipe(layout=layout, latents=torch.randn(2, 8))
    with pytest.raises(ValueError, match="layout must be a BlobLayout"):
        pipe(layout={"xs": layout.xs})
    with pytest.raises(ValueError, match="num_images=3 but 2 layouts were given"):
        pipe(layout=layout, num_images=3)
    with pytest.raises(ValueError, match="latents must have shape"):
        pipe(latents=torch.randn(2, 5))
    with pytest.raises(ValueError, match="layout_net makes style features of size 4, but the generator takes "
                                         "style_dim=6"):  # fmt: skip
        BlobGANPipeline(layout_net=pipe.layout_net, generator=BlobGANGenerator(
            image_size=16, input_size=4, structure_dim=4, style_dim=6, channel_base=64, channel_max=8))  # fmt: skip
