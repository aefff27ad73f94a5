"""Where things live on disk, and how they get there: the one owner of paths and atomic writes.

Caches (under ``cache_root(cache_dir)``)::

    indexes/<key>/             BM25 indexes (documents or chunks) and chunk pools, memory-mapped read-only
    corpora/<fingerprint>/     the disk-backed document store of one corpus snapshot
    llm/requests.sqlite        the LLM request cache
    shards/<name>-<hash>/      shard checkpoints: parquet + report + transcripts, plus completion markers
    topics/                    LiteLong topic caches
    stats/<key>.json           corpus statistics (LiteLong's mean tokens per document)
    tokenizers/<key>/          tokenizers exported from GGUF files or transformers (tokenizer.json)
    models/<key>/              GGUF models converted to HF folders (safetensors + tokenizer)
    datasets/                  ``datasets``' own folder (a prepared split only on an explicit export)
    embeddings/models/<key>/   static embedding tables distilled from the packaged MiniLM
    embeddings/stores/<key>/   chunk vectors (float16 or int8, memory-mapped) of one corpus and model
    llm/embeddings/            the embedding endpoint's request cache

Index keys come from :func:`document_index_key` and :func:`chunk_index_key`, nothing else.

A run directory (``litelong-hf generate --out DIR``)::

    DIR/parquet/            the rows: hard links to the run's shard parquet files (litelong_hf.rowstore)
    DIR/dataset/            (runs made before the row store) the rows as a saved ``datasets.Dataset``
    DIR/report.json         the merged run report
    DIR/transcripts.jsonl   LLM transcripts (LiteLong debates, hierarchical QA)
    DIR/config.yaml         the resolved config

Every write that others may read goes through :func:`atomic_write_bytes` / :func:`atomic_path`: the file
appears whole or not at all, locally or on any fsspec filesystem (``s3://...``), so a killed run never
leaves a half-written checkpoint that a re-run would trust. A cache folder (an index, a store, a chunk pool,
an exported tokenizer, a converted model) is made by :func:`build_once`: built once under a file lock by
whichever process gets there first, in a temporary sibling, then published with one rename.
:func:`check_writable` is the one write probe.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import fsspec

CACHE_ENV = "LITELONG_HF_CACHE"
"""Environment variable that moves the default cache root."""


def cache_root(cache_dir: str | os.PathLike[str] | None = None) -> Path:
    """Root of litelong-hf's caches: ``cache_dir``, else ``$LITELONG_HF_CACHE``, else
    ``~/.cache/litelong_hf``. Created if missing."""
    if cache_dir:
        root = Path(cache_dir)
    else:
        env = os.environ.get(CACHE_ENV)
        root = Path(env) if env else Path.home() / ".cache" / "litelong_hf"
    root.mkdir(parents=True, exist_ok=True)
    return root


def index_dir(key: str, cache_dir: str | os.PathLike[str] | None = None) -> Path:
    """Folder of the BM25 index with cache key ``key``."""
    return cache_root(cache_dir) / "indexes" / key


def corpus_store_dir(fingerprint: str, cache_dir: str | os.PathLike[str] | None = None) -> Path:
    """Folder of the disk-backed document store of the corpus snapshot ``fingerprint``."""
    return cache_root(cache_dir) / "corpora" / fingerprint


def llm_cache_dir(cache_dir: str | os.PathLike[str] | None = None) -> Path:
    """Folder of the LLM request cache."""
    return cache_root(cache_dir) / "llm"


def topics_cache_dir(cache_dir: str | os.PathLike[str] | None = None) -> Path:
    """Folder of LiteLong's topic caches."""
    return cache_root(cache_dir) / "topics"


def checkpoint_dir(name: str, config_hash: str, cache_dir: str | os.PathLike[str] | None = None) -> Path:
    """Folder of the shard checkpoints of one config (``name`` is the preset or strategy name)."""
    return cache_root(cache_dir) / "shards" / f"{name}-{config_hash}"


