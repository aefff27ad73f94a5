from __future__ import annotations

from pathlib import Path

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
