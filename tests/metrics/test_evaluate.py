"""The Evaluator: sampling in chunks, reference features cached on disk, result JSON and model-card metadata."""

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import torch
import torch.nn.functional as F

from hfgan import DCGANGenerator, DCGANPipeline
from hfgan.hub import render_model_card
from hfgan.metrics import Evaluator, metric_names, to_model_index
from hfgan.metrics.reference import ReferenceDataset

EMOJI = Path(__file__).resolve().parents[2] / "data" / "emoji"


def write_dataset(folder: Path) -> Path:
    """The emoji test split cut in two, even rows `train.parquet` (275), odd rows `test.parquet` (274)."""
    table = pq.read_table(EMOJI / "emoji-64-test.parquet", columns=["image", "label"])
    folder.mkdir(parents=True, exist_ok=True)
    for split, start in (("train", 0), ("test", 1)):
        part = table.take(list(range(start, len(table), 2)))
        pq.write_table(
            pa.table({"image": part.column("image"), "label": part.column("label")}), folder / f"{split}.parquet"
        )
    return folder


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    return write_dataset(tmp_path_factory.mktemp("data") / "emoji-small")


@pytest.fixture(scope="module")
def pipe():
    torch.manual_seed(0)
    return DCGANPipeline(generator=DCGANGenerator(latent_dim=8, base_channels=8, image_size=16))


def test_metric_names_keep_fid_for_inception_only():
    assert metric_names("fd", "inception") == ["fid"]
    assert metric_names("fd", "emoji-cnn") == ["fd_emoji_cnn"]
    assert metric_names("kid", "dinov2") == ["kid_dinov2", "kid_dinov2_std"]
    assert metric_names("pr", "emoji-cnn") == ["precision_emoji_cnn", "recall_emoji_cnn"]
    entries = to_model_index({"fid": 10.0, "kid_std": 0.1, "fd_emoji_cnn": 3.0, "memorization_emoji_cnn_ratio": 1.1})
    assert entries == [
        {"type": "fid", "name": "FID", "value": 10.0},
        {"type": "fd_emoji_cnn", "name": "FD (emoji-cnn)", "value": 3.0},
        {"type": "memorization_emoji_cnn_ratio", "name": "Memorization ratio (emoji-cnn)", "value": 1.1},
    ]


