"""Data-quality scores: purity, duplicates and reuse against random-concat rows; run folders; bad input."""

from __future__ import annotations

import json
from pathlib import Path

import datasets
import pytest

from litelong_hf.corpus import Document
from litelong_hf.evaluation.quality import (
    QualityConfig,
    QualityError,
    quality_scores,
    random_concat_rows,
    score_run,
)


def _corpus() -> list[Document]:
    words = {
        "sport": "match goal team league",
        "politics": "vote senate law party",
        "tech": "chip code data cloud",
    }
    docs = []
    for i in range(60):
        label = list(words)[i % 3]
        docs.append(Document(f"d{i:03d}", f"{words[label]} story {i}. " * 20, {"section": label}))
    return docs


def _row(docs: list[Document]) -> dict:
    return {"text": "\n\n".join(d.text for d in docs), "sources": [{"doc_id": d.id} for d in docs]}


def test_topic_rows_beat_random_concat_on_purity() -> None:
    corpus = _corpus()
    by_label: dict[str, list[Document]] = {}
    for doc in corpus:
        by_label.setdefault(doc.meta["section"], []).append(doc)
    rows = [_row(by_label[label][:6]) for label in by_label]
    config = QualityConfig(label_field="section", lm=None)
    scores = quality_scores(rows, corpus=corpus, target_tokens=2400, config=config)
    assert scores["topic_purity"]["value"] == 1.0
    assert scores["topic_purity"]["baseline"] < 0.7
    assert scores["duplicate_rate"] == {"value": 0.0, "baseline": 0.0, "higher_is_better": False}
    assert scores["source_reuse"]["value"] == 1.0
    assert scores["rows"] == scores["baseline_rows"] == 3
    assert scores["baseline_method"] == "random-concat"
    assert "dependency_cross" not in scores and "dependency_local" not in scores


def test_duplicates_and_reuse_are_counted() -> None:
    corpus = _corpus()
    rows = [_row(corpus[:4]), _row(corpus[:4]), _row(corpus[2:6])]
    scores = quality_scores(
        rows, corpus=corpus, target_tokens=400, config=QualityConfig(label_field=None, lm=None)
    )
    assert scores["duplicate_rate"]["value"] == pytest.approx(1 / 3, abs=1e-4)
    # documents 0-5 used 4+4+4 = 12 times in all: 2 uses per distinct document
    assert scores["source_reuse"]["value"] == 2.0
    assert "topic_purity" not in scores


def test_random_concat_rows_reach_the_target_and_do_not_repeat_documents() -> None:
    corpus = _corpus()
    rows = random_concat_rows(corpus, 4, 300, "llama-3", seed=1)
    ids = [d for r in rows for d in r.doc_ids]
    assert len(ids) == len(set(ids))
    assert all(len(r.doc_ids) >= 2 for r in rows)
    assert rows == random_concat_rows(corpus, 4, 300, "llama-3", seed=1)


def test_hardness_is_carried_over_from_the_report() -> None:
    corpus = _corpus()
    hardness = {"score_ratio": 2.5, "same_label_share": 0.6, "random_same_label_share": 0.3}
    scores = quality_scores(
        [_row(corpus[:3])],
        corpus=corpus,
        target_tokens=300,
        config=QualityConfig(label_field=None, lm=None),
        hardness=hardness,
    )
    assert scores["negative_hardness"]["value"] == 2.5
    assert scores["negative_same_label"] == {"value": 0.6, "baseline": 0.3, "higher_is_better": True}


def test_a_missing_label_field_names_the_fields_there_are() -> None:
    with pytest.raises(QualityError, match=r"label field 'topic'.*\['section'\]"):
        quality_scores(
            [_row(_corpus()[:2])],
            corpus=_corpus(),
            target_tokens=100,
            config=QualityConfig(label_field="topic", lm=None),
        )


