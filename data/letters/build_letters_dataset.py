"""Build a small labeled collection of letters at 32 px: A to Z drawn in every font of this machine, split by font.

The images are the 26 uppercase letters (the classes, "A".."Z") rendered with Pillow from the fonts `fc-list` finds
(on Debian, fonts-dejavu-core, fonts-dejavu-extra and fonts-liberation: 38 fonts of the DejaVu Sans, Serif, Sans
Mono and Math TeX Gyre and the Liberation Sans, Sans Narrow, Serif and Mono families, regular, bold, italic and
condensed). The images are not kept in this repository; everyone builds the set locally.

    python data/letters/build_letters_dataset.py          # writes data/letters/dataset-resized-32-{train,test}.parquet
    python data/letters/build_letters_dataset.py --fonts-dir /usr/share/fonts --seed 1 --out /tmp/letters

Each image is one letter, black on white: rendered by FreeType (Pillow's ImageFont) on a canvas of twice the output
size at a random size (the glyph's ink 50-85% of the canvas high, smaller where a wide glyph would not fit), turned
by a random angle (within 12 degrees either way), placed at a random offset that keeps it inside the canvas, then
resized to the output size (Lanczos, antialiased, as `hfgan prepare-data` does) and stored as RGB PNG. A font is
left out (and listed) when its cmap lacks a letter, or a letter draws no ink, or two letters draw the same ink.

The split is by font, fixed and seeded: about a fifth of the fonts (at least 6) are held out for `test`, so no test
font is seen in training. The fonts are stratified: each kind (sans, serif, mono) gives its share of test fonts, and
within a kind the draw prefers the weights and slants (regular, bold, italic, bold italic) and families that `test`
has fewest of. Every (letter, font) pair has 6 training or 5 test images, 4,680 and 1,040 with 38 fonts.

Columns: `image` and `label` (a ClassLabel, "A".."Z"), as `hfgan prepare-data` writes them, and `font` (the font's
name, e.g. "DejaVu Sans Bold") and `glyph` ("DejaVu Sans Bold / A"). The images of one glyph, a letter in one font,
are near-duplicates of each other: `glyph` is the column of near-duplicate groups, so that 10 labels per class are
10 fonts. (`font` spans every class, and `labeled_subset` needs a group within one class.)

    hfgan.data.load_image_dataset("data/letters", split="train", with_labels=True, labeled_per_class=10,
                                  labeled_by="glyph")
    python training/train_classifier.py data.source=data/letters data.name=letters-32 labels.group_by=glyph

Licences: the DejaVu fonts are under the Bitstream Vera licence (DejaVu's changes in the public domain); Debian's
fonts-liberation 1.07 is under the GNU GPL v2 with Red Hat's font exception (Liberation 2, fonts-liberation2, is
under the SIL Open Font License 1.1). Both let anyone use the fonts to draw text; the parquet files, pictures of
letters drawn with them, stay out of git all the same (.gitignore), like the digits.
"""

from __future__ import annotations

import argparse
import functools
import os
import shutil
import string
import subprocess
import sys
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import PIL.Image
import PIL.ImageDraw
import PIL.ImageFont

HERE = Path(__file__).resolve().parent
LETTERS = string.ascii_uppercase
FONT_SUFFIXES = (".ttf", ".otf", ".ttc")
TEST_FRACTION = 0.2
MIN_TEST_FONTS = 6
JITTERS = {"train": 6, "test": 5}  # images of each (letter, font) pair in its split
HEIGHT = (0.50, 0.85)  # the glyph's ink height, as a fraction of the canvas
MAX_ANGLE = 12.0  # degrees, either way
MARGIN = 2  # pixels of the canvas (twice the output size) kept free at each edge
REFERENCE_SIZE = 100  # font size at which the glyphs are checked and measured


