"""The BM25 arithmetic, pure: bm25s' idf and term-frequency components, shard score matrices, top-k.

Every function takes arrays and returns arrays; nothing here reads a file or a clock.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .config import IndexConfig
from .storage import Shard

DELTA = 0.5
"""bm25s' delta for bm25l / bm25+."""


def idf(method: str, df: np.ndarray, n_docs: int) -> np.ndarray:
    """bm25s' idf of each term (float64), 0 for terms no document holds."""
    d = df.astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        if method == "lucene":
            out = np.log(1 + (n_docs - d + 0.5) / (d + 0.5))
        elif method == "robertson":
            out = np.log(np.maximum((n_docs - d + 0.5) / (d + 0.5), 1.0))
        elif method == "atire":
            out = np.log(n_docs / d)
        elif method == "bm25l":
            out = np.log((n_docs + 1) / (d + 0.5))
        else:  # bm25+
            out = np.log((n_docs + 1) / d)
    return np.where(df > 0, out, 0.0)


def tfc(method: str, tf: np.ndarray, l_d: np.ndarray, l_avg: float, k1: float, b: float) -> np.ndarray:
    """bm25s' term-frequency component (float64)."""
    tf = tf.astype(np.float64)
    norm = k1 * ((1 - b) + b * l_d / l_avg)
    if method in ("lucene", "robertson"):
        return np.asarray(tf / (norm + tf))
    if method == "atire":
        return np.asarray(tf * (k1 + 1) / (tf + norm))
    c = tf / (1 - b + b * l_d / l_avg)
    if method == "bm25l":
        return np.asarray(((k1 + 1) * (c + DELTA)) / (k1 + c + DELTA))
    return np.asarray(((k1 + 1) * tf) / (norm + tf) + DELTA)  # bm25+


def nonoccurrence(config: IndexConfig, idf_values: np.ndarray, avg_len: float) -> np.ndarray | None:
    """The score every document gets for a query term it lacks (bm25l / bm25+ only; ``None`` otherwise)."""
    if config.method not in ("bm25l", "bm25+"):
        return None
    zero = tfc(config.method, np.zeros(1), np.asarray([avg_len]), avg_len, config.k1, config.b)[0]
    return np.asarray((idf_values * zero).astype(np.float32))


@dataclass
class Postings:
    """The distinct (document, term) pairs of one shard with their term frequencies, before scoring."""

    docs: np.ndarray  # int32, shard-local document of each pair (ascending within a term)
    terms: np.ndarray  # int32, ascending: the pairs are in CSC (term-major) order already
    tf: np.ndarray  # int32
    lengths: np.ndarray  # int64, terms per document (bm25s' document length)


def postings(flat: np.ndarray, lengths: np.ndarray) -> Postings:
    """The postings of documents whose term ids, concatenated, are ``flat`` (``lengths`` per document)."""
    n_docs = max(len(lengths), 1)
    doc = np.repeat(np.arange(len(lengths), dtype=np.int64), lengths)
    # One sort gives the distinct pairs, their frequencies and the CSC order (term-major, documents ascending).
    keys, tf = np.unique(flat.astype(np.int64) * n_docs + doc, return_counts=True)
    return Postings(
        docs=(keys % n_docs).astype(np.int32),
        terms=(keys // n_docs).astype(np.int32),
        tf=tf.astype(np.int32),
        lengths=lengths.astype(np.int64),
    )


SCORE_CHUNK = 1 << 21
"""Postings scored at a time: the float64 temporaries of scoring stay at a few chunks, not a shard."""


def score_shard(
    shard_postings: Postings,
    idf_values: np.ndarray,
    nonocc: np.ndarray | None,
    n_vocab: int,
    avg_len: float,
    start: int,
    config: IndexConfig,
) -> Shard:
    """A shard's CSC score matrix (terms x documents), exactly as bm25s lays it out.

    Scored :data:`SCORE_CHUNK` postings at a time: each score depends on its own posting only, so the
    matrix is the same, value for value, with float64 temporaries of one chunk.
    """
    p = shard_postings
    lengths = p.lengths.astype(np.float64)
    data = np.empty(len(p.terms), dtype=np.float32)
    for lo in range(0, len(p.terms), SCORE_CHUNK):
        hi = lo + SCORE_CHUNK
        terms = p.terms[lo:hi]
        scores = idf_values[terms] * tfc(
            config.method, p.tf[lo:hi], lengths[p.docs[lo:hi]], avg_len, config.k1, config.b
        )
        if nonocc is not None:
            scores = scores - nonocc[terms]
        data[lo:hi] = scores
    indptr = np.zeros(n_vocab + 1, dtype=np.int64)
    np.cumsum(np.bincount(p.terms, minlength=n_vocab), out=indptr[1:])
    return Shard(
        data=data,
        indices=p.docs.astype(np.int32, copy=False),
        indptr=indptr,
        n_docs=len(p.lengths),
        start=start,
        nonoccurrence=nonocc,
    )


def top(positions: np.ndarray, scores: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The best ``k`` by score, ties by position (ascending), exactly, whatever the input order."""
    if len(positions) > k:
        threshold = np.partition(scores, len(scores) - k)[len(scores) - k]
        keep = scores >= threshold  # every tie at the threshold stays; the sort below decides
        positions, scores = positions[keep], scores[keep]
    order = np.lexsort((positions, -scores))[:k]
    return positions[order], scores[order]


def all_terms(shard: Shard, terms: np.ndarray) -> np.ndarray:
    """Shard-local positions of the documents holding every term (postings intersection)."""
    lists = sorted((shard.postings(int(t)) for t in np.unique(terms)), key=len)
    common = np.asarray(lists[0], dtype=np.int64)
    for more in lists[1:]:
        if not len(common):
            break
        common = np.intersect1d(common, more, assume_unique=True)
    return common


def scores_at(shard: Shard, terms: np.ndarray, local: np.ndarray) -> np.ndarray:
    """The scores of shard-local documents ``local`` for the query ``terms``, without scoring the shard.

    Equal, bit for bit, to ``shard_scores(shard, terms, backend)[local]``: the same float32 values added in
    the same order (term by term, a repeated term twice), then the non-occurrence part. Each term's
    postings are searched for the wanted documents (``searchsorted``: a term's documents are ascending)
    instead of being added into an array of every document.
    """
    out = np.zeros(len(local), dtype=np.float32)
    wanted = np.asarray(local, dtype=np.int64)
    files = shard.files
    indptr = shard.indptr
    for term in terms.tolist():
        lo, hi = int(indptr[term]), int(indptr[term + 1])
        if hi <= lo:
            continue
        if files is not None:
            docs, data = files.postings(lo, hi)
        else:
            docs, data = shard.indices[lo:hi], shard.data[lo:hi]
        at = np.minimum(np.searchsorted(docs, wanted), hi - lo - 1)
        found = docs[at] == wanted
        out[found] += data[at[found]]
    if shard.nonoccurrence is not None:
        out += np.float32(shard.nonoccurrence[terms].sum())
    return out
