"""hfgan.training: EMA, BatchNorm recalibration, atomic checkpoints and resume resolution."""

import os

import pytest
import torch
from torch import nn

from hfgan import DCGANGenerator
from hfgan.training import (
    EMA,
    list_checkpoints,
    load_state,
    ramp_down,
    recalibrate_batch_norm,
    resolve_resume,
    run_progress,
    save_checkpoint,
    set_learning_rates,
)
from hfgan.utils import atomic_directory


def tiny_generator(seed=0):
    torch.manual_seed(seed)
    return DCGANGenerator(latent_dim=8, base_channels=4, image_size=8)


def test_ema_warmup_forgets_the_initialisation_quickly():
    model = nn.Linear(1, 1, bias=False)
    nn.init.zeros_(model.weight)
    ema, flat = EMA(model, decay=0.999), EMA(model, decay=0.999, warmup=False)
    with torch.no_grad():
        model.weight.fill_(1.0)
    for _ in range(100):
        ema.update(model)
        flat.update(model)
    assert ema.model.weight.item() > 0.99  # the ramp reaches the new weights within ~100 steps
    assert flat.model.weight.item() == pytest.approx(1 - 0.999**100, rel=1e-4)  # ~0.095: still near the init
    assert ema.current_decay() == pytest.approx(101 / 110)


def test_ema_copy_is_frozen_and_separate():
    g = tiny_generator()
    ema = EMA(g)
    assert not any(p.requires_grad for p in ema.model.parameters()) and not ema.model.training
    assert ema.model.main[0].weight.data_ptr() != g.main[0].weight.data_ptr()
    with pytest.raises(ValueError, match="decay"):
        EMA(g, decay=1.0)


def test_recalibrated_batch_norm_matches_batch_statistics():
    g = tiny_generator()
    z = torch.randn(512, 8, generator=torch.Generator().manual_seed(0))
    recalibrate_batch_norm(g, lambda: z, num_batches=1)
    g.eval()
    eval_out = g(z).sample
    g.train()
    with torch.no_grad():
        train_out = g(z).sample  # normalised by this batch's own statistics
    # eval mode with recalibrated running stats reproduces batch-statistics outputs (up to the unbiased variance)
    torch.testing.assert_close(eval_out, train_out, atol=2e-2, rtol=0)


def save(tmp_path, step, keep_last=None, state=None):
    return save_checkpoint(tmp_path / "ckpt", step, {"generator": tiny_generator(step)}, state or {"step": step},
                           "a: 1\n", keep_last)


def test_checkpoints_keep_the_last_k_and_load(tmp_path):
    for step in (10, 20, 30):
        save(tmp_path, step, keep_last=2)
    assert [p.name for p in list_checkpoints(tmp_path / "ckpt")] == ["step-0000020", "step-0000030"]
    last = list_checkpoints(tmp_path / "ckpt")[-1]
    assert load_state(last) == {"step": 30}
    assert (last / "config.yaml").read_text() == "a: 1\n"
    assert resolve_resume("latest", tmp_path / "ckpt") == last
    assert resolve_resume(str(last), tmp_path / "elsewhere") == last
    assert resolve_resume(str(tmp_path / "ckpt"), tmp_path / "elsewhere") == last
    assert resolve_resume("latest", tmp_path / "empty") is None and resolve_resume(None, tmp_path) is None


def test_a_failed_checkpoint_leaves_the_previous_one_intact(tmp_path):
    good = save(tmp_path, 10)
    before = (good / "generator" / "diffusion_pytorch_model.safetensors").read_bytes()

    class Boom:
        def save_pretrained(self, path):
            raise KeyboardInterrupt  # a kill in the middle of writing

    with pytest.raises(KeyboardInterrupt):
        save_checkpoint(tmp_path / "ckpt", 10, {"generator": tiny_generator(), "broken": Boom()}, {"step": 10})
    with pytest.raises(KeyboardInterrupt):
        save_checkpoint(tmp_path / "ckpt", 20, {"broken": Boom()}, {"step": 20})
    assert [p.name for p in list_checkpoints(tmp_path / "ckpt")] == ["step-0000010"]
    assert (good / "generator" / "diffusion_pytorch_model.safetensors").read_bytes() == before
    assert sorted(p.name for p in (tmp_path / "ckpt").iterdir()) == ["step-0000010"]  # no temporary leftovers


