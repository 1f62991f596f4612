import pytest
import torch
from torch import nn

from hfgan import DCGANDiscriminator, DCGANGenerator
from hfgan.models.dcgan import DCGANDiscriminatorOutput, DCGANGeneratorOutput

TINY = dict(base_channels=4, image_size=16)


def layer_specs(seq: nn.Sequential):
    """(type, key hyper-parameters) of each layer, to compare against the seed architecture."""
    specs = []
    for m in seq:
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
            specs.append((type(m).__name__, m.in_channels, m.out_channels, m.kernel_size, m.stride, m.padding, m.bias))
        elif isinstance(m, nn.BatchNorm2d):
            specs.append(("BatchNorm2d", m.num_features))
        elif isinstance(m, nn.LeakyReLU):
            specs.append(("LeakyReLU", m.negative_slope, m.inplace))
        elif isinstance(m, nn.ReLU):
            specs.append(("ReLU", m.inplace))
        else:
            specs.append((type(m).__name__,))
    return specs


def test_default_generator_is_the_seed_architecture():
    ct = lambda i, o, s, p: ("ConvTranspose2d", i, o, (4, 4), (s, s), (p, p), None)  # noqa: E731
    expected = [ct(100, 512, 1, 0), ("BatchNorm2d", 512), ("ReLU", True)]
    for i, o in [(512, 256), (256, 128), (128, 64)]:
        expected += [ct(i, o, 2, 1), ("BatchNorm2d", o), ("ReLU", True)]
    expected += [ct(64, 3, 2, 1), ("Tanh",)]
    assert layer_specs(DCGANGenerator().main) == expected


def test_default_discriminator_is_the_seed_architecture():
    cv = lambda i, o, s, p: ("Conv2d", i, o, (4, 4), (s, s), (p, p), None)  # noqa: E731
    expected = [cv(3, 64, 2, 1), ("LeakyReLU", 0.2, True)]
    for i, o in [(64, 128), (128, 256), (256, 512)]:
        expected += [cv(i, o, 2, 1), ("BatchNorm2d", o), ("LeakyReLU", 0.2, True)]
    expected += [cv(512, 1, 1, 0), ("Sigmoid",)]
    assert layer_specs(DCGANDiscriminator().main) == expected


@pytest.mark.parametrize("image_size, stages", [(8, 0), (16, 1), (32, 2), (64, 3), (128, 4)])
def test_image_size_adds_or_removes_a_stage(image_size, stages):
    g = DCGANGenerator(latent_dim=8, base_channels=4, image_size=image_size)
    d = DCGANDiscriminator(base_channels=4, image_size=image_size)
    assert len(g.main) == 3 * (stages + 1) + 2
    assert len(d.main) == 2 + 3 * stages + 2
    x = g(torch.randn(2, 8)).sample
    assert x.shape == (2, 3, image_size, image_size)
    out = d(x)
    assert out.logits.shape == (2,) and out.features.shape == (2, 4 * 2**stages, 4, 4)


def test_dcgan_init_statistics():
    g = DCGANGenerator()
    conv_w = torch.cat([m.weight.flatten() for m in g.modules() if isinstance(m, nn.ConvTranspose2d)])
    bn = [m for m in g.modules() if isinstance(m, nn.BatchNorm2d)]
    bn_w = torch.cat([m.weight.flatten() for m in bn])
    assert abs(conv_w.mean().item()) < 1e-3 and abs(conv_w.std().item() - 0.02) < 1e-3
    assert abs(bn_w.mean().item() - 1.0) < 5e-3 and abs(bn_w.std().item() - 0.02) < 5e-3
    assert all(torch.all(m.bias == 0) for m in bn)


def test_generator_output_and_latent_shapes():
    g = DCGANGenerator(latent_dim=8, **TINY)
    z = torch.randn(3, 8)
    out = g(z)
    assert isinstance(out, DCGANGeneratorOutput)
    assert out.sample.shape == (3, 3, 16, 16)
    assert out.sample.abs().max() <= 1  # Tanh
    g.eval()
    assert torch.equal(g(z).sample, g(z[:, :, None, None]).sample)  # (B, nz) and (B, nz, 1, 1) agree
    (sample,) = g(z, return_dict=False)
    assert torch.equal(sample, g(z).sample)


@pytest.mark.parametrize("shape", [(3, 7), (3, 8, 2, 2), (8,), (3, 8, 1)])
def test_generator_rejects_wrong_latent_shape(shape):
    with pytest.raises(ValueError, match="latents must have shape"):
        DCGANGenerator(latent_dim=8, **TINY)(torch.randn(*shape))


