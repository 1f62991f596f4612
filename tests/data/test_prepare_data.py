"""`prepare_dataset` / `hfgan prepare-data`: any image mode in, 8-bit RGB squares out, bad files skipped and named."""

import io
import os

import numpy as np
import PIL.Image
import pytest
from datasets import ClassLabel, Dataset, Features, Image, Value, load_dataset

import hfgan.data.prepare as prepare_module
from hfgan.cli import main
from hfgan.data import PrepareError, prepare_dataset

GOOD = {  # path -> how it is made: (mode, size, save format)
    "cats/rgb.jpg": ("RGB", (16, 12), "JPEG"),
    "cats/rgba.png": ("RGBA", (12, 16), "PNG"),
    "cats/nested/deeper/gray.png": ("L", (10, 10), "PNG"),
    "cats/bilevel.png": ("1", (9, 11), "PNG"),
    "dogs/la.png": ("LA", (14, 10), "PNG"),
    "dogs/palette.gif": ("P", (13, 13), "GIF"),
    "dogs/cmyk.jpg": ("CMYK", (16, 16), "JPEG"),
    "dogs/sixteen.png": ("I;16", (12, 12), "PNG"),
    "dogs/sub/palette_transparent.png": ("PT", (10, 12), "PNG"),
}
BAD = {"dogs/corrupt.png", "cats/empty.png", "dogs/truncated.png"}


def make_image(mode: str, size, seed: int = 0) -> PIL.Image.Image:
    rng = np.random.default_rng(seed)
    w, h = size
    if mode == "I;16":
        return PIL.Image.fromarray(rng.integers(0, 65536, (h, w), dtype=np.uint16))
    if mode == "PT":  # palette with a transparent colour
        image = PIL.Image.fromarray(rng.integers(0, 4, (h, w), dtype=np.uint8), mode="L").convert("P")
        image.info["transparency"] = 0
        return image
    rgba = PIL.Image.fromarray(rng.integers(0, 256, (h, w, 4), dtype=np.uint8), mode="RGBA")
    if mode in ("RGBA", "LA"):
        return rgba.convert(mode)
    return rgba.convert("RGB").convert(mode)


