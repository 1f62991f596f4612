from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TRAINING = ROOT / "training"  # on the import path through pyproject's [tool.pytest.ini_options] pythonpath


def script_runner(script: str, experiment: str, tmp_path: Path):
    """`run(*overrides, output_dir=None)`: compose `training/configs/<script>.yaml` as the command line would
    (`experiment=<experiment>` + overrides, wandb off) and call the script's `train`; returns its summary."""
    from hydra import compose, initialize_config_dir

    train = __import__(script).train

    def run(*overrides, output_dir=None):
        output_dir = output_dir or tmp_path / "run"
        with initialize_config_dir(config_dir=str(TRAINING / "configs"), version_base=None):
            cfg = compose(
                config_name=script,
                overrides=[f"experiment={experiment}", f"output_dir={output_dir}", "logging.wandb=disabled", *overrides],
            )
        return train(cfg)

    return run


@pytest.fixture
def run_dcgan(tmp_path):
    return script_runner("train_dcgan", "debug", tmp_path)


@pytest.fixture
def run_feature_net(tmp_path):
    return script_runner("train_feature_net", "feature_net_debug", tmp_path)


@pytest.fixture
def run_classifier(tmp_path):
    return script_runner("train_classifier", "classifier_debug", tmp_path)


@pytest.fixture
def run_stylegan(tmp_path):
    return script_runner("train_stylegan", "stylegan_debug", tmp_path)


@pytest.fixture
def run_blobgan(tmp_path, tiny_scenes):
    run = script_runner("train_blobgan", "blobgan_debug", tmp_path)
    return lambda *overrides, output_dir=None: run(f"data.source={tiny_scenes}", *overrides, output_dir=output_dir)


@pytest.fixture(scope="session")
def tiny_blobgan_release(tmp_path_factory):
    """A tiny untrained BlobGAN release (16 px, 3 blobs, 4-d features) laid out as train_blobgan.py writes one: the
    pipeline (with the layout network's mean for truncation) and discriminator/."""
    import torch

    from hfgan import BlobGANDiscriminator, BlobGANGenerator, BlobGANPipeline, BlobLayoutNet

    torch.manual_seed(0)
    layout_net = BlobLayoutNet(latent_dim=8, num_blobs=3, structure_dim=4, style_dim=4, hidden_dim=16, num_layers=2)
    layout_net.compute_mean(64, generator=torch.Generator().manual_seed(1))
    generator = BlobGANGenerator(image_size=16, input_size=4, structure_dim=4, style_dim=4, channel_base=64,
                                 channel_max=8)
    for module in generator.modules():  # noise strengths start at 0; give them weight so that noise modes matter
        if hasattr(module, "strength"):
            module.strength.data.fill_(0.1)
    release = tmp_path_factory.mktemp("blobgan") / "release"
    BlobGANPipeline(layout_net=layout_net, generator=generator).save_pretrained(release)
    BlobGANDiscriminator(image_size=16, channel_base=64, channel_max=8).save_pretrained(release / "discriminator")
    return release


@pytest.fixture
def run_inversion(tmp_path, tiny_scenes, tiny_blobgan_release):
    run = script_runner("train_inversion", "inversion_debug", tmp_path)
    test_split = tiny_scenes.with_name(tiny_scenes.name.replace("-train", "-test"))
    return lambda *overrides, output_dir=None: run(f"data.source={tiny_scenes}", f"test_data.source={test_split}",
                                                   f"blobgan={tiny_blobgan_release}", *overrides,
                                                   output_dir=output_dir)


@pytest.fixture(scope="session")
def tiny_stylegan_release(tmp_path_factory):
    """A tiny untrained StyleGAN2 release (16 px, w of size 8), its mean w set as a trained one's would be, with
    discriminator/ as train_stylegan.py writes it."""
    import torch

    from hfgan import StyleGAN2Discriminator, StyleGAN2Generator, StyleGANPipeline

    torch.manual_seed(0)
    generator = StyleGAN2Generator(z_dim=8, w_dim=8, img_resolution=16, mapping_layers=2, channel_base=64,
                                   channel_max=8)
    with torch.no_grad():
        generator.mapping.w_avg.copy_(generator.map(torch.randn(256, 8))[:, 0].mean(0))
    release = tmp_path_factory.mktemp("stylegan") / "release"
    StyleGANPipeline(generator=generator).save_pretrained(release)
    StyleGAN2Discriminator(img_resolution=16, channel_base=64, channel_max=8).save_pretrained(release / "discriminator")
    return release


@pytest.fixture
def run_stylegan_encoder(tmp_path, tiny_stylegan_release):
    run = script_runner("train_stylegan_encoder", "stylegan_encoder_debug", tmp_path)
    return lambda *overrides, output_dir=None: run(f"stylegan={tiny_stylegan_release}", *overrides,
                                                   output_dir=output_dir)