@dataclass
class Font:
    path: Path
    name: str  # "DejaVu Sans Bold"
    kind: str  # sans | serif | mono
    style: str  # regular | bold | italic | bold italic
    family: str  # "DejaVu Sans"
    ink_height: dict[str, int]  # letter -> ink height at REFERENCE_SIZE


def font_files(fonts_dir: Path | None) -> list[Path]:
    """Every font file: `fc-list`'s, or those below `fonts_dir` (and below /usr/share/fonts without fc-list)."""
    if fonts_dir is None and shutil.which("fc-list"):
        listed = subprocess.run(["fc-list", "--format", "%{file}|%{fullname}\n"], capture_output=True, text=True,
                                check=True).stdout
        files = {Path(line.split("|", 1)[0]) for line in listed.splitlines() if line.strip()}
    else:
        root = fonts_dir or Path("/usr/share/fonts")
        files = {p for p in root.glob("**/*") if p.is_file()}
    return sorted(p for p in files if p.suffix.lower() in FONT_SUFFIXES)


def font_name(font: PIL.ImageFont.FreeTypeFont) -> str:
    """The font's own name, family and style: "DejaVu Sans Bold", "DejaVu Sans Condensed Oblique", "DejaVu Sans"."""
    family, style = font.getname()
    return family if style in ("Regular", "Book", "Roman", "Normal", None) else f"{family} {style}"


def classify(path: Path, name: str) -> tuple[str, str]:
    """(kind, style) from the font's tables: fixed pitch is mono; PANOSE says sans or serif (by name where it gives
    no answer); bold from the weight class, italic from the italic bit or a slant."""
    from fontTools.ttLib import TTFont

    with TTFont(str(path), lazy=True, fontNumber=0) as tt:
        os2, post = tt["OS/2"], tt["post"]
        serif_style = os2.panose.bSerifStyle
        if post.isFixedPitch:
            kind = "mono"
        elif serif_style in (11, 12, 13):
            kind = "sans"
        elif 2 <= serif_style <= 10:
            kind = "serif"
        else:
            kind = "sans" if "sans" in name.lower() else "serif"
        bold = os2.usWeightClass >= 600
        italic = bool(os2.fsSelection & 1) or post.italicAngle != 0
    return kind, " ".join(filter(None, ["bold" if bold else "", "italic" if italic else ""])) or "regular"


def has_letters(path: Path) -> bool:
    from fontTools.ttLib import TTFont

    with TTFont(str(path), lazy=True, fontNumber=0) as tt:
        cmap = tt.getBestCmap() or {}
    return all(ord(letter) in cmap for letter in LETTERS)


