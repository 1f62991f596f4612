"""demo/ runs as a Hugging Face Space: app.py builds `demo` at import (launching only under __main__), the README
carries the Spaces metadata, and requirements.txt installs hfgan with its demo extra."""

import runpy
from pathlib import Path

import pytest
import yaml

gr = pytest.importorskip("gradio")
SPACE = Path(__file__).resolve().parents[2] / "demo"


def test_app_builds_the_demo_from_the_space_variable(tiny_zoo, monkeypatch):
    monkeypatch.setenv("HFGAN_DEMO_MODELS", f"{tiny_zoo / 'dcgan'},{tiny_zoo / 'blobgan'}")
    namespace = runpy.run_path(str(SPACE / "app.py"), run_name="app")  # as Spaces import it: no launch
    demo = namespace["demo"]
    assert isinstance(demo, gr.Blocks)
    api = {dep.get("api_name") for dep in demo.config["dependencies"]}
    assert {"sample", "classify", "scene", "edit", "invert"} <= api
    assert "Serving 2 release(s): dcgan, blobgan" in str(demo.config)


def test_the_space_metadata():
    text = (SPACE / "README.md").read_text()
    assert text.startswith("---\n")
    meta = yaml.safe_load(text.split("---\n")[1])
    assert meta["sdk"] == "gradio" and meta["app_file"] == "app.py" and (SPACE / meta["app_file"]).is_file()
    assert int(str(meta["sdk_version"]).split(".")[0]) == int(gr.__version__.split(".")[0])  # the major tested here
    requirements = [line.strip() for line in (SPACE / "requirements.txt").read_text().splitlines()]
    assert "hfgan[demo]>=0.1" in requirements