def test_discriminator_outputs_are_consistent():
    d = DCGANDiscriminator(**TINY).eval()
    x = torch.rand(5, 3, 16, 16) * 2 - 1
    out = d(x)
    assert isinstance(out, DCGANDiscriminatorOutput)
    assert out.probs.shape == out.logits.shape == (5,)
    torch.testing.assert_close(out.probs, torch.sigmoid(out.logits))
    # the Sigmoid in `main` is the one that produced probs: running `main` whole gives the same numbers
    torch.testing.assert_close(d.main(x).flatten(), out.probs)
    assert out.features.shape == (5, d.feature_dim, 4, 4)
    probs, logits, features = d(x, return_dict=False)
    assert torch.equal(logits, out.logits) and torch.equal(features, out.features)


def test_discriminator_rejects_wrong_image_shape():
    with pytest.raises(ValueError, match=r"images must have shape \(batch_size, 3, 16, 16\)"):
        DCGANDiscriminator(**TINY)(torch.randn(2, 3, 32, 32))


@pytest.mark.parametrize(
    "cls, kwargs, name",
    [
        (DCGANGenerator, dict(image_size=48), "image_size"),
        (DCGANGenerator, dict(image_size=4), "image_size"),
        (DCGANGenerator, dict(latent_dim=0), "latent_dim"),
        (DCGANGenerator, dict(latent_dim=10.0), "latent_dim"),
        (DCGANGenerator, dict(base_channels="64"), "base_channels"),
        (DCGANGenerator, dict(num_channels=True), "num_channels"),
        (DCGANDiscriminator, dict(image_size=100), "image_size"),
        (DCGANDiscriminator, dict(base_channels=-1), "base_channels"),
        (DCGANDiscriminator, dict(norm="layer"), "norm"),
        (DCGANDiscriminator, dict(noise=-0.1), "noise"),
        (DCGANDiscriminator, dict(noise=float("nan")), "noise"),
        (DCGANDiscriminator, dict(noise="0.3"), "noise"),
    ],
)
def test_bad_config_raises_value_error_naming_the_argument(cls, kwargs, name):
    with pytest.raises(ValueError, match=name):
        cls(**kwargs)


@pytest.mark.parametrize("cls, kwargs", [(DCGANGenerator, dict(latent_dim=8, **TINY)), (DCGANDiscriminator, TINY)])
def test_save_load_round_trip(tmp_path, cls, kwargs):
    model = cls(**kwargs)
    model.save_pretrained(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config.json", "diffusion_pytorch_model.safetensors"]
    loaded = cls.from_pretrained(tmp_path)
    public = lambda config: {k: v for k, v in config.items() if not k.startswith("_")}  # noqa: E731
    assert public(loaded.config) == public(model.config)
    for (name, a), (_, b) in zip(model.state_dict().items(), loaded.state_dict().items()):
        assert torch.equal(a, b), name


def test_from_pretrained_names_missing_config(tmp_path):
    DCGANGenerator(latent_dim=8, **TINY).save_pretrained(tmp_path)
    (tmp_path / "config.json").unlink()
    with pytest.raises(FileNotFoundError, match="config.json"):
        DCGANGenerator.from_pretrained(tmp_path)


def test_from_pretrained_names_missing_weights_and_refuses_pickles(tmp_path):
    model = DCGANGenerator(latent_dim=8, **TINY)
    model.save_pretrained(tmp_path)
    (tmp_path / "diffusion_pytorch_model.safetensors").unlink()
    with pytest.raises(FileNotFoundError, match="diffusion_pytorch_model.safetensors"):
        DCGANGenerator.from_pretrained(tmp_path)
    torch.save(model.state_dict(), tmp_path / "diffusion_pytorch_model.bin")
    with pytest.raises(FileNotFoundError, match=r"diffusion_pytorch_model\.bin.*never loaded"):
        DCGANGenerator.from_pretrained(tmp_path)
    with pytest.raises(ValueError, match="safetensors"):
        DCGANGenerator.from_pretrained(tmp_path, use_safetensors=False)


def test_save_refuses_pickles(tmp_path):
    with pytest.raises(ValueError, match="safetensors"):
        DCGANGenerator(latent_dim=8, **TINY).save_pretrained(tmp_path, safe_serialization=False)


def test_from_pretrained_dtype(tmp_path):
    DCGANGenerator(latent_dim=8, **TINY).save_pretrained(tmp_path)
    model = DCGANGenerator.from_pretrained(tmp_path, torch_dtype=torch.float64)
    assert model.dtype == torch.float64
    assert model(torch.randn(2, 8, dtype=torch.float64)).sample.dtype == torch.float64


def test_classifier_discriminator_keeps_id2label_through_save_and_load(tmp_path):
    discriminator = DCGANDiscriminator(base_channels=4, image_size=8, num_classes=3, id2label={0: "a", 1: "b", 2: "c"})
    discriminator.save_pretrained(tmp_path)
    loaded = DCGANDiscriminator.from_pretrained(tmp_path)
    assert loaded.labels == ["a", "b", "c"] and loaded.config.id2label == {"0": "a", "1": "b", "2": "c"}
    x = torch.rand(2, 3, 8, 8) * 2 - 1
    torch.testing.assert_close(loaded.eval()(x).class_logits, discriminator.eval()(x).class_logits)
    assert DCGANDiscriminator(base_channels=4, image_size=8, num_classes=2).labels == ["LABEL_0", "LABEL_1"]


def test_unconditional_discriminator_is_unchanged_by_the_classifier_options():
    plain = DCGANDiscriminator(base_channels=4, image_size=8)
    assert plain(torch.zeros(1, 3, 8, 8)).class_logits is None and plain.labels is None
    assert set(plain.state_dict()) == {k for k in plain.state_dict() if not k.startswith("probe")}
    assert plain.main[-2].out_channels == 1


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"num_classes": 1}, "num_classes must be >= 2"),
        ({"num_classes": 3, "id2label": {0: "a", 1: "b"}}, "exactly the classes 0..2"),
        ({"id2label": {0: "a"}}, "id2label needs num_classes"),
        ({"num_classes": 2, "classifier": "svm"}, "classifier must be one of"),
    ],
)
def test_classifier_config_errors(kwargs, message):
    with pytest.raises(ValueError, match=message):
        DCGANDiscriminator(base_channels=4, image_size=8, **kwargs)


