"""Object storage for real: shard checkpoints (``--shards-dir s3://...``) and an ``s3://`` corpus through s3fs,
against moto's S3 server on 127.0.0.1, including a writer killed half-way through uploading a shard."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

pytest.importorskip("s3fs")
pytest.importorskip("moto.server")

import fsspec

import litelong_hf
from litelong_hf.corpus import CorpusError
from litelong_hf.pipeline import shard_complete, shard_files
from litelong_hf.presets import make_config
from litelong_hf.rowstore import link_rows, read_rows
from litelong_hf.testing.s3_server import S3Server, StallingProxy, endpoint_env, s3_server

SMALL = {"target_tokens": 4096, "num_shards": 2, "num_rows": 4}


@pytest.fixture(scope="module")
def s3() -> Iterator[S3Server]:
    with s3_server("litelong") as server:
        yield server


@pytest.fixture
def s3_env(s3: S3Server, monkeypatch: pytest.MonkeyPatch) -> S3Server:
    for name, value in s3.env.items():
        monkeypatch.setenv(name, value)
    return s3


def _fs() -> Any:
    fs = fsspec.filesystem("s3")
    fs.invalidate_cache()
    return fs


def rows_of(ds: Any, *columns: str) -> list[dict[str, Any]]:
    return [{k: v for k, v in dict(r).items() if not columns or k in columns} for r in ds]


def test_shards_written_to_s3_hold_the_rows_of_a_local_run(tmp_path: Path, s3_env: S3Server) -> None:
    local = litelong_hf.load("random-concat-64k", cache_dir=str(tmp_path / "local"), **SMALL)
    shards_dir = s3_env.url("shards-a")
    on_s3 = litelong_hf.load(
        "random-concat-64k", cache_dir=str(tmp_path / "s3"), shards_dir=shards_dir, **SMALL
    )
    assert rows_of(on_s3) == rows_of(local)
    config = make_config("random-concat-64k", cache_dir=str(tmp_path / "s3"), shards_dir=shards_dir, **SMALL)
    keys = sorted(_fs().find(f"{s3_env.bucket}/shards-a"))
    assert [k.rsplit("/", 1)[1] for k in keys] == [
        "shard-00000-of-00002-q2.parquet",
        "shard-00000-of-00002-q2.report.json",
        "shard-00001-of-00002-q2.parquet",
        "shard-00001-of-00002-q2.report.json",
    ]
    # The objects are the files a local run writes, byte for byte, and a re-run reuses them.
    local_config = make_config("random-concat-64k", cache_dir=str(tmp_path / "local"), **SMALL)
    for shard in range(2):
        remote = _fs().cat_file(shard_files(config, shard).rows.removeprefix("s3://"))
        assert remote == Path(shard_files(local_config, shard).rows).read_bytes()
        assert shard_complete(config, shard)
    again = litelong_hf.load(
        "random-concat-64k", cache_dir=str(tmp_path / "s3"), shards_dir=shards_dir, **SMALL
    )
    assert rows_of(again) == rows_of(local)
    # `generate --out DIR` copies the rows down from the store into DIR/parquet/ (no hard link to S3).
    linked = link_rows([shard_files(config, s).rows for s in range(2)], tmp_path / "out" / "parquet")
    assert [p.name for p in linked] == ["train-00000-of-00002.parquet", "train-00001-of-00002.parquet"]
    assert rows_of(read_rows(tmp_path / "out")) == rows_of(local)


_CHILD = """
import sys, litelong_hf
litelong_hf.load("random-concat-64k", cache_dir=sys.argv[1], shards_dir=sys.argv[2], target_tokens=4096,
                 num_shards=2, num_rows=4)
"""


def test_a_writer_killed_mid_upload_leaves_no_shard_that_counts(tmp_path: Path, s3_env: S3Server) -> None:
    shards_dir, cache = s3_env.url("shards-killed"), str(tmp_path / "s3")
    config = make_config("random-concat-64k", cache_dir=cache, shards_dir=shards_dir, **SMALL)
    first = shard_files(config, 0)
    # The child reaches S3 through a proxy that stops forwarding in the middle of shard 0's parquet upload.
    with StallingProxy(s3_env.endpoint, rb"PUT [^ ]*shard-00000-of-00002-q2\.parquet", keep=4096) as proxy:
        env = dict(os.environ, **endpoint_env(proxy.endpoint))
        child = subprocess.Popen(
            [sys.executable, "-c", _CHILD, cache, shards_dir], env=env, stderr=subprocess.PIPE, text=True
        )
        try:
            stalled = proxy.stalled.wait(timeout=180)
        finally:
            child.kill()
            _, errors = child.communicate(timeout=60)
        assert stalled, errors
    assert child.returncode != 0
    fs = _fs()
    # Nothing of shard 0 is taken as finished: no marker, and no object at its parquet key (S3 keeps a
    # single PUT that did not finish nowhere); the shard is incomplete and is made again.
    assert not fs.exists(first.report.removeprefix("s3://"))
    assert not fs.exists(first.rows.removeprefix("s3://"))
    assert not shard_complete(config, 0)
    redone = litelong_hf.load("random-concat-64k", cache_dir=cache, shards_dir=shards_dir, **SMALL)
    local = litelong_hf.load("random-concat-64k", cache_dir=str(tmp_path / "local"), **SMALL)
    assert rows_of(redone) == rows_of(local)
    assert all(shard_complete(config, shard) for shard in range(2))


def test_an_s3_corpus_gives_the_rows_of_the_same_files_on_disk(
    tmp_path: Path, s3_env: S3Server, demo_documents: list[Any]
) -> None:
    folder = tmp_path / "corpus"
    folder.mkdir()
    fs = _fs()
    for part in range(2):
        docs = demo_documents[part * 150 : (part + 1) * 150]
        table = pa.table({"id": [d.id for d in docs], "text": [d.text for d in docs]})
        pq.write_table(table, folder / f"part-{part}.parquet")
        fs.put_file(str(folder / f"part-{part}.parquet"), f"{s3_env.bucket}/corpus/part-{part}.parquet")
    common = {"id_column": "id", "target_tokens": 4096, "num_rows": 3}
    on_disk = litelong_hf.load(
        "random-concat-64k", corpus=str(folder), cache_dir=str(tmp_path / "a"), **common
    )
    remote = litelong_hf.load(
        "random-concat-64k", corpus=s3_env.url("corpus/*.parquet"), cache_dir=str(tmp_path / "b"), **common
    )
    assert len(remote) == 3
    assert rows_of(remote, "input_ids", "piece_lengths") == rows_of(on_disk, "input_ids", "piece_lengths")
    bad = s3_env.url("no-such-folder/*.parquet")
    with pytest.raises(CorpusError, match="No files match"):
        litelong_hf.load("random-concat-64k", corpus=bad, cache_dir=str(tmp_path / "c"), **common)


def test_exists_sees_an_object_another_process_wrote_after_a_listing(s3_env: S3Server) -> None:
    from litelong_hf import layout

    fs = _fs()
    fs.pipe_file(f"{s3_env.bucket}/listed/first.json", b"{}")
    assert fs.ls(f"{s3_env.bucket}/listed") == [f"{s3_env.bucket}/listed/first.json"]  # now cached
    code = "import fsspec; fsspec.filesystem('s3').pipe_file(__import__('sys').argv[1], b'{}')"
    subprocess.run(
        [sys.executable, "-c", code, f"{s3_env.bucket}/listed/marker.json"], check=True, timeout=60
    )
    assert layout.exists(s3_env.url("listed/marker.json"))  # a Ray worker's report marker, seen by the driver
