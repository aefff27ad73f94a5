from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from litelong_hf.corpus import (
    CorpusConfig,
    CorpusError,
    Document,
    corpus_fingerprint,
    hub_revision,
    iter_documents,
    load_documents,
    open_store,
    source_kind,
)
from litelong_hf.report import RunReport


def test_demo_corpus_counts_and_skips(demo_documents: list[Document]) -> None:
    report = RunReport()
    docs = load_documents(CorpusConfig(), report)
    # 3,824 articles: 46 shorter than 20 characters, 3 more exact duplicates among the rest.
    assert len(docs) == 3775 == len(demo_documents)
    assert report.skipped["document"]["shorter than min_chars=20"] == 46
    assert report.skipped["document"]["exact duplicate text"] == 3
    assert len(docs) + report.total_skipped("document") == 3824
    assert docs[0].id == "news-00001"
    assert docs[0].meta["source"] == "abcnews.go.com" and "id" not in docs[0].meta
    assert len({d.id for d in docs}) == len(docs)
    assert len({d.text for d in docs}) == len(docs)


def test_dedup_can_be_disabled() -> None:
    assert len(load_documents(CorpusConfig(dedup=False))) == 3778


def test_max_documents_and_order_is_stable() -> None:
    first = [d.id for d in load_documents(CorpusConfig(max_documents=5))]
    again = [d.id for d in load_documents(CorpusConfig(max_documents=5))]
    assert first == again == [f"news-{i:05d}" for i in range(1, 6)]


@pytest.fixture
def parquet_corpus(tmp_path: Path) -> Path:
    table = pa.table(
        {
            "url": ["u1", "u2", "u3", "u4"],
            "content": [
                "alpha beta gamma delta epsilon",
                "short",
                "alpha beta gamma delta epsilon",
                "zeta eta theta",
            ],
        }
    )
    pq.write_table(table, tmp_path / "part-0.parquet")
    return tmp_path


def test_parquet_with_columns_minimum_and_dedup(parquet_corpus: Path) -> None:
    report = RunReport()
    spec = CorpusConfig(
        source=str(parquet_corpus / "*.parquet"), text_column="content", id_column="url", min_chars=10
    )
    docs = load_documents(spec, report)
    assert [d.id for d in docs] == ["u1", "u4"]
    assert report.skipped["document"] == {"shorter than min_chars=10": 1, "exact duplicate text": 1}


def test_folder_jsonl_and_txt_sources(tmp_path: Path) -> None:
    jsonl = tmp_path / "j"
    jsonl.mkdir()
    (jsonl / "a.jsonl").write_text(
        "\n".join(json.dumps({"text": f"document number {i} here"}) for i in range(3))
    )
    assert [d.id for d in load_documents(CorpusConfig(source=str(jsonl)))] == [
        "000000000",
        "000000001",
        "000000002",
    ]
    txt = tmp_path / "t"
    txt.mkdir()
    (txt / "one.txt").write_text("first line\nsecond line of the first document")
    (txt / "two.txt").write_text("another whole document as one file")
    docs = load_documents(CorpusConfig(source=str(txt / "*.txt")))
    assert [d.id for d in docs] == ["one.txt", "two.txt"]
    assert docs[0].text.startswith("first line\nsecond")


def test_missing_column_lists_existing_columns(parquet_corpus: Path) -> None:
    with pytest.raises(CorpusError, match=r"no column 'text'.*\['content', 'url'\]"):
        load_documents(CorpusConfig(source=str(parquet_corpus)))
    with pytest.raises(CorpusError, match="no id column 'doc'"):
        load_documents(CorpusConfig(source=str(parquet_corpus), text_column="content", id_column="doc"))


def test_empty_corpus_names_the_fix(tmp_path: Path) -> None:
    (tmp_path / "e.jsonl").write_text(json.dumps({"text": "tiny"}) + "\n")
    with pytest.raises(CorpusError, match=r"yielded no documents.*min_chars"):
        load_documents(CorpusConfig(source=str(tmp_path / "e.jsonl")))


