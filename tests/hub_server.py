"""A small in-memory server speaking the subset of the Hugging Face Hub HTTP API that the test suite uses.

The real `huggingface_hub` client (and `datasets`, `diffusers` on top of it) talks to it over HTTP once `HF_ENDPOINT`
points here and `HF_HUB_DISABLE_XET=1` (so uploads take the legacy LFS path). Stdlib only; repos live in memory.

Endpoints (`{type}` is `models`, `datasets` or `spaces`; `{repo}` is `namespace/name`; `{prefix}` is empty,
`datasets/` or `spaces/`; revisions and paths are URL-quoted by the client and unquoted here):

  GET    /api/whoami-v2                           who owns the bearer token
  POST   /api/repos/create                        {name, organization, type, private|visibility}; 409 if it exists
  DELETE /api/repos/delete                        {name, organization, type}
  POST   /api/validate-yaml                       README.md metadata check (always valid here)
  GET    /api/{type}/{repo}[/revision/{rev}]      repo info: sha, siblings (`?blobs=true`: sizes, LFS), private...
  GET    /api/{type}/{repo}/tree/{rev}[/{path}]   tree listing, `?recursive=true`, `?expand=true` (lastCommit)
  POST   /api/{type}/{repo}/paths-info/{rev}      form or JSON {paths: [...], expand}
  POST   /api/{type}/{repo}/preupload/{rev}       {files: [{path, sample, size}]} -> uploadMode regular|lfs
  POST   /api/{type}/{repo}/commit/{rev}          NDJSON lines: header, file (base64), lfsFile, deletedFile,
                                                  deletedFolder; `?create_pr=1` commits to a new refs/pr/N
  GET    /api/{type}/{repo}/refs                  branches, tags (and pullRequests with `?include_prs=1`)
  GET    /api/{type}/{repo}/commits/{rev}         history, newest first
  POST   /api/{type}/{repo}/branch/{branch}       {startingPoint}
  POST   /api/{type}/{repo}/tag/{rev}             {tag, message}
  POST   /{prefix}{repo}.git/info/lfs/objects/batch    LFS batch API, "basic" transfer (uploads only)
  POST   /{prefix}{repo}.git/info/lfs/objects/verify   LFS verify
  PUT    /lfs-upload/{ticket}                     the "presigned" upload URL handed out by the batch API (no auth)
  HEAD|GET /{prefix}{repo}/resolve/{rev}/{path}   download: ETag, X-Repo-Commit, X-Linked-Etag/-Size, Range

Auth mirrors the Hub: `Authorization: Bearer <token>` with a token from `TOKENS`; an unknown token is a 401
"Invalid credentials in Authorization header" on every endpoint; a private repo is a 401 (anonymous) or 404 (other
user) `RepoNotFound`; writing needs a write token whose user owns the namespace (or belongs to the org).
"""

from __future__ import annotations

import base64
import fnmatch
import hashlib
import json
import re
import secrets
import sys
import threading
import traceback
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlsplit

USER = "hfgan-test"
ORG = "hfgan-org"
OTHER_USER = "other-user"
WRITE_TOKEN = "hf_hfgantest_write_0123456789abcdefghijkl"
READ_TOKEN = "hf_hfgantest_read_0123456789abcdefghijklm"
OTHER_TOKEN = "hf_otheruser_write_0123456789abcdefghijk"
INVALID_TOKEN = "hf_this_token_is_not_valid_0123456789abcd"
TOKENS = {WRITE_TOKEN: (USER, "write"), READ_TOKEN: (USER, "read"), OTHER_TOKEN: (OTHER_USER, "write")}
ORGS = {USER: [ORG], OTHER_USER: []}

