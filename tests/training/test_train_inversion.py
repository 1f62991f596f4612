"""training/train_inversion.py end to end at tiny sizes: a tiny BlobGAN release (tests/training/conftest.py) inverted on
tiny scenes made by hfgan's own prepare-scenes. The perceptual term is the offline emoji-cnn-distance, except where a
test says otherwise."""

import json

import pytest
import torch
import yaml

from hfgan import BlobGANDiscriminator, BlobGANEncoder, BlobGANPipeline, HfGanPipeline
from hfgan.perceptual import PerceptualWeightsError
from hfgan.training import list_checkpoints


def records(output_dir):
    return [json.loads(line) for line in (output_dir / "metrics.jsonl").read_text().splitlines()]


def losses(output_dir):
    return {r["step"]: r["loss"] for r in records(output_dir) if "loss" in r}


def weights(folder):
    return (folder / "diffusion_pytorch_model.safetensors").read_bytes()


@pytest.fixture(scope="module")
def debug_run(tmp_path_factory, tiny_scenes, tiny_blobgan_release):
    """One 6-step debug run, shared by the tests that only read its outputs (a run is the slow part)."""
    from conftest import script_runner

    tmp = tmp_path_factory.mktemp("inversion")
    test_split = tiny_scenes.with_name(tiny_scenes.name.replace("-train", "-test"))
    summary = script_runner("train_inversion", "inversion_debug", tmp)(
        f"data.source={tiny_scenes}", f"test_data.source={test_split}", f"blobgan={tiny_blobgan_release}"
    )
    return summary, tmp / "run"


def test_debug_run_end_to_end(debug_run, tiny_blobgan_release):
    summary, out = debug_run
    assert summary["steps"] == 6 and summary["images_seen"] == 24
    assert sorted(p.name for p in (out / "samples").iterdir()) == ["step-0000003.png", "step-0000006.png"]
    logged = [r for r in records(out) if "loss" in r]
    assert [r["step"] for r in logged] == list(range(1, 7))
    # the perceptual term carries its own name in the logs; nothing is logged as LPIPS
    assert {"emoji_cnn_distance_real", "emoji_cnn_distance_fake", "l2_real", "l2_fake", "latent_l2"} <= set(logged[0])
    assert not any("lpips" in key for r in records(out) for key in r)
    last = list_checkpoints(out / "checkpoints")[-1]
    assert {p.name for p in last.iterdir() if p.is_dir()} == {"encoder"}  # the frozen BlobGAN is not copied

    release = out / "release"
    pipe = HfGanPipeline.from_pretrained(release)
    assert isinstance(pipe, BlobGANPipeline) and isinstance(pipe.encoder, BlobGANEncoder)
    assert pipe.encoder.config.num_blobs == 3 and pipe.encoder.config.mbstd_group_size == 0
    inverted = pipe.invert(torch.rand(2, 3, 16, 16), output_type="pt")
    assert inverted.reconstructions.shape == (2, 3, 16, 16) and inverted.layouts.num_blobs == 3
    # the release can replace the BlobGAN release whole: its discriminator comes along
    assert weights(release / "discriminator") == weights(tiny_blobgan_release / "discriminator")
    assert BlobGANDiscriminator.from_pretrained(release, subfolder="discriminator").config.image_size == 16

    # the inversion numbers are measured at the end and reported in the card
    assert set(summary["metrics"]) == {"reconstruction_psnr", "visible_blobs_per_image", "latent_error",
                                       "fake_reconstruction_psnr", "object_hit_rate",
                                       "blob_in_object_rate"}
    card = (release / "README.md").read_text()
    meta = yaml.safe_load(card.split("---")[1])
    reported = {m["type"] for m in meta["model-index"][0]["results"][0]["metrics"]}
    assert {"reconstruction_psnr", "latent_error", "object_hit_rate", "blob_in_object_rate"} <= reported
    assert "emoji-cnn-distance (LPIPS-style, on emoji-cnn features; not LPIPS)" in card
    assert "pipe.invert(" in card and "frozen" in card


