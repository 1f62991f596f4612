import pytest


@pytest.fixture(scope="session")
def tiny_zoo(tmp_path_factory, tiny_classifier):
    """A zoo folder of tiny 16 px releases, one of each role (a DCGAN, a classifier, a BlobGAN with an encoder, a
    StyleGAN2 without edit directions), and
    one broken release the demo must report rather than fail on."""
    import torch

    from hfgan import (
        BlobGANEncoder,
        BlobGANGenerator,
        BlobGANPipeline,
        BlobLayoutNet,
        DCGANGenerator,
        DCGANPipeline,
        StyleGAN2Generator,
        StyleGANPipeline,
    )

    zoo = tmp_path_factory.mktemp("zoo")
    torch.manual_seed(0)
    DCGANPipeline(generator=DCGANGenerator(latent_dim=8, base_channels=4, image_size=16)).save_pretrained(zoo / "dcgan")
    tiny_classifier(["cat", "dog", "fox", "owl"]).save_pretrained(zoo / "classifier")
    sizes = dict(num_blobs=3, structure_dim=4, style_dim=4)
    layout_net = BlobLayoutNet(latent_dim=8, hidden_dim=16, num_layers=2, **sizes)
    layout_net.compute_mean(256, generator=torch.Generator().manual_seed(0))
    generator = BlobGANGenerator(image_size=16, input_size=4, structure_dim=4, style_dim=4, channel_base=64,
                                 channel_max=8)
    encoder = BlobGANEncoder(image_size=16, channel_base=64, channel_max=8, **sizes)
    BlobGANPipeline(layout_net=layout_net, generator=generator, encoder=encoder).save_pretrained(zoo / "blobgan")
    stylegan = StyleGAN2Generator(z_dim=8, w_dim=8, img_resolution=16, mapping_layers=2, channel_base=64,
                                  channel_max=8)
    StyleGANPipeline(generator=stylegan).save_pretrained(zoo / "stylegan")
    (zoo / "broken").mkdir()
    (zoo / "broken" / "model_index.json").write_text('{"_class_name": "NoSuchPipeline"}')
    return zoo


@pytest.fixture(scope="session")
def demo_models(tiny_zoo):
    from hfgan.demo import DemoModels

    return DemoModels([str(tiny_zoo)])


@pytest.fixture
def images(tmp_path):
    """Uploads of every kind: RGB, RGBA, grayscale and palette PNGs, a JPEG, a text file and a huge PNG."""
    import numpy as np
    import PIL.Image

    rng = np.random.default_rng(0)
    rgb = PIL.Image.fromarray(rng.integers(0, 256, (40, 30, 3), dtype=np.uint8))
    files = {
        "rgb": (rgb, "png"),
        "rgba": (rgb.convert("RGBA"), "png"),
        "gray": (rgb.convert("L"), "png"),
        "palette": (rgb.convert("P"), "png"),
        "jpeg": (rgb, "jpeg"),
    }
    paths = {}
    for name, (image, fmt) in files.items():
        paths[name] = tmp_path / f"{name}.{fmt}"
        image.save(paths[name], format=fmt.upper())
    paths["text"] = tmp_path / "notes.png"  # an image's name, not an image's bytes
    paths["text"].write_text("not an image")
    paths["huge"] = tmp_path / "huge.png"
    PIL.Image.new("L", (8000, 6000)).save(paths["huge"])  # 48 megapixels of zeros: a small file
    return paths
