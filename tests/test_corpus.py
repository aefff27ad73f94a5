from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from litelong_hf.corpus import (
    CorpusConfig,
    CorpusError,
    Document,
    iter_documents,
    load_documents,
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
