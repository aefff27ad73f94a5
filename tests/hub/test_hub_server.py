"""The local Hub server on its own: routes, auth, commits, faults (plain HTTP, no huggingface_hub)."""

from __future__ import annotations

import base64
import hashlib
import json
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from litelong_hf.testing.hub_server import HubServer, serve_hub

pytestmark = pytest.mark.integration

TOKEN = "hf_server_test_token"


def _call(
    url: str,
    method: str = "GET",
    body: Any = None,
    token: str | None = TOKEN,
    headers: dict[str, str] | None = None,
) -> tuple[int, dict[str, str], bytes]:
    data = None
    all_headers = dict(headers or {})
    if body is not None:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        all_headers.setdefault("Content-Type", "application/json")
    if token is not None:
        all_headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(url, data=data, method=method, headers=all_headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as err:
        return err.code, dict(err.headers), err.read()


def _commit(url: str, repo: str, ops: list[dict[str, Any]], parent: str | None = None) -> tuple[int, Any]:
    header: dict[str, Any] = {"summary": "test commit", "description": ""}
    if parent:
        header["parentCommit"] = parent
    lines = [{"key": "header", "value": header}, *ops]
    ndjson = b"".join(json.dumps(line).encode() + b"\n" for line in lines)
    status, _, body = _call(
        f"{url}/api/datasets/{repo}/commit/main",
        "POST",
        ndjson,
        headers={"Content-Type": "application/x-ndjson"},
    )
    return status, json.loads(body)


def _file_op(path: str, content: bytes) -> dict[str, Any]:
    return {
        "key": "file",
        "value": {"path": path, "content": base64.b64encode(content).decode(), "encoding": "base64"},
    }


def test_serve_hub_yields_a_url_and_stops(tmp_path: Path) -> None:
    with serve_hub(tmp_path, token=TOKEN) as url:
        assert url.startswith("http://127.0.0.1:")
        assert _call(f"{url}/api/agent-harnesses")[0] == 404
    with pytest.raises(OSError):
        urllib.request.urlopen(f"{url}/api/agent-harnesses", timeout=2)


def test_auth_repo_info_commits_tree_and_resolve(tmp_path: Path) -> None:
    with HubServer(tmp_path, token=TOKEN) as hub:
        url = hub.url
        assert TOKEN not in repr(hub)
        # auth: a wrong token is rejected, a missing one cannot write
        status, headers, _ = _call(
            f"{url}/api/repos/create", "POST", {"name": "d", "type": "dataset"}, token="nope"
        )
        assert status == 401 and headers["X-Error-Message"] == "Invalid credentials in Authorization header"
        assert (
            _call(f"{url}/api/repos/create", "POST", {"name": "d", "type": "dataset"}, token=None)[0] == 401
        )
        assert _call(f"{url}/api/whoami-v2")[0] == 200
        # create (then 409 with the url), info, private reads
        status, _, body = _call(
            f"{url}/api/repos/create", "POST", {"name": "d", "type": "dataset", "private": True}
        )
        assert status == 200 and json.loads(body)["url"].endswith("/datasets/tester/d")
        status, _, body = _call(f"{url}/api/repos/create", "POST", {"name": "d", "type": "dataset"})
        assert status == 409 and "url" in json.loads(body)
        assert _call(f"{url}/api/datasets/tester/d", token=None)[0] == 401
        status, headers, _ = _call(f"{url}/api/datasets/tester/nope")
        assert status == 404 and headers["X-Error-Code"] == "RepoNotFound"
        sha0 = json.loads(_call(f"{url}/api/datasets/tester/d")[2])["sha"]
        # commit a regular file: the sha changes
        status, result = _commit(url, "tester/d", [_file_op("a/b.txt", b"hello world")], parent=sha0)
        assert status == 200
        info = json.loads(_call(f"{url}/api/datasets/tester/d")[2])
        assert info["sha"] == result["commitOid"] != sha0
        assert {s["rfilename"] for s in info["siblings"]} == {".gitattributes", "a/b.txt"}
        # a stale parent commit is refused
        assert _commit(url, "tester/d", [_file_op("c.txt", b"x")], parent=sha0)[0] == 412
        # tree listing
        top = json.loads(_call(f"{url}/api/datasets/tester/d/tree/main")[2])
        assert [(e["type"], e["path"]) for e in top] == [("directory", "a"), ("file", ".gitattributes")]
        deep = json.loads(_call(f"{url}/api/datasets/tester/d/tree/main/a?recursive=true")[2])
        assert [e["path"] for e in deep] == ["a/b.txt"]
        status, headers, _ = _call(f"{url}/api/datasets/tester/d/tree/main/zzz")
        assert status == 404 and headers["X-Error-Code"] == "EntryNotFound"
        # resolve: HEAD, GET, Range, by branch and by sha
        status, headers, body = _call(f"{url}/datasets/tester/d/resolve/main/a/b.txt", "HEAD")
        assert status == 200 and body == b"" and headers["X-Repo-Commit"] == info["sha"]
        assert _call(f"{url}/datasets/tester/d/resolve/{info['sha']}/a/b.txt")[2] == b"hello world"
        status, headers, body = _call(
            f"{url}/datasets/tester/d/resolve/main/a/b.txt", headers={"Range": "bytes=6-"}
        )
        assert status == 206 and body == b"world"
        assert _call(f"{url}/datasets/tester/d/resolve/main/nope.txt")[0] == 404
        # validate-yaml
        assert _call(f"{url}/api/validate-yaml", "POST", {"content": "---\nlicense: mit\n---\n"})[0] == 200
        assert _call(f"{url}/api/validate-yaml", "POST", {"content": "---\nconfigs: 3\n---\n"})[0] == 400
        assert _call(f"{url}/api/validate-yaml", "POST", {"content": "---\na: [\n---\n"})[0] == 400


def test_lfs_upload_flow_and_faults(tmp_path: Path) -> None:
    with HubServer(tmp_path, token=TOKEN) as hub:
        url = hub.url
        _call(f"{url}/api/repos/create", "POST", {"name": "d", "type": "dataset"})
        data = b"\x00parquet bytes" * 100
        oid = hashlib.sha256(data).hexdigest()
        _, _, body = _call(
            f"{url}/api/datasets/tester/d/preupload/main",
            "POST",
            {
                "files": [
                    {
                        "path": "x/train.parquet",
                        "size": len(data),
                        "sample": base64.b64encode(data[:512]).decode(),
                    }
                ]
            },
        )
        assert json.loads(body)["files"][0]["uploadMode"] == "lfs"
        batch = {"operation": "upload", "objects": [{"oid": oid, "size": len(data)}]}
        body = json.loads(_call(f"{url}/datasets/tester/d.git/info/lfs/objects/batch", "POST", batch)[2])
        href = body["objects"][0]["actions"]["upload"]["href"]
        # committing before the object is uploaded fails
        lfs_op = {
            "key": "lfsFile",
            "value": {"path": "x/train.parquet", "algo": "sha256", "oid": oid, "size": len(data)},
        }
        assert _commit(url, "tester/d", [lfs_op])[0] == 422
        # the 1st upload fails (injected), the next succeeds; the upload URL needs no token (signed)
        hub.faults.fail("upload", nth=1, status=500)
        assert _call(href, "PUT", data, token=None)[0] == 500
        assert _call(href.replace("sig=", "sig=0"), "PUT", data, token=None)[0] == 403
        assert _call(href, "PUT", data, token=None)[0] == 200
        assert hub.uploads() == {oid: 1}
        # once stored, the batch API has nothing to upload for that object
        body = json.loads(_call(f"{url}/datasets/tester/d.git/info/lfs/objects/batch", "POST", batch)[2])
        assert "actions" not in body["objects"][0]
        # a commit fault, then the commit
        hub.faults.fail("commit", nth=1, status=500)
        assert _commit(url, "tester/d", [lfs_op])[0] == 500
        assert _commit(url, "tester/d", [lfs_op])[0] == 200
        assert hub.read_file("tester/d", "x/train.parquet") == data
        entry = json.loads(_call(f"{url}/api/datasets/tester/d/tree/main/x")[2])[0]
        assert entry["lfs"]["oid"] == oid and entry["size"] == len(data)
        # deleting a folder
        assert _commit(url, "tester/d", [{"key": "deletedFolder", "value": {"path": "x"}}])[0] == 200
        assert hub.repo_files("tester/d") == [".gitattributes"]
        assert hub.commit_count("tester/d") == 3
        assert all(TOKEN not in str(record) for record in hub.log)


def test_state_survives_a_restart(tmp_path: Path) -> None:
    with HubServer(tmp_path, token=TOKEN) as hub:
        _call(f"{hub.url}/api/repos/create", "POST", {"name": "d", "type": "dataset"})
        _commit(hub.url, "tester/d", [_file_op("keep.txt", b"1")])
    with HubServer(tmp_path, token=TOKEN) as hub:
        assert hub.repo_files("tester/d") == [".gitattributes", "keep.txt"]
    assert not any(TOKEN.encode() in p.read_bytes() for p in tmp_path.rglob("*") if p.is_file())
