"""Multi-object scenes (`hfgan.data.scenes`, `hfgan prepare-scenes`): cutouts, composition, boxes, parquet output."""

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import PIL.Image
import PIL.ImageDraw
import pyarrow.parquet as pq
import pytest
from datasets import ClassLabel, Image, Value, load_dataset

import hfgan.data.scenes.matting as matting_module
import hfgan.data.scenes.write as write_module
from hfgan.cli import main
from hfgan.data import (
    compose_scene,
    cut_out,
    draw_boxes,
    load_image_dataset,
    make_background,
    object_cutouts,
    prepare_scenes,
    scenes_file,
    scenes_preview,
)

ROOT = Path(__file__).resolve().parents[2]
SHAPES = {  # file -> (shape, colour, size)
    "circles/red.png": ("ellipse", (220, 30, 30), (30, 24)),
    "circles/green.png": ("ellipse", (30, 200, 60), (24, 24)),
    "circles/blue.png": ("ellipse", (40, 60, 220), (20, 28)),
    "squares/orange.png": ("rectangle", (250, 140, 20), (26, 20)),
    "squares/purple.png": ("rectangle", (140, 40, 180), (22, 22)),
    "squares/teal.png": ("rectangle", (20, 160, 160), (28, 28)),
}


def shape_image(shape: str, colour, size, mode: str = "RGBA") -> PIL.Image.Image:
    """A shape with a 3-pixel empty margin: on transparency (RGBA) or on white (RGB)."""
    w, h = size
    image = PIL.Image.new(mode, (w, h), (0, 0, 0, 0) if mode == "RGBA" else (255, 255, 255))
    getattr(PIL.ImageDraw.Draw(image), shape)((3, 3, w - 4, h - 4), fill=(*colour, 255) if mode == "RGBA" else colour)
    return image


@pytest.fixture
def objects_folder(tmp_path):
    root = tmp_path / "objects"
    for name, (shape, colour, size) in SHAPES.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        shape_image(shape, colour, size).save(root / name)
    PIL.Image.new("RGBA", (16, 16), (0, 0, 0, 0)).save(root / "squares/invisible.png")  # no foreground
    (root / "circles/broken.png").write_bytes(b"\x89PNG\r\n\x1a\n not really")
    return root


def scene_rows(path):
    dataset = load_dataset("parquet", data_files=str(path), split="train")
    return dataset, dataset.cast_column("image", Image(decode=False))


# --------------------------------------------------------------------------------------------------------------------
# cutouts
# --------------------------------------------------------------------------------------------------------------------


def test_a_folder_of_rgba_objects_gives_labeled_cropped_cutouts(objects_folder):
    objects = object_cutouts(objects_folder)
    assert objects.class_names == ["circles", "squares"]
    assert sorted(c.name for c in objects) == sorted(os.path.splitext(n)[0] for n in SHAPES)
    assert {c.name: c.label for c in objects}["squares/teal"] == 1
    assert dict(objects.skipped) == {
        "squares/invisible": "no foreground",
        "circles/broken": dict(objects.skipped)["circles/broken"],
    }
    assert "corrupt" in dict(objects.skipped)["circles/broken"]
    for cutout in objects:
        alpha = np.asarray(cutout.image)[..., 3]
        assert cutout.image.mode == "RGBA"
        # cropped to the non-transparent box: every edge row and column holds some of the object
        assert alpha[0].any() and alpha[-1].any() and alpha[:, 0].any() and alpha[:, -1].any()
        w, h = SHAPES[cutout.name + ".png"][2]
        assert cutout.image.size == (w - 6, h - 6)


def test_a_folder_with_split_folders_gives_each_split_its_own_objects(tmp_path):
    root = tmp_path / "objects"
    test_names = {"circles/blue", "squares/teal"}
    for name, (shape, colour, size) in SHAPES.items():
        path = root / ("test" if name[:-4] in test_names else "train") / name
        path.parent.mkdir(parents=True, exist_ok=True)
        shape_image(shape, colour, size).save(path)
    test = object_cutouts(root, "test")
    assert {c.name for c in test} == test_names and test.class_names == ["circles", "squares"]
    with pytest.raises(ValueError, match="no split 'validation'; its splits: train, test"):
        object_cutouts(root, "validation")

    report = prepare_scenes(root, tmp_path / "out", num_train=6, num_test=4, size=16)
    assert report.object_splits == {"train": "train", "test": "test"}
    assert report.source_objects == {"train": 4, "test": 2} and report.class_names == ["circles", "squares"]
    dataset, _ = scene_rows(scenes_file(tmp_path / "out", 16, "test"))
    assert set(sum(dataset["object_names"], [])) <= test_names


