from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from litelong_hf.corpus import Document
from litelong_hf.index import BM25Index, Hit, IndexBuildError, IndexConfig, get_or_build_index

TEXTS = {
    "astro": "The telescope observed distant galaxies and stars in the night sky.",
    "cats": "Cats purr when they are happy; kittens play with yarn.",
    "stars": "Stars are giant balls of plasma; a star burns hydrogen for billions of years.",
    "cook": "Slow cooking brings out the flavour of the stew.",
}


@pytest.fixture
def small_index() -> BM25Index:
    return BM25Index.build(list(TEXTS), list(TEXTS.values()), show_progress=False)


def test_search_ranks_with_stemming(small_index: BM25Index) -> None:
    (hits,) = small_index.search(["star"], k=10)
    assert [h.doc_id for h in hits][:2] == ["stars", "astro"]  # "stars" says star twice, "astro" once
    assert all(isinstance(h, Hit) and h.score > 0 for h in hits)
    assert {h.doc_id for h in hits} == {"stars", "astro"}  # only positive scores come back


def test_stopwords_only_and_unknown_queries_return_nothing(small_index: BM25Index) -> None:
    assert small_index.search(["the and of", "xylophone"], k=3) == [[], []]


def test_global_and_per_query_exclusion(small_index: BM25Index) -> None:
    (hits,) = small_index.search(["star"], k=3, exclude={"stars"})
    assert [h.doc_id for h in hits] == ["astro"]
    per = small_index.search(["star", "cats kittens"], k=3, exclude=[{"stars"}, {"cats"}])
    assert [h.doc_id for h in per[0]] == ["astro"]
    assert per[1] == []


def test_require_all_terms(small_index: BM25Index) -> None:
    (loose,) = small_index.search(["star telescope"], k=5)
    (strict,) = small_index.search(["star telescope"], k=5, require_all_terms=True)
    assert {h.doc_id for h in loose} == {"astro", "stars"}
    assert [h.doc_id for h in strict] == ["astro"]


def test_save_load_mmap_same_results(small_index: BM25Index, tmp_path: Path) -> None:
    small_index.save(tmp_path / "idx")
    loaded = BM25Index.load(tmp_path / "idx", mmap=True)
    queries = ["star", "stew flavour", "happy cats"]
    assert loaded.search(queries, k=3) == small_index.search(queries, k=3)
    assert loaded.doc_ids == small_index.doc_ids


def test_no_stemmer_matches_surface_forms() -> None:
    index = BM25Index.build(list(TEXTS), list(TEXTS.values()), IndexConfig(stemmer=None), show_progress=False)
    (hits,) = index.search(["star"], k=5)
    assert [h.doc_id for h in hits] == ["stars"]


def test_bad_inputs() -> None:
    with pytest.raises(IndexBuildError, match="zero documents"):
        BM25Index.build([], [], show_progress=False)
    with pytest.raises(IndexBuildError, match="ids but"):
        BM25Index.build(["a"], ["x", "y"], show_progress=False)
    with pytest.raises(IndexBuildError, match="unique"):
        BM25Index.build(["a", "a"], ["x", "y"], show_progress=False)
    with pytest.raises(IndexBuildError, match="stemmer"):
        BM25Index.build(["a"], ["x"], IndexConfig(stemmer="klingon"), show_progress=False)


def test_load_rejects_non_index(tmp_path: Path) -> None:
    with pytest.raises(IndexBuildError, match="not a litelong-hf index"):
        BM25Index.load(tmp_path)


def test_get_or_build_reuses_saved_index(tmp_path: Path, demo_documents: list[Document]) -> None:
    calls = []

    def items() -> tuple[list[str], list[str]]:
        calls.append(1)
        docs = demo_documents[:500]
        return [d.id for d in docs], [d.text for d in docs]

    first = get_or_build_index("demo-500", items, cache_dir=tmp_path, show_progress=False)
    second = get_or_build_index("demo-500", items, cache_dir=tmp_path, show_progress=False)
    assert calls == [1]
    assert len(first) == len(second) == 500
    query = [demo_documents[3].meta["title"]]
    assert first.search(query, k=5) == second.search(query, k=5)
    # A document's own title finds it.
    assert demo_documents[3].id in [h.doc_id for h in first.search(query, k=5)[0]]


