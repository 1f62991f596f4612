"""NVIDIA pickles -> hfgan StyleGAN models and `StyleGANPipeline` folders (hfgan.conversion.stylegan and
`hfgan convert-pkl`): the same images from the same weights, configs from NVIDIA's constructor arguments, clear errors
and nothing written on bad input, nothing from the pickle executed."""

import hashlib
import os
import pickle
from pathlib import Path

import pytest
import torch
from official_pickles import ADA_SOURCE, STYLEGAN2_SOURCE, STYLEGAN3_SOURCE, OfficialNetwork

from hfgan import HfGanPipeline, StyleGAN2Discriminator, StyleGAN2Generator, StyleGAN3Generator, StyleGANPipeline
from hfgan.cli import main
from hfgan.conversion.nvidia_pickle import load_network_pickle
from hfgan.conversion.stylegan import convert_pickle, convert_record, hfgan_config

SG3_KWARGS = dict(z_dim=8, c_dim=0, w_dim=8, img_resolution=16, img_channels=3, channel_base=256, channel_max=8,
                  num_layers=4, num_critical=1, margin_size=2)


def perturbed(model):
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.randn_like(p) * 0.3)
        for name, b in model.named_buffers():
            if name.endswith("w_avg"):
                b.normal_()
    return model.eval()


def stylegan3_snapshot(official):
    """A snapshot dict as NVIDIA's training loop pickles it, of a tiny StyleGAN3 with NVIDIA's constructor arguments
    (mapping_kwargs an EasyDict, GPU-only options included) and a StyleGAN2 discriminator."""
    generator = perturbed(StyleGAN3Generator(**SG3_KWARGS, use_radial_filters=True, conv_kernel=1))
    discriminator = perturbed(StyleGAN2Discriminator(img_resolution=16, channel_base=64, channel_max=8))
    g_kwargs = {**SG3_KWARGS, "use_radial_filters": True, "conv_kernel": 1, "num_fp16_res": 4,
                "mapping_kwargs": official.EasyDict(num_layers=2)}
    d_kwargs = dict(c_dim=0, img_resolution=16, img_channels=3, channel_base=64, channel_max=8, num_fp16_res=4,
                    conv_clamp=256, block_kwargs=official.EasyDict(freeze_layers=0),
                    mapping_kwargs=official.EasyDict(), epilogue_kwargs=official.EasyDict(mbstd_group_size=4))
    snapshot = {
        "G": OfficialNetwork(generator, "Generator", STYLEGAN3_SOURCE, g_kwargs),
        "D": OfficialNetwork(discriminator, "Discriminator", STYLEGAN2_SOURCE, d_kwargs),
        "G_ema": OfficialNetwork(generator, "Generator", STYLEGAN3_SOURCE, g_kwargs),
        "augment_pipe": None,
        "training_set_kwargs": {"path": "ffhq.zip", "resolution": 16},
    }
    return snapshot, generator, discriminator


def write(path: Path, obj) -> Path:
    path.write_bytes(pickle.dumps(obj, protocol=4))
    return path


def test_convert_pickle_writes_a_pipeline_with_the_same_images(official, tmp_path):
    snapshot, generator, _ = stylegan3_snapshot(official)
    src = write(tmp_path / "stylegan3-r-tiny.pkl", snapshot)
    out = convert_pickle(src, tmp_path / "converted")
    pipe = HfGanPipeline.from_pretrained(out)
    assert isinstance(pipe, StyleGANPipeline) and isinstance(pipe.generator, StyleGAN3Generator)
    assert pipe.generator.config.use_radial_filters and pipe.generator.config.conv_kernel == 1
    z = torch.randn(3, 8)
    with torch.no_grad():
        expected = generator(z, truncation_psi=0.7).sample
    got = pipe(latents=z, truncation_psi=0.7, output_type="pt").images  # [0, 1]
    torch.testing.assert_close(got, ((expected + 1) / 2).clamp(0, 1), atol=1e-5, rtol=0)
    card = (out / "README.md").read_text()
    assert hashlib.sha256(src.read_bytes()).hexdigest() in card
    assert hashlib.sha256(STYLEGAN3_SOURCE.encode()).hexdigest() in card
    assert "training.networks_stylegan3.Generator" in card and "license: other" in card
    assert sorted(os.listdir(tmp_path)) == ["converted", "stylegan3-r-tiny.pkl"]  # no temporary folder left


def test_discriminators_and_ada_generators_convert(official, tmp_path):
    snapshot, _, discriminator = stylegan3_snapshot(official)
    d = convert_record(load_network_pickle(write(tmp_path / "s.pkl", snapshot))["D"])
    images = torch.randn(4, 3, 16, 16)
    assert isinstance(d, StyleGAN2Discriminator)
    torch.testing.assert_close(d(images).logits, discriminator(images).logits)
    # stylegan2-ada-pytorch: module `training.networks`, synthesis_kwargs nested, a conditional generator
    ada = perturbed(StyleGAN2Generator(z_dim=8, c_dim=2, w_dim=8, img_resolution=16, mapping_layers=2,
                                       channel_base=64, channel_max=8))
    kwargs = dict(z_dim=8, c_dim=2, w_dim=8, img_resolution=16, img_channels=3,
                  mapping_kwargs=official.EasyDict(num_layers=2),
                  synthesis_kwargs=official.EasyDict(channel_base=64, channel_max=8, num_fp16_res=0, conv_clamp=256))
    src = write(tmp_path / "ada.pkl", {"G_ema": OfficialNetwork(ada, "Generator", ADA_SOURCE, kwargs)})
    record = load_network_pickle(src)["G_ema"]
    assert record.class_name == "training.networks.Generator"
    g = convert_record(record)
    z, c = torch.randn(2, 8), torch.eye(2)
    with torch.no_grad():
        torch.testing.assert_close(g(z, c, noise_mode="const").sample, ada(z, c, noise_mode="const").sample)
    pipe = StyleGANPipeline(generator=g)
    assert pipe(num_images=2, class_labels=[0, 1], output_type="pt").images.shape == (2, 3, 16, 16)


