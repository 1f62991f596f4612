"""Release folders (a pipeline plus its discriminator and model card) and pushes of training outputs to the Hub."""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Callable
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


class HubPusher:
    """Pushes of a run's folders to one Hub repo; a failure is reported and the run goes on (`failures` keeps them
    for the end of the run, every local output kept). `repo_id=None`: pushing is off and `push` does nothing."""

    def __init__(self, repo_id: str | None, private: bool | None = None):
        self.repo_id, self.private = repo_id, private
        self.failures: list[str] = []

    def push(self, folder: Path, path_in_repo: str | None = None) -> None:
        if self.repo_id is None:
            return
        try:
            push_folder(folder, self.repo_id, path_in_repo, private=self.private)
            print(f"Pushed {folder} to {self.repo_id}/{path_in_repo or ''}", flush=True)
        except PushError as error:
            print(error, file=sys.stderr, flush=True)
            self.failures.append(str(error))

    def raise_failures(self) -> None:
        """Raise `PushError` naming the last failure, if any push failed."""
        if self.failures:
            raise PushError(f"{len(self.failures)} push(es) failed; the last one:\n{self.failures[-1]}")


class Releaser:
    """
    What a run releases and how: the pipeline built from the current weights, its sample grid, its evaluation, the
    models saved beside it and the model card's facts.

    Args:
        pipeline (`Callable[[], pipeline]`): builds the pipeline to release from the current weights (e.g. the EMA
            generator), or a network released alone; called before every checkpoint, grid and evaluation, so it may
            also refresh state that a checkpoint saves (BatchNorm statistics). Its progress bar is turned off.
        samples (`Callable[[pipeline], PIL.Image.Image]`, *optional*): the sample grid (of fixed latents, so grids
            compare across steps); None for a pipeline that draws no images.
        evaluator (`Callable[[pipeline], dict[str, float]]`, *optional*): the release's metrics.
        extra_models (`dict[str, torch.nn.Module]`, *optional*): saved in the release beside the pipeline, each in a
            folder of its name (e.g. `discriminator/`).
        card (`dict`, *optional*): the script's own facts for the model card's training table (loss, augmentation).
    """

    def __init__(self, pipeline: Callable[[], Any], samples: Callable[[Any], Any] | None = None,
                 evaluator: Callable[[Any], dict[str, float]] | None = None,
                 extra_models: dict[str, Any] | None = None, card: dict[str, Any] | None = None):
        self.build, self.samples, self.evaluator = pipeline, samples, evaluator
        self.extra_models, self.card = dict(extra_models or {}), dict(card or {})

    def pipeline(self):
        pipe = self.build()
        if hasattr(pipe, "set_progress_bar_config"):  # a network released alone (a feature net) has no bar
            pipe.set_progress_bar_config(disable=True)
        return pipe

    def write(self, release_dir: Path, pipe, repo_id: str, grid: Path | None, training: dict[str, Any],
              config: str | None, metrics: list[dict[str, Any]] | None, license: str, dataset_name: str,
              unwrap=lambda model: model) -> Path:
        """Write the release folder (atomically) with its model card, whose training table is `training`, then the
        script's `card` facts, then the run's `config` (YAML); rows without a value are left out."""
        training = {key: value for key, value in {**training, **self.card, "config": config}.items()
                    if value is not None}
        return save_release(
            release_dir,
            pipe,
            repo_id,
            extra_models={name: unwrap(model) for name, model in self.extra_models.items()},
            sample_grid=grid,
            license=license,
            datasets=[dataset_name] if "/" in dataset_name else None,
            dataset_name=dataset_name,
            training=training,
            metrics=metrics,
        )
