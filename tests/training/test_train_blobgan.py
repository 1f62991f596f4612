"""training/train_blobgan.py end to end at tiny sizes, on tiny scenes made by hfgan's own prepare-scenes."""

import json
from pathlib import Path

import PIL.Image
import pytest
import torch
import yaml

from hfgan import BlobGANDiscriminator, BlobGANGenerator, BlobGANPipeline, BlobLayoutNet, HfGanPipeline
from hfgan.training import list_checkpoints

def losses(output_dir):
    records = [json.loads(line) for line in (output_dir / "metrics.jsonl").read_text().splitlines()]
    return {r["step"]: (r["loss_d"], r["loss_g"], r["d_real"], r["d_fake"]) for r in records if "loss_d" in r}


def test_debug_run_end_to_end(run_blobgan, tmp_path):
    summary = run_blobgan()
    out = tmp_path / "run"
    assert summary["steps"] == 6 and summary["images_seen"] == 48
    assert sorted(p.name for p in (out / "samples").iterdir()) == ["step-0000003.png", "step-0000006.png"]
    assert set(losses(out)) == set(range(1, 7))
    grid = PIL.Image.open(out / "samples" / "step-0000006.png")
    assert grid.size == (16 * 16, 2 * 16)  # 16 samples of 16 px, each beside its blobs, 8 pairs a row
    last = list_checkpoints(out / "checkpoints")[-1]
    assert {p.name for p in last.iterdir() if p.is_dir()} == {"layout_net", "generator", "layout_net_ema",
                                                               "generator_ema", "discriminator"}

    release = out / "release"
    pipe = HfGanPipeline.from_pretrained(release)
    assert isinstance(pipe, BlobGANPipeline)
    output = pipe(num_images=2, truncation_psi=0.7, output_type="pt")  # the mean layout travels with the release
    assert output.images.shape == (2, 3, 16, 16) and output.layouts.num_blobs == 3
    assert BlobGANDiscriminator.from_pretrained(release, subfolder="discriminator").config.image_size == 16
    card = (release / "README.md").read_text()
    meta = yaml.safe_load(card.split("---")[1])
    assert meta["library_name"] == "hfgan" and "blobgan" in meta["tags"]
    assert "| blobs | 3, jittered by xy ±0.04" in card and "pipe(layout=layout)" in card
    # the release holds the EMA networks, not the raw ones
    ema = BlobLayoutNet.from_pretrained(last / "layout_net_ema").state_dict()
    raw = BlobLayoutNet.from_pretrained(last / "layout_net").state_dict()
    key = "blobs.weight"
    assert torch.equal(pipe.layout_net.state_dict()[key], ema[key]) and not torch.equal(ema[key], raw[key])


def test_resume_gives_the_same_losses_and_weights(run_blobgan, tmp_path):
    run_blobgan(output_dir=tmp_path / "straight")
    run_blobgan("max_steps=3", output_dir=tmp_path / "split")
    run_blobgan("resume=latest", output_dir=tmp_path / "split")
    assert losses(tmp_path / "split") == losses(tmp_path / "straight")  # steps 4-6 after the resume, to the bit
    a = list_checkpoints(tmp_path / "straight" / "checkpoints")[-1]
    b = list_checkpoints(tmp_path / "split" / "checkpoints")[-1]
    for part in ("layout_net", "generator", "generator_ema", "discriminator"):
        wa = (a / part / "diffusion_pytorch_model.safetensors").read_bytes()
        assert wa == (b / part / "diffusion_pytorch_model.safetensors").read_bytes(), part


def test_blob_penalties_reach_the_generator_loss(run_blobgan, tmp_path):
    def penalties(*overrides):
        out = tmp_path / f"floors{len(list(tmp_path.iterdir()))}"
        run_blobgan("max_steps=2", *overrides, output_dir=out)
        records = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
        return [r["g_penalty"] for r in records if "g_penalty" in r]

    assert penalties() == []  # every penalty off by default: no penalty term at all
    # no blob covers half the image: the share floor is active (each index short of it adds up to 1 / K)
    share = penalties("loss.share_floor=0.5", "loss.share_floor_weight=1")
    assert len(share) == 2 and all(0.5 < p <= 1 for p in share)
    size = penalties("loss.size_floor=50", "loss.size_floor_weight=1")
    assert len(size) == 2 and all(p > 40 for p in size)
    overlap = penalties("loss.overlap_weight=1000")  # the tiny model's blobs overlap by about 0.002 of the image
    assert len(overlap) == 2 and all(p > 1 for p in overlap)
    # a blob moved 0 px re-renders the fake exactly, noise included; moved 0.3 of the width, it does not carry its
    # content (the debug model is untrained)
    still = penalties("loss.move_consistency_weight=1", "loss.move_consistency_distance=0")
    assert len(still) == 2 and all(p < 1e-6 for p in still)
    moved = penalties("loss.move_consistency_weight=1", "loss.move_consistency_distance=0.3")
    assert len(moved) == 2 and all(p > 1e-3 for p in moved)