def _run_dir(tmp_path: Path, rows: list[dict]) -> Path:
    run = tmp_path / "run"
    features = datasets.Features(
        {
            "text": datasets.Value("string"),
            "n_tokens": datasets.Value("int32"),
            "sources": datasets.List({"doc_id": datasets.Value("string")}),
        }
    )
    datasets.Dataset.from_list([{**r, "n_tokens": 300} for r in rows], features=features).save_to_disk(
        str(run / "dataset")
    )
    report = {
        "config_name": "x",
        "stats": {"rows": len(rows)},
        "extra": {
            "config": {"corpus": "demo", "target_tokens": 300, "tokenizer": "llama-3", "max_documents": 200}
        },
    }
    (run / "report.json").write_text(json.dumps(report))
    return run


def test_score_run_writes_quality_into_the_report(tmp_path: Path, demo_documents: list[Document]) -> None:
    docs = demo_documents[:200]
    rows = [
        _row([d for d in docs if d.meta["source"] == src][:3])
        for src in sorted({d.meta["source"] for d in docs})[:3]
    ]
    run = _run_dir(tmp_path, rows)
    scores = score_run(run, QualityConfig(lm=None))
    assert scores["topic_purity"]["value"] == 1.0
    # the baseline comes from the random-concat strategy on the run's corpus, same length and row count
    assert scores["baseline_rows"] == 3
    assert scores["topic_purity"]["baseline"] < 1.0
    assert scores["source_reuse"]["baseline"] == 1.0
    saved = json.loads((run / "report.json").read_text())
    assert saved["extra"]["quality"] == scores
    assert saved["config_name"] == "x"


def test_a_run_dir_without_rows_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(QualityError, match="not a folder"):
        score_run(tmp_path / "nowhere")
    (tmp_path / "report.json").write_text("{}")
    with pytest.raises(QualityError, match="has no rows"):
        score_run(tmp_path)


def test_chunk_sources_count_as_their_documents() -> None:
    """NExtLong rows cite chunks (``doc#c0003``): purity and reuse are about the documents behind them."""
    from litelong_hf.evaluation.quality import row_views

    rows = [
        {
            "text": "a b",
            "sources": [{"doc_id": "news-1#c0000"}, {"doc_id": "news-1#c0004"}, {"doc_id": "x#cy"}],
        },
        {"text": "c", "sources": [{"doc_id": "news-2"}]},
    ]
    views = row_views(rows)
    assert views[0].doc_ids == ["news-1", "news-1", "x#cy"]
    assert views[1].doc_ids == ["news-2"]


def test_pretraining_rows_give_their_pieces_by_piece_lengths() -> None:
    """The cross-piece dependency score reads a row's pieces: its ids split by ``piece_lengths``, decoded."""
    from litelong_hf.evaluation.quality import row_views
    from litelong_hf.tokens import TokenCounter

    counter = TokenCounter.get("llama-3")
    pieces = ["The match ended in a draw.\n\n", "Parliament voted on the budget.\n\n", "Chips got faster."]
    ids = [counter.encode(p) for p in pieces]
    row = {
        "text": "".join(pieces),
        "input_ids": [t for p in ids for t in p],
        "piece_lengths": [len(p) for p in ids],
        "tokenizer": "llama-3",
        "sources": [{"doc_id": f"d{i}"} for i in range(3)],
    }
    view = row_views([row])[0]
    assert view.piece_texts() == pieces
    # Lengths that do not add up to the ids, or no lengths: the pieces are unknown, not guessed.
    assert row_views([{**row, "piece_lengths": [1, 2]}])[0].piece_texts() is None
    assert row_views([{"text": "a", "sources": []}])[0].piece_texts() is None


def test_random_concat_rows_keep_their_pieces() -> None:
    rows = random_concat_rows(_corpus(), n_rows=2, target_tokens=300, tokenizer="llama-3", seed=1)
    for row in rows:
        pieces = row.piece_texts()
        assert pieces is not None and len(pieces) == len(row.doc_ids)
        assert "".join(pieces) == row.text
