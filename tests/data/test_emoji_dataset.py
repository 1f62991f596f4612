"""The shipped default dataset (data/emoji): loads offline, has the documented counts, and a leak-free split."""

import collections
import hashlib
import importlib.util
import re
import struct
import sys

import pytest
import yaml
from datasets import ClassLabel, Image, load_dataset

from hfgan.data import default_dataset_files, default_dataset_path, load_image_dataset

GROUPS = [
    "Smileys & Emotion", "People & Body", "Animals & Nature", "Food & Drink", "Travel & Places", "Activities",
    "Objects", "Symbols", "Flags",
]
EMOJI_DIR = default_dataset_path()
CARD = EMOJI_DIR / "README.md"


@pytest.fixture(scope="module")
def emoji():
    data = load_dataset("parquet", data_files={k: str(v) for k, v in default_dataset_files().items()})
    return {split: data[split].cast_column("image", Image(decode=False)) for split in ("train", "test")}


def documented_counts() -> dict[str, tuple[int, int]]:
    """group -> (train, test), from the table of the data card."""
    rows = re.findall(r"^\| (\d+) \| ([^|]+?) \| (\d+) \| (\d+) \| (\d+) \|$", CARD.read_text(), re.M)
    return {group: (int(train), int(test)) for _, group, train, test, _ in rows}


