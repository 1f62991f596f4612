import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TRAINING = ROOT / "training"
sys.path.insert(0, str(TRAINING))  # the scripts import their sibling `common` module, as when run directly


@pytest.fixture
def run_dcgan(tmp_path):
    """Compose the DCGAN training config as the command line would (experiment=debug + overrides) and train."""
    from hydra import compose, initialize_config_dir

    from train_dcgan import train

    def run(*overrides, output_dir=None):
        output_dir = output_dir or tmp_path / "run"
        with initialize_config_dir(config_dir=str(TRAINING / "configs"), version_base=None):
            cfg = compose(
                config_name="train_dcgan",
                overrides=["experiment=debug", f"output_dir={output_dir}", "logging.wandb=disabled", *overrides],
            )
        return train(cfg)

    return run
