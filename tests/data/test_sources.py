"""One decision of what a source is (`source_kind`, `resolve_data_source`), one image decoder (`decode_image`)."""

import io
import os
from pathlib import Path

import numpy as np
import PIL.Image
import pytest
import torch

from hfgan.data import (
    DEFAULT_DATASET,
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
