"""`hfgan evaluate`: a saved pipeline against a parquet dataset, result JSON and picture, clear errors."""

import json
import re
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import torch

from hfgan import DCGANGenerator, DCGANPipeline
from hfgan.cli import main

EMOJI = Path(__file__).resolve().parents[2] / "data" / "emoji"


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    torch.manual_seed(0)
    folder = tmp_path_factory.mktemp("model") / "dcgan"
    DCGANPipeline(generator=DCGANGenerator(latent_dim=8, base_channels=8, image_size=16)).save_pretrained(folder)
    return folder


@pytest.fixture(scope="module")
def parquet(tmp_path_factory):
    """One parquet file (a single split, `train`): the first 300 emoji of the test split."""
    path = tmp_path_factory.mktemp("data") / "emoji-300.parquet"
    pq.write_table(pq.read_table(EMOJI / "emoji-64-test.parquet", columns=["image"]).slice(0, 300), path)
    return path


def test_evaluate_writes_json_picture_and_cache(model_dir, parquet, tmp_path, capsys):
    out = tmp_path / "eval" / "metrics.json"
    argv = [
        "evaluate", "--model", str(model_dir), "--data", str(parquet), "--backbone", "emoji-cnn",
        "--metrics", "fd", "kid", "pr", "memorization", "--num-samples", "260", "--batch-size", "100",
        "--kid-subset-size", "50", "--kid-subsets", "5", "--num-pairs", "3",
        "--out", str(out), "--cache-dir", str(tmp_path / "cache"),
    ]
    assert main(argv) == 0
    printed = capsys.readouterr().out
    result = json.loads(out.read_text())
    metrics = result["metrics"]
    assert {"fd_emoji_cnn", "kid_emoji_cnn", "precision_emoji_cnn", "recall_emoji_cnn"} <= set(metrics)
    assert "fid" not in metrics and "FID" not in printed  # the fallback is never called FID
    assert re.search(rf"^fd_emoji_cnn +{metrics['fd_emoji_cnn']:.6g}$", printed, re.M)
    protocol = result["protocol"]
    assert protocol["model"] == str(model_dir) and protocol["num_samples"] == 260
    assert protocol["reference"]["resolution"] == 16  # reference resized to the model's resolution
    assert protocol["reference"]["split"] == "train" and protocol["memorization"]["heldout"] is None  # one file
    assert (out.parent / result["memorization"]["closest_pairs_image"]).is_file()
    assert [m["type"] for m in result["model_index"]][:2] == ["fd_emoji_cnn", "kid_emoji_cnn"]
    cached = list((tmp_path / "cache").glob("*.safetensors"))
    assert len(cached) == 1 and cached[0].name.startswith("emoji-300.parquet-train-16px-emoji-cnn-")

    # same command again: reference features from the cache, same numbers
    assert main(argv) == 0
    assert json.loads(out.read_text())["metrics"] == metrics


def test_evaluate_with_dinov2_from_a_local_folder(model_dir, parquet, tmp_path):
    from transformers import Dinov2Config, Dinov2Model

    torch.manual_seed(0)
    weights = tmp_path / "tiny-dinov2"
    config = Dinov2Config(
        hidden_size=16, num_hidden_layers=1, num_attention_heads=2, intermediate_size=32, patch_size=14
    )
    Dinov2Model(config).save_pretrained(weights)
    out = tmp_path / "dino.json"
    argv = [
        "evaluate", "--model", str(model_dir), "--data", str(parquet), "--backbone", "dinov2",
        "--backbone-weights", str(weights), "--num-samples", "40", "--out", str(out), "--no-cache",
    ]
    assert main(argv) == 0
    result = json.loads(out.read_text())
    assert set(result["metrics"]) == {"fd_dinov2"} and result["metrics"]["fd_dinov2"] > 0
    assert result["protocol"]["backbone"]["feature_dim"] == 16
    value = pytest.approx(result["metrics"]["fd_dinov2"], rel=1e-5)
    assert result["model_index"] == [{"type": "fd_dinov2", "name": "FD (DINOv2)", "value": value}]


def test_evaluate_errors_are_clear(model_dir, parquet, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    out = tmp_path / "m.json"
    base = ["evaluate", "--model", str(model_dir), "--data", str(parquet), "--out", str(out), "--no-cache"]

    assert main(base + ["--backbone", "inception"]) == 2  # no weights on this machine
    err = capsys.readouterr().err
    assert "Inception-V3 FID weights are not available" in err and "--backbone-weights PATH" in err

    assert main(base + ["--backbone", "emoji-cnn", "--num-samples", "100"]) == 2
    assert "needs at least 256 images; num_samples has 100" in capsys.readouterr().err

    assert main(base + ["--backbone", "emoji-cnn", "--metrics", "kid", "--num-samples", "2000"]) == 2
    assert (
        "KID with kid_subset_size=1000 needs at least that many images; the reference has 300"
        in capsys.readouterr().err
    )

    assert main(base[:4] + [str(tmp_path / "missing.parquet"), "--backbone", "emoji-cnn"]) == 2
    assert "missing.parquet: no such parquet file or folder" in capsys.readouterr().err
    assert main(base[:4] + ["hfgan-test/no-such-dataset", "--backbone", "emoji-cnn"]) == 2
    assert "neither a local parquet file or folder nor a loadable Hub dataset" in capsys.readouterr().err
    assert not out.exists()
