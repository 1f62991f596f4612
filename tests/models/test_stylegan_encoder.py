"""StyleGANEncoder: shapes, W vs. W+ (per-layer offsets start at zero), the mean w it starts from, save/load,
mismatches with a generator named."""

import pytest
import torch

from hfgan import StyleGAN2Generator, StyleGAN3Generator, StyleGANEncoder


def tiny_generator(kind="stylegan2"):
    torch.manual_seed(0)
    if kind == "stylegan3":
        return StyleGAN3Generator(z_dim=8, w_dim=8, img_resolution=16, channel_base=256, channel_max=8, num_layers=4,
                                  num_critical=1, margin_size=2)
    return StyleGAN2Generator(z_dim=8, w_dim=8, img_resolution=16, mapping_layers=2, channel_base=64, channel_max=8)


@pytest.mark.parametrize("kind", ["stylegan2", "stylegan3"])
def test_shapes_and_start_at_the_mean_w(kind):
    generator = tiny_generator(kind)
    generator.mapping.w_avg.normal_()
    encoder = StyleGANEncoder.for_generator(generator, channel_base=64, channel_max=8)
    assert encoder.config.num_ws == generator.num_ws and encoder.config.image_size == 16
    torch.testing.assert_close(encoder.w_avg, generator.mapping.w_avg)
    out = encoder(torch.rand(3, 3, 16, 16) * 2 - 1)
    assert out.ws.shape == (3, generator.num_ws, 8) and generator.synthesize(out.ws).shape == (3, 3, 16, 16)
    # untrained W+ offsets are exactly zero: the answer starts in W, w_avg plus the shared head's offset
    assert torch.equal(out.deltas, torch.zeros_like(out.deltas))
    shared = encoder.w_head(encoder.backbone(torch.zeros(1, 3, 16, 16)))
    torch.testing.assert_close(encoder(torch.zeros(1, 3, 16, 16)).ws[0, 0], generator.mapping.w_avg + shared[0])


def test_w_plus_offsets_train_and_w_has_none():
    generator = tiny_generator()
    plus = StyleGANEncoder.for_generator(generator, channel_base=64, channel_max=8)
    images = torch.rand(2, 3, 16, 16) * 2 - 1
    target = torch.randn(2, generator.num_ws, 8)
    optimizer = torch.optim.Adam(plus.parameters(), lr=1e-2)
    for _ in range(3):
        loss = (plus(images).ws - target).square().mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    ws = plus(images).ws
    assert not torch.allclose(ws[:, 0], ws[:, -1])  # per-layer offsets moved
    single = StyleGANEncoder.for_generator(generator, space="w", channel_base=64, channel_max=8)
    assert single.delta_head is None
    ws = single(images).ws
    assert torch.equal(ws[:, 0], ws[:, -1])


def test_save_load_round_trip_and_determinism(tmp_path):
    encoder = StyleGANEncoder.for_generator(tiny_generator(), channel_base=64, channel_max=8)
    encoder.save_pretrained(tmp_path)
    loaded = StyleGANEncoder.from_pretrained(tmp_path)
    images = torch.rand(2, 3, 16, 16) * 2 - 1
    torch.testing.assert_close(loaded(images).ws, encoder(images).ws)
    assert loaded.config.space == "w+"


def test_bad_arguments_and_mismatches_are_named():
    with pytest.raises(ValueError, match="space must be one of"):
        StyleGANEncoder(image_size=16, num_ws=6, w_dim=8, space="z")
    with pytest.raises(ValueError, match="image_size"):
        StyleGANEncoder(image_size=12, num_ws=6, w_dim=8)
    encoder = StyleGANEncoder(image_size=32, num_ws=6, w_dim=8, channel_base=64, channel_max=8)
    with pytest.raises(ValueError, match="image_size=32 here but 16 in the generator"):
        encoder.check_generator(tiny_generator())
    with pytest.raises(ValueError, match=r"images must have shape \(batch_size, 3, 32, 32\)"):
        encoder(torch.zeros(1, 3, 16, 16))
    with pytest.raises(ValueError, match="w_avg must have shape"):
        encoder.start_at(torch.zeros(4))
