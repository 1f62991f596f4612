"""Every ```python block in docs/ runs, page by page, in a fresh folder (blocks of one page share a namespace).

Pages may push to the Hub: the blocks see the local Hub test server and a valid HF_TOKEN.
"""

import re
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parents[1] / "docs"
BLOCK = re.compile(r"^```python\n(.*?)^```", re.S | re.M)
PAGES = sorted(p for p in DOCS.rglob("*.md") if BLOCK.search(p.read_text()))


def test_docs_have_examples():
    assert len(PAGES) >= 3


@pytest.mark.parametrize("page", PAGES, ids=[p.relative_to(DOCS).as_posix() for p in PAGES])
def test_doc_examples_run(page, tmp_path, monkeypatch, hub):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HF_TOKEN", hub.token)
    (tmp_path / "data").symlink_to(DOCS.parent / "data", target_is_directory=True)  # shipped datasets
    (tmp_path / "zoo").symlink_to(DOCS.parent / "zoo", target_is_directory=True)  # trained releases
    namespace = {"__name__": f"docs_{page.stem}"}
    for i, block in enumerate(BLOCK.findall(page.read_text())):
        code = compile(block, f"{page.name}[block {i}]", "exec")
        exec(code, namespace)  # noqa: S102 - the docs are ours


def test_blobgan_figures_script(tmp_path, monkeypatch):
    """docs/make_blobgan_figures.py (the pictures and locality numbers of docs/blobgan.md) runs on any release."""
    import json
    import runpy

    import torch

    from hfgan import BlobGANGenerator, BlobGANPipeline, BlobLayoutNet

    torch.manual_seed(0)
    layout_net = BlobLayoutNet(latent_dim=8, num_blobs=3, structure_dim=4, style_dim=4, hidden_dim=16, num_layers=2)
    generator = BlobGANGenerator(image_size=16, input_size=4, structure_dim=4, style_dim=4, channel_base=64,
                                 channel_max=8)  # fmt: skip
    BlobGANPipeline(layout_net=layout_net, generator=generator).save_pretrained(tmp_path / "model")
    argv = ["make_blobgan_figures.py", "--model", str(tmp_path / "model"), "--out", str(tmp_path / "out"), "--num", "3"]
    monkeypatch.setattr("sys.argv", argv)
    runpy.run_path(str(DOCS / "make_blobgan_figures.py"), run_name="__main__")
    numbers = json.loads((tmp_path / "out" / "blobgan_edits.json").read_text())
    assert numbers["edits"][0] == "sample" and len(numbers["edits"]) == 6
    assert 0 <= numbers["locality"]["change_inside_footprint"] <= 1 and numbers["locality"]["samples"] == 3
    assert {p.name for p in (tmp_path / "out").glob("*.png")} == {"blobgan_samples.png", "blobgan_edits.png"}