def test_linear_probe_classifier_applies_the_fitted_probe():
    from hfgan.training import fit_linear_probe

    torch.manual_seed(0)
    discriminator = DCGANDiscriminator(base_channels=4, image_size=16).eval()
    images, labels = torch.rand(30, 3, 16, 16) * 2 - 1, torch.arange(30) % 3
    images[labels == 1] *= 0.2  # classes a probe can tell apart
    images[labels == 2] = images[labels == 2].abs()
    with torch.no_grad():
        features = discriminator.probe_features(images)  # every stage, each max-pooled to 4x4
    assert features.shape == (30, (4 + 8) * 16)
    weight, bias = fit_linear_probe(features, labels, 3)
    classifier = discriminator.with_probe(weight, bias, ["x", "y", "z"]).eval()
    with torch.no_grad():
        logits = classifier(images).class_logits
        torch.testing.assert_close(logits, features @ weight.T + bias, rtol=1e-4, atol=1e-4)
        assert (logits.argmax(1) == labels).float().mean() == 1.0
        torch.testing.assert_close(classifier(images).logits, discriminator(images).logits)  # real/fake unchanged
    assert classifier.labels == ["x", "y", "z"] and classifier.config.classifier == "probe"
    with pytest.raises(ValueError, match="with_probe"):
        DCGANDiscriminator(base_channels=4, image_size=8, num_classes=3).with_probe(weight, bias)


@pytest.mark.parametrize("norm", ["weight", "none"])
def test_discriminator_without_batch_norm_scores_each_image_alone(tmp_path, norm):
    torch.manual_seed(0)
    d = DCGANDiscriminator(**TINY, num_classes=3, norm=norm).train()
    assert not any(isinstance(m, nn.BatchNorm2d) for m in d.modules())
    x = torch.rand(4, 3, 16, 16) * 2 - 1
    # in training mode too, an image's logits do not depend on the rest of its batch (BatchNorm's would)
    assert torch.allclose(d(x).class_logits[:1], d(x[:1]).class_logits, atol=1e-6)
    d.save_pretrained(tmp_path)
    loaded = DCGANDiscriminator.from_pretrained(tmp_path)
    assert loaded.config.norm == norm
    assert torch.equal(loaded(x).class_logits, d(x).class_logits)


def test_batch_norm_discriminator_depends_on_its_batch():  # the contrast the test above relies on
    torch.manual_seed(0)
    d = DCGANDiscriminator(**TINY, num_classes=3).train()
    x = torch.rand(4, 3, 16, 16) * 2 - 1
    assert not torch.allclose(d(x).class_logits[:1], d(x[:2]).class_logits[:1], atol=1e-4)


def test_discriminator_noise_perturbs_training_only():
    torch.manual_seed(0)
    plain = DCGANDiscriminator(**TINY, num_classes=3, norm="none")
    noisy = DCGANDiscriminator(**TINY, num_classes=3, norm="none", noise=0.3)
    noisy.load_state_dict(plain.state_dict())  # noise has no weights
    x = torch.rand(4, 3, 16, 16) * 2 - 1
    for d in (plain, noisy):
        d.eval()
    torch.testing.assert_close(noisy(x).class_logits, plain(x).class_logits)  # evaluation: no noise
    noisy.train()
    plain.train()
    first, second = noisy(x).class_logits, noisy(x).class_logits
    assert not torch.allclose(first, second) and not torch.allclose(first, plain(x).class_logits)
    torch.manual_seed(1)
    by_hand = x + 0.3 * torch.randn_like(x)  # the input's noise, then each stage's after its LeakyReLU
    for layer in plain.main[:-2]:
        by_hand = layer(by_hand)
        if isinstance(layer, nn.LeakyReLU):
            by_hand = by_hand + 0.3 * torch.randn_like(by_hand)
    torch.manual_seed(1)
    torch.testing.assert_close(noisy(x).features, by_hand)
