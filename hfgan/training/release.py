"""Release folders (a pipeline plus its discriminator and model card) and pushes of training outputs to the Hub."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

from ..hub import render_model_card
from ..utils import atomic_directory


class PushError(RuntimeError):
    """A push to the Hub failed; every local output is kept and the message says how to retry."""


def save_release(
    release_dir: str | os.PathLike,
    pipeline,
    repo_id: str,
    extra_models: dict[str, Any] | None = None,
    sample_grid: str | os.PathLike | None = None,
    **card_kwargs,
) -> Path:
    """Write a loadable release folder atomically (built aside, then renamed over the old one).

    Holds the pipeline (`model_index.json` + component folders), each of `extra_models` in a subfolder of its name
    (e.g. `discriminator/`, loadable with `from_pretrained(folder, subfolder="discriminator")` and not part of the
    pipeline), `samples.png` when `sample_grid` is given, and the model card `README.md` rendered with `card_kwargs`.
    """
    release_dir = Path(release_dir)
    with atomic_directory(release_dir) as tmp:
        pipeline.save_pretrained(tmp)
        for name, model in (extra_models or {}).items():
            model.save_pretrained(tmp / name)
        if sample_grid is not None:
            shutil.copyfile(sample_grid, tmp / "samples.png")
            card_kwargs["sample_grid"] = "samples.png"
        render_model_card(pipeline, repo_id, **card_kwargs).save(tmp / "README.md")
    return release_dir


def push_folder(
    folder: str | os.PathLike,
    repo_id: str,
    path_in_repo: str | None = None,
    private: bool | None = None,
    token: str | None = None,
    commit_message: str | None = None,
):
    """Upload `folder` to `repo_id` (created if missing) as one commit; on failure raise `PushError` with a retry hint.

    The token comes from the argument, `HF_TOKEN` or the stored login; it is never written anywhere.
    """
    from huggingface_hub import HfApi

    api = HfApi(token=token)
    try:
        api.create_repo(repo_id, private=private, exist_ok=True)
        return api.upload_folder(
            repo_id=repo_id,
            folder_path=str(folder),
            path_in_repo=path_in_repo,
            commit_message=commit_message or f"Upload {Path(folder).name}",
        )
    except Exception as error:  # noqa: BLE001 - any failure: keep outputs, explain the retry
        target = f" {path_in_repo}" if path_in_repo else " ."
        raise PushError(
            f"Pushing {folder} to {repo_id} failed: {type(error).__name__}: {error}\n"
            f"Everything is kept locally in {folder}. Retry with:\n"
            f"    hf upload {repo_id} {folder}{target}\n"
            "(log in first with `hf auth login` or set HF_TOKEN)."
        ) from error