def stats_path(key: str, cache_dir: str | os.PathLike[str] | None = None) -> Path:
    """File of the corpus statistics with key ``key`` (e.g. LiteLong's mean tokens per document)."""
    return cache_root(cache_dir) / "stats" / f"{key}.json"


def tokenizer_dir(key: str, cache_dir: str | os.PathLike[str] | None = None) -> Path:
    """Folder of an exported tokenizer (``tokenizer.json`` and its chat template)."""
    return cache_root(cache_dir) / "tokenizers" / key


def model_dir(key: str, cache_dir: str | os.PathLike[str] | None = None) -> Path:
    """Folder of a converted model (an HF folder made from a GGUF file)."""
    return cache_root(cache_dir) / "models" / key


def embedding_model_dir(key: str, cache_dir: str | os.PathLike[str] | None = None) -> Path:
    """Folder of a static embedding table distilled from a transformer (built once per machine)."""
    return cache_root(cache_dir) / "embeddings" / "models" / key


def embedding_store_dir(key: str, cache_dir: str | os.PathLike[str] | None = None) -> Path:
    """Folder of the vector store ``key`` (corpus snapshot + chunking + embedding model fingerprints)."""
    return cache_root(cache_dir) / "embeddings" / "stores" / key


def embedding_request_cache_dir(cache_dir: str | os.PathLike[str] | None = None) -> Path:
    """Folder of the embedding endpoint's request cache (one vector per text sent)."""
    return llm_cache_dir(cache_dir) / "embeddings"


def datasets_cache_dir(cache_dir: str | os.PathLike[str] | None = None) -> Path:
    """``datasets``' cache (``cache_dir=`` of the builder), beside our own caches."""
    return cache_root(cache_dir) / "datasets"


def document_index_key(corpus_fingerprint: str) -> str:
    """Cache key of the BM25 index of a corpus's documents (LiteLong, ``litelong-hf index build``)."""
    return f"docs-{corpus_fingerprint}"


def chunk_index_key(corpus_fingerprint: str, chunk_chars: int, split_long_lines: str) -> str:
    """Cache key of the chunk index of a corpus snapshot and chunking (the index config is appended)."""
    return f"nextlong-chunks-{corpus_fingerprint}-c{chunk_chars}-{split_long_lines}"


# ---------------------------------------------------------------------------------------------- writes


def check_writable(folder: str | os.PathLike[str]) -> Path:
    """Create ``folder`` and write then delete an empty file in it; raise the ``OSError`` if that fails.

    The one write probe: callers turn the error into their own message naming the fix."""
    path = Path(folder)
    path.mkdir(parents=True, exist_ok=True)
    probe = path / f".write-test-{os.getpid()}-{secrets.token_hex(3)}"
    probe.write_bytes(b"")
    probe.unlink()
    return path


def build_once(
    target: str | os.PathLike[str], done: str, build: Callable[[Path], None], *, in_place: bool = False
) -> Path:
    """The folder ``target``, built once: ``build(tmp)`` fills a temporary sibling, which is renamed to
    ``target`` when ``tmp/done`` exists.

    Under a file lock (``target.lock``), so processes starting together build it once and the others wait;
    ``target/done`` marks a finished folder, so a half-built folder (a killed builder) is never trusted but
    removed and built again. ``in_place``: for builders that resume their own unfinished work (the document
    store, a BM25 index, a chunk pool) and write ``done`` last, atomically: ``build(target)`` runs on the
    folder itself, keeping what a killed build left. Raises ``RuntimeError`` when ``build`` returns without
    writing ``done``.
    """
    from filelock import FileLock

    final = Path(target)
    if (final / done).is_file():
        return final
    final.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(final) + ".lock"):
        if (final / done).is_file():
            return final
        if in_place:
            final.mkdir(parents=True, exist_ok=True)
            build(final)
            if not (final / done).is_file():
                raise RuntimeError(f"building {final} wrote no {done}")
            return final
        with atomic_folder(final) as tmp:
            build(tmp)
            if not (tmp / done).is_file():
                raise RuntimeError(f"building {final} wrote no {done}")
    return final