_CONCURRENT_BUILD = """
import sys
from pathlib import Path
from litelong_hf.corpus import CorpusConfig, load_documents
from litelong_hf.index import get_or_build_index

cache, log = Path(sys.argv[1]), Path(sys.argv[2])

def items():
    with log.open("a") as handle:
        handle.write("built\\n")
    docs = load_documents(CorpusConfig(max_documents=1500))
    return [d.id for d in docs], [d.text for d in docs]

index = get_or_build_index("concurrent", items, cache_dir=cache, show_progress=False)
print(len(index), index.search(["election"], k=1)[0][0].doc_id)
"""


@pytest.fixture(scope="module")
def demo_slice(demo_documents: list[Document]) -> list[Document]:
    return demo_documents[:900]


def _queries(docs: list[Document]) -> list[str]:
    return [d.meta["title"] for d in docs[::37]] + ["election president", "police shooting", "climate"]


def test_sharded_index_ranks_exactly_like_a_single_index(demo_slice: list[Document], tmp_path: Path) -> None:
    ids, texts = [d.id for d in demo_slice], [d.text for d in demo_slice]
    single = BM25Index.build(ids, texts, show_progress=False)
    batches = [(ids[i : i + 100], texts[i : i + 100]) for i in range(0, len(ids), 100)]
    sharded = BM25Index.build_from_batches(
        batches, path=tmp_path / "sharded", shard_docs=128, show_progress=False
    )
    assert len(single.shards) == 1 and len(sharded.shards) == 8  # 900 documents, 128 per shard
    assert isinstance(sharded.shards[0].data.base, np.memmap)  # saved, then memory-mapped
    queries = _queries(demo_slice)
    assert sharded.search(queries, k=25) == single.search(queries, k=25)  # identical ids and scores
    probe = [[demo_slice[i].id for i in (0, 450, 899)]] * len(queries)
    assert sharded.score(queries, probe) == single.score(queries, probe)


def test_scores_equal_plain_bm25s(demo_slice: list[Document]) -> None:
    import bm25s

    ids, texts = [d.id for d in demo_slice], [d.text for d in demo_slice]
    ours = BM25Index.build(ids, texts, shard_docs=200, show_progress=False)
    # The same terms, indexed by bm25s itself in one go.
    tokenizer = ours.term_tokenizer
    term_ids = tokenizer.tokenize(texts, update_vocab="never", return_as="ids", show_progress=False)
    plain = bm25s.BM25()
    plain.index((term_ids, tokenizer.get_vocab_dict()), show_progress=False)
    queries = _queries(demo_slice)
    for query, hits in zip(ours.query_terms(queries), ours.search(queries, k=10), strict=True):
        full = plain.get_scores(query)
        assert hits, query
        assert [h.score for h in hits] == pytest.approx(
            [float(full[ours.position(h.doc_id)]) for h in hits], rel=1e-5
        )
        assert hits[0].score == pytest.approx(float(full.max()), rel=1e-5)


def test_each_shard_is_a_bm25s_index_loaded_with_mmap(demo_slice: list[Document], tmp_path: Path) -> None:
    import bm25s

    ids, texts = [d.id for d in demo_slice], [d.text for d in demo_slice]
    BM25Index.build_from_batches([(ids, texts)], path=tmp_path / "idx", shard_docs=300, show_progress=False)
    shards = sorted(p.name for p in (tmp_path / "idx").glob("shard-*"))
    assert shards == ["shard-0000", "shard-0001", "shard-0002"]
    part = bm25s.BM25.load(str(tmp_path / "idx" / "shard-0001"), mmap=True, load_vocab=False)
    assert isinstance(part.scores["data"], np.memmap) and part.scores["num_docs"] == 300


def test_ties_do_not_depend_on_batch_size_shards_or_backend() -> None:
    # 40 identical documents tie on every query; k=7 must always give the first 7 in index order.
    ids = [f"d{i:03d}" for i in range(60)]
    texts = ["solar eclipse over the northern hills"] * 40 + [
        f"unrelated story number {i}" for i in range(20)
    ]
    one = BM25Index.build(ids, texts, show_progress=False)
    many = BM25Index.build(ids, texts, shard_docs=9, show_progress=False)
    query = "eclipse hills"
    expected = [f"d{i:03d}" for i in range(7)]
    for index in (one, many):
        for backend in ("numpy", "numba"):
            alone = index.search([query], k=7, backend=backend)[0]
            batch = index.search([query] * 300, k=7, backend=backend)  # 300: "auto" would pick numba here
            assert [h.doc_id for h in alone] == expected
            assert all(hits == alone for hits in batch)
    assert one.search([query], k=7)[0] == many.search([query], k=7)[0]
    # Excluding the first tied documents moves the window along, still in index order.
    assert [h.doc_id for h in one.search([query], k=3, exclude={"d000", "d002"})[0]] == [
        "d001",
        "d003",
        "d004",
    ]


