"""BlobGANEncoder: the layout it outputs (structure, constraints, it renders), the decoding it shares with the layout
network, independence from batch-mates, compatibility checks, save/load."""

import dataclasses

import pytest
import torch

from hfgan import BlobGANDiscriminator, BlobGANEncoder, BlobGANGenerator, BlobGANPipeline, BlobLayoutNet
from hfgan.models.blobgan.layout import BlobLayout, render_layout
from hfgan.models.blobgan.layout_net import decode_layout, raw_layout_dim
from hfgan.models.layers.stylegan2 import ResidualBackbone

SIZES = dict(num_blobs=3, structure_dim=4, style_dim=5)
TINY = dict(image_size=16, **SIZES, channel_base=64, channel_max=8)


def tiny_layout_net(**overrides):
    torch.manual_seed(0)
    return BlobLayoutNet(**{"latent_dim": 8, **SIZES, "hidden_dim": 16, "num_layers": 2, **overrides})


def tiny_generator(**overrides):
    return BlobGANGenerator(**{"image_size": 16, "input_size": 4, "structure_dim": 4, "style_dim": 5,
                               "channel_base": 64, "channel_max": 8, **overrides})


def same_layout(a: BlobLayout, b: BlobLayout) -> bool:
    return all(torch.equal(getattr(a, f.name), getattr(b, f.name)) for f in dataclasses.fields(a))


def test_backbone_returns_its_feature_maps_on_request():
    """`return_maps=True` gives the same features and every map on the way: after fromRGB, then each block's output
    down to 4x4, with the widths of StyleGAN2's rule (64 / 16 = 4 channels at 16 px, 8 from 8 px down)."""
    torch.manual_seed(0)
    backbone = ResidualBackbone(16, 64, 8, 0)
    images = torch.rand(2, 3, 16, 16) * 2 - 1
    features, maps = backbone(images, return_maps=True)
    torch.testing.assert_close(features, backbone(images))
    assert [tuple(m.shape) for m in maps] == [(2, 4, 16, 16), (2, 8, 8, 8), (2, 8, 4, 4)]


def test_output_has_the_layout_structure_and_renders():
    torch.manual_seed(0)
    encoder = BlobGANEncoder(**TINY)
    assert isinstance(encoder.backbone, ResidualBackbone)  # the discriminator's architecture, reused
    out = encoder(torch.rand(4, 3, 16, 16) * 2 - 1)
    assert out.raw.shape == (4, raw_layout_dim(3, 4, 5)) == (4, 3 * (7 + 4 + 5) + 4 + 5)
    layout = out.layout
    assert layout.xs.shape == (4, 3) and layout.shapes.shape == (4, 3, 2) and layout.structure.shape == (4, 3, 4)
    assert layout.style.shape == (4, 3, 5) and layout.background_structure.shape == (4, 4)
    assert ((0 < layout.xs) & (layout.xs < 1) & (0 < layout.ys) & (layout.ys < 1)).all()
    torch.testing.assert_close(layout.shapes.prod(-1), torch.full((4, 3), 0.01**2))  # a * b = variance^2
    for features in (layout.structure, layout.style, layout.background_style):  # pixel-normalised: unit RMS
        torch.testing.assert_close(features.pow(2).mean(-1), torch.ones(features.shape[:-1]), rtol=1e-4, atol=1e-4)
    assert tiny_generator()(layout).sample.shape == (4, 3, 16, 16)  # straight to splatting and rendering
    assert render_layout(layout[0], size=32)[0].size == (32, 32)
    raw, tuple_layout = encoder(torch.zeros(1, 3, 16, 16), return_dict=False)
    assert raw.shape == (1, encoder.raw_dim) and tuple_layout.num_blobs == 3


def test_encoder_and_layout_net_share_one_decoding():
    """The layout network's output is `decode_layout` of its raw vector, and so is the encoder's: a raw vector means
    the same layout whichever network made it."""
    net = tiny_layout_net()
    z = torch.randn(5, 8)
    raw = net.raw(z)
    assert same_layout(net(z), decode_layout(raw, 3, 4, 5, 0.01)) and same_layout(net(z), net.decode(raw))
    encoder = BlobGANEncoder(**TINY)
    out = encoder(torch.rand(2, 3, 16, 16) * 2 - 1)
    assert same_layout(out.layout, net.decode(out.raw))
    capped_net, capped_encoder = tiny_layout_net(max_aspect_ratio=1.5), BlobGANEncoder(**TINY, max_aspect_ratio=1.5)
    capped_encoder.check_compatible(capped_net)
    assert same_layout(capped_encoder.decode(out.raw), capped_net.decode(out.raw))
    assert not same_layout(capped_encoder.decode(out.raw * 50), encoder.decode(out.raw * 50))  # the cap is applied
    with pytest.raises(ValueError, match=r"a raw layout of 3 blobs .* has shape \(batch_size, 57\), got \(2, 50\)"):
        decode_layout(torch.zeros(2, 50), 3, 4, 5, 0.01)


def test_per_image_truncation_equals_each_images_own():
    net = tiny_layout_net()
    net.compute_mean(128, generator=torch.Generator().manual_seed(0))
    z = torch.randn(3, 8)
    psi = torch.tensor([0.0, 0.5, 1.0])
    mixed = net.decode(net.truncate(net.raw(z), psi))
    for i, p in enumerate(psi.tolist()):
        torch.testing.assert_close(mixed[i].xs, net(z[i : i + 1], truncation_psi=p).xs)
    with pytest.raises(ValueError, match=r"truncation_psi must be a float or a tensor of shape \(3,\)"):
        net.truncate(net.raw(z), torch.ones(2))


