"""Build the repository's default dataset: Noto Color Emoji at 64x64, labeled by Unicode emoji group.

Run from the repository root (it needs `hfgan`, fontTools, Pillow, pyarrow and `datasets`):

    python data/emoji/build_emoji_dataset.py --download     # fetch the two Debian packages, build, write the card
    python data/emoji/build_emoji_dataset.py --font NotoColorEmoji.ttf --emoji-test emoji-test.txt

Inputs (Debian packages, fetched with `apt-get download` and unpacked with `dpkg-deb -x`, nothing installed):
- fonts-noto-color-emoji: NotoColorEmoji.ttf, whose CBDT table holds every emoji as a complete 136x128 PNG.
- unicode-data: emoji/emoji-test.txt, every fully-qualified emoji sequence with its group, subgroup and name.

Glyph names in the font carry no meaning, so each fully-qualified sequence of emoji-test.txt is mapped to a glyph
through the font itself: the cmap for a single code point, the GSUB ligature lookups for a sequence (ZWJ sequences,
flags, keycaps, skin tones). U+FE0F is dropped where the font has no glyph with it. A sequence the font does not
draw is left out (and listed). Each PNG is composited on white, center-cropped to 128x128, resized to 64x64
(Lanczos, antialiased) and stored as an optimized PNG.

The split is fixed and seeded: 85/15 train/test, stratified by group, drawn by *base emoji* (the name without its
skin tones), so that the skin-tone variants of one emoji, near-duplicates of each other, always share a split; base
emoji with pixel-identical images (flags that share a design) are drawn together as well.

Outputs, beside this script: emoji-64-train.parquet, emoji-64-test.parquet, preview.png and README.md (the card).
"""

from __future__ import annotations

import argparse
import collections
import glob
import hashlib
import io
import json
import os
import random
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
SIZE = 64
SEED = 0
TEST_FRACTION = 0.15
FONT_PACKAGE = "fonts-noto-color-emoji"
UNICODE_PACKAGE = "unicode-data"
FONT_IN_PACKAGE = "usr/share/fonts/truetype/noto/NotoColorEmoji.ttf"
EMOJI_TEST_IN_PACKAGE = "usr/share/unicode/emoji/emoji-test.txt"
FE0F = 0xFE0F
SKIN_TONES = ("light", "medium-light", "medium", "medium-dark", "dark")


@dataclass
class Emoji:
    codepoints: tuple[int, ...]
    group: str
    subgroup: str
    name: str
    emoji_version: str

    @property
    def text(self) -> str:
        return "".join(chr(c) for c in self.codepoints)

    @property
    def skin_tone(self) -> str:
        """The skin tones named in the emoji's name ("medium", "light, dark"), or "none"."""
        tones = [q[: -len(" skin tone")] for q in self._qualifiers() if q.endswith(" skin tone")]
        return ", ".join(tones) if tones else "none"

    @property
    def base_name(self) -> str:
        """The name without skin tones: every skin-tone variant of an emoji shares it."""
        head, qualifiers = self.name.split(": ", 1)[0], self._qualifiers()
        kept = [q for q in qualifiers if not q.endswith(" skin tone")]
        return f"{head}: {', '.join(kept)}" if kept else head

    def _qualifiers(self) -> list[str]:
        return self.name.split(": ", 1)[1].split(", ") if ": " in self.name else []


def parse_emoji_test(path: Path) -> tuple[list[Emoji], str]:
    """Every fully-qualified emoji of emoji-test.txt in file order, and the file's version."""
    emoji, group, subgroup, version = [], None, None, "?"
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("# Version:"):
            version = line.split(":", 1)[1].strip()
        elif line.startswith("# group:"):
            group = line.split(":", 1)[1].strip()
        elif line.startswith("# subgroup:"):
            subgroup = line.split(":", 1)[1].strip()
        elif line and not line.startswith("#"):
            fields, comment = line.split("#", 1)
            codes, status = (part.strip() for part in fields.split(";"))
            if status != "fully-qualified":
                continue
            # comment: "<emoji> E<version> <name>"
            _, emoji_version, name = comment.strip().split(" ", 2)
            emoji.append(Emoji(tuple(int(c, 16) for c in codes.split()), group, subgroup, name, emoji_version))
    return emoji, version