def test_an_object_on_white_is_cut_out_with_a_soft_edge_and_no_halo():
    # a red disk, anti-aliased (drawn 4x larger, then shrunk), holding a white "eye" ringed in black
    big = PIL.Image.new("RGB", (160, 160), "white")
    draw = PIL.ImageDraw.Draw(big)
    draw.ellipse((20, 20, 140, 140), fill=(200, 20, 20))
    draw.ellipse((60, 60, 100, 100), fill=(0, 0, 0))
    draw.ellipse((68, 68, 92, 92), fill=(255, 255, 255))
    image = big.resize((40, 40), PIL.Image.Resampling.LANCZOS)

    cutout = cut_out(image)
    rgba = np.asarray(cutout).astype(int)
    alpha = rgba[..., 3]
    assert abs(cutout.width - 30) <= 2 and abs(cutout.height - 30) <= 2  # the disk's box (and faint Lanczos ringing)
    assert alpha[0, 0] == 0 and alpha[-1, -1] == 0  # corners outside the disk
    centre = cutout.width // 2
    assert alpha[centre, centre] == 255 and (rgba[centre, centre, :3] > 240).all()  # the enclosed white stays solid
    rim = (alpha > 0) & (alpha < 255)
    assert rim.any()  # a soft edge
    # no white left in the edge: pasted on black, the rim is red and dark, never whitish
    on_black = rgba[..., :3] * (alpha[..., None] / 255)
    assert on_black[rim][:, 1].max() < 60 and on_black[rim][:, 2].max() < 60


def test_cut_out_keeps_real_alpha_treats_opaque_alpha_as_opaque_and_finds_no_foreground():
    transparent = shape_image("ellipse", (10, 10, 200), (20, 20))
    kept = np.asarray(cut_out(transparent))
    np.testing.assert_array_equal(kept[..., 3], np.asarray(transparent)[3:17, 3:17, 3])

    opaque_rgba = shape_image("rectangle", (10, 150, 10), (20, 20), mode="RGB").convert("RGBA")
    assert cut_out(opaque_rgba).size == (14, 14)  # its white surroundings are cut off, as for RGB

    assert cut_out(PIL.Image.new("RGB", (20, 20), (255, 255, 255))) is None
    assert cut_out(PIL.Image.new("RGBA", (20, 20), (255, 0, 0, 0))) is None
    noise = PIL.Image.fromarray(np.random.default_rng(0).integers(0, 256, (20, 20, 3), dtype=np.uint8))
    assert cut_out(noise).size == (20, 20)  # no background colour: kept whole


def test_numpy_flood_fill_matches_scipy():
    rng = np.random.default_rng(0)
    for share in (0.3, 0.55, 0.7):
        masks = rng.random((20, 23, 17)) < share
        expected = matting_module._connected_to_border_numpy(masks)
        np.testing.assert_array_equal(matting_module._connected_to_border(masks), expected)
        np.testing.assert_array_equal(matting_module._connected_to_border_numpy(masks[4]), expected[4])


def test_a_parquet_source_with_names_and_no_labels(tmp_path):
    import datasets

    cells = []
    for shape, colour, size in SHAPES.values():
        buffer = io.BytesIO()
        shape_image(shape, colour, size).save(buffer, format="PNG")
        cells.append({"bytes": buffer.getvalue(), "path": None})
    names = [f"thing {i}" for i in range(len(cells))]
    table = datasets.Dataset.from_dict(
        {"image": cells, "name": names}, features=datasets.Features({"image": Image(), "name": Value("string")})
    )
    source = tmp_path / "things.parquet"
    table.to_parquet(str(source))
    objects = object_cutouts(source)
    assert [c.name for c in objects] == names and objects.class_names is None
    assert {c.label for c in objects} == {-1}

    report = prepare_scenes(source, tmp_path / "out", num_train=6, num_test=3, size=24)
    assert report.object_splits == {"train": "train", "test": "train"}  # one split: both draw from it
    dataset, _ = scene_rows(scenes_file(tmp_path / "out", 24, "train"))
    assert dataset.features["object_labels"].feature == Value("int32")
    assert all(set(labels) == {-1} for labels in dataset["object_labels"])
    assert set(sum(dataset["object_names"], [])) <= set(names)


