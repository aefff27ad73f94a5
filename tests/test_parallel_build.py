"""Parallel ingest and index build (issue 21, item 2): the same store bytes and the same index as one process.

A small parquet corpus of several files and row groups, with short documents and duplicates inside and
across parts, is read and indexed once in this process and once by 2 forked workers (and once by Ray tasks);
every file of the store and of the index folder must be byte-identical, and searches equal.
"""

from __future__ import annotations

import filecmp
import itertools
import os
import random
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from litelong_hf import docstore, ingest
from litelong_hf.corpus import CorpusConfig, CorpusError
from litelong_hf.index import IndexConfig, get_or_build_index, index_path, parallel

WORDS = [
    *("sun", "star", "cat", "purr", "dog", "bark", "election", "vote", "policy", "court", "river", "tree"),
    *("green", "planet", "orbit", "light", "dark", "running", "runner", "runs", "ran", "the", "a", "of"),
]


def _write_corpus(folder: Path, n_files: int = 4, per_file: int = 700, repeat_id: bool = False) -> str:
    rng = random.Random(7)
    texts: list[str] = []
    for _ in range(n_files * per_file):
        r = rng.random()
        if r < 0.05:
            texts.append("tiny")
        elif r < 0.12 and texts:
            texts.append(rng.choice(texts))  # a duplicate, often of another part
        else:
            texts.append(" ".join(rng.choice(WORDS) for _ in range(rng.randint(4, 60))))
    folder.mkdir(parents=True, exist_ok=True)
    for f in range(n_files):
        chunk = texts[f * per_file : (f + 1) * per_file]
        ids = [f"d{f}-{i}" for i in range(len(chunk))]
        if repeat_id and f == n_files - 1:
            ids[5] = "d0-9"
        table = pa.table({"id": ids, "text": chunk, "source": [f"s{i % 3}" for i in range(len(chunk))]})
        pq.write_table(table, folder / f"part-{f}.parquet", row_group_size=300)
    return str(folder / "*.parquet")


def _same_files(a: Path, b: Path) -> list[str]:
    """Relative paths of the files that differ (or exist on one side only)."""
    names = {os.path.relpath(os.path.join(r, f), a) for r, _, fs in os.walk(a) for f in fs}
    other = {os.path.relpath(os.path.join(r, f), b) for r, _, fs in os.walk(b) for f in fs}
    differ = sorted(names ^ other)
    differ += [n for n in sorted(names & other) if not filecmp.cmp(a / n, b / n, shallow=False)]
    return differ


