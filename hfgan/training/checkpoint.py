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


class Checkpointer:
    """
    What a run's checkpoints hold, by name, and their saving and restoring.

    Models are saved with `save_pretrained` in a folder of their name and loaded back with their own class's
    `from_pretrained`; optimisers and `states` (anything with `state_dict`/`load_state_dict`) go into
    `training_state.pt` under their names, beside the run's counters and every RNG state.

    Args:
        checkpoint_dir (`str` or `os.PathLike`): where `step-*` folders go.
        resume_from (`Path`, *optional*): the checkpoint to restore in [`~Checkpointer.track`] (see `resolve_resume`).
        config_yaml (`str`, *optional*): the run's resolved config, saved in every checkpoint.
        keep_last (`int`, *optional*): how many checkpoints to keep.
        unwrap (`Callable`, *optional*): turns a prepared (distributed) model back into the plain one to save.
    """

    def __init__(self, checkpoint_dir: str | os.PathLike, resume_from: Path | None = None,
                 config_yaml: str | None = None, keep_last: int | None = None, unwrap=lambda model: model):
        self.dir, self.resume_from, self.config_yaml = Path(checkpoint_dir), resume_from, config_yaml
        self.keep_last, self.unwrap = keep_last, unwrap
        self.models: dict[str, Any] = {}
        self.stateful: dict[str, Any] = {}
        self.last_step: int | None = None

    def track(self, models: dict[str, Any], optimizers: dict[str, Any] | None = None,
              states: dict[str, Any] | None = None) -> dict[str, Any] | None:
        """Name what a checkpoint holds and, when resuming, restore it all (the RNGs too). Returns the saved
        counters (`step`, `images_seen`, `wall_seconds`) when resuming, else None."""
        self.models, self.stateful = dict(models), {**(optimizers or {}), **(states or {})}
        if self.resume_from is None:
            return None
        saved = load_state(self.resume_from)
        for name, model in self.models.items():
            loaded = type(model).from_pretrained(self.resume_from / name)
            changed = [f"{key}={loaded.config.get(key)!r} there, {value!r} here" for key, value in model.config.items()
                       if not key.startswith("_") and loaded.config.get(key) != value]
            if changed:  # e.g. another label set (num_classes) or width: say which, not torch's size mismatch
                raise ValueError(f"cannot resume {name} from {self.resume_from}: its config differs from this "
                                 f"run's: {'; '.join(changed)}")
            model.load_state_dict(loaded.state_dict())
        for name, obj in self.stateful.items():
            obj.load_state_dict(saved[name])
        restore_rng_state(saved["rng"])
        self.last_step = saved["step"]
        return {key: saved[key] for key in ("step", "images_seen", "wall_seconds")}

    def save(self, step: int, counters: dict[str, Any]) -> Path | None:
        """Write the checkpoint of `step` with `counters` (`step`, `images_seen`, `wall_seconds`); None when this
        step is already saved (a stop right after a scheduled checkpoint)."""
        if step == self.last_step:
            return None
        state = {**counters, **{name: obj.state_dict() for name, obj in self.stateful.items()},
                 "rng": capture_rng_state()}
        models = {name: self.unwrap(model) for name, model in self.models.items()}
        path = save_checkpoint(self.dir, step, models, state, self.config_yaml, self.keep_last)
        self.last_step = step
        return path