class EmojiFont:
    """Glyph lookup and bitmaps of a CBDT color emoji font."""

    def __init__(self, path: Path):
        from fontTools.ttLib import TTFont

        self.font = TTFont(str(path))
        self.cmap = self.font.getBestCmap()
        self.bitmaps = self.font["CBDT"].strikeData[0]
        # (first glyph, rest...) -> ligature glyph, from every ligature substitution lookup of GSUB
        self.ligatures: dict[tuple[str, ...], str] = {}
        for lookup in self.font["GSUB"].table.LookupList.Lookup:
            for subtable in lookup.SubTable:
                if lookup.LookupType == 7:  # extension: unwrap
                    subtable = subtable.ExtSubTable
                if getattr(subtable, "LookupType", lookup.LookupType) != 4:
                    continue
                for first, ligatures in subtable.ligatures.items():
                    for ligature in ligatures:
                        self.ligatures.setdefault((first, *ligature.Component), ligature.LigGlyph)
        self.revision = f"{self.font['head'].fontRevision:.3f}"

    def glyph_for(self, codepoints: tuple[int, ...]) -> str | None:
        """The glyph that draws this sequence, trying it as given and then without U+FE0F; None if none does."""
        candidates = [codepoints]
        if FE0F in codepoints:
            candidates.append(tuple(c for c in codepoints if c != FE0F))
        for sequence in candidates:
            if not sequence or any(c not in self.cmap for c in sequence):
                continue
            glyphs = tuple(self.cmap[c] for c in sequence)
            glyph = glyphs[0] if len(glyphs) == 1 else self.ligatures.get(glyphs)
            if glyph is not None and glyph in self.bitmaps:
                return glyph
        return None

    def png(self, glyph: str) -> bytes:
        return self.bitmaps[glyph].imageData


def render(png: bytes, size: int = SIZE) -> bytes:
    """The font's PNG composited on white, center-cropped, resized to `size` and stored as an optimized PNG."""
    import PIL.Image

    from hfgan.data.images import encode_png, resize_image

    image = PIL.Image.open(io.BytesIO(png))
    image.load()
    return encode_png(resize_image(image, size, crop="center"), optimize=True)


def split_units(emoji: list[Emoji], images: list[bytes]) -> dict[str, str]:
    """base name -> the unit of the split it belongs to.

    A unit joins the skin-tone variants of an emoji (one base name) and, further, base emoji whose images are
    pixel-identical (a few flags share one design, e.g. Norway and Svalbard), so no image is in both splits.
    """
    parent: dict[str, str] = {}

    def find(x: str) -> str:
        parent.setdefault(x, x)
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    first_with_image: dict[bytes, str] = {}
    for e, png in zip(emoji, images):
        other = first_with_image.setdefault(hashlib.sha256(png).digest(), e.base_name)
        a, b = find(e.base_name), find(other)
        if a != b:
            parent[max(a, b)] = min(a, b)
    return {e.base_name: find(e.base_name) for e in emoji}


def split_by_unit(
    emoji: list[Emoji], units: dict[str, str], groups: list[str], seed: int, test_fraction: float
) -> dict[str, str]:
    """unit -> "train" or "test": per group, shuffled units go to test until it holds `test_fraction` of the group."""
    units_by_group: dict[str, collections.Counter] = {g: collections.Counter() for g in groups}
    group_of_unit: dict[str, str] = {}
    for e in emoji:
        unit = units[e.base_name]
        if group_of_unit.setdefault(unit, e.group) != e.group:
            raise ValueError(f"{e.name!r} and the rest of its unit {unit!r} are in two groups")
        units_by_group[e.group][unit] += 1
    rng = random.Random(seed)
    assignment = {}
    for group in groups:
        counts = units_by_group[group]
        ordered = sorted(counts)
        rng.shuffle(ordered)
        target = round(test_fraction * sum(counts.values()))
        in_test = 0
        for unit in ordered:
            split = "test" if in_test < target else "train"
            in_test += counts[unit] if split == "test" else 0
            assignment[unit] = split
    return assignment


