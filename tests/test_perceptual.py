"""Perceptual distances: emoji-cnn-distance against a reference written with lpips's own normalisation; LPIPS (VGG)
wiring with RANDOM VGG16 weights (no ImageNet weights on a machine without network: these tests check that weights
reach the right layers and that LPIPS is computed as the lpips package computes it, never what LPIPS measures); and the
errors that say how to get the real weights."""

import urllib.error
import warnings

import pytest
import torch

from hfgan.metrics.backbones import EMOJI_CNN_WEIGHTS
from hfgan.perceptual import (
    LPIPS,
    VGG16_URL,
    EmojiCNNDistance,
    PerceptualWeightsError,
    normalize_channels,
    perceptual_distance,
    random_vgg16_weights,
)


def images(n=2, size=16, seed=0):
    return torch.rand(n, 3, size, size, generator=torch.Generator().manual_seed(seed)) * 2 - 1


def test_normalize_channels_by_hand():
    x = torch.tensor([[[[3.0, 0.0]], [[4.0, 0.0]]]])  # (1, 2, 1, 2): pixel 0 is (3, 4), pixel 1 is (0, 0)
    out = normalize_channels(x)
    torch.testing.assert_close(out[0, :, 0, 0], torch.tensor([0.6, 0.8]))
    torch.testing.assert_close(out[0, :, 0, 1], torch.tensor([0.0, 0.0]))
    x.requires_grad_(True)
    normalize_channels(x).sum().backward()
    assert torch.isfinite(x.grad).all()  # an all-zero activation vector has a finite gradient (lpips's form: NaN)


def test_emoji_cnn_distance_is_lpips_recipe_with_uniform_weights():
    import lpips

    distance = EmojiCNNDistance()
    assert distance.name == "emoji-cnn-distance" and "not LPIPS" in distance.display_name
    a, b = images(seed=0), images(seed=1)
    # the reference: activations after every ReLU of the network (hooks), lpips's normalize_tensor, squared
    # differences summed over channels, averaged over pixels, summed over layers with weight 1
    acts = []
    hooks = [m.register_forward_hook(lambda m, i, o: acts.append(o.clone())) for m in distance.net.features
             if isinstance(m, torch.nn.ReLU)]
    with torch.no_grad():
        resized = [torch.nn.functional.interpolate(x, size=(64, 64), mode="bilinear", antialias=True) for x in (a, b)]
        distance.net(torch.cat(resized))
    for h in hooks:
        h.remove()
    assert len(acts) == 5
    expected = sum(
        (lpips.normalize_tensor(fa) - lpips.normalize_tensor(fb)).pow(2).sum(1).mean((1, 2))
        for fa, fb in (act.chunk(2) for act in acts)
    )
    torch.testing.assert_close(distance(a, b), expected, rtol=1e-4, atol=1e-5)


def test_emoji_cnn_distance_properties_and_gradients():
    distance = perceptual_distance("emoji-cnn-distance")
    a, b = images(seed=0), images(seed=1).requires_grad_(True)
    d = distance(a, b)
    assert d.shape == (2,) and (d > 0).all()
    torch.testing.assert_close(distance(a, a), torch.zeros(2))
    torch.testing.assert_close(distance(b, a), d)  # symmetric
    d.sum().backward()
    assert b.grad.abs().sum() > 0 and all(p.grad is None and not p.requires_grad for p in distance.parameters())
    distance.train()
    assert not distance.training and not distance.net.training  # frozen: BatchNorm keeps its statistics
    with pytest.raises(ValueError, match="compares two batches of the same shape"):
        distance(a, images(size=8))
    # the card names the shipped weights by their place in the package, a given folder by its path
    assert distance.weights_source == "shipped with hfgan (hfgan/metrics/weights/emoji-cnn)"
    folder = str(EMOJI_CNN_WEIGHTS)
    assert perceptual_distance("emoji-cnn-distance", folder).weights_source == folder


def test_lpips_random_backbone_is_lpips_packages_computation():
    """RANDOM VGG16 (wiring only): our LPIPS equals `lpips.LPIPS(net="vgg")` given the same trunk weights."""
    import lpips

    ours = LPIPS(random_backbone=True)
    assert "not LPIPS" in ours.weights_source and ours.name == "lpips-vgg"
    with warnings.catch_warnings():  # lpips passes torchvision the deprecated `pretrained=False`
        warnings.simplefilter("ignore")
        reference = lpips.LPIPS(net="vgg", pnet_rand=True, verbose=False)
    reference.net.load_state_dict(ours.lpips.net.state_dict())
    a, b = images(seed=0), images(seed=1)
    with torch.no_grad():
        torch.testing.assert_close(ours(a, b), reference(a, b).flatten())
    assert torch.equal(ours.lpips.lin0.model[1].weight, reference.lin0.model[1].weight)  # the shipped heads
    assert not any(p.requires_grad for p in ours.parameters())


