"""One decision of what a source is (`source_kind`, `resolve_data_source`), one image decoder (`decode_image`)."""

import io
import os
import shutil
import sys
from pathlib import Path

import numpy as np
import PIL.Image
import pytest
import torch

from hfgan.data import (
    DEFAULT_DATASET,
    EMOJI_HUB_ID,
    decode_image,
    decode_images,
    default_dataset_path,
    emoji_dataset_path,
    load_image_dataset,
    prepare_dataset,
    resolve_data_source,
    source_kind,
)

EMOJI = Path(__file__).resolve().parents[2] / "data" / "emoji"


def save_png(path: Path, color, size=(10, 6)) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    PIL.Image.new("RGBA", size, (*color, 255)).save(path)


def test_the_kind_of_a_source_is_decided_in_one_place(tmp_path):
    save_png(tmp_path / "photos" / "cats" / "a.png", (200, 0, 0))
    prepare_dataset(tmp_path / "photos", tmp_path / "tables" / "train.parquet", size=8, num_proc=1, progress=False)
    (tmp_path / "notes.txt").write_text("not data")

    assert source_kind({"train": "x.parquet"})[0] == "parquet-files"
    assert source_kind(tmp_path / "tables" / "train.parquet") == ("parquet-file", tmp_path / "tables" / "train.parquet")
    assert source_kind(str(tmp_path / "tables")) == ("dataset-folder", tmp_path / "tables")
    assert source_kind(tmp_path / "photos") == ("image-folder", tmp_path / "photos")
    assert source_kind("user/some-dataset") == ("hub", "user/some-dataset")
    with pytest.raises(ValueError, match="not a parquet file"):
        source_kind(tmp_path / "notes.txt")
    with pytest.raises(FileNotFoundError, match="no such parquet file or folder"):
        source_kind(str(tmp_path / "missing.parquet"))
    with pytest.raises(FileNotFoundError):
        source_kind(tmp_path / "missing")  # a Path is never a Hub id


def test_the_emoji_name_and_its_environment_variable(tmp_path, monkeypatch):
    assert DEFAULT_DATASET == "emoji" and source_kind("emoji") == ("dataset-folder", default_dataset_path())
    monkeypatch.chdir(tmp_path)  # outside the checkout
    monkeypatch.setenv("HFGAN_EMOJI_DATA", str(EMOJI))
    assert emoji_dataset_path() == EMOJI
    assert resolve_data_source("emoji", "test").num_rows == 549
    monkeypatch.setenv("HFGAN_EMOJI_DATA", str(tmp_path / "elsewhere"))
    with pytest.raises(FileNotFoundError, match=r"\$HFGAN_EMOJI_DATA.*hfgan repository's data/emoji/"):
        resolve_data_source("emoji")


@pytest.fixture
def emoji_on_the_hub(hub, tmp_path, monkeypatch):
    """A tiny stand-in of the emoji release served by the test Hub under `EMOJI_HUB_ID`, uploaded as the release is
    (`data/emoji/` as it is: its card's `configs` and `emoji-64-{train,test}.parquet`); returns the images per split.
    Removed afterwards, with what `datasets` cached of it: later tests must not find an "emoji" on the Hub."""
    import datasets
    import huggingface_hub

    server_module = sys.modules[type(hub.server).__module__]
    namespace = EMOJI_HUB_ID.split("/")[0]
    monkeypatch.setitem(server_module.ORGS, hub.user, [*server_module.ORGS[hub.user], namespace])
    folder = tmp_path / "release"
    folder.mkdir()
    features = datasets.Features({"image": datasets.Image(), "label": datasets.ClassLabel(names=["red", "blue"])})
    counts = {"train": 4, "test": 2}
    for split, n in counts.items():
        cells = []
        for i in range(n):
            buffer = io.BytesIO()
            PIL.Image.new("RGB", (8, 8), (200, 0, 0) if i % 2 == 0 else (0, 0, 200)).save(buffer, format="PNG")
            cells.append({"bytes": buffer.getvalue(), "path": None})
        table = datasets.Dataset.from_dict({"image": cells, "label": [i % 2 for i in range(n)]}, features=features)
        table.to_parquet(str(folder / f"emoji-64-{split}.parquet"))
    card = (EMOJI / "README.md").read_text()
    (folder / "README.md").write_text(card[: card.index("---", 3) + 3] + "\n\nA tiny stand-in of the emoji set.\n")
    hub.api.create_repo(EMOJI_HUB_ID, repo_type="dataset")
    try:
        hub.api.upload_folder(repo_id=EMOJI_HUB_ID, folder_path=str(folder), repo_type="dataset")
        yield counts
    finally:
        hub.api.delete_repo(EMOJI_HUB_ID, repo_type="dataset")
        # `datasets` falls back to its cache when the Hub says no, so the cached copy goes too
        cached = "*" + EMOJI_HUB_ID.replace("/", "*") + "*"
        for cache in (datasets.config.HF_DATASETS_CACHE, huggingface_hub.constants.HF_HUB_CACHE):
            for path in Path(cache).glob(cached):  # folders, and the lock files beside them
                shutil.rmtree(path) if path.is_dir() else path.unlink()