@pytest.mark.parametrize("class_name, kwargs, message", [
    ("training.networks_stylegan3.Generator", {**SG3_KWARGS, "superres": True}, "no equivalent of superres=True"),
    ("training.networks_stylegan2.Generator", {"architecture": "resnet"}, "no equivalent of architecture='resnet'"),
    ("training.networks_stylegan2.Discriminator", {"block_kwargs": {"activation": "relu"}}, "activation='relu'"),
    ("training.networks_stylegan2.Generator", {"mapping_kwargs": {"embed_features": 64}}, "embed_features=64"),
    ("training.augment.AugmentPipe", {}, "has no hfgan port"),
    ("SuperResolutionNet", {}, "has no hfgan port"),
])
def test_constructor_arguments_hfgan_does_not_implement_are_named(class_name, kwargs, message):
    with pytest.raises(ValueError, match=message):
        hfgan_config(class_name, [], kwargs)


def test_tensors_that_do_not_fit_are_named(official, tmp_path):
    generator = StyleGAN3Generator(**SG3_KWARGS)
    wrong = {**SG3_KWARGS, "channel_max": 16}  # the constructor arguments say wider layers than the tensors have
    src = write(tmp_path / "s.pkl", {"G_ema": OfficialNetwork(generator, "Generator", STYLEGAN3_SOURCE, wrong)})
    with pytest.raises(ValueError, match="do not fit.*mis-shaped"):
        convert_pickle(src, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_cli_converts_and_refuses_bad_input_without_writing(official, tmp_path, capsys):
    snapshot, _, _ = stylegan3_snapshot(official)
    src = write(tmp_path / "s.pkl", snapshot)
    assert main(["convert-pkl", str(src), str(tmp_path / "out")]) == 0
    assert main(["convert-pkl", str(src), str(tmp_path / "out")]) == 2  # exists
    assert "--overwrite" in capsys.readouterr().err
    assert main(["convert-pkl", str(src), str(tmp_path / "out"), "--overwrite", "--which", "G"]) == 0
    assert main(["convert-pkl", str(src), str(tmp_path / "d"), "--which", "D"]) == 2
    assert "not a generator" in capsys.readouterr().err
    assert main(["convert-pkl", str(src), str(tmp_path / "x"), "--which", "G_avg"]) == 2
    assert "has no network 'G_avg'" in capsys.readouterr().err
    truncated = tmp_path / "truncated.pkl"
    truncated.write_bytes(src.read_bytes()[: len(src.read_bytes()) // 2])
    assert main(["convert-pkl", str(truncated), str(tmp_path / "t")]) == 2
    assert main(["convert-pkl", str(tmp_path / "missing.pkl"), str(tmp_path / "m")]) == 2
    assert not any((tmp_path / name).exists() for name in ("d", "x", "t", "m"))
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".tmp")]


class Payload:
    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return os.system, (f"touch {self.marker}",)


def test_a_payload_in_the_pickle_never_runs_and_nothing_is_written(official, tmp_path, capsys):
    snapshot, _, _ = stylegan3_snapshot(official)
    snapshot["training_set_kwargs"] = Payload(tmp_path / "pwned")
    src = write(tmp_path / "evil.pkl", snapshot)
    assert main(["convert-pkl", str(src), str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert "refused global" in err and "system" in err
    assert not (tmp_path / "pwned").exists() and not (tmp_path / "out").exists()


def test_a_pickle_written_by_the_official_code_converts(tmp_path, nvidia_stylegan):
    """End to end with NVIDIA's own persistence: their network, pickled by their code, converted by hfgan."""
    networks3, perturb = nvidia_stylegan.networks3, nvidia_stylegan.perturb
    import dnnlib

    kwargs = dict(nvidia_stylegan.configs["stylegan3-t"])
    kwargs["mapping_kwargs"] = dnnlib.EasyDict(kwargs["mapping_kwargs"])
    reference = networks3.Generator(**kwargs).eval().requires_grad_(False)
    perturb(reference, torch.Generator().manual_seed(0))
    src = tmp_path / "official.pkl"
    src.write_bytes(pickle.dumps({"G_ema": reference, "G": reference, "D": None}))
    pipe = StyleGANPipeline.from_pretrained(convert_pickle(src, tmp_path / "out"))
    z, labels = torch.randn(2, kwargs["z_dim"]), [0, 2]
    expected = reference(z, torch.eye(kwargs["c_dim"])[labels], truncation_psi=0.7)
    got = pipe(latents=z, class_labels=labels, truncation_psi=0.7, output_type="pt").images
    torch.testing.assert_close(got, ((expected + 1) / 2).clamp(0, 1), atol=1e-4, rtol=0)
