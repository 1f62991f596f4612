"""Test-session setup: every Hub call goes to a local fake Hub (tests/hub_server.py), never to huggingface.co.

`huggingface_hub`, `datasets` and `diffusers` read `HF_ENDPOINT`, the cache folders and the offline flags when they are
imported, so the server is started and the environment is set in `pytest_configure`, before any test module imports
them. Fixtures:

- `hub` (session): `.endpoint`, `.token` (write token of `.user` = "hfgan-test"), `.read_token`, `.other_token`
  (write token of another user, "other-user"), `.invalid_token`, `.user`, `.org` ("hfgan-org", writable by `.user`),
  `.api` (an `HfApi` on the server with `.token`), `.server` (the `HubServer`: `.request_log`, `.state`) and
  `.new_repo_id(name="repo", namespace=None)` -> a fresh `"hfgan-test/<name>-<8 hex>"`.
- `hf_token_env`: `HF_TOKEN` set to `hub.token` for one test (what `hf auth login` would give); returns the token.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import uuid
import warnings
from dataclasses import dataclass, field

import pytest

# Before torch is imported: OpenMP's default busy-waiting makes torch 3-5x slower on a shared 2-core machine.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

if __package__:  # tests/ is a package
    from . import hub_server
else:  # rootdir-relative import (tests/ is on sys.path)
    import hub_server

_SERVER: hub_server.HubServer | None = None
_TMP_DIR: str | None = None

_UNSET = (
    "HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "HF_TOKEN_PATH", "HF_OIDC_RESOURCE", "HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE",
    "HF_DATASETS_OFFLINE", "HUGGINGFACE_HUB_CACHE", "HUGGINGFACE_ASSETS_CACHE", "HUGGINGFACE_CO_STAGING",
    "HF_HUB_ENABLE_HF_TRANSFER", "HF_HUB_USER_AGENT_ORIGIN", "HF_HUB_DISABLE_IMPLICIT_TOKEN",
)


def pytest_configure(config):
    global _SERVER, _TMP_DIR
    if _SERVER is not None:
        return
    _TMP_DIR = tempfile.mkdtemp(prefix="hfgan-tests-")
    home = os.path.join(_TMP_DIR, "hf_home")
    _SERVER = hub_server.HubServer().start()
    for name in _UNSET:
        os.environ.pop(name, None)
    os.environ.update(
        HF_ENDPOINT=_SERVER.endpoint,
        HF_HUB_DISABLE_XET="1",  # hf-xet is installed: without this, uploads and downloads would go through Xet
        HF_HUB_DISABLE_TELEMETRY="1",
        HF_HUB_DISABLE_PROGRESS_BARS="1",
        HF_HOME=home,
        HF_HUB_CACHE=os.path.join(home, "hub"),
        HF_ASSETS_CACHE=os.path.join(home, "assets"),
        HF_XET_CACHE=os.path.join(home, "xet"),
        HF_DATASETS_CACHE=os.path.join(home, "datasets"),
        WANDB_MODE="disabled",
        HFGAN_CACHE=os.path.join(_TMP_DIR, "hfgan_cache"),  # reference features of the metrics
        WANDB_DIR=os.path.join(_TMP_DIR, "wandb"),
        NO_PROXY=",".join(filter(None, [os.environ.get("NO_PROXY"), "127.0.0.1", "localhost"])),
        no_proxy=",".join(filter(None, [os.environ.get("no_proxy"), "127.0.0.1", "localhost"])),
    )
    _patch_already_imported(_SERVER.endpoint, home)


def pytest_unconfigure(config):
    global _SERVER, _TMP_DIR
    if _SERVER is not None:
        _SERVER.stop()
        _SERVER = None
    if _TMP_DIR is not None:
        shutil.rmtree(_TMP_DIR, ignore_errors=True)
        _TMP_DIR = None


def _patch_already_imported(endpoint: str, home: str) -> None:
    """If a plugin imported huggingface_hub/datasets/diffusers before us, their import-time constants are stale."""
    constants = sys.modules.get("huggingface_hub.constants")
    if constants is not None:
        warnings.warn("huggingface_hub was imported before tests/conftest.py configured the fake Hub; patching it")
        constants.ENDPOINT = endpoint
        constants.HUGGINGFACE_CO_URL_TEMPLATE = endpoint + "/{repo_id}/resolve/{revision}/{filename}"
        constants.HF_HUB_DISABLE_XET = True
        constants.HF_HUB_OFFLINE = False
        constants.HF_HUB_DISABLE_TELEMETRY = True
        constants.HF_HOME = home
        constants.HF_HUB_CACHE = constants.HUGGINGFACE_HUB_CACHE = os.path.join(home, "hub")
        constants.HF_TOKEN_PATH = os.path.join(home, "token")
        constants.HF_STORED_TOKENS_PATH = os.path.join(home, "stored_tokens")
    datasets_config = sys.modules.get("datasets.config")
    if datasets_config is not None:
        datasets_config.HF_ENDPOINT = endpoint
        datasets_config.HUB_DATASETS_URL = endpoint + "/datasets/{repo_id}/resolve/{revision}/{path}"
        datasets_config.HF_DATASETS_OFFLINE = False
    diffusers_constants = sys.modules.get("diffusers.utils.constants")
    if diffusers_constants is not None:
        diffusers_constants.HUGGINGFACE_CO_RESOLVE_ENDPOINT = endpoint


@dataclass
class Hub:
    """Handle on the fake Hub of this test session."""

    endpoint: str
    server: hub_server.HubServer
    user: str = hub_server.USER
    org: str = hub_server.ORG
    token: str = hub_server.WRITE_TOKEN
    read_token: str = hub_server.READ_TOKEN
    other_user: str = hub_server.OTHER_USER
    other_token: str = hub_server.OTHER_TOKEN
    invalid_token: str = hub_server.INVALID_TOKEN
    api: object = field(init=False)

    def __post_init__(self):
        from huggingface_hub import HfApi

        self.api = HfApi(endpoint=self.endpoint, token=self.token)

    def new_repo_id(self, name: str = "repo", namespace: str | None = None) -> str:
        """A repo id nobody used yet in this session (the repo itself is not created)."""
        return f"{namespace or self.user}/{name}-{uuid.uuid4().hex[:8]}"


@pytest.fixture(scope="session")
def hub() -> Hub:
    assert _SERVER is not None, "the fake Hub is started in pytest_configure"
    return Hub(endpoint=_SERVER.endpoint, server=_SERVER)


@pytest.fixture
def hf_token_env(hub, monkeypatch) -> str:
    """Log in for one test the way users do it: HF_TOKEN holds the write token of `hub.user`."""
    monkeypatch.setenv("HF_TOKEN", hub.token)
    return hub.token


@pytest.fixture(scope="session")
def tiny_scenes(tmp_path_factory):
    """24 train and 8 test scenes of 16 px made by `prepare_scenes` from three RGBA discs of different colours."""
    import numpy as np
    import PIL.Image

    from hfgan.data.scenes import prepare_scenes

    root = tmp_path_factory.mktemp("scenes")
    objects = root / "objects"
    objects.mkdir()
    yy, xx = np.mgrid[:32, :32]
    disc = ((yy - 15.5) ** 2 + (xx - 15.5) ** 2 < 14**2).astype(np.uint8) * 255
    for name, colour in {"red": (220, 30, 30), "green": (30, 200, 60), "blue": (40, 60, 230)}.items():
        rgba = np.dstack([np.broadcast_to(np.array(colour, np.uint8), (32, 32, 3)), disc])
        PIL.Image.fromarray(rgba, "RGBA").save(objects / f"{name}.png")
    prepare_scenes(objects, root / "scenes", num_train=24, num_test=8, size=16, seed=0)
    return root / "scenes" / "scenes-16-train.parquet"


@pytest.fixture(scope="session")
def tiny_classifier():
    """`tiny_classifier(labels, classifier="logits", seed=0)`: a 16 px `DiscriminatorClassifierPipeline` of a few
    channels whose scores are spread out (DCGAN's init, std 0.02, gives near-uniform scores)."""
    import torch

    from hfgan import DCGANDiscriminator, DiscriminatorClassifierPipeline

    def make(labels: list[str], classifier: str = "logits", seed: int = 0):
        torch.manual_seed(seed)
        discriminator = DCGANDiscriminator(base_channels=4, image_size=16, num_classes=len(labels), id2label=labels,
                                           classifier=classifier)
        for module in discriminator.modules():
            if isinstance(module, torch.nn.Conv2d):
                torch.nn.init.normal_(module.weight, std=0.3)
        pipe = DiscriminatorClassifierPipeline(discriminator=discriminator)
        pipe.set_progress_bar_config(disable=True)
        return pipe

    return make


@pytest.fixture(scope="session")
def nvidia_stylegan():
    """NVIDIA's StyleGAN code as a test oracle (never vendored: its licence is non-commercial), from the clone that
    HFGAN_STYLEGAN3_REPO names, with the parity fixtures' configs; the test is skipped without it. Returns a namespace:
    `networks2`, `networks3` (NVIDIA's modules), `configs` (tests/fixtures/stylegan's StyleGAN3 configs), `perturb`."""
    import types
    from pathlib import Path

    repo = os.environ.get("HFGAN_STYLEGAN3_REPO")
    if not repo:
        pytest.skip("needs a clone of NVlabs/stylegan3 named by HFGAN_STYLEGAN3_REPO")
    sys.path.insert(0, str(Path(__file__).parent / "fixtures" / "stylegan"))
    try:
        from make_parity_fixture import STYLEGAN3_CONFIGS, import_official, perturb
    finally:
        sys.path.pop(0)
    networks2, networks3 = import_official(repo)
    return types.SimpleNamespace(networks2=networks2, networks3=networks3, configs=STYLEGAN3_CONFIGS, perturb=perturb)
