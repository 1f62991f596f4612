"""`load_image_dataset` / `make_dataloader`: prepared images -> tensors in [-1, 1], labels, labeled subsets."""

import io

import numpy as np
import PIL.Image
import pytest
import torch
from datasets import ClassLabel, Dataset, Features, Image, Value

from hfgan.data import UNLABELED, labeled_subset, load_image_dataset, make_dataloader

NAMES = ["circle", "square", "triangle"]


def png(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    PIL.Image.fromarray(array).save(buffer, format="PNG")
    return buffer.getvalue()


def make_parquet(path, n_per_class=(6, 4, 5), size=8, seed=0, label_names=NAMES, extra_rgba=False) -> np.ndarray:
    """A parquet of random `size` x `size` RGB images with ClassLabel labels; returns the pixels (N, H, W, 3)."""
    rng = np.random.default_rng(seed)
    labels = [c for c, n in enumerate(n_per_class) for _ in range(n)]
    pixels = rng.integers(0, 256, (len(labels), size, size, 3), dtype=np.uint8)
    pixels[0] = 0  # exact ends of the range
    pixels[1] = 255
    Dataset.from_dict(
        {"image": [{"bytes": png(p), "path": None} for p in pixels], "label": labels},
        features=Features({"image": Image(), "label": ClassLabel(names=label_names)}),
    ).to_parquet(str(path))
    return pixels


@pytest.fixture
def parquet(tmp_path):
    path = tmp_path / "tiny-8.parquet"
    return path, make_parquet(path)


def test_images_come_as_float_tensors_in_minus_one_to_one(parquet):
    path, pixels = parquet
    dataset = load_image_dataset(path)
    assert len(dataset) == len(pixels) and dataset.image_size == 8 and not dataset.with_labels
    image = dataset[2]
    assert image.dtype == torch.float32 and image.shape == (3, 8, 8)
    expected = torch.from_numpy(pixels).permute(0, 3, 1, 2).float() / 127.5 - 1
    torch.testing.assert_close(dataset[list(range(len(pixels)))], expected, rtol=0, atol=1e-6)
    assert dataset[0].min() == -1 and dataset[1].max() == 1


def test_labels_and_class_names(parquet):
    path, _ = parquet
    dataset = load_image_dataset(path, with_labels=True)
    assert dataset.class_names == NAMES and dataset.num_classes == 3
    image, label = dataset[7]
    assert image.shape == (3, 8, 8) and label.item() == 1
    assert dataset.labels.tolist() == [0] * 6 + [1] * 4 + [2] * 5


def test_labels_from_a_string_column(tmp_path):
    path = tmp_path / "strings.parquet"
    pixels = np.zeros((4, 8, 8, 3), dtype=np.uint8)
    Dataset.from_dict(
        {"picture": [{"bytes": png(p), "path": None} for p in pixels], "kind": ["b", "a", "b", None]},
        features=Features({"picture": Image(), "kind": Value("string")}),
    ).to_parquet(str(path))
    dataset = load_image_dataset(path, with_labels=True, label_column="kind")
    assert dataset.class_names == ["a", "b"] and dataset.labels.tolist() == [1, 0, 1, UNLABELED]
    with pytest.raises(ValueError, match="no label column 'label'"):
        load_image_dataset(path, with_labels=True)


def test_labeled_subset_is_a_seeded_choice_of_n_per_class(parquet):
    path, _ = parquet
    dataset = load_image_dataset(path, labeled_per_class=3, seed=1)
    assert dataset.with_labels
    kept = dataset.labeled_indices
    assert len(kept) == 9
    assert torch.bincount(dataset.labels[kept]).tolist() == [3, 3, 3]
    assert (dataset.labels[dataset.labels != UNLABELED] == dataset.true_labels[kept]).all()
    assert dataset.true_labels.tolist() == [0] * 6 + [1] * 4 + [2] * 5

    again = load_image_dataset(path, labeled_per_class=3, seed=1)
    assert torch.equal(again.labeled_indices, kept)
    others = {tuple(load_image_dataset(path, labeled_per_class=3, seed=s).labeled_indices.tolist()) for s in range(5)}
    assert len(others) > 1

    labeled = dataset.subset(kept)
    assert len(labeled) == 9 and (labeled.labels >= 0).all()
    torch.testing.assert_close(labeled[0][0], dataset[kept[0].item()][0])


def test_labeled_subset_refuses_classes_with_too_few_images():
    labels = torch.tensor([0, 0, 0, 1, 2, 2, -1])
    with pytest.raises(ValueError, match="class 1 has 1"):
        labeled_subset(labels, per_class=2, seed=0)
    chosen = labeled_subset(labels, per_class=1, seed=0)
    assert sorted(labels[chosen].tolist()) == [0, 1, 2]
    with pytest.raises(ValueError, match="per_class"):
        labeled_subset(labels, per_class=0)


def test_labeled_subset_counts_groups_not_images():
    # class 0: group "a" has three variants (like an emoji's skin tones), "b" and "c" one image each
    labels = torch.tensor([0, 0, 0, 0, 0, 1, 1, -1])
    groups = ["a", "a", "a", "b", "c", "d", "e", "f"]
    for seed in range(6):
        chosen = labeled_subset(labels, per_class=2, seed=seed, groups=groups)
        chosen_groups = [groups[i] for i in chosen]
        assert len(set(g for g in chosen_groups if labels[groups.index(g)] == 0)) == 2  # two labels in class 0
        assert set(chosen_groups) >= {"d", "e"}
        for g in set(chosen_groups):  # a chosen group is labeled whole
            assert chosen_groups.count(g) == groups.count(g)
    assert torch.equal(labeled_subset(labels, 1, 3, groups), labeled_subset(labels, 1, 3, groups))
    with pytest.raises(ValueError, match="class 1 has 2"):
        labeled_subset(labels, per_class=3, groups=groups)
    with pytest.raises(ValueError, match="two classes"):
        labeled_subset(torch.tensor([0, 1]), per_class=1, groups=["x", "x"])


def test_labeled_by_a_column_on_the_emoji_set():
    dataset = load_image_dataset("emoji", split="test", image_size=8, labeled_per_class=2, labeled_by="base_name")
    from hfgan.data import resolve_data_source

    names = resolve_data_source("emoji", "test").column("base_name").to_pylist()
    kept = dataset.labeled_indices.tolist()
    per_class = {}
    for i in kept:
        per_class.setdefault(dataset.labels[i].item(), set()).add(names[i])
    assert len(per_class) == 9 and all(len(bases) == 2 for bases in per_class.values())
    assert len(kept) > 18  # People & Body's skin-tone variants come along with their base emoji
    with pytest.raises(ValueError, match="no column 'nope'"):
        load_image_dataset("emoji", split="test", image_size=8, labeled_per_class=1, labeled_by="nope")


def test_dataloader_gives_seeded_whole_batches(parquet):
    path, _ = parquet
    loader = make_dataloader(path, batch_size=4, seed=3, with_labels=True)
    batches = list(loader)
    assert len(batches) == 3  # 15 images, drop_last
    images, labels = batches[0]
    assert images.shape == (4, 3, 8, 8) and images.dtype == torch.float32 and labels.shape == (4,)
    same = list(make_dataloader(path, batch_size=4, seed=3, with_labels=True))
    assert all(torch.equal(a[1], b[1]) and torch.equal(a[0], b[0]) for a, b in zip(batches, same))

    ordered = list(make_dataloader(load_image_dataset(path), batch_size=4, shuffle=False, drop_last=False))
    assert [len(b) for b in ordered] == [4, 4, 4, 3]
    torch.testing.assert_close(torch.cat(ordered), load_image_dataset(path)[list(range(15))])
    with pytest.raises(ValueError, match="no full batch"):
        make_dataloader(path, batch_size=64)


def test_plain_torch_dataloader_works_too(parquet):
    path, _ = parquet
    images, labels = next(iter(torch.utils.data.DataLoader(load_image_dataset(path, with_labels=True), batch_size=5)))
    assert images.shape == (5, 3, 8, 8) and labels.tolist() == [0] * 5


def test_decoding_per_batch_matches_decoding_in_memory(parquet):
    path, _ = parquet
    in_memory = load_image_dataset(path, with_labels=True)
    per_batch = load_image_dataset(path, with_labels=True, max_memory_bytes=0)
    assert in_memory.images is not None and per_batch.images is None
    for index in (3, [0, 14, 5]):
        torch.testing.assert_close(per_batch[index][0], in_memory[index][0], rtol=0, atol=0)
        assert torch.equal(per_batch[index][1], in_memory[index][1])
    subset = per_batch.subset([4, 2])
    torch.testing.assert_close(subset[[0, 1]][0], in_memory[[4, 2]][0], rtol=0, atol=0)
    assert sum(len(b[0]) for b in make_dataloader(per_batch, batch_size=4, drop_last=False)) == 15


def test_other_sizes_are_resized_on_the_fly(tmp_path):
    path = tmp_path / "sixteen.parquet"
    make_parquet(path, size=16)
    dataset = load_image_dataset(path, image_size=8)
    assert dataset[0].shape == (3, 8, 8)
    assert load_image_dataset(path).image_size == 16

    wide = tmp_path / "wide.parquet"
    Dataset.from_dict(
        {"image": [{"bytes": png(np.zeros((8, 12, 3), dtype=np.uint8)), "path": None}]},
        features=Features({"image": Image()}),
    ).to_parquet(str(wide))
    with pytest.raises(ValueError, match="not square"):
        load_image_dataset(wide)
    assert load_image_dataset(wide, image_size=8)[0].shape == (3, 8, 8)


def test_mixed_sizes_need_an_image_size(tmp_path):
    path = tmp_path / "mixed.parquet"
    arrays = [np.zeros((8, 8, 3), dtype=np.uint8), np.zeros((10, 10, 3), dtype=np.uint8)]
    Dataset.from_dict(
        {"image": [{"bytes": png(a), "path": None} for a in arrays]}, features=Features({"image": Image()})
    ).to_parquet(str(path))
    with pytest.raises(ValueError, match="image_size"):
        load_image_dataset(path)
    assert load_image_dataset(path, image_size=8)[1].shape == (3, 8, 8)


def test_splits_of_a_dataset_folder_and_of_a_dict(tmp_path):
    folder = tmp_path / "ds"
    folder.mkdir()
    train = make_parquet(folder / "train.parquet", n_per_class=(3, 3, 3), seed=1)
    test = make_parquet(folder / "test.parquet", n_per_class=(1, 1, 1), seed=2)
    assert len(load_image_dataset(folder, split="train")) == 9
    loaded_test = load_image_dataset(folder, split="test")
    expected = torch.from_numpy(test).permute(0, 3, 1, 2).float() / 127.5 - 1
    torch.testing.assert_close(loaded_test[[0, 1, 2]], expected, rtol=0, atol=1e-6)
    with pytest.raises(ValueError, match="no split 'validation'"):
        load_image_dataset(folder, split="validation")

    files = {"train": folder / "train.parquet", "test": str(folder / "test.parquet")}
    assert len(load_image_dataset(files, split="test")) == 3
    assert len(load_image_dataset(files)) == len(train)
    with pytest.raises(ValueError, match="single parquet file"):
        load_image_dataset(folder / "train.parquet", split="test")


def test_missing_sources_are_clear_errors(tmp_path, monkeypatch):
    with pytest.raises(FileNotFoundError):
        load_image_dataset(tmp_path / "nope.parquet")
    monkeypatch.chdir(tmp_path)  # not a checkout: no data/emoji here
    monkeypatch.delenv("HFGAN_EMOJI_DATA", raising=False)
    with pytest.raises(FileNotFoundError, match="HFGAN_EMOJI_DATA=/path/to/data/emoji"):
        load_image_dataset()
    with pytest.raises(FileNotFoundError, match="hfgan repository's data/emoji/"):
        load_image_dataset("emoji", split="test")


def test_hub_dataset_id_as_source(hub, tmp_path):
    path = tmp_path / "train.parquet"
    pixels = make_parquet(path, n_per_class=(2, 2, 2))
    repo_id = hub.new_repo_id("shapes")
    hub.api.create_repo(repo_id, repo_type="dataset")
    hub.api.upload_file(
        path_or_fileobj=str(path), path_in_repo="data/train.parquet", repo_id=repo_id, repo_type="dataset"
    )

    dataset = load_image_dataset(repo_id, with_labels=True, token=hub.token)
    assert dataset.class_names == NAMES and dataset.labels.tolist() == [0, 0, 1, 1, 2, 2]
    expected = torch.from_numpy(pixels).permute(0, 3, 1, 2).float() / 127.5 - 1
    torch.testing.assert_close(dataset[list(range(6))][0], expected, rtol=0, atol=1e-6)
