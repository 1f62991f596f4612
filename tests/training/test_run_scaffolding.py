"""The run scaffolding every training script shares: wall-clock budget, graceful stop on Ctrl-C/SIGTERM, resume."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from hfgan import DCGANDiscriminator, DCGANPipeline
from hfgan.training import OutputDirInUse, TrainingRun, list_checkpoints, load_state, lock_output_dir
from hfgan.training.stop import GracefulStop

ROOT = Path(__file__).resolve().parents[2]


def test_graceful_stop_asks_first_and_insists_second():
    before = signal.getsignal(signal.SIGINT)  # Python's default, or SIG_IGN in a job started in the background
    with GracefulStop() as stop:
        assert stop.requested is None
        os.kill(os.getpid(), signal.SIGTERM)
        assert stop.requested == "SIGTERM"  # the first signal only asks
        with pytest.raises(KeyboardInterrupt, match="second SIGINT"):
            os.kill(os.getpid(), signal.SIGINT)
    assert signal.getsignal(signal.SIGINT) is before  # handlers put back


def test_max_minutes_stops_with_a_checkpoint_a_release_and_an_honest_card(run_dcgan, tmp_path, monkeypatch, capsys):
    # a fake clock: one "minute" per step, so the budget of 4 minutes ends the run after step 4 on any machine
    monkeypatch.setattr(TrainingRun, "elapsed_minutes", lambda self: float(self.step))
    summary = run_dcgan("max_minutes=4", "max_steps=100", "checkpoint.every=0", "logging.progress_bar=true")
    out = tmp_path / "run"
    assert summary["steps"] == 4 and summary["stopped_by"] == "max_minutes=4.0"
    assert [p.name for p in list_checkpoints(out / "checkpoints")] == ["step-0000004"]
    assert DCGANPipeline.from_pretrained(out / "release").generator.config.image_size == 16
    card = (out / "release" / "README.md").read_text()
    # the clock ended the run: the card speaks in minutes, and the step schedule the budget never reached is not
    # named (a budget plan's max_steps is a placeholder)
    assert "| steps | 4 steps in 4.0 minutes (budget) |" in card
    printed = capsys.readouterr()
    assert "resume=latest" in printed.out and "at step 4." in printed.out
    assert "4.0/4 min, 4 steps" in printed.err  # the progress bar counts the budget's minutes
    assert "of 100" not in card + printed.out and "/100 steps" not in printed.err
    # the schedule goes on from there when resumed without the budget
    assert run_dcgan("max_steps=6", "resume=latest", "max_minutes=null")["steps"] == 6


def test_learning_rate_schedule_follows_the_budget_on_a_slow_machine(run_dcgan, tmp_path, monkeypatch):
    # a fake clock: one "minute" per step, so an 8-minute budget ends the run at step 8 of 100, and the ramp-down
    # over the last half of the run must follow the clock (by the steps' fraction it would not have started)
    monkeypatch.setattr(TrainingRun, "elapsed_minutes", lambda self: float(self.step))
    run_dcgan("max_minutes=8", "max_steps=100", "schedule.lr_ramp_down=0.5", "schedule.lr_final=0", "optim.g_lr=1e-3",
              "optim.d_lr=2e-3", "checkpoint.every=0")
    records = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    lr_g = {r["step"]: r["lr_g"] for r in records if "lr_g" in r}
    lr_d = {r["step"]: r["lr_d"] for r in records if "lr_d" in r}
    # step k trains at progress (k - 1) / 8: 1 up to half the budget, then 0.75, 0.5, 0.25
    assert lr_g == pytest.approx({1: 1e-3, 2: 1e-3, 3: 1e-3, 4: 1e-3, 5: 1e-3, 6: 7.5e-4, 7: 5e-4, 8: 2.5e-4})
    assert lr_d == pytest.approx({k: 2 * v for k, v in lr_g.items()})


def wait_for_log_lines(path: Path, n: int, proc, timeout: float = 120) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if path.is_file() and len(path.read_text().splitlines()) >= n:
            return
        if proc.poll() is not None:
            raise AssertionError(f"training ended early: {proc.communicate()[1][-2000:]}")
        time.sleep(0.2)
    proc.kill()
    raise AssertionError("training logged nothing in time")


def start_training(out: Path) -> subprocess.Popen:
    cmd = [
        sys.executable, str(ROOT / "training" / "train_dcgan.py"), "experiment=debug", f"output_dir={out}",
        "max_steps=1000000", "checkpoint.every=0", "logging.sample_every=0",
    ]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)


@pytest.mark.skipif(sys.platform == "win32", reason="no fcntl: runs take no lock on Windows")
def test_a_folder_that_a_live_run_holds_is_refused_even_with_overwrite(run_dcgan, tmp_path):
    out = tmp_path / "run"
    run_dcgan("max_steps=2", output_dir=out)
    held = lock_output_dir(out)  # as a run that is still saving after Ctrl-C holds it
    with pytest.raises(OutputDirInUse, match=rf"in use by another run \(pid {os.getpid()} on"):
        run_dcgan("max_steps=3", "overwrite=true", output_dir=out)
    assert load_state(list_checkpoints(out / "checkpoints")[-1])["step"] == 2  # nothing of the held run replaced
    held.close()  # the first run ends: the folder is free
    assert run_dcgan("max_steps=3", "overwrite=true", output_dir=out)["steps"] == 3


@pytest.mark.slow
@pytest.mark.parametrize("sig, code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_signal_ends_the_run_with_a_release_and_a_resumable_checkpoint(run_dcgan, tmp_path, sig, code):
    out = tmp_path / "run"
    proc = start_training(out)
    wait_for_log_lines(out / "metrics.jsonl", 3, proc)
    proc.send_signal(sig)
    stdout, stderr = proc.communicate(timeout=120)
    assert proc.returncode == code, stderr[-2000:]
    assert "Continue with:" in stdout and "resume=latest" in stdout and f"output_dir={out}" in stdout
    (ckpt,) = list_checkpoints(out / "checkpoints")
    step = load_state(ckpt)["step"]
    assert step >= 3
    pipe = DCGANPipeline.from_pretrained(out / "release")
    assert pipe(num_images=2, output_type="pt").images.shape == (2, 3, 16, 16)
    DCGANDiscriminator.from_pretrained(out / "release", subfolder="discriminator")
    meta = yaml.safe_load((out / "release" / "README.md").read_text().split("---")[1])
    assert meta["library_name"] == "hfgan"
    assert run_dcgan(f"max_steps={step + 2}", "resume=latest", output_dir=out)["steps"] == step + 2


@pytest.mark.slow
def test_a_second_ctrl_c_stops_at_once_and_leaves_no_half_files(tmp_path):
    out = tmp_path / "run"
    proc = start_training(out)
    wait_for_log_lines(out / "metrics.jsonl", 3, proc)
    proc.send_signal(signal.SIGINT)
    time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    proc.communicate(timeout=120)
    assert proc.returncode != 0
    leftovers = [p.name for p in out.rglob(".tmp-*")] + [p.name for p in out.rglob(".old-*")]
    assert leftovers == []
    for ckpt in list_checkpoints(out / "checkpoints"):  # whatever was written is whole
        load_state(ckpt)
    if (out / "release").exists():
        DCGANPipeline.from_pretrained(out / "release")