def test_atomic_directory_replaces_only_on_success(tmp_path):
    target = tmp_path / "release"
    with atomic_directory(target) as tmp:
        (tmp / "a.txt").write_text("first")
    with pytest.raises(RuntimeError):
        with atomic_directory(target) as tmp:
            (tmp / "a.txt").write_text("second")
            raise RuntimeError("crash")
    assert (target / "a.txt").read_text() == "first" and len(list(tmp_path.iterdir())) == 1
    umask = os.umask(0)
    os.umask(umask)
    assert target.stat().st_mode & 0o777 == 0o777 & ~umask  # a normal folder, not mkdtemp's 0700


def test_resume_errors(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="no complete checkpoint"):
        resolve_resume(str(tmp_path / "empty"), tmp_path)
    with pytest.raises(FileNotFoundError, match="neither"):
        resolve_resume("not/a/real/path.pt", tmp_path)
    with pytest.raises(FileNotFoundError, match="training_state.pt"):
        load_state(tmp_path / "empty")


def test_linear_probe_is_deterministic_regularised_and_weighted():
    from hfgan.training import fit_linear_probe

    torch.manual_seed(0)
    features = torch.randn(60, 5) * torch.tensor([1.0, 100.0, 1.0, 1.0, 1.0])  # scales differ: standardised away
    labels = torch.stack([features[:, 0], features[:, 1] / 100, features[:, 2]], 1).argmax(1)  # linearly separable
    w, b = fit_linear_probe(features, labels, 3, l2=1e-3)
    assert ((features @ w.T + b).argmax(1) == labels).float().mean() > 0.95
    w2, b2 = fit_linear_probe(features, labels, 3, l2=1e-3)
    assert torch.equal(w, w2) and torch.equal(b, b2)
    w_strong, _ = fit_linear_probe(features, labels, 3, l2=100.0)
    assert w_strong.norm() < w.norm() / 10  # the L2 penalty shrinks the weights
    only_class_0 = (labels == 0).double()  # weight zero on classes 1 and 2: the probe prefers class 0
    w0, b0 = fit_linear_probe(features, labels, 3, l2=1e-2, sample_weights=only_class_0 + 1e-6)
    assert ((features @ w0.T + b0).argmax(1) == 0).float().mean() > 0.9
    with pytest.raises(ValueError, match="labels must be in 0..2"):
        fit_linear_probe(features, labels + 1, 3)


def test_balanced_weights_share_equally_by_class_then_group():
    from hfgan.data import balanced_weights

    labels = torch.tensor([0, 0, 0, 0, 1, -1])
    groups = ["a", "a", "a", "b", "c", "d"]  # class 0: group a (three variants) and group b
    w = balanced_weights(labels, groups)
    assert w.sum().item() == pytest.approx(1.0) and w[5] == 0
    assert w[4].item() == pytest.approx(0.5)  # class 1: half of all draws
    assert w[:3].sum().item() == pytest.approx(0.25) and w[3].item() == pytest.approx(0.25)
    torch.testing.assert_close(balanced_weights(labels)[:4], torch.full((4,), 0.125, dtype=torch.float64))


def test_run_progress_is_the_further_of_steps_and_budget():
    assert run_progress(700, 7000) == pytest.approx(0.1)  # no budget: the steps
    assert run_progress(700, 7000, elapsed_minutes=10, max_minutes=20) == pytest.approx(0.5)  # a slow machine
    assert run_progress(6300, 7000, elapsed_minutes=10, max_minutes=20) == pytest.approx(0.9)  # a fast one
    assert run_progress(10, 7000, elapsed_minutes=25, max_minutes=20) == 1.0
    with pytest.raises(ValueError, match="max_minutes"):
        run_progress(1, 10, 1.0, 0)
    with pytest.raises(ValueError, match="max_steps"):
        run_progress(1, 0)


def test_set_learning_rates_scales_every_group_and_skips_a_missing_optimiser():
    net = torch.nn.Linear(2, 2)
    opt = torch.optim.Adam([{"params": [net.weight]}, {"params": [net.bias]}], lr=1.0)
    set_learning_rates([(opt, 2e-4), (None, 1.0)], 0.5)
    assert [group["lr"] for group in opt.param_groups] == pytest.approx([1e-4, 1e-4])


def test_ramp_down_is_flat_then_linear_to_its_final_value():
    assert [ramp_down(p, 0.5, 0.1) for p in (0.0, 0.5, 0.75, 1.0)] == pytest.approx([1.0, 1.0, 0.55, 0.1])
    assert ramp_down(0.99, 0.0) == 1.0  # no ramp
    assert ramp_down(1.0, 1.0) == 0.0  # over the whole run, to zero
    for length, final in ((1.5, 0.0), (0.5, -0.1)):
        with pytest.raises(ValueError, match="ramp-down"):
            ramp_down(0.5, length, final)
