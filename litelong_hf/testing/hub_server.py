"""A local server that speaks the part of the Hugging Face Hub's HTTP API that a push and a load use.

(Over 400 lines on purpose: one self-contained Hub emulation (state, routes, faults) used as one file.)

Tests (ours and yours) point ``huggingface_hub`` and ``datasets`` at it with ``HF_ENDPOINT`` (set, with
``HF_HUB_DISABLE_XET=1``, before those libraries are imported) or with ``HfApi(endpoint=...)``::

    from litelong_hf.testing.hub_server import serve_hub

    with serve_hub(tmp_path / "hub", token="hf_test_token") as url:
        ...  # e.g. run a subprocess with HF_ENDPOINT=url, HF_TOKEN=hf_test_token

:class:`HubServer` is the same server with its handles exposed: :attr:`HubServer.faults` injects HTTP
errors (fail the Nth LFS upload or commit with a 500), :attr:`HubServer.log` records every request
(method, path, status; never a header, so never a token) and :meth:`HubServer.uploads` counts LFS uploads
per object.

Routes (all that ``huggingface_hub`` 2.x and ``datasets`` 5.x call in a push + load round trip):

=======================================================  ==================================================
``POST /api/repos/create``                               create a repo (409 with its url if it exists)
``GET  /api/{type}s/{id}[/revision/{rev}]``               repo info; ``sha`` changes with every commit
``GET  /api/{type}s/{id}/tree/{rev}[/{path}]``            list files (``recursive``, ``expand``)
``POST /api/{type}s/{id}/paths-info/{rev}``               info on given paths
``POST /api/{type}s/{id}/preupload/{rev}``                upload mode per file (LFS for data files) and oid
``POST /{type}s/{id}.git/info/lfs/objects/batch``         LFS batch: upload actions for missing objects only
``PUT  /lfs-upload/{oid}?sig=...``                        LFS object upload (signed URL, no token, like S3)
``POST /api/validate-yaml``                               README front matter validation
``POST /api/{type}s/{id}/commit/{rev}``                   NDJSON commit (files, LFS files, deletions)
``POST /api/{type}s/{id}/branch/{branch}``                create a branch (409 if it exists)
``HEAD|GET /{type}s/{id}/resolve/{rev}/{path}``           download, with ``Range`` support
``GET  /api/whoami-v2``                                   the token's user
``GET  /api/agent-harnesses``                             404 (telemetry registry, not served here)
=======================================================  ==================================================

Authentication: a request carrying a wrong token gets 401; writes need the right token; reads of a
public repo need none. The repository state (commits, trees) lives in ``root_dir/repos`` as JSON and the
file contents in ``root_dir/objects`` (content-addressed by sha256), so a test can inspect everything the
server stored (written atomically through :mod:`litelong_hf.layout`). Besides the standard library, only
PyYAML (to validate card metadata) is used.

Outside pytest: ``HF_TOKEN=... python -m litelong_hf.testing.hub_server --root DIR`` prints the URL and
serves until interrupted.
"""

from __future__ import annotations

import base64
import contextlib
import dataclasses
import hashlib
import hmac
import json
import re
import secrets
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Literal
from urllib.parse import parse_qs, quote, unquote, urlsplit

import yaml

from litelong_hf.layout import atomic_write_bytes, atomic_write_text

__all__ = [
    "FaultInjector",
    "FaultRule",
    "HubServer",
    "RequestRecord",
    "main",
    "serve_hub",
    "wait_until_ready",
]

FaultRoute = Literal["upload", "commit", "preupload", "lfs-batch", "create", "resolve", "any"]

_REPO_TYPES = {"models": "model", "datasets": "dataset", "spaces": "space"}
_LFS_SUFFIXES = (
    ".parquet",
    ".arrow",
    ".png",
    ".jpg",
    ".jpeg",
    ".gz",
    ".zip",
    ".bin",
    ".safetensors",
    ".npy",
    ".pt",
)
_REGULAR_MAX_BYTES = 10 * 1024 * 1024
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,95}$")
_DEFAULT_GITATTRIBUTES = "".join(
    f"*{suffix} filter=lfs diff=lfs merge=lfs -text\n" for suffix in _LFS_SUFFIXES
)


# --------------------------------------------------------------------------------------------- faults


@dataclass
class FaultRule:
    """Answer the ``nth`` request of ``route`` (1-based) and the ``times - 1`` following ones with ``status``.

    ``times=None`` keeps failing every later request of that route until :meth:`FaultInjector.clear`.
    """

    route: FaultRoute
    nth: int = 1
    status: int = 500
    times: int | None = 1

    def hits(self, count: int) -> bool:
        if count < self.nth:
            return False
        return self.times is None or count < self.nth + self.times


