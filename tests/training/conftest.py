import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TRAINING = ROOT / "training"
sys.path.insert(0, str(TRAINING))  # the scripts import their sibling `common` module, as when run directly


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
def run_classifier(tmp_path):
    return script_runner("train_classifier", "classifier_debug", tmp_path)
