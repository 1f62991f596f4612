"""The fake Hub of tests/hub_server.py, driven end to end by the real `huggingface_hub`, `datasets` and `diffusers`."""

from __future__ import annotations

import hashlib
import random
import re
from pathlib import Path

import pytest
from huggingface_hub import (
    CommitOperationAdd,
    CommitOperationDelete,
    HfApi,
    constants,
    hf_hub_download,
    snapshot_download,
)
from huggingface_hub.errors import (
    EntryNotFoundError,
    HfHubHTTPError,
    RepositoryNotFoundError,
    RevisionNotFoundError,
)
from huggingface_hub.hf_api import RepoFile, RepoFolder

SHA1 = re.compile(r"[0-9a-f]{40}")
WEIGHTS = random.Random(0).randbytes(300_000)  # binary, and *.safetensors is LFS in the default .gitattributes


@pytest.fixture
def model_folder(tmp_path) -> Path:
    folder = tmp_path / "model"
    (folder / "sub").mkdir(parents=True)
    (folder / "config.json").write_text('{"width": 4}\n')
    (folder / "sub" / "notes.txt").write_text("hello hub\n")
    (folder / "weights.safetensors").write_bytes(WEIGHTS)
    return folder


def _files(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def _uploaded(api: HfApi, repo_id: str, folder: Path, repo_type: str | None = None, private: bool = False) -> str:
    """Create the repo and upload `folder` as one commit; returns the commit sha."""
    api.create_repo(repo_id, repo_type=repo_type, private=private)
    return api.upload_folder(repo_id=repo_id, folder_path=folder, repo_type=repo_type, commit_message="first").oid


def test_client_is_pointed_at_the_fake_hub(hub):
    assert constants.ENDPOINT == hub.endpoint
    assert constants.HF_HUB_DISABLE_XET and not constants.HF_HUB_OFFLINE
    assert hub.api.whoami()["name"] == hub.user == "hfgan-test"
    assert hub.server.request_log[-1][:2] == ("GET", "/api/whoami-v2")


def test_upload_folder_then_download_identical_bytes(hub, model_folder, tmp_path):
    repo_id = hub.new_repo_id("roundtrip")
    url = hub.api.create_repo(repo_id)
    assert url.repo_id == repo_id and url.startswith(hub.endpoint)
    hub.api.create_repo(repo_id, exist_ok=True)
    with pytest.raises(HfHubHTTPError) as exc:
        hub.api.create_repo(repo_id)
    assert exc.value.response.status_code == 409

    start = len(hub.server.request_log)
    commit = hub.api.upload_folder(repo_id=repo_id, folder_path=model_folder, commit_message="first")
    assert SHA1.fullmatch(commit.oid)
    requests = [(method, path.split("?")[0]) for method, path, _ in list(hub.server.request_log)[start:]]
    assert ("POST", f"/api/models/{repo_id}/preupload/main") in requests
    assert ("POST", f"/{repo_id}.git/info/lfs/objects/batch") in requests
    assert [m for m, p in requests if p.startswith("/lfs-upload/")] == ["PUT"]  # only the weights went through LFS
    assert ("POST", f"/api/models/{repo_id}/commit/main") in requests

    tree = {entry.path: entry for entry in hub.api.list_repo_tree(repo_id, recursive=True)}
    assert isinstance(tree["sub"], RepoFolder)
    assert tree["weights.safetensors"].lfs.sha256 == hashlib.sha256(WEIGHTS).hexdigest()
    assert tree["weights.safetensors"].size == len(WEIGHTS)
    assert tree["config.json"].lfs is None and tree["sub/notes.txt"].lfs is None
    files = [".gitattributes", "config.json", "sub/notes.txt", "weights.safetensors"]
    assert sorted(hub.api.list_repo_files(repo_id)) == files
    assert [e.path for e in hub.api.list_repo_tree(repo_id, "sub")] == ["sub/notes.txt"]
    assert hub.api.model_info(repo_id).sha == commit.oid

    expected = _files(model_folder)
    for name, data in expected.items():
        path = hf_hub_download(repo_id, name, cache_dir=tmp_path / "cache1")
        assert Path(path).read_bytes() == data
        assert f"snapshots/{commit.oid}/" in Path(path).as_posix()
    snapshot = Path(snapshot_download(repo_id, cache_dir=tmp_path / "cache2"))
    assert snapshot.name == commit.oid
    assert {k: v for k, v in _files(snapshot).items() if k != ".gitattributes"} == expected


def test_history_older_revisions_and_pull_requests(hub, model_folder, tmp_path):
    repo_id = hub.new_repo_id("history")
    first = _uploaded(hub.api, repo_id, model_folder)
    second = hub.api.create_commit(
        repo_id,
        [CommitOperationAdd("config.json", b'{"width": 8}\n'), CommitOperationDelete("sub/")],
        commit_message="second",
    ).oid
    assert second != first and SHA1.fullmatch(second)
    assert [c.commit_id for c in hub.api.list_repo_commits(repo_id)][:2] == [second, first]

    cache = tmp_path / "cache"
    assert Path(hf_hub_download(repo_id, "config.json", cache_dir=cache)).read_bytes() == b'{"width": 8}\n'
    old = hf_hub_download(repo_id, "config.json", revision=first, cache_dir=cache)
    assert Path(old).read_bytes() == b'{"width": 4}\n'
    notes = hf_hub_download(repo_id, "sub/notes.txt", revision=first[:7], cache_dir=cache)  # short sha
    assert Path(notes).read_text() == "hello hub\n"
    assert "sub/notes.txt" not in hub.api.list_repo_files(repo_id)
    assert "sub/notes.txt" in hub.api.list_repo_files(repo_id, revision=first)
    with pytest.raises(EntryNotFoundError):
        hf_hub_download(repo_id, "sub/notes.txt", cache_dir=cache)
    with pytest.raises(RevisionNotFoundError):
        hf_hub_download(repo_id, "config.json", revision="no-such-branch", cache_dir=cache)

    # An unchanged LFS file is neither re-uploaded nor re-committed.
    start = len(hub.server.request_log)
    hub.api.upload_file(path_or_fileobj=WEIGHTS, path_in_repo="weights.safetensors", repo_id=repo_id)
    assert not any(path.startswith("/lfs-upload/") for _, path, _ in list(hub.server.request_log)[start:])

    pr = hub.api.upload_file(path_or_fileobj=b"proposal\n", path_in_repo="PR.txt", repo_id=repo_id, create_pr=True)
    assert pr.pr_revision == "refs/pr/1"
    proposal = hf_hub_download(repo_id, "PR.txt", revision=pr.pr_revision, cache_dir=cache)
    assert Path(proposal).read_bytes() == b"proposal\n"
    assert not hub.api.file_exists(repo_id, "PR.txt")


def test_private_repos_and_tokens(hub, model_folder, tmp_path):
    repo_id = hub.new_repo_id("private")
    _uploaded(hub.api, repo_id, model_folder, private=True)
    assert hub.api.model_info(repo_id).private is True

    anonymous = HfApi(endpoint=hub.endpoint, token=False)
    with pytest.raises(RepositoryNotFoundError):
        anonymous.model_info(repo_id)
    with pytest.raises(RepositoryNotFoundError):
        hf_hub_download(repo_id, "config.json", cache_dir=tmp_path / "anon", token=False)
    with pytest.raises(RepositoryNotFoundError) as exc:
        HfApi(endpoint=hub.endpoint, token=hub.other_token).model_info(repo_id)
    assert exc.value.response.status_code == 404

    weights = hf_hub_download(repo_id, "weights.safetensors", cache_dir=tmp_path / "auth", token=hub.token)
    assert Path(weights).read_bytes() == WEIGHTS
    reader = HfApi(endpoint=hub.endpoint, token=hub.read_token)
    assert "config.json" in reader.list_repo_files(repo_id)
    with pytest.raises(HfHubHTTPError) as exc:
        reader.upload_file(path_or_fileobj=b"x\n", path_in_repo="x.txt", repo_id=repo_id)
    assert exc.value.response.status_code == 403


def test_wrong_token_is_refused(hub):
    bad = HfApi(endpoint=hub.endpoint, token=hub.invalid_token)
    with pytest.raises(HfHubHTTPError, match="Invalid user token") as exc:
        bad.whoami()
    assert exc.value.response.status_code == 401
    repo_id = hub.new_repo_id("public")
    hub.api.create_repo(repo_id)
    with pytest.raises(HfHubHTTPError, match="Invalid credentials in Authorization header") as exc:
        bad.model_info(repo_id)  # refused even though the repo is public, and not mistaken for a missing repo
    assert not isinstance(exc.value, RepositoryNotFoundError)


def test_hf_token_env_logs_in(hub, hf_token_env, tmp_path):
    assert HfApi(endpoint=hub.endpoint).whoami()["name"] == hub.user
    repo_id = hub.new_repo_id("env-token")
    HfApi().create_repo(repo_id, private=True)
    HfApi().upload_file(path_or_fileobj=b"secret\n", path_in_repo="a.txt", repo_id=repo_id)
    assert Path(hf_hub_download(repo_id, "a.txt", cache_dir=tmp_path)).read_bytes() == b"secret\n"


def test_datasets_load_dataset_from_the_hub(hub, tmp_path):
    import datasets

    folder = tmp_path / "dataset"
    rows = {"text": ["a", "b", "c"], "label": [0, 1, 0]}
    datasets.Dataset.from_dict(rows).to_parquet(str(folder / "data" / "train-00000-of-00001.parquet"))
    repo_id = hub.new_repo_id("dataset")
    _uploaded(hub.api, repo_id, folder, repo_type="dataset")
    assert hub.api.list_repo_tree(repo_id, "data", repo_type="dataset").__next__().lfs is not None  # parquet is LFS

    ds = datasets.load_dataset(repo_id, split="train", cache_dir=str(tmp_path / "ds_cache"))
    assert ds.to_dict() == rows
    assert any(path.startswith(f"/datasets/{repo_id}/resolve/") for _, path, _ in hub.server.request_log)


def test_diffusers_from_pretrained_repo_id(hub, tmp_path):
    import torch
    from diffusers import ConfigMixin, ModelMixin
    from diffusers.configuration_utils import register_to_config

    class Tiny(ModelMixin, ConfigMixin):
        @register_to_config
        def __init__(self, width: int = 4):
            super().__init__()
            self.linear = torch.nn.Linear(width, width)

    model = Tiny(width=3)
    model.save_pretrained(tmp_path / "tiny")
    repo_id = hub.new_repo_id("tiny")
    _uploaded(hub.api, repo_id, tmp_path / "tiny")
    loaded = Tiny.from_pretrained(repo_id, cache_dir=tmp_path / "cache")
    assert loaded.config.width == 3
    for name, tensor in model.state_dict().items():
        assert torch.equal(loaded.state_dict()[name], tensor)
    assert isinstance(next(iter(hub.api.list_repo_tree(repo_id))), (RepoFile, RepoFolder))
