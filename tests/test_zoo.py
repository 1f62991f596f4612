"""Every trained release in zoo/ loads as it is, samples, and carries an honest card (the command, the metrics)."""

import io
from pathlib import Path

import PIL.Image
import pytest
import yaml

from hfgan import HfGanPipeline
from hfgan.data import resolve_data_source

ZOO = Path(__file__).resolve().parents[1] / "zoo"
ENTRIES = sorted(p for p in ZOO.iterdir() if (p / "model_index.json").is_file())
MAX_BYTES = 25 * 2**20


def test_the_zoo_has_the_default_dcgan_classifier_blobgan_stylegan_and_inversions():
    assert {"dcgan-emoji", "dcgan-emoji-classifier", "blobgan-emoji-scenes", "blobgan-emoji-scenes-inversion",
            "stylegan2-emoji", "stylegan2-emoji-inversion"} <= {p.name for p in ENTRIES}


def test_the_inversion_entry_inverts_with_the_blobgan_entrys_networks():
    """blobgan-emoji-scenes-inversion is the BlobGAN entry's frozen networks plus the trained encoder: inverting its
    own samples gives layouts that render, and its card carries the reconstruction and alignment numbers."""
    import torch

    from hfgan import BlobGANPipeline

    pipe = BlobGANPipeline.from_pretrained(ZOO / "blobgan-emoji-scenes-inversion")
    blobgan = BlobGANPipeline.from_pretrained(ZOO / "blobgan-emoji-scenes")
    for name in ("generator", "layout_net"):
        for a, b in zip(getattr(pipe, name).state_dict().values(), getattr(blobgan, name).state_dict().values()):
            assert torch.equal(a, b), name
    pipe.set_progress_bar_config(disable=True)
    scenes = pipe(num_images=2, generator=torch.Generator().manual_seed(0), output_type="pt").images
    inverted = pipe.invert(scenes, output_type="pt")
    torch.testing.assert_close(pipe(layout=inverted.layouts, output_type="pt").images, inverted.reconstructions)
    text = (ZOO / "blobgan-emoji-scenes-inversion" / "README.md").read_text()
    metrics = {m["type"] for m in yaml.safe_load(text.split("---")[1])["model-index"][0]["results"][0]["metrics"]}
    assert {"reconstruction_psnr", "object_hit_rate", "blob_in_object_rate", "latent_error"} <= metrics
    assert "emoji-cnn-distance" in text and "not LPIPS" in text


def test_the_stylegan_inversion_entry_has_the_stylegan_entrys_generator_and_an_encoder():
    """stylegan2-emoji-inversion is stylegan2-emoji's generator, frozen, plus a trained encoder: inverting a test image
    renders what its ws render, and its card carries the reconstruction numbers."""
    import torch

    from hfgan import StyleGANPipeline

    pipe = StyleGANPipeline.from_pretrained(ZOO / "stylegan2-emoji-inversion")
    source = StyleGANPipeline.from_pretrained(ZOO / "stylegan2-emoji")
    for a, b in zip(pipe.generator.state_dict().values(), source.generator.state_dict().values()):
        assert torch.equal(a, b)
    image = PIL.Image.open(io.BytesIO(resolve_data_source("emoji", "test").image_cells(0, 1)[0]["bytes"]))
    inverted = pipe.invert(image, method="encoder", output_type="pt")
    torch.testing.assert_close(pipe(ws=inverted.ws, output_type="pt").images, inverted.reconstructions)
    text = (ZOO / "stylegan2-emoji-inversion" / "README.md").read_text()
    metrics = {m["type"] for m in yaml.safe_load(text.split("---")[1])["model-index"][0]["results"][0]["metrics"]}
    assert {"reconstruction_psnr", "fake_reconstruction_psnr", "latent_error"} <= metrics


@pytest.mark.parametrize("entry", ENTRIES, ids=[p.name for p in ENTRIES])
def test_zoo_entry_loads_samples_and_has_its_card(entry):
    size = sum(f.stat().st_size for f in entry.rglob("*") if f.is_file())
    assert size < MAX_BYTES, f"{entry.name} is {size / 2**20:.1f} MiB"
    pipe = HfGanPipeline.from_pretrained(entry)
    pipe.set_progress_bar_config(disable=True)
    generates = pipe._card_task == "unconditional-image-generation"
    if generates:
        images = pipe(num_images=2, output_type="pt").images
        assert images.shape[0] == 2 and 0 <= images.min() and images.max() <= 1
    else:  # a classifier: two test images of the shipped set, each gets labels by descending score
        test_images = resolve_data_source("emoji", "test").image_cells(0, 2)
        predictions = pipe([PIL.Image.open(io.BytesIO(cell["bytes"])) for cell in test_images], top_k=3)
        assert [len(p) for p in predictions] == [3, 3]
        assert all(p[0]["score"] >= p[1]["score"] for p in predictions)
        assert (entry / "config.json").is_file() and (entry / "preprocessor_config.json").is_file()  # transformers'

    text = (entry / "README.md").read_text()
    meta = yaml.safe_load(text.split("---")[1])
    assert meta["library_name"] == "hfgan" and meta["pipeline_tag"] == pipe._card_task
    results = meta["model-index"][0]["results"][0]
    assert results["task"]["type"] == pipe._card_task and results["metrics"]  # measured numbers, not none
    assert "| command | `python training/" in text  # exactly which command made it
    if generates:
        assert (entry / "samples.png").is_file() and "![samples](samples.png)" in text
    assert not list(entry.rglob("*.bin")) and not list(entry.rglob("*.pt"))