@pytest.mark.parametrize("suffix", [".safetensors", ".pth"])
def test_lpips_reads_torchvision_vgg16_weights_from_a_file(tmp_path, suffix):
    """RANDOM VGG16 weights (wiring only) under torchvision's names: each tensor reaches lpips's slice of that layer."""
    path = random_vgg16_weights(tmp_path / f"vgg16{suffix}", seed=3)
    ours = perceptual_distance("lpips-vgg", weights=path)
    assert ours.weights_source.startswith(f"VGG16 from {path}")
    from safetensors.torch import load_file

    stored = load_file(path) if suffix == ".safetensors" else torch.load(path, weights_only=True)
    assert torch.equal(ours.lpips.net.slice1[0].weight, stored["features.0.weight"])
    assert torch.equal(getattr(ours.lpips.net.slice5, "28").bias, stored["features.28.bias"])  # lpips keeps the index
    assert ours(images(seed=0), images(seed=1)).shape == (2,)


def test_missing_vgg_weights_say_how_to_supply_them(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))  # an empty torch hub cache
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(PerceptualWeightsError) as info:
        perceptual_distance("lpips-vgg")
    message = str(info.value)
    assert VGG16_URL in message and "weights=PATH" in message and "perceptual.weights=PATH" in message
    assert str(tmp_path / "torch" / "hub" / "checkpoints" / "vgg16-397923af.pth") in message
    assert "emoji-cnn-distance" in message and "not LPIPS" in message

    # online, a failed download gives the same advice (no hanging: urlopen has a timeout), and leaves nothing behind
    monkeypatch.delenv("HF_HUB_OFFLINE")
    monkeypatch.setattr("hfgan.weights.offline", lambda: False)

    def unreachable(url, timeout):
        assert url == VGG16_URL and timeout <= 60
        raise urllib.error.URLError("Name or service not known")

    monkeypatch.setattr("urllib.request.urlopen", unreachable)
    with pytest.raises(PerceptualWeightsError, match=r"downloading it failed.*\n.*perceptual.weights=PATH"):
        LPIPS()
    assert not list((tmp_path / "torch").rglob("*.pth"))

    with pytest.raises(PerceptualWeightsError, match="does not exist"):
        LPIPS(vgg_weights=tmp_path / "nope.pth")
    from safetensors.torch import save_file

    save_file({"weight": torch.zeros(3)}, tmp_path / "other.safetensors")
    with pytest.raises(PerceptualWeightsError, match=r"not torchvision's vgg16 state dict \(no features.0.bias"):
        LPIPS(vgg_weights=tmp_path / "other.safetensors")


def test_unknown_names():
    with pytest.raises(ValueError, match=r"unknown perceptual distance 'LPIPS' \(LPIPS with the VGG backbone is "
                                         r"'lpips-vgg'\); choose one of lpips-vgg, emoji-cnn-distance"):
        perceptual_distance("LPIPS")
    with pytest.raises(PerceptualWeightsError, match="emoji-cnn weights not found"):
        perceptual_distance("emoji-cnn-distance", weights="/no/such/folder")


def test_without_network_the_real_download_fails_with_the_advice(tmp_path, monkeypatch):
    """The default path for real, nothing mocked: an empty torch hub cache, no offline flag, so LPIPS tries
    torchvision's URL. Only where that host does not resolve (these machines): elsewhere it would download 528 MB."""
    import socket

    try:
        socket.getaddrinfo("download.pytorch.org", 443)
        pytest.skip("download.pytorch.org resolves: the real download would run")
    except OSError:
        pass
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    for flag in ("HF_HUB_OFFLINE", "HFGAN_OFFLINE", "TRANSFORMERS_OFFLINE"):
        monkeypatch.delenv(flag, raising=False)
    monkeypatch.setattr("huggingface_hub.constants.HF_HUB_OFFLINE", False)
    with pytest.raises(PerceptualWeightsError, match=r"downloading it failed .*\n.*" + VGG16_URL):
        perceptual_distance("lpips-vgg")
    assert not list((tmp_path / "torch").rglob("*.pth"))