def ink(font: PIL.ImageFont.FreeTypeFont, letter: str, angle: float = 0.0) -> PIL.Image.Image | None:
    """The letter's antialiased ink ("L", 255 = ink), turned by `angle` degrees and cropped to it; None if none."""
    left, top, right, bottom = font.getbbox(letter)
    pad = max(4, int(font.size) // 4)  # room for any ink outside the reported box
    mask = PIL.Image.new("L", (right - left + 2 * pad, bottom - top + 2 * pad), 0)
    PIL.ImageDraw.Draw(mask).text((pad - left, pad - top), letter, fill=255, font=font)
    if angle:
        mask = mask.rotate(angle, resample=PIL.Image.Resampling.BICUBIC, expand=True)
    box = mask.getbbox()
    return mask.crop(box) if box else None


def load_font(path: Path) -> tuple[Font | None, str]:
    """The font, checked: (Font, "") or (None, why it is left out)."""
    try:
        font = PIL.ImageFont.truetype(str(path), REFERENCE_SIZE)
        name = font_name(font)
        if not has_letters(path):
            return None, f"{name}: no glyph for some of A-Z"
        masks = {letter: ink(font, letter) for letter in LETTERS}
    except Exception as error:  # noqa: BLE001 - a font that cannot be read is left out, not fatal
        return None, f"{path}: unreadable ({type(error).__name__}: {error})"
    empty = [letter for letter, mask in masks.items() if mask is None]
    if empty:
        return None, f"{name}: no ink for {''.join(empty)}"
    seen: dict[bytes, str] = {}
    for letter, mask in masks.items():
        key = mask.tobytes() + bytes(str(mask.size), "ascii")
        if key in seen:
            return None, f"{name}: {seen[key]} and {letter} draw the same glyph"
        seen[key] = letter
    kind, style = classify(path, name)
    family = font.getname()[0]
    return Font(path, name, kind, style, family, {letter: mask.height for letter, mask in masks.items()}), ""


def split_fonts(fonts: list[Font], seed: int) -> dict[str, list[Font]]:
    """Seeded, by font: `max(MIN_TEST_FONTS, 20%)` test fonts, each kind's share by largest remainder; within a kind
    the next test font is, of the shuffled rest, the first whose style and then family `test` holds fewest of."""
    rng = np.random.default_rng(seed)
    n_test = min(len(fonts) - 1, max(MIN_TEST_FONTS, round(TEST_FRACTION * len(fonts))))
    kinds = sorted({f.kind for f in fonts})
    members = {k: [f for f in fonts if f.kind == k] for k in kinds}
    quota = {k: int(n_test * len(members[k]) / len(fonts)) for k in kinds}
    by_remainder = sorted(kinds, key=lambda k: (-(n_test * len(members[k]) / len(fonts) - quota[k]), k))
    for k in by_remainder[: n_test - sum(quota.values())]:
        quota[k] += 1
    test: list[Font] = []
    for k in kinds:
        rest = [members[k][i] for i in rng.permutation(len(members[k]))]
        for _ in range(min(quota[k], len(rest) - 1)):  # every kind keeps a training font
            pick = min(rest, key=lambda f: (sum(t.style == f.style for t in test),
                                            sum(t.family == f.family for t in test)))
            rest.remove(pick)
            test.append(pick)
    names = {f.name for f in test}
    return {"train": [f for f in fonts if f.name not in names], "test": sorted(test, key=lambda f: f.name)}


@functools.lru_cache(maxsize=512)
def truetype(path: Path, size: int) -> PIL.ImageFont.FreeTypeFont:
    return PIL.ImageFont.truetype(str(path), size)


def render(font: Font, letter: str, canvas: int, rng: np.random.Generator) -> PIL.Image.Image:
    """One jittered image of `letter`: black ink on a white RGB `canvas` x `canvas` square."""
    height = rng.uniform(*HEIGHT) * canvas
    angle = rng.uniform(-MAX_ANGLE, MAX_ANGLE)
    room = canvas - 2 * MARGIN
    size = max(4, round(REFERENCE_SIZE * height / font.ink_height[letter]))
    for _ in range(8):  # shrink until the turned glyph fits (a wide W, say)
        mask = ink(truetype(font.path, size), letter, angle)
        if mask.width <= room and mask.height <= room:
            break
        size = max(4, int(size * min(room / mask.width, room / mask.height)))
    else:
        raise RuntimeError(f"{font.name} {letter}: no size fits a {canvas} px canvas")
    x = int(rng.integers(MARGIN, canvas - MARGIN - mask.width + 1))
    y = int(rng.integers(MARGIN, canvas - MARGIN - mask.height + 1))
    image = PIL.Image.new("RGB", (canvas, canvas), (255, 255, 255))
    image.paste((0, 0, 0), (x, y), mask)
    return image


def build_rows(fonts: list[Font], jitters: int, size: int, seed: int) -> list[dict]:
    """Rows of one split, by letter, then font, then jitter. Each font draws from its own generator (the seed and
    the font's name), so a font's images do not depend on which other fonts there are."""
    from hfgan.data.images import encode_png, resize_image

    images: dict[tuple[str, str], list[bytes]] = {}
    for font in fonts:
        rng = np.random.default_rng([seed, zlib.crc32(font.name.encode("utf-8"))])
        for letter in LETTERS:
            images[font.name, letter] = [
                encode_png(resize_image(render(font, letter, 2 * size, rng), size)) for _ in range(jitters)
            ]
    rows = []
    for label, letter in enumerate(LETTERS):
        for font in fonts:
            for j, png in enumerate(images[font.name, letter]):
                rows.append({
                    "image": {"bytes": png, "path": f"{letter}/{font.path.stem}-{j}.png"},
                    "label": label,
                    "font": font.name,
                    "glyph": f"{font.name} / {letter}",
                })
    return rows


def write_splits(out: Path, size: int, rows: dict[str, list[dict]]) -> dict[str, Path]:
    """`dataset-resized-<size>-<split>.parquet` in `out`: the features of `hfgan prepare-data`'s output plus `font`
    and `glyph`, written under temporary names and renamed once both are written."""
    import datasets
    import pyarrow as pa
    import pyarrow.parquet as pq

    from hfgan.data.prepare import DEFAULT_ROW_GROUP_SIZE, output_features, split_file
    from hfgan.utils import atomic_write_all

    outputs = {split: split_file(out, size, split) for split in rows}
    # any other parquet file there would be read as part of the splits (a run at another size, say)
    others = sorted(str(p) for p in out.glob("**/*.parquet") if p not in outputs.values()) if out.is_dir() else []
    if others:
        raise SystemExit(f"{out} holds other parquet files ({', '.join(others[:5])}), which load_image_dataset "
                         "would read as part of the splits; remove them or pass another --out")
    features = datasets.Features({**output_features(list(LETTERS)), "font": datasets.Value("string"),
                                  "glyph": datasets.Value("string")})
    schema = features.arrow_schema

    def write(split: str, tmp: str) -> None:
        table = pa.Table.from_pylist(rows[split], schema=schema)
        pq.write_table(table, tmp, row_group_size=DEFAULT_ROW_GROUP_SIZE)

    atomic_write_all(outputs, write)
    return outputs


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=HERE, help="folder of the parquet files (default: beside this)")
    parser.add_argument("--size", type=int, default=32)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--fonts-dir", type=Path, help="take the fonts below this folder (default: fc-list's)")
    args = parser.parse_args(argv)
    if args.size < 8:
        parser.error("--size must be at least 8")

    sys.path.insert(0, str(HERE.parent.parent))  # the repository's hfgan, even when not installed
    fonts, left_out = [], []
    for path in font_files(args.fonts_dir):
        font, why = load_font(path)
        if font is None:
            left_out.append(why)
        else:
            fonts.append(font)
    fonts.sort(key=lambda f: (f.name, str(f.path)))
    duplicates = sorted({f.name for f in fonts if sum(g.name == f.name for g in fonts) > 1})
    if duplicates:  # the same font installed twice (or two files of one name): keep the first
        fonts = [f for i, f in enumerate(fonts) if f.name not in {g.name for g in fonts[:i]}]
        left_out += [f"{name}: a second file of that name" for name in duplicates]
    if len(fonts) < MIN_TEST_FONTS + 2:
        raise SystemExit(f"only {len(fonts)} usable fonts found; need at least {MIN_TEST_FONTS + 2}")
    print(f"{len(fonts)} fonts" + (f"; left out: {'; '.join(left_out)}" if left_out else ""))

    splits = split_fonts(fonts, args.seed)
    rows = {}
    for split, members in splits.items():
        rows[split] = build_rows(members, JITTERS[split], args.size, args.seed)
        print(f"{split}: {len(members)} fonts x {len(LETTERS)} letters x {JITTERS[split]} = {len(rows[split])} "
              "images")
        for f in members:
            print(f"  {f.name} ({f.kind}, {f.style})")
    for split, path in write_splits(args.out, args.size, rows).items():
        print(f"{path}: {len(rows[split])} images, {os.path.getsize(path) / 1e6:.2f} MB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