@dataclass
class FaultInjector:
    """Thread-safe registry of injected failures, shared by the server's handler threads."""

    rules: list[FaultRule] = field(default_factory=list)
    counts: Counter[str] = field(default_factory=Counter)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def fail(self, route: FaultRoute, *, nth: int = 1, status: int = 500, times: int | None = 1) -> FaultRule:
        """Make the ``nth`` next request of ``route`` fail with ``status`` (counting from now)."""
        if nth < 1:
            raise ValueError("nth is 1-based")
        with self._lock:
            rule = FaultRule(route, nth + self.counts[route], status, times)
            self.rules.append(rule)
            return rule

    def clear(self) -> None:
        """Remove every rule; requests succeed again."""
        with self._lock:
            self.rules.clear()

    def check(self, route: str) -> int | None:
        """Count one request of ``route``; return the status to fail it with, or None."""
        with self._lock:
            self.counts[route] += 1
            self.counts["any"] += 1
            for rule in self.rules:
                key = route if rule.route != "any" else "any"
                if rule.route in (route, "any") and rule.hits(self.counts[key]):
                    return rule.status
            return None


@dataclass(frozen=True)
class RequestRecord:
    """One request as the server saw it. Headers are not recorded (they carry the token)."""

    method: str
    path: str
    status: int


# --------------------------------------------------------------------------------------------- storage


