"""Where a corpus's documents come from: the source's kind, its concrete files, and its fingerprint.

:func:`source_kind` tells the demo, local or fsspec files and a Hub dataset apart; files sources resolve to
a sorted list of one format; :func:`corpus_fingerprint` hashes a spec with what identifies its documents
now (file sizes, modification times or versions and content samples, or the Hub revision), so every cache
keyed by it changes exactly when the documents could. :mod:`litelong_hf.corpus` reads the documents and
re-exports these names.
"""

from __future__ import annotations

import glob
import hashlib
import json
import os
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .resources import demo_corpus_zip

if TYPE_CHECKING:
    from .corpus import CorpusConfig

DEMO = "demo"
FILE_FORMATS = {".parquet": "parquet", ".jsonl": "json", ".json": "json", ".txt": "text", ".csv": "csv"}
_SAMPLE_BYTES = 64 * 1024  # read from the head, the middle and the tail of each file for its fingerprint


class CorpusError(ValueError):
    """The corpus cannot be read as configured; the message names the fix."""


def source_kind(source: str) -> str:
    """Classify a corpus source string as ``demo``, ``files`` or ``hub``."""
    if source == DEMO:
        return DEMO
    if "://" in source or any(ch in source for ch in "*?[") or Path(source).expanduser().exists():
        return "files"
    if Path(source).suffix.lower() in FILE_FORMATS or source.startswith((".", "/", "~")):
        return "files"  # a local file that does not exist: reported as such when read
    return "hub"


def expand_local(source: str) -> list[str]:
    if "://" in source and not source.startswith("file://"):
        return []
    path = source.removeprefix("file://")
    path = os.path.expanduser(path)
    if os.path.isdir(path):
        return sorted(
            str(p) for p in Path(path).rglob("*") if p.is_file() and p.suffix.lower() in FILE_FORMATS
        )
    return sorted(glob.glob(path, recursive=True))


def resolve_files(source: str) -> list[str]:
    """Concrete file list (local or fsspec) for a files source, with errors that name the fix."""
    if "://" in source and not source.startswith("file://"):
        try:
            files = sorted(_fsspec_glob(source))
        except (OSError, ValueError, ImportError) as exc:
            raise CorpusError(f"Cannot list {source!r}: {exc}. Check the URL and credentials.") from exc
    else:
        files = expand_local(source)
    if not files:
        raise CorpusError(
            f"No files match {source!r}. Pass an existing path, a glob such as 'data/*.parquet', a folder, "
            "'demo', or a Hub dataset id."
        )
    bad = sorted({Path(f).suffix.lower() for f in files} - set(FILE_FORMATS))
    if bad:
        raise CorpusError(f"Unsupported file type(s) {bad} in {source!r}; use one of {sorted(FILE_FORMATS)}.")
    if len({FILE_FORMATS[Path(f).suffix.lower()] for f in files}) > 1:
        raise CorpusError(f"{source!r} mixes file formats; point it at one format at a time.")
    return files


def _fsspec_glob(url: str) -> list[str]:
    import fsspec

    fs, _, paths = fsspec.get_fs_token_paths(url)
    protocol = fs.protocol[0] if isinstance(fs.protocol, tuple | list) else fs.protocol
    return [p if "://" in p else f"{protocol}://{p}" for p in paths]


# ------------------------------------------------------------------------------------------ fingerprints

_FINGERPRINTS: dict[str, str] = {}


def _sample_hash(read: Any, size: int) -> str:
    """Hash of up to three slices (head, middle, tail) of a file, read through ``read(offset, n)``."""
    digest = hashlib.sha256()
    offsets = sorted({0, max(0, size // 2 - _SAMPLE_BYTES // 2), max(0, size - _SAMPLE_BYTES)})
    for offset in offsets:
        digest.update(read(offset, min(_SAMPLE_BYTES, size - offset)))
    return digest.hexdigest()[:16]


def _local_file_signature(path: str) -> list[Any]:
    stat = os.stat(path)

    def read(offset: int, n: int) -> bytes:
        with open(path, "rb") as handle:
            handle.seek(offset)
            return handle.read(n)

    return [path, stat.st_size, stat.st_mtime_ns, _sample_hash(read, stat.st_size)]


def _remote_file_signature(url: str) -> list[Any]:
    import fsspec

    fs, path = fsspec.core.url_to_fs(url)
    info = fs.info(path)
    size = int(info.get("size") or 0)
    version = next(
        (str(info[k]) for k in ("ETag", "etag", "mtime", "LastModified", "last_modified") if info.get(k)), ""
    )

    def read(offset: int, n: int) -> bytes:
        return bytes(fs.read_block(path, offset, n))

    return [url, size, version, _sample_hash(read, size)]


def hub_revision(source: str, name: str | None = None) -> str:
    """The commit sha the Hub resolves dataset ``source`` to now (``HfApi().dataset_info(id).sha``).

    Honours ``HF_ENDPOINT`` at call time (tests point it at the local Hub server).
    """
    from huggingface_hub import HfApi
    from huggingface_hub.errors import HfHubHTTPError, OfflineModeIsEnabled, RepositoryNotFoundError

    del name  # a configuration lives inside the same repository revision
    try:
        info = HfApi(endpoint=os.environ.get("HF_ENDPOINT") or None).dataset_info(source)
    except OfflineModeIsEnabled:
        raise CorpusError(
            f"Cannot resolve the revision of Hub dataset {source!r}: this machine is offline (HF_HUB_OFFLINE=1); "
            "use a local path ('data/*.parquet') or corpus='demo'."
        ) from None
    except RepositoryNotFoundError:
        raise CorpusError(
            f"Hub dataset {source!r} does not exist (or is private/gated and you are not logged in); check the id."
        ) from None
    except (HfHubHTTPError, OSError) as exc:
        raise CorpusError(
            f"Cannot reach the Hub for dataset {source!r} ({type(exc).__name__}); check your network, or use a "
            "local path or corpus='demo'."
        ) from None
    if not info.sha:
        raise CorpusError(f"The Hub did not report a revision for {source!r}; try again later.")
    return str(info.sha)


def corpus_fingerprint(spec: CorpusConfig) -> str:
    """A 16-hex hash that changes whenever the documents of ``spec`` could change, and only then.

    The spec (columns, filters, budgets) plus, per source: local files, their sizes, modification times and a
    hash of samples of their content; remote fsspec files, their sizes, versions (ETag or mtime) and content
    samples; a Hub dataset, the revision sha the Hub resolves it to; the demo, its archive's size and sample.
    """
    payload: dict[str, Any] = {"spec": {k: v for k, v in asdict(spec).items() if k != "num_proc"}}
    if spec.kind == "files":
        remote = "://" in spec.source and not spec.source.startswith("file://")
        files = (
            resolve_files(spec.source)
            if remote
            else [p for p in expand_local(spec.source) if os.path.isfile(p)]
        )
        try:
            payload["files"] = [
                _remote_file_signature(f) if remote else _local_file_signature(f) for f in files
            ]
        except OSError as exc:
            raise CorpusError(f"Cannot read {spec.source!r} to fingerprint it: {exc}.") from None
    elif spec.kind == DEMO:
        # The packaged archive: size and content samples only (its mtime is the install time).
        _, size, _, sample = _local_file_signature(str(demo_corpus_zip()))
        payload["demo"] = [size, sample]
    else:
        memo = json.dumps(payload, sort_keys=True)
        if memo not in _FINGERPRINTS:  # one Hub lookup per process and spec
            _FINGERPRINTS[memo] = hub_revision(spec.source, spec.name)
        payload["revision"] = _FINGERPRINTS[memo]
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:16]
