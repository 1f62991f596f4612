"""Feature backbones: the Inception wiring (random weights, offline), tiny DINOv2, the shipped emoji-cnn."""

import json
import socket
import urllib.error
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from hfgan.metrics import BackboneWeightsError, EmojiFeatureNet, frechet_distance, load_backbone
from hfgan.metrics.backbones import EMOJI_CNN_WEIGHTS, INCEPTION_URL, random_inception_weights, to_uint8
from hfgan.metrics.reference import ReferenceDataset

EMOJI = Path(__file__).resolve().parents[2] / "data" / "emoji"


@pytest.fixture(scope="module")
def inception_weights(tmp_path_factory):
    """Randomly initialised Inception-V3 weights, as .pth and .safetensors: wiring only, never FID."""
    from safetensors.torch import load_file

    folder = tmp_path_factory.mktemp("inception")
    safetensors = random_inception_weights(folder / "inception.safetensors", seed=0)
    pth = folder / "inception.pth"  # the same tensors in torch-fidelity's own file format
    torch.save(load_file(safetensors), pth)
    return pth, safetensors


@pytest.fixture(scope="module")
def emoji_test_images():
    return ReferenceDataset(EMOJI, "test").load_images()


@pytest.fixture
def no_network(monkeypatch):
    """Any attempt to open a network connection fails the test."""

    def refuse(*args, **kwargs):
        raise AssertionError("network access attempted")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


def images(n, size, seed=0):
    return torch.rand(n, 3, size, size, generator=torch.Generator().manual_seed(seed))


# --------------------------------------------------------------------------------------------------------- input


def test_to_uint8_checks_range_and_channels():
    assert to_uint8(torch.ones(1, 3, 4, 4)).unique().tolist() == [255]
    assert to_uint8(torch.zeros(2, 1, 4, 4)).shape == (2, 3, 4, 4)  # grayscale repeated to RGB
    with pytest.raises(ValueError, match=r"\[0, 1\].*\(x \+ 1\) / 2"):
        to_uint8(torch.rand(1, 3, 4, 4) * 2 - 1)
    with pytest.raises(ValueError, match=r"\(N, 3, H, W\)"):
        to_uint8(torch.rand(3, 4, 4))


# ----------------------------------------------------------------------------------------------------- inception


def test_inception_from_local_file_matches_torch_fidelity(inception_weights, no_network):
    from torch_fidelity.feature_extractor_inceptionv3 import FeatureExtractorInceptionV3

    pth, safetensors = inception_weights
    ours = load_backbone("inception", weights=safetensors)
    assert ours.feature_dim == 2048 and ours.weights_source == str(safetensors)
    x = torch.rand(1, 3, 40, 24, generator=torch.Generator().manual_seed(0))  # any size: resized to 299x299
    features = ours(x)
    assert features.shape == (1, 2048) and torch.isfinite(features).all()
    # the same network, loaded by torch-fidelity itself from the .pth file, gives the same features
    reference = FeatureExtractorInceptionV3("inception-v3-compat", ["2048"], feature_extractor_weights_path=str(pth))
    with torch.no_grad():
        expected = reference((x * 255).round().to(torch.uint8))[0]
    torch.testing.assert_close(features, expected, atol=1e-5, rtol=1e-5)
    # .pth and .safetensors give the same network, and the same features again (deterministic)
    torch.testing.assert_close(load_backbone("inception", weights=pth)(x), features, atol=0, rtol=0)


def test_inception_missing_weights_say_how_to_supply_them(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))  # an empty torch hub cache
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(BackboneWeightsError) as info:
        load_backbone("inception")
    message = str(info.value)
    assert "--backbone-weights" in message and INCEPTION_URL in message and "emoji-cnn" in message

    # online, a failed download gives the same advice (no hanging: urlopen has a timeout)
    monkeypatch.delenv("HF_HUB_OFFLINE")
    monkeypatch.setattr("hfgan.weights.offline", lambda: False)

    def unreachable(url, timeout):
        assert timeout <= 60
        raise urllib.error.URLError("Name or service not known")

    monkeypatch.setattr("urllib.request.urlopen", unreachable)
    with pytest.raises(BackboneWeightsError, match=r"downloading it failed.*\n.*--backbone-weights"):
        load_backbone("inception")
    assert not list((tmp_path / "torch").rglob("*.pth"))  # nothing half-written left in the cache

    with pytest.raises(BackboneWeightsError, match="does not exist"):
        load_backbone("inception", weights=tmp_path / "nope.pth")


def test_inception_refuses_weights_of_another_network(tmp_path):
    from safetensors.torch import save_file

    save_file({"weight": torch.zeros(3)}, tmp_path / "other.safetensors")
    with pytest.raises(BackboneWeightsError, match="do not fit Inception-V3"):
        load_backbone("inception", weights=tmp_path / "other.safetensors")


# -------------------------------------------------------------------------------------------------------- dinov2


@pytest.fixture(scope="module")
def tiny_dinov2(tmp_path_factory):
    from transformers import Dinov2Config, Dinov2Model

    torch.manual_seed(0)
    config = Dinov2Config(
        hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64, image_size=28, patch_size=14
    )
    folder = tmp_path_factory.mktemp("dinov2")
    Dinov2Model(config).save_pretrained(folder)
    return folder