REGULAR_MAX_SIZE = 10 * 1024 * 1024  # the Hub refuses regular (non-LFS) files above 10 MiB
REPO_TYPES = {"models": "model", "datasets": "dataset", "spaces": "space"}
URL_PREFIXES = {"model": "", "dataset": "datasets/", "space": "spaces/"}
NAME_RE = re.compile(r"^[A-Za-z0-9][\w.-]{0,95}$")
_LFS_LINE = "filter=lfs diff=lfs merge=lfs -text"
_LFS_PATTERNS = (
    "*.7z *.arrow *.bin *.bz2 *.ckpt *.ftz *.gz *.h5 *.joblib *.lfs.* *.mlmodel *.model *.msgpack *.npy *.npz *.onnx "
    "*.ot *.parquet *.pb *.pickle *.pkl *.pt *.pth *.rar *.safetensors saved_model/**/* *.tar.* *.tar *.tflite *.tgz "
    "*.wasm *.xz *.zip *.zst *tfevents*"
).split()
_DATASET_LFS_PATTERNS = (
    "*.lz4 *.mds *.mp3 *.ogg *.wav *.flac *.png *.jpg *.jpeg *.webp *.gif *.bmp *.tiff *.mp4 *.webm"
).split()
GITATTRIBUTES = {
    "model": "".join(f"{p} {_LFS_LINE}\n" for p in _LFS_PATTERNS),
    "dataset": "".join(f"{p} {_LFS_LINE}\n" for p in _LFS_PATTERNS + _DATASET_LFS_PATTERNS),
}
GITATTRIBUTES["space"] = GITATTRIBUTES["model"]