# --------------------------------------------------------------------------------------------------------------------
# scenes
# --------------------------------------------------------------------------------------------------------------------


def test_scenes_have_their_objects_inside_their_boxes(objects_folder):
    objects = object_cutouts(objects_folder)
    counts = set()
    for index in range(40):
        scene = compose_scene(np.random.default_rng([7, index]), objects, size=32, min_objects=2, max_objects=3)
        assert scene.image.mode == "RGB" and scene.image.size == (32, 32)
        assert 2 <= len(scene.objects) <= 3
        counts.add(len(scene.objects))
        image = np.asarray(scene.image).astype(int)
        bare = np.asarray(scene.background_image).astype(int)
        for depth, obj in enumerate(scene.objects):
            x0, y0, x1, y1 = obj.box
            assert 0 <= x0 < x1 <= 32 and 0 <= y0 < y1 <= 32
            assert obj.depth == depth and obj.visible >= 0.6
            assert objects[obj.index].name == obj.name and objects[obj.index].label == obj.label
            inside = np.abs(image[y0:y1, x0:x1] - bare[y0:y1, x0:x1]).max(axis=2) > 8
            assert inside.mean() > 0.2  # the object is there
            # and the box is tight: on white, the edge rows and columns of the front object's box show it
            if depth == len(scene.objects) - 1 and scene.style == "white":
                assert inside[0].any() and inside[-1].any() and inside[:, 0].any() and inside[:, -1].any()
        # outside the boxes, the objects are less than 10% opaque
        outside = np.ones((32, 32), dtype=bool)
        for x0, y0, x1, y1 in scene.boxes:
            outside[y0:y1, x0:x1] = False
        assert np.abs(image - bare)[outside].max(initial=0) <= 26
    assert counts == {2, 3}


def test_composition_is_seeded(objects_folder):
    objects = object_cutouts(objects_folder)

    def png(seed):
        scene = compose_scene(np.random.default_rng(seed), objects, size=24)
        return scene.image.tobytes(), scene.boxes

    assert png(3) == png(3)
    assert png(3) != png(4)


def test_backgrounds_plain_and_textured():
    rng = np.random.default_rng(0)
    styles = set()
    for _ in range(40):
        plain, style = make_background(rng, 16, "plain", white_fraction=0.5)
        assert style in ("white", "solid") and (plain == plain[0, 0]).all()
        textured, style = make_background(rng, 16, "textured")
        styles.add(style)
        assert textured.shape == (16, 16, 3) and textured.min() >= 0 and textured.max() <= 255
        assert np.ptp(textured.reshape(-1, 3), axis=0).max() > 1  # not one colour
    assert styles == {"gradient", "stripes", "checker", "noise"}
    with pytest.raises(ValueError, match="background kind"):
        make_background(rng, 16, "tartan")


@pytest.mark.parametrize(
    "kwargs, problem",
    [
        (dict(min_objects=3, max_objects=2), "min_objects .3. must not exceed max_objects .2."),
        (dict(min_objects=0), "min_objects must be at least 1"),
        (dict(size=12), "size must be an integer of at least 16"),
        (dict(min_scale=0.7, max_scale=0.5), "scale range"),
        (dict(max_scale=1.5), "scale range"),
        (dict(min_scale=0), "scale range"),
        (dict(min_visible=1.5), "min_visible"),
        (dict(textured_fraction=-0.1), "textured_fraction"),
    ],
)
def test_bad_scene_arguments_name_the_problem(objects_folder, tmp_path, kwargs, problem):
    objects = object_cutouts(objects_folder)
    with pytest.raises(ValueError, match=problem):
        compose_scene(np.random.default_rng(0), objects, **{"size": 32, **kwargs})
    with pytest.raises(ValueError, match=problem):
        prepare_scenes(objects_folder, tmp_path / "out", num_train=2, num_test=2, **{"size": 32, **kwargs})
    assert not (tmp_path / "out").exists()