def download_inputs(workdir: Path) -> tuple[Path, Path, dict[str, str]]:
    """Fetch the two Debian packages (no install) and unpack them; their versions for the card."""
    subprocess.run(["apt-get", "download", FONT_PACKAGE, UNICODE_PACKAGE], cwd=workdir, check=True)
    versions = {}
    for deb in sorted(glob.glob(str(workdir / "*.deb"))):
        command = ["dpkg-deb", "-f", deb, "Package", "Version"]
        fields = subprocess.run(command, capture_output=True, text=True, check=True)
        info = dict(line.split(": ", 1) for line in fields.stdout.strip().splitlines())
        versions[info["Package"]] = info["Version"]
        subprocess.run(["dpkg-deb", "-x", deb, str(workdir / "root")], check=True)
    return workdir / "root" / FONT_IN_PACKAGE, workdir / "root" / EMOJI_TEST_IN_PACKAGE, versions


def installed_version(package: str) -> str:
    try:
        out = subprocess.run(["dpkg-query", "-W", "-f=${Version}", package], capture_output=True, text=True)
        return out.stdout.strip() or "unknown"
    except OSError:
        return "unknown"


def write_split(path: Path, rows: list[dict], groups: list[str]) -> None:
    import datasets
    import pyarrow as pa
    import pyarrow.parquet as pq

    from hfgan.utils import atomic_write

    features = datasets.Features(
        {
            "image": datasets.Image(),
            "label": datasets.ClassLabel(names=groups),
            "subgroup": datasets.Value("string"),
            "name": datasets.Value("string"),
            "skin_tone": datasets.Value("string"),
            "emoji": datasets.Value("string"),
            "base_name": datasets.Value("string"),
            "codepoints": datasets.Value("string"),
        }
    )
    schema = features.arrow_schema
    table = pa.Table.from_pylist(rows, schema=schema)
    atomic_write(path, lambda tmp: pq.write_table(table, tmp, row_group_size=256, compression="zstd"))


def write_preview(path: Path, rows: list[dict], groups: list[str]) -> None:
    """One row of 12 emoji per group."""
    import PIL.Image

    from hfgan.utils import atomic_write, make_image_grid

    per_group = 12
    rng = random.Random(SEED)
    tiles = []
    for g, _ in enumerate(groups):
        members = [r for r in rows if r["label"] == g and r["skin_tone"] == "none"]
        for r in sorted(rng.sample(members, min(per_group, len(members))), key=lambda r: r["order"]):
            tiles.append(PIL.Image.open(io.BytesIO(r["image"]["bytes"])).convert("RGB"))
        tiles += [PIL.Image.new("RGB", (SIZE, SIZE), "white")] * (per_group - min(per_group, len(members)))
    grid = make_image_grid(tiles, cols=per_group, padding=2)
    atomic_write(path, lambda tmp: grid.save(tmp, format="PNG", optimize=True))