def test_allow_mask_and_per_query_k(small_index: BM25Index) -> None:
    (hits,) = small_index.search(["star"], k=5, allow={"astro", "cook"})
    assert [h.doc_id for h in hits] == ["astro"]
    both = small_index.search(["star", "star"], k=[1, 5])
    assert [len(h) for h in both] == [1, 2]
    with pytest.raises(IndexBuildError, match="one per query"):
        small_index.search(["star"], k=[1, 2])


def test_require_all_terms_searches_every_document_holding_all_terms(demo_documents: list[Document]) -> None:
    ids, texts = [d.id for d in demo_documents], [d.text for d in demo_documents]
    index = BM25Index.build(ids, texts, shard_docs=1000, show_progress=False)
    query = "climate coal"
    terms = set(index.query_terms([query])[0])
    tokenized = index.term_tokenizer.tokenize(
        texts, update_vocab="never", return_as="ids", show_progress=False
    )
    holders = {doc_id for doc_id, doc_terms in zip(ids, tokenized, strict=True) if terms <= set(doc_terms)}
    assert 3 <= len(holders) < 200  # rare together, common apart: the case the old top-k filter missed
    (loose,) = index.search([query], k=len(holders))
    assert not holders <= {h.doc_id for h in loose}  # plain BM25's top hits are not all AND-matches
    (strict,) = index.search([query], k=len(holders) + 50, require_all_terms=True)
    assert {h.doc_id for h in strict} == holders
    (top3,) = index.search([query], k=3, require_all_terms=True)
    assert top3 == strict[:3]


def test_workers_starting_together_build_the_index_once(tmp_path: Path) -> None:
    import subprocess
    import sys

    log = tmp_path / "builds.log"
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _CONCURRENT_BUILD, str(tmp_path / "cache"), str(log)],
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(3)
    ]
    outputs = [p.communicate(timeout=300)[0].strip() for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0]
    assert len(set(outputs)) == 1 and outputs[0].startswith("1500 ")
    assert log.read_text().splitlines() == ["built"]


# ------------------------------------------------------------------------------------------ CLI


def _invoke(args: list[str]) -> object:
    import typer
    from typer.testing import CliRunner

    from litelong_hf.cli.index import register

    app = typer.Typer()
    register(app)
    return CliRunner().invoke(app, ["index", "build", *args])


def test_index_build_cli_builds_searches_and_reuses(tmp_path: Path) -> None:
    from typer.testing import Result

    args = ["--max-documents", "400", "--cache-dir", str(tmp_path), "--shard-docs", "150", "-q", "police"]
    first = _invoke(args)
    assert isinstance(first, Result) and first.exit_code == 0, first.output
    assert "index of 400 documents in 3 shard(s)" in " ".join(first.output.split())
    assert "news-" in first.output
    second = _invoke(args)
    assert isinstance(second, Result) and second.exit_code == 0
    assert [line for line in second.output.splitlines() if "news-" in line] == [
        line for line in first.output.splitlines() if "news-" in line
    ]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--corpus", "/nonexistent/x.parquet"], "No files match"),
        (["--max-documents", "5", "--bm25-stemmer", "klingon"], "Unknown stemmer language"),
        (["--max-documents", "5", "--k", "0", "-q", "x"], "--k must be positive"),
        (["--max-documents", "5", "--shard-docs", "0"], "shard_docs must be positive"),
    ],
)
def test_index_build_bad_input_is_one_clear_message(args: list[str], message: str, tmp_path: Path) -> None:
    from typer.testing import Result

    result = _invoke([*args, "--cache-dir", str(tmp_path)])
    assert isinstance(result, Result)
    assert result.exit_code == 2 and isinstance(result.exception, SystemExit), result.output
    assert message in " ".join(result.output.split()) and "Traceback" not in result.output


