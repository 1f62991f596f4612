import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import yaml
from huggingface_hub import hf_hub_download

from hfgan import DCGANDiscriminator, DCGANGenerator, DCGANPipeline
from hfgan.training import TrainingRun, list_checkpoints

ROOT = Path(__file__).resolve().parents[2]


def losses(output_dir):
    records = [json.loads(line) for line in (output_dir / "metrics.jsonl").read_text().splitlines()]
    return {r["step"]: (r["loss_d"], r["loss_g"], r["d_real"], r["d_fake"]) for r in records}


def test_debug_run_end_to_end(run_dcgan, tmp_path):
    summary = run_dcgan()
    out = tmp_path / "run"
    assert summary["steps"] == 6 and summary["images_seen"] == 48
    assert sorted(p.name for p in (out / "samples").iterdir()) == ["step-0000003.png", "step-0000006.png"]
    assert [p.name for p in list_checkpoints(out / "checkpoints")] == ["step-0000003", "step-0000006"]
    assert set(losses(out)) == set(range(1, 7))

    release = out / "release"
    pipe = DCGANPipeline.from_pretrained(release)
    assert pipe(num_images=2, output_type="pt").images.shape == (2, 3, 16, 16)
    assert DCGANDiscriminator.from_pretrained(release, subfolder="discriminator").config.image_size == 16
    card = (release / "README.md").read_text()
    meta = yaml.safe_load(card.split("---")[1])
    assert meta["library_name"] == "hfgan" and "dcgan" in meta["tags"]
    assert "![samples](samples.png)" in card and (release / "samples.png").is_file()
    assert "| steps | 6 |" in card and "| images seen | 48 |" in card and "noto-color-emoji-64" in card
    # the release generator is the EMA one, not the raw generator
    last = list_checkpoints(out / "checkpoints")[-1]
    ema_gen = DCGANGenerator.from_pretrained(last / "generator_ema")
    raw_gen = DCGANGenerator.from_pretrained(last / "generator")
    w = "main.0.weight"
    assert torch.equal(pipe.generator.state_dict()[w], ema_gen.state_dict()[w])
    assert not torch.equal(pipe.generator.state_dict()[w], raw_gen.state_dict()[w])


def test_resume_gives_the_same_losses_and_weights(run_dcgan, tmp_path):
    run_dcgan(output_dir=tmp_path / "straight")
    run_dcgan("max_steps=3", output_dir=tmp_path / "split")
    run_dcgan("resume=latest", output_dir=tmp_path / "split")
    straight, split = losses(tmp_path / "straight"), losses(tmp_path / "split")
    assert split == straight  # steps 4-6 after the resume equal the uninterrupted run's, to the bit
    a = list_checkpoints(tmp_path / "straight" / "checkpoints")[-1]
    b = list_checkpoints(tmp_path / "split" / "checkpoints")[-1]
    for part in ("generator", "generator_ema", "discriminator"):
        wa = (a / part / "diffusion_pytorch_model.safetensors").read_bytes()
        wb = (b / part / "diffusion_pytorch_model.safetensors").read_bytes()
        assert wa == wb, part


def test_unknown_and_mistyped_keys_are_errors(run_dcgan):
    with pytest.raises(ValueError, match="model.colour"):
        run_dcgan("+model.colour=red")
    with pytest.raises(ValueError, match="batch_size"):
        run_dcgan("batch_size=many")
    with pytest.raises(ValueError, match="flip"):
        run_dcgan("augment.policy=[color,flip]")
    with pytest.raises(ValueError, match="wasserstein"):
        run_dcgan("loss.kind=wasserstein", "max_steps=1")


def test_output_dir_holding_a_run_is_not_overwritten(run_dcgan, tmp_path):
    run_dcgan("max_steps=1")
    with pytest.raises(FileExistsError, match="overwrite=true"):
        run_dcgan("max_steps=1")
    run_dcgan("max_steps=2", "overwrite=true")
    assert max(losses(tmp_path / "run")) == 2 and min(losses(tmp_path / "run")) == 1


def test_non_finite_loss_stops_and_keeps_the_last_good_checkpoint(run_dcgan, tmp_path, monkeypatch):
    import hfgan.steps

    real_d_loss = hfgan.steps.d_loss  # the discriminator loss of the shared GAN step
    calls = {"n": 0}

    def poisoned(kind, real_logits, fake_logits):
        calls["n"] += 1
        out = real_d_loss(kind, real_logits, fake_logits)
        if calls["n"] == 5:
            out["loss"] = out["loss"] * float("nan")
        return out

    monkeypatch.setattr(hfgan.steps, "d_loss", poisoned)
    with pytest.raises(FloatingPointError, match="step 5"):
        run_dcgan("plan=full")  # no timed steps at start-up: the 5th call is the 5th step
    assert [p.name for p in list_checkpoints(tmp_path / "run" / "checkpoints")] == ["step-0000003"]