def test_the_generator_and_layout_net_stay_frozen(debug_run, tiny_blobgan_release):
    """Six steps of training change the encoder and leave G and the layout network as released, to the byte."""
    _, out = debug_run
    release = out / "release"
    for part in ("generator", "layout_net"):
        assert weights(release / part) == weights(tiny_blobgan_release / part), part
    first, last = list_checkpoints(out / "checkpoints")
    assert weights(first / "encoder") != weights(last / "encoder")


def test_resume_gives_the_same_losses_and_weights(debug_run, run_inversion, tmp_path):
    _, straight = debug_run
    run_inversion("max_steps=3", "metrics.every=-1", output_dir=tmp_path / "split")
    run_inversion("resume=latest", output_dir=tmp_path / "split")
    assert losses(tmp_path / "split") == losses(straight)  # steps 4-6 after the resume, to the bit
    a = list_checkpoints(straight / "checkpoints")[-1]
    b = list_checkpoints(tmp_path / "split" / "checkpoints")[-1]
    assert weights(a / "encoder") == weights(b / "encoder")


def test_resuming_against_another_blobgan_is_refused(run_inversion, tmp_path, tiny_blobgan_release):
    import shutil

    run_inversion("max_steps=1", "metrics.every=-1", output_dir=tmp_path / "run")
    other = tmp_path / "other"
    shutil.copytree(tiny_blobgan_release, other)
    generator = BlobGANPipeline.from_pretrained(other).generator
    with torch.no_grad():
        generator.to_rgb[0].conv.bias.add_(1.0)
    generator.save_pretrained(other / "generator")
    with pytest.raises(ValueError, match="cannot resume: .* whose generator differ"):
        run_inversion("resume=latest", "max_steps=2", f"blobgan={other}", output_dir=tmp_path / "run")


def test_the_encoder_can_start_from_the_discriminator(run_inversion, tmp_path, tiny_blobgan_release):
    """model.init=discriminator: the first checkpoint's encoder backbone is the release's discriminator backbone
    after one step's small change; a release without discriminator/ is refused before anything is written."""
    import shutil

    run_inversion("max_steps=1", "metrics.every=-1", "model.init=discriminator", output_dir=tmp_path / "run")
    encoder = HfGanPipeline.from_pretrained(tmp_path / "run" / "release").encoder
    discriminator = BlobGANDiscriminator.from_pretrained(tiny_blobgan_release, subfolder="discriminator")
    start = discriminator.backbone.from_rgb.weight
    assert (encoder.backbone.from_rgb.weight - start).abs().max() < 0.1 * start.abs().max()  # one Adam step away
    bare = tmp_path / "bare"
    shutil.copytree(tiny_blobgan_release, bare)
    shutil.rmtree(bare / "discriminator")
    with pytest.raises(ValueError, match="model.init=discriminator, but the BlobGAN release .* has no discriminator/"):
        run_inversion("model.init=discriminator", f"blobgan={bare}", output_dir=tmp_path / "refused")
    assert not (tmp_path / "refused").exists()


def test_the_encoder_decodes_with_the_releases_aspect_cap(run_inversion, tmp_path, tiny_blobgan_release):
    """A release whose layout network caps the blobs' aspect ratio gets an encoder with the same cap (or its layouts
    would not mean what the layout network's do)."""
    import shutil

    capped = tmp_path / "capped"
    shutil.copytree(tiny_blobgan_release, capped)
    config_file = capped / "layout_net" / "config.json"
    config_file.write_text(json.dumps({**json.loads(config_file.read_text()), "max_aspect_ratio": 2.0}))
    run_inversion("max_steps=1", "metrics.every=-1", f"blobgan={capped}", output_dir=tmp_path / "run")
    assert HfGanPipeline.from_pretrained(tmp_path / "run" / "release").encoder.config.max_aspect_ratio == 2.0