def test_missing_and_unreadable_files(tmp_path: Path) -> None:
    with pytest.raises(CorpusError, match="No files match"):
        load_documents(CorpusConfig(source=str(tmp_path / "nothing" / "*.parquet")))
    (tmp_path / "bad.jsonl").write_text("{not json\n")
    with pytest.raises(CorpusError, match="Cannot read json files"):
        load_documents(CorpusConfig(source=str(tmp_path / "bad.jsonl")))
    (tmp_path / "bad.parquet").write_bytes(b"PAR1 definitely not parquet")
    with pytest.raises(CorpusError, match="Cannot read parquet"):
        load_documents(CorpusConfig(source=str(tmp_path / "bad.parquet")))


def test_hub_id_while_offline_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    with pytest.raises(CorpusError, match=r"offline.*corpus='demo'"):
        load_documents(CorpusConfig(source="HuggingFaceFW/fineweb-edu", max_documents=1))


def test_source_kinds_and_fingerprint(tmp_path: Path) -> None:
    assert source_kind("demo") == "demo"
    assert source_kind("HuggingFaceFW/fineweb-edu") == "hub"
    assert source_kind("data/*.parquet") == "files"
    assert source_kind("s3://bucket/x.parquet") == "files"
    f = tmp_path / "a.jsonl"
    f.write_text(json.dumps({"text": "some document text"}) + "\n")
    spec = CorpusConfig(source=str(f))
    before = spec.fingerprint()
    assert before == CorpusConfig(source=str(f)).fingerprint()
    f.write_text(json.dumps({"text": "some other document text, longer"}) + "\n")
    assert spec.fingerprint() != before
    assert CorpusConfig(min_chars=5).fingerprint() != CorpusConfig().fingerprint()


def test_bad_config_values() -> None:
    with pytest.raises(CorpusError):
        CorpusConfig(source="")
    with pytest.raises(CorpusError):
        CorpusConfig(max_documents=0)
    with pytest.raises(CorpusError):
        CorpusConfig(min_chars=-1)


def test_iter_documents_is_lazy() -> None:
    it = iter_documents(CorpusConfig())
    assert next(it).id == "news-00001"


# ------------------------------------------------------------------------------------------ document store


def test_store_holds_the_accepted_documents_by_position(
    demo_documents: list[Document], tmp_path: Path
) -> None:
    store = open_store(CorpusConfig(), cache_dir=tmp_path)
    assert len(store) == len(demo_documents) == 3775
    for i in (0, 1, 1023, 1024, 3774):
        doc = demo_documents[i]
        assert (store.doc_id(i), store.text(i), store.meta(i)) == (doc.id, doc.text, doc.meta)
        assert store[doc.id] == doc and store.position(doc.id) == i
    assert store.texts([5, 2, 5]) == [demo_documents[5].text, demo_documents[2].text, demo_documents[5].text]
    assert list(store.documents(3000, 3003)) == demo_documents[3000:3003]
    batches = list(store.batches(1000))
    assert [len(ids) for ids, _ in batches] == [1000, 1000, 1000, 775]
    assert [i for ids, _ in batches for i in ids] == store.ids == [d.id for d in demo_documents]
    report = store.report()
    assert report.stats["documents"] == 3775 and report.skipped["document"]["exact duplicate text"] == 3
    # Memory-mapped Arrow parts under the corpus-store folder of its fingerprint.
    assert store.path == tmp_path / "corpora" / CorpusConfig().fingerprint()
    assert sorted(p.name for p in store.path.glob("part-*.arrow")) == ["part-00000.arrow"]
    with pytest.raises(IndexError):
        store.text(3775)


def _jsonl_corpus(path: Path, n: int) -> Path:
    path.write_text(
        "".join(json.dumps({"text": f"document {i} about topic {i % 7} " * 3}) + "\n" for i in range(n))
    )
    return path