def write_card(path: Path, stats: dict) -> None:
    from hfgan.utils import atomic_write

    groups = stats["groups"]
    table = ["| label | group | train | test | total |", "| ---: | --- | ---: | ---: | ---: |"]
    for i, g in enumerate(groups):
        tr, te = stats["counts"]["train"][g], stats["counts"]["test"][g]
        table.append(f"| {i} | {g} | {tr} | {te} | {tr + te} |")
    total_tr, total_te = stats["totals"]["train"], stats["totals"]["test"]
    table.append(f"| | **all** | **{total_tr}** | **{total_te}** | **{total_tr + total_te}** |")
    missing = stats["missing"]
    missing_text = (
        ", ".join(f"{m['name']} ({m['codepoints']})" for m in missing) if missing else "none"
    )
    text = f"""---
license: apache-2.0
pretty_name: Noto Color Emoji 64x64
task_categories:
- image-classification
- unconditional-image-generation
size_categories:
- 1K<n<10K
configs:
- config_name: default
  data_files:
  - split: train
    path: emoji-64-train.parquet
  - split: test
    path: emoji-64-test.parquet
---

# Noto Color Emoji, 64x64, labeled by Unicode emoji group

The default dataset of every `hfgan` training script and of the tests: it ships in the repository, so they run on
a fresh machine with no network. {total_tr + total_te} emoji, each a 64x64 RGB PNG on a white background, labeled
with its Unicode emoji group ({len(groups)} classes).

![one row of emoji per group](preview.png)

## Loading

```python
from datasets import load_dataset

data_files = {{"train": "data/emoji/emoji-64-train.parquet", "test": "data/emoji/emoji-64-test.parquet"}}
dataset = load_dataset("parquet", data_files=data_files)
print(dataset["train"].features["label"].names)
```

or, as tensors in [-1, 1] for training, `hfgan.data.load_image_dataset(hfgan.data.DEFAULT_DATASET, split="train")`.

This folder, as it is, is also the set's release on the Hugging Face Hub, the dataset `hfgan/emoji-64`
(`hf upload hfgan/emoji-64 data/emoji . --repo-type dataset`), where `load_dataset("hfgan/emoji-64")` reads it and
where hfgan's source `"emoji"` finds it when no local copy is there (an installed package, outside a clone).

## Columns

| column | type | meaning |
| --- | --- | --- |
| `image` | Image | 64x64 RGB PNG, composited on white |
| `label` | ClassLabel | Unicode emoji group (names below) |
| `subgroup` | string | Unicode emoji subgroup, e.g. `face-smiling` |
| `name` | string | CLDR short name, e.g. `waving hand: medium skin tone` |
| `skin_tone` | string | skin tones in the name (`medium`, `light, dark`), or `none` |
| `emoji` | string | the emoji itself, as a fully-qualified sequence |
| `base_name` | string | the name without skin tones: shared by all skin-tone variants of an emoji |
| `codepoints` | string | the sequence in hex, e.g. `1F44B 1F3FD` |

## Counts

{chr(10).join(table)}

## Split

Fixed and seeded (seed {SEED}): in each group the base emoji (`base_name`) are shuffled and go to `test` until it
holds {TEST_FRACTION:.0%} of the group's images; the rest are `train`. All skin-tone variants of an emoji, which are
near-duplicates, therefore share a split ({stats["bases"]} base emoji, none in both splits). Base emoji whose images
are pixel-identical (a few flags share one design, such as Norway, Svalbard & Jan Mayen and Bouvet Island) are drawn
together too: {stats["units"]} units in all, so no image appears in both splits.

## Source

- Images: Noto Color Emoji, font revision {stats["font_revision"]}, from the Debian package
  `{FONT_PACKAGE}` {stats["versions"].get(FONT_PACKAGE, "unknown")} (`NotoColorEmoji.ttf`, CBDT bitmaps of
  136x128 pixels).
- Groups, subgroups, names: Unicode `emoji-test.txt`, version {stats["emoji_test_version"]}, from the Debian package
  `{UNICODE_PACKAGE}` {stats["versions"].get(UNICODE_PACKAGE, "unknown")}.
- Every fully-qualified sequence of `emoji-test.txt` ({stats["fully_qualified"]}) is mapped to a glyph through the
  font's cmap (single code points) and GSUB ligatures (sequences), dropping U+FE0F where the font has no glyph with
  it; {stats["mapped"]} map. Left out because the font does not draw them: {missing_text}.
- Each bitmap is composited on white, center-cropped to 128x128 and resized to 64x64 with Lanczos filtering.

Rebuild with `python data/emoji/build_emoji_dataset.py --download` (from the repository root); the output is
deterministic: the same inputs and versions of Pillow and pyarrow give byte-identical files.

## Licence and attribution

The emoji images are from [Noto Color Emoji](https://github.com/googlefonts/noto-emoji), Copyright Google LLC.
The Noto emoji image resources are licensed under the Apache License, Version 2.0; the flag images come from the
project's `third_party/region-flags` and are in the public domain or otherwise exempt from copyright; the font file
they were taken from is under the SIL Open Font License 1.1. This dataset, a derivative of those images (rescaled,
flattened on white), is distributed under Apache-2.0: keep this notice with copies. Emoji names, groups and
subgroups are from the Unicode emoji data files, Copyright Unicode, Inc., used under the
[Unicode License](https://www.unicode.org/license.txt).
"""
    atomic_write(path, lambda tmp: Path(tmp).write_text(text, encoding="utf-8"))