def write_image(path, image: PIL.Image.Image, fmt: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    kwargs = {"transparency": image.info["transparency"]} if "transparency" in image.info else {}
    image.save(path, format=fmt, **kwargs)


@pytest.fixture
def mixed_folder(tmp_path):
    root = tmp_path / "photos"
    for i, (name, (mode, size, fmt)) in enumerate(GOOD.items()):
        write_image(root / name, make_image(mode, size, seed=i), fmt)
    (root / "dogs/corrupt.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"definitely not a png" * 5)
    (root / "cats/empty.png").write_bytes(b"")
    full = io.BytesIO()
    make_image("RGB", (16, 16)).save(full, format="PNG")
    (root / "dogs/truncated.png").write_bytes(full.getvalue()[:60])
    (root / "dogs/notes.txt").write_text("not an image")
    (root / ".hidden.png").write_bytes(b"")  # hidden files are not looked at
    return root


def read_back(path):
    dataset = load_dataset("parquet", data_files=str(path), split="train")
    return dataset, dataset.cast_column("image", Image(decode=False))


def test_mixed_folder_writes_the_good_images_and_names_the_bad(mixed_folder, tmp_path):
    out = tmp_path / "dataset-resized-8.parquet"
    report = prepare_dataset(mixed_folder, out, size=8, num_proc=2, progress=False)

    assert report.written == len(GOOD)
    assert dict(report.skipped).keys() == BAD
    reasons = dict(report.skipped)
    assert "zero bytes" in reasons["cats/empty.png"]
    assert "corrupt" in reasons["dogs/corrupt.png"]
    assert report.ignored_files == 1
    summary = report.summary()
    assert all(name in summary for name in BAD) and f"Wrote {len(GOOD)} images" in summary

    dataset, raw = read_back(out)
    assert len(dataset) == len(GOOD)
    assert isinstance(dataset.features["image"], Image)
    assert {row["image"]["path"] for row in raw} == set(GOOD)
    for row in dataset:
        assert row["image"].mode == "RGB" and row["image"].size == (8, 8)
    assert not [f for f in os.listdir(tmp_path) if f.endswith(".tmp")]


def test_transparency_is_composited_on_white_and_16_bit_is_scaled(tmp_path):
    src = tmp_path / "src"
    write_image(src / "clear.png", PIL.Image.new("RGBA", (12, 12), (0, 0, 0, 0)), "PNG")
    write_image(src / "clear_la.png", PIL.Image.new("LA", (12, 12), (0, 0)), "PNG")
    write_image(src / "half.png", PIL.Image.fromarray(np.full((12, 12), 32896, dtype=np.uint16)), "PNG")
    write_image(src / "red.png", PIL.Image.new("RGBA", (12, 12), (255, 0, 0, 255)), "PNG")
    out = tmp_path / "out.parquet"
    prepare_dataset(src, out, size=8, label_from="none", num_proc=1, progress=False)

    dataset, raw = read_back(out)
    pixels = {r["image"]["path"]: np.asarray(d["image"]) for r, d in zip(raw, dataset)}
    assert (pixels["clear.png"] == 255).all() and (pixels["clear_la.png"] == 255).all()
    assert np.abs(pixels["half.png"].astype(int) - 128).max() <= 1  # scaled, not clipped at 255
    assert (pixels["red.png"] == [255, 0, 0]).all()
    assert "label" not in dataset.features


def test_center_crop_or_whole_image(tmp_path):
    src = tmp_path / "src"
    stripes = np.zeros((10, 30, 3), dtype=np.uint8)
    stripes[:, :10] = (255, 0, 0)
    stripes[:, 10:20] = (0, 255, 0)
    stripes[:, 20:] = (0, 0, 255)
    write_image(src / "stripes.png", PIL.Image.fromarray(stripes), "PNG")

    def first_image(crop):
        report = prepare_dataset(src, tmp_path / f"{crop}.parquet", size=8, crop=crop, progress=False)
        return np.asarray(read_back(report.output)[0][0]["image"])

    center, whole = first_image("center"), first_image("none")
    assert (np.abs(center.astype(int) - [0, 255, 0]) <= 2).all()  # the middle third only
    assert whole[:, 0, 0].min() > 200 and whole[:, -1, 2].min() > 200  # red at the left, blue at the right


def test_folder_labels_round_trip_with_their_names(tmp_path):
    src = tmp_path / "src"
    classes = {"zebra": 2, "big cat": 3, "café": 1}
    for c, (name, n) in enumerate(classes.items()):
        for i in range(n):
            write_image(src / name / "some" / "depth" / f"{i}.png", make_image("RGB", (10, 10), seed=10 * c + i), "PNG")
    out = tmp_path / "labeled.parquet"
    report = prepare_dataset(src, out, size=8, label_from="folder", num_proc=1, progress=False)
    assert report.class_names == sorted(classes)

    dataset, raw = read_back(out)
    feature = dataset.features["label"]
    assert isinstance(feature, ClassLabel) and feature.names == sorted(classes)
    for row in raw:
        assert feature.int2str(row["label"]) == row["image"]["path"].split("/")[0]
    assert sorted(dataset["label"]) == sorted(feature.names.index(c) for c, n in classes.items() for _ in range(n))


def test_images_outside_class_folders_are_skipped_when_labels_come_from_folders(tmp_path):
    src = tmp_path / "src"
    write_image(src / "a" / "x.png", make_image("RGB", (10, 10)), "PNG")
    write_image(src / "loose.png", make_image("RGB", (10, 10)), "PNG")
    report = prepare_dataset(src, tmp_path / "o.parquet", size=8, label_from="folder", progress=False)
    assert report.written == 1 and [name for name, _ in report.skipped] == ["loose.png"]
    # "auto" gives no labels here: not every image is in a class folder
    auto = prepare_dataset(src, tmp_path / "auto.parquet", size=8, progress=False)
    assert auto.class_names is None and auto.written == 2


def test_parquet_source_with_labels_from_a_column(tmp_path):
    buffers = []
    for i in range(5):
        b = io.BytesIO()
        make_image("RGBA", (12, 9), seed=i).save(b, format="PNG")
        buffers.append(b.getvalue())
    table = Dataset.from_dict(
        {
            "img": [{"bytes": b, "path": None} for b in buffers] + [{"bytes": b"", "path": None}],
            "species": ["owl", "cat", "owl", "bat", "cat", "owl"],
        },
        features=Features({"img": Image(), "species": Value("string")}),
    )
    src = tmp_path / "source.parquet"
    table.to_parquet(str(src))

    report = prepare_dataset(src, tmp_path / "o.parquet", size=8, label_from="column:species", progress=False)
    assert report.written == 5 and len(report.skipped) == 1 and report.skipped[0][0].startswith("row 5")
    dataset, _ = read_back(report.output)
    assert dataset.features["label"].names == ["bat", "cat", "owl"]
    assert [dataset.features["label"].int2str(v) for v in dataset["label"]] == ["owl", "cat", "owl", "bat", "cat"]

    # the prepared file is itself a source: "auto" keeps its ClassLabel and names
    again = prepare_dataset(report.output, tmp_path / "again.parquet", size=8, progress=False)
    assert again.class_names == ["bat", "cat", "owl"] and again.written == 5


def test_bad_input_is_a_clear_error_and_writes_nothing(tmp_path, mixed_folder):
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "readme.txt").write_text("no images here")
    with pytest.raises(PrepareError, match="no images found"):
        prepare_dataset(empty, tmp_path / "a.parquet", progress=False)
    with pytest.raises(ValueError, match="at least 8"):
        prepare_dataset(mixed_folder, tmp_path / "a.parquet", size=7, progress=False)
    with pytest.raises(ValueError, match="label_from"):
        prepare_dataset(mixed_folder, tmp_path / "a.parquet", label_from="colour", progress=False)

    only_bad = tmp_path / "only_bad"
    only_bad.mkdir()
    (only_bad / "x.png").write_bytes(b"")
    (only_bad / "y.jpg").write_bytes(b"garbage")
    with pytest.raises(PrepareError, match="no image could be read"):
        prepare_dataset(only_bad, tmp_path / "a.parquet", progress=False)
    assert sorted(os.listdir(tmp_path)) == ["empty", "only_bad", "photos"]  # no output, no temporary file


def test_existing_output_is_kept_without_overwrite(mixed_folder, tmp_path):
    out = tmp_path / "out.parquet"
    out.write_bytes(b"precious")
    with pytest.raises(FileExistsError, match="overwrite"):
        prepare_dataset(mixed_folder, out, size=8, progress=False)
    assert out.read_bytes() == b"precious"
    prepare_dataset(mixed_folder, out, size=8, overwrite=True, progress=False)
    assert len(read_back(out)[0]) == len(GOOD)


def test_a_crash_part_way_leaves_no_half_written_file(mixed_folder, tmp_path, monkeypatch):
    out = tmp_path / "out.parquet"
    out.write_bytes(b"previous version")
    calls = []

    def failing(chunk, size, crop):
        calls.append(len(chunk))
        if len(calls) > 1:
            raise KeyboardInterrupt  # e.g. the user pressing Ctrl-C
        return real(chunk, size, crop)

    real = prepare_module._process_chunk
    monkeypatch.setattr(prepare_module, "_CHUNK_SIZE", 2)
    monkeypatch.setattr(prepare_module, "_process_chunk", failing)
    with pytest.raises(KeyboardInterrupt):
        prepare_dataset(mixed_folder, out, size=8, overwrite=True, num_proc=1, row_group_size=1, progress=False)
    assert len(calls) == 2
    assert out.read_bytes() == b"previous version"
    assert sorted(os.listdir(tmp_path)) == ["out.parquet", "photos"]


def test_command_line(mixed_folder, tmp_path, capsys):
    out = tmp_path / "cli.parquet"
    args = ["prepare-data", str(mixed_folder), "--size", "8", "--out", str(out), "--num-proc", "1", "--no-progress"]
    assert main(args + ["--label-from", "folder"]) == 0
    printed = capsys.readouterr().out
    assert f"Wrote {len(GOOD)} images" in printed and "dogs/corrupt.png" in printed
    assert load_dataset("parquet", data_files=str(out), split="train").features["label"].names == ["cats", "dogs"]

    assert main(args) == 1
    assert "exists" in capsys.readouterr().err
    assert main(args + ["--overwrite", "--label-from", "none", "--crop", "none"]) == 0
    assert "label" not in load_dataset("parquet", data_files=str(out), split="train").features
    assert main(["prepare-data", str(mixed_folder), "--size", "4", "--out", str(tmp_path / "x.parquet")]) == 1
    assert "at least 8" in capsys.readouterr().err


@pytest.fixture
def digits(tmp_path):
    """`digits/{train,test}/{0,1,2}/*.png`, 3 and 1 tiny images per class: split folders with class folders below."""
    root = tmp_path / "digits"
    for split, per_class in (("train", 3), ("test", 1)):
        for label in range(3):
            for i in range(per_class):
                image = PIL.Image.new("RGB", (12, 10), (80 * label, 40 * i, 255 - 80 * label))
                write_image(root / split / str(label) / f"{i}.png", image, "PNG")
    return root


def test_split_folders_become_one_file_per_split(digits, tmp_path):
    from hfgan.data import load_image_dataset

    out = tmp_path / "digits-8"
    report = prepare_dataset(digits, out, size=8, num_proc=1, progress=False)
    files = {split: out / f"dataset-resized-8-{split}.parquet" for split in ("train", "test")}
    assert report.output == out and report.outputs == files and all(f.is_file() for f in files.values())
    assert report.split_counts == {"train": 9, "test": 3} and report.written == 12 and report.skipped == []
    assert report.class_names == ["0", "1", "2"]  # the class folders below the splits, not "test" and "train"
    summary = report.summary()
    assert "Splits from split folders: train (train/), test (test/)." in summary
    assert f"  test: 3 images, {files['test']}" in summary
    assert "Labels from class folders (auto): 3 classes (0, 1, 2)." in summary

    test = load_image_dataset(out, split="test", with_labels=True)
    assert len(test) == 3 and test.class_names == ["0", "1", "2"] and test.labels.tolist() == [0, 1, 2]
    assert len(load_image_dataset(out, split="train")) == 9
    both = load_dataset("parquet", data_files={split: str(path) for split, path in files.items()})
    assert both["train"].features["label"].names == ["0", "1", "2"] and both["test"].num_rows == 3
    raw = both["test"].cast_column("image", Image(decode=False))
    assert [row["image"]["path"] for row in raw] == ["0/0.png", "1/0.png", "2/0.png"]  # below the split folder

    one = prepare_dataset(digits, tmp_path / "test-only.parquet", size=8, split="test", progress=False)
    assert one.output == tmp_path / "test-only.parquet" and one.written == 3 and one.class_names == ["0", "1", "2"]
    with pytest.raises(ValueError, match="no split 'validation'; its splits: train, test"):
        prepare_dataset(digits, tmp_path / "v.parquet", size=8, split="validation", progress=False)


def test_split_folders_are_read_as_datasets_reads_them(tmp_path):
    from hfgan.data import load_image_dataset

    src = tmp_path / "src"
    for path in ("train/cat/a.png", "train/dog/b.png", "valid/cat/c.png", "validation/dog/d.png", "loose.png"):
        write_image(src / path, make_image("RGB", (10, 10)), "PNG")
    report = prepare_dataset(src, tmp_path / "out", size=8, progress=False)
    assert list(report.outputs) == ["train", "validation"]  # valid/ and validation/ are both the validation split
    assert report.split_folders == {"train": ["train"], "validation": ["valid", "validation"]}
    assert report.skipped == [("loose.png", "not inside a split folder (train/, valid/, validation/)")]
    assert len(load_image_dataset(tmp_path / "out", split="validation")) == 2
    # the folder of images itself reads the same way through `datasets`' imagefolder
    assert len(load_image_dataset(src, split="validation", image_size=8)) == 2


def test_split_folders_need_a_folder_to_write_to(digits, tmp_path):
    with pytest.raises(ValueError, match="give a folder as the output, not .*x.parquet"):
        prepare_dataset(digits, tmp_path / "x.parquet", size=8, progress=False)
    out = tmp_path / "out"
    prepare_dataset(digits, out, size=8, progress=False)
    with pytest.raises(FileExistsError, match="dataset-resized-8-train.parquet and .*-test.parquet exist"):
        prepare_dataset(digits, out, size=8, progress=False)
    # another size beside them would be read as part of the same splits
    with pytest.raises(ValueError, match="holds other parquet files"):
        prepare_dataset(digits, out, size=16, progress=False)
    assert sorted(os.listdir(out)) == ["dataset-resized-8-test.parquet", "dataset-resized-8-train.parquet"]


def test_command_line_names_the_splits_and_classes(digits, tmp_path, capsys):
    out = tmp_path / "out"
    args = ["prepare-data", str(digits), "--size", "8", "--out", str(out), "--num-proc", "1", "--no-progress"]
    assert main(args) == 0
    printed = capsys.readouterr().out
    assert "Wrote 12 images (8x8 RGB)" in printed and "  train: 9 images" in printed
    assert "Splits from split folders: train (train/), test (test/)." in printed and "3 classes (0, 1, 2)" in printed
    assert main(args[:-3] + ["--split", "test", "--out", str(tmp_path / "t.parquet"), "--no-progress"]) == 0
    assert load_dataset("parquet", data_files=str(tmp_path / "t.parquet"), split="train").num_rows == 3


def test_hub_dataset_id_as_source(hub, tmp_path):
    folder = tmp_path / "upload"
    for c, name in enumerate(["apple", "pear"]):
        for i in range(3):
            write_image(folder / "train" / name / f"{i}.png", make_image("RGBA", (12, 10), seed=c * 3 + i), "PNG")
    repo_id = hub.new_repo_id("fruit")
    hub.api.create_repo(repo_id, repo_type="dataset")
    hub.api.upload_folder(repo_id=repo_id, folder_path=str(folder), repo_type="dataset")

    out = tmp_path / "fruit-8.parquet"
    report = prepare_dataset(repo_id, out, size=8, token=hub.token, num_proc=1, progress=False)
    assert report.written == 6 and report.skipped == []
    dataset = load_dataset("parquet", data_files=str(out), split="train")
    assert dataset.features["label"].names == ["apple", "pear"]
    assert sorted(dataset["label"]) == [0, 0, 0, 1, 1, 1]
    assert {row["image"].size for row in dataset} == {(8, 8)}


def test_labels_from_a_metadata_column_beside_a_folder(tmp_path):
    src = tmp_path / "src"
    for i in range(4):
        write_image(src / f"{i}.png", make_image("RGB", (12, 10), seed=i), "PNG")
    (src / "metadata.csv").write_text("file_name,species\n0.png,owl\n1.png,cat\n2.png,owl\n3.png,bat\n")
    report = prepare_dataset(src, tmp_path / "o.parquet", size=8, label_from="column:species", progress=False)
    assert report.written == 4 and report.class_names == ["bat", "cat", "owl"]
    dataset = load_dataset("parquet", data_files=str(report.output), split="train")
    assert sorted(dataset.features["label"].int2str(v) for v in dataset["label"]) == ["bat", "cat", "owl", "owl"]