def test_bad_configs_are_errors_naming_the_key(run_inversion, tmp_path):
    with pytest.raises(ValueError, match="model.colour"):
        run_inversion("+model.colour=red")
    with pytest.raises(ValueError, match="model.init must be random or discriminator, got 'pretrained'"):
        run_inversion("model.init=pretrained")
    with pytest.raises(ValueError, match="loss.latent_weight"):
        run_inversion("loss.latent_weight=lots")
    with pytest.raises(ValueError, match="loss.pixel_weight must be >= 0, got -1"):
        run_inversion("loss.pixel_weight=-1")
    with pytest.raises(ValueError, match="truncation.min and truncation.max"):
        run_inversion("truncation.min=0.9", "truncation.max=0.5")
    with pytest.raises(ValueError, match=r"metrics.metrics: unknown inversion metric\(s\) \['lpips'\]"):
        run_inversion("metrics.metrics=[psnr,lpips]")
    with pytest.raises(ValueError, match=r"unknown perceptual distance 'lpips' \(LPIPS with the VGG backbone is "
                                         r"'lpips-vgg'\)"):
        run_inversion("perceptual.name=lpips")
    with pytest.raises(ValueError, match="data.image_size=32, but the BlobGAN release .* renders 16-px images"):
        run_inversion("data.image_size=32")
    with pytest.raises(FileNotFoundError, match="Train one first"):
        run_inversion(f"blobgan={tmp_path / 'no-such-release'}")
    with pytest.raises(FileNotFoundError, match="Train one first"):
        run_inversion("blobgan=nobody/no-such-blobgan")  # a Hub id that does not exist (on the tests' local Hub)
    with pytest.raises(FileNotFoundError, match="test_data.source: .*Make the scenes first: hfgan prepare-scenes"):
        run_inversion("test_data.source=nowhere/scenes-16-test.parquet")
    assert not (tmp_path / "run").exists()  # every check fails before anything is written


def test_missing_lpips_weights_say_how_to_supply_them(run_inversion, tmp_path, monkeypatch):
    """lpips-vgg without VGG16 weights: no cached copy (an empty torch hub), no download (offline), no file given."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(PerceptualWeightsError) as info:
        run_inversion("perceptual.name=lpips-vgg")
    message = str(info.value)
    assert "vgg16-397923af.pth" in message and "perceptual.weights=PATH" in message
    assert "perceptual.name=emoji-cnn-distance" in message
    with pytest.raises(PerceptualWeightsError, match="does not exist"):
        run_inversion("perceptual.name=lpips-vgg", f"perceptual.weights={tmp_path / 'vgg16.pth'}")
    assert not (tmp_path / "run").exists()


def test_lpips_vgg_wiring_with_a_random_backbone_file(run_inversion, tmp_path):
    """The lpips-vgg path end to end with VGG16 weights from a local file. The weights are RANDOM (no ImageNet weights
    on a machine without network): this checks the wiring (file -> LPIPS -> loss -> logs and card), not LPIPS."""
    from hfgan.perceptual import random_vgg16_weights

    path = random_vgg16_weights(tmp_path / "vgg16-random.safetensors")
    summary = run_inversion("perceptual.name=lpips-vgg", f"perceptual.weights={path}", "max_steps=2",
                            "metrics.every=-1")
    assert summary["steps"] == 2
    logged = [r for r in records(tmp_path / "run") if "loss" in r]
    assert {"lpips_vgg_real", "lpips_vgg_fake"} <= set(logged[0]) and "emoji_cnn_distance_real" not in logged[0]
    card = (tmp_path / "run" / "release" / "README.md").read_text()
    assert "`lpips-vgg`: LPIPS (VGG); weights: VGG16 from " in card and str(path) in card


def test_scenes_with_boxes_reads_the_test_split(tiny_scenes):
    import pyarrow.parquet as pq

    from hfgan.metrics.inversion import scenes_with_boxes

    test_split = tiny_scenes.with_name(tiny_scenes.name.replace("-train", "-test"))
    images, boxes = scenes_with_boxes(test_split, image_size=16)
    assert images.shape == (8, 3, 16, 16) and images.dtype == torch.uint8 and len(boxes) == 8
    stored = pq.read_table(test_split, columns=["boxes"]).column("boxes").to_pylist()
    assert [[[v * 16 for v in box] for box in image] for image in boxes] == stored  # fractions of the 16-px scene
    assert all(0 <= v <= 1 for image in boxes for box in image for v in box)
