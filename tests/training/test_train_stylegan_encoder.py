"""training/train_stylegan_encoder.py end to end at tiny sizes: an encoder for a tiny StyleGAN2 release
(tests/training/conftest.py), trained on the shipped emoji set at 16 px with the offline emoji-cnn-distance."""

import json

import pytest
import torch

from hfgan import HfGanPipeline, StyleGANEncoder, StyleGANPipeline
from hfgan.training import list_checkpoints


def records(output_dir):
    return [json.loads(line) for line in (output_dir / "metrics.jsonl").read_text().splitlines()]


@pytest.fixture(scope="module")
def debug_run(tmp_path_factory, tiny_stylegan_release):
    """One 6-step debug run, shared by the tests that only read its outputs."""
    from conftest import script_runner

    tmp = tmp_path_factory.mktemp("stylegan-encoder")
    run = script_runner("train_stylegan_encoder", "stylegan_encoder_debug", tmp)
    summary = run(f"stylegan={tiny_stylegan_release}")
    return summary, tmp / "run"


def test_debug_run_end_to_end(debug_run, tiny_stylegan_release):
    summary, out = debug_run
    assert summary["steps"] == 6 and summary["images_seen"] == 24
    assert sorted(p.name for p in (out / "samples").iterdir()) == ["step-0000003.png", "step-0000006.png"]
    logged = [r for r in records(out) if "loss" in r]
    assert [r["step"] for r in logged] == list(range(1, 7))
    assert {"emoji_cnn_distance_real", "emoji_cnn_distance_fake", "l2_real", "l2_fake", "latent_l2",
            "delta_l2"} <= set(logged[0])
    assert logged[0]["delta_l2"] == 0.0 and logged[-1]["delta_l2"] > 0  # W+ offsets start at zero, then move
    last = list_checkpoints(out / "checkpoints")[-1]
    assert {p.name for p in last.iterdir() if p.is_dir()} == {"encoder"}  # the frozen generator is not copied

    pipe = HfGanPipeline.from_pretrained(out / "release")
    assert isinstance(pipe, StyleGANPipeline) and isinstance(pipe.encoder, StyleGANEncoder)
    inverted = pipe.invert(torch.rand(2, 3, 16, 16), method="encoder", output_type="pt")
    assert inverted.ws.shape == (2, pipe.generator.num_ws, 8)
    # the generator stays as released, to the byte, and the discriminator comes along (the release can replace the
    # source whole)
    for part in ("generator", "discriminator"):
        released = tiny_stylegan_release / part / "diffusion_pytorch_model.safetensors"
        assert (out / "release" / part / "diffusion_pytorch_model.safetensors").read_bytes() == \
            released.read_bytes(), part
    assert set(summary["metrics"]) == {"reconstruction_psnr", "latent_error", "fake_reconstruction_psnr"}
    card = (out / "release" / "README.md").read_text()
    assert "emoji-cnn-distance" in card and "space w+" in card


def test_resuming_against_another_generator_is_refused(debug_run, run_stylegan_encoder, tmp_path,
                                                       tiny_stylegan_release):
    _, out = debug_run
    other = tmp_path / "other"
    pipe = StyleGANPipeline.from_pretrained(tiny_stylegan_release)
    with torch.no_grad():
        pipe.generator.mapping.w_avg.add_(1)
    pipe.save_pretrained(other)
    with pytest.raises(ValueError, match="cannot resume: the checkpoint's encoder was trained against stylegan="):
        run_stylegan_encoder(f"stylegan={other}", f"resume={list_checkpoints(out / 'checkpoints')[-1]}",
                             output_dir=tmp_path / "resumed")


@pytest.mark.parametrize("override, message", [
    ("model.space=z", "model.space='z': choose one of w, w\\+"),
    ("loss.delta_weight=-1", "loss.delta_weight must be >= 0"),
    ("metrics.metrics=[psnr,alignment]", r"unknown inversion metric\(s\) \['alignment'\]"),
    ("data.image_size=32", "renders 16-px images: set data.image_size=16"),
    ("truncation.min=0.9", "truncation.min and truncation.max"),
    ("+model.width=3", "model.width"),
])
def test_bad_configs_are_errors_naming_the_key(run_stylegan_encoder, override, message):
    overrides = [override] + (["truncation.max=0.5"] if override.startswith("truncation") else [])
    with pytest.raises(ValueError, match=message):
        run_stylegan_encoder(*overrides)


def test_the_release_must_be_named(tmp_path):
    from conftest import script_runner

    with pytest.raises(ValueError, match="stylegan"):
        script_runner("train_stylegan_encoder", "stylegan_encoder_debug", tmp_path)()