def test_dinov2_from_local_folder(tiny_dinov2, no_network):
    backbone = load_backbone("dinov2", weights=tiny_dinov2)
    assert backbone.feature_dim == 32 and backbone.input_size == 224
    x = images(3, 16)
    features = backbone(x)
    assert features.shape == (3, 32) and torch.isfinite(features).all()
    torch.testing.assert_close(load_backbone("dinov2", weights=tiny_dinov2)(x), features, atol=0, rtol=0)
    assert not torch.allclose(features[0], features[1])  # different images, different features
    # the CLS token after the final layer norm, of the resized and ImageNet-normalised image
    pixel = F.interpolate(to_uint8(x).float() / 255, size=(224, 224), mode="bicubic", antialias=True).clamp(0, 1)
    mean, std = torch.tensor([0.485, 0.456, 0.406]), torch.tensor([0.229, 0.224, 0.225])
    pixel = (pixel - mean.view(1, 3, 1, 1)) / std.view(1, 3, 1, 1)
    with torch.no_grad():
        hidden = backbone.model(pixel_values=pixel).last_hidden_state
    torch.testing.assert_close(features, hidden[:, 0], atol=1e-5, rtol=1e-5)  # last_hidden_state is layer-normed
    assert backbone(images(1, 8)).shape == (1, 32)  # another size: resized, not mis-shaped


def test_dinov2_missing_weights_say_how_to_supply_them(tmp_path):
    with pytest.raises(BackboneWeightsError, match=r"no such folder.*\n.*hf download facebook/dinov2-base"):
        load_backbone("dinov2", weights=tmp_path / "missing")
    # a repo id the (test) Hub does not have
    with pytest.raises(BackboneWeightsError, match=r"--backbone-weights"):
        load_backbone("dinov2", weights="hfgan-test/no-such-dinov2")
    # a folder holding another kind of model
    EmojiFeatureNet(num_groups=2, num_subgroups=2, base_channels=2).save_pretrained(tmp_path / "other")
    with pytest.raises(BackboneWeightsError):
        load_backbone("dinov2", weights=tmp_path / "other")


def test_unknown_backbone():
    with pytest.raises(ValueError, match="inception, dinov2, emoji-cnn"):
        load_backbone("vgg")


# ----------------------------------------------------------------------------------------------------- emoji-cnn


def test_emoji_cnn_ships_small_and_loads_offline_deterministically(monkeypatch, no_network):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    files = {p.name: p.stat().st_size for p in EMOJI_CNN_WEIGHTS.iterdir()}
    assert {"config.json", "diffusion_pytorch_model.safetensors", "training.json"} <= set(files)
    assert sum(files.values()) < 2_000_000
    first, second = load_backbone("emoji-cnn"), load_backbone("emoji-cnn")
    x = images(5, 64)
    features = first(x)
    assert features.shape == (5, 256)
    torch.testing.assert_close(second(x), features, atol=0, rtol=0)
    torch.testing.assert_close(first(x), features, atol=0, rtol=0)
    assert first.fingerprint() == second.fingerprint()
    first.train()
    assert not first.net.training  # a metric network never leaves eval mode


def test_emoji_cnn_accuracy_is_what_training_recorded(emoji_test_images):
    import pyarrow.parquet as pq

    backbone = load_backbone("emoji-cnn")
    recorded = json.loads((EMOJI_CNN_WEIGHTS / "training.json").read_text())["accuracy"]
    labels = torch.tensor(pq.read_table(EMOJI / "emoji-64-test.parquet", columns=["label"]).column("label").to_pylist())
    with torch.no_grad():
        logits = backbone.net(backbone.preprocess(emoji_test_images)).group_logits
    accuracy = float((logits.argmax(1) == labels).double().mean())
    assert accuracy == pytest.approx(recorded["test_group"], abs=0.002)
    assert accuracy > recorded["test_group_majority_baseline"] + 0.1


def test_emoji_cnn_distance_sees_blur_noise_and_shift(emoji_test_images):
    """Held-out real emoji vs the training set, against blurred / noisy / shifted copies of them: clearly farther."""
    backbone = load_backbone("emoji-cnn")
    train_features = backbone(ReferenceDataset(EMOJI, "train").load_images()[::3])  # 1036 images >> 256 dims
    real = emoji_test_images
    blurred = F.avg_pool2d(real.float(), 5, stride=1, padding=2, count_include_pad=False).round().to(torch.uint8)
    noise = 12 * torch.randn(real.shape, generator=torch.Generator().manual_seed(0))
    noisy = (real.float() + noise).clamp(0, 255).round().to(torch.uint8)
    shifted = torch.roll(real, shifts=(8, 8), dims=(2, 3))
    fd_real = frechet_distance(backbone(real), train_features)
    for damaged in (blurred, noisy, shifted):
        assert frechet_distance(backbone(damaged), train_features) > 1.5 * fd_real
    assert frechet_distance(train_features, train_features) == pytest.approx(0.0, abs=1e-6)


def test_emoji_cnn_resizes_other_sizes_with_its_own_preprocessing(emoji_test_images):
    backbone = load_backbone("emoji-cnn")
    x = emoji_test_images[:16]
    big = F.interpolate(x.float(), scale_factor=2, mode="bicubic").clamp(0, 255).round().to(torch.uint8)  # 128 px
    same = F.cosine_similarity(backbone(big), backbone(x)).min()
    other = F.cosine_similarity(backbone(big), backbone(x.roll(1, dims=0))).mean()
    assert same > 0.95 and same > other
