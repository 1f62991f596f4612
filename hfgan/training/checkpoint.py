"""Training checkpoints: written atomically, the last K kept, resumable bit for bit.

Layout of one checkpoint, `<output>/checkpoints/step-0000100/`:

    generator/, generator_ema/, discriminator/   save_pretrained folders (config.json + safetensors)
    training_state.pt                            optimizers, step, EMA counter, RNG states (tensors and plain
                                                 Python values only: loaded with torch.load(weights_only=True))
    config.yaml                                  the resolved training config

It is written under a temporary name and renamed into place, so a kill at any moment leaves every complete
checkpoint intact and never a half-written one under a `step-*` name.
"""

from __future__ import annotations

import os
import random
import re
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..utils import atomic_directory

STEP_DIR = re.compile(r"^step-(\d+)$")
STATE_NAME = "training_state.pt"


def capture_rng_state() -> dict[str, Any]:
    """The state of every RNG a training step draws from (Python, NumPy, torch CPU and CUDA)."""
    version, internal, gauss_next = random.getstate()
    _, keys, pos, has_gauss, cached_gaussian = np.random.get_state()
    state = {
        "python": {"version": version, "internal": list(internal), "gauss_next": gauss_next},
        "numpy": {"keys": torch.from_numpy(keys.astype(np.int64)), "pos": int(pos), "has_gauss": int(has_gauss),
                  "cached_gaussian": float(cached_gaussian)},
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def restore_rng_state(state: dict[str, Any]) -> None:
    py, npy = state["python"], state["numpy"]
    random.setstate((py["version"], tuple(py["internal"]), py["gauss_next"]))
    keys = npy["keys"].numpy().astype(np.uint32)
    np.random.set_state(("MT19937", keys, npy["pos"], npy["has_gauss"], npy["cached_gaussian"]))
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def list_checkpoints(checkpoint_dir: str | os.PathLike) -> list[Path]:
    """Complete checkpoints in `checkpoint_dir`, oldest first (temporary folders are ignored)."""
    folder = Path(checkpoint_dir)
    if not folder.is_dir():
        return []
    found = [(int(m.group(1)), p) for p in folder.iterdir() if (m := STEP_DIR.match(p.name)) and p.is_dir()]
    return [p for _, p in sorted(found)]


def save_checkpoint(
    checkpoint_dir: str | os.PathLike,
    step: int,
    models: dict[str, Any],
    state: dict[str, Any],
    config_yaml: str | None = None,
    keep_last: int | None = None,
) -> Path:
    """Write `step-<step>/` atomically: `models` by `save_pretrained`, `state` by `torch.save`; prune to `keep_last`."""
    checkpoint_dir = Path(checkpoint_dir)
    final = checkpoint_dir / f"step-{step:07d}"
    with atomic_directory(final) as tmp:  # a step saved again (a resumed run) is replaced only once whole
        for name, model in models.items():
            model.save_pretrained(tmp / name)
        torch.save(state, tmp / STATE_NAME)
        if config_yaml is not None:
            (tmp / "config.yaml").write_text(config_yaml)
    if keep_last:
        for old in list_checkpoints(checkpoint_dir)[:-keep_last]:
            shutil.rmtree(old)
    return final


def load_state(checkpoint: str | os.PathLike) -> dict[str, Any]:
    """The `training_state.pt` of a checkpoint folder (tensors and plain values only; no arbitrary unpickling)."""
    path = Path(checkpoint) / STATE_NAME
    if not path.is_file():
        raise FileNotFoundError(f"{checkpoint} is not a complete checkpoint: {STATE_NAME} is missing")
    return torch.load(path, map_location="cpu", weights_only=True)


def resolve_resume(resume: str | None, checkpoint_dir: str | os.PathLike, token: str | None = None) -> Path | None:
    """Turn `resume` into a local checkpoint folder.

    `None`/`""`: start fresh. `"latest"`: the newest checkpoint in `checkpoint_dir`, or a fresh start when there is
    none. A path: that checkpoint folder (or the newest inside a `checkpoints/` folder). Anything else is taken as a
    Hub repo id (optionally `repo_id@revision`) whose newest pushed `checkpoints/step-*` is downloaded.
    """
    if not resume:
        return None
    if resume == "latest":
        found = list_checkpoints(checkpoint_dir)
        return found[-1] if found else None
    path = Path(resume)
    if path.is_dir():
        if (path / STATE_NAME).is_file():
            return path
        found = list_checkpoints(path) or list_checkpoints(path / "checkpoints")
        if not found:
            raise FileNotFoundError(f"resume={resume!r}: no complete checkpoint (step-*/{STATE_NAME}) in that folder")
        return found[-1]
    if path.suffix or resume.startswith((".", "/")) or resume.count("/") != 1:
        raise FileNotFoundError(f"resume={resume!r} is neither 'latest', an existing folder, nor a Hub repo id")
    return _download_latest_checkpoint(resume, token)


def _download_latest_checkpoint(repo_ref: str, token: str | None) -> Path:
    from huggingface_hub import HfApi, snapshot_download

    repo_id, _, revision = repo_ref.partition("@")
    files = HfApi(token=token).list_repo_files(repo_id, revision=revision or None)
    steps = sorted({m.group(1) for f in files if (m := re.match(r"^checkpoints/(step-\d+)/", f))})
    if not steps:
        raise FileNotFoundError(f"resume={repo_ref!r}: the repo has no checkpoints/step-* folder")
    folder = snapshot_download(
        repo_id, revision=revision or None, token=token, allow_patterns=[f"checkpoints/{steps[-1]}/*"]
    )
    return Path(folder, "checkpoints", steps[-1])