def git_sha1(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def lfs_pointer(oid: str, size: int) -> bytes:
    return f"version https://git-lfs.github.com/spec/v1\noid sha256:{oid}\nsize {size}\n".encode()


def now_iso() -> str:
    now = datetime.now(timezone.utc)
    return now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z"


def lfs_patterns(gitattributes: str) -> list[str]:
    return [line.split()[0] for line in gitattributes.splitlines() if "filter=lfs" in line and line.strip()]


def matches(path: str, patterns: list[str]) -> bool:
    """gitattributes/gitignore-style match: a pattern without '/' matches the basename, otherwise the whole path."""
    base = path.rsplit("/", 1)[-1]
    return any(fnmatch.fnmatchcase(path if "/" in p.strip("/") else base, p.strip("/")) for p in patterns if p)


class HubError(Exception):
    """An error answer: status, message (JSON body and X-Error-Message) and optional X-Error-Code."""

    def __init__(self, status: int, message: str, code: str | None = None, headers: dict | None = None, **body):
        super().__init__(message)
        self.status, self.message, self.code, self.headers, self.body = status, message, code, headers or {}, body


@dataclass(frozen=True)
class Entry:
    """A file in a commit: `blob_id` is the git sha1 (of the content, or of the LFS pointer for LFS files)."""

    size: int
    blob_id: str
    lfs_oid: str | None = None
    pointer_size: int | None = None

    @property
    def etag(self) -> str:
        return self.lfs_oid or self.blob_id


@dataclass
class Commit:
    oid: str
    parent: str | None
    title: str
    message: str
    date: str
    author: str
    files: dict[str, Entry]


@dataclass
class Repo:
    type: str
    id: str
    private: bool
    created_at: str
    obj_id: str
    commits: dict[str, Commit] = field(default_factory=dict)
    branches: dict[str, str] = field(default_factory=dict)  # "main" -> oid, "refs/pr/1" -> oid
    tags: dict[str, str] = field(default_factory=dict)
    num_prs: int = 0

    @property
    def namespace(self) -> str:
        return self.id.split("/")[0]

    def resolve(self, rev: str) -> Commit:
        """Branch, tag, refs/heads|tags|pr/..., full commit sha or a unique prefix of at least 7 hex digits."""
        for name in (rev, rev.removeprefix("refs/heads/")):
            if name in self.branches:
                return self.commits[self.branches[name]]
        if rev.removeprefix("refs/tags/") in self.tags:
            return self.commits[self.tags[rev.removeprefix("refs/tags/")]]
        if rev in self.commits:
            return self.commits[rev]
        if re.fullmatch(r"[0-9a-f]{7,39}", rev):
            found = [oid for oid in self.commits if oid.startswith(rev)]
            if len(found) == 1:
                return self.commits[found[0]]
        raise HubError(404, f"Invalid rev id: {rev}", "RevisionNotFound")


@dataclass
class User:
    name: str
    role: str
    token: str

    def can_read(self, repo: Repo) -> bool:
        return repo.namespace == self.name or repo.namespace in ORGS.get(self.name, [])

    def can_write(self, namespace: str) -> bool:
        return self.role == "write" and (namespace == self.name or namespace in ORGS.get(self.name, []))


class HubState:
    """Repos, blob stores and pending LFS uploads; one lock guards everything."""

    def __init__(self):
        self.lock = threading.RLock()
        self.repos: dict[tuple[str, str], Repo] = {}
        self.blobs: dict[str, bytes] = {}  # git sha1 -> content (regular files)
        self.lfs: dict[str, bytes] = {}  # sha256 -> content (LFS objects, shared by all repos like the Hub's storage)
        self.uploads: dict[str, tuple[str, int]] = {}  # upload ticket -> (sha256, size)
        self.counter = 0

    def new_commit(
        self, repo: Repo, parent: Commit | None, files: dict[str, Entry], title: str, message: str, author: str
    ) -> Commit:
        self.counter += 1
        listing = sorted((p, e.blob_id) for p, e in files.items())
        seed = json.dumps([repo.type, repo.id, parent and parent.oid, listing, title, self.counter])
        parent_oid = parent.oid if parent else None
        commit = Commit(hashlib.sha1(seed.encode()).hexdigest(), parent_oid, title, message, now_iso(), author, files)
        repo.commits[commit.oid] = commit
        return commit

    def content(self, entry: Entry) -> bytes:
        return self.lfs[entry.lfs_oid] if entry.lfs_oid else self.blobs[entry.blob_id]


# ---------------------------------------------------------------------------------------------------------------------
# Tree helpers
# ---------------------------------------------------------------------------------------------------------------------


def folders_of(files: dict[str, Entry]) -> set[str]:
    return {path.rsplit("/", i)[0] for path in files for i in range(1, path.count("/") + 1)}


def folder_oid(files: dict[str, Entry], folder: str) -> str:
    prefix = folder.rstrip("/") + "/" if folder else ""
    listing = sorted((p, e.blob_id) for p, e in files.items() if p.startswith(prefix))
    return hashlib.sha1(json.dumps(listing).encode()).hexdigest()


def last_commit(repo: Repo, commit: Commit, path: str, is_folder: bool) -> dict:
    """The newest commit (from `commit` backwards) that changed `path`, as the tree API's `lastCommit`."""

    def signature(c: Commit):
        return folder_oid(c.files, path) if is_folder else c.files.get(path)

    current = commit
    while current.parent is not None and signature(repo.commits[current.parent]) == signature(current):
        current = repo.commits[current.parent]
    return {"id": current.oid, "title": current.title, "date": current.date}


def path_info(repo: Repo, commit: Commit, path: str, expand: bool) -> dict | None:
    entry = commit.files.get(path)
    if entry is not None:
        info = {"type": "file", "oid": entry.blob_id, "size": entry.size, "path": path}
        if entry.lfs_oid:
            info["lfs"] = {"oid": entry.lfs_oid, "size": entry.size, "pointerSize": entry.pointer_size}
    elif path in folders_of(commit.files):
        info = {"type": "directory", "oid": folder_oid(commit.files, path), "size": 0, "path": path}
    else:
        return None
    if expand:
        info["lastCommit"] = last_commit(repo, commit, path, is_folder=entry is None)
    return info


def repo_info(repo: Repo, commit: Commit, blobs: bool) -> dict:
    siblings = []
    for path, entry in sorted(commit.files.items()):
        sibling: dict = {"rfilename": path}
        if blobs:
            sibling.update(size=entry.size, blobId=entry.blob_id)
            if entry.lfs_oid:
                sibling["lfs"] = {"sha256": entry.lfs_oid, "size": entry.size, "pointerSize": entry.pointer_size}
        siblings.append(sibling)
    info = {
        "_id": repo.obj_id, "id": repo.id, "author": repo.namespace, "sha": commit.oid, "lastModified": commit.date,
        "createdAt": repo.created_at, "private": repo.private, "gated": False, "disabled": False, "downloads": 0,
        "likes": 0, "tags": [], "siblings": siblings, "usedStorage": sum(e.size for e in commit.files.values()),
    }
    if repo.type == "model":
        info["modelId"] = repo.id
    return info


# ---------------------------------------------------------------------------------------------------------------------
# HTTP
# ---------------------------------------------------------------------------------------------------------------------


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: every response carries a Content-Length
    server: "_Server"

    # -- plumbing ------------------------------------------------------------------------------------------------------

    def log_message(self, format, *args):  # quiet; see HubServer.request_log
        pass

    def do_GET(self):
        self._dispatch()

    do_HEAD = do_POST = do_PUT = do_DELETE = do_GET

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _send(self, status: int, body: bytes | dict | list = b"", headers: dict | None = None, content_type=""):
        if isinstance(body, (dict, list)):
            body, content_type = json.dumps(body).encode(), content_type or "application/json; charset=utf-8"
        self.server.request_log.append((self.command, self.path, status))  # before answering: the client may be fast
        self.send_response(status)
        self.send_header("Content-Type", content_type or "application/octet-stream")
        self.send_header("Content-Length", str(len(body)))
        for key, value in (headers or {}).items():  # header values must be latin-1 and single-line
            self.send_header(key, str(value).encode("ascii", "backslashreplace").decode().replace("\n", " "))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _dispatch(self):
        try:
            self.body = self._read_body()
            url = urlsplit(self.path)
            self.query = parse_qs(url.query, keep_blank_values=True)
            self.segments = [unquote(s) for s in url.path.strip("/").split("/")] if url.path.strip("/") else []
            self._route()
        except HubError as e:
            headers = {"X-Error-Message": e.message, **e.headers}
            if e.code:
                headers["X-Error-Code"] = e.code
            self._send(e.status, {"error": e.message, **e.body}, headers)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # the client went away mid-answer
        except Exception as e:  # a server bug: say so loudly instead of letting the client retry a 500 quietly
            traceback.print_exc(file=sys.stderr)
            self._send(500, {"error": f"hub_server internal error: {e!r}"})

    def _param(self, name: str) -> str | None:
        values = self.query.get(name) or self.query.get(name + "[]")
        return values[0] if values else None

    def _flag(self, name: str) -> bool:
        return (self._param(name) or "").lower() in ("1", "true", "yes")

    def _json(self) -> dict:
        try:
            return json.loads(self.body or b"{}")
        except json.JSONDecodeError as e:
            raise HubError(400, f"Invalid JSON body: {e}") from e

    @property
    def state(self) -> HubState:
        return self.server.state

    @property
    def base_url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{self.headers.get('Host') or f'{host}:{port}'}"

    def _user(self) -> User | None:
        header = self.headers.get("Authorization")
        if not header:
            return None
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or token.strip() not in TOKENS:
            raise HubError(401, "Invalid credentials in Authorization header")
        name, role = TOKENS[token.strip()]
        return User(name, role, token.strip())

    def _repo(self, repo_type: str, repo_id: str, write: bool = False) -> Repo:
        user = self._user()
        repo = self.state.repos.get((repo_type, repo_id))
        if repo is None or (repo.private and not (user and user.can_read(repo))):
            raise HubError(401 if user is None else 404, "Repository not found", "RepoNotFound")
        if write:
            if user is None:
                raise HubError(401, "You must be authenticated to write to a repository")
            if not user.can_write(repo.namespace):
                raise HubError(403, f"You don't have the rights to write to {repo_type} {repo_id} with this token")
        return repo

    # -- routing -------------------------------------------------------------------------------------------------------

    def _route(self):
        seg, method = self.segments, self.command
        self._user()  # an invalid token is refused everywhere, like on the Hub
        if seg[:2] == ["api", "whoami-v2"] and method == "GET":
            return self._whoami()
        if seg[:3] == ["api", "repos", "create"] and method == "POST":
            return self._create_repo()
        if seg[:3] == ["api", "repos", "delete"] and method == "DELETE":
            return self._delete_repo()
        if seg[:2] == ["api", "validate-yaml"] and method == "POST":
            return self._send(200, {"errors": [], "warnings": []})
        if len(seg) >= 4 and seg[0] == "api" and seg[1] in REPO_TYPES:
            repo_type, repo_id, action, rest = REPO_TYPES[seg[1]], f"{seg[2]}/{seg[3]}", seg[4:5], seg[5:]
            handlers = {
                ("GET", ()): lambda: self._info(repo_type, repo_id, "main"),
                ("GET", ("revision",)): lambda: self._info(repo_type, repo_id, "/".join(rest)),
                ("GET", ("tree",)): lambda: self._tree(repo_type, repo_id, (rest or ["main"])[0], "/".join(rest[1:])),
                ("POST", ("paths-info",)): lambda: self._paths_info(repo_type, repo_id, "/".join(rest)),
                ("POST", ("preupload",)): lambda: self._preupload(repo_type, repo_id, "/".join(rest)),
                ("POST", ("commit",)): lambda: self._commit(repo_type, repo_id, "/".join(rest)),
                ("GET", ("refs",)): lambda: self._refs(repo_type, repo_id),
                ("GET", ("commits",)): lambda: self._commits(repo_type, repo_id, "/".join(rest) or "main"),
                ("POST", ("branch",)): lambda: self._create_branch(repo_type, repo_id, "/".join(rest)),
                ("POST", ("tag",)): lambda: self._create_tag(repo_type, repo_id, "/".join(rest)),
            }
            handler = handlers.get((method, tuple(action)))
            if handler is not None:
                with self.state.lock:
                    return handler()
        if seg[:1] == ["lfs-upload"] and len(seg) == 2 and method == "PUT":
            return self._lfs_put(seg[1])
        repo_type, seg = (REPO_TYPES[seg[0]], seg[1:]) if seg and seg[0] in ("datasets", "spaces") else ("model", seg)
        if len(seg) == 6 and seg[1].endswith(".git") and seg[2:5] == ["info", "lfs", "objects"] and method == "POST":
            repo_id = f"{seg[0]}/{seg[1].removesuffix('.git')}"
            with self.state.lock:
                if seg[5] == "batch":
                    return self._lfs_batch(repo_type, repo_id)
                if seg[5] == "verify":
                    return self._lfs_verify(repo_type, repo_id)
        if len(seg) >= 5 and seg[2] == "resolve" and method in ("GET", "HEAD"):
            return self._resolve(repo_type, f"{seg[0]}/{seg[1]}", seg[3], "/".join(seg[4:]))
        raise HubError(404, f"hub_server: no route for {method} {self.path}")

    # -- users and repos -----------------------------------------------------------------------------------------------

    def _whoami(self):
        user = self._user()
        if user is None:
            raise HubError(401, "Invalid credentials in Authorization header")
        orgs = [{"type": "org", "name": org, "fullname": org, "roleInOrg": "admin"} for org in ORGS[user.name]]
        self._send(200, {
            "type": "user", "id": hashlib.md5(user.name.encode()).hexdigest()[:24], "name": user.name,
            "fullname": user.name, "email": f"{user.name}@example.com", "emailVerified": True, "isPro": False,
            "orgs": orgs, "auth": {"type": "access_token", "accessToken": {"displayName": "tests", "role": user.role}},
        })

    def _create_repo(self):
        user, payload = self._user(), self._json()
        if user is None:
            raise HubError(401, "You must be authenticated to create a repository")
        repo_type = payload.get("type") or "model"
        namespace, name = payload.get("organization") or user.name, payload.get("name") or ""
        if repo_type not in URL_PREFIXES or not NAME_RE.match(name) or name.endswith(".git"):
            raise HubError(400, f"Invalid repo name or type: {namespace}/{name} ({repo_type})")
        if not user.can_write(namespace):
            raise HubError(403, f'You don\'t have the rights to create a {repo_type} under the namespace "{namespace}"')
        repo_id = f"{namespace}/{name}"
        url = f"{self.base_url}/{URL_PREFIXES[repo_type]}{repo_id}"
        private = payload.get("private")
        if payload.get("visibility") is not None:
            private = payload["visibility"] != "public"
        with self.state.lock:
            if (repo_type, repo_id) in self.state.repos:
                # the client reads "url" from this 409 body when create_repo(exist_ok=True)
                raise HubError(409, f"You already created this {repo_type} repo", url=url)
            repo = Repo(repo_type, repo_id, bool(private), now_iso(), secrets.token_hex(12))
            attributes = GITATTRIBUTES[repo_type].encode()
            self.state.blobs[git_sha1(attributes)] = attributes
            files = {".gitattributes": Entry(len(attributes), git_sha1(attributes))}
            commit = self.state.new_commit(repo, None, files, "initial commit", "", user.name)
            repo.branches["main"] = commit.oid
            self.state.repos[(repo_type, repo_id)] = repo
        self._send(200, {"url": url, "name": repo_id, "id": repo.obj_id})

    def _delete_repo(self):
        payload = self._json()
        repo_type = payload.get("type") or "model"
        namespace = payload.get("organization") or (self._user().name if self._user() else "")
        with self.state.lock:
            repo = self._repo(repo_type, f"{namespace}/{payload.get('name')}", write=True)
            del self.state.repos[(repo.type, repo.id)]
        self._send(200, {})

    def _info(self, repo_type: str, repo_id: str, rev: str):
        repo = self._repo(repo_type, repo_id)
        info = repo_info(repo, repo.resolve(rev), blobs=self._flag("blobs"))
        expand = self.query.get("expand") or self.query.get("expand[]")
        if expand:
            info = {k: v for k, v in info.items() if k in ("_id", "id", *expand)}
        self._send(200, info)

    def _refs(self, repo_type: str, repo_id: str):
        repo = self._repo(repo_type, repo_id)

        def ref(name, prefix, oid):
            return {"name": name, "ref": f"{prefix}{name}", "targetCommit": oid}

        out = {
            "branches": [ref(b, "refs/heads/", o) for b, o in repo.branches.items() if not b.startswith("refs/")],
            "tags": [ref(t, "refs/tags/", o) for t, o in repo.tags.items()],
            "converts": [],
        }
        if self._flag("include_prs"):
            prs = [(b, o) for b, o in repo.branches.items() if b.startswith("refs/pr/")]
            out["pullRequests"] = [{"name": b, "ref": b, "targetCommit": o} for b, o in prs]
        self._send(200, out)

    def _commits(self, repo_type: str, repo_id: str, rev: str):
        repo = self._repo(repo_type, repo_id)
        commit, history = repo.resolve(rev), []
        while commit is not None:
            history.append({"id": commit.oid, "title": commit.title, "message": commit.message, "date": commit.date,
                            "authors": [{"user": commit.author}]})
            commit = repo.commits[commit.parent] if commit.parent else None
        self._send(200, history)

    def _create_branch(self, repo_type: str, repo_id: str, branch: str):
        repo = self._repo(repo_type, repo_id, write=True)
        start = repo.resolve(self._json().get("startingPoint") or "main")
        if branch in repo.branches:
            raise HubError(409, f"Reference already exists: refs/heads/{branch}")
        repo.branches[branch] = start.oid
        self._send(200, {})

    def _create_tag(self, repo_type: str, repo_id: str, rev: str):
        repo = self._repo(repo_type, repo_id, write=True)
        commit, tag = repo.resolve(rev), self._json().get("tag")
        if not tag:
            raise HubError(400, "Missing tag name")
        if tag in repo.tags:
            raise HubError(409, f"Tag already exists: {tag}")
        repo.tags[tag] = commit.oid
        self._send(200, {})

    # -- reading files -------------------------------------------------------------------------------------------------

    def _tree(self, repo_type: str, repo_id: str, rev: str, path: str):
        repo = self._repo(repo_type, repo_id)
        commit, path = repo.resolve(rev), path.strip("/")
        if path and path not in folders_of(commit.files):
            raise HubError(404, f'{path} does not exist on "{rev}"', "EntryNotFound")
        prefix = f"{path}/" if path else ""
        candidates = set(commit.files) | folders_of(commit.files)
        recursive = self._flag("recursive")
        children = sorted(p for p in candidates if p.startswith(prefix) and (recursive or "/" not in p[len(prefix) :]))
        expand = self._flag("expand")
        self._send(200, [path_info(repo, commit, p, expand) for p in children])

    def _paths_info(self, repo_type: str, repo_id: str, rev: str):
        repo = self._repo(repo_type, repo_id)
        commit = repo.resolve(rev)
        if "json" in self.headers.get("Content-Type", ""):
            payload = self._json()
            paths, expand = payload.get("paths") or [], bool(payload.get("expand"))
        else:
            form = parse_qs(self.body.decode(), keep_blank_values=True)
            paths, expand = form.get("paths", []), (form.get("expand") or ["false"])[0].lower() in ("1", "true")
        infos = [path_info(repo, commit, p.strip("/"), expand) for p in paths]
        self._send(200, [info for info in infos if info is not None])

    def _resolve(self, repo_type: str, repo_id: str, rev: str, path: str):
        with self.state.lock:  # look up under the lock, stream the answer without it
            commit = self._repo(repo_type, repo_id).resolve(rev)
            entry = commit.files.get(path)
            if entry is None:
                raise HubError(404, "Entry not found", "EntryNotFound", {"X-Repo-Commit": commit.oid})
            data = self.state.content(entry)
        headers = {"ETag": f'"{entry.etag}"', "X-Repo-Commit": commit.oid, "Accept-Ranges": "bytes",
                   "Content-Disposition": f'inline; filename="{path.rsplit("/", 1)[-1]}"'}
        if entry.lfs_oid:
            headers.update({"X-Linked-Etag": f'"{entry.lfs_oid}"', "X-Linked-Size": entry.size})
        status, byte_range = 200, self.headers.get("Range")
        if byte_range:
            match = re.fullmatch(r"bytes=(\d*)-(\d*)", byte_range.strip())
            if match is None:
                raise HubError(400, f"Unsupported Range header: {byte_range}")
            start_s, end_s = match.groups()
            if start_s:  # bytes=start-[end]
                start, end = int(start_s), int(end_s) if end_s else len(data) - 1
            else:  # bytes=-suffix_length
                start, end = max(len(data) - int(end_s), 0), len(data) - 1
            if start >= len(data) or start > end:
                raise HubError(416, "Range not satisfiable", headers={"Content-Range": f"bytes */{len(data)}"})
            end = min(end, len(data) - 1)
            status, headers["Content-Range"], data = 206, f"bytes {start}-{end}/{len(data)}", data[start : end + 1]
        self._send(status, data, headers)

    # -- writing -------------------------------------------------------------------------------------------------------

    def _preupload(self, repo_type: str, repo_id: str, rev: str):
        repo = self._repo(repo_type, repo_id, write=True)
        commit = repo.resolve(rev)
        attributes = commit.files.get(".gitattributes")
        lfs_globs = lfs_patterns(self.state.content(attributes).decode()) if attributes else []
        ignore_globs = [line.strip() for line in (self._json().get("gitIgnore") or "").splitlines()
                        if line.strip() and not line.startswith("#")]
        out = []
        for item in self._json().get("files", []):
            path, size, sample = item["path"], int(item["size"]), base64.b64decode(item.get("sample") or "")
            is_lfs = size > REGULAR_MAX_SIZE or matches(path, lfs_globs) or b"\0" in sample
            existing = commit.files.get(path)
            out.append({
                "path": path,
                "uploadMode": "lfs" if is_lfs else "regular",
                "shouldIgnore": matches(path, ignore_globs),
                # the client skips files whose oid it computes identically (sha256 for LFS, git sha1 otherwise)
                "oid": None if existing is None else (existing.lfs_oid or existing.blob_id),
            })
        self._send(200, {"files": out, "commitOid": commit.oid})

    def _lfs_batch(self, repo_type: str, repo_id: str):
        repo = self._repo(repo_type, repo_id, write=True)
        payload = self._json()
        if payload.get("operation") != "upload":
            raise HubError(400, "hub_server only implements LFS uploads (downloads go through /resolve)")
        objects = []
        for obj in payload.get("objects", []):
            oid, size = obj["oid"], int(obj["size"])
            if oid in self.state.lfs:  # already stored: no actions, the client skips the upload
                objects.append({"oid": oid, "size": size})
                continue
            ticket = secrets.token_urlsafe(16)
            self.state.uploads[ticket] = (oid, size)
            verify = f"{self.base_url}/{URL_PREFIXES[repo.type]}{repo.id}.git/info/lfs/objects/verify"
            objects.append({"oid": oid, "size": size, "authenticated": True, "actions": {
                "upload": {"href": f"{self.base_url}/lfs-upload/{ticket}", "expires_in": 3600},
                "verify": {"href": verify, "expires_in": 3600},
            }})
        answer = {"transfer": "basic", "objects": objects, "hash_algo": "sha256"}
        self._send(200, answer, content_type="application/vnd.git-lfs+json")

    def _lfs_put(self, ticket: str):
        with self.state.lock:
            expected = self.state.uploads.pop(ticket, None)
        if expected is None:
            raise HubError(403, "Unknown or already used upload URL")
        oid, size = expected
        if len(self.body) != size or hashlib.sha256(self.body).hexdigest() != oid:
            raise HubError(400, f"Uploaded content does not match oid {oid} and size {size}")
        with self.state.lock:
            self.state.lfs[oid] = self.body
        self._send(200, b"", {"ETag": f'"{hashlib.md5(self.body).hexdigest()}"'})

    def _lfs_verify(self, repo_type: str, repo_id: str):
        self._repo(repo_type, repo_id, write=True)
        payload = self._json()
        data = self.state.lfs.get(payload.get("oid"))
        if data is None or len(data) != payload.get("size"):
            raise HubError(404, f"LFS object {payload.get('oid')} not found")
        self._send(200, {"success": True})

    def _commit(self, repo_type: str, repo_id: str, rev: str):
        repo = self._repo(repo_type, repo_id, write=True)
        user = self._user()
        try:
            lines = [json.loads(line) for line in self.body.decode().splitlines() if line.strip()]
        except json.JSONDecodeError as e:
            raise HubError(400, f"Invalid NDJSON commit payload: {e}") from e
        header = next((line["value"] for line in lines if line.get("key") == "header"), None)
        if not header or not header.get("summary"):
            raise HubError(400, "The commit payload needs a header line with a summary")
        create_pr = self._flag("create_pr")
        if not create_pr and rev not in repo.branches:
            repo.resolve(rev)  # 404 RevisionNotFound for unknown revisions
            raise HubError(400, f"Invalid rev id: {rev} is not a branch: commits go to branches (or use create_pr=1)")
        parent = repo.resolve(rev)
        if header.get("parentCommit") and not parent.oid.startswith(header["parentCommit"]):
            raise HubError(412, "A commit has happened since. Please refresh and try again.")
        files = dict(parent.files)
        for line in lines:
            key, value = line.get("key"), line.get("value") or {}
            path = (value.get("path") or "").strip("/")
            if key == "file":
                encoding = value.get("encoding", "base64")
                data = base64.b64decode(value["content"]) if encoding == "base64" else value["content"].encode()
                if len(data) > REGULAR_MAX_SIZE:
                    raise HubError(400, f"Your push was rejected because {path} is larger than 10 MiB. Use LFS.")
                if b"\0" in data[:8000]:
                    raise HubError(400, f"Your push was rejected because {path} is a binary file. Use LFS.")
                self.state.blobs[git_sha1(data)] = data
                files[path] = Entry(len(data), git_sha1(data))
            elif key == "lfsFile":
                data = self.state.lfs.get(value.get("oid"))
                if data is None:
                    raise HubError(400, f"Your push was rejected: the LFS pointer of {path} points to no uploaded file")
                pointer = lfs_pointer(value["oid"], len(data))
                files[path] = Entry(len(data), git_sha1(pointer), value["oid"], len(pointer))
            elif key == "deletedFile":
                if files.pop(path, None) is None:
                    raise HubError(404, f"A file with this name doesn't exist: {path}", "EntryNotFound")
            elif key == "deletedFolder":
                doomed = [p for p in files if p.startswith(path + "/")]
                if not doomed:
                    raise HubError(404, f"A file with this name doesn't exist: {path}/", "EntryNotFound")
                for p in doomed:
                    del files[p]
            elif key != "header":
                raise HubError(400, f"Unknown commit operation: {key}")
        description = header.get("description") or ""
        commit = self.state.new_commit(repo, parent, files, header["summary"], description, user.name)
        url = f"{self.base_url}/{URL_PREFIXES[repo.type]}{repo.id}"
        out = {"success": True, "commitOid": commit.oid, "commitUrl": f"{url}/commit/{commit.oid}", "hookOutput": ""}
        if create_pr:
            repo.num_prs += 1
            repo.branches[f"refs/pr/{repo.num_prs}"] = commit.oid
            out["pullRequestUrl"] = f"{url}/discussions/{repo.num_prs}"
        else:
            repo.branches[rev] = commit.oid
        self._send(200, out)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address, state: HubState):
        super().__init__(address, Handler)
        self.state = state
        self.request_log: deque[tuple[str, str, int]] = deque(maxlen=10_000)


class HubServer:
    """Runs the fake Hub in a daemon thread: `HubServer().start()`, then use `.endpoint`; `.stop()` when done."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0):
        self.state = HubState()
        self._httpd = _Server((host, port), self.state)
        self._thread: threading.Thread | None = None

    @property
    def endpoint(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def request_log(self) -> deque[tuple[str, str, int]]:
        """(method, raw path, status) of every answered request, oldest first."""
        return self._httpd.request_log

    def start(self) -> "HubServer":
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="hub-server", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()


if __name__ == "__main__":  # manual use: python tests/hub_server.py [port]
    server = HubServer(port=int(sys.argv[1]) if len(sys.argv) > 1 else 0).start()
    print(f"HF_ENDPOINT={server.endpoint} HF_HUB_DISABLE_XET=1 HF_TOKEN={WRITE_TOKEN}", flush=True)
    threading.Event().wait()