def test_outside_a_clone_the_emoji_source_is_the_hub_release(emoji_on_the_hub, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # no data/emoji here
    monkeypatch.delenv("HFGAN_EMOJI_DATA", raising=False)
    assert source_kind("emoji") == ("hub", EMOJI_HUB_ID)
    test = resolve_data_source("emoji", split="test")
    assert (test.name, test.num_rows, test.image_column) == (EMOJI_HUB_ID, 2, "image")
    train = load_image_dataset(with_labels=True)  # the training default, as an installed package runs it
    assert len(train) == emoji_on_the_hub["train"] and train.class_names == ["red", "blue"]
    assert train.image_size == 8 and train.labels.tolist() == [0, 1, 0, 1]
    with pytest.raises(FileNotFoundError, match="hfgan repository's data/emoji/"):
        emoji_dataset_path()  # the local folder alone, as before


def test_without_a_local_copy_or_the_hub_the_emoji_message_names_both(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("HFGAN_EMOJI_DATA", raising=False)
    with pytest.raises(FileNotFoundError) as raised:
        resolve_data_source("emoji", split="test")  # the test Hub has no such dataset
    message = str(raised.value)
    assert "hfgan repository's data/emoji/" in message and "HFGAN_EMOJI_DATA=/path/to/data/emoji" in message
    assert f"the Hub dataset {EMOJI_HUB_ID!r} could not be loaded" in message
    # a set $HFGAN_EMOJI_DATA is the one place looked at: a wrong one is an error, not a trip to the Hub
    monkeypatch.setenv("HFGAN_EMOJI_DATA", str(tmp_path / "elsewhere"))
    with pytest.raises(FileNotFoundError, match=r"\$HFGAN_EMOJI_DATA"):
        source_kind("emoji")


def test_a_resolved_split_and_its_cache_key(tmp_path):
    test = resolve_data_source("emoji", split="test")
    assert (test.num_rows, test.image_column, test.splits) == (549, "image", ("train", "test"))
    assert test.files == (default_dataset_path() / "emoji-64-test.parquet",)
    assert resolve_data_source(str(EMOJI), split="test").cache_key == test.cache_key
    with pytest.raises(ValueError, match="no split 'valid'; its splits: train, test"):
        resolve_data_source("emoji", split="valid")

    path = tmp_path / "one.parquet"
    path.write_bytes((EMOJI / "emoji-64-test.parquet").read_bytes())
    before = resolve_data_source(path)
    os.utime(path, ns=(0, 0))  # the same name, changed data
    assert resolve_data_source(path).fingerprint != before.fingerprint
    with pytest.raises(ValueError, match="single parquet file"):
        resolve_data_source(path, split="test")


def test_a_folder_of_images_is_read_with_its_class_folders(tmp_path):
    save_png(tmp_path / "photos" / "red" / "a.png", (255, 0, 0), size=(12, 12))
    save_png(tmp_path / "photos" / "blue" / "b.png", (0, 0, 255), size=(12, 12))
    source = resolve_data_source(tmp_path / "photos")
    assert source.num_rows == 2 and source.dataset is not None and source.files == ()
    dataset = load_image_dataset(tmp_path / "photos", with_labels=True, image_size=8)
    assert dataset.class_names == ["blue", "red"] and dataset.image_size == 8
    colours = {int(label): tuple(image[:, 0, 0].tolist()) for image, label in zip(*dataset[[0, 1]])}
    assert colours == {0: (-1.0, -1.0, 1.0), 1: (1.0, -1.0, -1.0)}


def test_one_decoder_for_every_kind_of_cell(tmp_path):
    image = PIL.Image.new("RGBA", (30, 20), (10, 20, 30, 0))  # transparent, not square
    image.putpixel((15, 10), (10, 20, 30, 255))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    (tmp_path / "a.png").write_bytes(buffer.getvalue())
    cells = [
        buffer.getvalue(),
        str(tmp_path / "a.png"),
        tmp_path / "a.png",
        image,
        {"bytes": buffer.getvalue(), "path": "a.png"},
        {"bytes": None, "path": "a.png"},  # relative to the data file's folder
    ]
    arrays = [decode_image(cell, base_dir=tmp_path) for cell in cells]
    assert all(a.shape == (20, 30, 3) and a.dtype == np.uint8 for a in arrays)
    assert all(np.array_equal(a, arrays[0]) for a in arrays)
    assert tuple(arrays[0][0, 0]) == (255, 255, 255)  # transparency on white
    assert decode_image(cells[0], size=8).shape == (8, 8, 3)  # center crop, then Lanczos
    with pytest.raises(ValueError, match="no image data"):
        decode_image({"bytes": None, "path": None})

    batch = decode_images(cells[:4], image_size=8)
    assert batch.shape == (4, 3, 8, 8) and batch.dtype == torch.uint8
    with pytest.raises(ValueError, match="row 1 is 12x12, not 30x20"):
        decode_images([cells[0], PIL.Image.new("RGB", (12, 12))])