def png_header(data: bytes) -> tuple[int, int, int, int]:
    """(width, height, bit depth, colour type) of a PNG."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    return struct.unpack(">IIBB", data[16:26])


def test_loads_with_load_dataset_and_has_the_documented_counts(emoji):
    counts = documented_counts()
    assert list(counts) == GROUPS
    for split, column in (("train", 0), ("test", 1)):
        features = emoji[split].features
        assert isinstance(features["label"], ClassLabel) and features["label"].names == GROUPS
        per_group = collections.Counter(emoji[split]["label"])
        assert {GROUPS[label]: n for label, n in per_group.items()} == {g: c[column] for g, c in counts.items()}
    assert len(emoji["train"]) == 3106 and len(emoji["test"]) == 549
    assert len(emoji["train"]) + len(emoji["test"]) == 3655
    assert set(emoji["train"].column_names) >= {"image", "label", "subgroup", "name", "skin_tone", "base_name"}


def test_images_are_64px_rgb_pngs_on_white(emoji):
    headers = collections.Counter(png_header(c["bytes"]) for split in emoji for c in emoji[split]["image"])
    assert headers == {(64, 64, 8, 2): 3655}  # every image a 64x64 8-bit RGB PNG, no alpha
    sample = load_image_dataset(EMOJI_DIR, split="test")
    assert len(sample) == 549 and sample.image_size == 64
    white_corners = int((sample.images[:, :, 0, 0] == 255).all(dim=1).sum())
    assert white_corners > 0.9 * len(sample)  # transparent backgrounds were composited on white


def test_split_is_stratified_by_group_and_keeps_variants_and_duplicates_together(emoji):
    train, test = emoji["train"], emoji["test"]
    assert not set(train["base_name"]) & set(test["base_name"])  # skin-tone variants share a split
    digests = {split: {hashlib.sha256(c["bytes"]).digest() for c in emoji[split]["image"]} for split in emoji}
    assert not digests["train"] & digests["test"]  # no identical image on both sides
    for group, (n_train, n_test) in documented_counts().items():
        assert abs(n_test / (n_train + n_test) - 0.15) < 0.02, group
    # the variants of one emoji are really there and really share the base name
    names = list(train["name"]) + list(test["name"])
    waving = [n for n in names if n.startswith("waving hand")]
    assert len(waving) == 6
    tones = dict(zip(names, list(train["skin_tone"]) + list(test["skin_tone"])))
    assert tones["waving hand"] == "none" and tones["waving hand: medium skin tone"] == "medium"


def test_the_loader_defaults_to_it(emoji):
    dataset = load_image_dataset(split="train", with_labels=True)
    assert len(dataset) == 3106 and dataset.class_names == GROUPS
    assert dataset.labels.tolist() == list(emoji["train"]["label"])


def test_data_card_metadata_and_size():
    header = yaml.safe_load(CARD.read_text().split("---")[1])
    assert header["license"] == "apache-2.0"
    files = {f["split"]: f["path"] for f in header["configs"][0]["data_files"]}
    assert {split: EMOJI_DIR / path for split, path in files.items()} == default_dataset_files()
    card = CARD.read_text()
    assert "Apache" in card and "Noto Color Emoji" in card and "Unicode" in card
    assert sum(f.stat().st_size for f in EMOJI_DIR.iterdir()) < 20e6


def test_build_script_names_skin_tones_and_splits_by_base_emoji(tmp_path, monkeypatch):
    spec = importlib.util.spec_from_file_location("build_emoji_dataset", EMOJI_DIR / "build_emoji_dataset.py")
    build = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, spec.name, build)  # dataclasses look their module up there
    spec.loader.exec_module(build)
    (tmp_path / "emoji-test.txt").write_text(
        "# Version: 15.0\n# group: People & Body\n# subgroup: hand-fingers-open\n"
        "1F44B ; fully-qualified # 👋 E0.6 waving hand\n"
        "1F44B 1F3FD ; fully-qualified # 👋🏽 E1.0 waving hand: medium skin tone\n"
        "1F91D ; fully-qualified # 🤝 E3.0 handshake\n"
        "1FAF1 1F3FB 200D 1FAF2 1F3FF ; fully-qualified # 🫱🏻‍🫲🏿 E14.0 handshake: light skin tone, dark skin tone\n"
        "1F468 1F3FF 200D 1F9B0 ; fully-qualified # 👨🏿‍🦰 E11.0 man: dark skin tone, red hair\n"
        "1F468 200D 1F9B0 ; fully-qualified # 👨‍🦰 E11.0 man: red hair\n"
        "263A ; unqualified # ☺ E0.6 smiling face\n"
        "# group: Flags\n# subgroup: country-flag\n"
        "1F1F3 1F1F4 ; fully-qualified # 🇳🇴 E2.0 flag: Norway\n"
        "1F1F8 1F1EF ; fully-qualified # 🇸🇯 E2.0 flag: Svalbard & Jan Mayen\n",
        encoding="utf-8",
    )
    emoji, version = build.parse_emoji_test(tmp_path / "emoji-test.txt")
    assert version == "15.0" and len(emoji) == 8  # the unqualified line is not an emoji of its own
    by_name = {e.name: e for e in emoji}
    handshake = by_name["handshake: light skin tone, dark skin tone"]
    assert handshake.base_name == "handshake" and handshake.skin_tone == "light, dark"
    assert by_name["man: dark skin tone, red hair"].base_name == "man: red hair"
    assert by_name["waving hand"].skin_tone == "none" and by_name["flag: Norway"].group == "Flags"

    images = [e.base_name.encode() for e in emoji]  # one image per base emoji...
    images[-1] = images[-2]  # ...except two flags that share a design
    units = build.split_units(emoji, images)
    assert units["flag: Norway"] == units["flag: Svalbard & Jan Mayen"]
    assert len(set(units.values())) == 4  # waving hand, handshake, man: red hair, the two flags
    seen = set()
    for seed in range(20):
        split = build.split_by_unit(emoji, units, ["People & Body", "Flags"], seed, 0.5)
        people = [split[units[e.base_name]] for e in emoji if e.group == "People & Body"]
        assert 3 <= people.count("test") <= 4  # half of 6 images, drawn in units of 2
        seen.add(split[units["flag: Norway"]])
        assert split == build.split_by_unit(emoji, units, ["People & Body", "Flags"], seed, 0.5)  # seeded
    assert seen == {"test"}  # a group's test share is never empty