@pytest.fixture
def small_parts(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(docstore, "PART_DOCS", 400)  # several store parts from a small corpus
    monkeypatch.setattr(parallel, "MIN_PART_DOCS", 200)


@pytest.mark.parametrize(
    "limits", [{}, {"max_bytes": 50_000}, {"max_documents": 1_234}, {"dedup": False, "min_chars": 0}]
)
def test_parallel_ingest_writes_the_same_store(
    tmp_path: Path, small_parts: None, limits: dict[str, Any]
) -> None:
    source = _write_corpus(tmp_path / "corpus")
    spec = CorpusConfig(source=source, id_column="id", **limits)
    one = docstore.open_store(spec, cache_dir=tmp_path / "one", show_progress=False)
    two = docstore.open_store(
        CorpusConfig(source=source, id_column="id", num_proc=2, **limits),
        cache_dir=tmp_path / "two",
        show_progress=False,
    )
    assert one.fingerprint == two.fingerprint  # num_proc is no part of what the store holds
    assert len(ingest.plan_parts(spec) or []) == 12  # 4 files of 3 row groups: read in parts
    assert _same_files(one.path, two.path) == []
    assert len(one) == len(two) > 0 and one.report().to_dict() == two.report().to_dict()


def test_parallel_index_is_the_same_folder(tmp_path: Path, small_parts: None) -> None:
    source = _write_corpus(tmp_path / "corpus")
    store = docstore.open_store(CorpusConfig(source=source, id_column="id"), show_progress=False)
    queries = ["sun star", "election court river", "running cat", "the"]
    for config in (IndexConfig(), IndexConfig(stemmer=None, stopwords=None, method="bm25+")):
        one = get_or_build_index(
            "k", batches=store.batches, config=config, cache_dir=tmp_path / "one", shard_docs=900
        )
        two = get_or_build_index(
            "k",
            batches=store.batches,
            config=config,
            cache_dir=tmp_path / "two",
            shard_docs=900,
            num_proc=2,
            show_progress=False,
        )
        assert len(two.shards) == 3
        assert (
            _same_files(index_path("k", config, tmp_path / "one"), index_path("k", config, tmp_path / "two"))
            == []
        )
        assert one.search(queries, k=7) == two.search(queries, k=7)


def test_parallel_chunk_style_items_build_the_same_index(tmp_path: Path, small_parts: None) -> None:
    """Items given as sequences (NExtLong's chunk pool) are split by range as well."""
    rng = random.Random(3)
    ids = [f"c{i}" for i in range(2_500)]
    texts = [" ".join(rng.choice(WORDS) for _ in range(rng.randint(1, 30))) for _ in ids]
    one = get_or_build_index("c", lambda: (ids, texts), cache_dir=tmp_path / "one")
    two = get_or_build_index("c", lambda: (ids, texts), cache_dir=tmp_path / "two", num_proc=2)
    config = IndexConfig()
    assert (
        _same_files(index_path("c", config, tmp_path / "one"), index_path("c", config, tmp_path / "two"))
        == []
    )
    assert one.search(["orbit planet"], k=20) == two.search(["orbit planet"], k=20)


def test_an_interrupted_parallel_ingest_reads_only_the_parts_left(
    tmp_path: Path, small_parts: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = _write_corpus(tmp_path / "corpus")
    spec = CorpusConfig(source=source, id_column="id", num_proc=2)
    parts = ingest.plan_parts(spec)
    assert parts is not None
    folder = docstore.store_path(spec, tmp_path / "two") / ingest.INGEST_DIR
    folder.mkdir(parents=True)
    for part in parts[:7]:  # what a killed ingest had finished
        ingest.read_part(spec, part, str(folder))
    log = tmp_path / "read.log"
    real = ingest.read_part

    def counting(spec: CorpusConfig, part: ingest.SourcePart, *args: Any) -> dict[str, Any]:
        with open(log, "a") as handle:  # the workers are forked: they tell through a file
            handle.write(f"{part.number}\n")
        return real(spec, part, *args)

    monkeypatch.setattr(ingest, "read_part", counting)
    two = docstore.open_store(spec, cache_dir=tmp_path / "two", show_progress=False)
    assert sorted(int(n) for n in log.read_text().split()) == [p.number for p in parts[7:]]
    assert two.path == folder.parent
    one = docstore.open_store(CorpusConfig(source=source, id_column="id"), cache_dir=tmp_path / "one")
    assert _same_files(one.path, folder.parent) == []
    assert not folder.exists()  # the candidates go once the store is done


def test_an_interrupted_parallel_index_build_skips_finished_parts(tmp_path: Path, small_parts: None) -> None:
    rng = random.Random(5)
    ids = [f"c{i}" for i in range(2_400)]
    texts = [" ".join(rng.choice(WORDS) for _ in range(rng.randint(1, 30))) for _ in ids]
    folder = tmp_path / "index"
    (folder / "parts").mkdir(parents=True)
    reader = parallel.SliceReader(ids, texts)
    parts = parallel.plan(len(ids), 100_000, 2)
    assert len(parts) == 4
    parallel.build_part(reader, *parts[0], IndexConfig(), str(folder / "parts"))
    stamp = next((folder / "parts").glob("*.npz")).stat().st_mtime_ns
    with ingest.build_settings(num_proc=2):
        parallel.build_parallel(
            reader, len(ids), IndexConfig(), folder, shard_docs=100_000, settings=ingest.current_settings()
        )
    assert not (folder / "parts").exists()
    assert next(iter(sorted(folder.parent.glob("index")))).is_dir()
    get_or_build_index("x", lambda: (ids, texts), cache_dir=tmp_path / "one")
    assert _same_files(index_path("x", IndexConfig(), tmp_path / "one"), folder) == []
    del stamp


def test_a_repeated_id_across_parts_is_the_same_error(tmp_path: Path, small_parts: None) -> None:
    source = _write_corpus(tmp_path / "corpus", repeat_id=True)
    messages = []
    for procs in (None, 2):
        with pytest.raises(CorpusError) as caught:
            docstore.open_store(
                CorpusConfig(source=source, id_column="id", num_proc=procs), cache_dir=tmp_path / f"c{procs}"
            )
        messages.append(str(caught.value))
    assert messages[0] == messages[1] and "'d0-9' appears twice" in messages[0]


def test_parts_tile_the_shards() -> None:
    parts = parallel.plan(250_000, 100_000, 2)
    assert parts[0][0] == 0 and parts[-1][1] == 250_000
    assert all(a[1] == b[0] for a, b in itertools.pairwise(parts))
    assert all(lo // 100_000 == (hi - 1) // 100_000 for lo, hi in parts)  # no part spans two shards


def test_num_proc_is_a_flag_of_the_corpus_commands() -> None:
    from typer.testing import CliRunner

    from litelong_hf.cli import app

    for command in (
        ["index", "build", "--help"],
        ["corpus", "stats", "--help"],
        ["generate", "nextlong-64k", "--help"],
    ):
        result = CliRunner().invoke(app, command, env={"COLUMNS": "200"})
        assert result.exit_code == 0, result.output
        assert result.output.count("--num-proc") == 1, command


def test_ray_tasks_build_the_same_store_and_index(tmp_path: Path, small_parts: None) -> None:
    ray = pytest.importorskip("ray")
    source = _write_corpus(tmp_path / "corpus", n_files=2)
    spec = CorpusConfig(source=source, id_column="id")
    one = docstore.open_store(spec, cache_dir=tmp_path / "one", show_progress=False)
    one_index = get_or_build_index("k", batches=one.batches, cache_dir=tmp_path / "one")
    ray.init(
        num_cpus=2,
        _node_ip_address="127.0.0.1",
        include_dashboard=False,
        log_to_driver=False,
        configure_logging=False,
    )
    try:
        with ingest.build_settings(num_proc=2, executor="ray"):
            two = docstore.open_store(spec, cache_dir=tmp_path / "two", show_progress=False)
            two_index = get_or_build_index("k", batches=two.batches, cache_dir=tmp_path / "two")
    finally:
        ray.shutdown()
    assert _same_files(one.path, two.path) == []
    config = IndexConfig()
    assert (
        _same_files(index_path("k", config, tmp_path / "one"), index_path("k", config, tmp_path / "two"))
        == []
    )
    assert one_index.search(["sun star"], k=5) == two_index.search(["sun star"], k=5)