def _git_blob_sha1(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def _lfs_pointer(sha256: str, size: int) -> bytes:
    return f"version https://git-lfs.github.com/spec/v1\noid sha256:{sha256}\nsize {size}\n".encode()


@dataclass
class _Entry:
    """A file in a commit's tree."""

    sha256: str
    size: int
    lfs: bool

    @property
    def pointer(self) -> bytes:
        return _lfs_pointer(self.sha256, self.size)

    def git_oid(self, store: _ObjectStore) -> str:
        if self.lfs:
            return _git_blob_sha1(self.pointer)
        return _git_blob_sha1(store.read(self.sha256))


class _ObjectStore:
    """Content-addressed file contents: ``objects/<sha256>``."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.root.mkdir(parents=True, exist_ok=True)

    def path(self, sha256: str) -> Path:
        return self.root / sha256

    def has(self, sha256: str) -> bool:
        return self.path(sha256).is_file()

    def read(self, sha256: str) -> bytes:
        return self.path(sha256).read_bytes()

    def write(self, data: bytes) -> str:
        sha = hashlib.sha256(data).hexdigest()
        self.write_verified(sha, data)
        return sha

    def write_verified(self, sha256: str, data: bytes) -> None:
        target = self.path(sha256)
        if target.is_file():
            return
        atomic_write_bytes(target, data)


class _HttpError(Exception):
    def __init__(self, status: int, message: str, error_code: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.error_code = error_code


@dataclass
class _Repo:
    repo_type: str
    repo_id: str
    private: bool
    branches: dict[str, str]
    commits: dict[str, dict[str, Any]]
    created_at: str

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def resolve(self, revision: str) -> str:
        if revision in self.branches:
            return self.branches[revision]
        if revision in self.commits:
            return revision
        matches = [sha for sha in self.commits if len(revision) >= 7 and sha.startswith(revision)]
        if len(matches) == 1:
            return matches[0]
        raise _HttpError(404, f"Invalid rev id: {revision}", "RevisionNotFound")

    def tree(self, sha: str) -> dict[str, _Entry]:
        return {path: _Entry(**entry) for path, entry in self.commits[sha]["tree"].items()}


class _HubState:
    """All repositories, persisted as JSON under ``root/repos``; one lock serialises writes."""

    def __init__(self, root: Path, user: str) -> None:
        self.root = root
        self.user = user
        self.objects = _ObjectStore(root / "objects")
        self.lock = threading.RLock()
        self._repos: dict[tuple[str, str], _Repo] = {}
        for meta in sorted((root / "repos").glob("*/*/*/repo.json")):
            data = json.loads(meta.read_text())
            repo = _Repo(**data)
            self._repos[(repo.repo_type, repo.repo_id)] = repo

    def _save(self, repo: _Repo) -> None:
        target = self.root / "repos" / f"{repo.repo_type}s" / repo.repo_id / "repo.json"
        atomic_write_text(target, json.dumps(repo.to_json(), indent=1, sort_keys=True))

    def get(self, repo_type: str, repo_id: str) -> _Repo:
        repo = self._repos.get((repo_type, repo_id))
        if repo is None:
            raise _HttpError(404, "Repository not found", "RepoNotFound")
        return repo

    def repo_ids(self, repo_type: str) -> list[str]:
        with self.lock:
            return sorted(repo_id for kind, repo_id in self._repos if kind == repo_type)

    def create(self, repo_type: str, repo_id: str, private: bool) -> tuple[_Repo, bool]:
        with self.lock:
            existing = self._repos.get((repo_type, repo_id))
            if existing is not None:
                return existing, False
            now = _now()
            repo = _Repo(repo_type, repo_id, private, {}, {}, now)
            self._repos[(repo_type, repo_id)] = repo
            sha = self.objects.write(_DEFAULT_GITATTRIBUTES.encode())
            gitattributes = _Entry(sha, len(_DEFAULT_GITATTRIBUTES), False)
            self._commit(repo, "main", None, {".gitattributes": gitattributes}, "initial commit", "")
            return repo, True

    def _commit(
        self,
        repo: _Repo,
        branch: str,
        parent: str | None,
        tree: dict[str, _Entry],
        title: str,
        description: str,
    ) -> str:
        payload = {
            "parent": parent,
            "title": title,
            "tree": {p: vars(e) for p, e in sorted(tree.items())},
            "salt": secrets.token_hex(8),
        }
        sha = hashlib.sha1(json.dumps(payload, sort_keys=True).encode()).hexdigest()
        repo.commits[sha] = {
            "parent": parent,
            "title": title,
            "description": description,
            "date": _now(),
            "tree": payload["tree"],
        }
        repo.branches[branch] = sha
        self._save(repo)
        return sha

    def commit(
        self,
        repo: _Repo,
        branch: str,
        operations: list[dict[str, Any]],
        header: dict[str, Any],
    ) -> str:
        with self.lock:
            if branch not in repo.branches:
                raise _HttpError(404, f"Invalid rev id: {branch}", "RevisionNotFound")
            head = repo.branches[branch]
            parent_commit = header.get("parentCommit")
            if parent_commit and not head.startswith(parent_commit):
                raise _HttpError(412, "A commit has happened since. Please refresh and try again.")
            tree = repo.tree(head)
            for op in operations:
                key, value = op.get("key"), op.get("value", {})
                path = str(value.get("path", "")).strip("/")
                if key == "file":
                    if value.get("encoding", "base64") != "base64":
                        raise _HttpError(400, "only base64 encoding is supported")
                    data = base64.b64decode(value["content"])
                    tree[path] = _Entry(self.objects.write(data), len(data), False)
                elif key == "lfsFile":
                    oid = str(value.get("oid", ""))
                    if not self.objects.has(oid):
                        raise _HttpError(422, f"LFS object {oid} for {path!r} was never uploaded")
                    size = self.objects.path(oid).stat().st_size
                    tree[path] = _Entry(oid, size, True)
                elif key == "deletedFile":
                    if path not in tree:
                        raise _HttpError(404, "A file with this name doesn't exist", "EntryNotFound")
                    del tree[path]
                elif key == "deletedFolder":
                    for existing in [p for p in tree if p.startswith(path + "/")]:
                        del tree[existing]
                else:
                    raise _HttpError(400, f"Unsupported commit operation {key!r}")
            return self._commit(
                repo, branch, head, tree, str(header.get("summary", "")), str(header.get("description", ""))
            )


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


# --------------------------------------------------------------------------------------------- server


class HubServer:
    """A local Hub on ``127.0.0.1`` (free port), served from a background thread.

    Use it as a context manager; :attr:`url` is the endpoint to give ``HF_ENDPOINT``.

    Args:
        root_dir: where repositories and file contents are stored (created if missing).
        token: the only token accepted for writes and private reads.
        user: the user the token belongs to (namespace of repos created without one).
    """

    def __init__(self, root_dir: str | Path, *, token: str, user: str = "tester") -> None:
        self.root = Path(root_dir)
        self.root.mkdir(parents=True, exist_ok=True)
        self._token = token
        self.user = user
        self.faults = FaultInjector()
        self.log: list[RequestRecord] = []
        self._uploads: Counter[str] = Counter()
        self._state = _HubState(self.root, user)
        self._signing_key = secrets.token_bytes(16)
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    def __repr__(self) -> str:  # never show the token
        return f"HubServer(url={self.url if self._httpd else None!r}, root={str(self.root)!r})"

    @property
    def url(self) -> str:
        if self._httpd is None:
            raise RuntimeError("the server is not running; use `with HubServer(...) as hub:`")
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    def uploads(self) -> Counter[str]:
        """How many times each LFS object (sha256) was uploaded successfully."""
        return Counter(self._uploads)

    def repo_files(self, repo_id: str, repo_type: str = "dataset", revision: str = "main") -> list[str]:
        """Paths in the repo at ``revision`` (for assertions)."""
        repo = self._state.get(repo_type, repo_id)
        return sorted(repo.tree(repo.resolve(revision)))

    def read_file(self, repo_id: str, path: str, repo_type: str = "dataset", revision: str = "main") -> bytes:
        """Content of ``path`` in the repo at ``revision``."""
        repo = self._state.get(repo_type, repo_id)
        entry = repo.tree(repo.resolve(revision))[path]
        return self._state.objects.read(entry.sha256)

    def repo_ids(self, repo_type: str = "dataset") -> list[str]:
        """Ids of every repo of ``repo_type`` on this server (to assert that nothing was created)."""
        return self._state.repo_ids(repo_type)

    def commit_count(self, repo_id: str, repo_type: str = "dataset") -> int:
        """Number of commits in the repo, the initial one included."""
        return len(self._state.get(repo_type, repo_id).commits)

    def start(self) -> str:
        handler = type("_BoundHubHandler", (_HubHandler,), {"hub": self})
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="local-hub", daemon=True)
        self._thread.start()
        return self.url

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> HubServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ----------------------------------------------------------------------------------- helpers
    def _check_token(self, presented: str | None) -> bool:
        return presented is not None and hmac.compare_digest(presented.encode(), self._token.encode())

    def _sign(self, oid: str) -> str:
        return hmac.new(self._signing_key, oid.encode(), hashlib.sha256).hexdigest()


@contextlib.contextmanager
def serve_hub(root_dir: str | Path, *, token: str, user: str = "tester") -> Iterator[str]:
    """Run a local Hub on a free port of 127.0.0.1 for the duration of the block; yield its base URL.

    Example::

        with serve_hub(tmp_path, token="hf_dummy") as url:
            env = {**os.environ, "HF_ENDPOINT": url, "HF_TOKEN": "hf_dummy", "HF_HUB_DISABLE_XET": "1"}
    """
    with HubServer(root_dir, token=token, user=user) as hub:
        yield hub.url


class _HubHandler(BaseHTTPRequestHandler):
    hub: HubServer
    protocol_version = "HTTP/1.1"
    server_version = "litelong-local-hub/1"

    # quiet: the default handler prints every request to stderr
    def log_message(self, format: str, *args: Any) -> None:
        return

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_HEAD(self) -> None:
        self._dispatch("HEAD")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_PUT(self) -> None:
        self._dispatch("PUT")

    # ----------------------------------------------------------------------------------- plumbing
    def _dispatch(self, method: str) -> None:
        split = urlsplit(self.path)
        self._query = parse_qs(split.query)
        self._status = 500
        path = split.path
        try:
            self._body = self._read_body() if method in ("POST", "PUT") else b""
            self._route(method, path)
        except _HttpError as err:
            self._send_error(err)
        except Exception as err:  # a bug in the server must still answer, and say what it was
            self._send_error(_HttpError(500, f"local hub internal error: {type(err).__name__}: {err}"))
        finally:
            self.hub.log.append(RequestRecord(method, path, self._status))

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size_line = self.rfile.readline().strip().split(b";")[0]
                size = int(size_line, 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    break
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            return b"".join(chunks)
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _send(
        self, status: int, body: bytes, content_type: str, headers: dict[str, str] | None = None
    ) -> None:
        self._status = status
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _send_json(self, data: Any, status: int = 200, headers: dict[str, str] | None = None) -> None:
        self._send(status, json.dumps(data).encode(), "application/json", headers)

    def _send_error(self, err: _HttpError) -> None:
        headers = {"X-Error-Message": err.message}
        if err.error_code:
            headers["X-Error-Code"] = err.error_code
        self._send_json({"error": err.message}, err.status, headers)

    def _json_body(self) -> Any:
        try:
            return json.loads(self._body or b"{}")
        except json.JSONDecodeError as err:
            raise _HttpError(400, f"invalid JSON body: {err}") from err

    def _maybe_fault(self, route: str) -> None:
        status = self.hub.faults.check(route)
        if status is not None:
            raise _HttpError(status, f"injected failure on {route}")

    # ----------------------------------------------------------------------------------- auth
    def _token(self) -> str | None:
        header = self.headers.get("Authorization")
        if not header:
            return None
        scheme, _, value = header.partition(" ")
        if scheme.lower() != "bearer" or not value:
            raise _HttpError(401, "Invalid credentials in Authorization header")
        if not self.hub._check_token(value.strip()):
            raise _HttpError(401, "Invalid credentials in Authorization header")
        return value

    def _require_write(self) -> None:
        if self._token() is None:
            raise _HttpError(401, "You must be authenticated to do this (no token)")

    def _readable(self, repo: _Repo) -> None:
        authed = self._token() is not None
        if repo.private and not authed:
            raise _HttpError(401, "Repository not found", "RepoNotFound")

    # ----------------------------------------------------------------------------------- routing
    def _route(self, method: str, path: str) -> None:
        parts = [unquote(p) for p in path.split("/")[1:]]
        if path == "/api/agent-harnesses":
            raise _HttpError(404, "not served by the local hub")
        if path == "/api/whoami-v2" and method == "GET":
            return self._whoami()
        if path == "/api/repos/create" and method == "POST":
            return self._create_repo()
        if path == "/api/validate-yaml" and method == "POST":
            return self._validate_yaml()
        if len(parts) >= 2 and parts[0] == "lfs-upload" and method == "PUT":
            return self._lfs_put(parts[1])
        if len(parts) >= 4 and parts[0] == "api" and parts[1] in _REPO_TYPES:
            repo_type = _REPO_TYPES[parts[1]]
            repo_id = f"{parts[2]}/{parts[3]}"
            rest = parts[4:]
            return self._api_repo(method, repo_type, repo_id, rest, path)
        raw = path.split("/")[1:]
        if raw and raw[0] in ("datasets", "spaces"):
            repo_type, raw = _REPO_TYPES[raw[0]], raw[1:]
        else:
            repo_type = "model"
        if len(raw) >= 3 and raw[1].endswith(".git") and "/".join(raw[2:]) == "info/lfs/objects/batch":
            return self._lfs_batch(repo_type, f"{unquote(raw[0])}/{unquote(raw[1])[: -len('.git')]}")
        if len(raw) >= 5 and raw[2] == "resolve" and method in ("GET", "HEAD"):
            repo_id = f"{unquote(raw[0])}/{unquote(raw[1])}"
            return self._resolve(repo_type, repo_id, unquote(raw[3]), unquote("/".join(raw[4:])))
        raise _HttpError(404, f"local hub: no route for {method} {path}")

    def _api_repo(self, method: str, repo_type: str, repo_id: str, rest: list[str], raw_path: str) -> None:
        state = self.hub._state
        if not rest and method == "GET":
            return self._repo_info(repo_type, repo_id, "main")
        if len(rest) >= 2 and rest[0] == "revision" and method == "GET":
            return self._repo_info(repo_type, repo_id, "/".join(rest[1:]))
        if len(rest) >= 2 and rest[0] == "tree" and method == "GET":
            return self._tree(repo_type, repo_id, rest[1], "/".join(rest[2:]))
        if len(rest) == 2 and rest[0] == "paths-info" and method == "POST":
            return self._paths_info(repo_type, repo_id, rest[1])
        if len(rest) == 2 and rest[0] == "preupload" and method == "POST":
            self._require_write()
            self._maybe_fault("preupload")
            return self._preupload(state.get(repo_type, repo_id), rest[1])
        if len(rest) >= 2 and rest[0] == "branch" and method == "POST":
            self._require_write()
            return self._create_branch(state.get(repo_type, repo_id), "/".join(rest[1:]))
        if len(rest) == 2 and rest[0] == "commit" and method == "POST":
            self._require_write()
            repo = state.get(repo_type, repo_id)
            self._maybe_fault("commit")
            return self._commit(repo, rest[1])
        raise _HttpError(404, f"local hub: no route for {method} {raw_path}")

    # ----------------------------------------------------------------------------------- handlers
    def _whoami(self) -> None:
        if self._token() is None:
            raise _HttpError(401, "Invalid credentials in Authorization header")
        self._send_json(
            {
                "type": "user",
                "name": self.hub.user,
                "fullname": self.hub.user,
                "orgs": [],
                "auth": {"type": "access_token", "accessToken": {"displayName": "local", "role": "write"}},
            }
        )

    def _create_repo(self) -> None:
        self._require_write()
        self._maybe_fault("create")
        payload = self._json_body()
        name = str(payload.get("name") or "")
        namespace = str(payload.get("organization") or self.hub.user)
        repo_type = str(payload.get("type") or "model")
        if repo_type not in _REPO_TYPES.values():
            raise _HttpError(400, f"invalid repo type {repo_type!r}")
        if not _NAME_RE.match(name) or not _NAME_RE.match(namespace):
            raise _HttpError(400, f"invalid repo name {namespace}/{name}")
        private = payload.get("visibility") == "private" or bool(payload.get("private"))
        repo_id = f"{namespace}/{name}"
        _, created = self.hub._state.create(repo_type, repo_id, private)
        prefix = "" if repo_type == "model" else f"{repo_type}s/"
        url = f"{self.hub.url}/{prefix}{repo_id}"
        if not created:
            self._send_json({"error": "You already created this repo", "url": url}, 409)
            return
        self._send_json({"url": url, "name": repo_id, "id": repo_id})

    def _repo_info(self, repo_type: str, repo_id: str, revision: str) -> None:
        repo = self.hub._state.get(repo_type, repo_id)
        self._readable(repo)
        sha = repo.resolve(revision)
        tree = repo.tree(sha)
        commit = repo.commits[sha]
        card_data: dict[str, Any] | None = None
        if "README.md" in tree:
            card_data = _front_matter(self.hub._state.objects.read(tree["README.md"].sha256).decode())
        siblings = []
        for path, entry in sorted(tree.items()):
            sibling: dict[str, Any] = {"rfilename": path, "size": entry.size}
            if entry.lfs:
                sibling["lfs"] = {
                    "size": entry.size,
                    "sha256": entry.sha256,
                    "pointerSize": len(entry.pointer),
                }
            siblings.append(sibling)
        self._send_json(
            {
                "_id": hashlib.sha1(repo_id.encode()).hexdigest()[:24],
                "id": repo_id,
                "author": repo_id.split("/")[0],
                "sha": sha,
                "private": repo.private,
                "gated": False,
                "disabled": False,
                "downloads": 0,
                "likes": 0,
                "tags": list((card_data or {}).get("tags") or []),
                "createdAt": repo.created_at,
                "lastModified": commit["date"],
                "cardData": card_data,
                "siblings": siblings,
            }
        )

    def _entry_json(self, path: str, entry: _Entry, commit: dict[str, Any], sha: str, expand: bool) -> Any:
        data: dict[str, Any] = {
            "type": "file",
            "oid": entry.git_oid(self.hub._state.objects),
            "size": entry.size,
            "path": path,
        }
        if entry.lfs:
            data["lfs"] = {"oid": entry.sha256, "size": entry.size, "pointerSize": len(entry.pointer)}
        if expand:
            data["lastCommit"] = {"id": sha, "title": commit["title"], "date": commit["date"]}
        return data

    def _folder_json(self, path: str, commit: dict[str, Any], sha: str, expand: bool) -> Any:
        data: dict[str, Any] = {
            "type": "directory",
            "oid": hashlib.sha1(f"{sha}:{path}".encode()).hexdigest(),
            "size": 0,
            "path": path,
        }
        if expand:
            data["lastCommit"] = {"id": sha, "title": commit["title"], "date": commit["date"]}
        return data

    def _tree(self, repo_type: str, repo_id: str, revision: str, prefix: str) -> None:
        repo = self.hub._state.get(repo_type, repo_id)
        self._readable(repo)
        sha = repo.resolve(revision)
        tree, commit = repo.tree(sha), repo.commits[sha]
        prefix = prefix.strip("/")
        recursive = self._query.get("recursive", ["false"])[0].lower() in ("1", "true")
        expand = self._query.get("expand", ["false"])[0].lower() in ("1", "true")
        if prefix and prefix in tree:
            raise _HttpError(404, f"{prefix} is a file, not a folder", "EntryNotFound")
        base = f"{prefix}/" if prefix else ""
        below = {p: e for p, e in tree.items() if p.startswith(base)}
        if prefix and not below:
            raise _HttpError(404, f"{prefix} does not exist", "EntryNotFound")
        files: list[Any] = []
        folders: dict[str, Any] = {}
        for path, entry in sorted(below.items()):
            relative = path[len(base) :].split("/")
            for depth in range(1, len(relative)):
                folder = base + "/".join(relative[:depth])
                if depth == 1 or recursive:
                    folders.setdefault(folder, self._folder_json(folder, commit, sha, expand))
            if recursive or len(relative) == 1:
                files.append(self._entry_json(path, entry, commit, sha, expand))
        self._send_json([*sorted(folders.values(), key=lambda f: f["path"]), *files])

    def _paths_info(self, repo_type: str, repo_id: str, revision: str) -> None:
        repo = self.hub._state.get(repo_type, repo_id)
        self._readable(repo)
        sha = repo.resolve(revision)
        tree, commit = repo.tree(sha), repo.commits[sha]
        content_type = self.headers.get("Content-Type", "")
        if content_type.startswith("application/json"):
            body = self._json_body()
            paths = body.get("paths", [])
            expand = bool(body.get("expand"))
        else:
            form = parse_qs(self._body.decode())
            paths = form.get("paths", [])
            expand = form.get("expand", ["false"])[0].lower() in ("1", "true")
        result = []
        for path in paths:
            path = path.strip("/")
            if path in tree:
                result.append(self._entry_json(path, tree[path], commit, sha, expand))
            elif any(p.startswith(path + "/") for p in tree):
                result.append(self._folder_json(path, commit, sha, expand))
        self._send_json(result)

    def _preupload(self, repo: _Repo, revision: str) -> None:
        sha = repo.resolve(revision)
        tree = repo.tree(sha)
        files = []
        for item in self._json_body().get("files", []):
            path = str(item["path"])
            size = int(item.get("size", 0))
            sample = base64.b64decode(item.get("sample", ""))
            lfs = size > _REGULAR_MAX_BYTES or path.lower().endswith(_LFS_SUFFIXES) or b"\0" in sample
            existing = tree.get(path)
            oid = None
            if existing is not None:
                oid = existing.sha256 if existing.lfs else existing.git_oid(self.hub._state.objects)
            files.append(
                {"path": path, "uploadMode": "lfs" if lfs else "regular", "shouldIgnore": False, "oid": oid}
            )
        self._send_json({"files": files, "commitOid": sha})

    def _lfs_batch(self, repo_type: str, repo_id: str) -> None:
        self._require_write()
        self._maybe_fault("lfs-batch")
        self.hub._state.get(repo_type, repo_id)
        payload = self._json_body()
        if payload.get("operation") != "upload":
            raise _HttpError(400, "the local hub only serves LFS uploads")
        objects = []
        for obj in payload.get("objects", []):
            oid, size = str(obj["oid"]), int(obj["size"])
            item: dict[str, Any] = {"oid": oid, "size": size, "authenticated": True}
            if not self.hub._state.objects.has(oid):
                href = f"{self.hub.url}/lfs-upload/{oid}?size={size}&sig={self.hub._sign(oid)}"
                item["actions"] = {"upload": {"href": href, "expires_in": 3600}}
            objects.append(item)
        self._send(
            200,
            json.dumps({"transfer": "basic", "objects": objects, "hash_algo": "sha256"}).encode(),
            "application/vnd.git-lfs+json",
        )

    def _lfs_put(self, oid: str) -> None:
        signature = self._query.get("sig", [""])[0]
        if not hmac.compare_digest(signature, self.hub._sign(oid)):
            raise _HttpError(403, "bad upload signature")
        self._maybe_fault("upload")
        data = self._body
        if hashlib.sha256(data).hexdigest() != oid:
            raise _HttpError(400, "uploaded content does not match its sha256")
        expected_size = self._query.get("size", [str(len(data))])[0]
        if int(expected_size) != len(data):
            raise _HttpError(400, "uploaded content does not have the announced size")
        self.hub._state.objects.write_verified(oid, data)
        with self.hub._state.lock:
            self.hub._uploads[oid] += 1
        self._send(200, b"", "text/plain")

    def _validate_yaml(self) -> None:
        payload = self._json_body()
        content = str(payload.get("content", ""))
        errors = []
        if content.startswith("---"):
            match = re.match(r"^---\s*\n(.*?)\n---\s*(\n|$)", content, re.DOTALL)
            if match is None:
                errors.append({"message": "front matter is not closed by a '---' line"})
            else:
                try:
                    data = yaml.safe_load(match.group(1))
                except yaml.YAMLError as err:
                    errors.append({"message": f"YAML does not parse: {err}"})
                else:
                    if data is not None and not isinstance(data, dict):
                        errors.append({"message": "metadata must be a mapping"})
                    elif isinstance(data, dict):
                        errors.extend(_check_metadata(data))
        if errors:
            self._send_json({"errors": errors}, 400)
        else:
            self._send_json({"errors": [], "warnings": []})

    def _create_branch(self, repo: _Repo, branch: str) -> None:
        body = self._json_body()
        with self.hub._state.lock:
            if branch in repo.branches:
                raise _HttpError(409, f"Branch {branch} already exists")
            repo.branches[branch] = repo.resolve(str(body.get("startingPoint") or "main"))
            self.hub._state._save(repo)
        self._send_json({})

    def _commit(self, repo: _Repo, revision: str) -> None:
        if self._query.get("create_pr", ["0"])[0] in ("1", "true"):
            raise _HttpError(400, "the local hub does not support pull requests")
        lines = [json.loads(line) for line in self._body.splitlines() if line.strip()]
        if not lines or lines[0].get("key") != "header":
            raise _HttpError(400, "a commit starts with a header line")
        header, operations = lines[0]["value"], lines[1:]
        sha = self.hub._state.commit(repo, revision, operations, header)
        prefix = "" if repo.repo_type == "model" else f"{repo.repo_type}s/"
        self._send_json(
            {
                "success": True,
                "commitOid": sha,
                "commitUrl": f"{self.hub.url}/{prefix}{repo.repo_id}/commit/{sha}",
                "pullRequestUrl": None,
            }
        )

    def _resolve(self, repo_type: str, repo_id: str, revision: str, path: str) -> None:
        repo = self.hub._state.get(repo_type, repo_id)
        self._readable(repo)
        self._maybe_fault("resolve")
        sha = repo.resolve(revision)
        tree = repo.tree(sha)
        if path not in tree:
            raise _HttpError(404, f"{path} does not exist at {revision}", "EntryNotFound")
        entry = tree[path]
        data = self.hub._state.objects.read(entry.sha256)
        headers = {
            "X-Repo-Commit": sha,
            "ETag": f'"{entry.sha256 if entry.lfs else entry.git_oid(self.hub._state.objects)}"',
            "Accept-Ranges": "bytes",
            "Content-Disposition": f"inline; filename*=UTF-8''{quote(path.rsplit('/', 1)[-1])}",
        }
        if entry.lfs:
            headers["X-Linked-Etag"] = f'"{entry.sha256}"'
            headers["X-Linked-Size"] = str(entry.size)
        status = 200
        range_header = self.headers.get("Range")
        if range_header and self.command == "GET":
            start, end = _parse_range(range_header, len(data))
            headers["Content-Range"] = f"bytes {start}-{end}/{len(data)}"
            data = data[start : end + 1]
            status = 206
        self._send(status, data, "application/octet-stream", headers)


def _parse_range(header: str, size: int) -> tuple[int, int]:
    match = re.fullmatch(r"bytes=(\d*)-(\d*)", header.strip())
    if match is None or (not match.group(1) and not match.group(2)):
        raise _HttpError(416, f"unsupported Range {header!r}")
    if not match.group(1):
        start, end = max(0, size - int(match.group(2))), size - 1
    else:
        start = int(match.group(1))
        end = min(int(match.group(2)), size - 1) if match.group(2) else size - 1
    if start >= size and size > 0:
        raise _HttpError(416, "range not satisfiable")
    return start, end


def _front_matter(text: str) -> dict[str, Any] | None:
    match = re.match(r"^---\s*\n(.*?)\n---\s*(\n|$)", text, re.DOTALL)
    if match is None:
        return None
    try:
        data = yaml.safe_load(match.group(1))
    except yaml.YAMLError:
        return None
    return data if isinstance(data, dict) else None


def _check_metadata(data: dict[str, Any]) -> list[dict[str, str]]:
    """The few structural checks the Hub's validator makes that matter for dataset configs."""
    errors: list[dict[str, str]] = []
    configs = data.get("configs")
    if configs is not None:
        if not isinstance(configs, list):
            return [{"message": '"configs" must be a list'}]
        names = []
        for config in configs:
            if not isinstance(config, dict) or not isinstance(config.get("config_name"), str):
                errors.append({"message": '"configs" items need a string "config_name"'})
                continue
            names.append(config["config_name"])
            data_files = config.get("data_files")
            if data_files is not None and not isinstance(data_files, str | list | dict):
                errors.append({"message": f'"data_files" of {config["config_name"]} has a bad type'})
        if len(set(names)) != len(names):
            errors.append({"message": '"configs" has duplicate "config_name" values'})
    for key in ("tags", "task_categories", "size_categories", "source_datasets"):
        value = data.get(key)
        if value is not None and not isinstance(value, list):
            errors.append({"message": f'"{key}" must be a list'})
    return errors


def wait_until_ready(url: str, timeout: float = 5.0) -> None:
    """Block until ``url`` answers (useful when the server runs in another process)."""
    import urllib.error
    import urllib.request

    deadline = time.monotonic() + timeout
    while True:
        try:
            urllib.request.urlopen(f"{url}/api/agent-harnesses", timeout=1)
        except urllib.error.HTTPError:
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)
        else:
            return


def main(argv: list[str] | None = None) -> int:
    """Serve a local Hub until interrupted: ``python -m litelong_hf.testing.hub_server --root DIR``.

    The accepted token is read from the environment variable named by ``--token-env`` (default
    ``HF_TOKEN``), never from the command line. The first line printed is the base URL.
    """
    import argparse
    import os
    import signal

    parser = argparse.ArgumentParser(description="A local server speaking the Hugging Face Hub's HTTP API.")
    parser.add_argument("--root", required=True, help="folder holding the repos and file contents")
    parser.add_argument("--token-env", default="HF_TOKEN", help="environment variable holding the token")
    parser.add_argument("--user", default="tester", help="user the token belongs to")
    args = parser.parse_args(argv)
    token = os.environ.get(args.token_env)
    if not token:
        parser.error(f"set ${args.token_env} to the token the server should accept")
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with HubServer(args.root, token=token, user=args.user) as hub:
        print(hub.url, flush=True)
        with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C is the normal way to stop it
            stop.wait()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
