"""BlobGAN's generator and discriminator: shapes at tiny sizes, the modulation maths, noise modes, save/load."""

import pytest
import torch
import torch.nn.functional as F

from hfgan import BlobGANDiscriminator, BlobGANGenerator, BlobLayoutNet
from hfgan.models.blobgan.splat import blob_alphas
from hfgan.models.layers.stylegan2 import SpatialModulatedConv2d, minibatch_stddev

TINY = dict(structure_dim=4, style_dim=5, channel_base=64, channel_max=8)


def tiny_layout(batch=2, seed=0, num_blobs=3, structure_dim=4, style_dim=5):
    torch.manual_seed(seed)
    net = BlobLayoutNet(latent_dim=8, num_blobs=num_blobs, structure_dim=structure_dim, style_dim=style_dim,
                        hidden_dim=16, num_layers=2)
    return net(torch.randn(batch, 8))


@pytest.mark.parametrize("image_size,input_size", [(16, 4), (8, 8), (32, 4)])
def test_generator_shapes_and_widths(image_size, input_size):
    generator = BlobGANGenerator(image_size=image_size, input_size=input_size, **TINY)
    assert generator.resolutions[0] == input_size and generator.resolutions[-1] == image_size
    assert len(generator.layers) == len(generator.resolutions) - 1 == len(generator.to_rgb) - 1
    sample = generator(tiny_layout(batch=3)).sample
    assert sample.shape == (3, 3, image_size, image_size) and torch.isfinite(sample).all()
    # StyleGAN's width rule: channel_base / resolution capped at channel_max (64 / 16 = 4 at 16 px)
    widths = [generator.input_layer.conv.weight.shape[0]] + [conv.conv.weight.shape[0] for _, conv in generator.layers]
    assert widths == [min(64 // r, 8) for r in generator.resolutions]


def test_generator_bad_config_and_mismatched_layout():
    with pytest.raises(ValueError, match="image_size must be a power of two"):
        BlobGANGenerator(image_size=24, input_size=4, **TINY)
    with pytest.raises(ValueError, match=r"input_size \(32\) must be <= image_size \(16\)"):
        BlobGANGenerator(image_size=16, input_size=32, **TINY)
    generator = BlobGANGenerator(image_size=16, input_size=4, **TINY)
    with pytest.raises(ValueError, match="structure features have size 6, but this generator takes structure_dim=4"):
        generator(tiny_layout(structure_dim=6))
    with pytest.raises(ValueError, match="noise_mode must be"):
        generator(tiny_layout(), noise_mode="fixed")


def test_pooled_alphas_average_the_full_size_alphas_and_keep_thin_blobs():
    """`pooled_alphas`: every grid's alphas are the means of the image-size alphas over its pixels (they still sum to
    1), so a blob thinner than a coarse pixel, standing between the pixel centres a sampled grid looks at, still
    reaches the coarse grid; the default samples each grid and loses it there."""
    layout = tiny_layout(batch=1, num_blobs=1)
    layout.xs.fill_(0.5), layout.ys.fill_(0.5), layout.angles.fill_(0), layout.sizes.fill_(4)  # the 4x4 grid's
    layout.shapes.copy_(torch.tensor([[[0.0004, 0.25]]]))  # centres are at 0.125, 0.375...; a blob 0.04 wide at 0.5
    pooled = BlobGANGenerator(image_size=16, input_size=4, pooled_alphas=True, **TINY).alphas(layout)
    sampled = BlobGANGenerator(image_size=16, input_size=4, **TINY).alphas(layout)
    assert [a.shape[-1] for a in pooled] == [a.shape[-1] for a in sampled] == [4, 8, 16]
    torch.testing.assert_close(pooled[-1], sampled[-1])  # the image-size grid is the same either way
    full = blob_alphas(*layout.splat_args(), 16)
    torch.testing.assert_close(pooled[0], F.avg_pool2d(full, 4))
    torch.testing.assert_close(pooled[0].sum(1), torch.ones(1, 4, 4))
    assert sampled[0][:, 1].max() < 1e-3 < 0.05 < pooled[0][:, 1].max()  # blob 0's alpha on the 4x4 grid


def test_pooled_alphas_is_saved_with_the_weights(tmp_path):
    """A release trained with pooled alphas renders with them after loading (a generator that sampled the grids
    instead would draw a different image from the same weights)."""
    torch.manual_seed(0)
    generator = BlobGANGenerator(image_size=16, input_size=4, pooled_alphas=True, **TINY)
    generator.save_pretrained(tmp_path)
    loaded = BlobGANGenerator.from_pretrained(tmp_path)
    layout = tiny_layout()
    expected = generator(layout, noise_mode="const").sample
    assert loaded.config.pooled_alphas
    torch.testing.assert_close(loaded(layout, noise_mode="const").sample, expected, rtol=0, atol=0)
    loaded.register_to_config(pooled_alphas=False)
    assert not torch.allclose(loaded(layout, noise_mode="const").sample, expected)


def test_noise_modes():
    generator = BlobGANGenerator(image_size=16, input_size=4, **TINY)
    for module in generator.modules():  # noise strengths start at 0; give them weight so the modes differ
        if hasattr(module, "strength"):
            module.strength.data.fill_(0.5)
    layout = tiny_layout()
    const = [generator(layout, noise_mode="const").sample for _ in range(2)]
    torch.testing.assert_close(const[0], const[1], rtol=0, atol=0)  # the same layout renders the same image
    assert not torch.allclose(generator(layout).sample, generator(layout).sample)  # random: fresh noise
    assert not torch.allclose(generator(layout, noise_mode="none").sample, const[0])


def test_spatial_modulation_equals_stylegan2_for_a_constant_style():
    """With a style constant over the image, the spatial formulation is StyleGAN2's per-image weight modulation and
    demodulation exactly, borders included (zero padding stays zero when scaled)."""
    torch.manual_seed(0)
    conv = SpatialModulatedConv2d(in_channels=3, out_channels=4, kernel_size=3, style_dim=5)
    x, style_vector = torch.randn(2, 3, 6, 6), torch.randn(2, 5)
    s = conv.affine(style_vector)  # (B, C_in)
    out = conv(x, s[:, :, None, None].expand(-1, -1, 6, 6))
    for n in range(2):
        w = conv.weight * conv.scale * s[n][None, :, None, None]  # modulate the input channels
        w = w * torch.rsqrt(w.pow(2).sum(dim=(1, 2, 3), keepdim=True) + 1e-8)  # demodulate each output channel
        torch.testing.assert_close(out[n : n + 1], F.conv2d(x[n : n + 1], w, padding=1), rtol=1e-4, atol=1e-5)


def test_demodulation_keeps_unit_variance():
    torch.manual_seed(0)
    conv = SpatialModulatedConv2d(in_channels=32, out_channels=32, kernel_size=3, style_dim=8)
    style = torch.randn(4, 32, 16, 16) * 3  # large, varying styles: demodulation undoes their scale
    out = conv(torch.randn(4, 32, 16, 16), style)
    assert 0.8 < out[:, :, 1:-1, 1:-1].std().item() < 1.25


def test_mapping_styles_before_splatting_equals_mapping_the_splatted_map():
    """The generator splats each blob's affine-mapped style; that equals mapping the splatted style map pixel by
    pixel, because the alphas sum to 1 (the affine's bias passes through)."""
    generator = BlobGANGenerator(image_size=16, input_size=4, **TINY)
    layout, affine = tiny_layout(), generator.input_layer.conv.affine
    alphas = blob_alphas(*layout.splat_args(), 8)
    (mapped,) = generator.splat_modulations(alphas, layout.features("style"), [generator.input_layer])
    (style_map,) = layout.splat("style", [8])  # (B, E, 8, 8)
    expected = affine(style_map.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)  # the affine at every pixel
    torch.testing.assert_close(mapped, expected, rtol=1e-4, atol=1e-5)


def test_style_maps_are_the_splats_of_a_forward():
    """`style_maps` (what forward renders from, and what bench_blobgan.py times): per resolution, coarsest first,
    each layer's style map at that resolution, and at the input grid the splatted structure features as well."""
    generator = BlobGANGenerator(image_size=16, input_size=4, **TINY)
    layout = tiny_layout()
    maps = list(generator.style_maps(layout))
    assert [len(m) for m in maps] == [3, 3, 3] and [m[0].shape[-1] for m in maps] == [4, 8, 16]
    (structure,) = layout.splat("structure", [4])
    torch.testing.assert_close(maps[0][2], structure)  # the input grid
    assert maps[1][1].shape[1] == generator.layers[0][1].conv.affine.weight.shape[0]  # the 8-px layer's inputs


def test_minibatch_stddev_against_a_hand_computation():
    x = torch.randn(6, 2, 4, 4)
    out = minibatch_stddev(x, group_size=4)  # 6 is not divisible by 4: groups of 3, images n and n + 2 and n + 4
    assert out.shape == (6, 3, 4, 4)
    torch.testing.assert_close(out[:, :2], x)
    groups = x.view(3, 2, 2, 4, 4)
    expected = (groups.var(dim=0, unbiased=False) + 1e-8).sqrt().mean(dim=(1, 2, 3))  # (2,)
    for n in range(6):
        assert torch.allclose(out[n, 2], expected[n % 2].expand(4, 4))


@pytest.mark.parametrize("image_size", [4, 16])
def test_discriminator_shapes(image_size):
    discriminator = BlobGANDiscriminator(image_size=image_size, channel_base=64, channel_max=8)
    out = discriminator(torch.randn(6, 3, image_size, image_size))
    assert out.logits.shape == (6,) and out.features.shape == (6, discriminator.backbone.out_features)
    assert BlobGANDiscriminator(image_size=16, channel_base=64, channel_max=8, mbstd_group_size=0)(
        torch.randn(5, 3, 16, 16)).logits.shape == (5,)
    with pytest.raises(ValueError, match=rf"images must have shape \(batch_size, 3, {image_size}, {image_size}\)"):
        discriminator(torch.randn(2, 3, image_size * 2, image_size * 2))


def test_save_load_round_trip(tmp_path):
    generator = BlobGANGenerator(image_size=16, input_size=4, **TINY)
    discriminator = BlobGANDiscriminator(image_size=16, channel_base=64, channel_max=8)
    generator.save_pretrained(tmp_path / "g")
    discriminator.save_pretrained(tmp_path / "d")
    layout, images = tiny_layout(), torch.randn(2, 3, 16, 16)
    g2, d2 = BlobGANGenerator.from_pretrained(tmp_path / "g"), BlobGANDiscriminator.from_pretrained(tmp_path / "d")
    assert g2.config.channel_max == 8 and d2.config.mbstd_group_size == 4
    torch.testing.assert_close(g2(layout, noise_mode="const").sample, generator(layout, noise_mode="const").sample)
    torch.testing.assert_close(d2(images).logits, discriminator(images).logits)