def test_moving_one_blob_per_image_changes_what_the_discriminator_sees(run_blobgan, tmp_path):
    run_blobgan("max_steps=2", output_dir=tmp_path / "still")
    run_blobgan("max_steps=2", "jitter.move_one=0.3", output_dir=tmp_path / "moved")
    still, moved = losses(tmp_path / "still"), losses(tmp_path / "moved")
    assert still[1][3] != moved[1][3]  # same seed: the fakes differ, so D(fake) at step 1 does
    card = (tmp_path / "moved" / "release" / "README.md").read_text()
    assert "while training; one blob per image moved 0.3" in card


def test_a_cap_on_the_blobs_aspect_ratio_travels_with_the_release(run_blobgan, tmp_path):
    run_blobgan("max_steps=1", "model.max_aspect_ratio=1.5", output_dir=tmp_path / "capped")
    pipe = HfGanPipeline.from_pretrained(tmp_path / "capped" / "release")
    assert pipe.layout_net.config.max_aspect_ratio == 1.5
    axes = pipe(num_images=4, output_type="pt").layouts.shapes.sqrt()
    assert (axes.max(-1).values / axes.min(-1).values).max() <= 1.5 + 1e-5


def test_bad_configs_are_errors_naming_the_key(run_blobgan):
    with pytest.raises(ValueError, match="model.colour"):
        run_blobgan("+model.colour=red")
    with pytest.raises(ValueError, match="jitter.xy"):
        run_blobgan("jitter.xy=far")
    with pytest.raises(ValueError, match="flip"):
        run_blobgan("augment.policy=[color,flip]")
    with pytest.raises(ValueError, match="loss.overlap_weight must be >= 0"):
        run_blobgan("loss.overlap_weight=-1")
    with pytest.raises(ValueError, match="max_aspect_ratio must be > 1"):
        run_blobgan("model.max_aspect_ratio=0.5")
    with pytest.raises(FileNotFoundError, match="Make the scenes first: hfgan prepare-scenes --out nowhere"):
        run_blobgan("data.source=nowhere/scenes-64-train.parquet")


def test_push_to_the_hub(run_blobgan, hub, hf_token_env):
    repo_id = hub.new_repo_id("blobgan")
    run_blobgan("hub.push=true", f"hub.repo_id={repo_id}", "hub.push_checkpoints=false")
    files = set(hub.api.list_repo_files(repo_id))
    assert {"model_index.json", "layout_net/config.json", "generator/config.json",
            "discriminator/config.json"} <= files
    pipe = HfGanPipeline.from_pretrained(repo_id)
    assert isinstance(pipe, BlobGANPipeline) and len(pipe(num_images=1).images) == 1


def test_the_256px_gpu_config_composes_into_the_papers_networks():
    """experiment=blobgan256 is untested on a GPU here; this checks it composes, validates and builds the networks."""
    from hydra import compose, initialize_config_dir
    from train_blobgan import TrainBlobGANConfig

    from hfgan.training import validate_config

    configs = Path(__file__).resolve().parents[2] / "training" / "configs"
    with initialize_config_dir(config_dir=str(configs), version_base=None):
        cfg = validate_config(compose(config_name="train_blobgan", overrides=["experiment=blobgan256"]),
                              TrainBlobGANConfig)
    m = cfg.model
    assert cfg.data.image_size == 256 and m.input_size == 16 and m.structure_dim == m.style_dim == 512
    generator = BlobGANGenerator(256, m.input_size, m.structure_dim, m.style_dim, m.g_channel_base, m.g_channel_max,
                                 m.pooled_alphas)
    assert generator.resolutions == [16, 32, 64, 128, 256]
    widths = [generator.input_layer.conv.weight.shape[0]] + [conv.conv.weight.shape[0] for _, conv in generator.layers]
    assert widths == [512, 512, 512, 256, 128]  # StyleGAN2 config-f