def test_one_settings_object_for_composition_writing_and_the_command(objects_folder, tmp_path):
    import argparse

    from hfgan.commands import prepare_scenes as command
    from hfgan.data import SceneSettings

    objects = object_cutouts(objects_folder)
    settings = SceneSettings(size=24, max_objects=2, textured_fraction=0.0)
    by_settings = compose_scene(np.random.default_rng(5), objects, settings=settings)
    by_keywords = compose_scene(np.random.default_rng(5), objects, 24, max_objects=2, textured_fraction=0.0)
    assert by_settings.image.tobytes() == by_keywords.image.tobytes() and by_settings.boxes == by_keywords.boxes
    assert compose_scene(np.random.default_rng(5), objects, settings=settings, size=16).image.size == (16, 16)
    with pytest.raises(TypeError, match="unknown scene settings \\['max_object'\\]"):
        compose_scene(np.random.default_rng(5), objects, max_object=2)

    report = prepare_scenes(objects_folder, tmp_path / "s", num_train=3, num_test=2, settings=settings)
    assert report.size == 24 and set(report.histogram()) <= {1, 2} and report.backgrounds["train"]["textured"] == 0

    parser = argparse.ArgumentParser()
    command.add_parser(parser.add_subparsers())
    args = parser.parse_args(["prepare-scenes"])
    defaults = SceneSettings()
    assert set(command.SETTING_FLAGS) == {"size", "min_objects", "max_objects", "min_scale", "max_scale",
                                          "min_visible", "textured_fraction"}
    assert {name: getattr(args, name) for name in command.SETTING_FLAGS} == {
        name: getattr(defaults, name) for name in command.SETTING_FLAGS
    }


def test_crowded_scenes_that_cannot_be_placed_are_an_error(objects_folder):
    objects = object_cutouts(objects_folder)
    with pytest.raises(ValueError, match="could not place 6 objects"):
        compose_scene(np.random.default_rng(0), objects, 16, min_objects=6, max_objects=6, min_scale=0.9,
                      max_scale=1.0, min_visible=0.9)


# --------------------------------------------------------------------------------------------------------------------
# datasets of scenes
# --------------------------------------------------------------------------------------------------------------------


def test_prepare_scenes_writes_train_and_test_parquet(objects_folder, tmp_path):
    out = tmp_path / "scenes"
    report = prepare_scenes(objects_folder, out, num_train=30, num_test=12, size=32, seed=5)
    train, test = scenes_file(out, 32, "train"), scenes_file(out, 32, "test")
    assert report.outputs == {"train": train, "test": test} and train.is_file() and test.is_file()
    assert report.scenes == {"train": 30, "test": 12}
    assert sum(report.histogram().values()) == 42 and set(report.histogram()) == {1, 2, 3, 4}
    assert [name for name, _ in report.skipped] == ["circles/broken", "squares/invisible"]
    summary = report.summary()
    assert "Wrote 30 train and 12 test scenes (32x32 RGB)" in summary and "Objects per scene: 1:" in summary
    assert not [f for f in os.listdir(out) if f.endswith(".tmp")]

    dataset, raw = scene_rows(train)
    assert len(dataset) == 30
    assert isinstance(dataset.features["image"], Image)
    labels = dataset.features["object_labels"].feature
    assert isinstance(labels, ClassLabel) and labels.names == ["circles", "squares"]
    for row, raw_row in zip(dataset, raw):
        assert row["image"].mode == "RGB" and row["image"].size == (32, 32)
        assert raw_row["image"]["bytes"].startswith(b"\x89PNG")
        n = row["num_objects"]
        assert 1 <= n <= 4 and len(row["boxes"]) == len(row["object_names"]) == len(row["object_labels"]) == n
        assert all(0 <= x0 < x1 <= 32 and 0 <= y0 < y1 <= 32 for x0, y0, x1, y1 in row["boxes"])
        assert all(labels.names[label] == name.split("/")[0] for name, label in
                   zip(row["object_names"], row["object_labels"]))
        assert row["background"] in ("plain", "textured")

    both = load_dataset("parquet", data_files={"train": str(train), "test": str(test)})
    assert both["test"].num_rows == 12
    tensors = load_image_dataset(out, split="test")  # the folder is a dataset folder, splits from the file names
    assert len(tensors) == 12 and tuple(tensors[0].shape) == (3, 32, 32)
    assert float(tensors[0].min()) >= -1 and float(tensors[0].max()) <= 1


