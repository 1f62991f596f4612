"""training/train_feature_net.py (the emoji-cnn backbone) on the shared run scaffolding: release, install, resume."""

import json

import pytest

import torch

from hfgan.models import EmojiFeatureNet
from hfgan.training import list_checkpoints


def test_trains_releases_installs_and_resumes(run_feature_net, tmp_path):
    installed = tmp_path / "emoji-cnn"
    summary = run_feature_net(f"install_to={installed}")
    out = tmp_path / "run"
    assert summary["steps"] == 4 and set(summary["metrics"]) == {"test_group_accuracy", "test_subgroup_accuracy"}
    assert [p.name for p in list_checkpoints(out / "checkpoints")] == ["step-0000002", "step-0000004"]
    released = EmojiFeatureNet.from_pretrained(out / "release")
    assert released.config.base_channels == 4
    assert "image-feature-extraction" in (out / "release" / "README.md").read_text()
    net = EmojiFeatureNet.from_pretrained(installed)  # the package-data layout: the network and its training record
    assert net.config.num_groups == 9
    record = json.loads((installed / "training.json").read_text())
    assert record["steps"] == 4 and record["accuracy"]["test_group_accuracy"] == pytest.approx(
        summary["metrics"]["test_group_accuracy"], abs=1e-4
    )
    # resumed from the middle checkpoint into another folder, the run ends where the uninterrupted one did, to the bit
    # (the one-cycle schedule, the optimiser and the RNGs are all in the checkpoint)
    resumed = run_feature_net(f"resume={out / 'checkpoints' / 'step-0000002'}", output_dir=tmp_path / "resumed")
    assert resumed["steps"] == 4
    again = EmojiFeatureNet.from_pretrained(tmp_path / "resumed" / "release")
    for (name, a), b in zip(released.state_dict().items(), again.state_dict().values()):
        assert torch.equal(a, b), name


def test_bad_values_are_errors_naming_them(run_feature_net, tiny_scenes):
    with pytest.raises(ValueError, match="augment='flip'"):
        run_feature_net("augment=flip")
    with pytest.raises(ValueError, match="no 'subgroup' column"):
        run_feature_net(f"data.source={tiny_scenes}")
