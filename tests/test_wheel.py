"""hfgan installed from a wheel, outside the checkout: the commands work, and the shipped emoji set is a clear error.

The library must find nothing through the repository's layout. The test builds a wheel, installs it into a fresh
venv in a temporary folder, and runs the commands there with the working directory outside the checkout. The new
venv borrows the development venv's dependencies through a `.pth` line (no reinstall, no network); a path a `.pth`
file adds is not itself a site folder, so the editable install's own `.pth` finder there never runs and `hfgan`
comes from the wheel alone, which the test checks.
"""

import json
import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# what setuptools reads to build the wheel (pyproject.toml lists the packages and their data)
BUILD_INPUTS = ("pyproject.toml", "README.md", "hfgan", "model_cards")


def run(args, cwd, env, timeout=240) -> subprocess.CompletedProcess:
    result = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert result.returncode == 0, f"{args} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}"
    return result


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """(python, hfgan command, environment) of a venv holding hfgan from a freshly built wheel."""
    tmp = tmp_path_factory.mktemp("wheel")
    # build from a copy: an in-tree build would reuse a stale build/lib (deleted modules included) and leave
    # build/ and egg-info behind in the checkout
    src = tmp / "src"
    src.mkdir()
    for name in BUILD_INPUTS:
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, src / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(ROOT / name, src / name)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "HFGAN_EMOJI_DATA", "VIRTUAL_ENV")}
    env["HFGAN_CACHE"] = str(tmp / "hfgan-cache")
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "--no-input"]
    run(pip + ["wheel", "--no-deps", "--no-build-isolation", "--no-index", "-q", "-w", str(tmp / "dist"), str(src)],
        tmp, env)
    (wheel,) = (tmp / "dist").glob("hfgan-*.whl")

    venv = tmp / "venv"
    run([sys.executable, "-m", "venv", "--without-pip", str(venv)], tmp, env)
    python = venv / "bin" / "python"
    # the dev venv's pip, run by the new interpreter, installs into the new venv (before the .pth below exists)
    run(pip + ["--python", str(python), "install", "--no-deps", "--no-index", "-q", str(wheel)], tmp, env)
    purelib = Path(run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], tmp, env)
                   .stdout.strip())
    dev_site = dict.fromkeys(sysconfig.get_paths()[key] for key in ("purelib", "platlib"))
    (purelib / "_hfgan_test_dependencies.pth").write_text("\n".join(dev_site) + "\n")
    return python, venv / "bin" / "hfgan", env


@pytest.mark.slow
def test_installed_wheel_works_outside_the_checkout(installed, tmp_path):
    python, hfgan, env = installed
    work = tmp_path / "work"  # the working directory: no data/emoji here
    work.mkdir()
    setup = r"""
import json, sys
from pathlib import Path
import PIL.Image
import hfgan
from hfgan import DCGANGenerator, DCGANPipeline
from hfgan.data import load_image_dataset

for i in range(260):  # enough for the Fréchet distance on 256-d emoji-cnn features
    folder = Path("images") / ("warm" if i % 2 else "cold")
    folder.mkdir(parents=True, exist_ok=True)
    PIL.Image.new("RGB", (20, 18), (i % 256, (7 * i) % 256, 255 - i % 256)).save(folder / f"{i}.png")
DCGANPipeline(generator=DCGANGenerator(latent_dim=8, base_channels=8, image_size=16)).save_pretrained("tiny")
try:
    load_image_dataset("emoji")
    error = None
except FileNotFoundError as e:
    error = str(e)
print(json.dumps({"hfgan": hfgan.__file__, "sys_path": sys.path, "emoji_error": error}))
"""
    out = json.loads(run([str(python), "-c", setup], work, env).stdout.strip().splitlines()[-1])
    venv = python.parent.parent
    assert Path(out["hfgan"]).is_relative_to(venv), out["hfgan"]  # the wheel's copy, not the checkout's
    assert str(ROOT) not in [str(Path(p).resolve()) for p in out["sys_path"] if p]  # "": the working directory
    error = out["emoji_error"]
    assert error is not None, "'emoji' resolved outside the checkout"
    assert "hfgan repository's data/emoji/" in error and "HFGAN_EMOJI_DATA=/path/to/data/emoji" in error

    printed = run([str(hfgan), "prepare-data", "images", "--size", "16", "--out", "d.parquet"], work, env).stdout
    assert "Wrote 260 images (16x16 RGB)" in printed

    run([str(hfgan), "sample", "--out", "s.png", "--num-images", "4"], work, env)
    assert (work / "s.png").is_file()

    run([str(hfgan), "evaluate", "--model", "tiny", "--data", "d.parquet", "--backbone", "emoji-cnn",
         "--metrics", "fd", "kid", "--num-samples", "260", "--batch-size", "130", "--kid-subset-size", "50",
         "--kid-subsets", "5", "--out", "m.json"], work, env)
    result = json.loads((work / "m.json").read_text())
    assert result["metrics"]["fd_emoji_cnn"] > 0 and "kid_emoji_cnn" in result["metrics"]
    weights = Path(result["protocol"]["backbone"]["weights"])
    assert weights.is_relative_to(venv) and weights.name == "emoji-cnn"  # the package data of the wheel
    assert result["protocol"]["reference"]["resolution"] == 16