def test_prepare_scenes_is_deterministic_and_stable_in_its_prefix(objects_folder, tmp_path):
    def make(name, **kwargs):
        args = dict(num_train=12, num_test=5, size=24, seed=1)
        prepare_scenes(objects_folder, tmp_path / name, **{**args, **kwargs})
        return [scenes_file(tmp_path / name, 24, split).read_bytes() for split in ("train", "test")]

    first = make("a")
    assert make("b") == first  # byte-identical files
    other = make("c", seed=2)
    assert other[0] != first[0] and other[1] != first[1]
    # train and test scenes of a one-split source differ (different seeds)
    rows = {split: pq.read_table(scenes_file(tmp_path / "a", 24, split)) for split in ("train", "test")}
    assert rows["train"].column("image")[0] != rows["test"].column("image")[0]
    # scene i does not depend on how many are made
    make("d", num_train=20)
    longer = pq.read_table(scenes_file(tmp_path / "d", 24, "train")).slice(0, 12)
    assert longer.equals(rows["train"])


def test_an_existing_output_is_kept_without_overwrite(objects_folder, tmp_path):
    out = tmp_path / "scenes"
    prepare_scenes(objects_folder, out, num_train=4, num_test=2, size=16, seed=0)
    train, test = scenes_file(out, 16, "train"), scenes_file(out, 16, "test")
    before = train.read_bytes(), test.read_bytes()
    test.unlink()  # one of the two exists: still refused, and nothing is written
    with pytest.raises(FileExistsError, match="overwrite"):
        prepare_scenes(objects_folder, out, num_train=4, num_test=2, size=16, seed=9)
    assert train.read_bytes() == before[0] and not test.exists()
    assert main(["prepare-scenes", str(objects_folder), "--out", str(out), "--size", "16", "--num-train", "4",
                 "--num-test", "2", "--seed", "9", "--no-progress"]) == 2
    assert train.read_bytes() == before[0]
    prepare_scenes(objects_folder, out, num_train=4, num_test=2, size=16, seed=9, overwrite=True)
    assert train.read_bytes() != before[0] and test.exists()


def test_an_interrupted_run_leaves_no_file(objects_folder, tmp_path, monkeypatch):
    real = write_module.compose_scene
    state = {"calls": 0, "limit": 0}

    def failing(*args, **kwargs):
        state["calls"] += 1
        if state["calls"] > state["limit"]:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(write_module, "compose_scene", failing)
    for limit in (3, 9):  # stopped in the train split, then in the test split: no file is left, nor a temporary one
        state.update(calls=0, limit=limit)
        with pytest.raises(KeyboardInterrupt):
            prepare_scenes(objects_folder, tmp_path / "out", num_train=8, num_test=2, size=16, row_group_size=2)
        assert os.listdir(tmp_path / "out") == []
        assert state["calls"] == limit + 1


@pytest.mark.parametrize(
    "kwargs, error, problem",
    [
        (dict(num_train=0), ValueError, "num_train must be an integer of at least 1"),
        (dict(num_test=-1), ValueError, "num_test must be an integer of at least 1"),
        (dict(seed=-1), ValueError, "seed must be a non-negative integer"),
        (dict(source="no/such/folder/here"), ValueError, "no/such/folder/here: no such parquet file or folder"),
    ],
)
def test_bad_dataset_arguments_name_the_problem(objects_folder, tmp_path, kwargs, error, problem):
    kwargs = {"source": objects_folder, **kwargs}
    with pytest.raises(error, match=problem):
        prepare_scenes(out=tmp_path / "out", size=16, **{"num_train": 2, "num_test": 2, **kwargs})


def test_a_source_without_usable_objects_is_an_error(tmp_path):
    empty = tmp_path / "blank"
    empty.mkdir()
    for i in range(3):
        PIL.Image.new("RGBA", (10, 10), (0, 0, 0, 0)).save(empty / f"{i}.png")
    with pytest.raises(ValueError, match="no usable objects .* all 3 images skipped .*0: no foreground"):
        prepare_scenes(empty, tmp_path / "out", num_train=2, num_test=2, size=16)
    (tmp_path / "nothing").mkdir()
    with pytest.raises(ValueError, match="no usable objects: no images found"):
        object_cutouts(tmp_path / "nothing")