def test_index_build_unwritable_cache_dir(tmp_path: Path) -> None:
    from typer.testing import Result

    (tmp_path / "a-file").write_text("x")
    result = _invoke(["--max-documents", "5", "--cache-dir", str(tmp_path / "a-file" / "c")])
    assert isinstance(result, Result) and result.exit_code == 2, result.output
    assert "Cannot write" in result.output and "--cache-dir" in result.output


# ------------------------------------------------------------------------------------ the backend dispatcher


def test_a_loaded_index_runs_the_backend_it_is_asked_for(tmp_path: Path) -> None:
    from litelong_hf.index.backends import (
        accumulate_numba,
        accumulate_numpy,
        accumulate_pread,
        accumulator,
        shard_scores,
    )

    ids = [f"d{i:02d}" for i in range(30)]
    texts = [f"story {i} about solar eclipse number {i % 7} over hills" for i in range(30)]
    in_memory = BM25Index.build(ids, texts, IndexConfig(backend="numba"), shard_docs=8, show_progress=False)
    loaded = BM25Index.load(in_memory.save(tmp_path / "idx"))
    assert len(loaded.shards) == 4 and all(s.files is not None for s in loaded.shards)
    # The config's backend survives the save; a loaded index honours it (it used to always take pread).
    assert loaded.config.backend == "numba" and loaded.backend_for(1) == "numba"
    for shard in loaded.shards:
        assert accumulator(shard, "numba") is accumulate_numba
        assert accumulator(shard, "numpy") is accumulate_pread
    assert accumulator(in_memory.shards[0], "numpy") is accumulate_numpy
    # Every path adds the same float32 values in the same order: bit-identical scores.
    terms = np.asarray(loaded.query_terms(["solar eclipse hills 3"])[0], dtype=np.int64)
    for mem, disk in zip(in_memory.shards, loaded.shards, strict=True):
        reference = shard_scores(mem, terms, "numpy")
        for backend in ("numpy", "numba"):
            assert np.array_equal(shard_scores(disk, terms, backend), reference)
            assert np.array_equal(shard_scores(mem, terms, backend), reference)
    queries = ["solar eclipse", "number 3 hills", "story 12"]
    expected = in_memory.search(queries, k=5, backend="numpy")
    assert loaded.search(queries, k=5) == expected  # the config's numba
    assert loaded.search(queries, k=5, backend="numpy") == expected
    assert loaded.score(queries, [["d03"], ["d10", "d17"], ["d12"]]) == in_memory.score(
        queries, [["d03"], ["d10", "d17"], ["d12"]]
    )


def test_resolve_backend_auto_and_errors() -> None:
    from litelong_hf.index.backends import AUTO_NUMBA_QUERIES, resolve_backend

    assert resolve_backend("auto", 1) == "numpy"
    assert resolve_backend("auto", AUTO_NUMBA_QUERIES) == "numba"  # numba is installed in the dev env
    assert resolve_backend("numpy", 10_000) == "numpy"
    with pytest.raises(IndexBuildError, match="'auto', 'numpy' or 'numba'"):
        resolve_backend("cuda", 1)


# ---------------------------------------------------------------------------- the index-vs-corpus id check


def test_get_or_build_index_checks_the_ids_it_was_given(tmp_path: Path) -> None:
    ids, texts = ["a", "b", "c"], ["red fox", "blue whale", "green frog"]
    built = get_or_build_index("k", lambda: (ids, texts), cache_dir=tmp_path, expected_ids=ids)
    assert list(built.doc_ids) == ids
    # The same key reused for other items (a corpus that changed under a stale key): one message, the fix.
    with pytest.raises(IndexBuildError, match="holds 3 chunks that are not the 2 chunks") as caught:
        get_or_build_index(
            "k", lambda: (ids[:2], texts[:2]), cache_dir=tmp_path, expected_ids=ids[:2], unit="chunks"
        )
    assert "Delete the index folder" in str(caught.value)
    with pytest.raises(IndexBuildError, match="not the 3 documents"):
        get_or_build_index("k", lambda: (ids, texts), cache_dir=tmp_path, expected_ids=["a", "c", "b"])
    assert list(get_or_build_index("k", lambda: (ids, texts), cache_dir=tmp_path).doc_ids) == ids