def test_store_read_is_resumed_after_an_interruption(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import litelong_hf.docstore as docstore

    source = _jsonl_corpus(tmp_path / "c.jsonl", 250)
    spec = CorpusConfig(source=str(source))
    monkeypatch.setattr(docstore, "PART_DOCS", 40)
    real = docstore.DocumentFilter.accept
    calls = {"n": 0}

    def flaky(self: Any, position: int, record: dict[str, Any]) -> Any:
        calls["n"] += 1
        if calls["n"] == 130:
            raise KeyboardInterrupt
        return real(self, position, record)

    monkeypatch.setattr(docstore.DocumentFilter, "accept", flaky)
    with pytest.raises(KeyboardInterrupt):
        open_store(spec, cache_dir=tmp_path / "cache")
    folder = docstore.store_path(spec, tmp_path / "cache")
    progress = json.loads((folder / "progress.json").read_text())
    assert progress["parts"] == 4 and progress["records"] == 129  # 3 full parts + what was read when stopped
    monkeypatch.setattr(docstore.DocumentFilter, "accept", real)
    seen: list[int] = []

    def counting(self: Any, position: int, record: dict[str, Any]) -> Any:
        seen.append(position)
        return real(self, position, record)

    monkeypatch.setattr(docstore.DocumentFilter, "accept", counting)
    store = open_store(spec, cache_dir=tmp_path / "cache")
    assert seen[0] == 129 and len(seen) == 250 - 129  # only the rest was read again
    assert store.ids == [d.id for d in load_documents(spec)]
    assert not (folder / "progress.json").exists()


def test_byte_budget_bounds_the_read(tmp_path: Path) -> None:
    docs = load_documents(CorpusConfig(max_documents=50))
    budget = sum(len(d.text.encode()) for d in docs[:20]) + 1
    store = open_store(CorpusConfig(max_bytes=budget), cache_dir=tmp_path)
    assert store.ids == [d.id for d in docs[:20]]
    assert store.n_bytes < budget
    with pytest.raises(CorpusError, match="max_bytes"):
        CorpusConfig(max_bytes=0)
    with pytest.raises(CorpusError, match="yielded no documents"):
        open_store(CorpusConfig(max_bytes=5), cache_dir=tmp_path)


def test_local_fingerprint_follows_size_mtime_and_content(tmp_path: Path) -> None:
    source = _jsonl_corpus(tmp_path / "c.jsonl", 30)
    spec = CorpusConfig(source=str(source))
    first = corpus_fingerprint(spec)
    assert corpus_fingerprint(CorpusConfig(source=str(source))) == first  # untouched: same
    stat = os.stat(source)
    data = source.read_bytes()
    source.write_bytes(data.replace(b"document 7 ", b"document X "))  # same size ...
    os.utime(source, ns=(stat.st_atime_ns, stat.st_mtime_ns))  # ... and same modification time
    assert os.stat(source).st_size == stat.st_size
    assert corpus_fingerprint(spec) != first  # the content sample tells
    source.write_bytes(data)
    os.utime(source, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert corpus_fingerprint(spec) == first  # back to the same bytes and time: same again
    os.utime(source, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    assert corpus_fingerprint(spec) != first  # touched
    # A new snapshot is a new store: the edited corpus is read again.
    store = open_store(spec, cache_dir=tmp_path / "cache")
    source.write_text(source.read_text() + json.dumps({"text": "one more document at the end"}) + "\n")
    again = open_store(CorpusConfig(source=str(source)), cache_dir=tmp_path / "cache")
    assert len(again) == len(store) + 1 and again.path != store.path


def test_hub_fingerprint_is_the_resolved_revision(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from huggingface_hub import HfApi

    from litelong_hf.testing.hub_server import serve_hub

    with serve_hub(tmp_path / "hub", token="hf_test_token") as url:
        api = HfApi(endpoint=url, token="hf_test_token")
        api.create_repo("tester/news", repo_type="dataset")
        lines = [json.dumps({"text": f"hub document number {i} with some words"}) for i in range(5)]
        api.upload_file(
            path_or_fileobj="\n".join(lines).encode(),
            path_in_repo="data/train-0.jsonl",
            repo_id="tester/news",
            repo_type="dataset",
        )
        monkeypatch.setenv("HF_ENDPOINT", url)
        monkeypatch.setattr("litelong_hf.corpus_sources._FINGERPRINTS", {})
        spec = CorpusConfig(source="tester/news")
        first = corpus_fingerprint(spec)
        assert hub_revision("tester/news") == api.dataset_info("tester/news").sha
        monkeypatch.setattr("litelong_hf.corpus_sources._FINGERPRINTS", {})
        assert corpus_fingerprint(spec) == first  # nothing committed: same
        api.upload_file(
            path_or_fileobj=b"notes",
            path_in_repo="NOTES.md",
            repo_id="tester/news",
            repo_type="dataset",
        )
        monkeypatch.setattr("litelong_hf.corpus_sources._FINGERPRINTS", {})
        assert corpus_fingerprint(spec) != first  # a new commit: a new revision
        with pytest.raises(CorpusError, match="does not exist"):
            hub_revision("tester/missing")


_HUB_STREAM = """
import json, sys
from litelong_hf.corpus import CorpusConfig
from litelong_hf.docstore import open_store
store = open_store(CorpusConfig(source="tester/news", max_documents=int(sys.argv[2])), cache_dir=sys.argv[1])
print(json.dumps({"n": len(store), "first": store.text(0), "ids": store.ids[:3]}))
"""


@pytest.mark.integration
def test_hub_corpus_is_streamed_into_the_store(tmp_path: Path) -> None:
    import subprocess
    import sys

    from huggingface_hub import HfApi

    from litelong_hf.testing.hub_server import serve_hub

    with serve_hub(tmp_path / "hub", token="hf_test_token") as url:
        api = HfApi(endpoint=url, token="hf_test_token")
        api.create_repo("tester/news", repo_type="dataset")
        texts = [f"hub document number {i} with some words" for i in range(40)]
        api.upload_file(  # JSONL: a regular (non-LFS) file, so no Xet upload from this process
            path_or_fileobj="".join(json.dumps({"text": t}) + "\n" for t in texts).encode(),
            path_in_repo="data/train-00000-of-00001.jsonl",
            repo_id="tester/news",
            repo_type="dataset",
        )
        env = dict(os.environ, HF_ENDPOINT=url, HF_TOKEN="hf_test_token", HF_HUB_DISABLE_XET="1")
        env["HF_HOME"] = str(tmp_path / "hf-home")
        out = subprocess.run(
            [sys.executable, "-c", _HUB_STREAM, str(tmp_path / "cache"), "25"],
            env=env,
            capture_output=True,
            text=True,
            timeout=240,
        )
        assert out.returncode == 0, out.stderr[-3000:]
        result = json.loads(out.stdout.strip().splitlines()[-1])
        assert result == {"n": 25, "first": texts[0], "ids": ["000000000", "000000001", "000000002"]}
        stores = [p for p in (tmp_path / "cache" / "corpora").iterdir() if p.is_dir()]
        assert len(stores) == 1 and (stores[0] / "store.json").is_file()


# ------------------------------------------------------------------------------------------ CLI bad input


_BAD_CASES = (
    "missing path",
    "missing text column",
    "empty corpus",
    "broken jsonl",
    "broken parquet",
    "bad max documents",
    "unwritable cache dir",
)


def _bad_inputs(tmp_path: Path) -> dict[str, tuple[list[str], str]]:
    (tmp_path / "bad.jsonl").write_text("{not json\n")
    (tmp_path / "bad.parquet").write_bytes(b"PAR1 definitely not parquet")
    (tmp_path / "tiny.jsonl").write_text(json.dumps({"text": "tiny"}) + "\n")
    pq.write_table(
        pa.table({"body": ["some long enough document text here"], "url": ["u"]}), tmp_path / "c.parquet"
    )
    (tmp_path / "a-file").write_text("not a folder")
    return {
        "missing path": (["--corpus", str(tmp_path / "missing.parquet")], "No files match"),
        "missing text column": (
            ["--corpus", str(tmp_path / "c.parquet")],
            r"no column 'text'.*\['body', 'url'\]",
        ),
        "empty corpus": (["--corpus", str(tmp_path / "tiny.jsonl")], "yielded no documents"),
        "broken jsonl": (["--corpus", str(tmp_path / "bad.jsonl")], "Cannot read json"),
        "broken parquet": (["--corpus", str(tmp_path / "bad.parquet")], "Cannot read parquet"),
        "bad max documents": (["--max-documents", "0"], "max_documents must be positive"),
        "unwritable cache dir": (
            ["--max-documents", "5", "--cache-dir", str(tmp_path / "a-file" / "cache")],
            "Cannot write .*--cache-dir",
        ),
    }


def _run(args: list[str]) -> Any:
    import typer
    from typer.testing import CliRunner

    from litelong_hf.cli.corpus import register

    app = typer.Typer()
    register(app)
    return CliRunner().invoke(app, ["corpus", *args])


@pytest.mark.parametrize("case", _BAD_CASES)
def test_corpus_stats_bad_input_is_one_clear_message(case: str, tmp_path: Path) -> None:
    import re

    args, message = _bad_inputs(tmp_path)[case]
    result = _run(["stats", *args])
    assert result.exit_code == 2, result.output
    assert isinstance(result.exception, SystemExit)  # a clean exit, not an uncaught exception
    assert re.search(message, " ".join(result.output.split()), re.S), result.output
    assert "Traceback" not in result.output and len(result.output.splitlines()) <= 6


def test_corpus_stats_unknown_tokenizer_and_success(tmp_path: Path) -> None:
    result = _run(["stats", "--max-documents", "5", "--tokenizer", "no-such/tokenizer-xyz"])
    assert result.exit_code == 2 and isinstance(result.exception, SystemExit), result.output
    assert "error:" in result.output and "Traceback" not in result.output
    ok = _run(["stats", "--max-documents", "30", "--cache-dir", str(tmp_path)])
    assert ok.exit_code == 0, ok.output
    assert "documents" in ok.output and "30" in ok.output


@pytest.mark.integration
def test_corpus_stats_process_prints_no_traceback(tmp_path: Path) -> None:
    import subprocess
    import sys

    out = subprocess.run(
        [
            sys.executable,
            "-c",
            "from litelong_hf.cli import main; main()",
            "corpus",
            "stats",
            "--corpus",
            str(tmp_path / "nope.jsonl"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        env=dict(os.environ, LITELONG_HF_NO_PROGRESS="1"),
    )
    assert out.returncode == 2
    assert "No files match" in out.stderr and "Traceback" not in out.stderr + out.stdout


def test_corpus_commands_take_the_corpus_flags_of_generate(tmp_path: Path) -> None:
    """`corpus stats` and `index build` read a corpus through the same flags (names, defaults) as `generate`."""
    from typer.testing import CliRunner

    from litelong_hf.cli import app
    from litelong_hf.config import CORPUS_FIELDS

    runner = CliRunner()
    helps = {
        tuple(cmd): " ".join(runner.invoke(app, [*cmd, "--help"], env={"COLUMNS": "250"}).output.split())
        for cmd in (["corpus", "stats"], ["index", "build"], ["generate", "nextlong-64k"])
    }
    for name in CORPUS_FIELDS:
        flag = f"--{name.replace('_', '-')}"
        assert all(f"{flag} " in text for text in helps.values()), flag
    # A flag only these commands had before (`--dedup`) now reaches the corpus reader.
    docs = tmp_path / "docs.jsonl"
    docs.write_text(
        "".join(
            json.dumps({"text": t}) + "\n"
            for t in ["same text here, long enough"] * 3 + ["other text, long enough too"]
        )
    )
    counts = {}
    for flag in ("--dedup", "--no-dedup"):
        result = _run(["stats", "--corpus", str(docs), flag, "--cache-dir", str(tmp_path / flag)])
        assert result.exit_code == 0, result.output
        counts[flag] = " ".join(result.output.split())
    assert "documents │ 2 │" in counts["--dedup"] and "documents │ 4 │" in counts["--no-dedup"], counts
    assert "exact duplicate text │ 2" in counts["--dedup"] and "duplicate" not in counts["--no-dedup"]
