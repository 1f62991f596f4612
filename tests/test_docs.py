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


def test_blobgan_figures_script(tmp_path, monkeypatch, tiny_scenes):
    """docs/make_blobgan_figures.py (the pictures and numbers of docs/blobgan.md) runs on any release: the sampling
    and editing figures always, the inversion figure and numbers when the release has an encoder."""
    import json
    import runpy

    import PIL.Image
    import torch

    from hfgan import BlobGANEncoder, BlobGANGenerator, BlobGANPipeline, BlobLayoutNet

    torch.manual_seed(0)
    layout_net = BlobLayoutNet(latent_dim=8, num_blobs=3, structure_dim=4, style_dim=4, hidden_dim=16, num_layers=2)
    generator = BlobGANGenerator(image_size=16, input_size=4, structure_dim=4, style_dim=4, channel_base=64,
                                 channel_max=8)
    encoder = BlobGANEncoder(image_size=16, num_blobs=3, structure_dim=4, style_dim=4, channel_base=64, channel_max=8)
    test_split = tiny_scenes.with_name(tiny_scenes.name.replace("-train", "-test"))

    def make_figures(out, unseen="", **components):
        BlobGANPipeline(layout_net=layout_net, generator=generator, **components).save_pretrained(tmp_path / out)
        argv = ["make_blobgan_figures.py", "--model", str(tmp_path / out), "--out", str(tmp_path / out / "figures"),
                "--num", "3", "--scenes", str(test_split), "--num-eval", "6", "--refine-steps", "3",
                "--unseen-scenes", unseen]
        monkeypatch.setattr("sys.argv", argv)
        runpy.run_path(str(DOCS / "make_blobgan_figures.py"), run_name="__main__")
        return tmp_path / out / "figures"

    figures = make_figures("without-encoder")
    numbers = json.loads((figures / "blobgan_edits.json").read_text())
    assert numbers["edits"][0] == "sample" and len(numbers["edits"]) == 6
    assert 0 <= numbers["locality"]["change_inside_footprint"] <= 1 and numbers["locality"]["samples"] == 3
    assert {p.name for p in figures.glob("*.png")} == {"blobgan_samples.png", "blobgan_edits.png"}

    figures = make_figures("with-encoder", encoder=encoder)
    numbers = json.loads((figures / "blobgan_inversion.json").read_text())
    assert numbers["test_images"] == 6
    assert set(numbers) == {"test_images", "encoder", "encoder + 3 refinement steps"}  # no unseen scenes given
    assert not (figures / "blobgan_inversion_unseen.png").exists()
    for results in (numbers["encoder"], numbers["encoder + 3 refinement steps"]):
        assert results["reconstruction_psnr"] > 0 and 0 <= results["object_hit_rate"] <= 1
    assert numbers["encoder"] != numbers["encoder + 3 refinement steps"]
    with PIL.Image.open(figures / "blobgan_inversion.png") as grid:  # the first 8 test images, 192 px a tile
        assert grid.size == (8 * 192, 7 * 192)  # the image; blobs, rendering, moved: encoded and refined

    figures = make_figures("with-unseen", unseen=str(tiny_scenes), encoder=encoder)  # another split as unseen
    unseen = json.loads((figures / "blobgan_inversion.json").read_text())["unseen"]
    assert unseen["scenes"] == str(tiny_scenes) and unseen["test_images"] == 6
    assert unseen["encoder"]["reconstruction_psnr"] > 0 and unseen["encoder"] != numbers["encoder"]
    with PIL.Image.open(figures / "blobgan_inversion_unseen.png") as grid:
        assert grid.size == (8 * 192, 7 * 192)