def test_evaluator_end_to_end_with_cache(dataset, pipe, tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    kwargs = dict(
        backbone="emoji-cnn",
        metrics=["fd", "kid", "pr", "memorization"],
        num_samples=300,
        batch_size=128,
        kid_subset_size=100,
        kid_subsets=10,
        num_pairs=4,
        cache_dir=cache,
        resolution=16,
    )
    evaluator = Evaluator(dataset, **kwargs)
    assert len(evaluator.reference_features) == 275 and len(evaluator.heldout_features) == 274
    cached = sorted(p.name for p in cache.iterdir())
    assert len(cached) == 2 and all("16px-emoji-cnn" in name for name in cached)  # train and test, keyed

    result = evaluator.evaluate(pipe)
    m = result.metrics
    assert set(m) >= {"fd_emoji_cnn", "kid_emoji_cnn", "kid_emoji_cnn_std", "precision_emoji_cnn", "recall_emoji_cnn"}
    assert m["fd_emoji_cnn"] > 0 and 0 <= m["precision_emoji_cnn"] <= 1 and "memorization_emoji_cnn_ratio" in m
    assert result.protocol["num_samples"] == 300 and result.protocol["generated_resolution"] == [16, 16]
    assert result.protocol["reference"]["num_images"] == 275 and result.protocol["kid"]["subset_size"] == 100
    assert result.closest_pairs.size == (4 * 16 + 3 * 2, 2 * 16 + 2)  # 4 pairs, 2 px padding
    # sampling is seeded: the same numbers again, and with other chunk sizes up to float round-off (a pixel
    # value here and there rounds to the other 8-bit level when a convolution sums in another order)
    assert evaluator(pipe) == m
    assert Evaluator(dataset, **{**kwargs, "batch_size": 77})(pipe) == pytest.approx(m, rel=1e-3, abs=1e-6)

    # a second evaluator reads the reference features from disk instead of decoding the dataset again
    def no_decode(*args, **kwargs):
        raise AssertionError("reference images decoded although cached")

    monkeypatch.setattr(ReferenceDataset, "load_images", no_decode)
    again = Evaluator(dataset, **{**kwargs, "metrics": ["fd"]})
    torch.testing.assert_close(again.reference_features, evaluator.reference_features)
    assert again(pipe)["fd_emoji_cnn"] == pytest.approx(m["fd_emoji_cnn"], rel=1e-9)

    # saved JSON and picture; the JSON turns into model-card metadata
    out = result.save(tmp_path / "results" / "metrics.json")
    saved = json.loads(out.read_text())
    assert saved["metrics"] == pytest.approx(m)
    assert (out.parent / saved["memorization"]["closest_pairs_image"]).is_file()
    assert len(saved["memorization"]["closest_pairs"]) == 4
    card = render_model_card(pipe, "user/dcgan-emoji", metrics=to_model_index(saved), datasets=["user/emoji"])
    results = card.data.to_dict()["model-index"][0]["results"]
    card_metrics = {m["type"]: m["value"] for r in results for m in r["metrics"]}
    assert card_metrics["fd_emoji_cnn"] == pytest.approx(m["fd_emoji_cnn"], rel=1e-5)
    assert {"kid_emoji_cnn", "precision_emoji_cnn", "recall_emoji_cnn", "memorization_emoji_cnn_ratio"} <= set(
        card_metrics
    )


def test_real_heldout_images_score_better_than_degraded_ones(dataset, tmp_path):
    """A 'model' that returns unseen real images beats one that returns them blurred, or shifted."""
    evaluator = Evaluator(
        dataset, backbone="emoji-cnn", metrics=["fd", "pr", "memorization"], num_samples=274, cache_dir=False
    )
    real = ReferenceDataset(dataset, "test").load_images().float() / 255
    blurred = F.avg_pool2d(real, 5, stride=1, padding=2, count_include_pad=False)
    good, bad = evaluator(real), evaluator(blurred)
    assert bad["fd_emoji_cnn"] > 1.5 * good["fd_emoji_cnn"]
    assert good["memorization_emoji_cnn_ratio"] == pytest.approx(1.0)  # the held-out images themselves
    # training images given back as samples: memorisation flags them
    train = ReferenceDataset(dataset, "train").load_images()[:274].float() / 255
    copied = evaluator.evaluate(train)
    assert copied.metrics["memorization_emoji_cnn_copy_fraction"] == 1.0
    assert copied.metrics["memorization_emoji_cnn_nn_min"] == pytest.approx(0.0, abs=1e-4)
    assert copied.closest_pairs_info[0]["train_index"] == copied.closest_pairs_info[0]["sample"]


def test_too_few_samples_fail_before_sampling(dataset):
    with pytest.raises(ValueError, match=r"needs at least 256 images; num_samples has 100"):
        Evaluator(dataset, backbone="emoji-cnn", metrics=["fd"], num_samples=100, cache_dir=False)
    with pytest.raises(ValueError, match=r"kid_subset_size=1000 needs at least that many images; num_samples has 500"):
        Evaluator(dataset, backbone="emoji-cnn", metrics=["kid"], num_samples=500, cache_dir=False)
    with pytest.raises(ValueError, match=r"kid_subset_size=1000.*the reference has 275"):
        Evaluator(dataset, backbone="emoji-cnn", metrics=["kid"], num_samples=1000, cache_dir=False)
    with pytest.raises(ValueError, match="unknown metrics"):
        Evaluator(dataset, metrics=["is"], cache_dir=False)
    with pytest.raises(ValueError, match=r"no split 'valid'; its splits: train, test"):
        Evaluator(dataset, split="valid", cache_dir=False)


def test_bare_generator_and_tensor_reference(pipe):
    reference = torch.rand(40, 3, 16, 16, generator=torch.Generator().manual_seed(0))
    evaluator = Evaluator(reference, backbone="emoji-cnn", metrics=["pr"], num_samples=20, cache_dir=False)
    from_generator = evaluator(pipe.generator)
    assert from_generator == evaluator(pipe)  # the network is wrapped in its pipeline, same seed, same samples
    with pytest.raises(TypeError, match="cannot sample from a str"):
        evaluator("not a model")