def build(font_path: Path, emoji_test_path: Path, out_dir: Path, versions: dict[str, str]) -> dict:
    emoji, emoji_test_version = parse_emoji_test(emoji_test_path)
    font = EmojiFont(font_path)
    groups = list(dict.fromkeys(e.group for e in emoji))  # file order

    mapped, missing = [], []
    for e in emoji:
        glyph = font.glyph_for(e.codepoints)
        (mapped if glyph else missing).append((e, glyph))
    print(f"{len(emoji)} fully-qualified emoji in emoji-test.txt {emoji_test_version}; {len(mapped)} map to glyphs")

    images = [render(font.png(glyph)) for _, glyph in mapped]
    units = split_units([e for e, _ in mapped], images)
    assignment = split_by_unit([e for e, _ in mapped], units, groups, SEED, TEST_FRACTION)
    rows = {"train": [], "test": []}
    for order, ((e, _), png) in enumerate(zip(mapped, images)):
        rows[assignment[units[e.base_name]]].append(
            {
                "image": {"bytes": png, "path": f"{'_'.join(f'{c:04x}' for c in e.codepoints)}.png"},
                "label": groups.index(e.group),
                "subgroup": e.subgroup,
                "name": e.name,
                "skin_tone": e.skin_tone,
                "emoji": e.text,
                "base_name": e.base_name,
                "codepoints": " ".join(f"{c:04X}" for c in e.codepoints),
                "order": order,
            }
        )

    out_dir.mkdir(parents=True, exist_ok=True)
    for split, split_rows in rows.items():
        columns = [{k: v for k, v in r.items() if k != "order"} for r in split_rows]
        write_split(out_dir / f"emoji-64-{split}.parquet", columns, groups)
    write_preview(out_dir / "preview.png", rows["train"] + rows["test"], groups)

    counts = {s: {g: sum(1 for r in rows[s] if r["label"] == i) for i, g in enumerate(groups)} for s in rows}
    stats = {
        "groups": groups,
        "counts": counts,
        "totals": {s: len(rows[s]) for s in rows},
        "bases": len(units),
        "units": len(assignment),
        "fully_qualified": len(emoji),
        "mapped": len(mapped),
        "missing": [{"name": e.name, "codepoints": " ".join(f"{c:04X}" for c in e.codepoints)} for e, _ in missing],
        "font_revision": font.revision,
        "emoji_test_version": emoji_test_version,
        "versions": versions,
    }
    write_card(out_dir / "README.md", stats)
    return stats


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--download", action="store_true", help="apt-get download and unpack the Debian packages")
    parser.add_argument("--font", type=Path, default=Path("/") / FONT_IN_PACKAGE)
    parser.add_argument("--emoji-test", type=Path, default=Path("/") / EMOJI_TEST_IN_PACKAGE)
    parser.add_argument("--out-dir", type=Path, default=HERE)
    args = parser.parse_args(argv)

    sys.path.insert(0, str(HERE.parent.parent))  # the repository's hfgan, even when not installed
    with tempfile.TemporaryDirectory() as workdir:
        if args.download:
            font_path, emoji_test_path, versions = download_inputs(Path(workdir))
        else:
            font_path, emoji_test_path = args.font, args.emoji_test
            versions = {p: installed_version(p) for p in (FONT_PACKAGE, UNICODE_PACKAGE)}
        for p in (font_path, emoji_test_path):
            if not p.is_file():
                parser.error(f"{p} not found: install {FONT_PACKAGE} and {UNICODE_PACKAGE}, or pass --download")
        stats = build(font_path, emoji_test_path, args.out_dir, versions)
    print(json.dumps({k: stats[k] for k in ("counts", "totals", "bases", "units", "mapped")}, indent=1))
    for split in ("train", "test"):
        path = args.out_dir / f"emoji-64-{split}.parquet"
        print(f"{path}: {os.path.getsize(path) / 1e6:.2f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
