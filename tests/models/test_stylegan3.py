"""StyleGAN3's generator: parity with NVIDIA's code (a committed fixture, and live against a local clone when
HFGAN_STYLEGAN3_REPO names one), shapes, determinism, truncation, the user transform, save/load, bad configs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from safetensors import safe_open

from hfgan import StyleGAN3Generator
from hfgan.conversion.stylegan import hfgan_config
from hfgan.models.layers.filters import design_lowpass_filter, upfirdn2d
from hfgan.models.stylegan.stylegan3 import make_transform

FIXTURES = Path(__file__).parents[1] / "fixtures" / "stylegan"
TOLERANCE = 1e-4  # the parity bound; measured: <= 3e-7 (docs/stylegan.md)


def hfgan_kwargs(official: dict) -> dict:
    """NVIDIA's constructor arguments -> StyleGAN3Generator's config, as `hfgan convert-pkl` maps them."""
    return hfgan_config("training.networks_stylegan3.Generator", [], official)[1]


def load_fixture(name: str):
    with safe_open(FIXTURES / f"{name}.safetensors", "pt") as f:
        meta = f.metadata()
        tensors = {k: f.get_tensor(k) for k in f.keys()}
    official = json.loads(meta["constructor"])
    state = {k[2:]: v for k, v in tensors.items() if k.startswith("G.")}
    return official, state, tensors, float(meta["truncation_psi"])


def tiny(**overrides) -> StyleGAN3Generator:
    kwargs = dict(z_dim=8, w_dim=8, img_resolution=16, channel_base=256, channel_max=8, num_layers=4,
                  num_critical=1, margin_size=2)
    return StyleGAN3Generator(**{**kwargs, **overrides}).eval()


@pytest.mark.parametrize("name", ["stylegan3-t", "stylegan3-r"])
def test_parity_with_the_official_outputs_layer_by_layer(name):
    official, state, t, psi = load_fixture(name)
    generator = StyleGAN3Generator(**hfgan_kwargs(official)).eval()
    designed = generator.state_dict()
    assert sorted(designed) == sorted(state)  # NVIDIA's names: conversion is a copy (safetensors sorts the keys)
    for key in (k for k in state if k.endswith("_filter")):  # the filters hfgan designs are NVIDIA's
        torch.testing.assert_close(designed[key], state[key], atol=1e-6, rtol=0)
    generator.load_state_dict(state)
    c = t["inputs.c"] if official["c_dim"] else None
    with torch.no_grad():
        ws = generator.map(t["inputs.z"], c, truncation_psi=psi)
        assert (ws - t["outputs.ws"]).abs().max() <= TOLERANCE
        x = generator.synthesis.input(ws[:, 0])
        assert (x - t["outputs.input"]).abs().max() <= TOLERANCE
        for layer_name, w in zip(generator.synthesis.layer_names, ws.unbind(1)[1:]):
            x = getattr(generator.synthesis, layer_name)(x, w)
            assert (x - t[f"outputs.{layer_name}"]).abs().max() <= TOLERANCE, layer_name
        assert (generator(t["inputs.z"], c, truncation_psi=psi).sample - t["outputs.image"]).abs().max() <= TOLERANCE
        generator.synthesis.input.transform.copy_(t["inputs.transform"])
        assert (generator.synthesize(ws) - t["outputs.image_transformed"]).abs().max() <= TOLERANCE


def test_live_parity_with_the_official_code(nvidia_stylegan):
    networks, perturb = nvidia_stylegan.networks3, nvidia_stylegan.perturb
    for official in nvidia_stylegan.configs.values():
        reference = networks.Generator(**official)
        perturb(reference, torch.Generator().manual_seed(0))
        generator = StyleGAN3Generator(**hfgan_kwargs(official))
        generator.load_state_dict(reference.state_dict())
        z = torch.randn(3, official["z_dim"])
        c = torch.eye(official["c_dim"])[[0, 1, 0]] if official["c_dim"] else None
        expected = reference(z, c if c is not None else torch.zeros(3, 0), update_emas=True)  # train mode: EMAs
        got = generator(z, c, update_emas=True).sample
        assert (got - expected).abs().max() <= TOLERANCE
        assert list(generator.state_dict()) == list(reference.state_dict())  # the same names in the same order
        torch.testing.assert_close(generator.state_dict(), reference.state_dict(), atol=1e-6, rtol=0)


def test_shapes_determinism_and_truncation():
    generator = tiny()
    z = torch.randn(3, 8, generator=torch.Generator().manual_seed(0))
    out = generator(z)
    assert out.sample.shape == (3, 3, 16, 16) and out.ws.shape == (3, generator.num_ws, 8)
    torch.testing.assert_close(generator(z).sample, out.sample, atol=0, rtol=0)
    images, ws = generator(z, return_dict=False)
    torch.testing.assert_close(images, out.sample)
    generator.mapping.w_avg.normal_()
    full = generator.map(z)
    at_mean = generator.map(z, truncation_psi=0.0)
    torch.testing.assert_close(at_mean, generator.mapping.w_avg.expand_as(at_mean))
    half = generator.map(z, truncation_psi=0.5, truncation_cutoff=2)
    torch.testing.assert_close(half[:, :2], (full[:, :2] + at_mean[:, :2]) / 2)
    torch.testing.assert_close(half[:, 2:], full[:, 2:])


def test_update_emas_tracks_w_avg_and_input_magnitudes():
    generator = tiny().train()
    layer = getattr(generator.synthesis, generator.synthesis.layer_names[1])
    generator(torch.randn(4, 8))
    assert generator.mapping.w_avg.abs().sum() == 0 and layer.magnitude_ema.item() == 1.0
    generator(torch.randn(4, 8), update_emas=True)
    assert generator.mapping.w_avg.abs().sum() > 0 and layer.magnitude_ema.item() != 1.0


def test_transform_translates_the_image():
    """Config T is equivariant to translation: shifting by a whole number of pixels moves the image's interior by
    as many pixels (the margins keep the border content consistent only approximately)."""
    generator = tiny(img_resolution=32, channel_base=512, channel_max=8, num_layers=6, num_critical=2, margin_size=8)
    ws = generator.map(torch.randn(2, 8))
    with torch.no_grad():
        base = generator.synthesize(ws)
        generator.set_transform(translate=(4 / 32, 0.0))
        moved = generator.synthesize(ws)
        generator.set_transform()
        again = generator.synthesize(ws)
    torch.testing.assert_close(again, base)
    shifted_err = (moved[..., 8:24] - base[..., 4:20]).abs().mean()  # content moved 4 px to the right
    unshifted_err = (moved[..., 8:24] - base[..., 8:24]).abs().mean()
    assert shifted_err < 0.3 * unshifted_err
    torch.testing.assert_close(make_transform(), torch.eye(3))


def test_conditional_generator_needs_labels():
    generator = tiny(c_dim=3)
    assert generator(torch.randn(2, 8), torch.eye(3)[:2]).sample.shape == (2, 3, 16, 16)
    with pytest.raises(ValueError, match="conditional"):
        generator(torch.randn(2, 8))
    with pytest.raises(ValueError, match=r"z must have shape \(batch, 8\)"):
        generator(torch.randn(2, 7))
    with pytest.raises(ValueError, match="ws must have shape"):
        generator.synthesize(torch.randn(2, 3, 8))


def test_save_and_load_round_trip(tmp_path):
    generator = tiny(use_radial_filters=True, conv_kernel=1)
    generator.mapping.w_avg.normal_()
    generator.save_pretrained(tmp_path)
    loaded = StyleGAN3Generator.from_pretrained(tmp_path).eval()
    public = lambda config: {k: v for k, v in config.items() if not k.startswith("_")}  # noqa: E731
    assert public(loaded.config) == public(generator.config)
    z = torch.randn(2, 8)
    with torch.no_grad():
        torch.testing.assert_close(loaded(z, truncation_psi=0.7).sample, generator(z, truncation_psi=0.7).sample)


@pytest.mark.parametrize("overrides, match", [
    (dict(num_layers=1, num_critical=2), "num_layers"),
    (dict(z_dim=0), "z_dim"),
    (dict(img_resolution=16.0), "img_resolution"),
])
def test_bad_config(overrides, match):
    with pytest.raises(ValueError, match=match):
        tiny(**overrides)


def test_lowpass_design_and_upfirdn2d():
    f = design_lowpass_filter(12, cutoff=4, width=3, fs=32)
    assert f.shape == (12,) and abs(f.sum().item() - 1) < 1e-6 and torch.allclose(f, f.flip(0))
    radial = design_lowpass_filter(12, cutoff=4, width=3, fs=32, radial=True)
    assert radial.shape == (12, 12) and abs(radial.sum().item() - 1) < 1e-6
    assert design_lowpass_filter(1, cutoff=4, width=3, fs=32) is None
    x = torch.randn(1, 2, 8, 8)
    assert upfirdn2d(x, None).equal(x)
    # a constant stays constant away from the zero padding when upsampled with gain up**2 by a filter summing to 1
    up = upfirdn2d(torch.ones(1, 1, 8, 8), f, up=2, padding=[6, 5, 6, 5], gain=4)
    assert up.shape == (1, 1, 16, 16)
    torch.testing.assert_close(up[..., 6:10, 6:10], torch.ones(1, 1, 4, 4), atol=1e-5, rtol=0)
    assert upfirdn2d(x, f, down=2, padding=5).shape == (1, 2, 4, 4)


@pytest.mark.parametrize("up, down, padding, taps", [
    (2, 1, [13, 12, 13, 12], 12), (4, 1, [-6, -9, -6, -9], 24), (1, 2, [3, -2, 1, 4], 12), (2, 2, [1, 1, 1, 1], 7),
    (3, 1, [40, 40, 2, 2], 9), (2, 1, [3, 1, -2, 5], 5),
])
def test_separable_upfirdn2d_equals_the_literal_order(up, down, padding, taps):
    """The polyphase, strided separable path against the 2-D path (zero insertion, padding, one 2-D convolution,
    then subsampling) with the outer product of the same filter, on a non-square image with uneven padding."""
    x = torch.randn(2, 3, 20, 17, dtype=torch.float64)
    f = torch.rand(taps, dtype=torch.float64)
    separable = upfirdn2d(x, f, up=up, down=down, padding=padding, gain=up**2)
    literal = upfirdn2d(x, torch.outer(f, f), up=up, down=down, padding=padding, gain=up**2)
    torch.testing.assert_close(separable, literal, atol=1e-12, rtol=0)