def test_draw_boxes_and_the_preview(objects_folder, tmp_path):
    image = PIL.Image.new("RGB", (16, 16), (0, 0, 0))
    drawn = np.asarray(draw_boxes(image, [[2, 3, 10, 12]], scale=2))
    assert drawn.shape == (32, 32, 3)
    assert tuple(drawn[6, 4]) == (230, 25, 75) and tuple(drawn[23, 19]) == (230, 25, 75)  # corners, x1/y1 exclusive
    assert tuple(drawn[10, 10]) == (0, 0, 0) and tuple(drawn[24, 20]) == (0, 0, 0)

    prepare_scenes(objects_folder, tmp_path / "s", num_train=2, num_test=5, size=16)
    preview = scenes_preview(tmp_path / "s", split="test", num=4)
    assert preview.size == (2 * 16 * 12 + 2, 2 * 16 * 12 + 2)  # 2x2 tiles enlarged to 192 pixels, 2-pixel padding


# --------------------------------------------------------------------------------------------------------------------
# the command
# --------------------------------------------------------------------------------------------------------------------


def test_cli_on_a_folder(objects_folder, tmp_path, capsys):
    out = tmp_path / "scenes"
    argv = ["prepare-scenes", str(objects_folder), "--out", str(out), "--size", "16", "--num-train", "10",
            "--num-test", "4", "--min-objects", "2", "--max-objects", "2", "--seed", "3", "--no-progress",
            "--preview", str(tmp_path / "preview.png")]
    assert main(argv) == 0
    printed = capsys.readouterr().out
    assert "Wrote 10 train and 4 test scenes (16x16 RGB)" in printed
    assert "Objects per scene: 2: 14 (100%)" in printed and "Skipped 2 source images" in printed
    assert PIL.Image.open(tmp_path / "preview.png").size == (2 * 192 + 2, 2 * 192 + 2)
    dataset, _ = scene_rows(scenes_file(out, 16, "train"))
    assert set(dataset["num_objects"]) == {2}


@pytest.mark.parametrize(
    "args, problem",
    [
        (["--min-objects", "3", "--max-objects", "2"], "min_objects (3) must not exceed max_objects (2)"),
        (["--size", "8"], "size must be an integer of at least 16"),
        (["--num-train", "0"], "num_train must be an integer of at least 1"),
    ],
)
def test_cli_bad_input_exits_2_with_the_problem_on_stderr(objects_folder, tmp_path, capsys, args, problem):
    assert main(["prepare-scenes", str(objects_folder), "--out", str(tmp_path / "o"), "--no-progress", *args]) == 2
    assert problem in capsys.readouterr().err


def test_cli_missing_source(tmp_path, capsys):
    assert main(["prepare-scenes", str(tmp_path / "missing"), "--out", str(tmp_path / "o"), "--no-progress"]) == 2
    assert "missing: no such parquet file or folder" in capsys.readouterr().err


@pytest.mark.slow
def test_cli_default_source_is_the_emoji_set_with_its_splits_kept_apart(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(ROOT)  # where data/emoji is found
    out = tmp_path / "scenes"
    argv = ["prepare-scenes", "--out", str(out), "--size", "16", "--num-train", "12", "--num-test", "6",
            "--no-progress"]
    assert main(argv) == 0
    printed = capsys.readouterr().out
    assert "Objects from emoji: 3106 for train (split 'train'), 549 for test (split 'test'); 9 classes." in printed
    emoji = load_dataset("parquet", data_files={s: str(ROOT / f"data/emoji/emoji-64-{s}.parquet")
                                                for s in ("train", "test")})
    for split in ("train", "test"):
        dataset, _ = scene_rows(scenes_file(out, 16, split))
        assert dataset.features["object_labels"].feature.names == emoji["train"].features["label"].names
        names = set(sum(dataset["object_names"], []))
        assert names <= set(emoji[split]["name"])  # train scenes from train emoji, test scenes from test emoji


def test_help_imports_nothing_heavy():
    heavy = ("torch", "datasets", "numpy", "PIL", "pyarrow")
    code = (
        "from hfgan.cli import main\ntry:\n    main(['prepare-scenes', '--help'])\nexcept SystemExit as e:\n"
        f"    assert e.code == 0\nimport json, sys\nprint(json.dumps([m for m in {heavy!r} if m in sys.modules]))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert result.returncode == 0, result.stderr[-2000:]
    assert json.loads(result.stdout.strip().splitlines()[-1]) == []