def test_push_to_the_hub_and_resume_from_it(run_dcgan, hub, hf_token_env, tmp_path):
    repo_id = hub.new_repo_id("trained")
    run_dcgan("hub.push=true", f"hub.repo_id={repo_id}", "data.name=hfgan-test/emoji")
    files = set(hub.api.list_repo_files(repo_id))
    assert {"model_index.json", "README.md", "samples.png", "discriminator/config.json"} <= files
    assert "checkpoints/step-0000006/training_state.pt" in files
    pipe = DCGANPipeline.from_pretrained(repo_id, cache_dir=tmp_path / "cache")
    assert pipe(num_images=1, output_type="pt").images.shape == (1, 3, 16, 16)
    card = open(hf_hub_download(repo_id, "README.md")).read()
    assert hub.token not in card and "datasets:\n- hfgan-test/emoji" in card
    # a new run continues from the pushed checkpoint
    summary = run_dcgan("max_steps=8", f"resume={repo_id}", output_dir=tmp_path / "continued")
    assert summary["steps"] == 8 and summary["images_seen"] == 64
    assert set(losses(tmp_path / "continued")) == {7, 8}


def test_failed_push_keeps_outputs_and_says_how_to_retry(run_dcgan, hub, tmp_path, monkeypatch):
    from hfgan.training.release import PushError

    monkeypatch.setenv("HF_TOKEN", hub.read_token)  # a read-only token: the push is refused
    with pytest.raises(PushError, match="hf upload") as error:
        run_dcgan("hub.push=true", f"hub.repo_id={hub.new_repo_id('refused')}")
    assert hub.read_token not in str(error.value)
    assert (tmp_path / "run" / "release" / "model_index.json").is_file()
    assert list_checkpoints(tmp_path / "run" / "checkpoints")


@pytest.mark.slow
def test_command_line(tmp_path):
    out = tmp_path / "cli"
    cmd = [sys.executable, str(ROOT / "training" / "train_dcgan.py"), "experiment=debug", f"output_dir={out}"]
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "Release written to" in result.stdout and (out / "release" / "model_index.json").is_file()
    card = (out / "release" / "README.md").read_text()
    assert f"| command | `python training/train_dcgan.py experiment=debug output_dir={out}` |" in card
    bad = subprocess.run([*cmd, "+typo=1", "overwrite=true"], capture_output=True, text=True, timeout=300)
    assert bad.returncode != 0 and "typo" in bad.stderr


@pytest.mark.slow
def test_data_parallel_over_two_cpu_processes(tmp_path):
    """What `accelerate launch --multi_gpu` does on GPUs, here with torchrun and gloo on the CPU."""
    out = tmp_path / "ddp"
    cmd = [
        sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
        str(ROOT / "training" / "train_dcgan.py"), "experiment=debug", f"output_dir={out}",
    ]
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=300, env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.count("Done:") == 1  # one main process reports and writes
    assert max(json.loads(line)["images_seen"] for line in (out / "metrics.jsonl").read_text().splitlines()) == 96
    assert DCGANPipeline.from_pretrained(out / "release").generator.config.image_size == 16


def test_metrics_during_training_reach_the_log_and_the_card(run_dcgan, tmp_path):
    run_dcgan("metrics.every=3", "metrics.metrics=[fd]", "metrics.num_samples=300")
    records = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    fd = [r["fd_emoji_cnn"] for r in records if "fd_emoji_cnn" in r]
    assert len(fd) == 2 and all(v > 0 for v in fd)  # at step 3 and at the end
    meta = yaml.safe_load((tmp_path / "run" / "release" / "README.md").read_text().split("---")[1])
    assert meta["model-index"][0]["results"][0]["dataset"]["name"] == "noto-color-emoji-64"
    result = meta["model-index"][0]["results"][0]["metrics"][0]
    assert result["type"] == "fd_emoji_cnn" and result["value"] == pytest.approx(fd[-1], rel=1e-5)


@pytest.mark.parametrize("budget, plan, lr", [(8, "full", 2e-4), (4, "short", 5e-4)])
def test_auto_plan_takes_the_full_schedule_only_where_it_fits_the_budget(run_dcgan, tmp_path, monkeypatch, budget,
                                                                          plan, lr):
    import train_dcgan

    # fake speeds: every step "takes" a minute, by the probe and by the run's clock, so the debug run's 6 steps
    # fit an 8-minute budget and not a 4-minute one, on any machine
    monkeypatch.setattr(train_dcgan, "seconds_per_step", lambda cfg, accelerator: 60.0)
    monkeypatch.setattr(TrainingRun, "elapsed_minutes", lambda self: float(self.step))
    summary = run_dcgan(f"max_minutes={budget}", "checkpoint.every=0")
    run_json = json.loads((tmp_path / "run" / "run.json").read_text())
    assert run_json["plan"] == plan and run_json["optim"]["g_lr"] == lr
    assert summary["steps"] == (6 if plan == "full" else 4)
    records = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    assert records[0]["lr_g"] == lr
    assert "| plan | " + plan + " |" in (tmp_path / "run" / "release" / "README.md").read_text()


def test_a_resumed_run_keeps_its_plan_and_a_wrong_plan_is_an_error(run_dcgan, tmp_path, monkeypatch):
    import train_dcgan

    run_dcgan("plan=short", "max_steps=3")
    monkeypatch.setattr(train_dcgan, "seconds_per_step", lambda cfg, accelerator: 1e-3)  # would choose full
    run_dcgan("resume=latest", "max_steps=6")
    assert json.loads((tmp_path / "run" / "run.json").read_text())["plan"] == "short"
    with pytest.raises(ValueError, match="plan='quick' is not one of auto, full, short"):
        run_dcgan("plan=quick")