@contextmanager
def atomic_folder(target: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield an empty temporary sibling of the local folder ``target``; on success it replaces ``target``
    (whatever was there) with one rename. On an exception the temporary folder is removed and ``target``
    is left as it was. Callers that may race hold a lock (:func:`build_once` does)."""
    final = Path(target)
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = final.with_name(f".{final.name}.{os.getpid()}.{secrets.token_hex(3)}.tmp")
    tmp.mkdir()
    try:
        yield tmp
        if final.exists():
            shutil.rmtree(final)
        os.replace(tmp, final)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


@contextmanager
def published_folder(target: str | os.PathLike[str], *, last: Iterable[str] = ()) -> Iterator[Path]:
    """Yield an empty local folder to fill; when the block succeeds it becomes ``target``, whole.

    A local ``target``: :func:`atomic_folder` (one rename). An fsspec URL (``s3://...``): the old folder is
    removed and the files go up one by one, those named in ``last`` (an index, a manifest) at the end, so
    a reader that waits for them sees a complete folder. On an exception nothing is published."""
    if _is_local(target):
        with atomic_folder(_local(target).expanduser()) as tmp:
            yield tmp
        return
    import tempfile

    fs, remote = fsspec.core.url_to_fs(os.fspath(target))
    final_names = set(last)
    with tempfile.TemporaryDirectory(prefix="litelong-hf-") as folder:
        tmp = Path(folder)
        yield tmp
        if fs.exists(remote):
            fs.rm(remote, recursive=True)
        files = sorted((p for p in tmp.rglob("*") if p.is_file()), key=lambda p: (p.name in final_names, p))
        for local in files:
            fs.put_file(str(local), f"{remote.rstrip('/')}/{local.relative_to(tmp).as_posix()}")


def _is_local(path: str | os.PathLike[str]) -> bool:
    text = os.fspath(path)
    return "://" not in text or text.startswith("file://")


def _local(path: str | os.PathLike[str]) -> Path:
    return Path(os.fspath(path).removeprefix("file://"))


@contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[str]:
    """Yield a temporary path to write to; on success it replaces ``path`` in one step.

    Local paths use ``os.replace`` (atomic on POSIX). Remote fsspec paths are written locally and uploaded
    with one ``put`` (object stores publish an object whole). On an exception nothing appears at ``path``.
    """
    target = os.fspath(path)
    if _is_local(target):
        final = _local(target)
        final.parent.mkdir(parents=True, exist_ok=True)
        tmp = final.with_name(f".{final.name}.{os.getpid()}.{secrets.token_hex(3)}.tmp")
        try:
            yield str(tmp)
            os.replace(tmp, final)
        finally:
            if tmp.exists():
                tmp.unlink()
        return
    import tempfile

    fs, remote = fsspec.core.url_to_fs(target)
    with tempfile.TemporaryDirectory(prefix="litelong-hf-") as folder:
        local = str(Path(folder) / Path(remote).name)
        yield local
        fs.put_file(local, remote)


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> None:
    """Write ``data`` to ``path`` (local or fsspec) so readers see the old file or the new one, never half."""
    with atomic_path(path) as tmp, open(tmp, "wb") as handle:
        handle.write(data)


def atomic_write_text(path: str | os.PathLike[str], text: str) -> None:
    """:func:`atomic_write_bytes` for UTF-8 text."""
    atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_json(path: str | os.PathLike[str], value: Any) -> None:
    """Write ``value`` as indented JSON, atomically."""
    atomic_write_text(path, json.dumps(value, indent=2, ensure_ascii=False, default=str) + "\n")


def atomic_write_jsonl(path: str | os.PathLike[str], records: Iterable[Any]) -> None:
    """Write one JSON object per line, atomically."""
    atomic_write_text(path, "".join(json.dumps(r, ensure_ascii=False, default=str) + "\n" for r in records))


def exists(path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` (local or fsspec) exists, asked of the store itself: another process (a Ray worker)
    may have written it since this one listed its folder, so a cached listing is dropped first."""
    if _is_local(path):
        return _local(path).exists()
    fs, remote = fsspec.core.url_to_fs(os.fspath(path))
    fs.invalidate_cache(remote)
    return bool(fs.exists(remote))


def read_text(path: str | os.PathLike[str]) -> str:
    """The UTF-8 text of ``path`` (local or fsspec)."""
    with fsspec.open(os.fspath(path), "r", encoding="utf-8") as handle:
        return str(handle.read())


def read_jsonl(path: str | os.PathLike[str]) -> list[Any]:
    """The records of a JSONL file (blank lines skipped)."""
    return [json.loads(line) for line in read_text(path).splitlines() if line.strip()]


# ------------------------------------------------------------------------------------------ run directory


@dataclass(frozen=True)
class RunDir:
    """The output folder of ``litelong-hf generate --out DIR``; read by ``push``, ``train`` and ``eval``."""

    root: Path

    @property
    def dataset(self) -> Path:
        return self.root / "dataset"

    @property
    def parquet(self) -> Path:
        return self.root / "parquet"

    @property
    def report(self) -> Path:
        return self.root / "report.json"

    @property
    def transcripts(self) -> Path:
        return self.root / "transcripts.jsonl"

    @property
    def config(self) -> Path:
        return self.root / "config.yaml"

    def is_run(self) -> bool:
        """Whether the folder holds a finished run (rows and report)."""
        return (self.parquet.is_dir() or self.dataset.is_dir()) and self.report.is_file()

    def load_report(self) -> dict[str, Any]:
        return dict(json.loads(self.report.read_text(encoding="utf-8")))


# ------------------------------------------------------------------------------------------ topics files

TOPIC_FIELDS = ("top", "sub", "title")
"""Required keys of every line of a topics file (``explanation`` and ``code`` are optional)."""


class TopicsFileError(ValueError):
    """A topics file is missing or malformed; the message names the line and the fix."""


def write_topics(path: str | os.PathLike[str], topics: Iterable[dict[str, Any]]) -> None:
    """Write LiteLong topics as JSONL (one ``{top, sub, title, explanation?, ...}`` per line), atomically."""
    atomic_write_jsonl(path, topics)


def read_topics(path: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """Read and check a topics file written by :func:`write_topics` (or by hand).

    Raises :class:`TopicsFileError` naming the first bad line.
    """
    if not exists(path):
        raise TopicsFileError(f"topics file {path} does not exist; write one with `litelong-hf topics`.")
    topics: list[dict[str, Any]] = []
    for number, line in enumerate(read_text(path).splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise TopicsFileError(
                f"{path}, line {number}: not JSON ({exc.msg}). Each line must be an object like "
                '{"top": "SCIENCE", "sub": "Astronomy", "title": "..."}.'
            ) from None
        if not isinstance(record, dict):
            raise TopicsFileError(
                f"{path}, line {number}: expected a JSON object, got {type(record).__name__}."
            )
        if "title" not in record and isinstance(record.get("topic"), str):
            record["title"] = record["topic"]  # the debate's own key, accepted for hand-written files
        missing = [k for k in TOPIC_FIELDS if not isinstance(record.get(k), str) or not record[k].strip()]
        if missing:
            raise TopicsFileError(
                f"{path}, line {number}: missing or empty {', '.join(missing)}; every line needs "
                f"{', '.join(TOPIC_FIELDS)}."
            )
        topics.append(record)
    if not topics:
        raise TopicsFileError(f"topics file {path} holds no topics; write it with `litelong-hf topics`.")
    return topics
