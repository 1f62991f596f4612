"""Loading from and pushing to the Hugging Face Hub: safetensors-only checks, snapshots, model cards, push.

Everything here goes through the real `huggingface_hub` client, so `HF_ENDPOINT`, `HF_TOKEN` and the login
stored by `hf auth login` apply as usual. No token is ever written to a file, a log or a card.
"""

from __future__ import annotations

import inspect
import json
import os
import tempfile
from pathlib import Path
from typing import Any

from huggingface_hub import HfApi, hf_hub_download, snapshot_download

from .cards import render_model_card
from .utils import _umask

WEIGHTS_NAME = "diffusion_pytorch_model.safetensors"  # diffusers' name, so diffusers tooling finds our weights
CONFIG_NAME = "config.json"
MODEL_INDEX_NAME = "model_index.json"

# Keyword arguments of `from_pretrained` that only matter when downloading from the Hub.
HUB_KWARGS = ("cache_dir", "force_download", "local_files_only", "token", "revision", "proxies")


def check_model_folder(path: str | os.PathLike, subfolder: str | None = None) -> None:
    """For a local folder, raise a clear error if config.json or the safetensors weights are missing.

    Repo ids (anything that is not an existing folder) pass through: the download reports what is missing there.
    """
    folder = Path(path, subfolder or "")
    if not Path(path).is_dir():
        return
    if not (folder / CONFIG_NAME).is_file():
        raise FileNotFoundError(f"{folder} has no {CONFIG_NAME}: it is not a saved hfgan model")
    if not any(folder.glob("*.safetensors")):
        pickles = sorted(p.name for p in folder.glob("*.bin")) + sorted(p.name for p in folder.glob("*.pt*"))
        found = f" (found {', '.join(pickles)}: pickled weights are never loaded)" if pickles else ""
        raise FileNotFoundError(f"{folder} has no {WEIGHTS_NAME}{found}; hfgan loads safetensors weights only")


def pipeline_snapshot(name_or_path: str | os.PathLike, **hub_kwargs) -> str:
    """Return a local folder holding the pipeline: the folder itself, or a snapshot downloaded from the Hub.

    diffusers refuses to load, by repo id, a pipeline whose components come from a library other than diffusers or
    transformers, so hfgan downloads the snapshot itself (model_index.json, then only the component folders it
    names: checkpoints pushed beside a release are not fetched) and lets diffusers load the local folder.
    """
    if Path(name_or_path).is_dir():
        folder = Path(name_or_path)
        if not (folder / MODEL_INDEX_NAME).is_file():
            raise FileNotFoundError(f"{folder} has no {MODEL_INDEX_NAME}: it is not a saved hfgan pipeline")
        return str(folder)
    repo_id = str(name_or_path)
    index_file = hf_hub_download(repo_id, MODEL_INDEX_NAME, **hub_kwargs)
    with open(index_file) as f:
        components = [name for name, value in json.load(f).items() if isinstance(value, list)]
    hub_kwargs.pop("force_download", None)  # model_index.json was just fetched; its snapshot is current
    return snapshot_download(
        repo_id, allow_patterns=[MODEL_INDEX_NAME, "README.md", *[f"{name}/*" for name in components]], **hub_kwargs
    )


def split_hub_kwargs(kwargs: dict[str, Any]) -> dict[str, Any]:
    """Pop the Hub download arguments out of `kwargs` (in place) and return them."""
    return {key: kwargs.pop(key) for key in HUB_KWARGS if key in kwargs}


class HubMixin:
    """`push_to_hub` for hfgan models and pipelines: safetensors plus an hfgan model card, in one commit."""

    _hub_tags: list[str] = []  # extra tags of the model card
    _card_task: str | None = None  # the task of the model card, a key of hfgan.cards.TASKS

    def _save_pretrained(self, base_save, *args, **kwargs):
        """`base_save` (diffusers' `save_pretrained`) with safetensors enforced and `push_to_hub=True` routed to ours.

        Subclasses define `save_pretrained` as a `functools.wraps(base_save)` wrapper of this, so that its signature
        is diffusers' own: a pipeline's `save_pretrained` decides from the components' signatures whether to pass
        `variant`, `max_shard_size` and `safe_serialization` on to them.
        """
        bound = inspect.signature(base_save).bind(self, *args, **kwargs)
        if bound.arguments.get("safe_serialization") is False:
            raise ValueError("hfgan saves safetensors only; safe_serialization=False is not supported")
        if not bound.arguments.get("push_to_hub", False):
            base_save(*bound.args, **bound.kwargs)
            # diffusers writes weights through a private temporary file (0600): give them a new file's usual mode
            for weights in Path(bound.arguments["save_directory"]).glob("*.safetensors"):
                weights.chmod(0o666 & ~_umask())
            return None
        # diffusers' own push would label the card `library_name: diffusers`; save without it, then push ours
        bound.arguments["push_to_hub"] = False
        extra = bound.arguments.get("kwargs", {})
        push_kwargs = {k: extra.pop(k) for k in ("repo_id", "token", "private", "commit_message") if k in extra}
        self._save_pretrained(base_save, *bound.args[1:], **bound.kwargs)
        push_kwargs.setdefault("repo_id", Path(bound.arguments["save_directory"]).name)
        return self.push_to_hub(**push_kwargs)

    def push_to_hub(
        self,
        repo_id: str,
        commit_message: str | None = None,
        private: bool | None = None,
        token: str | None = None,
        revision: str | None = None,
        create_pr: bool = False,
        extra_files: dict[str, str | os.PathLike] | None = None,
        **card_kwargs,
    ):
        """
        Save this object (safetensors + config) with an hfgan model card and upload it as one commit.

        Args:
            repo_id (`str`): `user/name` of the repository, created if missing.
            commit_message (`str`, *optional*): defaults to `"Upload <ClassName>"`.
            private (`bool`, *optional*): visibility of a newly created repository.
            token (`str`, *optional*): Hub token; defaults to `HF_TOKEN` or the stored login.
            revision (`str`, *optional*): branch to commit to.
            create_pr (`bool`, defaults to `False`): open a pull request instead of committing.
            extra_files (`dict`, *optional*): `{path_in_repo: local_path}` uploaded in the same commit (sample grids).
            card_kwargs: passed to [`render_model_card`] (`license`, `datasets`, `training`, `metrics`,
                `sample_grid`, `template_path`).

        Returns:
            `huggingface_hub.CommitInfo` of the upload.
        """
        api = HfApi(token=token)
        repo_id = api.create_repo(repo_id, private=private, exist_ok=True).repo_id
        with tempfile.TemporaryDirectory(prefix="hfgan-push-") as tmp:
            self.save_pretrained(tmp)
            render_model_card(self, repo_id, **card_kwargs).save(os.path.join(tmp, "README.md"))
            for path_in_repo, local_path in (extra_files or {}).items():
                target = Path(tmp, path_in_repo)
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(Path(local_path).read_bytes())
            return api.upload_folder(
                repo_id=repo_id,
                folder_path=tmp,
                commit_message=commit_message or f"Upload {type(self).__name__}",
                revision=revision,
                create_pr=create_pr,
            )
