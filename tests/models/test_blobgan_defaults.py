"""One set of BlobGAN defaults fits together (the CPU recipe's), and the paper's 256 px sizes are a named preset."""

import inspect
from pathlib import Path

import pytest
import torch
import yaml

from hfgan import BlobGANDiscriminator, BlobGANEncoder, BlobGANGenerator, BlobGANPipeline, BlobLayoutNet
from hfgan.models.blobgan.presets import PAPER_256

CONFIGS = Path(__file__).resolve().parents[2] / "training" / "configs"
CLASSES = {"layout_net": BlobLayoutNet, "generator": BlobGANGenerator, "discriminator": BlobGANDiscriminator,
           "encoder": BlobGANEncoder}


def defaults(cls) -> dict:
    return {name: p.default for name, p in inspect.signature(cls.__init__).parameters.items() if name != "self"}


def read(path: str) -> dict:
    return yaml.safe_load((CONFIGS / path).read_text())


def training_sizes(model_config: str, image_size: int) -> dict[str, dict]:
    """The sizes a training model config gives each class, in the classes' argument names (as train_blobgan.py and
    train_inversion.py pass them)."""
    m = read(f"model/{model_config}.yaml")
    features = {"structure_dim": m["structure_dim"], "style_dim": m["style_dim"]}
    return {
        "layout_net": {"latent_dim": m["latent_dim"], "num_blobs": m["num_blobs"], **features,
                       "hidden_dim": m["layout_hidden_dim"], "num_layers": m["layout_layers"],
                       "blob_variance": m["blob_variance"], "shared_blob_head": m["shared_blob_head"],
                       "max_aspect_ratio": m["max_aspect_ratio"]},
        "generator": {"image_size": image_size, "input_size": m["input_size"], **features,
                      "channel_base": m["g_channel_base"], "channel_max": m["g_channel_max"],
                      "pooled_alphas": m["pooled_alphas"]},
        "discriminator": {"image_size": image_size, "channel_base": m["d_channel_base"],
                          "channel_max": m["d_channel_max"]},
        "encoder": {"image_size": image_size, "num_blobs": m["num_blobs"], **features,
                    "blob_variance": m["blob_variance"], "max_aspect_ratio": m["max_aspect_ratio"],
                    "channel_base": m["d_channel_base"], "channel_max": m["d_channel_max"]},
    }


def test_defaults_are_the_cpu_recipe():
    for name, sizes in training_sizes("blobgan_small", read("data/scenes.yaml")["image_size"]).items():
        assert {k: defaults(CLASSES[name])[k] for k in sizes} == sizes, name


def test_default_family_composes_samples_discriminates_and_inverts():
    torch.manual_seed(0)
    encoder = BlobGANEncoder()
    pipe = BlobGANPipeline(layout_net=BlobLayoutNet(), generator=BlobGANGenerator(), encoder=encoder)
    pipe.set_progress_bar_config(disable=True)
    images = pipe(num_images=2, generator=torch.Generator().manual_seed(0), output_type="pt").images
    assert images.shape == (2, 3, 64, 64)
    assert BlobGANDiscriminator()(images * 2 - 1).logits.shape == (2,)
    assert pipe.invert(images, output_type="pt").reconstructions.shape == (2, 3, 64, 64)


def test_paper_preset_is_the_256_px_training_config_and_composes():
    assert PAPER_256 == training_sizes("blobgan256", read("experiment/blobgan256.yaml")["data"]["image_size"])
    with torch.device("meta"):  # shapes and config checks only: no 100M parameters to initialise
        models = {name: CLASSES[name](**PAPER_256[name]) for name in CLASSES}
    pipe = BlobGANPipeline(layout_net=models["layout_net"], generator=models["generator"], encoder=models["encoder"])
    assert pipe.generator.config.image_size == models["discriminator"].config.image_size == 256


@pytest.mark.parametrize("name", ["layout_net", "generator", "encoder"])
def test_paper_preset_does_not_fit_the_defaults(name):
    """The two sets are either-or: a default network next to a paper-sized one is refused with the mismatch named."""
    others = {key: CLASSES[key]() for key in ("layout_net", "generator", "encoder") if key != name}
    with torch.device("meta"):
        others[name] = CLASSES[name](**PAPER_256[name])
    with pytest.raises(ValueError, match="512|256"):
        BlobGANPipeline(**others)