def test_an_image_is_encoded_alike_whatever_its_batch_mates():
    """Minibatch standard deviation is off by default: an encoder must not look at the other images of a batch."""
    torch.manual_seed(0)
    encoder = BlobGANEncoder(**TINY)
    assert encoder.config.mbstd_group_size == 0
    images = torch.rand(4, 3, 16, 16) * 2 - 1
    torch.testing.assert_close(encoder(images).raw[:1], encoder(images[:1]).raw)
    with_mbstd = BlobGANEncoder(**TINY, mbstd_group_size=4)
    assert not torch.allclose(with_mbstd(images).raw[:1], with_mbstd(images[:1]).raw)


def test_start_at_the_mean_layout():
    net = tiny_layout_net()
    net.compute_mean(128, generator=torch.Generator().manual_seed(0))
    encoder = BlobGANEncoder(**TINY)
    encoder.start_at(net.output_mean)
    with torch.no_grad():
        encoder.head.weight.zero_()  # only the bias left: every image gets the mean layout
    out = encoder(torch.rand(2, 3, 16, 16) * 2 - 1)
    assert same_layout(out.layout, net.decode(net.output_mean.expand(2, -1)))
    with pytest.raises(ValueError, match=r"raw_mean must have shape \(57,\)"):
        encoder.start_at(torch.zeros(5))


def test_init_from_a_discriminator_copies_its_backbone():
    torch.manual_seed(0)
    discriminator = BlobGANDiscriminator(image_size=16, channel_base=64, channel_max=8, mbstd_group_size=2)
    encoder = BlobGANEncoder(**TINY)
    head = encoder.head.weight.clone()
    encoder.init_from_discriminator(discriminator)
    assert torch.equal(encoder.head.weight, head)  # the head is the encoder's own
    # without the stddev channel's input weights the two backbones compute the same features, whenever that
    # channel is zero: a batch of one image repeated (no spread within a group)
    with torch.no_grad():
        discriminator.backbone.conv.weight[:, -1].zero_()
        encoder.init_from_discriminator(discriminator)
        images = torch.rand(1, 3, 16, 16).repeat(2, 1, 1, 1) * 2 - 1
        assert torch.allclose(encoder.backbone(images), discriminator.backbone(images), atol=1e-6)
    with pytest.raises(ValueError, match="channel_max=8 here but 16 in the discriminator"):
        encoder.init_from_discriminator(BlobGANDiscriminator(image_size=16, channel_base=64, channel_max=16))


def test_a_mismatched_encoder_is_refused_naming_the_mismatch():
    encoder = BlobGANEncoder(**TINY)
    encoder.check_compatible(tiny_layout_net())
    encoder.check_compatible(tiny_generator())
    with pytest.raises(ValueError, match=r"num_blobs=3 here but 4 in the BlobLayoutNet"):
        encoder.check_compatible(tiny_layout_net(num_blobs=4))
    with pytest.raises(ValueError, match=r"style_dim=5 here but 6 in the BlobLayoutNet"):
        encoder.check_compatible(tiny_layout_net(style_dim=6))
    with pytest.raises(ValueError, match=r"blob_variance=0.01 here but 0.02 in the BlobLayoutNet"):
        encoder.check_compatible(tiny_layout_net(blob_variance=0.02))
    with pytest.raises(ValueError, match=r"max_aspect_ratio=None here but 2.0 in the BlobLayoutNet"):
        encoder.check_compatible(tiny_layout_net(max_aspect_ratio=2.0))
    with pytest.raises(ValueError, match=r"structure_dim=4 here but 6 in the BlobGANGenerator; image_size=16 here but "
                                         r"32 in the BlobGANGenerator"):
        encoder.check_compatible(tiny_generator(structure_dim=6, image_size=32))
    with pytest.raises(ValueError, match="num_blobs=3 here but 4 in the BlobLayoutNet"):  # a pipeline refuses it too
        BlobGANPipeline(layout_net=tiny_layout_net(num_blobs=4), generator=tiny_generator(), encoder=encoder)


def test_bad_config_and_bad_images():
    with pytest.raises(ValueError, match="image_size must be a power of two"):
        BlobGANEncoder(**{**TINY, "image_size": 24})
    with pytest.raises(ValueError, match="num_blobs must be >= 1"):
        BlobGANEncoder(**{**TINY, "num_blobs": 0})
    with pytest.raises(ValueError, match="blob_variance must be > 0"):
        BlobGANEncoder(**TINY, blob_variance=0.0)
    with pytest.raises(ValueError, match=r"images must have shape \(batch_size, 3, 16, 16\), got \(2, 3, 32, 32\)"):
        BlobGANEncoder(**TINY)(torch.zeros(2, 3, 32, 32))


def test_save_load_round_trip(tmp_path):
    torch.manual_seed(0)
    encoder = BlobGANEncoder(**TINY)
    encoder.save_pretrained(tmp_path)
    loaded = BlobGANEncoder.from_pretrained(tmp_path)
    images = torch.rand(2, 3, 16, 16) * 2 - 1
    torch.testing.assert_close(loaded(images).raw, encoder(images).raw, rtol=0, atol=0)


def test_the_card_snippet_runs(tmp_path, monkeypatch):
    from hfgan.cards import render_model_card

    encoder = BlobGANEncoder(**TINY)
    encoder.save_pretrained(tmp_path / "encoder")
    card = str(render_model_card(encoder, str(tmp_path / "encoder")))
    assert "pipeline_tag: image-feature-extraction" in card
    monkeypatch.chdir(tmp_path)
    exec(compile(card.split("```python")[1].split("```")[0], "model card usage", "exec"), {})  # noqa: S102
    assert (tmp_path / "blobs.png").is_file()
