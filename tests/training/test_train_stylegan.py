"""training/train_stylegan.py end to end at tiny sizes (StyleGAN3 and StyleGAN2), resume, and the GPU configs."""

import json

import pytest
import torch
import yaml

from hfgan import HfGanPipeline, StyleGAN2Discriminator, StyleGAN2Generator, StyleGAN3Generator, StyleGANPipeline
from hfgan.training import list_checkpoints


def losses(output_dir):
    records = [json.loads(line) for line in (output_dir / "metrics.jsonl").read_text().splitlines()]
    return {r["step"]: (r["loss_d"], r["loss_g"], r["d_real"], r["d_fake"]) for r in records if "loss_d" in r}


@pytest.mark.parametrize("model, cls", [("stylegan3_small", StyleGAN3Generator), ("stylegan2_small", StyleGAN2Generator)])
def test_debug_run_end_to_end(run_stylegan, tmp_path, model, cls):
    summary = run_stylegan(f"model={model}")
    out = tmp_path / "run"
    assert summary["steps"] == 6 and summary["images_seen"] == 48 and set(losses(out)) == set(range(1, 7))
    last = list_checkpoints(out / "checkpoints")[-1]
    assert {p.name for p in last.iterdir() if p.is_dir()} == {"generator", "generator_ema", "discriminator"}

    release = out / "release"
    pipe = HfGanPipeline.from_pretrained(release)
    assert isinstance(pipe, StyleGANPipeline) and isinstance(pipe.generator, cls)
    assert pipe(num_images=2, truncation_psi=0.7, output_type="pt").images.shape == (2, 3, 16, 16)
    assert StyleGAN2Discriminator.from_pretrained(release, subfolder="discriminator").config.img_resolution == 16
    meta = yaml.safe_load((release / "README.md").read_text().split("---")[1])
    assert meta["library_name"] == "hfgan" and "stylegan" in meta["tags"]
    # the release is the EMA generator: averaged weights, and the training generator's buffers (the running mean
    # of w that truncation uses), which averaging alone would leave at zero
    raw = cls.from_pretrained(last / "generator").state_dict()
    ema = pipe.generator.state_dict()
    assert torch.equal(ema["mapping.w_avg"], raw["mapping.w_avg"]) and ema["mapping.w_avg"].abs().sum() > 0
    assert not torch.equal(ema["mapping.fc0.weight"], raw["mapping.fc0.weight"])


def test_resume_gives_the_same_losses_and_weights(run_stylegan, tmp_path):
    run_stylegan(output_dir=tmp_path / "straight")
    run_stylegan("max_steps=3", output_dir=tmp_path / "split")
    run_stylegan("resume=latest", output_dir=tmp_path / "split")
    assert losses(tmp_path / "split") == losses(tmp_path / "straight")
    a = list_checkpoints(tmp_path / "straight" / "checkpoints")[-1]
    b = list_checkpoints(tmp_path / "split" / "checkpoints")[-1]
    for part in ("generator", "generator_ema", "discriminator"):
        wa = (a / part / "diffusion_pytorch_model.safetensors").read_bytes()
        assert wa == (b / part / "diffusion_pytorch_model.safetensors").read_bytes(), part


def test_bad_configs_are_errors_naming_the_key(run_stylegan):
    with pytest.raises(ValueError, match="takes no colour"):
        run_stylegan("+model.generator.colour=red")
    with pytest.raises(ValueError, match="takes no img_resolution"):
        run_stylegan("+model.discriminator.img_resolution=32")
    with pytest.raises(ValueError, match="model.kind"):
        run_stylegan("model.kind=stylegan4")
    with pytest.raises(ValueError, match="num_layers"):
        run_stylegan("model.generator.num_layers=1")


@pytest.mark.parametrize("experiment", ["stylegan3_256", "stylegan2_256"])
def test_the_256_px_gpu_configs_compose_and_build(experiment):
    """The GPU configs are not trained here (no GPU), but they compose, validate and build NVIDIA's sizes."""
    from hydra import compose, initialize_config_dir
    from train_stylegan import TrainStyleGANConfig, build_networks

    from hfgan.training import validate_config

    from conftest import TRAINING

    with initialize_config_dir(config_dir=str(TRAINING / "configs"), version_base=None):
        cfg = validate_config(compose(config_name="train_stylegan", overrides=[f"experiment={experiment}"]),
                              TrainStyleGANConfig)
    generator, discriminator = build_networks(cfg)
    assert generator.config.img_resolution == 256 and generator.config.channel_max == 512
    assert discriminator.config.img_resolution == 256
    if experiment == "stylegan3_256":
        assert generator.synthesis.layer_names[0] == "L0_36_512"  # NVIDIA's first layer at 256 px
