"""Each tab of the demo in headless Chromium (Debian's package, driven by playwright: no browser download), used as a
visitor would use it, and screenshotted by docs/make_demo_screenshots.py: every screenshot shows the page and the
tab's results, not a blank or half-drawn page."""

import runpy
import shutil
from pathlib import Path

import numpy as np
import PIL.Image
import pytest

pytest.importorskip("playwright")
pytest.importorskip("gradio")
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
DOCS = Path(__file__).resolve().parents[2] / "docs"


@pytest.mark.slow
@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="needs Debian's Chromium: apt-get install chromium")
def test_screenshot_of_every_tab(tiny_zoo, images, tmp_path, monkeypatch):
    out = tmp_path / "shots"
    argv = ["make_demo_screenshots.py", "--models", str(tiny_zoo), "--out", str(out), "--chromium", CHROMIUM,
            "--classify-image", str(images["rgba"]), "--invert-image", str(images["gray"])]
    monkeypatch.setattr("sys.argv", argv)
    runpy.run_path(str(DOCS / "make_demo_screenshots.py"), run_name="__main__")
    for tab in ("sample", "classify", "blobs", "invert", "photo"):
        with PIL.Image.open(out / f"demo_{tab}.png") as shot:
            pixels = np.asarray(shot.convert("RGB")).astype(np.int16)
        assert pixels.shape[0] >= 600 and pixels.shape[1] == 1200, tab
        colours = len(np.unique(pixels.reshape(-1, 3)[::7], axis=0))
        # the page alone, controls and text with no results, shows about 600 colours; the tab's images add thousands
        assert pixels.std() > 20 and colours > 1200, (tab, pixels.std(), colours)
