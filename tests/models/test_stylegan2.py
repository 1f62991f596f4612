"""StyleGAN2's generator and discriminator: parity with NVIDIA's code (committed fixtures, made by
tests/fixtures/stylegan/make_parity_fixture.py), shapes, noise modes, determinism, save/load, bad configs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from safetensors import safe_open

from hfgan import StyleGAN2Discriminator, StyleGAN2Generator

FIXTURES = Path(__file__).parents[1] / "fixtures" / "stylegan"
TOLERANCE = 1e-4  # the parity bound; measured: 0 for G, <= 2e-6 for D's logits (docs/stylegan.md)


def load_fixture(name: str, prefix: str):
    with safe_open(FIXTURES / f"{name}.safetensors", "pt") as f:
        official = json.loads(f.metadata()["constructor"])
        tensors = {k: f.get_tensor(k) for k in f.keys()}
    state = {k[len(prefix):]: v for k, v in tensors.items() if k.startswith(prefix)}
    return official, state, tensors


def tiny_generator(**overrides) -> StyleGAN2Generator:
    kwargs = dict(z_dim=8, w_dim=8, img_resolution=16, mapping_layers=2, channel_base=64, channel_max=8)
    return StyleGAN2Generator(**{**kwargs, **overrides}).eval()


def test_generator_parity_block_by_block():
    official, state, t = load_fixture("stylegan2", "G.")
    generator = StyleGAN2Generator(
        z_dim=official["z_dim"], c_dim=official["c_dim"], w_dim=official["w_dim"],
        img_resolution=official["img_resolution"], mapping_layers=official["mapping_kwargs"]["num_layers"],
        channel_base=official["channel_base"], channel_max=official["channel_max"]).eval()
    assert sorted(generator.state_dict()) == sorted(state)
    generator.load_state_dict(state)
    with torch.no_grad():
        ws = generator.map(t["inputs.z"], t["inputs.c"], truncation_psi=0.7)
        assert (ws - t["outputs.ws"]).abs().max() <= TOLERANCE
        x = img = None
        start = 0
        for res in generator.synthesis.block_resolutions:
            block = getattr(generator.synthesis, f"b{res}")
            x, img = block(x, img, ws.narrow(1, start, block.num_conv + 1), "const")
            start += block.num_conv
            assert (x - t[f"outputs.b{res}.x"]).abs().max() <= TOLERANCE, res
            assert (img - t[f"outputs.b{res}.img"]).abs().max() <= TOLERANCE, res
        image = generator(t["inputs.z"], t["inputs.c"], truncation_psi=0.7, noise_mode="const").sample
    assert (image - t["outputs.image"]).abs().max() <= TOLERANCE


def test_discriminator_parity_block_by_block():
    official, state, t = load_fixture("stylegan2-d", "D.")
    discriminator = StyleGAN2Discriminator(
        c_dim=official["c_dim"], img_resolution=official["img_resolution"], architecture=official["architecture"],
        channel_base=official["channel_base"], channel_max=official["channel_max"]).eval()
    assert sorted(discriminator.state_dict()) == sorted(state)
    discriminator.load_state_dict(state)
    with torch.no_grad():
        x = None
        for res in discriminator.block_resolutions:
            x = getattr(discriminator, f"b{res}")(x, t["inputs.images"])
            assert (x - t[f"outputs.b{res}"]).abs().max() <= TOLERANCE, res
        logits = discriminator(t["inputs.images"], t["inputs.c"]).logits
    assert (logits - t["outputs.logits"]).abs().max() <= TOLERANCE


def test_generator_noise_modes_and_determinism():
    generator = tiny_generator()
    with torch.no_grad():
        generator.synthesis.b8.conv1.noise_strength.fill_(0.5)  # noise starts at strength 0: make it matter
        z = torch.randn(2, 8)
        const = generator(z, noise_mode="const")
        assert const.sample.shape == (2, 3, 16, 16) and const.ws.shape == (2, generator.num_ws, 8)
        torch.testing.assert_close(generator(z, noise_mode="const").sample, const.sample, atol=0, rtol=0)
        torch.manual_seed(0)
        a = generator(z).sample
        torch.manual_seed(0)
        b = generator(z).sample
        torch.testing.assert_close(a, b, atol=0, rtol=0)  # random noise follows torch's seed
        assert not torch.equal(a, const.sample)
        assert not torch.equal(generator(z, noise_mode="none").sample, const.sample)
        with pytest.raises(ValueError, match="noise_mode"):
            generator(z, noise_mode="fixed")
    assert generator.num_ws == 1 + 2 + 2 + 1  # 4 px: 1 conv, 8 and 16 px: 2 convs each, + the last toRGB


def test_generator_takes_explicit_noise_maps():
    generator = tiny_generator()
    assert generator.noise_resolutions == [4, 8, 8, 16, 16]  # b4.conv1, then conv0 and conv1 of b8 and b16
    with torch.no_grad():
        for layer in generator.synthesis.noise_layers:
            layer.noise_strength.fill_(0.5)
        ws = generator.map(torch.randn(2, 8))
        stored = generator.stored_noise()
        assert [tuple(n.shape) for n in stored] == [(1, 1, r, r) for r in generator.noise_resolutions]
        const = generator.synthesize(ws, noise_mode="const")
        torch.testing.assert_close(generator.synthesize(ws, noise=stored), const, atol=0, rtol=0)  # the same maps
        per_image = [torch.randn(2, 1, r, r) for r in generator.noise_resolutions]
        own = generator.synthesize(ws, noise=per_image)
        assert not torch.equal(own, const)
        torch.testing.assert_close(generator.synthesize(ws[1:], noise=[n[1:] for n in per_image]), own[1:])
        with pytest.raises(ValueError, match=r"noise must be a list of 5 maps .*sides \[4, 8, 8, 16, 16\]"):
            generator.synthesize(ws, noise=stored[:4])
        with pytest.raises(ValueError, match=r"noise map 1 must have shape \(2 or 1, 1, 8, 8\), got \(2, 1, 4, 4\)"):
            generator.synthesize(ws, noise=[stored[0], stored[0].expand(2, -1, -1, -1)] + stored[2:])


def test_discriminator_shapes_conditioning_and_orig():
    discriminator = StyleGAN2Discriminator(c_dim=3, img_resolution=16, channel_base=64, channel_max=8)
    images = torch.randn(4, 3, 16, 16)
    logits = discriminator(images, torch.eye(3)[[0, 1, 2, 0]]).logits
    assert logits.shape == (4,)
    assert not torch.allclose(logits, discriminator(images, torch.eye(3)[[1, 2, 0, 1]]).logits)  # the label counts
    with pytest.raises(ValueError, match="conditional"):
        discriminator(images)
    plain = StyleGAN2Discriminator(img_resolution=16, channel_base=64, channel_max=8, architecture="orig")
    assert not any("skip" in k for k in plain.state_dict()) and plain(images).logits.shape == (4,)
    logits.sum().backward()  # trainable end to end
    assert discriminator.b16.fromrgb.weight.grad is not None


def test_save_and_load_round_trip(tmp_path):
    generator = tiny_generator(c_dim=2)
    generator.save_pretrained(tmp_path / "g")
    loaded = StyleGAN2Generator.from_pretrained(tmp_path / "g").eval()
    z, c = torch.randn(2, 8), torch.eye(2)
    with torch.no_grad():
        torch.testing.assert_close(loaded(z, c, noise_mode="const").sample, generator(z, c, noise_mode="const").sample)
    discriminator = StyleGAN2Discriminator(img_resolution=16, channel_base=64, channel_max=8).eval()
    discriminator.save_pretrained(tmp_path / "d")
    images = torch.randn(2, 3, 16, 16)
    torch.testing.assert_close(StyleGAN2Discriminator.from_pretrained(tmp_path / "d")(images).logits,
                               discriminator(images).logits)


@pytest.mark.parametrize("cls, overrides, match", [
    (StyleGAN2Generator, dict(img_resolution=24), "img_resolution"),
    (StyleGAN2Generator, dict(mapping_layers=0), "mapping_layers"),
    (StyleGAN2Discriminator, dict(architecture="skip"), "architecture"),
    (StyleGAN2Discriminator, dict(mbstd_num_channels=2), "mbstd_num_channels"),
])
def test_bad_config(cls, overrides, match):
    base = dict(img_resolution=16, channel_base=64, channel_max=8)
    with pytest.raises(ValueError, match=match):
        cls(**{**base, **overrides})


@pytest.mark.parametrize("kind", ["stylegan2", "stylegan3"])
def test_fused_and_separate_modulation_agree(kind):
    """Without gradients the modulated convolutions run fused (one grouped convolution), with them as scaled
    activations around a shared convolution (faster to train on a CPU): the same images."""
    from hfgan import StyleGAN3Generator

    if kind == "stylegan2":
        generator = tiny_generator()
    else:
        generator = StyleGAN3Generator(z_dim=8, w_dim=8, img_resolution=16, channel_base=256, channel_max=8,
                                       num_layers=4, num_critical=1, margin_size=2).eval()
        for name in generator.synthesis.layer_names:
            getattr(generator.synthesis, name).magnitude_ema.fill_(0.3)  # an input gain that is not 1
    z = torch.randn(3, 8)
    with torch.no_grad():
        fused = generator(z, noise_mode="const").sample
    separate = generator(z, noise_mode="const").sample
    torch.testing.assert_close(separate.detach(), fused, atol=2e-5, rtol=1e-5)
